//! `<status>` operation history → per-primitive [`NodeStatus`]: where each resource
//! is active, in which role, and whether it failed; orphans become stop-only resources.

use super::anon_clone::{OrphanInstances, Slot, anonymous_clone_of};
use super::{IdIndex, child, children, status_named};
use crate::model::{Cluster, Kind, NodeIdx, NodeStatus, OnFail, Resource, Role, Ticket};
use roxmltree::Node as XNode;
use std::collections::{BTreeMap, HashMap};

pub fn unpack_tickets(cl: &mut Cluster, status: &[XNode]) {
    let all = status.iter().flat_map(|s| s.descendants());
    for t in all.filter(|n| n.has_tag_name("ticket_state")) {
        let Some(id) = t.attribute("id") else {
            continue;
        };
        cl.tickets.insert(
            id.to_string(),
            Ticket {
                id: id.to_string(),
                granted: t.attribute("granted").is_some_and(super::options::is_true),
                standby: t.attribute("standby").is_some_and(super::options::is_true),
            },
        );
    }
}

struct Op<'a, 'i> {
    x: XNode<'a, 'i>,
    name: &'a str,
    call_id: i64,
    rc: i64,
    status: i64,
    interval_ms: u64,
    expected: i64,
    last_change: i64,
}

fn parse_op<'a, 'i>(x: XNode<'a, 'i>) -> Option<Op<'a, 'i>> {
    // One pass over the attributes: the status holds an operation per resource per
    // node, and a lookup by name rescans the attribute list each time.
    let num = |v: &str| v.trim().parse::<i64>().ok();
    let (mut name, mut call_id, mut rc, mut status, mut interval_ms, mut expected) =
        (None, -1, 0, 0, 0, 0);
    let (mut last_rc_change, mut last_run) = (None, None);
    for a in x.attributes() {
        let v = a.value();
        match a.name() {
            "operation" => name = Some(v),
            "call-id" => call_id = num(v).unwrap_or(-1),
            "rc-code" => rc = num(v).unwrap_or(0),
            "op-status" => status = num(v).unwrap_or(0),
            "interval" => interval_ms = v.parse().unwrap_or(0),
            "transition-key" => {
                expected = v
                    .split(':')
                    .nth(2)
                    .and_then(|e| e.parse().ok())
                    .unwrap_or(0)
            }
            "last-rc-change" => last_rc_change = num(v),
            "last-run" => last_run = num(v),
            _ => {}
        }
    }
    Some(Op {
        x,
        name: name?,
        call_id,
        rc,
        status,
        interval_ms,
        expected,
        last_change: last_rc_change.or(last_run).unwrap_or(0),
    })
}

/// The state one lrm_resource's history leaves the resource in on one node.
struct Outcome {
    role: Role,
    failed: bool,
    stop_failed: bool,
    banned: bool,
    pending: bool,
    on_fail: Option<OnFail>,
    failed_op: Option<String>,
    migrated_to: Option<String>,
    migrate_from: Option<bool>,
    start_digest: Option<String>,
    restart_digest: Option<(Option<String>, String)>,
    fatal: bool,
    reset_failure: Option<i64>,
}

