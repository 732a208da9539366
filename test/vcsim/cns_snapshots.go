// CNS snapshots: CnsCreateSnapshots, CnsDeleteSnapshots, CnsQuerySnapshots
// and the restore of a snapshot into a new volume (CnsCreateVolume with a
// CnsSnapshotVolumeSource), which govmomi 0.24.2 has neither types nor
// methods for, as the vSAN Management API reference describes them (since
// vSAN API 7.4, shipped with vSphere 7.0 Update 3; an older vCenter answers
// MethodNotFound):
//   - a snapshot belongs to a volume; CnsCreateSnapshots and
//     CnsDeleteSnapshots take a list and answer a result per spec, each with
//     its own fault; every snapshot gets a fresh UUID and the time its task ran;
//   - a first-class disk has at most 32 snapshots (vSphere's limit for a
//     VStorageObject): the 33rd is a CnsFault naming the limit;
//   - CnsQuerySnapshots is a task too; its result is a CnsSnapshotQueryResult
//     itself (not a batch: govmomi's later client reads
//     taskInfo.result.(CnsSnapshotQueryResult)); no spec = every snapshot of
//     every volume, a spec names a volume and optionally one of its snapshots;
//     at most one spec per call (as govmomi's later CNS simulator, which the
//     reference driver's tests ran against: it sends one); the cursor pages as
//     CnsQueryVolume does;
//   - a volume with snapshots is neither deleted nor extended (vSphere refuses
//     both for an FCD with snapshots): a CnsFault in its result;
//   - a restore makes a new volume like any create (a new id, an empty FCD
//     file on the spec's datastore) whose capacity is the volume's capacity
//     when the snapshot was taken; a spec capacity below that is
//     InvalidArgument, a larger one is ignored (the caller extends afterwards).
//
// No data is copied anywhere: a snapshot is a record, a restored disk is empty.
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

var snapshotsSince = []int{7, 0, 3}

// maxSnapshotsPerDisk is vSphere's limit of snapshots of one first-class disk.
const maxSnapshotsPerDisk = 32

// cnsSnapshot is one snapshot of a volume, with the volume's size at the time.
type cnsSnapshot struct {
	info       CnsSnapshot
	capacityMb int64
}

// ---- faults

func snapshotNotFound(volumeID, snapshotID string) (vim25types.BaseMethodFault, string) {
	return &CnsSnapshotNotFoundFault{VolumeId: cnstypes.CnsVolumeId{Id: volumeID}, SnapshotId: CnsSnapshotId{Id: snapshotID}},
		fmt.Sprintf("CNS has no snapshot %s of volume %s", snapshotID, volumeID)
}

func volumeNotFound(volumeID string) (vim25types.BaseMethodFault, string) {
	return &CnsVolumeNotFoundFault{VolumeId: cnstypes.CnsVolumeId{Id: volumeID}}, fmt.Sprintf("CNS has no volume %s", volumeID)
}

// hasSnapshots is the refusal of delete and extend for a volume with snapshots (nil when it has none).
func hasSnapshots(v *cnsVolume, op string) *cnstypes.CnsVolumeOperationResult {
	if len(v.snapshots) == 0 {
		return nil
	}
	id := v.info.VolumeId.Id
	return opResult(id, &cnstypes.CnsFault{Reason: "volume has snapshots"},
		fmt.Sprintf("volume %s has %d snapshots: a first-class disk with snapshots cannot be %s; delete its snapshots first", id, len(v.snapshots), op))
}

// findSnapshot returns the volume's snapshot with that id, or nil.
func (m *CnsVolumeManager) findSnapshot(volumeID, snapshotID string) (*cnsVolume, int) {
	v, ok := m.volumes[volumeID]
	if !ok {
		return nil, -1
	}
	for i, s := range v.snapshots {
		if s.info.SnapshotId.Id == snapshotID {
			return v, i
		}
	}
	return v, -1
}

// ---- CnsCreateSnapshots

