// CnsCreateVolume, CnsDeleteVolume, CnsExtendVolume, CnsUpdateVolumeMetadata.
// A volume is a first-class disk: a real .vmdk file under [ds] fcd/<id>.vmdk
// whose id is the CNS volume id. CNS makes it itself (no separate vim25 task
// per volume, which would double the task traffic every property collector
// sees); an FCD made through the simulator's VcenterVStorageObjectManager
// (vim25 CreateDisk_Task) can be registered into CNS (static provisioning).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/google/uuid"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

const maxVolumeNameBytes = 80 // vSAN Management API, CnsVolumeCreateSpec.name

// CnsCreateVolume is in cns_snapshots.go: its request type also reads a
// create spec's volumeSource (a restore), which 0.24.2's lacks.

// createOne makes the volume of one create spec; restoredMb > 0 is a restore
// (cns_snapshots.go): the volume gets the snapshot's size, whatever the spec says.
func (m *CnsVolumeManager) createOne(spec *cnstypes.CnsVolumeCreateSpec, restoredMb int64) *cnstypes.CnsVolumeCreateResult {
	failed := func(fault vim25types.BaseMethodFault, msg string) *cnstypes.CnsVolumeCreateResult {
		return &cnstypes.CnsVolumeCreateResult{Name: spec.Name, CnsVolumeOperationResult: *opResult("", fault, msg)}
	}
	switch {
	case spec.Name == "" || len(spec.Name) > maxVolumeNameBytes:
		return failed(&vim25types.InvalidArgument{InvalidProperty: "name"}, fmt.Sprintf("volume name must be 1 to %d bytes", maxVolumeNameBytes))
	case spec.VolumeType != string(cnstypes.CnsVolumeTypeBlock):
		return failed(&vim25types.NotSupported{}, fmt.Sprintf("volume type %q is not supported here: only BLOCK", spec.VolumeType))
	}
	block, _ := spec.BackingObjectDetails.(*cnstypes.CnsBlockBackingDetails)
	if block == nil {
		return failed(&vim25types.InvalidArgument{InvalidProperty: "backingObjectDetails"}, "a BLOCK volume needs CnsBlockBackingDetails")
	}
	if block.BackingDiskId != "" && restoredMb == 0 {
		return m.registerExisting(spec, block)
	}
	capacityMb := block.CapacityInMb
	if restoredMb > 0 {
		capacityMb = restoredMb
	}
	if capacityMb <= 0 {
		return failed(&vim25types.InvalidArgument{InvalidProperty: "capacityInMb"}, "capacityInMb must be positive")
	}
	if len(spec.Datastores) == 0 {
		return failed(&vim25types.InvalidArgument{InvalidProperty: "datastores"}, "a dynamically provisioned volume needs at least one datastore")
	}
	// Several candidates: vCenter picks one (the API reference: "based on
	// various factors like available free space"); we take the emptiest.
	var ds *simulator.Datastore
	for _, dsRef := range spec.Datastores {
		d, ok := vimObject(dsRef).(*simulator.Datastore)
		if !ok {
			return failed(&vim25types.ManagedObjectNotFound{Obj: dsRef}, fmt.Sprintf("datastore %s does not exist", dsRef.Value))
		}
		if ds == nil || d.Summary.FreeSpace > ds.Summary.FreeSpace {
			ds = d
		}
	}
	id, path, fault := createDiskFile(ds)
	if fault != nil {
		return failed(fault, "creating the volume's disk failed")
	}
	v := m.record(spec, id, path, ds, capacityMb)
	return &cnstypes.CnsVolumeCreateResult{
		Name:                     spec.Name,
		CnsVolumeOperationResult: cnstypes.CnsVolumeOperationResult{VolumeId: v.info.VolumeId},
		PlacementResults:         []cnstypes.CnsPlacementResult{{Datastore: ds.Self}},
	}
}

// registerExisting is static provisioning: CNS adopts an existing FCD.
func (m *CnsVolumeManager) registerExisting(spec *cnstypes.CnsVolumeCreateSpec, block *cnstypes.CnsBlockBackingDetails) *cnstypes.CnsVolumeCreateResult {
	id := block.BackingDiskId
	if _, ok := m.volumes[id]; ok {
		return &cnstypes.CnsVolumeCreateResult{
			Name: spec.Name,
			CnsVolumeOperationResult: *opResult(id, &cnstypes.CnsAlreadyRegisteredFault{VolumeId: cnstypes.CnsVolumeId{Id: id}},
				fmt.Sprintf("disk %s is already registered as a CNS volume", id)),
		}
	}
	fcd, ds := findDisk(id)
	if fcd == nil {
		return &cnstypes.CnsVolumeCreateResult{Name: spec.Name, CnsVolumeOperationResult: *opResult("", &vim25types.NotFound{}, fmt.Sprintf("no first-class disk %s", id))}
	}
	path := ""
	if backing, ok := fcd.Config.Backing.(*vim25types.BaseConfigInfoDiskFileBackingInfo); ok {
		path = backing.FilePath
	}
	v := m.record(spec, id, path, ds, fcd.Config.CapacityInMB)
	v.registered = true
	return &cnstypes.CnsVolumeCreateResult{Name: spec.Name, CnsVolumeOperationResult: cnstypes.CnsVolumeOperationResult{VolumeId: v.info.VolumeId}}
}

