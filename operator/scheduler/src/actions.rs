//! Decide what happens to each primitive: compare where it is (history) with where it
//! should be (placement) and derive start/stop/move/recover/restart/promote/demote,
//! then propagate restarts and blocked starts along orderings and groups.
//! In: [`Cluster`], [`Placement`], fencing. Out: one [`Change`] per primitive.

use crate::{
    model::{Cluster, Kind, NoQuorumPolicy, NodeIdx, OrderKind, Role, RscIdx},
    placement::Placement,
    score::INFINITY,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    None,
    Start,
    Stop,
    Move,
    Migrate,
    Recover,
    Restart,
    /// Only parameters the agent can take without a restart changed (`reload-agent`).
    Reload,
    Promote,
    Demote,
}

/// What happens to one primitive in this transition.
#[derive(Debug, Clone)]
pub struct Change {
    pub rsc: RscIdx,
    pub kind: ChangeKind,
    /// Where it is active now (first active node) and in which role.
    pub from: Option<(NodeIdx, Role)>,
    /// Where it will be and in which role.
    pub to: Option<(NodeIdx, Role)>,
    /// Extra active copies to stop (multiple-active).
    pub extra_stops: Vec<NodeIdx>,
    pub reason: Option<String>,
    pub blocked: bool,
    /// An interleaved clone instance stopped because no instance of the clone it is
    /// ordered after is placed on its node: its start there is still wanted (though
    /// it cannot happen), which restarts what is ordered after its clone there.
    pub inhibited: bool,
}

impl Change {
    pub fn stops(&self) -> bool {
        matches!(
            self.kind,
            ChangeKind::Stop
                | ChangeKind::Move
                | ChangeKind::Migrate
                | ChangeKind::Recover
                | ChangeKind::Restart
        ) && !self.blocked
    }
    pub fn starts(&self) -> bool {
        matches!(
            self.kind,
            ChangeKind::Start
                | ChangeKind::Move
                | ChangeKind::Migrate
                | ChangeKind::Recover
                | ChangeKind::Restart
        ) && !self.blocked
    }
}

