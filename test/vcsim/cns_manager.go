// Our CNS volume manager. It replaces govmomi 0.24.2's cns/simulator (which
// we no longer import) so the simulator follows vCenter's rules; each rule
// and its source is listed in docs/vsphere-client.md ("Simulator rules").
//
// State lives here, guarded by the embedded mutex. The simulator's request
// dispatch locks a handler that implements sync.Locker, so every SOAP method
// below already runs under m's lock; task bodies run later on their own
// goroutine and take the lock themselves.
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
}

// attachment is where a volume is attached: the VM and the disk device CNS added.
type attachment struct {
	vm        vim25types.ManagedObjectReference
	diskUUID  string // 32 lowercase hex digits
	deviceKey int32
}

type CnsVolumeManager struct {
	sync.Mutex
	vim25types.ManagedObjectReference

	volumes     map[string]*cnsVolume
	attachments map[string]attachment
	nextSeq     int64
	tasks       *taskRunner
	faults      *faultInjector
}

// cnsOptions are the simulator's knobs for CNS behaviour.
type cnsOptions struct {
	queueDelay time.Duration // how long a CNS task stays "queued"
	runTime    time.Duration // how long it stays "running" before its work is applied
}

func newCnsManager(opts cnsOptions) *CnsVolumeManager {
	m := &CnsVolumeManager{
		ManagedObjectReference: cns.CnsVolumeManagerInstance,
		volumes:                map[string]*cnsVolume{},
		attachments:            map[string]attachment{},
		faults:                 newFaultInjector(),
	}
	m.tasks = &taskRunner{owner: m, lock: &m.Mutex}
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

// sortedVolumes returns the volumes in creation order (the cursor's order).
func (m *CnsVolumeManager) sortedVolumes() []*cnsVolume {
	out := make([]*cnsVolume, 0, len(m.volumes))
	for _, v := range m.volumes {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
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
