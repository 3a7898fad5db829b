// kubeconfig.go: writes a kubeconfig per identity. Identities are client certificates signed
// by the environment's CA, so the API server authenticates them without tokens and RBAC
// decides what each may do.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// identity is one kubeconfig to write: file name, user (certificate CN) and groups (O).
type identity struct {
	Name   string   `json:"name"`
	User   string   `json:"user"`
	Groups []string `json:"groups"`
}

// parseIdentity reads NAME=USER[@GROUP,...]. "@" separates the groups because user names
// such as pacer:agent:n1 contain ':'.
func parseIdentity(s string) (identity, error) {
	name, rest, ok := strings.Cut(s, "=")
	if !ok || name == "" || rest == "" {
		return identity{}, fmt.Errorf("--identity %q: expected NAME=USER[@GROUP,...], e.g. ops=alice@pacer:operators", s)
	}
	if strings.ContainsAny(name, "/ ") {
		return identity{}, fmt.Errorf("--identity %q: NAME is a file name and may not contain '/' or spaces", s)
	}
	user, groups, _ := strings.Cut(rest, "@")
	id := identity{Name: name, User: user}
	if groups != "" {
		id.Groups = strings.Split(groups, ",")
	}
	return id, nil
}

// agentIdentity is the per-node identity of a node agent: user pacer:agent:NODE in group
// pacer:agents, the user name being what the admission policy compares with the object.
func agentIdentity(node string) identity {
	return identity{Name: "agent-" + node, User: "pacer:agent:" + node, Groups: []string{"pacer:agents"}}
}

func defaultIdentities() []identity {
	return []identity{
		{Name: "admin", User: "pacer:admin", Groups: []string{"system:masters"}},
		{Name: "operator", User: "pacer:operator", Groups: []string{"pacer:operators"}},
	}
}

// writeKubeconfig issues the identity's certificate and writes DIR/NAME.kubeconfig.
func writeKubeconfig(p *pki, dir, server string, id identity) (string, error) {
	certName := "client-" + id.Name
	if err := p.issueClient(certName, id.User, id.Groups); err != nil {
		return "", err
	}
	caPEM, err := os.ReadFile(p.path("ca.crt"))
	if err != nil {
		return "", err
	}
	certPEM, err := os.ReadFile(p.path(certName + ".crt"))
	if err != nil {
		return "", err
	}
	keyPEM, err := os.ReadFile(p.path(certName + ".key"))
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["pacer-testenv"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[id.Name] = &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM}
	cfg.Contexts[id.Name] = &clientcmdapi.Context{Cluster: "pacer-testenv", AuthInfo: id.Name, Namespace: "default"}
	cfg.CurrentContext = id.Name
	path := filepath.Join(dir, id.Name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("writing %s: %w", path, err)
	}
	return path, nil
}
