// Storage policy compatibility. 0.24.2's PbmCheckRequirements answers every
// datastore compatible with every policy and ignores hubsToSearch; vCenter
// answers per hub, with an error for a hub the policy's rules do not match
// (PbmPlacementCompatibilityResult.error), and only for the hubs asked about.
// Which datastores a policy matches is set by a test hook
// (/debug/storage/compatible, as an admin writes a tag-based rule); a policy
// without one matches every datastore. CnsReconfigVolumePolicy and
// CnsRelocateVolume consult the same table (cns_modify.go).
package main

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/vmware/govmomi/pbm"
	pbmmethods "github.com/vmware/govmomi/pbm/methods"
	pbmsim "github.com/vmware/govmomi/pbm/simulator"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

var compatibility = struct {
	sync.Mutex
	byProfile map[string]map[string]bool // profile id → datastore moref values it matches
}{byProfile: map[string]map[string]bool{}}

// setCompatible restricts a policy to these datastores; nil lifts the restriction.
func setCompatible(profileID string, datastores []string) {
	compatibility.Lock()
	defer compatibility.Unlock()
	if datastores == nil {
		delete(compatibility.byProfile, profileID)
		return
	}
	set := map[string]bool{}
	for _, d := range datastores {
		set[d] = true
	}
	compatibility.byProfile[profileID] = set
}

func compatible(profileID, datastore string) bool {
	compatibility.Lock()
	defer compatibility.Unlock()
	set, restricted := compatibility.byProfile[profileID]
	return !restricted || set[datastore]
}

// profileExists asks 0.24.2's profile manager, which holds the policies (built in and PbmCreate'd).
func profileExists(profileID string) bool {
	body := (&pbmsim.ProfileManager{}).PbmRetrieveContent(&pbmtypes.PbmRetrieveContent{ProfileIds: []pbmtypes.PbmProfileId{{UniqueId: profileID}}})
	return body.Fault() == nil
}

type placementSolver struct {
	vim25types.ManagedObjectReference
}

func (s *placementSolver) PbmCheckRequirements(req *pbmtypes.PbmCheckRequirements) soap.HasFault {
	var profiles []string
	for _, r := range req.PlacementSubjectRequirement {
		if p, ok := r.(*pbmtypes.PbmPlacementCapabilityProfileRequirement); ok {
			profiles = append(profiles, p.ProfileId.UniqueId)
		}
	}
	hubs := req.HubsToSearch
	if len(hubs) == 0 {
		for _, e := range simulator.Map.All("Datastore") {
			hubs = append(hubs, pbmtypes.PbmPlacementHub{HubType: "Datastore", HubId: e.Reference().Value})
		}
	}
	res := &pbmtypes.PbmCheckRequirementsResponse{}
	for _, hub := range hubs {
		result := pbmtypes.PbmPlacementCompatibilityResult{Hub: hub}
		for _, id := range profiles {
			if !compatible(id, hub.HubId) {
				result.Error = append(result.Error, vim25types.LocalizedMethodFault{
					Fault:            &pbmtypes.PbmCompatibilityCheckFault{Hub: hub},
					LocalizedMessage: fmt.Sprintf("datastore %s does not satisfy the rules of storage policy %s", hub.HubId, id),
				})
			}
		}
		res.Returnval = append(res.Returnval, result)
	}
	return &pbmmethods.PbmCheckRequirementsBody{Res: res}
}

// sdkRegistry is the registry the simulator serves at path (Service.sdk is
// unexported in 0.24.2; the PBM registry is created inside its init).
func sdkRegistry(s *simulator.Service, path string) *simulator.Registry {
	f := reflect.ValueOf(s).Elem().FieldByName("sdk")
	return (*(*map[string]*simulator.Registry)(unsafe.Pointer(f.UnsafeAddr())))[path]
}

// init runs after pbm/simulator's own init (imported packages first), so
// this endpoint runs after PBM's registry exists and replaces its solver.
func init() {
	simulator.RegisterEndpoint(func(s *simulator.Service, r *simulator.Registry) {
		if !r.IsVPX() {
			return
		}
		if reg := sdkRegistry(s, pbm.Path); reg != nil {
			reg.Put(&placementSolver{ManagedObjectReference: vim25types.ManagedObjectReference{Type: "PbmPlacementSolver", Value: "placementSolver"}})
		}
		registerStorageDebug(s)
	})
}
