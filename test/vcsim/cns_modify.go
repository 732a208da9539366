// CnsReconfigVolumePolicy and CnsRelocateVolume, which 0.24.2 does not
// implement (and for the first has no types), as vCenter documents them in
// the vSAN Management API reference (CnsVolumeManager):
//   - exactly one spec per call, else the task fails with InvalidArgument;
//   - an unknown volume or datastore is NotFound in the volume's result, any
//     other refusal (an unknown or incompatible policy, a volume that is being
//     relocated) a CnsFault; a relocation to the volume's own datastore is
//     AlreadyExists ("volume is already migrated to the specified destination");
//   - an attached volume is relocated too (the reference asks for
//     Resource.HotMigrate on its VM): the VM's disk device follows the file;
//   - without a profile in the relocate spec the destination's default policy
//     applies (the simulator has none: the volume is left without a policy);
//   - a vCenter older than the API answers MethodNotFound.
// Relocation takes -cns-relocate-time (or /debug/storage/relocate-time) on
// top of the normal task timing, so a caller's deadline can pass mid-copy.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/vpx"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

// The vCenter (about.apiVersion) that introduced each method: the vSAN
// Management API reference gives CnsVolumeRelocateSpec "since vSAN API 7.4"
// (shipped with vSphere 7.0 Update 3) and CnsVolumePolicyReconfigSpec
// "since 8.0.0.2" (vSphere 8.0 Update 2).
var (
	relocateSince = []int{7, 0, 3}
	reconfigSince = []int{8, 0, 2}
)

var relocateTimeFlag = flag.Duration("cns-relocate-time", 0, "how much longer than other CNS tasks a CnsRelocateVolume task runs (the copy)")

// relocations: volumes with a relocation in flight, and how long one takes.
// Its own lock: the debug hook reads it outside the manager's lock.
var relocations = struct {
	sync.Mutex
	inFlight map[string]string // volume id → destination datastore
	extra    *time.Duration
}{inFlight: map[string]string{}}

func relocateTime() time.Duration {
	relocations.Lock()
	defer relocations.Unlock()
	if relocations.extra != nil {
		return *relocations.extra
	}
	return *relocateTimeFlag
}

func setRelocateTime(d time.Duration) {
	relocations.Lock()
	relocations.extra = &d
	relocations.Unlock()
}

func relocating(id string) (string, bool) {
	relocations.Lock()
	defer relocations.Unlock()
	ds, ok := relocations.inFlight[id]
	return ds, ok
}

// ---- types 0.24.2 lacks (CnsReconfigVolumePolicy), registered for the /vsanHealth decoder

type CnsVolumePolicyReconfigSpec struct {
	vim25types.DynamicData

	VolumeId cnstypes.CnsVolumeId                      `xml:"volumeId"`
	Profile  []vim25types.BaseVirtualMachineProfileSpec `xml:"profile,omitempty,typeattr"`
}

type CnsReconfigVolumePolicyRequestType struct {
	This                      vim25types.ManagedObjectReference `xml:"_this"`
	VolumePolicyReconfigSpecs []CnsVolumePolicyReconfigSpec      `xml:"volumePolicyReconfigSpecs,omitempty"`
}

type CnsReconfigVolumePolicy CnsReconfigVolumePolicyRequestType

type CnsReconfigVolumePolicyResponse struct {
	Returnval vim25types.ManagedObjectReference `xml:"returnval"`
}