fn replay(ops: &mut [Op], rsc: Option<&Resource>, cl: &Cluster) -> Outcome {
    // Pending operations (call-id -1) sort last; otherwise history order is call order.
    ops.sort_by_key(|o| if o.call_id < 0 { i64::MAX } else { o.call_id });
    let mut out = Outcome {
        role: Role::Stopped,
        failed: false,
        stop_failed: false,
        banned: false,
        pending: false,
        on_fail: None,
        failed_op: None,
        migrated_to: None,
        migrate_from: None,
        start_digest: None,
        restart_digest: None,
        fatal: false,
        reset_failure: None,
    };
    let promotable = rsc.is_some_and(|r| {
        r.parent
            .and_then(|p| cl.clone_of(p))
            .and_then(|c| cl.resources[c].clone.as_ref())
            .is_some_and(|c| c.promotable)
    });
    let started = if promotable {
        Role::Unpromoted
    } else {
        Role::Started
    };
    for op in ops.iter() {
        if op.status == 1 {
            continue; // cancelled
        }
        let pending = op.status == -1 || op.rc == 193 || op.call_id < 0;
        if pending {
            out.pending = true;
            // A start in flight runs with the parameters it was given.
            if matches!(op.name, "start" | "migrate_from") {
                record_digests(&mut out, op);
            }
            match op.name {
                "start" | "migrate_from" => out.role = started,
                "promote" => out.role = Role::Promoted,
                "stop" | "demote" | "migrate_to" if out.role == Role::Stopped => out.role = started,
                _ => {}
            }
            continue;
        }
        let expired = rsc.is_some_and(|r| {
            r.failure_timeout_s > 0
                && op.last_change > 0
                && op.last_change + r.failure_timeout_s <= cl.now
        });
        let configured_on_fail = rsc.and_then(|r| {
            r.ops
                .iter()
                .find(|d| d.name == op.name && d.interval_ms == op.interval_ms)
                .and_then(|d| d.on_fail)
        });
        let is_probe = op.name == "monitor" && op.interval_ms == 0;
        let ok_rc = |rc: i64| rc == 0 || rc == 8 || rc == 190 || rc == 191;
        let mut failure =
            op.status != 0 || (op.rc != op.expected && !(is_probe && (op.rc == 7 || ok_rc(op.rc))));
        if op.rc == op.expected && op.status != 2 {
            failure = false;
        }
        if is_probe && op.rc == 7 && op.status != 2 {
            failure = false;
        }
        if (op.rc == 190 || op.rc == 191) && op.status == 0 && op.expected == 0 {
            failure = false;
        }
        if failure && configured_on_fail == Some(OnFail::Ignore) {
            // The failure is ignored: the resource keeps the state it had.
            continue;
        }
        if failure && expired {
            continue;
        }
        out.migrate_from = (op.name == "migrate_from").then_some(!failure);
        // A reload puts the resource's current parameters in place as a start does.
        if !failure && matches!(op.name, "start" | "migrate_from" | "reload-agent" | "reload") {
            record_digests(&mut out, op);
        }
        if !failure {
            match op.name {
                "start" | "migrate_from" => out.role = started,
                "stop" => {
                    out.role = Role::Stopped;
                    out.failed = false;
                    out.stop_failed = false;
                    out.migrated_to = None;
                }
                "promote" => out.role = Role::Promoted,
                "demote" => out.role = Role::Unpromoted,
                "migrate_to" => {
                    out.role = started;
                    out.migrated_to = op.x.attribute("migrate_target").map(|s| s.to_string());
                }
                "monitor" => match op.rc {
                    7 => {
                        out.role = Role::Stopped;
                        out.failed = false;
                    }
                    8 | 191 => out.role = Role::Promoted,
                    0 | 190 if (out.role == Role::Stopped || !promotable || is_probe) => {
                        out.role = started
                    }
                    _ => {}
                },
                _ => {}
            }
            if matches!(op.name, "start" | "promote" | "demote" | "migrate_from") {
                out.failed = false;
            }
            continue;
        }
        // A failure.
        let hard = matches!(op.rc, 2..=5) || matches!(op.status, 3 | 5 | 7);
        if op.rc == 5 || op.status == 7 {
            out.banned = true;
            if is_probe || op.name == "start" {
                out.role = Role::Stopped;
                out.failed = false;
                continue;
            }
        }
        if op.rc == 6 || op.status == 6 {
            out.fatal = true;
        }
        if hard {
            out.banned = true;
        }
        out.failed = true;
        out.failed_op = Some(if is_probe { "probe" } else { op.name }.to_string());
        // A failed probe or start means no connection was established yet; any other
        // failure of a remote connection (without an on-fail of its own) loses it.
        if !is_probe && op.name != "start" && configured_on_fail.is_none_or(|f| f == OnFail::Fence)
        {
            out.reset_failure = Some(out.reset_failure.unwrap_or(0).max(op.last_change));
        }
        out.on_fail = configured_on_fail;
        match op.name {
            "stop" => {
                out.stop_failed = true;
                if out.role == Role::Stopped {
                    out.role = started;
                }
            }
            "monitor" => match op.rc {
                8 | 9 => out.role = Role::Promoted,
                7 if is_probe => out.role = started,
                _ => {
                    if out.role == Role::Stopped {
                        out.role = started
                    }
                }
            },
            "promote" => out.role = Role::Promoted,
            // A failed demote leaves an unpromoted (failed) instance behind.
            "demote" => out.role = Role::Unpromoted,
            "start" => {
                out.role = started;
            }
            "notify" => {
                out.failed = false;
            }
            _ => {
                if out.role == Role::Stopped {
                    out.role = started
                }
            }
        }
    }
    out
}

