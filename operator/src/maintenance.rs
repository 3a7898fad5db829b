//! Maintenance stops monitoring too: with `maintenance-mode`, a node in maintenance or a
//! resource with `maintenance=true`, Pacemaker cancels the recurring monitors it finds in
//! the history (a monitor failing meanwhile must not count against a resource the admin
//! is working on) and schedules them again when maintenance ends.
//!
//! The scheduler's graph carries no cancels, so the DC adds them here from the NodeStates:
//! one `cancel` action per recurring operation recorded on a node where maintenance now
//! applies. The agent stops that monitor and drops it from its history; the DC confirms
//! the action once the op is gone from the node's NodeState (cleanup.rs `Leftovers`).
//! When maintenance ends the history has no recurring monitor, so the scheduler asks for
//! it again, as Pacemaker does.

use std::collections::HashSet;

use pacer_crds::TransitionAction;
use pacer_scheduler::{model::Cluster, unpack::is_true};

use crate::index::Index;

/// Timeout of a cancel action (the agent only stops a timer).
const TIMEOUT_MS: i64 = 20_000;

/// Where maintenance applies, worked out once per plan (asked for every recorded
/// recurring operation and every active instance).
struct Maintenance<'a> {
    /// `maintenance-mode`.
    all: bool,
    nodes: HashSet<&'a str>,
    /// Ids and config ids of resources with `maintenance=true` on themselves or a parent.
    ids: HashSet<&'a str>,
    config_ids: HashSet<&'a str>,
}

impl<'a> Maintenance<'a> {
    fn of(cl: &'a Cluster) -> Self {
        let mut m = Maintenance {
            all: cl.options.maintenance_mode,
            nodes: cl
                .nodes
                .iter()
                .filter(|n| n.maintenance)
                .map(|n| n.name.as_str())
                .collect(),
            ids: HashSet::new(),
            config_ids: HashSet::new(),
        };
        for (i, r) in cl.resources.iter().enumerate() {
            let mut cur = Some(i);
            while let Some(x) = cur {
                if cl.resources[x]
                    .meta
                    .get("maintenance")
                    .is_some_and(|v| is_true(v))
                {
                    m.ids.insert(&r.id);
                    m.config_ids.insert(&r.config_id);
                    break;
                }
                cur = cl.resources[x].parent;
            }
        }
        m
    }

    fn is_empty(&self) -> bool {
        !self.all && self.nodes.is_empty() && self.ids.is_empty()
    }

    /// Whether maintenance applies to history id `lrm_id` on node `node` (a name).
    fn covers(&self, node: &str, lrm_id: &str) -> bool {
        let base = lrm_id.split(':').next().unwrap_or(lrm_id);
        self.all
            || self.nodes.contains(node)
            || self.ids.contains(lrm_id)
            || self.config_ids.contains(base)
    }
}

/// `cancel` actions for the recurring operations maintenance must stop, numbered from
/// `first_id`.
pub fn cancels(cl: &Cluster, index: &Index, first_id: i64) -> Vec<TransitionAction> {
    let mut out = Vec::new();
    let maintenance = Maintenance::of(cl);
    if maintenance.is_empty() {
        return out;
    }
    for (name, s) in &index.node_states {
        let node = s.spec.uname.clone().unwrap_or_else(|| name.clone());
        for r in s.spec.lrm.iter().flat_map(|l| &l.resources) {
            for op in &r.operations {
                let interval: i64 = op
                    .interval
                    .as_deref()
                    .and_then(|i| i.trim().parse().ok())
                    .unwrap_or(0);
                if interval == 0
                    || op.call_id.as_deref() == Some("-1")
                    || !maintenance.covers(&node, &r.id)
                {
                    continue;
                }
                out.push(TransitionAction {
                    id: first_id + out.len() as i64,
                    task: "cancel".into(),
                    resource: Some(r.id.clone()),
                    node: node.clone(),
                    interval_ms: interval,
                    timeout_ms: TIMEOUT_MS,
                    meta: [("operation".to_string(), op.operation.clone())].into(),
                    ..Default::default()
                });
            }
        }
    }
    out
}

/// The history key a cancel action removes: `RSC_OP_INTERVAL`.
pub fn op_key(a: &TransitionAction) -> String {
    format!(
        "{}_{}_{}",
        a.resource.as_deref().unwrap_or(""),
        a.meta.get("operation").map_or("monitor", String::as_str),
        a.interval_ms
    )
}

/// Recurring monitors an active resource should have but whose node's history lacks —
/// after maintenance ended (their cancels removed them) or any other loss — as graph
/// actions numbered from `first_id`, so they are planned like the scheduler's own.
/// Resources the graph already acts on at that node get theirs from the graph.
pub fn missing_monitors(
    s: &pacer_scheduler::Schedule,
    index: &Index,
    first_id: usize,
) -> Vec<pacer_scheduler::graph::Action> {
    use pacer_scheduler::{graph::Task, model::Role};
    let cl = &s.cluster;
    let maintenance = Maintenance::of(cl);
    // (node, RSC_OP_INTERVAL) of the recurring operations in the history.
    let recorded: HashSet<(&str, &str)> = index.recurring_ops().collect();
    let busy: HashSet<(&str, &str)> = s
        .graph
        .actions
        .iter()
        .filter_map(|a| Some((a.resource.as_deref()?, a.node.as_str())))
        .collect();
    let mut out = Vec::new();
    for (r, res) in cl.resources.iter().enumerate() {
        if !res.is_primitive() || res.orphan {
            continue;
        }
        let anonymous = cl
            .clone_of(r)
            .and_then(|c| cl.resources[c].clone.as_ref())
            .is_some_and(|c| !c.unique);
        let lrm_id = if anonymous { &res.config_id } else { &res.id };
        for st in &res.status {
            let Some(node) = cl.nodes.get(st.node) else {
                continue;
            };
            if !st.role.is_active()
                || st.failed
                || st.pending
                || !node.online
                || busy.contains(&(res.id.as_str(), node.name.as_str()))
                || maintenance.covers(&node.name, lrm_id)
            {
                continue;
            }
            let promoted = st.role == Role::Promoted;
            for op in &res.ops {
                let role_ok = match op.role {
                    Some(Role::Promoted) => promoted,
                    Some(Role::Stopped) => false,
                    Some(_) => !promoted,
                    None => !promoted,
                };
                if op.name != "monitor" || op.interval_ms == 0 || !op.enabled || !role_ok {
                    continue;
                }
                let key = format!("{lrm_id}_monitor_{}", op.interval_ms);
                if recorded.contains(&(node.name.as_str(), key.as_str())) {
                    continue;
                }
                out.push(pacer_scheduler::graph::Action {
                    id: first_id + out.len(),
                    task: Task::Monitor {
                        interval_ms: op.interval_ms,
                    },
                    resource: Some(res.id.clone()),
                    node: node.name.clone(),
                });
            }
        }
    }
    out
}
