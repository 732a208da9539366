// Command vcsim serves VMware's vCenter simulator (govmomi/simulator) with the
// CNS, PBM and vAPI endpoints registered, for the tests, demo and benchmarks
// of vsphere-csi. It prints one JSON line {"url": ...} on stdout once it
// accepts connections and exits on SIGTERM/SIGINT.
//
// Beside the simulator it serves a small /debug/ API used by tests:
//   GET  /debug/requests         counts of requests (and response bytes) by SOAP method / REST path
//   POST /debug/requests/reset   zero the counters and drop recorded bodies
//   GET  /debug/bodies           recorded request bodies (only with -record)
//   POST /debug/hang?on=1|0      make every non-debug request hang (fault injection)
//   /debug/cns/...               CNS hooks (cns_debug.go)
//
// It is stricter than govmomi 0.24.2's own simulator, to behave as vCenter
// does (docs/vsphere-client.md, "Simulator rules"): our CNS volume manager
// (cns_*.go) replaces govmomi's; the advertised vCenter version is settable;
// node VMs carry four PVSCSI controllers; and property-collector updates are
// sent within -update-interval instead of 0.24.2's fixed 250 ms batching
// (build-time overlay of property_collector.go, see src/harness/vcsim-build.ts).
package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"net/http"
	_ "net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"sync"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/vpx"

	_ "github.com/vmware/govmomi/pbm/simulator"
	_ "github.com/vmware/govmomi/vapi/simulator"
)

var soapMethod = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?Body[^>]*>\s*<(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)`)

type recorder struct {
	mu       sync.Mutex
	counts   map[string]int
	bytes    map[string]int64 // response bytes by the same keys
	total    int
	bodies   []string
	record   bool
	hang     bool
	hangCond *sync.Cond
	next     http.Handler
	cns      *CnsVolumeManager
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if strings.HasPrefix(req.URL.Path, "/debug/cns/") && r.cns.serveDebug(w, req) {
		return
	}
	if strings.HasPrefix(req.URL.Path, "/debug/pprof/") {
		http.DefaultServeMux.ServeHTTP(w, req) // Go's profiler, for finding where simulator time goes
		return
	}
	switch req.URL.Path {
	case "/debug/requests":
		r.mu.Lock()
		out, _ := json.Marshal(map[string]interface{}{"total": r.total, "byMethod": r.counts, "bytesByMethod": r.bytes})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
		return
	case "/debug/requests/reset":
		r.mu.Lock()
		r.counts = map[string]int{}
		r.bytes = map[string]int64{}
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
	counter := &countingWriter{ResponseWriter: w}
	r.next.ServeHTTP(counter, req)
	r.mu.Lock()
	r.bytes[key] += counter.n
	r.mu.Unlock()
}

// countingWriter counts the response bytes of one request (for /debug/requests "bytesByMethod").
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
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
	version := flag.String("version", "8.0.3", "vCenter version advertised in about.version (e.g. 6.7.3, 7.0.2, 7.0.3, 8.0.3)")
	apiVersion := flag.String("api-version", "", "about.apiVersion (default: derived from -version, e.g. 8.0.3 -> 8.0.3.0)")
	queueDelay := flag.Duration("cns-queue-delay", 2*time.Millisecond, "how long a CNS task stays queued before it runs")
	runTime := flag.Duration("cns-run-time", 3*time.Millisecond, "how long a CNS task stays running before its work is applied")
	updateInterval := flag.Duration("update-interval", 2*time.Millisecond, "how often WaitForUpdatesEx checks for changes (govmomi 0.24.2: 250ms)")
	verbose := flag.Bool("verbose", false, "keep the simulator's own log lines (one per property-collector update) on stderr")
	flag.Parse()
	if !*verbose {
		log.SetOutput(ioutil.Discard)
	}

	setVersion(*version, *apiVersion)
	simulator.WaitForUpdatesInterval = *updateInterval
	cnsManager := newCnsManager(cnsOptions{queueDelay: *queueDelay, runTime: *runTime})
	registerCns(cnsManager)

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
	if err := prepareNodeVms(); err != nil {
		fmt.Fprintln(os.Stderr, "vcsim: prepare VMs:", err)
		os.Exit(1)
	}

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
	rec := &recorder{counts: map[string]int{}, bytes: map[string]int64{}, record: *record, next: server.Config.Handler, cns: cnsManager}
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

// setVersion makes the simulator advertise a vCenter version (0.24.2 says 6.5).
func setVersion(version, apiVersion string) {
	if apiVersion == "" {
		apiVersion = version
		if strings.Count(version, ".") == 2 && !strings.HasPrefix(version, "6.") {
			apiVersion = version + ".0"
		}
	}
	about := &vpx.ServiceContent.About
	about.Version = version
	about.ApiVersion = apiVersion
	about.FullName = fmt.Sprintf("VMware vCenter Server %s build-vcsim", version)
	about.Build = "vcsim"
}