/// The parameter digests a start (or reload) records: the resource now runs with
/// those parameters.
fn record_digests(out: &mut Outcome, op: &Op) {
    // With secure parameters (passwords) masked in the CIB, the digest without
    // them is the one to compare: "secure:<names>|<digest>|<op-digest>" (the full
    // op-digest still counts when it matches).
    out.start_digest = match (
        op.x.attribute("op-secure-params"),
        op.x.attribute("op-secure-digest"),
    ) {
        (Some(names), Some(d)) => Some(format!(
            "secure:{}|{d}|{}",
            names.trim(),
            op.x.attribute("op-digest").unwrap_or_default()
        )),
        _ => op.x.attribute("op-digest").map(|d| d.to_string()),
    };
    out.restart_digest = op.x.attribute("op-restart-digest").map(|d| {
        (
            op.x.attribute("op-force-restart").map(str::to_string),
            d.to_string(),
        )
    });
}

/// Primitives by printed id (non-instances) and by configured id (clone instances).
#[derive(Default)]
struct Lookup {
    by_id: HashMap<String, usize>,
    by_config: HashMap<String, Vec<usize>>,
}

impl Lookup {
    fn new(cl: &Cluster) -> Self {
        let mut l = Lookup::default();
        for (i, r) in cl.resources.iter().enumerate() {
            if !r.is_primitive() {
                continue;
            }
            if r.instance.is_none() {
                l.by_id.entry(r.id.clone()).or_insert(i);
            } else {
                l.by_config.entry(r.config_id.clone()).or_default().push(i);
            }
        }
        l
    }
}

pub fn unpack_history(cl: &mut Cluster, status: &[XNode], _cfg: Option<XNode>, idx: &IdIndex) {
    // Remote connections that are only in the history (removed from the configuration)
    // still name a remote (or, with a container, guest) node until they are stopped.
    let mut orphan_guests: Vec<(usize, String)> = Vec::new();
    let entries: Vec<XNode> = status_named(status, "node_state")
        .filter_map(|ns| child(ns, "lrm"))
        .filter_map(|l| child(l, "lrm_resources"))
        .flat_map(|l| children(l, "lrm_resource"))
        .filter(|lr| lr.attribute("type") == Some("remote"))
        .collect();
    for lr in entries {
        let (Some(id), Some("ocf"), Some("pacemaker"), Some("remote")) = (
            lr.attribute("id"),
            lr.attribute("class"),
            lr.attribute("provider"),
            lr.attribute("type"),
        ) else {
            continue;
        };
        if cl.node_by_name(id).is_some() || cl.resources.iter().any(|r| r.id == id) {
            if let (Some(c), Some(n)) = (lr.attribute("container"), cl.node_by_name(id))
                && cl.nodes[n].remote_of.is_none()
                && !orphan_guests.iter().any(|(x, _)| *x == n)
            {
                orphan_guests.push((n, c.to_string()));
            }
            continue;
        }
        let mut attrs = std::collections::BTreeMap::new();
        attrs.insert("#uname".to_string(), id.to_string());
        attrs.insert("#id".to_string(), id.to_string());
        attrs.insert("#kind".to_string(), "remote".to_string());
        cl.nodes.push(crate::model::Node {
            id: id.to_string(),
            name: id.to_string(),
            kind: crate::model::NodeKind::Remote,
            online: false,
            unclean: false,
            unclean_reason: String::new(),
            standby: false,
            maintenance: false,
            shutdown: false,
            attrs,
            utilization: Default::default(),
            remote_of: None,
            container: None,
            was_fenced: false,
        });
        if let Some(c) = lr.attribute("container") {
            orphan_guests.push((cl.nodes.len() - 1, c.to_string()));
        }
    }
    unpack_node_histories(cl, status, idx);
    for (n, c) in orphan_guests {
        if let Some(r) = cl.resources.iter().position(|r| r.id == c && r.is_primitive()) {
            cl.nodes[n].container = Some(r);
            cl.nodes[n].attrs.insert("#kind".into(), "container".into());
        }
    }
}