pub fn decide(cl: &Cluster, pl: &Placement, fenced: &[NodeIdx]) -> Vec<Change> {
    let no_quorum = !cl.options.have_quorum;
    let mut changes: Vec<Change> = Vec::new();
    for r in 0..cl.resources.len() {
        let res = &cl.resources[r];
        if !res.is_primitive() {
            continue;
        }
        // Multiply active: the first copy in history order is "the" one.
        let mut active: Vec<_> = res.active_nodes().collect();
        // A partial migration continues if its target stays the target: from its
        // source, which then is "the" copy.
        let partial = active
            .iter()
            .find_map(|s| s.migrated_to.map(|t| (s.node, t)))
            .filter(|&(_, t)| pl.node[r] == Some(t) && res.allow_migrate);
        if let Some((src, t)) = partial {
            active.retain(|s| s.node != t);
            if let Some(pos) = active.iter().position(|s| s.node == src) {
                let s = active.remove(pos);
                active.insert(0, s);
            }
        }
        let from = active.first().map(|s| (s.node, s.role));
        // on-fail=demote: a failed promoted instance is demoted, not recovered.
        let failed = active.first().is_some_and(|s| {
            s.failed
                && !(s.on_fail == Some(crate::model::OnFail::Demote) && s.role == Role::Promoted)
        });
        let unfinished_migration = partial.map(|(_, t)| t);
        // Unknown state after an unfinished migration: restarted where it stays.
        let uncertain = active.first().is_some_and(|s| s.restart);
        let mut to = pl.node[r].map(|n| (n, pl.role[r]));
        let mut reason = None;
        let mut blocked = false;
        if pl.frozen[r]
            && res.blocked
            && cl.can_fence
            && from.is_some_and(|(n, _)| cl.nodes[n].unclean)
        {
            changes.push(Change {
                rsc: r,
                kind: ChangeKind::Stop,
                from,
                to: None,
                extra_stops: vec![],
                reason: unfenceable_stop_reason(cl, pl, r, from.map(|(n, _)| n)),
                blocked: true,
                inhibited: false,
            });
            continue;
        }
        if pl.frozen[r] {
            changes.push(Change {
                rsc: r,
                kind: ChangeKind::None,
                from,
                to: from,
                extra_stops: vec![],
                reason: None,
                blocked: false,
                inhibited: false,
            });
            continue;
        }
        if no_quorum && res.requires_quorum {
            match cl.options.no_quorum_policy {
                NoQuorumPolicy::Stop | NoQuorumPolicy::Suicide => {
                    if from.is_some() {
                        to = None;
                        reason = Some("due to no quorum".to_string());
                    } else if to.is_some() {
                        blocked = true;
                        reason = Some("due to no quorum".to_string());
                    }
                }
                NoQuorumPolicy::Freeze => {
                    if from.is_none() && to.is_some() {
                        blocked = true;
                        reason = Some("due to quorum freeze".to_string());
                    }
                }
                NoQuorumPolicy::Demote => {
                    if let Some((n, Role::Promoted)) = to {
                        to = Some((n, Role::Unpromoted));
                    }
                    if from.is_none()
                        && to.is_some()
                        && res.clone.is_none()
                        && cl.clone_of(r).is_none()
                    {
                        blocked = true;
                        reason = Some("due to no quorum".to_string());
                    }
                }
                NoQuorumPolicy::Ignore => {}
            }
        }
        let extra_stops: Vec<NodeIdx> = active.iter().skip(1).map(|s| s.node).collect();
        // A failure inside a container restarts the container.
        let inner_failed = from.is_some_and(|(n, _)| {
            cl.contained_stop_failed.contains(&(r, n))
                || cl.contained.iter().any(|&(x, c)| {
                c == r
                    && cl.resources[x]
                        .status
                        .iter()
                        .any(|s| s.node == n && s.failed)
            })
        });
        // The container of a fenced guest node is recovered (that is the fencing).
        // (A guest with nothing active on it just moves with its container.)
        let guest_fenced = cl.nodes.iter().enumerate().any(|(n, x)| {
            x.container == Some(r)
                && fenced.contains(&n)
                && cl
                    .resources
                    .iter()
                    .any(|y| y.managed && y.active_nodes().any(|s| s.node == n))
        });
        let kind = match (from, to) {
            (None, None) => ChangeKind::None,
            (None, Some((_, role))) => {
                if role == Role::Promoted {
                    ChangeKind::Promote
                } else {
                    ChangeKind::Start
                }
            }
            (Some(_), None) => {
                if reason.is_none() {
                    reason = Some("due to node availability".to_string());
                }
                ChangeKind::Stop
            }
            (Some((c, cr)), Some((t, tr))) => {
                if c == t && !fenced.contains(&c) {
                    if failed || guest_fenced {
                        ChangeKind::Recover
                    } else if uncertain && extra_stops.is_empty() {
                        ChangeKind::Restart
                    } else if !extra_stops.is_empty() {
                        if active.iter().any(|s| s.failed) {
                            if res
                                .meta
                                .get("multiple-active")
                                .is_some_and(|v| v == "stop_unexpected")
                            {
                                reason = Some("due to being multiply active".to_string());
                            }
                            ChangeKind::Recover
                        } else {
                            ChangeKind::Restart
                        }
                    } else if inner_failed {
                        ChangeKind::Restart
                    } else if cr != tr && tr == Role::Promoted {
                        ChangeKind::Promote
                    } else if cr == Role::Promoted && tr != Role::Promoted {
                        ChangeKind::Demote
                    } else if definition_changed(
                        res,
                        active.first().and_then(|s| s.start_digest.as_deref()),
                    ) {
                        let pending = active.first().is_some_and(|s| s.pending);
                        if reloadable(res, active.first().and_then(|s| s.restart_digest.as_ref())) {
                            // A start still in flight cannot take a reload: it is
                            // restarted instead (crm_simulate names no reason).
                            if pending {
                                ChangeKind::Restart
                            } else {
                                ChangeKind::Reload
                            }
                        } else {
                            reason = Some(DEFINITION_CHANGE.to_string());
                            ChangeKind::Restart
                        }
                    } else {
                        ChangeKind::None
                    }
                } else if c == t
                    || (failed && (!fenced.contains(&c) || cl.nodes[c].unclean_reason.is_empty()))
                    || guest_fenced
                    || (!extra_stops.is_empty()
                        && !fenced.contains(&c)
                        && active.iter().any(|s| s.failed))
                {
                    ChangeKind::Recover
                } else if unfinished_migration == Some(t)
                    || (res.allow_migrate
                        && extra_stops.is_empty()
                        && !fenced.contains(&c)
                        && can_migrate(cl, r))
                {
                    ChangeKind::Migrate
                } else {
                    ChangeKind::Move
                }
            }
        };
        changes.push(Change {
            rsc: r,
            kind,
            from,
            to,
            extra_stops,
            reason,
            blocked,
            inhibited: false,
        });
    }
    propagate(cl, pl, &mut changes);
    // crm_simulate names no reason for a definition-change restart of a resource
    // whose start needs nothing (neither quorum nor fencing).
    for c in &mut changes {
        let res = &cl.resources[c.rsc];
        if c.reason.as_deref() == Some(DEFINITION_CHANGE)
            && !res.requires_quorum
            && !res.requires_fencing
        {
            c.reason = None;
        }
    }
    changes
}

