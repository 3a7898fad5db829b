//! `kubectl pacer status`: crm_mon's view of one cluster (namespace).
//!
//! In: the cluster's objects (configuration, NodeStates with the operator's membership
//! applied, ClusterProperties.status for DC and quorum) and its Transitions. Out: text
//! laid out as crm_mon 2.1.5 prints it (node list, resources with groups and clones
//! folded, failed actions, pending operations, optionally the operation history), or a
//! JSON/YAML document for scripts. Pure: [`render`] does no I/O and reads no clock.
//!
//! Resource state comes from the scheduler's own unpacking of the exported CIB
//! ([`pacer_scheduler::unpack::unpack`]), so `status` shows exactly the roles, failures
//! and orphans the scheduler decides on.

use std::collections::{BTreeMap, BTreeSet};

use pacer_crds::{LrmOperation, NodeState, Transition};
use pacer_scheduler::model::{Cluster, Kind, NodeKind, OnFail, Role, RscIdx};
use serde::Serialize;

use crate::cib::{Object, export::export_cib};

/// Everything `status` shows, as read from the API server (or from a CIB for tests).
#[derive(Clone, Debug, Default)]
pub struct StatusInput {
    /// Configuration objects and NodeStates (membership already decided).
    pub objects: Vec<Object>,
    /// The cluster's Transitions, any order.
    pub transitions: Vec<Transition>,
    /// "now" (seconds since the epoch) for rule evaluation.
    pub now_s: Option<i64>,
}

/// How to print.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// `-o wide`: add the operation history per node (crm_mon `-o`) and fail counts.
    pub operations: bool,
    /// ANSI colour (only when standard output is a terminal).
    pub color: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Export(#[from] crate::cib::Error),
    #[error("unpacking the cluster state: {0}")]
    Unpack(#[from] pacer_scheduler::Error),
}

/// The cluster model the status is computed from.
pub fn cluster_of(input: &StatusInput) -> Result<Cluster, Error> {
    let xml = export_cib(&input.objects)?;
    // Unpacking only, as crm_mon: the state before the scheduler decides anything.
    Ok(pacer_scheduler::unpack::unpack(&xml, input.now_s)?)
}

/// crm_mon's full text.
pub fn render(input: &StatusInput, opts: &RenderOptions) -> Result<String, Error> {
    let cl = cluster_of(input)?;
    let paint = Paint(opts.color);
    let mut out = String::new();
    out.push_str("Cluster Summary:\n");
    let (dc, quorum) = dc_and_quorum(input, &cl);
    match dc {
        Some(dc) => out.push_str(&format!(
            "  * Current DC: {dc} - {}\n",
            if quorum {
                "partition with quorum".to_string()
            } else {
                paint.red("partition WITHOUT quorum")
            }
        )),
        None => out.push_str("  * Current DC: NONE\n"),
    }
    if let Some(t) = current_transition(&input.transitions) {
        let phase = t
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Running".into());
        out.push_str(&format!(
            "  * Last transition: {} ({phase}, {} actions)\n",
            t.metadata.name.clone().unwrap_or_default(),
            t.spec.actions.len()
        ));
    }
    let instances = cl.resources.iter().filter(|r| r.is_primitive()).count();
    out.push_str(&format!(
        "  * {} node{} configured\n",
        cl.nodes.len(),
        if cl.nodes.len() == 1 { "" } else { "s" }
    ));
    out.push_str(&format!(
        "  * {instances} resource instance{} configured\n",
        if instances == 1 { "" } else { "s" }
    ));
    if cl.options.maintenance_mode {
        out.push_str(&format!(
            "\n              {}\n",
            paint.yellow("*** Resource management is DISABLED ***")
        ));
        out.push_str("  The cluster will not attempt to start, stop or recover services\n");
    }
    out.push('\n');
    let pending = pending_ops(&input.objects);
    out.push_str(&format_block(
        &node_lines(&cl, &nodes_with_state(&input.objects)),
        0,
        &paint,
    ));
    out.push('\n');
    out.push_str(&format_block(&resource_lines(&cl, &pending), 0, &paint));
    if opts.operations {
        let ops = operation_lines(&input.objects, &cl);
        if !ops.is_empty() {
            out.push('\n');
            out.push_str(&format_block(&ops, 0, &paint));
        }
    }
    let failed = failed_action_lines(&input.objects);
    if failed.len() > 1 {
        out.push('\n');
        out.push_str(&format_block(&failed, 0, &paint));
    }
    let pend = pending_lines(&input.objects, &input.transitions);
    if pend.len() > 1 {
        out.push('\n');
        out.push_str(&format_block(&pend, 0, &paint));
    }
    Ok(out)
}

/// crm_simulate's "Current cluster status:" block (node list and resources, indented one
/// level deeper than crm_mon prints them).
pub fn cluster_status_block(input: &StatusInput) -> Result<String, Error> {
    let cl = &cluster_of(input)?;
    let paint = Paint(false);
    let mut out = format_block(
        &node_lines(cl, &nodes_with_state(&input.objects)),
        1,
        &paint,
    );
    out.push('\n');
    out.push_str(&format_block(
        &resource_lines(cl, &pending_ops(&input.objects)),
        1,
        &paint,
    ));
    Ok(out)
}

fn nodes_with_state(objects: &[Object]) -> BTreeSet<String> {
    objects
        .iter()
        .filter_map(|o| match o {
            Object::NodeState(ns) => Some(node_name(ns)),
            _ => None,
        })
        .collect()
}

/// A line of a nested list: depth 0 is a heading ("Node List:"), deeper levels are
/// bullets.
type Lines = Vec<(usize, String)>;

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    /// Colours a resource or node line by the state words it contains.
    fn line(&self, s: &str) -> String {
        if !self.0 {
            return s.to_string();
        }
        if s.contains("FAILED") || s.contains("UNCLEAN") || s.contains("OFFLINE") {
            self.red(s)
        } else if s.contains("Stopped") || s.contains("standby") || s.contains("maintenance") {
            self.yellow(s)
        } else if s.contains("Started") || s.contains("Promoted") || s.contains("Online") {
            self.wrap("32", s)
        } else {
            s.to_string()
        }
    }
}

