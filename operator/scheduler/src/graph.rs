//! The transition graph the operator executes: actions (fence, stop, start,
//! promote, demote, migrate, probe/monitor) on nodes, and ordering edges between them.

use crate::{
    actions::{Change, ChangeKind},
    fencing::Fence,
    model::{Cluster, Kind, OrderKind, Role},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    Fence {
        action: String,
    },
    Start,
    Stop,
    Promote,
    Demote,
    MigrateTo,
    MigrateFrom,
    /// Probe (interval 0) or recurring monitor.
    Monitor {
        interval_ms: u64,
    },
    ClearFailcount,
}

/// One action of a transition.
#[derive(Debug, Clone)]
pub struct Action {
    pub id: usize,
    pub task: Task,
    /// Resource id (clone instances carry ":N"); `None` for fencing.
    pub resource: Option<String>,
    /// Node name the action runs on (or the node fenced).
    pub node: String,
}

/// `before` must complete before `after` may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    pub before: usize,
    pub after: usize,
}

#[derive(Debug, Clone, Default)]
pub struct TransitionGraph {
    pub actions: Vec<Action>,
    pub edges: Vec<Edge>,
    seen: std::collections::HashSet<(usize, usize)>,
}

impl TransitionGraph {
    fn add(&mut self, task: Task, resource: Option<&str>, node: &str) -> usize {
        let id = self.actions.len();
        self.actions.push(Action {
            id,
            task,
            resource: resource.map(|s| s.to_string()),
            node: node.to_string(),
        });
        id
    }
    fn edge(&mut self, before: usize, after: usize) {
        if before != after && self.seen.insert((before, after)) {
            self.edges.push(Edge { before, after });
        }
    }
    /// Actions whose predecessors are all in `done` (and that are not done yet).
    pub fn ready(&self, done: &[bool]) -> Vec<usize> {
        let mut blocked = vec![false; self.actions.len()];
        for e in &self.edges {
            if !done[e.before] {
                blocked[e.after] = true;
            }
        }
        (0..self.actions.len())
            .filter(|&a| !done[a] && !blocked[a])
            .collect()
    }
}

#[derive(Default, Clone)]
struct RscActions {
    stops: Vec<usize>,
    start: Option<usize>,
    promote: Option<usize>,
    demote: Option<usize>,
}