const DEFINITION_CHANGE: &str = "due to resource definition change";

fn can_migrate(cl: &Cluster, r: RscIdx) -> bool {
    // A standalone primitive migrates; so do members of a group whose members all
    // allow it. Clone instances do not.
    match cl.resources[r].parent {
        None => true,
        Some(g) => {
            cl.resources[g].kind == Kind::Group
                && cl.resources[g].parent.is_none()
                && cl.resources[g]
                    .children
                    .iter()
                    .all(|&m| cl.resources[m].allow_migrate)
        }
    }
}

/// One "first → then" dependency as seen by one primitive of `then`.
struct Link {
    /// Primitives whose state decides whether `then` may start.
    firsts: Vec<RscIdx>,
    then: RscIdx,
    symmetrical: bool,
    /// How many of `firsts` must be runnable (clone-min / require-all=false → 1).
    need: usize,
    label: String,
    first_action: String,
    /// Interleaved clones: `firsts` are the first clone's instances on then's node.
    interleaved: bool,
    /// A (non-interleaved) clone `first`: `then` restarts for the clone's start ("X
    /// running") only when an instance starts where `then` runs, unless `then` is
    /// itself cloned (its start is then the whole clone's).
    first_clone: Option<RscIdx>,
    /// An optional ordering that only restarts `then` (restart-type=restart).
    restart_only: bool,
}

fn clone_instance_of(cl: &Cluster, p: RscIdx) -> Option<RscIdx> {
    let mut cur = p;
    while let Some(par) = cl.resources[cur].parent {
        if cl.resources[par].kind == Kind::Clone {
            return Some(cur);
        }
        cur = par;
    }
    None
}

/// The deprecated `restart-type=restart` meta attribute, on `r` or an ancestor.
fn restart_type_restart(cl: &Cluster, r: RscIdx) -> bool {
    let mut cur = Some(r);
    while let Some(x) = cur {
        if let Some(v) = cl.resources[x].meta.get("restart-type") {
            return v == "restart";
        }
        cur = cl.resources[x].parent;
    }
    false
}

