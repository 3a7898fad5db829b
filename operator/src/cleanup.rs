//! `crm_resource --cleanup` through the API: a user (`kubectl pacer resource cleanup`)
//! annotates a Primitive/Group/Clone with [`ANNOTATION`]; the DC turns every pending
//! request into `cleanup` actions, one per node where the resource has failures, stored
//! as an ordinary Transition; each node's agent forgets that resource's history and fail
//! counts; the next scheduler run sees no history there and probes again, as Pacemaker's
//! DC re-probes after a cleanup.
//!
//! A cleanup action is confirmed by state, not by an op-history entry (there is none
//! left): the node's NodeState no longer has the resource's history or fail counts.
//! The annotation stays (like `kubectl rollout restart`'s restartedAt); the DC records
//! the request it carried out in the object's `status.lastCleanup`, so a request is
//! pending while the two differ. A DC that dies between storing the Transition and
//! writing the status leaves it to its successor, which cleans up once more: harmless.
//! The operator thus never writes a user's object outside `status`.

use std::collections::{BTreeMap, BTreeSet};

use pacer_crds::{NodeState, TransitionAction};

use crate::{cib::Object, index::Index, membership::Membership};

/// `metadata.annotations` key of a cleanup request: `"<token>"` (every node) or
/// `"<token>@<node>"` (one node, `crm_resource --cleanup --node`).
pub const ANNOTATION: &str = "ha.pacer.dev/cleanup";
/// On a cleanup Transition: the requests it serves, `"Kind/name=token,..."`.
pub const TRANSITION_ANNOTATION: &str = "ha.pacer.dev/cleanup-requests";
/// Timeout of a cleanup action (the agent only edits its history).
const TIMEOUT_MS: i64 = 20_000;

/// One pending request.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub kind: &'static str,
    pub name: String,
    /// The annotation's full value (what the DC removes only if unchanged).
    pub value: String,
    pub node: Option<String>,
    /// Primitive CIB ids the object stands for (group members, the cloned resource).
    pub primitives: Vec<String>,
}

/// The annotation value for a request.
pub fn request_value(token: &str, node: Option<&str>) -> String {
    match node {
        Some(n) => format!("{token}@{n}"),
        None => token.to_string(),
    }
}

