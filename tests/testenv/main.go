// pacer-testenv: a real Kubernetes control plane (embedded etcd + kube-apiserver, v1.37) for
// pacer's tests and demo, plus a kubectl of the same version.
//
//	pacer-testenv up --dir DIR [--agent NODE]... [--identity NAME=USER@GROUP,...]...
//	    generates certificates, starts etcd and kube-apiserver (RBAC on), writes one
//	    kubeconfig per identity, prints "READY ..." and writes DIR/ready.json, then serves
//	    a control socket (DIR/control.sock) until SIGTERM or its parent exits.
//	pacer-testenv ctl --dir DIR restart|stop|start|kill apiserver|etcd | status | shutdown
//	pacer-testenv kubeconfig --dir DIR --name NAME --user USER [--group GROUP]...
//	pacer-testenv kubectl ARGS...   (also when invoked through a symlink named kubectl)
//	pacer-testenv etcd ... / pacer-testenv apiserver ...   (children started by `up`)
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"

	_ "k8s.io/client-go/plugin/pkg/client/auth"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	_ "time/tzdata"
)

const usage = `usage: pacer-testenv up|ctl|kubeconfig|kubectl|etcd|apiserver ...
  up --dir DIR [--agent NODE]... [--identity NAME=USER@GROUP,...]... [--bind-address IP]
     [--advertise-address IP] [--port N]     start a control plane, print READY
  ctl --dir DIR COMMAND                       status | restart|stop|start|kill apiserver|etcd | shutdown
  kubeconfig --dir DIR --name N --user U [--group G]...   write DIR/N.kubeconfig
  kubectl ARGS...                             kubectl v1.37 (same version as the API server)
`

func main() {
	if filepath.Base(os.Args[0]) == "kubectl" {
		runKubectl(os.Args)
		return
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	sub, args := os.Args[1], os.Args[2:]
	var err error
	switch sub {
	case "up":
		err = runUp(args)
	case "ctl":
		err = runCtl(args)
	case "kubeconfig":
		err = runKubeconfigCmd(args)
	case "kubectl":
		runKubectl(append([]string{"kubectl"}, args...))
		return
	case "etcd":
		err = runEtcd(args)
	case "apiserver":
		os.Exit(runAPIServer(args))
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "pacer-testenv: unknown command %q\n%s", sub, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "pacer-testenv %s: %v\n", sub, err)
		os.Exit(1)
	}
}

// runKubectl runs upstream kubectl with argv (argv[0] is the program name, as kubectl's
// plugin handling expects).
func runKubectl(argv []string) {
	os.Args = argv
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(os.Args)) // nolint:errcheck
	command := kubectlcmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		kubectlutil.CheckErr(err)
	}
}
