//! Property tests: small random clusters (node states, primitives with locations and
//! stickiness, mandatory colocations, an anonymous clone, operation histories with
//! running and failed operations) rendered as CIB XML, scheduled through the public
//! API, and checked for invariants every Pacemaker transition keeps:
//!
//! - after the graph runs, a primitive (or one clone instance) is active on at most one node;
//! - an INFINITY colocation holds in the final placement when both sides are placed;
//! - mandatory orderings: starts in order, stops in reverse, "then" never starts alone;
//! - nothing runs on an unclean node unless ordered after its fencing, and nothing
//!   starts on a node being fenced;
//! - every action names an existing node, online unless it is the fencing target;
//! - the graph is acyclic.
//!
//! A failing case prints its CIB; `PACER_PROPTEST_DUMP=DIR` also writes every generated
//! CIB to DIR so that crm_simulate (the oracle) can be run on it.

use pacer_scheduler::{
    Schedule,
    graph::{Task, TransitionGraph},
    model::Kind,
    schedule,
};
use proptest::prelude::*;
use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
};

/// Parameter digests Pacemaker 2.1.5 records for a parameterless Dummy (start/probe and
/// its 10s monitor), so that an unchanged history does not look like a changed definition.
const DIGEST_START: &str = "f2317cad3d54cec5d7d7aa7d0bf35cf8";
const DIGEST_MONITOR: &str = "4811cef7f7f94e3a35a70be7916cb2fd";
/// 2026-01-01 00:00:00 UTC: every run is evaluated at the same time.
const NOW: i64 = 1_767_225_600;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeState {
    Online,
    Standby,
    /// Left the cluster cleanly (expected down): offline, resources stopped.
    OfflineClean,
    /// Lost while expected to be a member: unclean, fenced when fencing is possible.
    Lost,
}

/// What one node's history says about one primitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum History {
    /// Probed: not running.
    Probed,
    /// Started, recurring monitor fine.
    Running,
    /// Started, then the recurring monitor found it not running.
    MonitorFailed,
    /// The start failed (rc=1).
    StartFailed,
}

#[derive(Debug, Clone)]
struct Primitive {
    stickiness: Option<i64>,
    /// (node, score) location preferences.
    locations: Vec<(usize, i64)>,
    /// Where the history has it, and how (at most one node: a sane starting point).
    history: Option<(usize, History)>,
}

#[derive(Debug, Clone)]
struct CloneCfg {
    clone_max: Option<usize>,
    /// Per node: running there according to the history.
    running: Vec<bool>,
}

#[derive(Debug, Clone)]
struct Case {
    nodes: Vec<NodeState>,
    stonith: bool,
    prims: Vec<Primitive>,
    /// (dependent, primary) INFINITY colocations between primitives; `primary ==
    /// prims.len()` names the clone.
    colocations: Vec<(usize, usize)>,
    /// (first, then) mandatory orderings between primitives, first < then (no cycles).
    orders: Vec<(usize, usize)>,
    clone: Option<CloneCfg>,
}

const SCORES: &[i64] = &[-1_000_000, -100, 0, 50, 100, 1_000_000];

fn score_text(s: i64) -> String {
    match s {
        1_000_000 => "INFINITY".into(),
        -1_000_000 => "-INFINITY".into(),
        s => s.to_string(),
    }
}

fn node_state() -> impl Strategy<Value = NodeState> {
    prop_oneof![
        4 => Just(NodeState::Online),
        1 => Just(NodeState::Standby),
        1 => Just(NodeState::OfflineClean),
        2 => Just(NodeState::Lost),
    ]
}

fn history() -> impl Strategy<Value = History> {
    prop_oneof![
        1 => Just(History::Probed),
        4 => Just(History::Running),
        1 => Just(History::MonitorFailed),
        1 => Just(History::StartFailed),
    ]
}

fn primitive(nodes: usize) -> impl Strategy<Value = Primitive> {
    (
        proptest::option::weighted(
            0.5,
            prop_oneof![Just(0i64), Just(50), Just(200), Just(1_000_000)],
        ),
        proptest::collection::vec((0..nodes, proptest::sample::select(SCORES)), 0..3),
        proptest::option::weighted(0.7, (0..nodes, history())),
    )
        .prop_map(|(stickiness, locations, history)| Primitive {
            stickiness,
            locations,
            history,
        })
}