func (m *CnsVolumeManager) record(spec *cnstypes.CnsVolumeCreateSpec, id, path string, ds *simulator.Datastore, capacityMb int64) *cnsVolume {
	policyID := ""
	for _, p := range spec.Profile {
		if d, ok := p.(*vim25types.VirtualMachineDefinedProfileSpec); ok {
			policyID = d.ProfileId
		}
	}
	m.nextSeq++
	v := &cnsVolume{
		datastore: ds.Self,
		diskPath:  path,
		seq:       m.nextSeq,
		info: cnstypes.CnsVolume{
			VolumeId:     cnstypes.CnsVolumeId{Id: id},
			DatastoreUrl: ds.Info.GetDatastoreInfo().Url,
			Name:         spec.Name,
			VolumeType:   spec.VolumeType,
			Metadata:     spec.Metadata,
			BackingObjectDetails: &cnstypes.CnsBlockBackingDetails{
				CnsBackingObjectDetails: cnstypes.CnsBackingObjectDetails{CapacityInMb: capacityMb},
				BackingDiskId:           id,
				BackingDiskUrlPath:      path,
			},
			StoragePolicyId:              policyID,
			ComplianceStatus:             "compliant",
			DatastoreAccessibilityStatus: "accessible",
			HealthStatus:                 string(pbmtypes.PbmHealthStatusForEntityGreen),
		},
	}
	m.add(v)
	return v
}

