// Test hooks for the CNS manager, served under /debug/cns/ beside the
// request recorder's /debug/ API:
//   GET  /debug/cns/volumes                  {"volumes": n, "attached": n}
//   POST /debug/cns/timing?queue=D&run=D     task timing (Go durations: "0", "5ms", "1s")
//   POST /debug/cns/fail?method=M&fault=F[&property=P][&count=N]
//        the next N (default 1) tasks of method M fail with fault F
//        (InvalidArgument, InvalidRequest, NotFound, ResourceInUse, CnsFault),
//        as vCenter refuses a request; nothing is changed by those tasks.
package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	cnstypes "github.com/vmware/govmomi/cns/types"
	vim25types "github.com/vmware/govmomi/vim25/types"
)

type injectedFault struct {
	fault    string
	property string
}

type faultInjector struct {
	mu      sync.Mutex
	pending map[string][]injectedFault
}

func newFaultInjector() *faultInjector {
	return &faultInjector{pending: map[string][]injectedFault{}}
}

// take returns the fault to fail this task of method with, if one is queued.
func (f *faultInjector) take(method string) (vim25types.BaseMethodFault, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := f.pending[method]
	if len(q) == 0 {
		return nil, ""
	}
	f.pending[method] = q[1:]
	next := q[0]
	msg := "injected by the simulator's /debug/cns/fail"
	switch next.fault {
	case "InvalidArgument":
		return &vim25types.InvalidArgument{InvalidProperty: next.property}, msg
	case "InvalidRequest":
		return &vim25types.InvalidRequest{}, msg
	case "NotFound":
		return &vim25types.NotFound{}, msg
	case "ResourceInUse":
		return &vim25types.ResourceInUse{Name: next.property}, msg
	case "MethodNotFound":
		// A vCenter (or another implementation) that reports a missing method as a failed task.
		return &vim25types.MethodNotFound{Method: next.property}, msg
	default:
		return &cnstypes.CnsFault{Reason: msg}, msg
	}
}

func (m *CnsVolumeManager) serveDebug(w http.ResponseWriter, req *http.Request) bool {
	q := req.URL.Query()
	switch req.URL.Path {
	case "/debug/cns/volumes":
		m.mu.RLock()
		out, _ := json.Marshal(map[string]int{"volumes": len(m.volumes), "attached": len(m.attachments)})
		m.mu.RUnlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	case "/debug/cns/timing":
		queue, err1 := time.ParseDuration(orDefault(q.Get("queue"), "0"))
		run, err2 := time.ParseDuration(orDefault(q.Get("run"), "0"))
		if err1 != nil || err2 != nil {
			http.Error(w, "queue and run must be Go durations such as 5ms", http.StatusBadRequest)
			return true
		}
		m.tasks.setTiming(queue, run)
		w.WriteHeader(http.StatusNoContent)
	case "/debug/cns/fail":
		count, err := strconv.Atoi(orDefault(q.Get("count"), "1"))
		if err != nil || q.Get("method") == "" || q.Get("fault") == "" {
			http.Error(w, "need method, fault and an integer count", http.StatusBadRequest)
			return true
		}
		m.faults.mu.Lock()
		for i := 0; i < count; i++ {
			m.faults.pending[q.Get("method")] = append(m.faults.pending[q.Get("method")], injectedFault{fault: q.Get("fault"), property: q.Get("property")})
		}
		m.faults.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		for _, route := range extraDebugRoutes {
			if route(m, w, req) {
				return true
			}
		}
		return false
	}
	return true
}

// extraDebugRoutes are /debug/cns/ hooks defined in other files (cns_health.go, ...),
// each answering true when it served the request.
var extraDebugRoutes []func(m *CnsVolumeManager, w http.ResponseWriter, req *http.Request) bool

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