fn case() -> impl Strategy<Value = Case> {
    (1usize..=4, 1usize..=5)
        .prop_flat_map(|(n, p)| {
            (
                proptest::collection::vec(node_state(), n),
                any::<bool>(),
                proptest::collection::vec(primitive(n), p),
                proptest::collection::vec((0..p, 0..=p), 0..3),
                proptest::collection::vec((0..p, 0..p), 0..3),
                proptest::option::weighted(
                    0.4,
                    (
                        proptest::option::of(1usize..=3),
                        proptest::collection::vec(any::<bool>(), n),
                    )
                        .prop_map(|(clone_max, running)| CloneCfg { clone_max, running }),
                ),
            )
        })
        .prop_map(|(nodes, stonith, mut prims, colocations, orders, clone)| {
            // Known pacer bug (see `offline_node_with_active_history_is_fenced_first`):
            // history showing a resource active on a cleanly departed node. Generated
            // only with PACER_PROPTEST_KNOWN_BUGS=1 until it is fixed.
            if std::env::var("PACER_PROPTEST_KNOWN_BUGS").is_err() {
                for p in &mut prims {
                    if let Some((n, h)) = &mut p.history
                        && nodes[*n] == NodeState::OfflineClean
                    {
                        *h = History::Probed;
                    }
                }
            }
            let colocations = colocations
                .into_iter()
                .filter(|&(d, p)| d != p && (p < prims.len() || clone.is_some()))
                .collect();
            let orders = orders.into_iter().filter(|&(f, t)| f < t).collect();
            Case {
                nodes,
                stonith,
                prims,
                colocations,
                orders,
                clone,
            }
        })
}

fn node_name(i: usize) -> String {
    format!("node{}", i + 1)
}

fn op(
    out: &mut String,
    rsc: &str,
    node: &str,
    call: &mut u32,
    task: &str,
    interval_ms: u64,
    rc: u32,
) {
    let key = format!("{rsc}_{task}_{interval_ms}");
    let id = if interval_ms > 0 {
        key.clone()
    } else {
        format!("{rsc}_last_0")
    };
    let digest = if interval_ms > 0 {
        DIGEST_MONITOR
    } else {
        DIGEST_START
    };
    let expected = if task == "monitor" && interval_ms == 0 {
        7
    } else {
        0
    };
    *call += 1;
    let _ = write!(
        out,
        r#"<lrm_rsc_op id="{id}" operation_key="{key}" operation="{task}" transition-key="{c}:1:{expected}:x" transition-magic="0:{rc};{c}:1:{expected}:x" call-id="{c}" rc-code="{rc}" op-status="0" interval="{interval_ms}" last-rc-change="{t}" exec-time="10" queue-time="0" on_node="{node}" op-digest="{digest}"/>"#,
        c = *call,
        t = NOW - 3600,
    );
}

fn lrm_resource(out: &mut String, rsc: &str, node: &str, call: &mut u32, h: History) {
    // The history must name the configured agent, or it reads as a definition change.
    let agent = if rsc == "fencer" {
        r#"type="fence_dummy" class="stonith""#
    } else {
        r#"type="Dummy" class="ocf" provider="heartbeat""#
    };
    let _ = write!(out, r#"<lrm_resource id="{rsc}" {agent}>"#);
    match h {
        History::Probed => op(out, rsc, node, call, "monitor", 0, 7),
        History::Running => {
            op(out, rsc, node, call, "start", 0, 0);
            // The fence device has no recurring monitor configured; a recorded one would
            // be cancelled, which is noise here.
            if rsc != "fencer" {
                op(out, rsc, node, call, "monitor", 10_000, 0);
            }
        }
        History::MonitorFailed => {
            op(out, rsc, node, call, "start", 0, 0);
            op(out, rsc, node, call, "monitor", 10_000, 7);
        }
        History::StartFailed => op(out, rsc, node, call, "start", 0, 1),
    }
    out.push_str("</lrm_resource>\n");
}

fn dummy(id: &str, meta: &str) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="heartbeat" type="Dummy">{meta}<operations><op id="{id}-mon" name="monitor" interval="10s" timeout="20s"/></operations></primitive>"#
    )
}