fn links(cl: &Cluster, pl: &Placement) -> Vec<Link> {
    let mut out = Vec::new();
    for res in &cl.resources {
        if res.kind == Kind::Group && res.group_ordered() {
            for w in res.children.windows(2) {
                out.push(Link {
                    firsts: vec![w[0]],
                    then: w[1],
                    symmetrical: true,
                    need: 1,
                    label: format!("{} start", cl.resources[w[0]].id),
                    first_action: "start".into(),
                    interleaved: false,
                    first_clone: None,
                    restart_only: false,
                });
            }
        }
    }
    // Whatever stays on a guest node restarts when the guest's container does.
    for (g, node) in cl.nodes.iter().enumerate() {
        let Some(container) = node.container else {
            continue;
        };
        for (p, res) in cl.resources.iter().enumerate() {
            if res.is_primitive()
                && pl.node[p] == Some(g)
                && res.active_nodes().any(|s| s.node == g)
            {
                // A bundle's guest node also needs its connection, which may not run
                // where the container does (so may not run at all).
                if let Some(conn) = node.remote_of.filter(|_| cl.is_bundle_guest(g)) {
                    out.push(Link {
                        firsts: vec![conn],
                        then: p,
                        symmetrical: true,
                        need: 1,
                        label: format!("{} start", cl.resources[conn].id),
                        first_action: "start".into(),
                        interleaved: false,
                        first_clone: None,
                        restart_only: false,
                    });
                }
                out.push(Link {
                    firsts: vec![container],
                    then: p,
                    symmetrical: true,
                    need: 1,
                    label: format!("{} start", cl.resources[container].id),
                    first_action: "start".into(),
                    interleaved: false,
                    first_clone: None,
                    restart_only: false,
                });
            }
        }
    }
    // Sets with require-all=false: any one member of the first set suffices.
    let mut any_of: std::collections::BTreeMap<(String, RscIdx), (Vec<RscIdx>, bool)> =
        Default::default();
    for o in &cl.orderings {
        if let (Some(set), OrderKind::Mandatory) = (&o.first_set, o.kind) {
            let e = any_of
                .entry((set.clone(), o.then))
                .or_insert((Vec::new(), o.symmetrical));
            e.0.extend(cl.primitives_of(o.first));
        }
    }
    for ((set, then), (firsts, symmetrical)) in any_of {
        for t in cl.primitives_of(then) {
            out.push(Link {
                firsts: firsts.clone(),
                then: t,
                symmetrical,
                need: 1,
                label: format!("one-or-more:{set}"),
                first_action: "start".into(),
                interleaved: false,
                first_clone: None,
                restart_only: false,
            });
        }
    }
    for o in &cl.orderings {
        // An optional ordering still restarts a `then` with the (deprecated)
        // restart-type=restart when `first` starts.
        let restart_only = o.kind == OrderKind::Optional && restart_type_restart(cl, o.then);
        if o.first_set.is_some()
            || (o.kind != OrderKind::Mandatory && !restart_only)
            || o.then_action != "start"
            || !matches!(o.first_action.as_str(), "start" | "promote")
        {
            continue;
        }
        let fres = &cl.resources[o.first];
        let tres = &cl.resources[o.then];
        let first_is_clone = fres.kind == Kind::Clone;
        let interleave = first_is_clone
            && tres.kind == Kind::Clone
            && tres.clone.as_ref().is_some_and(|c| c.interleave);
        let clone_min: Option<usize> = fres.meta.get("clone-min").and_then(|v| v.parse().ok());
        let one_or_more = first_is_clone && (!o.require_all || clone_min.is_some());
        let label = if one_or_more {
            format!("clone-one-or-more:{}", o.id)
        } else if fres.is_primitive() && o.first_action == "start" {
            format!("{} start", fres.id)
        } else if o.first_action == "promote" {
            format!("{} promoted", cl.constraint_name(o.first))
        } else if fres.clone.as_ref().is_some_and(|c| c.notify) {
            // With notifications, "then" waits for the post-start notifications.
            format!("{} notified", fres.id)
        } else {
            format!("{} running", fres.id)
        };
        let need = if one_or_more {
            clone_min.unwrap_or(1).max(1)
        } else {
            1
        };
        let fprims = cl.primitives_of(o.first);
        // A group is running once its last member is; so is a cloned group's instance.
        let all_firsts: Vec<RscIdx> = match fres.kind {
            Kind::Group => fprims.last().copied().into_iter().collect(),
            Kind::Clone => fres
                .children
                .iter()
                .flat_map(|&i| match cl.resources[i].kind {
                    Kind::Group => cl.primitives_of(i).last().copied().into_iter().collect(),
                    _ => cl.primitives_of(i),
                })
                .collect(),
            _ => fprims,
        };
        // The primitives of `then` that wait for `first`: the first member of a group
        // (or of each group instance); every member of an unordered group.
        let thens: Vec<RscIdx> = cl
            .primitives_of(o.then)
            .into_iter()
            .filter(|&p| {
                let par = cl.resources[p].parent;
                par.is_none_or(|g| {
                    let g = &cl.resources[g];
                    g.kind != Kind::Group || !g.group_ordered() || g.children.first() == Some(&p)
                })
            })
            .collect();
        for t in thens {
            let firsts = if interleave && !one_or_more {
                let tnode =
                    pl.node[t].or_else(|| cl.resources[t].active_nodes().next().map(|s| s.node));
                all_firsts
                    .iter()
                    .copied()
                    .filter(|&f| {
                        // The peer is the first's instance placed on then's node.
                        tnode.is_some() && pl.node[f] == tnode
                    })
                    .collect()
            } else {
                all_firsts.clone()
            };
            let _ = clone_instance_of(cl, t);
            out.push(Link {
                firsts,
                then: t,
                symmetrical: o.symmetrical,
                need,
                label: if interleave && !one_or_more {
                    String::new()
                } else {
                    label.clone()
                },
                first_action: o.first_action.clone(),
                interleaved: interleave && !one_or_more,
                first_clone: (first_is_clone && !interleave).then_some(o.first),
                restart_only,
            });
        }
    }
    out
}

