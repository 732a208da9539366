// Volume health, as a test hook. vCenter sets a CNS volume's healthStatus
// itself (from vSAN / SPBM object health: green, yellow, red, unknown); a
// test cannot make a datastore fail, so it sets the status directly:
//   POST /debug/cns/health?volume=ID&status=green|yellow|red|unknown
// CnsQueryVolume and CnsQueryAllVolume then report it in healthStatus.
// 404 when CNS has no such volume.
package main

import (
	"net/http"

	pbmtypes "github.com/vmware/govmomi/pbm/types"
)

func init() {
	extraDebugRoutes = append(extraDebugRoutes, serveHealthDebug)
}

var healthStatuses = map[string]bool{
	string(pbmtypes.PbmHealthStatusForEntityGreen):   true,
	string(pbmtypes.PbmHealthStatusForEntityYellow):  true,
	string(pbmtypes.PbmHealthStatusForEntityRed):     true,
	string(pbmtypes.PbmHealthStatusForEntityUnknown): true,
}

func serveHealthDebug(m *CnsVolumeManager, w http.ResponseWriter, req *http.Request) bool {
	if req.URL.Path != "/debug/cns/health" {
		return false
	}
	id, status := req.URL.Query().Get("volume"), req.URL.Query().Get("status")
	if id == "" || !healthStatuses[status] {
		http.Error(w, "need volume=<id> and status=green|yellow|red|unknown", http.StatusBadRequest)
		return true
	}
	m.Lock()
	defer m.Unlock()
	v, ok := m.volumes[id]
	if !ok {
		http.Error(w, "CNS has no volume "+id, http.StatusNotFound)
		return true
	}
	v.info.HealthStatus = status
	w.WriteHeader(http.StatusNoContent)
	return true
}
