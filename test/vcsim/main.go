// Command vcsim serves VMware's vCenter simulator (govmomi/simulator) with the
// CNS, PBM and vAPI endpoints registered, for the tests, demo and benchmarks
// of vsphere-csi. It prints one JSON line {"url": ...} on stdout once it
// accepts connections and exits on SIGTERM/SIGINT.
//
// Beside the simulator it serves a small /debug/ API used by tests:
//   GET  /debug/requests         counts of requests by SOAP method / REST path
//   POST /debug/requests/reset   zero the counters and drop recorded bodies
//   GET  /debug/bodies           recorded request bodies (only with -record)
//   POST /debug/hang?on=1|0      make every non-debug request hang (fault injection)
package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"syscall"

	"github.com/vmware/govmomi/simulator"

	_ "github.com/vmware/govmomi/cns/simulator"
	_ "github.com/vmware/govmomi/pbm/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

var soapMethod = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?Body[^>]*>\s*<(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)`)

type recorder struct {
	mu       sync.Mutex
	counts   map[string]int
	total    int
	bodies   []string
	record   bool
	hang     bool
	hangCond *sync.Cond
	next     http.Handler
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case "/debug/requests":
		r.mu.Lock()
		out, _ := json.Marshal(map[string]interface{}{"total": r.total, "byMethod": r.counts})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return
	case "/debug/requests/reset":
		r.mu.Lock()
		r.counts = map[string]int{}
		r.total = 0
		r.bodies = nil
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	case "/debug/bodies":
		r.mu.Lock()
		out, _ := json.Marshal(r.bodies)
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return
	case "/debug/hang":
		r.mu.Lock()
		r.hang = req.URL.Query().Get("on") == "1"
		r.hangCond.Broadcast()
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	}

	body, err := ioutil.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = ioutil.NopCloser(bytes.NewReader(body))

	key := req.Method + " " + req.URL.Path
	if m := soapMethod.FindSubmatch(body); m != nil {
		key = req.URL.Path + " " + string(m[1])
	}
	r.mu.Lock()
	r.total++
	r.counts[key]++
	if r.record && len(r.bodies) < 100000 {
		r.bodies = append(r.bodies, string(body))
	}
	for r.hang {
		r.hangCond.Wait()
	}
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	username := flag.String("username", "user", "login user name")
	password := flag.String("password", "pass", "login password")
	certFile := flag.String("tls-cert", "", "PEM certificate; with -tls-key serves HTTPS with it (default: the simulator's built-in cert)")
	keyFile := flag.String("tls-key", "", "PEM private key for -tls-cert")
	plain := flag.Bool("http", false, "serve plain HTTP instead of HTTPS")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	host := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vm := flag.Int("vm", 2, "VMs per resource pool")
	ds := flag.Int("ds", 1, "datastores (mounted on every host)")
	record := flag.Bool("record", false, "record request bodies for /debug/bodies")
	flag.Parse()

	model := simulator.VPX()
	model.Datacenter = *dc
	model.Cluster = *cluster
	model.ClusterHost = *host
	model.Host = *standalone
	model.Machine = *vm
	model.Datastore = *ds
	if err := model.Create(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim: create model:", err)
		os.Exit(1)
	}
	defer model.Remove()

	model.Service.RegisterEndpoints = true
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*username, *password)}
	if !*plain {
		model.Service.TLS = new(tls.Config)
		if *certFile != "" {
			cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				fmt.Fprintln(os.Stderr, "vcsim: load certificate:", err)
				os.Exit(1)
			}
			model.Service.TLS.Certificates = []tls.Certificate{cert}
		}
	}

	server := model.Service.NewServer()
	rec := &recorder{counts: map[string]int{}, record: *record, next: server.Config.Handler}
	rec.hangCond = sync.NewCond(&rec.mu)
	// Swapped before the URL is announced, so no request has been served yet.
	server.Config.Handler = rec

	u := *server.URL
	u.User = nil
	line, _ := json.Marshal(map[string]string{"url": u.String(), "host": u.Host})
	fmt.Println(string(line))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	rec.mu.Lock()
	rec.hang = false
	rec.hangCond.Broadcast()
	rec.mu.Unlock()
	server.CloseClientConnections()
	server.Close()
}
