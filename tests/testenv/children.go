// children.go: the two child processes of an environment, each the same binary re-executed
// with a subcommand: `etcd` (embedded etcd server) and `apiserver` (kube-apiserver). Keeping
// them separate processes is what lets a test restart or crash one while the other keeps
// running and keeps its data.
package main

import (
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// exitWithParent ends this process when its parent goes away (it is re-parented), so a
// crashed supervisor or test runner never leaves a child behind. PR_SET_PDEATHSIG is set as
// well (in spawn), but it fires on the death of the forking *thread*, which Go does not pin;
// polling the parent pid is the dependable half.
func exitWithParent(parent int, onExit func()) {
	if parent <= 1 {
		return
	}
	go func() {
		for range time.Tick(250 * time.Millisecond) {
			if os.Getppid() != parent || !processAlive(parent) {
				fmt.Fprintf(os.Stderr, "pacer-testenv: parent %d is gone, exiting\n", parent)
				if onExit != nil {
					onExit()
				}
				os.Exit(3)
			}
		}
	}()
}

func processAlive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

// runEtcd serves etcd until SIGTERM/SIGINT.
func runEtcd(args []string) error {
	fs := flag.NewFlagSet("etcd", flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "etcd data directory (kept across restarts)")
	clientURL := fs.String("client-url", "http://127.0.0.1:2379", "client URL to listen on")
	peerURL := fs.String("peer-url", "http://127.0.0.1:2380", "peer URL to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		return fmt.Errorf("etcd: --data-dir is required")
	}
	cu, err := url.Parse(*clientURL)
	if err != nil {
		return fmt.Errorf("etcd: --client-url %q: %w", *clientURL, err)
	}
	pu, err := url.Parse(*peerURL)
	if err != nil {
		return fmt.Errorf("etcd: --peer-url %q: %w", *peerURL, err)
	}
	cfg := embed.NewConfig()
	cfg.Name = "pacer-testenv"
	cfg.Dir = *dataDir
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	// Test data only: fsync would dominate every write on a shared CI disk.
	cfg.UnsafeNoFsync = true

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("etcd: start: %w", err)
	}
	exitWithParent(os.Getppid(), e.Close)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		return fmt.Errorf("etcd: %w", err)
	case <-sig:
		e.Close()
		return nil
	}
	select {
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcd: %w", err)
	case <-sig:
		e.Close()
		return nil
	}
}

// runAPIServer runs kube-apiserver with the given flags, exactly as the upstream binary.
func runAPIServer(args []string) int {
	exitWithParent(os.Getppid(), nil)
	cmd := app.NewAPIServerCommand()
	cmd.SetArgs(args)
	return cli.Run(cmd)
}
