//! The operator's view of one namespace (= one HA cluster), as a plain struct fed by
//! watches (like linkerd2's k8s index: apply/delete on plain data, no I/O here).
//!
//! In: applied/deleted objects of every pacer kind, NodeStates, node Leases, Transitions
//! and FencingHistory. Out: the configuration the scheduler reads, membership per node,
//! result lookups by transition key, and counters that say what kind of change happened
//! (configuration vs. status) so the controller can decide between "abort" and "observe".

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::coordination::v1::Lease;
use kube::ResourceExt;
use pacer_crds::{FencingHistory, LrmOperation, NodeState, Transition, TransitionAction};

use crate::{
    cib::Object,
    membership::{self, LeaseView, Membership},
    transition::{Outcome, Results},
};

/// Name prefix of node agents' Leases.
pub const NODE_LEASE_PREFIX: &str = "pacer-node-";

#[derive(Clone, Debug, Default)]
pub struct Index {
    /// Configuration objects by (kind, metadata.name).
    pub config: BTreeMap<(&'static str, String), Object>,
    pub node_states: BTreeMap<String, NodeState>,
    /// Node name → its agent Lease.
    pub leases: BTreeMap<String, LeaseView>,
    pub transitions: BTreeMap<String, Transition>,
    pub fencing: BTreeMap<String, FencingHistory>,
    /// Bumped on every configuration change.
    pub config_version: u64,
    /// Bumped on every NodeState / Lease / FencingHistory change.
    pub status_version: u64,
    /// Kinds whose watch delivered its initial list.
    pub synced: std::collections::BTreeSet<String>,
    /// Node → how long its agent keeps petting a watchdog after losing the cluster (ms),
    /// from its Lease (fencing.rs, watchdog self-fencing).
    pub watchdogs: BTreeMap<String, i64>,
}

impl Index {
    /// Stores an object; only a spec change (a new generation or a new object) counts as
    /// a configuration change: the operator's own status writes must not trigger replans.
    pub fn apply_config(&mut self, o: Object) {
        let key = (o.kind(), o.name());
        let changed = self
            .config
            .get(&key)
            .is_none_or(|old| spec_version(old) != spec_version(&o) || spec_version(&o).is_empty());
        self.config.insert(key, o);
        if changed {
            self.config_version += 1;
        }
    }

    pub fn delete_config(&mut self, kind: &'static str, name: &str) {
        if self.config.remove(&(kind, name.to_string())).is_some() {
            self.config_version += 1;
        }
    }

    /// Replaces every object of one kind (a watch (re)list).
    pub fn replace_config(&mut self, kind: &'static str, objects: Vec<Object>) {
        self.config.retain(|(k, _), _| *k != kind);
        for o in objects {
            self.config.insert((kind, o.name()), o);
        }
        self.config_version += 1;
    }

    pub fn apply_node_state(&mut self, n: NodeState) {
        self.node_states.insert(n.name_any(), n);
        self.status_version += 1;
    }

    pub fn delete_node_state(&mut self, name: &str) {
        self.node_states.remove(name);
        self.status_version += 1;
    }