fn propagate(cl: &Cluster, pl: &Placement, changes: &mut [Change]) {
    let idx: std::collections::HashMap<RscIdx, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.rsc, i))
        .collect();
    let links = links(cl, pl);
    // Explicit "first stop → then stop": a stuck first blocks the then's stop.
    for o in &cl.orderings {
        if o.kind != OrderKind::Mandatory || o.first_action != "stop" || o.then_action != "stop" {
            continue;
        }
        let stuck = cl
            .primitives_of(o.first)
            .iter()
            .any(|&f| pl.frozen[f] && cl.resources[f].active_nodes().next().is_some());
        if stuck {
            for t in cl.primitives_of(o.then) {
                if let Some(&ti) = idx.get(&t)
                    && changes[ti].kind == ChangeKind::Stop
                {
                    changes[ti].blocked = true;
                }
            }
        }
    }
    for _round in 0..10 {
        let mut changed = false;
        for l in &links {
            let Some(&ti) = idx.get(&l.then) else {
                continue;
            };
            let firsts: Vec<Change> = l
                .firsts
                .iter()
                .filter_map(|f| idx.get(f).map(|&i| changes[i].clone()))
                .collect();
            let runnable_count = firsts
                .iter()
                .filter(|f| {
                    let placed = f.to.is_some() && !f.blocked;
                    if l.first_action == "promote" {
                        placed && f.to.is_some_and(|(_, r)| r == Role::Promoted)
                    } else {
                        placed
                    }
                })
                .count();
            let first_runnable = runnable_count >= l.need;
            let unallocated =
                l.interleaved && firsts.iter().all(|f| f.to.is_none() && f.from.is_none());
            let then_node = changes[ti].to.map(|(n, _)| n);
            let then_cloned = cl.clone_of(l.then).is_some();
            // A clone's start matters to a non-cloned `then` only on then's node.
            let relevant = |f: &Change| {
                l.first_clone.is_none()
                    || then_cloned
                    || (then_node.is_some() && f.to.or(f.from).map(|(n, _)| n) == then_node)
            };
            // "One or more" of the firsts (require-all=false, clone-min) only gates
            // whether `then` can start: their starts restart nothing.
            let one_or_more = l.label.starts_with("clone-one-or-more:")
                || l.label.starts_with("one-or-more:");
            // A migrating first keeps running until its dependents could start: its
            // move restarts nothing after it.
            let first_starts = !one_or_more
                && firsts.iter().any(|f| {
                    ((f.starts() && f.kind != ChangeKind::Migrate) || f.inhibited) && relevant(f)
                });
            let first_ordered = firsts.iter().any(|f| {
                f.reason
                    .as_deref()
                    .is_some_and(|r| r.contains("unrunnable") || r.contains("required"))
            });
            let label = if l.label.is_empty() {
                firsts
                    .first()
                    .map(|f| format!("{} start", cl.resources[f.rsc].id))
                    .unwrap_or_default()
            } else {
                l.label.clone()
            };
            // A first that must stop while its dependent is stuck cannot stop either.
            if l.symmetrical && pl.frozen[l.then] && changes[ti].from.is_some() {
                for &f in &l.firsts {
                    if let Some(&fi) = idx.get(&f) {
                        let fc = &mut changes[fi];
                        if fc.kind == ChangeKind::Stop && !fc.blocked {
                            fc.blocked = true;
                            changed = true;
                        }
                    }
                }
            }
            let then = &mut changes[ti];
            if then.blocked || pl.frozen[l.then] {
                continue;
            }
            if !first_runnable && !l.restart_only {
                let why = format!("due to unrunnable {label}");
                // An active interleaved instance with no peer placed on its node is
                // taken off it: a plain stop.
                if l.interleaved
                    && firsts.is_empty()
                    && then.from.is_some()
                    && then.to.is_some()
                    && then.kind != ChangeKind::Stop
                {
                    then.kind = ChangeKind::Stop;
                    then.to = None;
                    then.reason = None;
                    then.inhibited = true;
                    changed = true;
                    continue;
                }
                match then.kind {
                    // An interleaved instance with no instance of the first clone placed
                    // on its node has nothing to follow: it is not started, not listed.
                    ChangeKind::Start | ChangeKind::Promote
                        if then.from.is_none() && unallocated =>
                    {
                        then.kind = ChangeKind::None;
                        then.to = None;
                        changed = true;
                    }
                    ChangeKind::Start | ChangeKind::Promote if then.from.is_none() => {
                        then.blocked = true;
                        then.reason = Some(why);
                        changed = true;
                    }
                    ChangeKind::None
                    | ChangeKind::Restart
                    | ChangeKind::Move
                    | ChangeKind::Recover
                    | ChangeKind::Migrate
                        if then.from.is_some()
                            && (then.kind != ChangeKind::None || l.symmetrical) =>
                    {
                        then.kind = ChangeKind::Stop;
                        then.to = None;
                        then.reason = Some(if first_ordered {
                            format!("due to required {label}")
                        } else {
                            why
                        });
                        changed = true;
                    }
                    _ => {}
                }
                continue;
            }
            // A restart or reload for a changed definition that must follow a start
            // becomes a restart for that start.
            let for_definition = (then.kind == ChangeKind::Restart
                && then.reason.as_deref() == Some(DEFINITION_CHANGE))
                || then.kind == ChangeKind::Reload;
            if first_starts && for_definition && l.first_action == "start" {
                let who = firsts
                    .iter()
                    .find(|f| f.starts() && f.kind != ChangeKind::Migrate)
                    .map(|f| cl.resources[f.rsc].id.clone())
                    .unwrap_or_default();
                changed |= then.kind == ChangeKind::Reload;
                then.kind = ChangeKind::Restart;
                then.reason = Some(format!("due to required {who} start"));
            }
            if first_starts
                && then.kind == ChangeKind::None
                && then.from.is_some()
                && then.to.is_some()
                && l.first_action == "start"
            {
                let who = match l.first_clone {
                    Some(c) => format!("{} running", cl.resources[c].id),
                    None => firsts
                        .iter()
                        .find(|f| f.starts() && f.kind != ChangeKind::Migrate)
                        .map(|f| format!("{} start", cl.resources[f.rsc].id))
                        .unwrap_or_default(),
                };
                then.kind = ChangeKind::Restart;
                then.reason = Some(format!("due to required {who}"));
                changed = true;
            }
        }
        changed |= crate::migration::unmigratable_after_restarts(cl, &idx, changes);
        changed |= stops_restart_thens(cl, pl, &idx, changes);
        // What must run with a primitive that an ordering now stops, stops with it.
        for c in &cl.colocations {
            if c.score < INFINITY
                || c.dependent_role.is_some()
                || c.primary_role.is_some()
                || !cl.resources[c.primary].is_primitive()
                || !cl.resources[c.dependent].is_primitive()
            {
                continue;
            }
            let (Some(&pi), Some(&di)) = (idx.get(&c.primary), idx.get(&c.dependent)) else {
                continue;
            };
            let primary = &changes[pi];
            let ordered_off = primary.kind == ChangeKind::Stop
                && !primary.blocked
                && primary.reason.as_deref().is_some_and(|r| {
                    r.starts_with("due to unrunnable") || r.starts_with("due to required")
                });
            let Some((pnode, _)) = primary.from else {
                continue;
            };
            let dep = &mut changes[di];
            if ordered_off
                && !dep.blocked
                && !pl.frozen[c.dependent]
                && dep.kind == ChangeKind::None
                && dep.from.is_some_and(|(n, _)| n == pnode)
            {
                dep.kind = ChangeKind::Stop;
                dep.to = None;
                dep.reason = Some(format!("due to colocation with {}", cl.resources[c.primary].id));
                changed = true;
            }
        }
        changed |= crate::order_implies::restarts(cl, &idx, changes);
        if !changed {
            break;
        }
    }
}