func (m *CnsVolumeManager) CnsCreateSnapshots(req *CnsCreateSnapshots) soap.HasFault {
	if !apiAtLeast(snapshotsSince) {
		return &CnsCreateSnapshotsBody{Fault_: methodNotFound(m, "CnsCreateSnapshots")}
	}
	ref := m.manySpecTask("CnsCreateSnapshots", "snapshotSpecs", len(req.SnapshotSpecs), func(i int) cnstypes.BaseCnsVolumeOperationResult {
		return m.snapshotOne(req.SnapshotSpecs[i])
	})
	return &CnsCreateSnapshotsBody{Res: &CnsCreateSnapshotsResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) snapshotOne(spec CnsSnapshotCreateSpec) cnstypes.BaseCnsVolumeOperationResult {
	id := spec.VolumeId.Id
	failed := func(fault vim25types.BaseMethodFault, msg string) *CnsSnapshotCreateResult {
		return &CnsSnapshotCreateResult{CnsSnapshotOperationResult: CnsSnapshotOperationResult{*opResult(id, fault, msg)}}
	}
	v, ok := m.volumes[id]
	if !ok {
		return failed(volumeNotFound(id))
	}
	if to, busy := relocating(id); busy {
		return failed(&cnstypes.CnsFault{Reason: "relocating"}, fmt.Sprintf("volume %s is being relocated to %s", id, to))
	}
	if len(v.snapshots) >= maxSnapshotsPerDisk {
		return failed(&cnstypes.CnsFault{Reason: "too many snapshots"},
			fmt.Sprintf("volume %s has %d snapshots, the most a first-class disk can have", id, maxSnapshotsPerDisk))
	}
	s := &cnsSnapshot{
		info: CnsSnapshot{
			SnapshotId:  CnsSnapshotId{Id: uuid.New().String()},
			VolumeId:    cnstypes.CnsVolumeId{Id: id},
			Description: spec.Description,
			CreateTime:  time.Now().UTC(),
		},
		capacityMb: v.info.BackingObjectDetails.GetCnsBackingObjectDetails().CapacityInMb,
	}
	v.snapshots = append(v.snapshots, s)
	info := s.info
	return &CnsSnapshotCreateResult{
		CnsSnapshotOperationResult: CnsSnapshotOperationResult{*opResult(id, nil, "")},
		Snapshot:                   &info,
	}
}

// ---- CnsDeleteSnapshots

func (m *CnsVolumeManager) CnsDeleteSnapshots(req *CnsDeleteSnapshots) soap.HasFault {
	if !apiAtLeast(snapshotsSince) {
		return &CnsDeleteSnapshotsBody{Fault_: methodNotFound(m, "CnsDeleteSnapshots")}
	}
	ref := m.manySpecTask("CnsDeleteSnapshots", "snapshotDeleteSpecs", len(req.SnapshotDeleteSpecs), func(i int) cnstypes.BaseCnsVolumeOperationResult {
		return m.deleteSnapshotOne(req.SnapshotDeleteSpecs[i])
	})
	return &CnsDeleteSnapshotsBody{Res: &CnsDeleteSnapshotsResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) deleteSnapshotOne(spec CnsSnapshotDeleteSpec) cnstypes.BaseCnsVolumeOperationResult {
	id, sid := spec.VolumeId.Id, spec.SnapshotId.Id
	result := func(fault vim25types.BaseMethodFault, msg string) *CnsSnapshotDeleteResult {
		return &CnsSnapshotDeleteResult{CnsSnapshotOperationResult: CnsSnapshotOperationResult{*opResult(id, fault, msg)}, SnapshotId: spec.SnapshotId}
	}
	v, i := m.findSnapshot(id, sid)
	if i < 0 {
		return result(snapshotNotFound(id, sid))
	}
	v.snapshots = append(v.snapshots[:i:i], v.snapshots[i+1:]...)
	return result(nil, "")
}

// ---- CnsQuerySnapshots

func (m *CnsVolumeManager) CnsQuerySnapshots(req *CnsQuerySnapshots) soap.HasFault {
	if !apiAtLeast(snapshotsSince) {
		return &CnsQuerySnapshotsBody{Fault_: methodNotFound(m, "CnsQuerySnapshots")}
	}
	filter := req.SnapshotQueryFilter
	ref := m.tasks.start("CnsQuerySnapshots", func() (vim25types.AnyType, vim25types.BaseMethodFault, string) {
		if n := len(filter.SnapshotQuerySpecs); n > 1 {
			return nil, &vim25types.InvalidArgument{InvalidProperty: "snapshotQuerySpecs"},
				fmt.Sprintf("CnsQuerySnapshots takes at most one snapshot query spec per call; %d were given", n)
		}
		if fault, msg := m.faults.take("CnsQuerySnapshots"); fault != nil {
			return nil, fault, msg
		}
		offset, limit := cursorWindow(filter.Cursor)
		if offset < 0 {
			return nil, &vim25types.InvalidArgument{InvalidProperty: "cursor.offset"}, "cursor offset must not be negative"
		}
		entries := m.snapshotEntries(filter.SnapshotQuerySpecs)
		total := int64(len(entries))
		end := offset + limit
		if offset > total {
			offset = total
		}
		if end > total {
			end = total
		}
		return &CnsSnapshotQueryResult{
			Entries: entries[offset:end],
			Cursor:  cnstypes.CnsCursor{Offset: end, Limit: limit, TotalRecords: total},
		}, nil, ""
	})
	return &CnsQuerySnapshotsBody{Res: &CnsQuerySnapshotsResponse{Returnval: ref}}
}

// snapshotEntries lists what the specs select, in volume creation order, then
// snapshot creation order; a spec naming a missing volume or snapshot is an
// entry with only an error.
func (m *CnsVolumeManager) snapshotEntries(specs []CnsSnapshotQuerySpec) []CnsSnapshotQueryResultEntry {
	entries := []CnsSnapshotQueryResultEntry{}
	of := func(v *cnsVolume) {
		for _, s := range v.snapshots {
			info := s.info
			entries = append(entries, CnsSnapshotQueryResultEntry{Snapshot: &info})
		}
	}
	if len(specs) == 0 {
		for _, v := range m.inOrder(nil) {
			of(v)
		}
		return entries
	}
	for _, spec := range specs {
		id := spec.VolumeId.Id
		v, ok := m.volumes[id]
		switch {
		case !ok:
			fault, msg := volumeNotFound(id)
			entries = append(entries, CnsSnapshotQueryResultEntry{Error: localizedFault(fault, msg)})
		case spec.SnapshotId == nil || spec.SnapshotId.Id == "":
			of(v)
		default:
			if _, i := m.findSnapshot(id, spec.SnapshotId.Id); i >= 0 {
				info := v.snapshots[i].info
				entries = append(entries, CnsSnapshotQueryResultEntry{Snapshot: &info})
			} else {
				fault, msg := snapshotNotFound(id, spec.SnapshotId.Id)
				entries = append(entries, CnsSnapshotQueryResultEntry{Error: localizedFault(fault, msg)})
			}
		}
	}
	return entries
}

// ---- restore: CnsCreateVolume with a volumeSource

// CnsCreateVolume reads our request type (with volumeSource); a vCenter
// before 7.0 U3 knows no volumeSource and refuses a create that has one.
func (m *CnsVolumeManager) CnsCreateVolume(req *cnsCreateVolume) soap.HasFault {
	for _, spec := range req.CreateSpecs {
		if spec.VolumeSource != nil && !apiAtLeast(snapshotsSince) {
			return &cnsmethods.CnsCreateVolumeBody{Fault_: methodNotFound(m, "CnsCreateVolume with a volumeSource")}
		}
	}
	ref := m.oneSpecTask("CnsCreateVolume", len(req.CreateSpecs), func() cnstypes.BaseCnsVolumeOperationResult {
		spec := &req.CreateSpecs[0]
		if spec.VolumeSource == nil {
			return m.createOne(&spec.CnsVolumeCreateSpec, 0)
		}
		return m.restoreOne(spec)
	})
	return &cnsmethods.CnsCreateVolumeBody{Res: &cnstypes.CnsCreateVolumeResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) restoreOne(spec *cnsVolumeCreateSpec) *cnstypes.CnsVolumeCreateResult {
	failed := func(fault vim25types.BaseMethodFault, msg string) *cnstypes.CnsVolumeCreateResult {
		return &cnstypes.CnsVolumeCreateResult{Name: spec.Name, CnsVolumeOperationResult: *opResult("", fault, msg)}
	}
	src, ok := spec.VolumeSource.(*CnsSnapshotVolumeSource)
	if !ok {
		return failed(&vim25types.InvalidArgument{InvalidProperty: "volumeSource"}, fmt.Sprintf("volume source %T is not supported: only CnsSnapshotVolumeSource", spec.VolumeSource))
	}
	v, i := m.findSnapshot(src.VolumeId.Id, src.SnapshotId.Id)
	if i < 0 {
		return failed(snapshotNotFound(src.VolumeId.Id, src.SnapshotId.Id))
	}
	size := v.snapshots[i].capacityMb
	if block, ok := spec.BackingObjectDetails.(*cnstypes.CnsBlockBackingDetails); ok && block.CapacityInMb > 0 && block.CapacityInMb < size {
		return failed(&vim25types.InvalidArgument{InvalidProperty: "capacityInMb"},
			fmt.Sprintf("snapshot %s has %d MB; a volume restored from it cannot have %d MB", src.SnapshotId.Id, size, block.CapacityInMb))
	}
	return m.createOne(&spec.CnsVolumeCreateSpec, size)
}

// ---- test hook: GET /debug/cns/snapshots[?volume=ID] {"snapshots": n}
// counts the snapshots of one volume (404 when CNS has no such volume) or of all.

func init() {
	extraDebugRoutes = append(extraDebugRoutes, serveSnapshotDebug)
}

func serveSnapshotDebug(m *CnsVolumeManager, w http.ResponseWriter, req *http.Request) bool {
	if req.URL.Path != "/debug/cns/snapshots" {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	if id := req.URL.Query().Get("volume"); id != "" {
		v, ok := m.volumes[id]
		if !ok {
			http.Error(w, "CNS has no volume "+id, http.StatusNotFound)
			return true
		}
		n = len(v.snapshots)
	} else {
		for _, v := range m.volumes {
			n += len(v.snapshots)
		}
	}
	out, _ := json.Marshal(map[string]int{"snapshots": n})
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
	return true
}
