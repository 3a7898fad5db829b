// supervisor.go: `pacer-testenv up`. Prepares DIR (certificates, kubeconfigs, ports), starts
// the etcd and apiserver children, waits until the API server is ready, reports READY, and
// then restarts or stops children on request (control socket or signals) until told to
// shut down or until its parent process exits.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// state is what a test needs to find and drive the environment; written to DIR/ready.json.
type state struct {
	Dir           string            `json:"dir"`
	Server        string            `json:"server"`
	Kubeconfigs   map[string]string `json:"kubeconfigs"`
	Identities    []identity        `json:"identities"`
	ControlSocket string            `json:"controlSocket"`
	SupervisorPID int               `json:"supervisorPid"`
	EtcdPID       int               `json:"etcdPid"`
	APIServerPID  int               `json:"apiserverPid"`
	EtcdURL       string            `json:"etcdUrl"`
	APIPort       int               `json:"apiPort"`
	EtcdPort      int               `json:"etcdPort"`
	EtcdPeerPort  int               `json:"etcdPeerPort"`
	StartupMillis int64             `json:"startupMillis"`
}

type child struct {
	name string
	args []string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

type supervisor struct {
	self        string
	dir         string
	st          state
	pki         *pki
	bind        string
	advertise   string
	extra       []string
	readyClient *http.Client
	timeout     time.Duration

	mu sync.Mutex
	// ready is set once both children were up: ready.json appears only then, complete.
	ready     bool
	etcd      *child
	apiserver *child
	shutdown  chan struct{}
	once      sync.Once
}

func runUp(args []string) error {
	start := time.Now()
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "state directory (certificates, kubeconfigs, etcd data, logs); created if missing")
	var agents, idents, extra stringList
	fs.Var(&agents, "agent", "node name; writes agent-NODE.kubeconfig for user pacer:agent:NODE in group pacer:agents (repeatable)")
	fs.Var(&idents, "identity", "NAME=USER[@GROUP,...]: writes NAME.kubeconfig for that client-certificate identity (repeatable)")
	fs.Var(&extra, "apiserver-arg", "extra kube-apiserver flag, e.g. --apiserver-arg=--v=2 (repeatable)")
	bind := fs.String("bind-address", "127.0.0.1", "address the API server listens on (0.0.0.0 for network-namespace hosts)")
	advertise := fs.String("advertise-address", "", "address written into kubeconfigs and the serving certificate (default: bind address, or 127.0.0.1 when binding 0.0.0.0)")
	port := fs.Int("port", 0, "API server port (0: pick a free one)")
	timeout := fs.Duration("timeout", 90*time.Second, "how long to wait for etcd and the API server to become ready")
	cleanup := fs.Bool("cleanup", false, "remove DIR when shutting down (for throw-away environments)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "pacer-testenv-")
		if err != nil {
			return err
		}
		*dir = d
	}
	absDir, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(absDir, 0o700); err != nil {
		return err
	}
	if *advertise == "" {
		*advertise = *bind
		if ip := net.ParseIP(*bind); ip == nil || ip.IsUnspecified() {
			*advertise = "127.0.0.1"
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	s := &supervisor{self: self, dir: absDir, bind: *bind, advertise: *advertise, extra: extra, timeout: *timeout, shutdown: make(chan struct{})}
	if err := s.prepare(*port, agents, idents); err != nil {
		return err
	}
	// Stop children on SIGTERM/SIGINT/SIGHUP and when our parent goes away.
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	go s.watchParent(os.Getppid())
	ln, err := s.listenControl()
	if err != nil {
		return err
	}
	defer ln.Close()

	etcdStart := time.Now()
	if err := s.start("etcd"); err != nil {
		s.stopAll()
		return err
	}
	etcdMs := time.Since(etcdStart).Milliseconds()
	apiStart := time.Now()
	if err := s.start("apiserver"); err != nil {
		s.stopAll()
		return err
	}
	apiMs := time.Since(apiStart).Milliseconds()
	s.mu.Lock()
	s.st.StartupMillis = time.Since(start).Milliseconds()
	s.ready = true
	s.mu.Unlock()
	if err := s.writeState(); err != nil {
		s.stopAll()
		return err
	}
	fmt.Fprintf(os.Stderr, "pacer-testenv: etcd ready in %d ms, kube-apiserver ready in %d ms, total start-up %d ms\n", etcdMs, apiMs, s.st.StartupMillis)
	fmt.Printf("READY kubeconfig=%s dir=%s server=%s startup_ms=%d\n", s.st.Kubeconfigs["admin"], s.dir, s.st.Server, s.st.StartupMillis)

	go s.serveControl(ln)
	s.serve(sig)
	if *cleanup {
		_ = os.RemoveAll(s.dir)
	}
	return nil
}

// serve handles signals until shutdown, then stops the children.
func (s *supervisor) serve(sig chan os.Signal) {
	defer s.stopAll()
	for {
		select {
		case <-s.shutdown:
			return
		case sg := <-sig:
			switch sg {
			case syscall.SIGUSR1:
				s.logResult("restart apiserver", s.restart("apiserver", false))
			case syscall.SIGUSR2:
				s.logResult("restart etcd", s.restart("etcd", false))
			default:
				return
			}
		}
	}
}

func (s *supervisor) logResult(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "pacer-testenv: %s: %v\n", what, err)
	} else {
		fmt.Fprintf(os.Stderr, "pacer-testenv: %s: done\n", what)
	}
}