/// "first stop then stop" (mandatory, or optional with restart-type=restart on then):
/// a stop of `first` makes then's stop required too, so a `then` that stays put
/// restarts (no reason listed). Returns whether anything changed.
fn stops_restart_thens(
    cl: &Cluster,
    pl: &Placement,
    idx: &std::collections::HashMap<RscIdx, usize>,
    changes: &mut [Change],
) -> bool {
    let mut changed = false;
    for o in &cl.orderings {
        let applies = match o.kind {
            OrderKind::Mandatory => true,
            OrderKind::Optional => restart_type_restart(cl, o.then),
            OrderKind::Serialize => false,
        };
        if !applies || o.first_set.is_some() || o.first_action != "stop" || o.then_action != "stop"
        {
            continue;
        }
        // A clone's stop matters to a non-cloned `then` only on then's node.
        let per_node =
            cl.resources[o.first].kind == Kind::Clone && cl.clone_of(o.then).is_none();
        for t in cl.primitives_of(o.then) {
            let Some(&ti) = idx.get(&t) else {
                continue;
            };
            let here = changes[ti].from.map(|(n, _)| n);
            let first_stops = cl.primitives_of(o.first).iter().any(|f| {
                idx.get(f).is_some_and(|&i| {
                    // A migration's stop comes after the migrate_from: no restart.
                    changes[i].stops()
                        && changes[i].kind != ChangeKind::Migrate
                        && (!per_node || changes[i].from.map(|(n, _)| n) == here)
                })
            });
            if !first_stops {
                continue;
            }
            let then = &mut changes[ti];
            if then.kind == ChangeKind::None
                && !then.blocked
                && !pl.frozen[t]
                && then.from.is_some()
                && then.from.map(|(n, _)| n) == then.to.map(|(n, _)| n)
            {
                then.kind = ChangeKind::Restart;
                then.reason = None;
                changed = true;
            }
        }
    }
    changed
}

