// Our CNS volume manager. It replaces govmomi 0.24.2's cns/simulator (which
// we no longer import) so the simulator follows vCenter's rules; each rule
// and its source is listed in docs/vsphere-client.md ("Simulator rules").
//
// State lives here, guarded by mu: task bodies (the only writers) hold it
// for writing, queries for reading, so queries run in parallel as on vCenter.
// The simulator's dispatch would serialize every method of a handler on one
// mutex; Lock/Unlock below opt out of that (the methods that answer with a
// task touch no state, and the rest take mu themselves).
package main

import (
	"sort"
	"sync"
	"time"

	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

// cnsVolume is one CNS volume and what vCenter knows about its backing FCD.
type cnsVolume struct {
	info      cnstypes.CnsVolume
	datastore vim25types.ManagedObjectReference
	diskPath  string // "[ds] fcd/<id>.vmdk"
	seq       int64  // creation order: the query cursor's stable order
	// registered: an FCD of the simulator's VcenterVStorageObjectManager
	// adopted by CNS (static provisioning), deleted through that catalog.
	registered bool
	gone       bool           // deleted; still in CnsVolumeManager.ordered until it is compacted
	snapshots  []*cnsSnapshot // in creation order (cns_snapshots.go)
}

// attachment is where a volume is attached: the VM and the disk device CNS added.
type attachment struct {
	vm        vim25types.ManagedObjectReference
	diskUUID  string // 32 lowercase hex digits
	deviceKey int32
}

type CnsVolumeManager struct {
	vim25types.ManagedObjectReference

	mu          sync.RWMutex
	volumes     map[string]*cnsVolume
	byName      map[string]map[string]*cnsVolume // name → id → volume: name queries are lookups, not scans
	ordered     []*cnsVolume                     // creation order (deleted ones dropped lazily): the cursor's order
	removed     int                              // deleted volumes still in ordered
	attachments map[string]attachment
	nextSeq     int64
	tasks       *taskRunner
	faults      *faultInjector
}

// Lock and Unlock make m a sync.Locker the simulator's dispatch uses instead
// of its own per-object mutex: no-ops, so requests are not serialized (see mu).
func (m *CnsVolumeManager) Lock()   {}
func (m *CnsVolumeManager) Unlock() {}

// cnsOptions are the simulator's knobs for CNS behaviour.
type cnsOptions struct {
	queueDelay time.Duration // how long a CNS task stays "queued"
	runTime    time.Duration // how long it stays "running" before its work is applied
}

func newCnsManager(opts cnsOptions) *CnsVolumeManager {
	m := &CnsVolumeManager{
		ManagedObjectReference: cns.CnsVolumeManagerInstance,
		volumes:                map[string]*cnsVolume{},
		byName:                 map[string]map[string]*cnsVolume{},
		attachments:            map[string]attachment{},
		faults:                 newFaultInjector(),
	}
	m.tasks = &taskRunner{owner: m, lock: &m.mu}
	m.tasks.setTiming(opts.queueDelay, opts.runTime)
	return m
}

// registerCns serves m at /vsanHealth (namespace urn:vsan), as vCenter does.
func registerCns(m *CnsVolumeManager) {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		if !r.IsVPX() {
			return
		}
		reg := simulator.NewRegistry()
		reg.Namespace = cns.Namespace
		reg.Path = cns.Path
		reg.Put(m)
		s.RegisterSDK(reg)
	})
}

// add and remove keep the indexes; callers hold mu for writing.
func (m *CnsVolumeManager) add(v *cnsVolume) {
	id := v.info.VolumeId.Id
	m.volumes[id] = v
	if m.byName[v.info.Name] == nil {
		m.byName[v.info.Name] = map[string]*cnsVolume{}
	}
	m.byName[v.info.Name][id] = v
	m.ordered = append(m.ordered, v)
}

func (m *CnsVolumeManager) remove(v *cnsVolume) {
	id := v.info.VolumeId.Id
	delete(m.volumes, id)
	if named := m.byName[v.info.Name]; named != nil {
		delete(named, id)
		if len(named) == 0 {
			delete(m.byName, v.info.Name)
		}
	}
	v.gone = true
	m.removed++
	if m.removed > len(m.ordered)/2 {
		kept := m.ordered[:0]
		for _, o := range m.ordered {
			if !o.gone {
				kept = append(kept, o)
			}
		}
		m.ordered, m.removed = kept, 0
	}
}

// inOrder returns the given volumes (all when nil) in creation order, the cursor's order.
func (m *CnsVolumeManager) inOrder(subset []*cnsVolume) []*cnsVolume {
	if subset == nil {
		out := make([]*cnsVolume, 0, len(m.volumes))
		for _, v := range m.ordered {
			if !v.gone {
				out = append(out, v)
			}
		}
		return out
	}
	sort.Slice(subset, func(i, j int) bool { return subset[i].seq < subset[j].seq })
	return subset
}

func localizedFault(fault vim25types.BaseMethodFault, message string) *vim25types.LocalizedMethodFault {
	return &vim25types.LocalizedMethodFault{Fault: fault, LocalizedMessage: message}
}

func opResult(id string, fault vim25types.BaseMethodFault, message string) *cnstypes.CnsVolumeOperationResult {
	r := &cnstypes.CnsVolumeOperationResult{VolumeId: cnstypes.CnsVolumeId{Id: id}}
	if fault != nil {
		r.Fault = localizedFault(fault, message)
	}
	return r
}

func notFound(id string) vim25types.BaseMethodFault {
	return &vim25types.NotFound{}
}

// vimObject returns the vim25 inventory object for ref, or nil.
func vimObject(ref vim25types.ManagedObjectReference) mo.Reference {
	return simulator.Map.Get(ref)
}
