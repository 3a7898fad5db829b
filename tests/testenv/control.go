// control.go: the control socket of `up` (DIR/control.sock) and its client `ctl`. One line
// in ("restart apiserver"), one JSON line out ({"ok":true,"millis":812}); the reply is sent
// only when the action is complete, i.e. a (re)started child is ready again.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type reply struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Millis int64  `json:"millis"`
	State  *state `json:"state,omitempty"`
}

func (s *supervisor) listenControl() (net.Listener, error) {
	_ = os.Remove(s.st.ControlSocket)
	ln, err := net.Listen("unix", s.st.ControlSocket)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w (paths over 107 bytes do not fit a unix socket; use a shorter --dir)", s.st.ControlSocket, err)
	}
	return ln, nil
}

func (s *supervisor) serveControl(ln net.Listener) {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

func (s *supervisor) handle(conn net.Conn) {
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && line == "" {
		return
	}
	start := time.Now()
	r := s.execute(strings.Fields(line))
	r.Millis = time.Since(start).Milliseconds()
	b, _ := json.Marshal(r)
	_, _ = conn.Write(append(b, '\n'))
}

func (s *supervisor) execute(words []string) reply {
	fail := func(err error) reply { return reply{Error: err.Error()} }
	if len(words) == 1 {
		switch words[0] {
		case "status":
			s.mu.Lock()
			st := s.st
			s.mu.Unlock()
			return reply{OK: true, State: &st}
		case "shutdown":
			s.requestShutdown()
			return reply{OK: true}
		}
	}
	if len(words) != 2 || (words[1] != "apiserver" && words[1] != "etcd") {
		return fail(fmt.Errorf("unknown command %q: expected status, shutdown, or restart|stop|start|kill apiserver|etcd", strings.Join(words, " ")))
	}
	var err error
	switch name := words[1]; words[0] {
	case "restart":
		err = s.restart(name, false)
	case "stop":
		err = s.stop(name, false)
	case "kill":
		err = s.stop(name, true)
	case "start":
		err = s.start(name)
	default:
		err = fmt.Errorf("unknown action %q: expected restart, stop, kill or start", words[0])
	}
	if err != nil {
		return fail(err)
	}
	return reply{OK: true}
}

func runCtl(args []string) error {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	dir := fs.String("dir", "", "the --dir of a running `pacer-testenv up`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() == 0 {
		return fmt.Errorf("usage: pacer-testenv ctl --dir DIR status|shutdown|restart|stop|start|kill apiserver|etcd")
	}
	conn, err := net.Dial("unix", filepath.Join(*dir, "control.sock"))
	if err != nil {
		return fmt.Errorf("connecting to %s/control.sock (is `pacer-testenv up --dir %s` running?): %w", *dir, *dir, err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintln(conn, strings.Join(fs.Args(), " ")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	var r reply
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return err
	}
	if !r.OK {
		return fmt.Errorf("%s", r.Error)
	}
	return nil
}

// runKubeconfigCmd writes a kubeconfig for one more identity of an existing environment.
func runKubeconfigCmd(args []string) error {
	fs := flag.NewFlagSet("kubeconfig", flag.ContinueOnError)
	dir := fs.String("dir", "", "the --dir of an environment")
	name := fs.String("name", "", "file name: DIR/NAME.kubeconfig")
	user := fs.String("user", "", "user name (certificate CN)")
	var groups stringList
	fs.Var(&groups, "group", "group (certificate O), repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *name == "" || *user == "" {
		return fmt.Errorf("--dir, --name and --user are required")
	}
	b, err := os.ReadFile(filepath.Join(*dir, "ready.json"))
	if err != nil {
		return fmt.Errorf("reading %s/ready.json (start the environment first): %w", *dir, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	p, err := loadOrCreatePKI(filepath.Join(*dir, "pki"), nil)
	if err != nil {
		return err
	}
	path, err := writeKubeconfig(p, *dir, st.Server, identity{Name: *name, User: *user, Groups: groups})
	if err != nil {
		return err
	}
	fmt.Println(path)
	return nil
}
