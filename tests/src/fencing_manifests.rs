//! Manifests that turn on IPMI fencing for the hosts of an [`IpmiBmcs`] set (shared by the
//! fencing e2e tests and `failover-bench --fencing ipmi`).
//!
//! In: the BMCs, their password, extra `fence_ipmilan` params. Out: one YAML stream with
//! ClusterProperties (`stonith-enabled=true`, `stonith-action=off`, `stonith-timeout=30s`,
//! `startup-fencing=false`), the Secret `ipmi` holding the password, the Role/RoleBinding
//! letting agents read that Secret, and one `fence_ipmilan` Primitive `fence-<node>` per
//! host (lanplus, cipher 3, `power_wait=0`, `pcmk_host_list=<node>`, password from the
//! Secret). No resources: callers add their own.

use crate::bmc::IpmiBmcs;

/// The Secret (and its key) the fence devices read the IPMI password from.
pub const IPMI_SECRET: &str = "ipmi";

/// See the module doc. `device_params` are added to every device's params (a key given
/// here replaces the default of the same name, e.g. `("power_wait", "1")`).
pub fn ipmi_fencing(bmcs: &IpmiBmcs, password: &str, device_params: &[(&str, &str)]) -> String {
    let mut y = format!(
        r#"apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {{name: cluster}}
spec:
  properties:
    stonith-enabled: "true"
    stonith-action: "off"
    stonith-timeout: "30s"
    startup-fencing: "false"
---
apiVersion: v1
kind: Secret
metadata: {{name: {IPMI_SECRET}}}
stringData: {{password: "{password}"}}
---
# Agents may read only the Secrets named here (deploy/rbac/agent-secrets.yaml).
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: pacer-agent-secrets}}
rules:
- {{apiGroups: [""], resources: [secrets], resourceNames: [{IPMI_SECRET}], verbs: [get]}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: pacer-agent-secrets}}
subjects:
- {{kind: Group, apiGroup: rbac.authorization.k8s.io, name: "pacer:agents"}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: pacer-agent-secrets}}
"#
    );
    for b in &bmcs.bmcs {
        let port = b.port.to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("ip", &b.address),
            ("ipport", &port),
            ("username", "admin"),
            ("lanplus", "1"),
            ("cipher", "3"),
            ("power_wait", "0"),
            ("pcmk_host_list", &b.node),
        ];
        for (k, v) in device_params {
            match params.iter_mut().find(|(pk, _)| pk == k) {
                Some(p) => p.1 = v,
                None => params.push((k, v)),
            }
        }
        let params: String = params
            .iter()
            .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
            .collect();
        y.push_str(&format!(
            r#"---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: fence-{node}}}
spec:
  class: stonith
  type: fence_ipmilan
  params:
{params}  paramsFrom:
  - name: password
    secretKeyRef: {{name: {IPMI_SECRET}, key: password}}
"#,
            node = b.node,
        ));
    }
    y
}
