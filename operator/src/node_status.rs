//! `ClusterNode.status`, what `kubectl get clusternodes` shows (crm_mon's node list):
//! state (online, standby, maintenance, offline, unclean), how many resources are active
//! there, the fencing devices that can fence it and when it was last fenced, and a
//! `Ready` condition. Pure: membership and the scheduler's view of the cluster in.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use pacer_crds::ClusterNodeStatus;
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
                fencing_devices: Vec::new(),
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

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
