// CnsAttachVolume / CnsDetachVolume. As on vCenter, an attach adds a
// VirtualDisk to the VM (backing = the volume's FCD file, backing.uuid = a
// disk UUID of its own, vDiskId = the volume id) and a detach removes it, so
// "which VM has this volume" is read from the VM's devices. Both take many
// specs per call; each spec gets its own result and fault (0.24.2 hands every
// volume the same disk UUID, adds no device and fails the whole task on one
// bad item).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

// scsiControllersPerVm: a node VM prepared for CSI has four PVSCSI
// controllers (4 x 15 units, one used by the OS disk: the 59-volume limit).
const scsiControllersPerVm = 4

func (m *CnsVolumeManager) CnsAttachVolume(req *cnstypes.CnsAttachVolume) soap.HasFault {
	ref := m.manySpecTask("CnsAttachVolume", "attachSpecs", len(req.AttachSpecs), func(i int) cnstypes.BaseCnsVolumeOperationResult {
		return m.attachOne(req.AttachSpecs[i])
	})
	return &cnsmethods.CnsAttachVolumeBody{Res: &cnstypes.CnsAttachVolumeResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) attachOne(spec cnstypes.CnsVolumeAttachDetachSpec) cnstypes.BaseCnsVolumeOperationResult {
	id := spec.VolumeId.Id
	failed := func(fault vim25types.BaseMethodFault, msg string) cnstypes.BaseCnsVolumeOperationResult {
		return &cnstypes.CnsVolumeAttachResult{CnsVolumeOperationResult: *opResult(id, fault, msg)}
	}
	v, ok := m.volumes[id]
	if !ok {
		return failed(notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	vm, ok := vimObject(spec.Vm).(*simulator.VirtualMachine)
	if !ok {
		return failed(&vim25types.ManagedObjectNotFound{Obj: spec.Vm}, fmt.Sprintf("VM %s does not exist", spec.Vm.Value))
	}
	if a, attached := m.attachments[id]; attached {
		// vCenter answers ResourceInUse also when it is this very VM.
		return failed(&vim25types.ResourceInUse{Type: "VirtualMachine", Name: a.vm.Value}, fmt.Sprintf("volume %s is already attached to %s", id, a.vm.Value))
	}
	diskUUID := newDiskUUID()
	capacityMb := v.info.BackingObjectDetails.GetCnsBackingObjectDetails().CapacityInMb
	key, fault := addDisk(vm, v, diskUUID, capacityMb)
	if fault != nil {
		return failed(fault, fmt.Sprintf("VM %s has no free SCSI unit for volume %s", vm.Name, id))
	}
	m.attachments[id] = attachment{vm: vm.Self, diskUUID: diskUUID, deviceKey: key}
	return &cnstypes.CnsVolumeAttachResult{CnsVolumeOperationResult: *opResult(id, nil, ""), DiskUUID: diskUUID}
}

func (m *CnsVolumeManager) CnsDetachVolume(req *cnstypes.CnsDetachVolume) soap.HasFault {
	ref := m.manySpecTask("CnsDetachVolume", "detachSpecs", len(req.DetachSpecs), func(i int) cnstypes.BaseCnsVolumeOperationResult {
		return m.detachOne(req.DetachSpecs[i])
	})
	return &cnsmethods.CnsDetachVolumeBody{Res: &cnstypes.CnsDetachVolumeResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) detachOne(spec cnstypes.CnsVolumeAttachDetachSpec) cnstypes.BaseCnsVolumeOperationResult {
	id := spec.VolumeId.Id
	if _, ok := m.volumes[id]; !ok {
		return opResult(id, notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	vm, ok := vimObject(spec.Vm).(*simulator.VirtualMachine)
	if !ok {
		return opResult(id, &vim25types.ManagedObjectNotFound{Obj: spec.Vm}, fmt.Sprintf("VM %s does not exist", spec.Vm.Value))
	}
	a, attached := m.attachments[id]
	if !attached || a.vm != vm.Self {
		return opResult(id, &vim25types.NotFound{}, fmt.Sprintf("volume %s is not attached to VM %s", id, vm.Name))
	}
	removeDisk(vm, a.deviceKey)
	delete(m.attachments, id)
	return opResult(id, nil, "")
}

// newDiskUUID: what vCenter gives a disk (backing.uuid), as 32 lowercase hex digits.
func newDiskUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[0], b[1] = 0x60, 0x00 // VMware's disk UUIDs start with 6000c29...
	b[2] = 0xc2
	b[3] = 0x90 | (b[3] & 0x0f)
	return hex.EncodeToString(b)
}

// vsphereUUID prints a disk UUID the way VirtualDiskFlatVer2BackingInfo.uuid does.
func vsphereUUID(h string) string {
	return strings.ToUpper(h[0:8]) + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func addDisk(vm *simulator.VirtualMachine, v *cnsVolume, diskUUID string, capacityMb int64) (int32, vim25types.BaseMethodFault) {
	var key int32
	var fault vim25types.BaseMethodFault
	simulator.Map.WithLock(vm, func() {
		devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
		controller, unit, ok := freeUnit(devices)
		if !ok {
			fault = &vim25types.TooManyDevices{}
			return
		}
		key = -devices.NewKey()
		for devices.FindByKey(key) != nil {
			key++
		}
		ds := v.datastore
		disk := &vim25types.VirtualDisk{
			VirtualDevice: vim25types.VirtualDevice{
				Key:           key,
				ControllerKey: controller.Key,
				UnitNumber:    &unit,
				DeviceInfo:    &vim25types.Description{Label: "Hard disk " + v.info.VolumeId.Id[:8], Summary: fmt.Sprintf("%d KB", capacityMb*1024)},
				Backing: &vim25types.VirtualDiskFlatVer2BackingInfo{
					VirtualDeviceFileBackingInfo: vim25types.VirtualDeviceFileBackingInfo{FileName: v.diskPath, Datastore: &ds},
					DiskMode:                     string(vim25types.VirtualDiskModePersistent),
					ThinProvisioned:              vim25types.NewBool(true),
					Uuid:                         vsphereUUID(diskUUID),
				},
			},
			CapacityInKB:    capacityMb * 1024,
			CapacityInBytes: capacityMb * 1024 * 1024,
			VDiskId:         &vim25types.ID{Id: v.info.VolumeId.Id},
		}
		controller.Device = append(controller.Device, key)
		simulator.Map.Update(vm, []vim25types.PropertyChange{
			{Name: "config.hardware.device", Val: []vim25types.BaseVirtualDevice(append(devices, disk))},
			{Name: "summary.config.numVirtualDisks", Val: vm.Summary.Config.NumVirtualDisks + 1},
		})
	})
	return key, fault
}

func removeDisk(vm *simulator.VirtualMachine, key int32) {
	simulator.Map.WithLock(vm, func() {
		devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
		kept := make([]vim25types.BaseVirtualDevice, 0, len(devices))
		for _, d := range devices {
			if d.GetVirtualDevice().Key == key {
				continue
			}
			if c, ok := d.(vim25types.BaseVirtualController); ok {
				ctl := c.GetVirtualController()
				ctl.Device = without(ctl.Device, key)
			}
			kept = append(kept, d)
		}
		simulator.Map.Update(vm, []vim25types.PropertyChange{
			{Name: "config.hardware.device", Val: kept},
			{Name: "summary.config.numVirtualDisks", Val: vm.Summary.Config.NumVirtualDisks - 1},
		})
	})
}

func resizeDevice(a attachment, capacityMb int64) {
	vm, ok := vimObject(a.vm).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	simulator.Map.WithLock(vm, func() {
		for _, d := range vm.Config.Hardware.Device {
			if disk, ok := d.(*vim25types.VirtualDisk); ok && disk.Key == a.deviceKey {
				disk.CapacityInKB = capacityMb * 1024
				disk.CapacityInBytes = capacityMb * 1024 * 1024
			}
		}
		simulator.Map.Update(vm, []vim25types.PropertyChange{{Name: "config.hardware.device", Val: vm.Config.Hardware.Device}})
	})
}

// freeUnit: the first free unit (0-15, 7 is the controller's own) on the
// SCSI controllers in bus order.
func freeUnit(devices object.VirtualDeviceList) (*vim25types.VirtualSCSIController, int32, bool) {
	var controllers []*vim25types.VirtualSCSIController
	for _, d := range devices {
		if c, ok := d.(vim25types.BaseVirtualSCSIController); ok {
			controllers = append(controllers, c.GetVirtualSCSIController())
		}
	}
	sort.Slice(controllers, func(i, j int) bool { return controllers[i].BusNumber < controllers[j].BusNumber })
	for _, c := range controllers {
		used := map[int32]bool{7: true}
		for _, d := range devices {
			base := d.GetVirtualDevice()
			if base.ControllerKey == c.Key && base.UnitNumber != nil {
				used[*base.UnitNumber] = true
			}
		}
		for unit := int32(0); unit < 16; unit++ {
			if !used[unit] {
				return c, unit, true
			}
		}
	}
	return nil, 0, false
}

func without(keys []int32, key int32) []int32 {
	out := keys[:0]
	for _, k := range keys {
		if k != key {
			out = append(out, k)
		}
	}
	return out
}

// prepareNodeVms gives every VM the PVSCSI controllers a CSI node VM has.
func prepareNodeVms() error {
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		devices := object.VirtualDeviceList(vm.Config.Hardware.Device)
		for len(devices.SelectByType((*vim25types.VirtualSCSIController)(nil))) < scsiControllersPerVm {
			c, err := devices.CreateSCSIController("pvscsi")
			if err != nil {
				return err
			}
			base := c.GetVirtualDevice()
			base.Key = -base.Key
			for devices.FindByKey(base.Key) != nil {
				base.Key++
			}
			devices = append(devices, c)
		}
		vm.Config.Hardware.Device = devices
	}
	return nil
}