// prepare picks ports, creates certificates and kubeconfigs. Ports and certificates are
// kept in DIR so `up` on an existing DIR serves the same address with valid kubeconfigs.
func (s *supervisor) prepare(port int, agents, idents []string) error {
	prev := state{}
	if b, err := os.ReadFile(filepath.Join(s.dir, "ports.json")); err == nil {
		_ = json.Unmarshal(b, &prev)
	}
	var err error
	apiPort := port
	if apiPort == 0 {
		apiPort = prev.APIPort
	}
	if apiPort == 0 {
		if apiPort, err = freePort(s.bind); err != nil {
			return err
		}
	}
	etcdPort, peerPort := prev.EtcdPort, prev.EtcdPeerPort
	if etcdPort == 0 {
		if etcdPort, err = freePort("127.0.0.1"); err != nil {
			return err
		}
		if peerPort, err = freePort("127.0.0.1"); err != nil {
			return err
		}
	}
	sans := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "127.0.0.1", "10.0.0.1", s.advertise}
	if ip := net.ParseIP(s.bind); ip != nil && !ip.IsUnspecified() {
		sans = append(sans, s.bind)
	}
	if s.pki, err = loadOrCreatePKI(filepath.Join(s.dir, "pki"), sans); err != nil {
		return err
	}
	s.st = state{
		Dir:           s.dir,
		Server:        "https://" + net.JoinHostPort(s.advertise, strconv.Itoa(apiPort)),
		Kubeconfigs:   map[string]string{},
		ControlSocket: filepath.Join(s.dir, "control.sock"),
		SupervisorPID: os.Getpid(),
		EtcdURL:       "http://127.0.0.1:" + strconv.Itoa(etcdPort),
		APIPort:       apiPort,
		EtcdPort:      etcdPort,
		EtcdPeerPort:  peerPort,
	}
	ports, _ := json.Marshal(state{APIPort: apiPort, EtcdPort: etcdPort, EtcdPeerPort: peerPort})
	if err := os.WriteFile(filepath.Join(s.dir, "ports.json"), ports, 0o600); err != nil {
		return err
	}
	ids := defaultIdentities()
	for _, n := range agents {
		ids = append(ids, agentIdentity(n))
	}
	for _, raw := range idents {
		id, err := parseIdentity(raw)
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		path, err := writeKubeconfig(s.pki, s.dir, s.st.Server, id)
		if err != nil {
			return err
		}
		s.st.Kubeconfigs[id.Name] = path
	}
	s.st.Identities = ids
	return s.buildReadyClient()
}