fn unpack_node_histories(cl: &mut Cluster, status: &[XNode], idx: &IdIndex) {
    let mut lookup = Lookup::new(cl);
    let mut anon_clones: HashMap<String, Option<usize>> = HashMap::new();
    let mut anon_orphans = OrphanInstances::default();
    let mut traces = Vec::new();
    for ns in status_named(status, "node_state") {
        let node = ns
            .attribute("uname")
            .and_then(|u| cl.node_by_name(u))
            .or_else(|| {
                ns.attribute("id")
                    .and_then(|id| cl.nodes.iter().position(|n| n.id == id))
            });
        let Some(node) = node else { continue };
        let Some(lrm) = child(ns, "lrm") else {
            continue;
        };
        let Some(lrs) = child(lrm, "lrm_resources") else {
            continue;
        };
        for lr in children(lrs, "lrm_resource") {
            let Some(id) = lr.attribute("id") else {
                continue;
            };
            let mut ops: Vec<Op> = children(lr, "lrm_rsc_op").filter_map(parse_op).collect();
            if ops.is_empty() {
                continue;
            }
            // Any entry means the resource's state there is known: no probe needed.
            let known: Vec<usize> = match lookup.by_id.get(id) {
                Some(&r) => vec![r],
                None => {
                    let (base, num) = match id.rsplit_once(':') {
                        Some((b, n)) => (b, n.parse::<usize>().ok()),
                        None => (id, None),
                    };
                    let all = lookup.by_config.get(base).cloned().unwrap_or_default();
                    let unique = all.first().and_then(|&r| cl.clone_of(r)).is_some_and(|c| {
                        cl.resources[c].clone.as_ref().is_some_and(|c| c.unique)
                    });
                    if unique {
                        all.into_iter()
                            .filter(|&r| num.is_none() || cl.resources[r].instance == num)
                            .collect()
                    } else {
                        all
                    }
                }
            };
            for r in known {
                if !cl.resources[r].known_on.contains(&node) {
                    cl.resources[r].known_on.push(node);
                }
            }
            let guess = find_config(&lookup, id);
            let out = replay(&mut ops, guess.map(|r| &cl.resources[r]), cl);
            if let Some(&r) = lookup.by_id.get(id) {
                traces.push((r, node, migration_trace(&ops)));
            }
            let interesting = out.role.is_active()
                || out.failed
                || out.banned
                || out.pending
                || out.migrate_from.is_some()
                || (out.reset_failure.is_some()
                    && guess.is_some_and(|r| cl.resources[r].is_remote_connection()));
            // Every entry of an anonymous clone takes an instance, even an inactive one.
            let base = id.rsplit_once(':').map(|(b, _)| b).unwrap_or(id);
            let anon = match lookup.by_id.get(id) {
                Some(&r) if !cl.resources[r].orphan => None,
                _ => *anon_clones
                    .entry(base.to_string())
                    .or_insert_with(|| anonymous_clone_of(cl, idx, base)),
            };
            // Without fencing, a member node that is down has no say (its history is
            // not read): its entries must not take instances.
            let unread = cl.nodes[node].kind == crate::model::NodeKind::Member
                && !cl.nodes[node].online
                && !cl.options.stonith_enabled;
            if anon.is_some() && unread {
                continue;
            }
            let slot = anon.map(|c| anon_orphans.find(cl, c, base, node));
            if !interesting {
                continue;
            }
            // A copy of an anonymous clone's instance, configured or surplus.
            let clone_copy = slot.is_some();
            let rsc = match slot {
                Some(Slot::Primitive(r)) => r,
                Some(Slot::Orphan { clone, number }) => {
                    let r = orphan(cl, &format!("{base}:{number}"), lr);
                    // A clone's surplus copy is stopped whatever stop-orphan-resources says.
                    cl.resources[r].managed = cl.resources[clone].managed;
                    anon_orphans.adopt(clone, number, base, r);
                    r
                }
                None => match map_to_primitive(cl, &lookup, id, node) {
                    Some(r) => r,
                    None => {
                        // Surplus copies of clone instances are numbered after the
                        // configured instances.
                        let base = id.rsplit_once(':').map(|(b, _)| b).unwrap_or(id);
                        let name = match lookup.by_config.get(base) {
                            Some(insts) => {
                                let prefix = format!("{base}:");
                                let extra = cl
                                    .resources
                                    .iter()
                                    .filter(|r| r.orphan && r.id.starts_with(&prefix))
                                    .count();
                                format!("{base}:{}", insts.len() + extra)
                            }
                            None => id.to_string(),
                        };
                        let r = orphan(cl, &name, lr);
                        lookup.by_id.insert(name, r);
                        r
                    }
                },
            };
            // A managed resource active on a node that left cleanly: with fencing
            // enabled, the node may still run it and must be fenced first.
            if out.role.is_active()
                && cl.options.stonith_enabled
                && !cl.options.maintenance_mode
                && cl.resources[rsc].managed
                && (!cl.resources[rsc].orphan || clone_copy)
                && cl.nodes[node].kind == crate::model::NodeKind::Member
                && !cl.nodes[node].online
                && !cl.nodes[node].unclean
                && !cl.nodes[node].maintenance
            {
                let n = &mut cl.nodes[node];
                n.unclean = true;
                n.unclean_reason = format!("{} is thought to be active there", cl.resources[rsc].id);
            }
            let migrated_to = out.migrated_to.as_deref().and_then(|t| cl.node_by_name(t));
            let res = &mut cl.resources[rsc];
            if out.failed && out.on_fail == Some(OnFail::Block) {
                res.blocked = true;
            }
            if out.fatal {
                res.blocked = false;
            }
            res.status.push(NodeStatus {
                node,
                role: out.role,
                failed: out.failed,
                stop_failed: out.stop_failed,
                on_fail: out.on_fail,
                banned: out.banned,
                fatal: out.fatal,
                pending: out.pending,
                migrated_to,
                migrate_from: out.migrate_from,
                start_digest: out.start_digest,
                restart_digest: out.restart_digest,
                failed_op: out.failed_op,
                restart: false,
                dangling: false,
                reset_failure: out.reset_failure,
                history_name: id.to_string(),
            });
        }
    }
    super::migration::settle(cl, &traces);
}