    /// Only `pacer-node-*` Leases matter; others (the DC's own) are ignored.
    pub fn apply_lease(&mut self, l: &Lease) {
        let Some(node) = l
            .name_any()
            .strip_prefix(NODE_LEASE_PREFIX)
            .map(String::from)
        else {
            return;
        };
        let spec = l.spec.clone().unwrap_or_default();
        let view = LeaseView {
            holder: spec.holder_identity,
            renew_ms: spec
                .renew_time
                .or(spec.acquire_time)
                .map(|t| t.0.as_millisecond()),
            duration_s: spec.lease_duration_seconds.map(i64::from),
        };
        match l
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(crate::fencing::WATCHDOG_ANNOTATION))
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            Some(ms) => self.watchdogs.insert(node.clone(), ms),
            None => self.watchdogs.remove(&node),
        };
        // Renewals are not changes: membership is re-evaluated against the clock on
        // every tick, and replanning on each renewal would run the scheduler every second.
        self.leases.insert(node, view);
    }

    pub fn delete_lease(&mut self, name: &str) {
        if let Some(node) = name.strip_prefix(NODE_LEASE_PREFIX) {
            self.leases.remove(node);
            self.status_version += 1;
        }
    }

    pub fn apply_fencing(&mut self, f: FencingHistory) {
        self.fencing.insert(f.name_any(), f);
        self.status_version += 1;
    }

    /// Configured cluster nodes that can run resources (ClusterNode, type member).
    pub fn configured_nodes(&self) -> Vec<String> {
        self.config
            .values()
            .filter_map(|o| match o {
                Object::ClusterNode(n)
                    if matches!(
                        n.spec.type_.as_deref(),
                        None | Some("member") | Some("normal")
                    ) =>
                {
                    Some(n.spec.uname.clone().unwrap_or_else(|| n.name_any()))
                }
                _ => None,
            })
            .collect()
    }

    /// The CIB node id of a node (ClusterNode.spec.id, else its name).
    pub fn node_id(&self, node: &str) -> String {
        self.config
            .values()
            .find_map(|o| match o {
                Object::ClusterNode(n)
                    if n.spec.uname.clone().unwrap_or_else(|| n.name_any()) == node =>
                {
                    Some(n.spec.id.clone().unwrap_or_else(|| n.name_any()))
                }
                _ => None,
            })
            .unwrap_or_else(|| node.to_string())
    }

    /// (node, `RSC_OP_INTERVAL` key) of every recurring operation in the node histories.
    pub fn recurring_ops(&self) -> impl Iterator<Item = (&str, &str)> {
        self.node_states.iter().flat_map(|(name, ns)| {
            let node = ns.spec.uname.as_deref().unwrap_or(name.as_str());
            ns.spec
                .lrm
                .iter()
                .flat_map(|l| &l.resources)
                .flat_map(|r| &r.operations)
                .filter(|op| op.interval.as_deref().is_some_and(|i| i.trim() != "0"))
                .map(move |op| (node, op.operation_key.as_deref().unwrap_or(&op.id)))
        })
    }

    pub fn node_state_of(&self, node: &str) -> Option<&NodeState> {
        self.node_states.get(node).or_else(|| {
            self.node_states
                .values()
                .find(|s| s.spec.uname.as_deref() == Some(node))
        })
    }

    /// When the latest successful fence of `node` completed (ms since the epoch).
    pub fn fenced_ms(&self, node: &str) -> Option<i64> {
        self.fencing
            .values()
            .filter(|f| f.spec.target == node && f.spec.result == "success")
            .filter_map(|f| f.spec.completed.as_ref().map(|t| t.0.as_millisecond()))
            .max()
    }

    /// Membership of every configured node at `now_ms`.
    pub fn membership(&self, now_ms: i64, lease_duration_s: i64) -> BTreeMap<String, Membership> {
        let swt = self.config.values().find_map(|o| match o {
            Object::ClusterProperties(p) => crate::fencing::parse_watchdog_timeout(
                p.spec
                    .properties
                    .as_ref()
                    .and_then(|m| m.get("stonith-watchdog-timeout"))
                    .map(String::as_str),
            ),
            _ => None,
        });
        self.configured_nodes()
            .into_iter()
            .map(|n| {
                let watchdog = crate::fencing::watchdog_fenced_ms(
                    self.leases.get(&n),
                    self.watchdogs.get(&n).copied(),
                    swt,
                    now_ms,
                    lease_duration_s,
                );
                let m = membership::classify(
                    self.leases.get(&n),
                    self.node_state_of(&n),
                    self.fenced_ms(&n).max(watchdog),
                    now_ms,
                    lease_duration_s,
                );
                (n, m)
            })
            .collect()
    }

    /// A digest of every node's transient attributes (fail counts, last failures, ...):
    /// a change not caused by the running transition aborts it.
    pub fn attributes_digest(&self) -> u64 {
        let mut h = Fnv::default();
        for (name, s) in &self.node_states {
            h.write(name.as_bytes());
            if let Some(t) = &s.spec.transient_attributes {
                h.write(serde_json::to_string(t).unwrap_or_default().as_bytes());
            }
        }
        h.0
    }

    /// The highest-numbered Transition.
    pub fn current_transition(&self) -> Option<&Transition> {
        self.transitions.values().max_by_key(|t| t.spec.seq)
    }

    /// History entries by transition key, over all NodeStates (pending entries skipped).
    pub fn results(&self) -> ResultIndex<'_> {
        let mut ops = HashMap::new();
        for (name, s) in &self.node_states {
            let node = s.spec.uname.clone().unwrap_or_else(|| name.clone());
            for r in s.spec.lrm.iter().flat_map(|l| &l.resources) {
                for op in &r.operations {
                    if let Some(k) = &op.transition_key
                        && op.call_id.as_deref() != Some("-1")
                        && op.op_status.as_deref() != Some("-1")
                    {
                        ops.insert(k.clone(), (node.clone(), op));
                    }
                }
            }
        }
        let mut fences = HashMap::new();
        for f in self.fencing.values() {
            if let Some(k) = &f.spec.transition_key
                && f.spec.result != "pending"
            {
                fences.insert(k.clone(), f);
            }
        }
        ResultIndex {
            ops,
            fences,
            online: BTreeMap::new(),
            leftovers: crate::cleanup::leftovers(self),
        }
    }
}

