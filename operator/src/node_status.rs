//! `ClusterNode.status`, what `kubectl get clusternodes` shows (crm_mon's node list):
//! state (online, standby, maintenance, offline, unclean), how many resources are active
//! there, the fencing devices that can fence it and when it was last fenced, and a
//! `Ready` condition. Pure: membership and the scheduler's view of the cluster in.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use pacer_crds::{ClusterNode, ClusterNodeStatus, FencingTopology, Primitive};
use pacer_scheduler::model::Cluster;

use crate::{cib::Object, index::Index, membership::Membership, status::condition};

/// Status of every ClusterNode, keyed by metadata.name.
pub fn derive(
    cl: &Cluster,
    index: &Index,
    membership: &BTreeMap<String, Membership>,
    now: &Time,
) -> BTreeMap<String, ClusterNodeStatus> {
    let mut out = BTreeMap::new();
    let primitives: Vec<Primitive> = index
        .config
        .values()
        .filter_map(|o| match o {
            Object::Primitive(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let topologies: Vec<FencingTopology> = index
        .config
        .values()
        .filter_map(|o| match o {
            Object::FencingTopology(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    for o in index.config.values() {
        let Object::ClusterNode(n) = o else { continue };
        let name = n.name_any();
        let uname = n.spec.uname.clone().unwrap_or_else(|| name.clone());
        let model = cl.nodes.iter().position(|x| x.name == uname);
        let m = membership.get(&uname).copied();
        let (standby, maintenance) = model
            .map(|i| (cl.nodes[i].standby, cl.nodes[i].maintenance))
            .unwrap_or((
                n.spec.standby == Some(true),
                n.spec.maintenance == Some(true),
            ));
        let state = match m {
            Some(Membership::Online) if maintenance => "maintenance",
            Some(Membership::Online) if standby => "standby",
            Some(Membership::Online) => "online",
            Some(Membership::Unclean) => "unclean",
            // A node that never joined, left cleanly, or was fenced.
            _ => "offline",
        };
        let resources = model.map(|i| {
            cl.resources
                .iter()
                .filter(|r| r.is_primitive())
                .filter(|r| r.status.iter().any(|s| s.node == i && s.role.is_active()))
                .count() as i64
        });
        let last_fenced = index
            .fencing
            .values()
            .filter(|f| f.spec.target == uname && f.spec.result == "success")
            .filter_map(|f| f.spec.completed.clone())
            .max_by_key(|t| t.0);
        let fencing_devices = fencing_devices(&primitives, &topologies, &uname, n);
        let old = n.status.clone().unwrap_or_default();
        let ready = state == "online";
        let message = match state {
            "online" => "member of the cluster, can run resources".to_string(),
            "standby" => "online, in standby: runs no resources".to_string(),
            "maintenance" => "online, in maintenance: its resources are left alone".to_string(),
            "unclean" => "lost without a clean shutdown: must be fenced before its resources move"
                .to_string(),
            _ => "not a member of the cluster now (agent stopped, fenced or never joined)"
                .to_string(),
        };
        out.insert(
            name,
            ClusterNodeStatus {
                state: Some(state.into()),
                online: Some(m == Some(Membership::Online)),
                resources,
                fencing_devices,
                last_fenced: last_fenced.or(old.last_fenced.clone()),
                conditions: vec![condition(
                    &old.conditions,
                    "Ready",
                    ready,
                    &capitalized(state),
                    &message,
                    now,
                )],
            },
        );
    }
    out
}

/// The devices that would fence `uname`, in the order they would be tried: its
/// FencingTopology levels, else every stonith device not excluded by `pcmk_host_list`/
/// `pcmk_host_map` (devices with a dynamic list are asked at fence time, so listed).
fn fencing_devices(
    primitives: &[Primitive],
    topologies: &[FencingTopology],
    uname: &str,
    node: &ClusterNode,
) -> Vec<String> {
    let attrs = node.spec.attributes.clone().unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for level in pacer_agent::fencing::plan(primitives, topologies, uname, &attrs) {
        for d in level.devices {
            if !out.contains(&d.id) {
                out.push(d.id);
            }
        }
    }
    out
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cib::manifest::parse_manifests;

    const MANIFESTS: &str = r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterNode
metadata: {name: n1}
spec: {}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterNode
metadata: {name: n2}
spec: {}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: fence-n1}
spec: {class: stonith, type: fence_ipmilan, params: {pcmk_host_list: n1, ip: 10.0.0.1}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: fence-n2}
spec: {class: stonith, type: fence_ipmilan, params: {pcmk_host_map: "n2:plug2", ip: 10.0.0.2}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: fence-pdu}
spec: {class: stonith, type: fence_apc, params: {ip: 10.0.0.9}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: web}
spec: {class: ocf, provider: heartbeat, type: Dummy}
"#;

    fn objects(extra: &str) -> (Vec<Primitive>, Vec<FencingTopology>, Vec<ClusterNode>) {
        let (mut p, mut t, mut n) = (Vec::new(), Vec::new(), Vec::new());
        for o in parse_manifests(&format!("{MANIFESTS}{extra}")).expect("test manifests parse") {
            match o {
                Object::Primitive(x) => p.push(x),
                Object::FencingTopology(x) => t.push(x),
                Object::ClusterNode(x) => n.push(x),
                _ => {}
            }
        }
        (p, t, n)
    }

    #[test]
    fn devices_that_can_fence_each_node() {
        let (p, t, n) = objects("");
        // fence-pdu has no host list: asked at fence time, so it may fence anyone.
        assert_eq!(
            fencing_devices(&p, &t, "n1", &n[0]),
            ["fence-n1", "fence-pdu"]
        );
        assert_eq!(
            fencing_devices(&p, &t, "n2", &n[1]),
            ["fence-n2", "fence-pdu"]
        );
    }

    #[test]
    fn a_topology_decides_the_devices_and_their_order() {
        let (p, t, n) = objects(
            r#"
---
apiVersion: ha.pacer.dev/v1alpha1
kind: FencingTopology
metadata: {name: topology}
spec:
  levels:
  - {index: 1, target: n2, devices: [fence-pdu]}
  - {index: 2, target: n2, devices: [fence-n2]}
"#,
        );
        assert_eq!(
            fencing_devices(&p, &t, "n2", &n[1]),
            ["fence-pdu", "fence-n2"]
        );
        // No level for n1: every capable device.
        assert_eq!(
            fencing_devices(&p, &t, "n1", &n[0]),
            ["fence-n1", "fence-pdu"]
        );
    }
}
