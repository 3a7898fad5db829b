//! The transition graph the operator executes: actions (fence, stop, start,
//! promote, demote, migrate, reload, probe/monitor) on nodes, and ordering edges between them.

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
    /// Apply changed parameters without a restart (OCF `reload-agent`).
    Reload,
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
    let probes_of = probes(cl, changes, &mut g);
    for c in changes {
        let res = &cl.resources[c.rsc];
        let id = res.id.as_str();
        if c.blocked {
            continue;
        }
        let probes = &probes_of[c.rsc];
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
                // A partial migration continues: its migrate_to is done.
                let continued = res
                    .status
                    .iter()
                    .any(|s| s.node == f && s.migrated_to == Some(t));
                let mf = g.add(Task::MigrateFrom, Some(id), node_name(t));
                if continued {
                    per[c.rsc].stops.push(mf);
                } else {
                    let mt = g.add(Task::MigrateTo, Some(id), node_name(f));
                    g.edge(mt, mf);
                    per[c.rsc].stops.push(mt);
                }
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
        // A finished migration's source still to be stopped.
        for s in res.status.iter().filter(|s| s.dangling) {
            stop_on(&mut g, &mut per, s.node);
        }
        if c.kind == ChangeKind::Demote
            && let Some((f, _)) = c.from
        {
            per[c.rsc].demote = Some(g.add(Task::Demote, Some(id), node_name(f)));
        }
        let reload = c.kind == ChangeKind::Reload;
        if (c.starts() || reload || (c.kind == ChangeKind::Promote && c.from.is_none()))
            && let Some((t, _)) = c.to
        {
            let task = if reload { Task::Reload } else { Task::Start };
            let s = g.add(task, Some(id), node_name(t));
            fenced_first(&mut g, t, s);
            for &p in probes {
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
        if res.kind == Kind::Group && res.group_ordered() {
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

/// Probes (monitor, interval 0): one per primitive and up node where the history has no
/// entry for it (an anonymous clone is probed once per node, by one of its instances),
/// unless a `resource-discovery` location rules the node out. Returns, per resource,
/// the probes its starts must wait for.
fn probes(cl: &Cluster, changes: &[Change], g: &mut TransitionGraph) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); cl.resources.len()];
    // Remote and guest nodes are probed only while their configured connection (and
    // container) stays up in this transition.
    let stopping: std::collections::HashSet<usize> = changes
        .iter()
        .filter(|c| c.stops() || (c.to.is_none() && c.from.is_some()))
        .map(|c| c.rsc)
        .collect();
    let probe_node: Vec<bool> = cl
        .nodes
        .iter()
        .map(|n| match n.remote_of {
            None => n.kind != crate::model::NodeKind::Remote,
            Some(conn) => {
                !cl.resources[conn].orphan
                    && !stopping.contains(&conn)
                    && n.container.is_none_or(|c| !stopping.contains(&c))
            }
        })
        .collect();
    // Anonymous clone instances share their probes: keyed by the first instance.
    let mut shared: std::collections::HashMap<(&str, usize), usize> =
        std::collections::HashMap::new();
    for (r, res) in cl.resources.iter().enumerate() {
        // Unmanaged resources are probed too (their state is still wanted), except in
        // maintenance, which suspends all monitoring.
        let maintenance = cl.options.maintenance_mode
            || res
                .meta
                .get("maintenance")
                .is_some_and(|v| crate::unpack::is_true(v));
        if !res.is_primitive() || maintenance || res.orphan {
            continue;
        }
        let clone = cl.clone_of(r);
        let anonymous = clone.is_some_and(|c| {
            !cl.resources[c]
                .clone
                .as_ref()
                .is_some_and(|cfg| cfg.unique)
        });
        // Locations of the resource and its ancestors decide where discovery runs.
        let mut chain = vec![r];
        let mut cur = res.parent;
        while let Some(p) = cur {
            chain.push(p);
            cur = cl.resources[p].parent;
        }
        let locs: Vec<&crate::model::Location> = chain
            .iter()
            .flat_map(|&x| cl.index.locations.get(x).into_iter().flatten())
            .map(|&i| &cl.locations[i])
            .collect();
        // Fence devices, remote connections and guest containers never run on a
        // remote or guest node: nothing to probe there.
        let cluster_only = res.is_stonith()
            || res.meta.contains_key("remote-node")
            || cl.nodes.iter().any(|x| x.remote_of == Some(r));
        let exclusive = locs
            .iter()
            .any(|l| l.discovery == crate::model::Discovery::Exclusive);
        for (n, node) in cl.nodes.iter().enumerate() {
            if !node.online
                || !probe_node[n]
                || node.unclean
                || node.maintenance
                || res.known_on.contains(&n)
            {
                continue;
            }
            if (cluster_only && node.kind == crate::model::NodeKind::Remote)
                || locs
                    .iter()
                    .any(|l| l.node == n && l.discovery == crate::model::Discovery::Never)
            {
                continue;
            }
            if exclusive
                && !locs.iter().any(|l| {
                    l.node == n && l.discovery == crate::model::Discovery::Exclusive && l.score >= 0
                })
            {
                continue;
            }
            if anonymous && let Some(&p) = shared.get(&(res.config_id.as_str(), n)) {
                // Another instance probes this node; wait for that one too.
                out[r].push(p);
                continue;
            }
            // The instance headed for this node probes it, if any.
            let id = if anonymous {
                changes
                    .iter()
                    .find(|c| {
                        c.to.is_some_and(|(t, _)| t == n)
                            && cl.resources[c.rsc].config_id == res.config_id
                            && cl.resources[c.rsc].is_primitive()
                    })
                    .map(|c| cl.resources[c.rsc].id.as_str())
                    .unwrap_or(res.id.as_str())
            } else {
                res.id.as_str()
            };
            let p = g.add(Task::Monitor { interval_ms: 0 }, Some(id), &node.name);
            if anonymous {
                shared.insert((res.config_id.as_str(), n), p);
            }
            out[r].push(p);
        }
    }
    out
}