/// `"<generation>:<uid>"` of an object: what changes when its spec does (status writes
/// change the resourceVersion only). Empty for objects never stored by an API server.
pub fn spec_version(o: &Object) -> String {
    let Ok(v) = o.to_json() else {
        return String::new();
    };
    let g = v.pointer("/metadata/generation").and_then(|x| x.as_i64());
    let uid = v.pointer("/metadata/uid").and_then(|x| x.as_str());
    match (g, uid) {
        (Some(g), Some(u)) => format!("{g}:{u}"),
        _ => String::new(),
    }
}

/// Results by transition key (see [`Index::results`]).
pub struct ResultIndex<'a> {
    pub ops: HashMap<String, (String, &'a LrmOperation)>,
    pub fences: HashMap<String, &'a FencingHistory>,
    /// Node → membership; nodes not Online lose their in-flight actions.
    pub online: BTreeMap<String, Membership>,
    /// What cleanup / clear_failcount actions wait to see gone.
    pub leftovers: crate::cleanup::Leftovers,
}

impl ResultIndex<'_> {
    pub fn with_membership(mut self, m: BTreeMap<String, Membership>) -> Self {
        self.online = m;
        self
    }
}

impl Results for ResultIndex<'_> {
    fn result(&self, key: &str, a: &TransitionAction) -> Option<Outcome> {
        if a.task == "fence" {
            let Some(f) = self.fences.get(key) else {
                // Fenced meanwhile (another fence action, a manual confirmation).
                return crate::fencing::satisfied(self.online.get(&a.node)).then(|| Outcome {
                    rc: 0,
                    op_status: 0,
                    message: Some(format!("node {} was already fenced", a.node)),
                });
            };
            let ok = f.spec.result == "success";
            return Some(Outcome {
                rc: if ok { 0 } else { 1 },
                op_status: 0,
                message: f.spec.message.clone(),
            });
        }
        // cleanup / clear_failcount / cancel leave no op-history entry: they are done once
        // the node's published state no longer has their (node, key) pair.
        let gone = |set: &std::collections::BTreeSet<(String, String)>, key: String| {
            (!set.contains(&(a.node.clone(), key))).then_some(Outcome {
                rc: 0,
                op_status: 0,
                message: None,
            })
        };
        let rsc = || a.resource.clone().unwrap_or_default();
        match a.task.as_str() {
            "cleanup" => return gone(&self.leftovers.history, rsc()),
            "clear_failcount" => return gone(&self.leftovers.fail_counts, rsc()),
            "cancel" => return gone(&self.leftovers.recurring, crate::maintenance::op_key(a)),
            _ => {}
        }
        let (_, op) = self.ops.get(key)?;
        let num = |s: &Option<String>| s.as_deref().and_then(|x| x.trim().parse::<i64>().ok());
        Some(Outcome {
            rc: num(&op.rc_code).unwrap_or(1),
            op_status: num(&op.op_status).unwrap_or(0),
            message: op.exit_reason.clone().filter(|m| !m.is_empty()),
        })
    }

    fn reachable(&self, a: &TransitionAction) -> bool {
        if crate::dc_fencing::runs_on_dc(a) {
            return true;
        }
        let node = if a.task == "fence" {
            a.executor.as_deref().unwrap_or(&a.node)
        } else {
            &a.node
        };
        match self.online.get(node) {
            Some(m) => *m == Membership::Online,
            // Not a configured node (or membership not given): cannot judge, keep waiting.
            None => true,
        }
    }
}

/// FNV-1a: a digest that is the same in every build (std's hasher is not).
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