fn format_block(lines: &Lines, base: usize, paint: &Paint) -> String {
    let mut out = String::new();
    for (depth, text) in lines {
        let d = depth + base;
        if d == 0 {
            out.push_str(text);
        } else {
            out.push_str(&"  ".repeat(d));
            out.push_str("* ");
            out.push_str(&paint.line(text));
        }
        out.push('\n');
    }
    out
}

fn dc_and_quorum(input: &StatusInput, cl: &Cluster) -> (Option<String>, bool) {
    for o in &input.objects {
        if let Object::ClusterProperties(p) = o {
            let st = p.status.clone().unwrap_or_default();
            let cib = p.spec.cib.clone().unwrap_or_default();
            let dc = st.dc.or_else(|| {
                let id = cib.dc_uuid?;
                Some(
                    cl.nodes
                        .iter()
                        .find(|n| n.id == id)
                        .map(|n| n.name.clone())
                        .unwrap_or(id),
                )
            });
            let quorum = st.quorum.unwrap_or(cl.options.have_quorum);
            return (dc, quorum);
        }
    }
    (None, cl.options.have_quorum)
}

fn current_transition(ts: &[Transition]) -> Option<&Transition> {
    ts.iter().max_by_key(|t| t.spec.seq)
}

// ---------------------------------------------------------------- nodes

fn health(cl: &Cluster, n: &pacer_scheduler::model::Node) -> Option<&'static str> {
    let strategy = cl.options.node_health_strategy.as_str();
    if strategy.is_empty() || strategy == "none" {
        return None;
    }
    let mut worst = None;
    for (k, v) in &n.attrs {
        if !k.starts_with("#health") {
            continue;
        }
        match v.to_ascii_lowercase().as_str() {
            "red" => return Some("RED"),
            "yellow" => worst = Some("YELLOW"),
            _ => {}
        }
    }
    worst
}

fn runs_something(cl: &Cluster, node: usize) -> bool {
    cl.resources.iter().any(|r| {
        r.is_primitive()
            && r.status
                .iter()
                .any(|s| s.node == node && s.role.is_active())
    })
}