func (m *CnsVolumeManager) CnsDeleteVolume(req *cnstypes.CnsDeleteVolume) soap.HasFault {
	ref := m.oneSpecTask("CnsDeleteVolume", len(req.VolumeIds), func() cnstypes.BaseCnsVolumeOperationResult {
		return m.deleteOne(req.VolumeIds[0].Id, req.DeleteDisk)
	})
	return &cnsmethods.CnsDeleteVolumeBody{Res: &cnstypes.CnsDeleteVolumeResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) deleteOne(id string, deleteDisk bool) *cnstypes.CnsVolumeOperationResult {
	v, ok := m.volumes[id]
	if !ok {
		return opResult(id, notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	if a, attached := m.attachments[id]; attached {
		// vCenter refuses to delete a disk that a VM uses.
		return opResult(id, &vim25types.ResourceInUse{Type: "VirtualMachine", Name: a.vm.Value}, fmt.Sprintf("volume %s is attached to %s", id, a.vm.Value))
	}
	if refused := hasSnapshots(v, "deleted"); refused != nil {
		return refused
	}
	if deleteDisk {
		if fault := deleteDiskOf(v); fault != nil {
			return opResult(id, fault, "deleting the volume's disk failed")
		}
	}
	m.remove(v)
	return opResult(id, nil, "")
}

func (m *CnsVolumeManager) CnsExtendVolume(req *cnstypes.CnsExtendVolume) soap.HasFault {
	ref := m.oneSpecTask("CnsExtendVolume", len(req.ExtendSpecs), func() cnstypes.BaseCnsVolumeOperationResult {
		return m.extendOne(req.ExtendSpecs[0])
	})
	return &cnsmethods.CnsExtendVolumeBody{Res: &cnstypes.CnsExtendVolumeResponse{Returnval: ref}}
}

func (m *CnsVolumeManager) extendOne(spec cnstypes.CnsVolumeExtendSpec) *cnstypes.CnsVolumeOperationResult {
	id := spec.VolumeId.Id
	v, ok := m.volumes[id]
	if !ok {
		return opResult(id, notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	if refused := hasSnapshots(v, "extended"); refused != nil {
		return refused
	}
	details := v.info.BackingObjectDetails.(*cnstypes.CnsBlockBackingDetails)
	if spec.CapacityInMb < details.CapacityInMb {
		return opResult(id, &vim25types.InvalidArgument{InvalidProperty: "capacityInMb"},
			fmt.Sprintf("volume %s has %d MB; shrinking to %d MB is not supported", id, details.CapacityInMb, spec.CapacityInMb))
	}
	details.CapacityInMb = spec.CapacityInMb
	if a, attached := m.attachments[id]; attached {
		resizeDevice(a, spec.CapacityInMb)
	}
	return opResult(id, nil, "")
}

func (m *CnsVolumeManager) CnsUpdateVolumeMetadata(req *cnstypes.CnsUpdateVolumeMetadata) soap.HasFault {
	ref := m.manySpecTask("CnsUpdateVolumeMetadata", "updateSpecs", len(req.UpdateSpecs), func(i int) cnstypes.BaseCnsVolumeOperationResult {
		return m.updateOne(req.UpdateSpecs[i])
	})
	return &cnsmethods.CnsUpdateVolumeBody{Res: &cnstypes.CnsUpdateVolumeMetadataResponse{Returnval: ref}}
}

// updateOne merges entity metadata as vCenter does: an entity marked delete
// is removed, any other replaces the entity with the same identity.
func (m *CnsVolumeManager) updateOne(spec cnstypes.CnsVolumeMetadataUpdateSpec) *cnstypes.CnsVolumeOperationResult {
	id := spec.VolumeId.Id
	v, ok := m.volumes[id]
	if !ok {
		return opResult(id, notFound(id), fmt.Sprintf("CNS has no volume %s", id))
	}
	md := &v.info.Metadata
	if spec.Metadata.ContainerCluster.ClusterId != "" {
		md.ContainerCluster = spec.Metadata.ContainerCluster
	}
	for _, e := range spec.Metadata.EntityMetadata {
		key := entityKey(e)
		kept := md.EntityMetadata[:0]
		for _, old := range md.EntityMetadata {
			if entityKey(old) != key {
				kept = append(kept, old)
			}
		}
		md.EntityMetadata = kept
		if !e.GetCnsEntityMetadata().Delete {
			md.EntityMetadata = append(md.EntityMetadata, e)
		}
	}
	return opResult(id, nil, "")
}

func entityKey(e cnstypes.BaseCnsEntityMetadata) string {
	base := e.GetCnsEntityMetadata()
	if k, ok := e.(*cnstypes.CnsKubernetesEntityMetadata); ok {
		return k.EntityType + "/" + k.Namespace + "/" + base.EntityName + "@" + base.ClusterID
	}
	return "/" + base.EntityName + "@" + base.ClusterID
}

func vsom() *simulator.VcenterVStorageObjectManager {
	content := simulator.Map.Get(vim25types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}).(*simulator.ServiceInstance).Content
	return simulator.Map.Get(*content.VStorageObjectManager).(*simulator.VcenterVStorageObjectManager)
}

// createDiskFile makes the volume's disk file, [ds] fcd/<id>.vmdk, in the
// datastore's directory, as the simulator keeps every datastore on disk.
func createDiskFile(ds *simulator.Datastore) (string, string, vim25types.BaseMethodFault) {
	id := uuid.New().String()
	dir := filepath.Join(ds.Info.GetDatastoreInfo().Url, "fcd")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", "", &vim25types.CannotCreateFile{FileFault: vim25types.FileFault{File: dir}}
	}
	f, err := os.Create(filepath.Join(dir, id+".vmdk"))
	if err != nil {
		return "", "", &vim25types.CannotCreateFile{FileFault: vim25types.FileFault{File: id + ".vmdk"}}
	}
	_ = f.Close()
	return id, fmt.Sprintf("[%s] fcd/%s.vmdk", ds.Name, id), nil
}

// deleteDiskOf removes the volume's disk: through the FCD catalog for a
// registered FCD, else its file.
func deleteDiskOf(v *cnsVolume) vim25types.BaseMethodFault {
	if !v.registered {
		ds, ok := vimObject(v.datastore).(*simulator.Datastore)
		if ok {
			_ = os.Remove(filepath.Join(ds.Info.GetDatastoreInfo().Url, "fcd", v.info.VolumeId.Id+".vmdk"))
		}
		return nil
	}
	mgr := vsom()
	var body soap.HasFault
	simulator.Map.WithLock(mgr, func() {
		body = mgr.DeleteVStorageObjectTask(&vim25types.DeleteVStorageObject_Task{This: mgr.Self, Id: vim25types.ID{Id: v.info.VolumeId.Id}, Datastore: v.datastore})
	})
	task := simulator.Map.Get(body.(*methods.DeleteVStorageObject_TaskBody).Res.Returnval).(*simulator.Task)
	if task.Info.Error != nil {
		if _, gone := task.Info.Error.Fault.(*vim25types.InvalidArgument); gone {
			return nil // the disk is already gone: nothing left to delete
		}
		return task.Info.Error.Fault
	}
	return nil
}

// findDisk looks an FCD up by id on every datastore.
func findDisk(id string) (*vim25types.VStorageObject, *simulator.Datastore) {
	mgr := vsom()
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		var body soap.HasFault
		simulator.Map.WithLock(mgr, func() {
			body = mgr.RetrieveVStorageObject(internalContext(), &vim25types.RetrieveVStorageObject{This: mgr.Self, Id: vim25types.ID{Id: id}, Datastore: ds.Self})
		})
		if res, ok := body.(*methods.RetrieveVStorageObjectBody); ok && res.Res != nil {
			obj := res.Res.Returnval
			return &obj, ds
		}
	}
	return nil, nil
}
