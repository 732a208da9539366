// CnsQueryVolume / CnsQueryAllVolume: every filter field vCenter documents
// is honoured (0.24.2 honours only volumeIds), and CnsQueryVolume pages with
// the cursor as the API reference describes CnsCursor: without a cursor,
// offset 0 and limit 100; a limit above 1000 is capped at 1000; the answer's
// cursor carries the next offset, the limit used and totalRecords.
package main

import (
	"context"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

const (
	defaultQueryLimit = 100
	maxQueryLimit     = 1000
)

func (m *CnsVolumeManager) CnsQueryVolume(req *cnstypes.CnsQueryVolume) soap.HasFault {
	m.mu.RLock()
	defer m.mu.RUnlock()
	matched := m.matching(&req.Filter)
	offset, limit := cursorWindow(req.Filter.Cursor)
	if offset < 0 {
		return &cnsmethods.CnsQueryVolumeBody{Fault_: simulator.Fault("cursor offset must not be negative", &vim25types.InvalidArgument{InvalidProperty: "cursor.offset"})}
	}
	total := int64(len(matched))
	end := offset + limit
	if offset > total {
		offset = total
	}
	if end > total {
		end = total
	}
	page := make([]cnstypes.CnsVolume, 0, end-offset)
	for _, v := range matched[offset:end] {
		page = append(page, v.info)
	}
	return &cnsmethods.CnsQueryVolumeBody{Res: &cnstypes.CnsQueryVolumeResponse{Returnval: cnstypes.CnsQueryResult{
		Volumes: page,
		Cursor:  cnstypes.CnsCursor{Offset: end, Limit: limit, TotalRecords: total},
	}}}
}

// CnsQueryAllVolume answers every match in one reply (no cursor), as vCenter does.
func (m *CnsVolumeManager) CnsQueryAllVolume(req *cnstypes.CnsQueryAllVolume) soap.HasFault {
	m.mu.RLock()
	defer m.mu.RUnlock()
	matched := m.matching(&req.Filter)
	out := make([]cnstypes.CnsVolume, 0, len(matched))
	for _, v := range matched {
		out = append(out, v.info)
	}
	total := int64(len(out))
	return &cnsmethods.CnsQueryAllVolumeBody{Res: &cnstypes.CnsQueryAllVolumeResponse{Returnval: cnstypes.CnsQueryResult{
		Volumes: out,
		Cursor:  cnstypes.CnsCursor{Offset: total, Limit: total, TotalRecords: total},
	}}}
}

// matching applies the filter; an empty list in a field means "any". Volume
// ids and names narrow through the indexes first; the rest is checked per volume.
func (m *CnsVolumeManager) matching(f *cnstypes.CnsQueryFilter) []*cnsVolume {
	ids := set(len(f.VolumeIds), func(i int) string { return f.VolumeIds[i].Id })
	names := set(len(f.Names), func(i int) string { return f.Names[i] })
	clusters := set(len(f.ContainerClusterIds), func(i int) string { return f.ContainerClusterIds[i] })
	datastores := set(len(f.Datastores), func(i int) string { return f.Datastores[i].Value })
	var candidates []*cnsVolume
	switch {
	case len(f.VolumeIds) > 0:
		candidates = []*cnsVolume{}
		for id := range ids {
			if v, ok := m.volumes[id]; ok {
				candidates = append(candidates, v)
			}
		}
	case len(f.Names) > 0:
		candidates = []*cnsVolume{}
		for name := range names {
			for _, v := range m.byName[name] {
				candidates = append(candidates, v)
			}
		}
	}
	var out []*cnsVolume
	for _, v := range m.inOrder(candidates) {
		switch {
		case ids != nil && !ids[v.info.VolumeId.Id]:
		case names != nil && !names[v.info.Name]:
		case clusters != nil && !inClusters(v, clusters):
		case datastores != nil && !datastores[v.datastore.Value]:
		case f.StoragePolicyId != "" && v.info.StoragePolicyId != f.StoragePolicyId:
		case f.ComplianceStatus != "" && v.info.ComplianceStatus != f.ComplianceStatus:
		case f.DatastoreAccessibilityStatus != "" && v.info.DatastoreAccessibilityStatus != f.DatastoreAccessibilityStatus:
		case len(f.Labels) > 0 && !hasLabels(v, f.Labels):
		default:
			out = append(out, v)
		}
	}
	return out
}

func set(n int, at func(int) string) map[string]bool {
	if n == 0 {
		return nil
	}
	s := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		s[at(i)] = true
	}
	return s
}

func inClusters(v *cnsVolume, clusters map[string]bool) bool {
	if clusters[v.info.Metadata.ContainerCluster.ClusterId] {
		return true
	}
	for _, c := range v.info.Metadata.ContainerClusterArray {
		if clusters[c.ClusterId] {
			return true
		}
	}
	return false
}

// hasLabels: every filter label is carried by some entity of the volume.
func hasLabels(v *cnsVolume, labels []vim25types.KeyValue) bool {
	for _, want := range labels {
		found := false
		for _, e := range v.info.Metadata.EntityMetadata {
			for _, kv := range e.GetCnsEntityMetadata().Labels {
				if kv.Key == want.Key && kv.Value == want.Value {
					found = true
				}
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func internalContext() *simulator.Context {
	return &simulator.Context{Context: context.Background(), Map: simulator.Map}
}

// cursorWindow is where a query's page starts and how long it is: the
// cursor's offset and limit, the limit defaulted (0 or less) and capped as
// vCenter does. A negative offset is returned as is for the caller to refuse.
func cursorWindow(c *cnstypes.CnsCursor) (offset, limit int64) {
	offset, limit = 0, int64(defaultQueryLimit)
	if c != nil {
		offset, limit = c.Offset, c.Limit
		if limit <= 0 {
			limit = defaultQueryLimit
		}
	}
	if limit > maxQueryLimit {
		limit = maxQueryLimit
	}
	return offset, limit
}