/// What the (call-ordered) operations say about live migrations.
fn migration_trace(ops: &[Op]) -> super::migration::Trace {
    let views: Vec<super::migration::OpView> = ops
        .iter()
        .filter(|o| o.status != 1)
        .map(|o| super::migration::OpView {
            name: o.name,
            ok: o.rc == 0 && o.status == 0,
            pending: o.status == -1 || o.rc == 193 || o.call_id < 0,
            recurring: o.interval_ms > 0,
            time: o.last_change,
            source: o.x.attribute("migrate_source"),
            target: o.x.attribute("migrate_target"),
        })
        .collect();
    super::migration::Trace::new(&views)
}

/// Any primitive with this configured id (for op definitions while replaying).
fn find_config(l: &Lookup, id: &str) -> Option<usize> {
    let base = id.split(':').next().unwrap_or(id);
    l.by_id
        .get(id)
        .copied()
        .or_else(|| l.by_config.get(base).and_then(|v| v.first().copied()))
}

fn clone_instance_root(cl: &Cluster, r: usize) -> usize {
    // The child of the clone that contains r.
    let mut cur = r;
    while let Some(p) = cl.resources[cur].parent {
        if cl.resources[p].kind == Kind::Clone {
            return cur;
        }
        cur = p;
    }
    r
}

fn map_to_primitive(cl: &Cluster, l: &Lookup, id: &str, node: NodeIdx) -> Option<usize> {
    if let Some(&r) = l.by_id.get(id)
        && !cl.resources[r].orphan
    {
        return Some(r);
    }
    let (base, num) = match id.rsplit_once(':') {
        Some((b, n)) => (b, n.parse::<usize>().ok()),
        None => (id, None),
    };
    // A bundle's primitive: the instance of the replica this node is.
    if let Some(r) = super::bundle::instance_on(cl, base, node) {
        return Some(r);
    }
    let cands: Vec<usize> = l.by_config.get(base).cloned().unwrap_or_default();
    if cands.is_empty() {
        return None;
    }
    let clone = cl.clone_of(cands[0])?;
    let unique = cl.resources[clone].clone.as_ref().is_some_and(|c| c.unique);
    if unique {
        return cands.into_iter().find(|&r| {
            Some(cl.resources[r].instance.unwrap_or(usize::MAX)) == num.or(Some(usize::MAX))
        });
    }
    // Anonymous: an instance already present on this node (other group member), else
    // the numbered one if free, else the lowest free instance.
    let instance_busy_elsewhere = |r: usize| {
        let root = clone_instance_root(cl, r);
        cl.primitives_of(root)
            .iter()
            .any(|&p| !cl.resources[p].status.is_empty())
    };
    let instance_here = |r: usize| {
        let root = clone_instance_root(cl, r);
        cl.primitives_of(root)
            .iter()
            .any(|&p| cl.resources[p].status.iter().any(|s| s.node == node))
    };
    if let Some(&r) = cands
        .iter()
        .find(|&&r| instance_here(r) && cl.resources[r].status.iter().all(|s| s.node != node))
    {
        return Some(r);
    }
    // A second copy of the same anonymous instance on one node is an orphan.
    if cands
        .iter()
        .any(|&r| cl.resources[r].status.iter().any(|s| s.node == node))
    {
        return None;
    }
    if let Some(&r) = cands.iter().find(|&&r| !instance_busy_elsewhere(r)) {
        return Some(r);
    }
    // More active copies than instances: an orphaned instance.
    None
}