/// Requests on Primitive/Group/Clone objects not yet carried out: neither in the
/// object's `status.lastCleanup` nor in `handled` (what this DC did but whose status
/// write the watch has not shown yet).
pub fn pending(idx: &Index, handled: &BTreeMap<(&'static str, String), String>) -> Vec<Request> {
    idx.config
        .values()
        .filter_map(|o| {
            let value = o.annotation(ANNOTATION)?.trim();
            let stored = crate::status::current(o).and_then(|s| s.last_cleanup);
            let done = stored.is_some_and(|c| c.request == value)
                || handled
                    .get(&(o.kind(), o.name()))
                    .is_some_and(|h| h == value);
            if done || value.is_empty() {
                return None;
            }
            request(idx, o, value)
        })
        .collect()
}

/// The request `value` (see [`ANNOTATION`]) on resource object `o`; `None` for other kinds.
pub fn request(idx: &Index, o: &Object, value: &str) -> Option<Request> {
    if !matches!(
        o,
        Object::Primitive(_) | Object::Group(_) | Object::Clone(_)
    ) {
        return None;
    }
    let value = value.trim().to_string();
    let node = value
        .split_once('@')
        .map(|(_, n)| n.trim().to_string())
        .filter(|n| !n.is_empty());
    Some(Request {
        kind: o.kind(),
        name: o.name(),
        value,
        node,
        primitives: primitives_of(idx, o),
    })
}

fn cib_id(o: &Object) -> String {
    crate::status::cib_id(o).unwrap_or_else(|| o.name())
}

/// Primitive ids under a resource object.
fn primitives_of(idx: &Index, o: &Object) -> Vec<String> {
    let by_id = |id: &str| {
        idx.config
            .values()
            .find(|x| matches!(x, Object::Primitive(_) | Object::Group(_)) && cib_id(x) == id)
    };
    match o {
        Object::Primitive(_) => vec![cib_id(o)],
        Object::Group(g) => g.spec.members.clone(),
        Object::Clone(c) => match by_id(&c.spec.resource) {
            Some(Object::Group(g)) => g.spec.members.clone(),
            _ => vec![c.spec.resource.clone()],
        },
        _ => Vec::new(),
    }
}

/// Whether `lrm_id` (as a node's history names it: `rsc`, or `rsc:N` for a unique clone
/// instance) belongs to primitive `id`.
pub fn is_instance_of(lrm_id: &str, id: &str) -> bool {
    lrm_id == id
        || lrm_id
            .strip_prefix(id)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

/// History ids on this node that have failures: a recorded failure or a fail count.
fn failed_ids(ns: &NodeState) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in ns.spec.lrm.iter().flat_map(|l| &l.resources) {
        if r.operations
            .iter()
            .any(|op| op.id.ends_with("_last_failure_0"))
        {
            out.insert(r.id.clone());
        }
    }
    for key in attributes(ns).keys() {
        if let Some(rest) = key
            .strip_prefix("fail-count-")
            .or_else(|| key.strip_prefix("last-failure-"))
        {
            out.insert(rest.split('#').next().unwrap_or(rest).to_string());
        }
    }
    out
}

fn attributes(ns: &NodeState) -> BTreeMap<String, String> {
    let Some(t) = &ns.spec.transient_attributes else {
        return BTreeMap::new();
    };
    let mut out = t.attributes.clone().unwrap_or_default();
    for set in &t.attribute_sets {
        for nv in &set.values {
            if let (Some(k), Some(v)) = (&nv.name, &nv.value) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out
}

/// The cleanup actions for `requests`: one per (online node, failed history id).
/// Offline nodes are skipped: their agent cannot act, and a node that rejoins is
/// probed again anyway.
pub fn actions(
    idx: &Index,
    requests: &[Request],
    membership: &BTreeMap<String, Membership>,
) -> Vec<TransitionAction> {
    let mut wanted: BTreeSet<(String, String)> = BTreeSet::new();
    for (name, ns) in &idx.node_states {
        let node = ns.spec.uname.clone().unwrap_or_else(|| name.clone());
        if membership.get(&node) != Some(&Membership::Online) {
            continue;
        }
        let failed = failed_ids(ns);
        for req in requests {
            if req.node.as_deref().is_some_and(|n| n != node) {
                continue;
            }
            for id in &failed {
                if req.primitives.iter().any(|p| is_instance_of(id, p)) {
                    wanted.insert((node.clone(), id.clone()));
                }
            }
        }
    }
    wanted
        .into_iter()
        .enumerate()
        .map(|(i, (node, rsc))| TransitionAction {
            id: i as i64,
            task: "cleanup".into(),
            resource: Some(rsc),
            node,
            timeout_ms: TIMEOUT_MS,
            ..Default::default()
        })
        .collect()
}

/// (node, history id) pairs that still have history or fail counts: a `cleanup` action
/// is done when its pair is gone, a `clear_failcount` when no fail count is left.
#[derive(Default)]
pub struct Leftovers {
    pub history: BTreeSet<(String, String)>,
    pub fail_counts: BTreeSet<(String, String)>,
    /// (node, `RSC_OP_INTERVAL`) of recorded recurring operations (maintenance.rs cancels).
    pub recurring: BTreeSet<(String, String)>,
}

pub fn leftovers(idx: &Index) -> Leftovers {
    let mut out = Leftovers::default();
    for (name, ns) in &idx.node_states {
        let node = ns.spec.uname.clone().unwrap_or_else(|| name.clone());
        for r in ns.spec.lrm.iter().flat_map(|l| &l.resources) {
            if !r.operations.is_empty() {
                out.history.insert((node.clone(), r.id.clone()));
            }
        }
        for key in attributes(ns).keys() {
            if let Some(rest) = key.strip_prefix("fail-count-") {
                let id = rest.split('#').next().unwrap_or(rest).to_string();
                out.history.insert((node.clone(), id.clone()));
                out.fail_counts.insert((node.clone(), id));
            }
        }
    }
    out.recurring = idx
        .recurring_ops()
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    out
}

/// crm_simulate-style summary lines for the cleanup Transition.
pub fn summary(actions: &[TransitionAction]) -> Vec<String> {
    actions
        .iter()
        .map(|a| {
            format!(
                "Cleanup {} on {}",
                a.resource.as_deref().unwrap_or(""),
                a.node
            )
        })
        .collect()
}

/// The value of [`TRANSITION_ANNOTATION`] for these requests.
pub fn served(requests: &[Request]) -> String {
    requests
        .iter()
        .map(|r| format!("{}/{}={}", r.kind, r.name, r.value))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::{
        Lrm, LrmOperation, LrmResource, NodeStateSpec, Primitive, PrimitiveSpec,
        TransientAttributes,
    };

    fn node_state(node: &str, lrm: &[(&str, bool)], attrs: &[(&str, &str)]) -> NodeState {
        let resources = lrm
            .iter()
            .map(|(id, failed)| LrmResource {
                id: id.to_string(),
                operations: std::iter::once(format!("{id}_last_0"))
                    .chain(failed.then(|| format!("{id}_last_failure_0")))
                    .map(|op| LrmOperation {
                        id: op,
                        operation: "monitor".into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            })
            .collect();
        NodeState::new(
            node,
            NodeStateSpec {
                uname: Some(node.into()),
                lrm: Some(Lrm {
                    resources,
                    ..Default::default()
                }),
                transient_attributes: Some(TransientAttributes {
                    attributes: Some(
                        attrs
                            .iter()
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                            .collect(),
                    ),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
    }

    fn index() -> Index {
        let mut idx = Index::default();
        let mut p = Primitive::new(
            "web",
            PrimitiveSpec {
                id: Some("Web".into()),
                class: Some("ocf".into()),
                provider: Some("heartbeat".into()),
                type_: Some("Dummy".into()),
                ..Default::default()
            },
        );
        p.metadata.annotations = Some([(ANNOTATION.to_string(), "tok1".to_string())].into());
        idx.apply_config(Object::Primitive(p));
        idx.apply_node_state(node_state(
            "n1",
            &[("Web", true), ("Other", true)],
            &[
                ("fail-count-Web#monitor_10000", "1"),
                ("fail-count-Other#start_0", "INFINITY"),
            ],
        ));
        idx.apply_node_state(node_state("n2", &[("Web", false)], &[]));
        idx.apply_node_state(node_state("n3", &[], &[("fail-count-Web:2#start_0", "1")]));
        idx
    }

    fn online(nodes: &[&str]) -> BTreeMap<String, Membership> {
        nodes
            .iter()
            .map(|n| (n.to_string(), Membership::Online))
            .collect()
    }

    #[test]
    fn a_request_cleans_only_nodes_with_failures_of_that_resource() {
        let idx = index();
        let reqs = pending(&idx, &BTreeMap::new());
        assert_eq!(reqs.len(), 1);
        // Handled (by this DC, or recorded in the status): no longer pending.
        let handled = BTreeMap::from([(("Primitive", "web".to_string()), "tok1".to_string())]);
        assert!(pending(&idx, &handled).is_empty());
        assert_eq!(reqs[0].primitives, vec!["Web".to_string()]);
        let acts = actions(&idx, &reqs, &online(&["n1", "n2", "n3"]));
        let got: Vec<(&str, &str)> = acts
            .iter()
            .map(|a| (a.node.as_str(), a.resource.as_deref().unwrap_or("")))
            .collect();
        assert_eq!(got, vec![("n1", "Web"), ("n3", "Web:2")]);
        assert_eq!(
            summary(&acts),
            vec!["Cleanup Web on n1", "Cleanup Web:2 on n3"]
        );
        // Offline nodes are left alone; a node filter narrows the request.
        assert_eq!(actions(&idx, &reqs, &online(&["n2", "n3"])).len(), 1);
        let mut one = reqs.clone();
        one[0].node = Some("n3".into());
        assert_eq!(actions(&idx, &one, &online(&["n1", "n2", "n3"])).len(), 1);
    }

    #[test]
    fn leftovers_tell_when_a_cleanup_is_done() {
        let idx = index();
        let l = leftovers(&idx);
        assert!(l.history.contains(&("n1".into(), "Web".into())));
        assert!(l.fail_counts.contains(&("n3".into(), "Web:2".into())));
        assert!(!l.fail_counts.contains(&("n2".into(), "Web".into())));
        assert!(is_instance_of("Web:12", "Web") && !is_instance_of("WebX", "Web"));
    }
}