/// "Node List:" with crm_mon's per-node lines and the folded Online/OFFLINE lists.
fn node_lines(cl: &Cluster, with_state: &BTreeSet<String>) -> Lines {
    let mut out: Lines = vec![(0, "Node List:".into())];
    let mut lists: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (i, n) in cl.nodes.iter().enumerate() {
        let kind = match (n.kind, n.remote_of) {
            (NodeKind::Member, _) => "Node",
            (NodeKind::Remote, Some(r)) if !is_remote_connection(cl, r) => "GuestNode",
            (NodeKind::Remote, _) => "RemoteNode",
        };
        let list_prefix = match kind {
            "GuestNode" => "Guest",
            "RemoteNode" => "Remote",
            _ => "",
        };
        // A node that never joined is only "unclean" when it can be fenced.
        let unclean = n.unclean && (cl.options.stonith_enabled || with_state.contains(&n.name));
        let state = if unclean {
            Some(if n.online {
                "UNCLEAN (online)".to_string()
            } else {
                "UNCLEAN (offline)".to_string()
            })
        } else if n.standby {
            Some(if !n.online {
                None
            } else if runs_something(cl, i) {
                Some("standby (with active resources)".to_string())
            } else {
                Some("standby".to_string())
            })
            .flatten()
        } else if n.maintenance {
            Some(if n.online {
                "maintenance".to_string()
            } else {
                "OFFLINE (maintenance)".to_string()
            })
        } else if n.online {
            health(cl, n).map(|h| format!("online (health is {h})"))
        } else {
            None
        };
        match state {
            Some(s) => out.push((1, format!("{kind} {}: {s}", n.name))),
            None => {
                let key: &str = match (list_prefix, n.online) {
                    ("Guest", true) => "GuestOnline",
                    ("Guest", false) => "GuestOFFLINE",
                    ("Remote", true) => "RemoteOnline",
                    ("Remote", false) => "RemoteOFFLINE",
                    (_, true) => "Online",
                    (_, false) => "OFFLINE",
                };
                lists.entry(key).or_default().push(n.name.as_str());
            }
        }
    }
    for key in [
        "Online",
        "OFFLINE",
        "RemoteOnline",
        "RemoteOFFLINE",
        "GuestOnline",
        "GuestOFFLINE",
    ] {
        if let Some(v) = lists.get_mut(key) {
            v.sort();
            out.push((1, format!("{key}: [ {} ]", v.join(" "))));
        }
    }
    out
}

fn is_remote_connection(cl: &Cluster, r: RscIdx) -> bool {
    matches!(&cl.resources[r].kind, Kind::Primitive { class, provider, agent }
        if class == "ocf" && provider.as_deref() == Some("pacemaker") && agent == "remote")
}

// ---------------------------------------------------------------- resources

/// (resource id as printed in history, node name) → pending operation.
pub type Pending = BTreeMap<(String, String), String>;

fn pending_ops(objects: &[Object]) -> Pending {
    let mut out = Pending::new();
    for o in objects {
        if let Object::NodeState(ns) = o {
            let node = node_name(ns);
            for r in ns.spec.lrm.iter().flat_map(|l| &l.resources) {
                for op in &r.operations {
                    if is_pending(op) {
                        out.insert((r.id.clone(), node.clone()), op.operation.clone());
                    }
                }
            }
        }
    }
    out
}

fn is_pending(op: &LrmOperation) -> bool {
    op.call_id.as_deref() == Some("-1") || op.op_status.as_deref() == Some("-1")
}

fn node_name(ns: &NodeState) -> String {
    ns.spec
        .uname
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| ns.metadata.name.clone())
        .unwrap_or_default()
}

fn resource_lines(cl: &Cluster, pending: &Pending) -> Lines {
    let mut out: Lines = vec![(0, "Full List of Resources:".into())];
    if cl.top.is_empty() {
        out.push((1, "No resources".into()));
    }
    for &r in &cl.top {
        rsc_lines(cl, r, 1, false, pending, &mut out);
    }
    out
}

fn disabled(cl: &Cluster, r: RscIdx) -> bool {
    let res = &cl.resources[r];
    match res.target_role {
        Some(Role::Stopped) => true,
        Some(_) => false,
        None => res.parent.is_some_and(|p| disabled(cl, p)),
    }
}