fn orphan(cl: &mut Cluster, id: &str, lr: XNode) -> usize {
    if let Some(r) = cl.resources.iter().rposition(|r| r.orphan && r.id == id) {
        return r;
    }
    let kind = Kind::Primitive {
        class: lr.attribute("class").unwrap_or("ocf").to_string(),
        provider: lr.attribute("provider").map(|s| s.to_string()),
        agent: lr.attribute("type").unwrap_or_default().to_string(),
    };
    cl.resources.push(Resource {
        id: id.to_string(),
        config_id: id.to_string(),
        kind,
        parent: None,
        children: vec![],
        meta: BTreeMap::new(),
        params: BTreeMap::new(),
        priority: 0,
        stickiness: 0,
        migration_threshold: crate::score::INFINITY,
        failure_timeout_s: 0,
        managed: cl.options.stop_orphan_resources,
        target_role: Some(Role::Stopped),
        allow_migrate: false,
        requires_fencing: false,
        requires_quorum: false,
        ops: vec![],
        clone: None,
        instance: None,
        status: vec![],
        orphan: true,
        definition_changed: vec![],
        known_on: vec![],
        history_id: lr.attribute("id").filter(|h| *h != id).map(str::to_string),
        utilization: BTreeMap::new(),
        blocked: false,
    });
    let r = cl.resources.len() - 1;
    cl.top.push(r);
    r
}

/// Post-processing once history and configuration are both known.
pub fn finish_status(cl: &mut Cluster) {
    // maintenance-mode, or a node in maintenance: what runs there is left alone.
    let maintenance_mode = cl.options.maintenance_mode;
    for r in cl.resources.iter_mut() {
        if maintenance_mode
            || r.status
                .iter()
                .any(|s| s.role.is_active() && cl.nodes[s.node].maintenance)
        {
            r.managed = false;
        }
    }
    let lookup = Lookup::new(cl);
    // Resources on cleanly offline nodes are stopped there.
    // Without fencing, an unclean node's resources are assumed stopped as well.
    let stonith = cl.options.stonith_enabled;
    let clean_offline: Vec<bool> = cl
        .nodes
        .iter()
        .map(|n| !n.online && (!n.unclean || !stonith))
        .collect();
    for r in cl.resources.iter_mut() {
        r.status.retain(|s| !clean_offline[s.node]);
    }
    // Fail counts from node attributes.
    for n in 0..cl.nodes.len() {
        let attrs: Vec<(String, String)> = cl.nodes[n]
            .attrs
            .iter()
            .filter(|(k, _)| k.starts_with("fail-count-") || k.starts_with("last-failure-"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in attrs {
            let (is_count, rest) = match k.strip_prefix("fail-count-") {
                Some(r) => (true, r),
                None => (false, k.strip_prefix("last-failure-").unwrap_or("")),
            };
            let rid = rest.split('#').next().unwrap_or(rest);
            // fail-count is a score (INFINITY allowed); last-failure is epoch seconds,
            // which the score parser would clamp to 1000000 (every failure "expired").
            let value = if is_count {
                crate::score::parse(&v).unwrap_or(0)
            } else {
                v.trim().parse::<i64>().unwrap_or(0)
            };
            let targets: Vec<usize> = match lookup.by_id.get(rid) {
                Some(&r) => vec![r],
                None => match lookup.by_config.get(rid) {
                    Some(v) => v.clone(),
                    // An anonymous clone's instance number means nothing: the count
                    // is every instance's (a unique clone's counts for that one only).
                    None => {
                        let (base, num) = rid.rsplit_once(':').unwrap_or((rid, ""));
                        let all = lookup.by_config.get(base).cloned().unwrap_or_default();
                        let anonymous = all.first().and_then(|&r| cl.clone_of(r)).is_some_and(
                            |c| cl.resources[c].clone.as_ref().is_some_and(|c| !c.unique),
                        );
                        let num = num.parse::<usize>().ok();
                        all.into_iter()
                            .filter(|&r| anonymous || cl.resources[r].instance == num)
                            .collect()
                    }
                },
            };
            for r in targets {
                let e = cl.failcounts.entry((r, n)).or_insert((0, 0));
                if is_count {
                    e.0 = crate::score::add(e.0, value);
                } else {
                    e.1 = e.1.max(value);
                }
            }
        }
    }
}
