//! Live migrations the history left unfinished or failed (crm_simulate 2.1.5).
//!
//! A migration is migrate_to on the source S, migrate_from on the target T, then a
//! stop on S. What a recorded migrate_to means depends on what T's history says:
//! - T is offline: S's state is unknown (failed) and the resource may not migrate.
//! - T has no history for the resource: nothing happened there; S's own history stands.
//! - T did something (not a recurring monitor) after the migrate_to: the migration is
//!   over; if the migrate_to succeeded and S did nothing since, S's state is unknown
//!   (failed).
//! - T ran migrate_from: it succeeded → the resource runs on T and, if S did nothing
//!   since the migrate_to, still needs its stop on S (silently) and may not migrate
//!   again before; it failed → failed on T (and S's own state).
//! - No migrate_from yet: after a successful migrate_to the resource may run on T
//!   too: with S still active this is a partial migration (it continues if T stays the
//!   target), with S stopped it runs on T in an unknown state (restarted, not migrated);
//!   after a failed migrate_to it is failed on T too (S stopped: it is restarted on T).
//!
//! A copy the migrate_to puts on T is listed before S's own (it counts as where the
//! resource is).

use crate::model::{Cluster, NodeIdx, NodeStatus, Role, RscIdx};

/// One operation of one node's history, as far as migrations care.
pub(super) struct OpView<'a> {
    pub name: &'a str,
    pub ok: bool,
    pub pending: bool,
    pub recurring: bool,
    pub time: i64,
    pub source: Option<&'a str>,
    pub target: Option<&'a str>,
}

struct MigrateTo {
    target: String,
    ok: bool,
    time: i64,
    /// Nothing but recurring monitors followed it here.
    last: bool,
}

/// What one node's history of one resource says about migrations.
#[derive(Default)]
pub(super) struct Trace {
    migrate_to: Option<MigrateTo>,
    /// The last migrate_from here: its source and whether it succeeded.
    migrate_from: Option<(String, bool)>,
    /// Latest change by an operation that is not a recurring monitor nor migrate_from.
    latest_state: Option<i64>,
}

impl Trace {
    /// `ops` in call order.
    pub fn new(ops: &[OpView]) -> Self {
        let mut t = Trace::default();
        for op in ops.iter().filter(|o| !o.pending && !o.recurring) {
            if let Some(mt) = &mut t.migrate_to {
                mt.last = false;
            }
            match op.name {
                "migrate_to" => {
                    t.migrate_to = op.target.map(|target| MigrateTo {
                        target: target.to_string(),
                        ok: op.ok,
                        time: op.time,
                        last: true,
                    })
                }
                "migrate_from" => {
                    t.migrate_from = op.source.map(|s| (s.to_string(), op.ok));
                    continue;
                }
                _ => {}
            }
            t.latest_state = Some(t.latest_state.map_or(op.time, |x| x.max(op.time)));
        }
        t
    }
}

/// Apply every recorded migrate_to, once all nodes' histories are in.
pub(super) fn settle(cl: &mut Cluster, traces: &[(RscIdx, NodeIdx, Trace)]) {
    for r in cl.resources.iter_mut() {
        for s in r.status.iter_mut() {
            s.migrated_to = None;
        }
    }
    for (r, src, tr) in traces {
        let (r, src) = (*r, *src);
        let Some(mt) = &tr.migrate_to else {
            continue;
        };
        let Some(tgt) = cl.node_by_name(&mt.target).filter(|&t| t != src) else {
            continue;
        };
        if cl.clone_of(r).is_some() {
            continue;
        }
        if !cl.nodes[tgt].online {
            // The target is gone: the source's state after the migrate_to is unknown.
            let res = &mut cl.resources[r];
            if mt.ok
                && let Some(s) = res
                    .status
                    .iter_mut()
                    .find(|s| s.node == src && s.role.is_active())
            {
                s.failed = true;
                res.allow_migrate = false;
            }
            continue;
        }
        let Some((_, _, at_target)) = traces.iter().find(|(x, n, _)| *x == r && *n == tgt) else {
            continue; // never touched there
        };
        let src_name = cl.nodes[src].name.clone();
        let res = &mut cl.resources[r];
        let src_pos = res.status.iter().position(|s| s.node == src);
        let history_name =
            src_pos.map_or_else(|| res.id.clone(), |p| res.status[p].history_name.clone());
        let src_active = src_pos.is_some_and(|p| res.status[p].role.is_active());
        // (A migrate_to without a recorded time is never older than anything.)
        if mt.time > 0 && at_target.latest_state.is_some_and(|t| t > mt.time) {
            // Over: the source's state is unknown if it did nothing since.
            if mt.ok
                && mt.last
                && let Some(p) = src_pos
            {
                res.status[p].failed = true;
            }
            continue;
        }
        match at_target
            .migrate_from
            .as_ref()
            .filter(|(s, _)| *s == src_name)
        {
            Some((_, true)) => {
                if mt.ok && mt.last {
                    // Dangling: done on the target, the source still needs its stop.
                    if let Some(p) = src_pos {
                        res.status[p].role = Role::Stopped;
                        res.status[p].dangling = true;
                    }
                    res.allow_migrate = false;
                } else {
                    to_front(&mut res.status, tgt, None);
                }
            }
            Some((_, false)) => to_front(&mut res.status, tgt, None),
            None => {
                let copy = |failed: bool, restart: bool| NodeStatus {
                    node: tgt,
                    role: Role::Started,
                    failed,
                    stop_failed: false,
                    on_fail: None,
                    banned: false,
                    fatal: false,
                    pending: false,
                    migrated_to: None,
                    migrate_from: None,
                    failed_op: failed.then(|| "migrate_to".to_string()),
                    start_digest: None,
                    restart_digest: None,
                    restart,
                    dangling: false,
                    reset_failure: None,
                    history_name: history_name.clone(),
                };
                match (mt.ok, src_active) {
                    // Partial: it may continue towards the target.
                    (true, true) => {
                        if let Some(p) = src_pos {
                            res.status[p].migrated_to = Some(tgt);
                        }
                        to_front(&mut res.status, tgt, Some(copy(false, false)));
                    }
                    (true, false) => {
                        to_front(&mut res.status, tgt, Some(copy(false, true)));
                        res.allow_migrate = false;
                    }
                    (false, true) => to_front(&mut res.status, tgt, Some(copy(true, false))),
                    (false, false) => to_front(&mut res.status, tgt, Some(copy(false, true))),
                }
            }
        }
    }
}

/// Put the status on `node` first, creating it from `new` if there is none.
fn to_front(status: &mut Vec<NodeStatus>, node: NodeIdx, new: Option<NodeStatus>) {
    let entry = match status.iter().position(|s| s.node == node) {
        Some(p) => {
            let mut e = status.remove(p);
            if let Some(n) = new
                && !e.role.is_active()
            {
                e = n;
            }
            e
        }
        None => match new {
            Some(n) => n,
            None => return,
        },
    };
    status.insert(0, entry);
}