fn rsc_lines(
    cl: &Cluster,
    r: RscIdx,
    depth: usize,
    anon: bool,
    pending: &Pending,
    out: &mut Lines,
) {
    let res = &cl.resources[r];
    match res.kind {
        Kind::Primitive { .. } => out.push((depth, primitive_line(cl, r, anon, pending))),
        Kind::Group => {
            let id = if anon { &res.config_id } else { &res.id };
            let id = if res.instance.is_some() { &res.id } else { id };
            let mut flags = Vec::new();
            if disabled(cl, r) && res.target_role.is_some() {
                flags.push("disabled");
            }
            if !res.managed {
                flags.push("unmanaged");
            }
            out.push((depth, format!("Resource Group: {id}{}:", flag_text(&flags))));
            for &c in &res.children {
                rsc_lines(cl, c, depth + 1, anon, pending, out);
            }
        }
        Kind::Clone => clone_lines(cl, r, depth, pending, out),
    }
}

fn flag_text(flags: &[&str]) -> String {
    if flags.is_empty() {
        String::new()
    } else {
        format!(" ({})", flags.join(", "))
    }
}

fn pending_word(op: &str) -> Option<&'static str> {
    match op {
        "start" => Some("Starting"),
        "stop" => Some("Stopping"),
        "promote" => Some("Promoting"),
        "demote" => Some("Demoting"),
        "migrate_to" | "migrate_from" => Some("Migrating"),
        _ => None,
    }
}