pub fn build(cl: &Cluster, fences: &[Fence], changes: &[Change]) -> TransitionGraph {
    let mut g = TransitionGraph::default();
    let mut fence_ids = Vec::new();
    for f in fences {
        let id = g.add(
            Task::Fence {
                action: f.action.clone(),
            },
            None,
            &cl.nodes[f.node].name,
        );
        fence_ids.push((f.node, id));
    }
    let mut per: Vec<RscActions> = vec![RscActions::default(); cl.resources.len()];
    for c in changes {
        let res = &cl.resources[c.rsc];
        let id = res.id.as_str();
        if c.blocked {
            continue;
        }
        // Probes where the history knows nothing and the node is up.
        let mut probes = Vec::new();
        for (n, node) in cl.nodes.iter().enumerate() {
            if node.online
                && !node.unclean
                && !res.status.iter().any(|s| s.node == n)
                && res.managed
                && !res.orphan
            {
                probes.push(g.add(Task::Monitor { interval_ms: 0 }, Some(id), &node.name));
            }
        }
        let node_name = |n: usize| cl.nodes[n].name.as_str();
        let fenced_first = |g: &mut TransitionGraph, n: usize, a: usize| {
            for &(fnode, fid) in &fence_ids {
                if fnode == n {
                    g.edge(fid, a);
                }
            }
        };
        let stop_on = |g: &mut TransitionGraph, per: &mut Vec<RscActions>, n: usize| {
            if fence_ids.iter().any(|&(f, _)| f == n) {
                return; // fencing stops it
            }
            let a = g.add(Task::Stop, Some(id), node_name(n));
            per[c.rsc].stops.push(a);
        };
        if c.stops()
            && let Some((f, fr)) = c.from
        {
            if fr == Role::Promoted {
                let d = g.add(Task::Demote, Some(id), node_name(f));
                per[c.rsc].demote = Some(d);
            }
            if c.kind == ChangeKind::Migrate
                && let Some((t, _)) = c.to
            {
                let mt = g.add(Task::MigrateTo, Some(id), node_name(f));
                let mf = g.add(Task::MigrateFrom, Some(id), node_name(t));
                g.edge(mt, mf);
                per[c.rsc].stops.push(mt);
                let s = g.add(Task::Stop, Some(id), node_name(f));
                g.edge(mf, s);
                per[c.rsc].start = Some(mf);
                continue;
            }
            stop_on(&mut g, &mut per, f);
        }
        for &e in &c.extra_stops {
            stop_on(&mut g, &mut per, e);
        }
        if c.kind == ChangeKind::Demote
            && let Some((f, _)) = c.from
        {
            per[c.rsc].demote = Some(g.add(Task::Demote, Some(id), node_name(f)));
        }
        if (c.starts() || (c.kind == ChangeKind::Promote && c.from.is_none()))
            && let Some((t, _)) = c.to
        {
            let s = g.add(Task::Start, Some(id), node_name(t));
            fenced_first(&mut g, t, s);
            for &p in &probes {
                g.edge(p, s);
            }
            for &st in &per[c.rsc].stops.clone() {
                g.edge(st, s);
            }
            for (fnode, fid) in &fence_ids {
                if c.from.is_some_and(|(f, _)| f == *fnode) {
                    g.edge(*fid, s);
                }
            }
            per[c.rsc].start = Some(s);
            for op in &res.ops {
                if op.name == "monitor" && op.interval_ms > 0 && op.enabled {
                    let want = c.to.map(|(_, r)| r).unwrap_or(Role::Started);
                    if op.role.is_none_or(|r| {
                        r == want || (r == Role::Unpromoted && want == Role::Started)
                    }) {
                        let m = g.add(
                            Task::Monitor {
                                interval_ms: op.interval_ms,
                            },
                            Some(id),
                            node_name(t),
                        );
                        g.edge(s, m);
                    }
                }
            }
        }
        let promoted_after = matches!(c.to, Some((_, Role::Promoted)));
        let promoted_before = matches!(c.from, Some((_, Role::Promoted)));
        if (promoted_after && (!promoted_before || c.kind == ChangeKind::Recover))
            && let Some((t, _)) = c.to
        {
            let p = g.add(Task::Promote, Some(id), node_name(t));
            if let Some(s) = per[c.rsc].start {
                g.edge(s, p);
            }
            per[c.rsc].promote = Some(p);
        }
        if let (Some(d), stops) = (per[c.rsc].demote, per[c.rsc].stops.clone()) {
            for s in stops {
                g.edge(d, s);
            }
        }
    }
    // Ordering edges: groups and mandatory/optional orderings (start→start, stop reversed).
    let mut pairs: Vec<(usize, usize, bool)> = Vec::new();
    for res in &cl.resources {
        if res.kind == Kind::Group {
            for w in res.children.windows(2) {
                pairs.push((w[0], w[1], true));
            }
        }
    }
    for o in &cl.orderings {
        if o.kind == OrderKind::Serialize {
            continue;
        }
        for f in cl.primitives_of(o.first) {
            for t in cl.primitives_of(o.then) {
                pairs.push((f, t, o.symmetrical));
            }
        }
    }
    for (f, t, sym) in pairs {
        if let (Some(a), Some(b)) = (per[f].start, per[t].start) {
            g.edge(a, b);
        }
        if sym {
            for &sf in &per[f].stops {
                for &st in &per[t].stops {
                    g.edge(st, sf);
                }
            }
        }
    }
    g
}