type CnsReconfigVolumePolicyBody struct {
	Req    *CnsReconfigVolumePolicy         `xml:"urn:vsan CnsReconfigVolumePolicy,omitempty"`
	Res    *CnsReconfigVolumePolicyResponse `xml:"urn:vsan CnsReconfigVolumePolicyResponse,omitempty"`
	Fault_ *soap.Fault                      `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *CnsReconfigVolumePolicyBody) Fault() *soap.Fault { return b.Fault_ }

func init() {
	vim25types.Add("vsan:CnsVolumePolicyReconfigSpec", reflect.TypeOf((*CnsVolumePolicyReconfigSpec)(nil)).Elem())
	vim25types.Add("vsan:CnsReconfigVolumePolicyRequestType", reflect.TypeOf((*CnsReconfigVolumePolicyRequestType)(nil)).Elem())
	vim25types.Add("vsan:CnsReconfigVolumePolicy", reflect.TypeOf((*CnsReconfigVolumePolicy)(nil)).Elem())
}

// ---- version gate

// apiAtLeast: about.apiVersion ("8.0.3.0", "6.7.3") is at least want.
func apiAtLeast(want []int) bool {
	parts := strings.Split(vpx.ServiceContent.About.ApiVersion, ".")
	for i, w := range want {
		have := 0
		if i < len(parts) {
			have, _ = strconv.Atoi(parts[i])
		}
		if have != w {
			return have > w
		}
	}
	return true
}

func methodNotFound(m *CnsVolumeManager, method string) *soap.Fault {
	return simulator.Fault(fmt.Sprintf("%s is not available in vCenter %s", method, vpx.ServiceContent.About.ApiVersion),
		&vim25types.MethodNotFound{Receiver: m.ManagedObjectReference, Method: method})
}

// ---- CnsReconfigVolumePolicy

func (m *CnsVolumeManager) CnsReconfigVolumePolicy(req *CnsReconfigVolumePolicy) soap.HasFault {
	if !apiAtLeast(reconfigSince) {
		return &CnsReconfigVolumePolicyBody{Fault_: methodNotFound(m, "CnsReconfigVolumePolicy")}
	}
	ref := m.tasks.start("CnsReconfigVolumePolicy", func() (vim25types.AnyType, vim25types.BaseMethodFault, string) {
		if fault, msg := exactlyOne("CnsReconfigVolumePolicy", len(req.VolumePolicyReconfigSpecs)); fault != nil {
			return nil, fault, msg
		}
		if fault, msg := m.faults.take("CnsReconfigVolumePolicy"); fault != nil {
			return nil, fault, msg
		}
		spec := req.VolumePolicyReconfigSpecs[0]
		profileID := definedProfile(spec.Profile)
		if spec.VolumeId.Id == "" || profileID == "" {
			return nil, &vim25types.InvalidArgument{InvalidProperty: "volumePolicyReconfigSpecs"}, "a volume id and a VirtualMachineDefinedProfileSpec with a profile id are required"
		}
		return batch(m.reconfigOne(spec.VolumeId.Id, profileID)), nil, ""
	})
	return &CnsReconfigVolumePolicyBody{Res: &CnsReconfigVolumePolicyResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) reconfigOne(id, profileID string) *cnstypes.CnsVolumeOperationResult {
	v, ok := m.volumes[id]
	if !ok {
		return opResult(id, notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	if to, busy := relocating(id); busy {
		return opResult(id, &cnstypes.CnsFault{Reason: "relocating"}, fmt.Sprintf("volume %s is being relocated to %s", id, to))
	}
	if fault, msg := policyRefusal(profileID, v.datastore); fault != nil {
		return opResult(id, fault, msg)
	}
	v.info.StoragePolicyId = profileID
	v.info.ComplianceStatus = "compliant"
	return opResult(id, nil, "")
}

// policyRefusal: why vCenter would not put a disk of this policy on ds (nil when it would).
func policyRefusal(profileID string, ds vim25types.ManagedObjectReference) (vim25types.BaseMethodFault, string) {
	if !profileExists(profileID) {
		return &cnstypes.CnsFault{Reason: "profile"}, fmt.Sprintf("storage policy %s does not exist", profileID)
	}
	if !compatible(profileID, ds.Value) {
		return &cnstypes.CnsFault{Reason: "incompatible"}, fmt.Sprintf("datastore %s is not compatible with storage policy %s", ds.Value, profileID)
	}
	return nil, ""
}

func definedProfile(profiles []vim25types.BaseVirtualMachineProfileSpec) string {
	for _, p := range profiles {
		if d, ok := p.(*vim25types.VirtualMachineDefinedProfileSpec); ok {
			return d.ProfileId
		}
	}
	return ""
}

// ---- CnsRelocateVolume

func (m *CnsVolumeManager) CnsRelocateVolume(req *cnstypes.CnsRelocateVolume) soap.HasFault {
	if !apiAtLeast(relocateSince) {
		return &cnsmethods.CnsRelocateVolumeBody{Fault_: methodNotFound(m, "CnsRelocateVolume")}
	}
	ref := m.oneSpecTask("CnsRelocateVolume", len(req.RelocateSpecs), func() cnstypes.BaseCnsVolumeOperationResult {
		return m.relocateOne(req.RelocateSpecs[0].GetCnsVolumeRelocateSpec())
	})
	return &cnsmethods.CnsRelocateVolumeBody{Res: &cnstypes.CnsRelocateVolumeResponse{Returnval: ref}}
}

// relocateOne runs with the manager's lock held (the task runner's), and
// releases it while the copy takes its time, as vCenter serves other calls
// meanwhile; the volume is marked as relocating for that time.
func (m *CnsVolumeManager) relocateOne(spec cnstypes.CnsVolumeRelocateSpec) *cnstypes.CnsVolumeOperationResult {
	id := spec.VolumeId.Id
	v, ok := m.volumes[id]
	if !ok {
		return opResult(id, notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	dst, ok := vimObject(spec.Datastore).(*simulator.Datastore)
	if !ok {
		return opResult(id, &vim25types.NotFound{}, fmt.Sprintf("datastore %s can not be found", spec.Datastore.Value))
	}
	if to, busy := relocating(id); busy {
		return opResult(id, &cnstypes.CnsFault{Reason: "relocating"}, fmt.Sprintf("volume %s is being relocated to %s", id, to))
	}
	if v.datastore == dst.Self {
		return opResult(id, &vim25types.AlreadyExists{Name: id}, fmt.Sprintf("volume %s is already on datastore %s", id, dst.Name))
	}
	profileID := definedProfile(spec.Profile)
	if profileID != "" {
		if fault, msg := policyRefusal(profileID, dst.Self); fault != nil {
			return opResult(id, fault, msg)
		}
	}
	relocations.Lock()
	relocations.inFlight[id] = dst.Name
	relocations.Unlock()
	m.mu.Unlock()
	sleep(relocateTime())
	m.mu.Lock()
	relocations.Lock()
	delete(relocations.inFlight, id)
	relocations.Unlock()
	if m.volumes[id] != v {
		return opResult(id, notFound(id), fmt.Sprintf("volume %s was deleted during its relocation", id))
	}
	if err := moveDisk(v, dst); err != nil {
		return opResult(id, &cnstypes.CnsFault{Reason: err.Error()}, fmt.Sprintf("moving the disk of volume %s failed: %v", id, err))
	}
	if a, attached := m.attachments[id]; attached {
		rebaseDevice(a, v)
	}
	// Without a profile the destination's default policy applies; the simulator's datastores have none.
	v.info.StoragePolicyId = profileID
	return opResult(id, nil, "")
}

// fcdRecords is the simulator's FCD table (VcenterVStorageObjectManager.objects,
// unexported in 0.24.2, which has no RelocateVStorageObject): moving a record
// between datastores keeps the FCD id, which is the CNS volume id.
func fcdRecords(mgr *simulator.VcenterVStorageObjectManager) map[vim25types.ManagedObjectReference]map[vim25types.ID]*simulator.VStorageObject {
	f := reflect.ValueOf(mgr).Elem().FieldByName("objects")
	return *(*map[vim25types.ManagedObjectReference]map[vim25types.ID]*simulator.VStorageObject)(unsafe.Pointer(f.UnsafeAddr()))
}

// moveDisk moves the volume's .vmdk files and its FCD record to dst.
func moveDisk(v *cnsVolume, dst *simulator.Datastore) error {
	src, ok := vimObject(v.datastore).(*simulator.Datastore)
	if !ok {
		return fmt.Errorf("source datastore %s is gone", v.datastore.Value)
	}
	id := v.info.VolumeId.Id
	rel := "fcd/" + id + ".vmdk"
	if err := os.MkdirAll(filepath.Join(dst.Info.GetDatastoreInfo().Url, "fcd"), 0o750); err != nil {
		return err
	}
	for _, name := range []string{rel, strings.Replace(rel, ".vmdk", "-flat.vmdk", 1)} {
		from := filepath.Join(src.Info.GetDatastoreInfo().Url, name)
		if _, err := os.Stat(from); os.IsNotExist(err) {
			continue
		}
		if err := os.Rename(from, filepath.Join(dst.Info.GetDatastoreInfo().Url, name)); err != nil {
			return err
		}
	}
	path := fmt.Sprintf("[%s] %s", dst.Name, rel)
	mgr := vsom()
	simulator.Map.WithLock(mgr, func() {
		records := fcdRecords(mgr)
		key := vim25types.ID{Id: id}
		rec := records[src.Self][key]
		if rec == nil {
			return
		}
		delete(records[src.Self], key)
		if records[dst.Self] == nil {
			records[dst.Self] = map[vim25types.ID]*simulator.VStorageObject{}
		}
		if b, ok := rec.Config.Backing.(*vim25types.BaseConfigInfoDiskFileBackingInfo); ok {
			b.FilePath = path
			b.Datastore = dst.Self
		}
		records[dst.Self][key] = rec
	})
	v.datastore = dst.Self
	v.diskPath = path
	v.info.DatastoreUrl = dst.Info.GetDatastoreInfo().Url
	if d, ok := v.info.BackingObjectDetails.(*cnstypes.CnsBlockBackingDetails); ok {
		d.BackingDiskUrlPath = path
	}
	return nil
}

// rebaseDevice points the attached VM's disk device at the moved file.
func rebaseDevice(a attachment, v *cnsVolume) {
	vm, ok := vimObject(a.vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	simulator.Map.WithLock(vm, func() {
		for _, d := range vm.Config.Hardware.Device {
			disk, ok := d.(*vim25types.VirtualDisk)
			if !ok || disk.Key != a.deviceKey {
				continue
			}
			if b, ok := disk.Backing.(*vim25types.VirtualDiskFlatVer2BackingInfo); ok {
				ds := v.datastore
				b.FileName = v.diskPath
				b.Datastore = &ds
			}
		}
		simulator.Map.Update(vm, []vim25types.PropertyChange{{Name: "config.hardware.device", Val: vm.Config.Hardware.Device}})
	})
}