// buildReadyClient is an HTTPS client presenting the admin certificate, used to poll /readyz.
func (s *supervisor) buildReadyClient() error {
	caPEM, err := os.ReadFile(s.pki.path("ca.crt"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(s.pki.path("client-admin.crt"), s.pki.path("client-admin.key"))
	if err != nil {
		return err
	}
	s.readyClient = &http.Client{
		Timeout: 2 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
			DisableKeepAlives: true,
		},
	}
	return nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *supervisor) apiserverArgs() []string {
	p := s.pki.path
	args := []string{
		"--etcd-servers=" + s.st.EtcdURL,
		"--bind-address=" + s.bind,
		"--advertise-address=" + s.advertise,
		"--secure-port=" + strconv.Itoa(s.st.APIPort),
		"--cert-dir=" + filepath.Join(s.dir, "apiserver-certs"),
		"--tls-cert-file=" + p("apiserver.crt"),
		"--tls-private-key-file=" + p("apiserver.key"),
		"--client-ca-file=" + p("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p("sa.pub"),
		"--service-account-signing-key-file=" + p("sa.key"),
		"--api-audiences=https://kubernetes.default.svc.cluster.local",
		"--authorization-mode=RBAC",
		// As on real clusters: the node agent DaemonSet is privileged.
		"--allow-privileged=true",
		"--service-cluster-ip-range=10.0.0.0/24",
		// No kube-controller-manager runs here: no endpoints to reconcile, and priority and
		// fairness only costs start-up time on a test server.
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--v=0",
	}
	return append(args, s.extra...)
}

func (s *supervisor) childArgs(name string) []string {
	if name == "etcd" {
		return []string{"etcd", "--data-dir=" + filepath.Join(s.dir, "etcd"),
			"--client-url=" + s.st.EtcdURL,
			"--peer-url=http://127.0.0.1:" + strconv.Itoa(s.st.EtcdPeerPort)}
	}
	return append([]string{"apiserver"}, s.apiserverArgs()...)
}

// start launches the named child (if not running) and waits until it is ready.
func (s *supervisor) start(name string) error {
	s.mu.Lock()
	c := s.childPtr(name)
	if *c != nil && !exited(*c) {
		s.mu.Unlock()
		return s.waitReady(name, *c)
	}
	logf, err := os.OpenFile(filepath.Join(s.dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	fmt.Fprintf(logf, "==== pacer-testenv: starting %s at %s\n", name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.self, s.childArgs(name)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	nc := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		nc.err = cmd.Wait()
		logf.Close()
		close(nc.done)
	}()
	*c = nc
	if name == "etcd" {
		s.st.EtcdPID = cmd.Process.Pid
	} else {
		s.st.APIServerPID = cmd.Process.Pid
	}
	s.mu.Unlock()
	if err := s.waitReady(name, nc); err != nil {
		return err
	}
	return s.writeState()
}

func (s *supervisor) childPtr(name string) **child {
	if name == "etcd" {
		return &s.etcd
	}
	return &s.apiserver
}

func exited(c *child) bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (s *supervisor) waitReady(name string, c *child) error {
	deadline := time.Now().Add(s.timeout)
	for time.Now().Before(deadline) {
		if exited(c) {
			return fmt.Errorf("%s exited during start-up (%v); last log lines:\n%s", name, c.err, s.tail(name))
		}
		if s.probe(name) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s; last log lines:\n%s", name, s.timeout, s.tail(name))
}

func (s *supervisor) probe(name string) bool {
	var url string
	client := s.readyClient
	if name == "etcd" {
		url = s.st.EtcdURL + "/health"
		client = &http.Client{Timeout: time.Second}
	} else {
		url = "https://" + net.JoinHostPort(s.advertise, strconv.Itoa(s.st.APIPort)) + "/readyz"
	}
	resp, err := client.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

func (s *supervisor) tail(name string) string {
	b, err := os.ReadFile(filepath.Join(s.dir, name+".log"))
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// stop ends the named child: SIGTERM and a grace period, or SIGKILL at once when crash is
// set (a crash test wants no graceful shutdown).
func (s *supervisor) stop(name string, crash bool) error {
	s.mu.Lock()
	c := *s.childPtr(name)
	s.mu.Unlock()
	if c == nil || exited(c) {
		return nil
	}
	sigv := syscall.SIGTERM
	if crash {
		sigv = syscall.SIGKILL
	}
	_ = c.cmd.Process.Signal(sigv)
	// etcd runs without fsync but a killed process loses nothing (the page cache stays),
	// so it gets a short grace: its graceful close waits for client streams to drain.
	grace := 15 * time.Second
	if name == "etcd" {
		grace = 2 * time.Second
	}
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return nil
}

func (s *supervisor) restart(name string, crash bool) error {
	if err := s.stop(name, crash); err != nil {
		return err
	}
	return s.start(name)
}

func (s *supervisor) stopAll() {
	s.once.Do(func() {
		_ = s.stop("apiserver", false)
		_ = s.stop("etcd", false)
		_ = os.Remove(s.st.ControlSocket)
	})
}

// watchParent shuts everything down when the process that started us exits, so a killed
// test runner leaves no control plane behind.
func (s *supervisor) watchParent(parent int) {
	if parent <= 1 {
		return
	}
	for range time.Tick(250 * time.Millisecond) {
		if os.Getppid() != parent || !processAlive(parent) {
			fmt.Fprintf(os.Stderr, "pacer-testenv: parent %d exited, shutting down\n", parent)
			s.requestShutdown()
			return
		}
	}
}

func (s *supervisor) requestShutdown() {
	select {
	case <-s.shutdown:
	default:
		close(s.shutdown)
	}
}

func (s *supervisor) writeState() error {
	s.mu.Lock()
	if !s.ready {
		s.mu.Unlock()
		return nil
	}
	b, err := json.MarshalIndent(s.st, "", "  ")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.dir, ".ready.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, "ready.json"))
}