impl Case {
    fn xml(&self) -> String {
        let mut x = String::new();
        let _ = write!(
            x,
            r#"<cib epoch="1" num_updates="1" admin_epoch="0" validate-with="pacemaker-3.0" crm_feature_set="3.0.14" have-quorum="1" dc-uuid="{dc}" execution-date="{NOW}">
<configuration><crm_config><cluster_property_set id="opts">
<nvpair id="o1" name="stonith-enabled" value="{st}"/><nvpair id="o2" name="no-quorum-policy" value="ignore"/>
</cluster_property_set></crm_config>
<nodes>
"#,
            dc = self
                .nodes
                .iter()
                .position(|s| matches!(s, NodeState::Online | NodeState::Standby))
                .unwrap_or(0)
                + 1,
            st = self.stonith,
        );
        for (i, s) in self.nodes.iter().enumerate() {
            let standby = if *s == NodeState::Standby {
                format!(
                    r#"<instance_attributes id="n{i}-ia"><nvpair id="n{i}-sb" name="standby" value="on"/></instance_attributes>"#
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                x,
                r#"<node id="{}" uname="{}">{standby}</node>"#,
                i + 1,
                node_name(i)
            );
        }
        x.push_str("</nodes>\n<resources>\n");
        if self.stonith {
            x.push_str(r#"<primitive id="fencer" class="stonith" type="fence_dummy"/>"#);
            x.push('\n');
        }
        for (i, p) in self.prims.iter().enumerate() {
            let meta = match p.stickiness {
                Some(s) => format!(
                    r#"<meta_attributes id="r{i}-meta"><nvpair id="r{i}-st" name="resource-stickiness" value="{}"/></meta_attributes>"#,
                    score_text(s)
                ),
                None => String::new(),
            };
            x.push_str(&dummy(&format!("r{i}"), &meta));
            x.push('\n');
        }
        if let Some(c) = &self.clone {
            let meta = match c.clone_max {
                Some(m) => format!(
                    r#"<meta_attributes id="cl-meta"><nvpair id="cl-max" name="clone-max" value="{m}"/></meta_attributes>"#
                ),
                None => String::new(),
            };
            let _ = writeln!(x, r#"<clone id="cl">{meta}{}</clone>"#, dummy("cd", ""));
        }
        x.push_str("</resources>\n<constraints>\n");
        for (i, p) in self.prims.iter().enumerate() {
            for (k, (n, s)) in p.locations.iter().enumerate() {
                let _ = writeln!(
                    x,
                    r#"<rsc_location id="loc-r{i}-{k}" rsc="r{i}" node="{}" score="{}"/>"#,
                    node_name(*n),
                    score_text(*s)
                );
            }
        }
        for (k, (f, t)) in self.orders.iter().enumerate() {
            let _ = writeln!(
                x,
                r#"<rsc_order id="ord{k}" first="r{f}" then="r{t}" kind="Mandatory"/>"#
            );
        }
        for (k, (d, p)) in self.colocations.iter().enumerate() {
            let primary = if *p == self.prims.len() {
                "cl".to_string()
            } else {
                format!("r{p}")
            };
            let _ = writeln!(
                x,
                r#"<rsc_colocation id="col{k}" rsc="r{d}" with-rsc="{primary}" score="INFINITY"/>"#
            );
        }
        x.push_str("</constraints>\n</configuration>\n<status>\n");
        let mut call = 0;
        for (i, s) in self.nodes.iter().enumerate() {
            let name = node_name(i);
            let (ccm, crmd, join, expected) = match s {
                NodeState::Online | NodeState::Standby => ("true", "online", "member", "member"),
                NodeState::OfflineClean => ("false", "offline", "down", "down"),
                NodeState::Lost => ("false", "offline", "down", "member"),
            };
            let _ = writeln!(
                x,
                r#"<node_state id="{id}" uname="{name}" in_ccm="{ccm}" crmd="{crmd}" join="{join}" expected="{expected}"><lrm id="{id}"><lrm_resources>"#,
                id = i + 1
            );
            if self.stonith {
                let h = if i == 0 {
                    History::Running
                } else {
                    History::Probed
                };
                lrm_resource(&mut x, "fencer", &name, &mut call, h);
            }
            for (r, p) in self.prims.iter().enumerate() {
                let h = match p.history {
                    Some((n, h)) if n == i => h,
                    // The rest of the cluster probed it; a lost node knows as much.
                    _ if *s != NodeState::OfflineClean => History::Probed,
                    _ => continue,
                };
                lrm_resource(&mut x, &format!("r{r}"), &name, &mut call, h);
            }
            if let Some(c) = &self.clone {
                let h = if c.running[i] {
                    History::Running
                } else {
                    History::Probed
                };
                lrm_resource(&mut x, "cd", &name, &mut call, h);
            }
            x.push_str("</lrm_resources></lrm></node_state>\n");
        }
        x.push_str("</status>\n</cib>\n");
        x
    }
}

/// Where each primitive (by printed id, clone instances included) is active once the
/// graph has run: history, minus stops and fenced nodes, plus starts and migrations.
fn final_placement(s: &Schedule) -> BTreeMap<String, BTreeSet<String>> {
    let cl = &s.cluster;
    let fenced: BTreeSet<&str> = s
        .graph
        .actions
        .iter()
        .filter(|a| matches!(a.task, Task::Fence { .. }))
        .map(|a| a.node.as_str())
        .collect();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in cl.resources.iter().filter(|r| r.is_primitive()) {
        let on: BTreeSet<String> = r
            .active_nodes()
            .map(|st| cl.nodes[st.node].name.clone())
            .filter(|n| !fenced.contains(n.as_str()))
            .collect();
        out.insert(r.id.clone(), on);
    }
    for a in &s.graph.actions {
        let Some(rsc) = &a.resource else { continue };
        let set = out.entry(rsc.clone()).or_default();
        match a.task {
            Task::Stop => {
                set.remove(&a.node);
            }
            Task::Start | Task::MigrateFrom => {
                set.insert(a.node.clone());
            }
            _ => {}
        }
    }
    out
}

/// Ids of primitives that are blocked or unmanaged: they may legitimately stay where
/// they are, whatever the constraints say.
fn frozen(s: &Schedule) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = s
        .cluster
        .resources
        .iter()
        .filter(|r| r.blocked || !r.managed)
        .map(|r| r.id.clone())
        .collect();
    for c in s.changes.iter().filter(|c| c.blocked) {
        out.insert(s.cluster.resources[c.rsc].id.clone());
    }
    out
}

fn reachable(g: &TransitionGraph, from: usize, to: usize) -> bool {
    let mut seen = vec![false; g.actions.len()];
    let mut stack = vec![from];
    while let Some(a) = stack.pop() {
        if a == to {
            return true;
        }
        if std::mem::replace(&mut seen[a], true) {
            continue;
        }
        stack.extend(g.edges.iter().filter(|e| e.before == a).map(|e| e.after));
    }
    false
}

fn acyclic(g: &TransitionGraph) -> bool {
    let mut indeg = vec![0usize; g.actions.len()];
    for e in &g.edges {
        indeg[e.after] += 1;
    }
    let mut ready: Vec<usize> = (0..indeg.len()).filter(|&a| indeg[a] == 0).collect();
    let mut done = 0;
    while let Some(a) = ready.pop() {
        done += 1;
        for e in g.edges.iter().filter(|e| e.before == a) {
            indeg[e.after] -= 1;
            if indeg[e.after] == 0 {
                ready.push(e.after);
            }
        }
    }
    done == g.actions.len()
}

fn describe(s: &Schedule) -> String {
    let mut t = String::from("actions:\n");
    for a in &s.graph.actions {
        let _ = writeln!(t, "  {} {:?} {:?} on {}", a.id, a.task, a.resource, a.node);
    }
    let _ = writeln!(
        t,
        "edges: {:?}",
        s.graph
            .edges
            .iter()
            .map(|e| (e.before, e.after))
            .collect::<Vec<_>>()
    );
    let _ = writeln!(t, "summary:\n  {}", s.summary.join("\n  "));
    t
}

fn check(case: &Case) -> Result<(), TestCaseError> {
    let xml = case.xml();
    if let Ok(dir) = std::env::var("PACER_PROPTEST_DUMP") {
        let name = format!("{dir}/case-{:016x}.xml", fxhash(&xml));
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(name, &xml);
    }
    let s = schedule(&xml, Some(NOW))
        .map_err(|e| TestCaseError::fail(format!("scheduler error {e}\n{xml}")))?;
    let ctx = || format!("\n{}\nCIB:\n{xml}", describe(&s));
    let cl = &s.cluster;
    let g = &s.graph;

    prop_assert!(acyclic(g), "transition graph has a cycle{}", ctx());

    let node_of = |name: &str| cl.nodes.iter().find(|n| n.name == name);
    let fences: BTreeMap<&str, usize> = g
        .actions
        .iter()
        .filter(|a| matches!(a.task, Task::Fence { .. }))
        .map(|a| (a.node.as_str(), a.id))
        .collect();
    for a in &g.actions {
        let node = node_of(&a.node);
        prop_assert!(
            node.is_some(),
            "action {} names unknown node {}{}",
            a.id,
            a.node,
            ctx()
        );
        let Some(node) = node else { continue };
        if matches!(a.task, Task::Fence { .. }) {
            continue;
        }
        if node.unclean {
            let fenced_first = fences
                .get(a.node.as_str())
                .is_some_and(|&f| reachable(g, f, a.id));
            prop_assert!(
                fenced_first,
                "action {} on unclean {} is not ordered after its fencing{}",
                a.id,
                a.node,
                ctx()
            );
        }
        prop_assert!(
            !(fences.contains_key(a.node.as_str())
                && matches!(a.task, Task::Start | Task::Promote | Task::MigrateFrom)),
            "action {} starts something on {}, which is being fenced{}",
            a.id,
            a.node,
            ctx()
        );
        prop_assert!(
            node.online,
            "action {} runs on offline node {}{}",
            a.id,
            a.node,
            ctx()
        );
    }

    // Judged from the generated history, not from the scheduler's reading of it: a
    // primitive the history shows active on a node that is not online may still be
    // running there. With fencing enabled it may start elsewhere only after that node
    // has been fenced (Pacemaker: "<rsc> is thought to be active there").
    if case.stonith {
        for (r, p) in case.prims.iter().enumerate() {
            let Some((n, History::Running | History::MonitorFailed)) = p.history else {
                continue;
            };
            if matches!(case.nodes[n], NodeState::Online | NodeState::Standby) {
                continue;
            }
            let (rsc, gone) = (format!("r{r}"), node_name(n));
            for a in g.actions.iter().filter(|a| {
                a.resource.as_deref() == Some(rsc.as_str())
                    && matches!(a.task, Task::Start | Task::MigrateFrom)
            }) {
                let after_fence = fences
                    .get(gone.as_str())
                    .is_some_and(|&f| reachable(g, f, a.id));
                prop_assert!(
                    after_fence,
                    "{rsc} may still run on offline {gone} (history: active) but starts on {} without {gone} being fenced first{}",
                    a.node,
                    ctx()
                );
            }
        }
    }

    let placed = final_placement(&s);
    let frozen = frozen(&s);
    for (rsc, on) in &placed {
        if frozen.contains(rsc) {
            continue;
        }
        prop_assert!(on.len() <= 1, "{rsc} ends up active on {on:?}{}", ctx());
    }

    // Mandatory orderings: when both start, "then" starts after "first"; when both stop,
    // "first" stops after "then"; and "then" never starts while "first" ends up stopped.
    let task_of = |rsc: &str, task: Task| {
        g.actions
            .iter()
            .find(|a| a.resource.as_deref() == Some(rsc) && a.task == task)
            .map(|a| a.id)
    };
    for &(f, t) in &case.orders {
        let (first, then) = (format!("r{f}"), format!("r{t}"));
        if frozen.contains(&first) || frozen.contains(&then) {
            continue;
        }
        if let (Some(a), Some(b)) = (task_of(&first, Task::Start), task_of(&then, Task::Start)) {
            prop_assert!(
                reachable(g, a, b),
                "{then} starts without waiting for {first}{}",
                ctx()
            );
        }
        if let (Some(a), Some(b)) = (task_of(&first, Task::Stop), task_of(&then, Task::Stop)) {
            prop_assert!(
                reachable(g, b, a),
                "{first} stops before {then} has stopped{}",
                ctx()
            );
        }
        if task_of(&then, Task::Start).is_some() {
            let first_up = placed.get(&first).is_some_and(|n| !n.is_empty());
            prop_assert!(
                first_up,
                "{then} starts although {first}, which it must follow, stays stopped{}",
                ctx()
            );
        }
    }

    // Mandatory colocations: a dependent primitive sits with its primary (for the clone:
    // with one of its instances) whenever both are placed.
    for c in &cl.colocations {
        if c.score < pacer_scheduler::score::INFINITY {
            continue;
        }
        let dep = &cl.resources[c.dependent];
        let Some(dep_node) = placed.get(&dep.id).and_then(|s| s.iter().next()) else {
            continue;
        };
        if frozen.contains(&dep.id) {
            continue;
        }
        let primary_nodes: BTreeSet<&String> = cl
            .primitives_of(c.primary)
            .iter()
            .filter(|&&p| !frozen.contains(&cl.resources[p].id))
            .filter_map(|&p| placed.get(&cl.resources[p].id))
            .flatten()
            .collect();
        if primary_nodes.is_empty() {
            continue;
        }
        prop_assert!(
            primary_nodes.contains(dep_node),
            "{} placed on {dep_node} but its INFINITY primary {} is on {primary_nodes:?}{}",
            dep.id,
            cl.resources[c.primary].id,
            ctx()
        );
    }
    // Clone instances: at most one per node after the transition (clone-node-max = 1).
    for (ri, r) in cl
        .resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.kind == Kind::Clone)
    {
        let mut per_node: BTreeMap<&String, usize> = BTreeMap::new();
        for p in cl.primitives_of(ri) {
            for n in placed.get(&cl.resources[p].id).into_iter().flatten() {
                *per_node.entry(n).or_default() += 1;
            }
        }
        prop_assert!(
            per_node.values().all(|&c| c <= 1),
            "clone {} has two instances on one node: {per_node:?}{}",
            r.id,
            ctx()
        );
    }
    Ok(())
}

/// Stable file names for dumped cases.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x1000_0000_01b3)
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn transitions_keep_invariants(case in case()) {
        check(&case)?;
    }
}

