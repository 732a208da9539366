// Test hooks for storage state vCenter changes by means the simulator lacks,
// served under /debug/storage/ on the simulator's own mux (so the request
// recorder counts them like any request: call them before counting):
//   POST /debug/storage/compatible?profile=ID&datastores=ds-1,ds-2
//        storage policy ID now matches only those datastores (as a tag-based
//        rule would); without the datastores parameter it matches all again
//   POST /debug/storage/datastore?name=N[&freeSpace=BYTES][&maintenance=MODE]
//        set a datastore's summary.freeSpace (volumes are thin and use none
//        here) and summary.maintenanceMode (normal, enteringMaintenance,
//        inMaintenance: DatastoreEnterMaintenanceMode is not in 0.24.2)
//   POST /debug/storage/relocate-time?d=DURATION
//        how much longer than other CNS tasks a relocation takes from now on
package main

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vmware/govmomi/simulator"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

func registerStorageDebug(s *simulator.Service) {
	s.ServeMux.HandleFunc("/debug/storage/", serveStorageDebug)
}

func serveStorageDebug(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	switch req.URL.Path {
	case "/debug/storage/compatible":
		if q.Get("profile") == "" {
			http.Error(w, "need profile", http.StatusBadRequest)
			return
		}
		var datastores []string
		if _, given := q["datastores"]; given {
			datastores = []string{}
			for _, d := range strings.Split(q.Get("datastores"), ",") {
				if d != "" {
					datastores = append(datastores, d)
				}
			}
		}
		setCompatible(q.Get("profile"), datastores)
	case "/debug/storage/datastore":
		if !setDatastoreSummary(q.Get("name"), q.Get("freeSpace"), q.Get("maintenance")) {
			http.Error(w, "need the name of an existing datastore, an integer freeSpace and a known maintenance mode", http.StatusBadRequest)
			return
		}
	case "/debug/storage/relocate-time":
		d, err := time.ParseDuration(q.Get("d"))
		if err != nil {
			http.Error(w, "d must be a Go duration such as 2s", http.StatusBadRequest)
			return
		}
		setRelocateTime(d)
	default:
		http.NotFound(w, req)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func setDatastoreSummary(name, freeSpace, maintenance string) bool {
	var changes []vim25types.PropertyChange
	if freeSpace != "" {
		n, err := strconv.ParseInt(freeSpace, 10, 64)
		if err != nil || n < 0 {
			return false
		}
		changes = append(changes, vim25types.PropertyChange{Name: "summary.freeSpace", Val: n})
	}
	if maintenance != "" {
		switch vim25types.DatastoreSummaryMaintenanceModeState(maintenance) {
		case vim25types.DatastoreSummaryMaintenanceModeStateNormal, vim25types.DatastoreSummaryMaintenanceModeStateEnteringMaintenance, vim25types.DatastoreSummaryMaintenanceModeStateInMaintenance:
		default:
			return false
		}
		changes = append(changes, vim25types.PropertyChange{Name: "summary.maintenanceMode", Val: maintenance})
	}
	for _, e := range simulator.Map.All("Datastore") {
		ds := e.(*simulator.Datastore)
		if ds.Name == name {
			simulator.Map.WithLock(ds, func() { simulator.Map.Update(ds, changes) })
			return true
		}
	}
	return false
}