/// `id\t(class:provider:type):\t State node (flags)`.
fn primitive_line(cl: &Cluster, r: RscIdx, anon: bool, pending: &Pending) -> String {
    let res = &cl.resources[r];
    let id = if anon { &res.config_id } else { &res.id };
    let active: Vec<_> = res.active_nodes().collect();
    let failed = res.status.iter().any(|s| s.failed);
    let mut flags: Vec<String> = Vec::new();
    let node_pending = active
        .first()
        .and_then(|s| pending.get(&(res.id.clone(), cl.nodes[s.node].name.clone())))
        .cloned();
    let mut role_text = if failed {
        "FAILED".to_string()
    } else if active.is_empty() {
        "Stopped".to_string()
    } else {
        let role = active[0].role;
        let promotable = cl
            .clone_of(r)
            .and_then(|c| cl.resources[c].clone.as_ref())
            .is_some_and(|c| c.promotable);
        if promotable && role == Role::Started {
            "Unpromoted".to_string()
        } else {
            role.name().to_string()
        }
    };
    if let Some(p) = &node_pending {
        match pending_word(p) {
            Some(w) => role_text = w.to_string(),
            None if p == "monitor" => flags.push("Monitoring".into()),
            None => {}
        }
    }
    if res.orphan {
        role_text = format!("ORPHANED {role_text}");
    }
    if disabled(cl, r) && !res.orphan {
        flags.push("disabled".into());
    }
    let blocked = res.status.iter().any(|s| {
        s.failed
            && (s.on_fail == Some(OnFail::Block) || s.stop_failed)
            && !cl.options.stonith_enabled
    }) || res
        .status
        .iter()
        .any(|s| s.failed && s.on_fail == Some(OnFail::Block));
    if blocked {
        flags.push("blocked".into());
    } else if !res.managed {
        flags.push("unmanaged".into());
    }
    if res
        .status
        .iter()
        .any(|s| s.failed && s.on_fail == Some(OnFail::Ignore))
    {
        flags.push("failure ignored".into());
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let state = match active.len() {
        0 => format!("{role_text}{}", flag_text(&flags)),
        1 => {
            let n = &cl.nodes[active[0].node];
            let unclean = if n.unclean { " (UNCLEAN)" } else { "" };
            format!("{role_text} {}{unclean}{}", n.name, flag_text(&flags))
        }
        _ => {
            let names: Vec<&str> = active
                .iter()
                .map(|s| cl.nodes[s.node].name.as_str())
                .collect();
            format!("{role_text}{} [ {} ]", flag_text(&flags), names.join(" "))
        }
    };
    format!("{id}\t({}):\t {state}", res.agent_label())
}

/// How one clone instance shows: folded into a per-role node list, or printed whole.
enum Instance {
    Folded(&'static str, String),
    Stopped,
    Whole,
}

fn instance_view(cl: &Cluster, inst: RscIdx, promotable: bool, pending: &Pending) -> Instance {
    let prims = cl.primitives_of(inst);
    let mut node: Option<usize> = None;
    let mut role: Option<Role> = None;
    let mut any_active = false;
    let mut all_active = true;
    for &p in &prims {
        let res = &cl.resources[p];
        if res.orphan || !res.managed || res.status.iter().any(|s| s.failed) {
            return Instance::Whole;
        }
        let active: Vec<_> = res.active_nodes().collect();
        match active.as_slice() {
            [] => all_active = false,
            [s] => {
                any_active = true;
                if node.is_some_and(|n| n != s.node) {
                    return Instance::Whole;
                }
                if pending.contains_key(&(res.id.clone(), cl.nodes[s.node].name.clone())) {
                    return Instance::Whole;
                }
                node = Some(s.node);
                role = Some(match role {
                    Some(r) if r != s.role => return Instance::Whole,
                    _ => s.role,
                });
            }
            _ => return Instance::Whole,
        }
    }
    if !any_active {
        return Instance::Stopped;
    }
    if !all_active {
        return Instance::Whole;
    }
    let (Some(node), Some(role)) = (node, role) else {
        return Instance::Whole;
    };
    if cl.nodes[node].unclean {
        return Instance::Whole;
    }
    let word = match role {
        Role::Promoted => "Promoted",
        Role::Unpromoted => "Unpromoted",
        _ if promotable => "Unpromoted",
        _ => "Started",
    };
    Instance::Folded(word, cl.nodes[node].name.clone())
}

fn clone_lines(cl: &Cluster, r: RscIdx, depth: usize, pending: &Pending, out: &mut Lines) {
    let res = &cl.resources[r];
    let (promotable, unique) = res
        .clone
        .as_ref()
        .map_or((false, false), |c| (c.promotable, c.unique));
    let child_id = res
        .children
        .first()
        .map(|&c| cl.resources[c].config_id.clone())
        .unwrap_or_default();
    let mut flags = Vec::new();
    if promotable {
        flags.push("promotable");
    }
    if unique {
        flags.push("unique");
    }
    if disabled(cl, r) {
        flags.push("disabled");
    }
    if !res.managed {
        flags.push("unmanaged");
    }
    out.push((
        depth,
        format!("Clone Set: {} [{child_id}]{}:", res.id, flag_text(&flags)),
    ));
    if unique {
        for &c in &res.children {
            rsc_lines(cl, c, depth + 1, false, pending, out);
        }
        return;
    }
    let mut folded: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut active_nodes: BTreeSet<usize> = BTreeSet::new();
    let mut not_installed: BTreeSet<usize> = BTreeSet::new();
    let mut complete = 0;
    for &c in &res.children {
        let prims = cl.primitives_of(c);
        if !cl.resources[c].orphan
            && prims
                .iter()
                .all(|&p| cl.resources[p].active_nodes().count() == 1)
        {
            complete += 1;
        }
        for &p in &prims {
            for s in cl.resources[p].status.iter().filter(|s| s.banned) {
                not_installed.insert(s.node);
            }
        }
        for p in cl.primitives_of(c) {
            for s in cl.resources[p].active_nodes() {
                active_nodes.insert(s.node);
            }
        }
        match instance_view(cl, c, promotable, pending) {
            Instance::Folded(word, node) => folded.entry(word).or_default().push(node),
            Instance::Stopped => {}
            Instance::Whole => rsc_lines(cl, c, depth + 1, true, pending, out),
        }
    }
    for word in ["Promoted", "Unpromoted", "Started"] {
        if let Some(v) = folded.get_mut(word) {
            v.sort();
            out.push((depth + 1, format!("{word}: [ {} ]", v.join(" "))));
        }
    }
    // Nodes without an instance are listed only while instances are missing.
    let max = res.clone.as_ref().map_or(0, |c| c.max);
    if complete >= max {
        return;
    }
    let idle = |want_banned: bool| {
        let mut v: Vec<&str> = cl
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !active_nodes.contains(i) && not_installed.contains(i) == want_banned)
            .map(|(_, n)| n.name.as_str())
            .collect();
        v.sort();
        v
    };
    let stopped = idle(false);
    if !stopped.is_empty() {
        let label = if disabled(cl, r) {
            "Stopped (disabled)"
        } else {
            "Stopped"
        };
        out.push((depth + 1, format!("{label}: [ {} ]", stopped.join(" "))));
    }
    let missing = idle(true);
    if !missing.is_empty() {
        out.push((
            depth + 1,
            format!("Stopped (not installed): [ {} ]", missing.join(" ")),
        ));
    }
}

// ---------------------------------------------------------------- history

fn num(s: &Option<String>) -> i64 {
    s.as_deref()
        .and_then(|x| x.trim().parse().ok())
        .unwrap_or(0)
}

fn ocf_rc_text(rc: i64) -> &'static str {
    match rc {
        0 => "ok",
        1 => "error",
        2 => "invalid parameter",
        3 => "unimplemented feature",
        4 => "insufficient privileges",
        5 => "not installed",
        6 => "not configured",
        7 => "not running",
        8 => "promoted",
        9 => "promoted (failed)",
        190 => "degraded",
        191 => "promoted (degraded)",
        _ => "unknown",
    }
}