/// Why a resource on an unclean node that cannot be fenced yet is to stop (the stop
/// waits for the fencing): no other node may take it, or no quorum (crm_simulate: with
/// a quorum freeze and a node it could move to, no reason).
fn unfenceable_stop_reason(
    cl: &Cluster,
    pl: &Placement,
    r: RscIdx,
    on: Option<NodeIdx>,
) -> Option<String> {
    // A clone instance never moves: another instance starts elsewhere, if any.
    if cl.clone_of(r).is_some() {
        return Some("due to node availability".into());
    }
    // Scores are recorded per placed unit: the primitive, or the group it is in.
    let units = [Some(r), cl.resources[r].parent.filter(|&p| cl.resources[p].kind == Kind::Group)];
    let elsewhere = pl
        .scores
        .iter()
        .rev()
        .find(|(_, x, _)| units.contains(&Some(*x)))
        .is_some_and(|(_, _, w)| {
            w.iter().enumerate().any(|(n, &v)| {
                Some(n) != on && v > -INFINITY && cl.nodes[n].online && !cl.nodes[n].unclean
            })
        });
    if !elsewhere {
        return Some("due to node availability".into());
    }
    let no_quorum_stop = !cl.options.have_quorum
        && cl.resources[r].requires_quorum
        && matches!(
            cl.options.no_quorum_policy,
            NoQuorumPolicy::Stop | NoQuorumPolicy::Suicide
        );
    no_quorum_stop.then(|| "due to no quorum".into())
}

/// The parameters that need a restart (`op-force-restart`; without the list, all) are
/// as they were when the resource started: what changed, the agent can reload.
fn reloadable(
    res: &crate::model::Resource,
    recorded: Option<&(Option<String>, String)>,
) -> bool {
    let Some((names, digest)) = recorded else {
        return false;
    };
    let mut p = res.params.clone();
    if let Some(names) = names {
        let names: Vec<&str> = names.split_whitespace().collect();
        p.retain(|k, _| names.contains(&k.as_str()));
    }
    *digest == crate::digest::parameters_digest(&p)
}

/// The start recorded a digest of different parameters than configured now.
fn definition_changed(res: &crate::model::Resource, recorded: Option<&str>) -> bool {
    match recorded {
        Some(d) if !res.orphan => match d.strip_prefix("secure:").and_then(|x| x.split_once('|')) {
            Some((names, digests)) => {
                let (digest, full) = digests.split_once('|').unwrap_or((digests, ""));
                if full == crate::digest::parameters_digest(&res.params) {
                    return false;
                }
                let mut p = res.params.clone();
                for n in names.split_whitespace() {
                    p.remove(n);
                }
                // The secure digest also leaves out the fencer's own pcmk_* options.
                p.retain(|k, _| !k.starts_with("pcmk_"));
                digest != crate::digest::parameters_digest(&p)
            }
            None => d != crate::digest::parameters_digest(&res.params),
        },
        _ => false,
    }
}