/// The generator itself must produce the states it claims, or the properties above
/// test nothing: check one hand-picked case end to end.
#[test]
fn generator_produces_the_intended_cluster() {
    let case = Case {
        nodes: vec![
            NodeState::Online,
            NodeState::Standby,
            NodeState::Lost,
            NodeState::OfflineClean,
        ],
        stonith: true,
        prims: vec![Primitive {
            stickiness: Some(100),
            locations: vec![(1, 100)],
            history: Some((2, History::Running)),
        }],
        colocations: vec![],
        orders: vec![],
        clone: None,
    };
    let s = schedule(&case.xml(), Some(NOW)).expect("generated CIB schedules");
    let n = &s.cluster.nodes;
    assert!(n[0].online && !n[0].standby);
    assert!(n[1].online && n[1].standby);
    assert!(n[2].unclean, "lost member with fencing enabled is unclean");
    assert!(!n[3].online && !n[3].unclean);
    // r0 ran on the lost node: node3 is fenced and r0 recovers on node1 (node2 is standby).
    assert!(
        s.graph
            .actions
            .iter()
            .any(|a| matches!(a.task, Task::Fence { .. }) && a.node == "node3")
    );
    let placed = final_placement(&s);
    assert_eq!(placed["r0"], BTreeSet::from(["node1".to_string()]));
}

/// Found by `transitions_keep_invariants` and confirmed with crm_simulate 2.1.5: node2
/// left with expected="down" but its history still shows r0 started. Pacemaker marks
/// node2 UNCLEAN, fences it ("r0 is thought to be active there") and only then moves r0
/// to node1 (pacer once treated node2 as cleanly offline and started r0 at once: r0
/// could then run twice).
#[test]
fn offline_node_with_active_history_is_fenced_first() {
    let case = Case {
        nodes: vec![NodeState::Online, NodeState::OfflineClean],
        stonith: true,
        prims: vec![Primitive {
            stickiness: None,
            locations: vec![],
            history: Some((1, History::Running)),
        }],
        colocations: vec![],
        orders: vec![],
        clone: None,
    };
    let s = schedule(&case.xml(), Some(NOW)).expect("generated CIB schedules");
    assert_eq!(
        s.summary
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>(),
        vec![
            "* Fence (reboot) node2 'r0 is thought to be active there'",
            "* Move r0 ( node2 -> node1 )"
        ],
        "crm_simulate 2.1.5's Transition Summary"
    );
}