fn exec_status_text(st: i64) -> &'static str {
    match st {
        -1 => "pending",
        0 => "complete",
        1 => "Cancelled",
        2 => "Timed Out",
        3 => "NOT SUPPORTED",
        4 => "Error",
        5 => "Not installed",
        6 => "Not connected",
        7 => "Invalid",
        8 => "Error: Fatal",
        _ => "unknown",
    }
}

/// Seconds since the epoch as crm_mon prints times ("Thu Nov 30 12:37:50 2017", UTC).
pub fn ctime(epoch: i64) -> String {
    match jiff::Timestamp::from_second(epoch) {
        Ok(t) => t.strftime("%a %b %e %H:%M:%S %Y").to_string(),
        Err(_) => epoch.to_string(),
    }
}

fn node_states(objects: &[Object]) -> Vec<&NodeState> {
    // In the order given (the CIB's, or the API server's by name), as crm_mon does.
    objects
        .iter()
        .filter_map(|o| match o {
            Object::NodeState(ns) => Some(ns),
            _ => None,
        })
        .collect()
}

/// Whether a history entry is a failure crm_mon lists: it could not be executed, or its
/// rc differs from the one the transition expected (third field of the transition key).
/// Probes only fail with an rc other than running / not running / not installed.
pub fn is_failed_op(op: &LrmOperation) -> bool {
    let status = num(&op.op_status);
    if is_pending(op) || status == 1 {
        return false;
    }
    if status != 0 {
        return true;
    }
    let rc = num(&op.rc_code);
    if op.operation == "monitor" && num(&op.interval) == 0 {
        return !matches!(rc, 0 | 5 | 7 | 8);
    }
    let expected = op
        .transition_key
        .as_deref()
        .and_then(|k| k.split(':').nth(2))
        .and_then(|x| x.parse::<i64>().ok())
        .unwrap_or(0);
    rc != expected
}

/// "Failed Resource Actions:" as crm_mon prints them (the heading alone when there are
/// none); an entry repeated as `RSC_last_failure_0` is listed once.
pub fn failed_action_lines(objects: &[Object]) -> Lines {
    let mut out: Lines = vec![(0, "Failed Resource Actions:".into())];
    for ns in node_states(objects) {
        let node = node_name(ns);
        for r in ns.spec.lrm.iter().flat_map(|l| &l.resources) {
            let mut seen = BTreeSet::new();
            for op in r.operations.iter().filter(|o| is_failed_op(o)) {
                let rc = num(&op.rc_code);
                let status = num(&op.op_status);
                let interval = num(&op.interval);
                if !seen.insert((op.operation.clone(), interval, op.call_id.clone())) {
                    continue;
                }
                let action = if op.operation == "monitor" && interval == 0 {
                    "probe".to_string()
                } else if interval > 0 {
                    format!("{}-interval {}", interval_text(interval), op.operation)
                } else {
                    op.operation.clone()
                };
                let reason = op.exit_reason.as_deref().filter(|r| !r.is_empty());
                let mut line = if status == 0 {
                    let mut l =
                        format!("{} {action} on {node} returned '{}'", r.id, ocf_rc_text(rc));
                    if let Some(reason) = reason {
                        l.push_str(&format!(" ({reason})"));
                    }
                    l
                } else {
                    let what = match reason {
                        Some(reason) => format!("{}: {reason}", exec_status_text(status)),
                        None => exec_status_text(status).to_string(),
                    };
                    format!("{} {action} on {node} could not be executed ({what})", r.id)
                };
                let when = num(&op.last_rc_change).max(num(&op.legacy_last_rc_change));
                if when > 0 {
                    line.push_str(&format!(" at {}", ctime(when)));
                }
                let exec = num(&op.exec_time).max(num(&op.legacy_exec_time));
                if exec > 0 {
                    line.push_str(&format!(" after {}", duration_text(exec)));
                }
                out.push((1, line));
            }
        }
    }
    out
}

fn interval_text(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

fn duration_text(ms: i64) -> String {
    if ms >= 60_000 {
        let m = ms / 60_000;
        let rest = ms % 60_000;
        format!("{m}m{}.{:03}s", rest / 1000, rest % 1000)
    } else if ms >= 1000 {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    } else {
        format!("{ms}ms")
    }
}

/// "Operations:" (crm_mon `-o`): per node and resource, the history entries with call id,
/// rc and times.
pub fn operation_lines(objects: &[Object], cl: &Cluster) -> Lines {
    let mut out: Lines = vec![(0, "Operations:".into())];
    for ns in node_states(objects) {
        let node = node_name(ns);
        let resources: Vec<_> = ns.spec.lrm.iter().flat_map(|l| &l.resources).collect();
        if resources.is_empty() {
            continue;
        }
        out.push((1, format!("Node: {node}:")));
        let attrs = ns
            .spec
            .transient_attributes
            .as_ref()
            .and_then(|t| t.attributes.clone())
            .unwrap_or_default();
        for r in resources {
            let base = r.id.split(':').next().unwrap_or(&r.id);
            let mut head = r.id.clone();
            if let Some(ri) = cl.rsc_by_id(&r.id).or_else(|| cl.rsc_by_id(base)) {
                let th = cl.resources[ri].migration_threshold;
                head.push_str(&format!(
                    ": migration-threshold={}",
                    if th >= 1_000_000 {
                        "1000000".to_string()
                    } else {
                        th.to_string()
                    }
                ));
            } else {
                head.push(':');
            }
            let fc = attrs
                .iter()
                .filter(|(k, _)| {
                    k.strip_prefix("fail-count-")
                        .is_some_and(|rest| rest == r.id || rest.starts_with(&format!("{}#", r.id)))
                })
                .map(|(_, v)| {
                    if v.eq_ignore_ascii_case("infinity") || v.eq_ignore_ascii_case("+infinity") {
                        1_000_000
                    } else {
                        v.parse::<i64>().unwrap_or(0)
                    }
                })
                .sum::<i64>();
            if fc > 0 && head.contains(':') && !head.ends_with(':') {
                head.push_str(&format!(" fail-count={fc}"));
            }
            if !head.ends_with(':') {
                head.push(':');
            }
            out.push((2, head));
            let mut ops: Vec<&LrmOperation> = r.operations.iter().collect();
            ops.sort_by_key(|o| (num(&o.call_id) < 0, num(&o.call_id)));
            for op in ops {
                let call = op.call_id.clone().unwrap_or_else(|| "?".into());
                let mut line = format!("({call}) {}", op.operation);
                let mut parts = Vec::new();
                let interval = num(&op.interval);
                if interval > 0 {
                    parts.push(format!("interval=\"{interval}ms\""));
                }
                if is_pending(op) {
                    parts.push("pending".into());
                } else {
                    let rc = num(&op.rc_code);
                    parts.push(format!("rc={rc} ({})", ocf_rc_text(rc)));
                }
                let changed = num(&op.last_rc_change).max(num(&op.legacy_last_rc_change));
                if changed > 0 {
                    parts.push(format!("last-rc-change='{}'", ctime(changed)));
                }
                let exec = num(&op.exec_time).max(num(&op.legacy_exec_time));
                if op.exec_time.is_some() || op.legacy_exec_time.is_some() {
                    parts.push(format!("exec-time={exec}ms"));
                }
                if !parts.is_empty() {
                    line.push_str(": ");
                    line.push_str(&parts.join(" "));
                }
                out.push((3, line));
            }
        }
    }
    out
}

/// "Pending Operations:": record-pending entries in the node histories and dispatched but
/// unconfirmed actions of the current transition.
pub fn pending_lines(objects: &[Object], transitions: &[Transition]) -> Lines {
    let mut out: Lines = vec![(0, "Pending Operations:".into())];
    let mut seen = BTreeSet::new();
    for ns in node_states(objects) {
        let node = node_name(ns);
        for r in ns.spec.lrm.iter().flat_map(|l| &l.resources) {
            for op in r.operations.iter().filter(|o| is_pending(o)) {
                let interval = num(&op.interval);
                let key = format!("{}_{}_{}", r.id, op.operation, interval);
                seen.insert((key.clone(), node.clone()));
                let mut line = format!("{key} on {node}: call=-1 pending");
                let since = num(&op.last_run).max(num(&op.last_rc_change));
                if since > 0 {
                    line.push_str(&format!(" since {}", ctime(since)));
                }
                out.push((1, line));
            }
        }
    }
    if let Some(t) = current_transition(transitions) {
        let st = t.status.clone().unwrap_or_default();
        if st.phase.as_deref() != Some("Complete") {
            let name = t.metadata.name.clone().unwrap_or_default();
            for a in &t.spec.actions {
                let state = st
                    .actions
                    .get(&a.id.to_string())
                    .map(|s| s.state.as_str())
                    .unwrap_or("Pending");
                if state != "Dispatched" {
                    continue;
                }
                let key = match &a.resource {
                    Some(r) => format!("{r}_{}_{}", a.task, a.interval_ms),
                    None => format!("{} {}", a.task, a.fence_action.as_deref().unwrap_or("")),
                };
                if seen.contains(&(key.clone(), a.node.clone())) {
                    continue;
                }
                out.push((
                    1,
                    format!("{key} on {}: dispatched ({name}:{})", a.node, a.id),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------- JSON / YAML

/// The machine-readable status (`-o json|yaml`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDoc {
    pub dc: Option<String>,
    pub quorum: bool,
    pub maintenance_mode: bool,
    pub nodes: Vec<NodeDoc>,
    pub resources: Vec<ResourceDoc>,
    pub failed_actions: Vec<String>,
    pub pending_operations: Vec<String>,
    pub transition: Option<TransitionDoc>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeDoc {
    pub name: String,
    /// online, offline, standby, maintenance, unclean.
    pub state: String,
    pub online: bool,
    pub standby: bool,
    pub maintenance: bool,
    pub unclean: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceDoc {
    pub id: String,
    /// primitive, group or clone.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub managed: bool,
    pub failed: bool,
    /// node → role (Started, Promoted, Unpromoted).
    pub active: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransitionDoc {
    pub name: String,
    pub seq: i64,
    pub phase: Option<String>,
    pub actions: usize,
    pub confirmed: Option<i64>,
}

fn node_state_word(n: &pacer_scheduler::model::Node) -> &'static str {
    if n.unclean {
        "unclean"
    } else if !n.online {
        "offline"
    } else if n.standby {
        "standby"
    } else if n.maintenance {
        "maintenance"
    } else {
        "online"
    }
}

pub fn document(input: &StatusInput) -> Result<StatusDoc, Error> {
    let cl = cluster_of(input)?;
    let (dc, quorum) = dc_and_quorum(input, &cl);
    let strip = |lines: Lines| lines.into_iter().skip(1).map(|(_, l)| l).collect();
    Ok(StatusDoc {
        dc,
        quorum,
        maintenance_mode: cl.options.maintenance_mode,
        nodes: cl
            .nodes
            .iter()
            .map(|n| NodeDoc {
                name: n.name.clone(),
                state: node_state_word(n).into(),
                online: n.online,
                standby: n.standby,
                maintenance: n.maintenance,
                unclean: n.unclean,
            })
            .collect(),
        resources: cl
            .resources
            .iter()
            .map(|r| ResourceDoc {
                id: r.id.clone(),
                kind: match r.kind {
                    Kind::Primitive { .. } => "primitive",
                    Kind::Group => "group",
                    Kind::Clone => "clone",
                }
                .into(),
                agent: r.is_primitive().then(|| r.agent_label()),
                parent: r.parent.map(|p| cl.resources[p].id.clone()),
                managed: r.managed,
                failed: r.status.iter().any(|s| s.failed),
                active: r
                    .active_nodes()
                    .map(|s| (cl.nodes[s.node].name.clone(), s.role.name().to_string()))
                    .collect(),
            })
            .collect(),
        failed_actions: strip(failed_action_lines(&input.objects)),
        pending_operations: strip(pending_lines(&input.objects, &input.transitions)),
        transition: current_transition(&input.transitions).map(|t| TransitionDoc {
            name: t.metadata.name.clone().unwrap_or_default(),
            seq: t.spec.seq,
            phase: t.status.as_ref().and_then(|s| s.phase.clone()),
            actions: t.spec.actions.len(),
            confirmed: t.status.as_ref().and_then(|s| s.confirmed),
        }),
    })
}
