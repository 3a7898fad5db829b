//! Promotable clones: pick which placed instances are promoted, from promotion
//! scores (`master-<rsc>` node attributes), role-specific locations and colocations.

use crate::{
    model::{Kind, NodeIdx, Role, RscIdx},
    placement::{Planner, own_weights},
    score::{self, INFINITY},
};

/// The promotion score of instance `inst` on `node` (negative: not promotable).
fn promotion_score(pl: &Planner, c: RscIdx, inst: RscIdx, node: NodeIdx) -> i64 {
    let cl = pl.cl;
    // container-attribute-target=host: on a guest node, node attributes are those of
    // the host its container runs on now (none while it runs nowhere).
    let on_host = cl.primitives_of(inst).iter().any(|&p| {
        cl.resources[p]
            .meta
            .get("container-attribute-target")
            .is_some_and(|v| v == "host")
    });
    let attr_node = match cl.nodes[node].container {
        Some(ct) if on_host => crate::placement::current_node(cl, ct).unwrap_or(node),
        _ => node,
    };
    let attrs = &cl.nodes[attr_node].attrs;
    let mut total: Option<i64> = None;
    for p in cl.primitives_of(inst) {
        let r = &cl.resources[p];
        // The instance's name as the history records it (an anonymous instance may
        // be recorded under another number), else its own; then the name without
        // an instance number.
        let recorded = r
            .status
            .iter()
            .find(|s| s.node == node)
            .or(r.status.last())
            .map_or(r.id.as_str(), |s| s.history_name.as_str());
        let keys = [
            format!("master-{recorded}"),
            format!("master-{}", r.config_id),
        ];
        let v = keys
            .iter()
            .find_map(|k| attrs.get(k))
            .and_then(|v| score::parse(v));
        if let Some(v) = v {
            total = Some(score::add(total.unwrap_or(0), v));
        }
    }
    // Without a promotion score the instance starts at -1: only a location for the
    // Promoted role can still make it promotable.
    let scored = total.is_some();
    let mut total = total.unwrap_or(-1);
    // The clone's locations count whatever their role (a Promoted one only here).
    for l in cl.index.locations[c]
        .iter()
        .chain(&cl.index.locations[inst])
        .map(|&i| &cl.locations[i])
    {
        let promoted = l.role == Some(Role::Promoted);
        let own = l.rsc == c && (scored || promoted) || l.rsc == inst && promoted;
        if own && l.node == node {
            total = score::add(total, l.score);
        }
    }
    for col in cl.index.colocations[c].iter().map(|&i| &cl.colocations[i]) {
        // Colocated with where another resource runs (crm_simulate 2.1.5): mandatory,
        // INFINITY there and -INFINITY elsewhere; against it, the score there; with
        // it, only a nudge by the primary's own preference there, and only where the
        // instance is promotable already.
        if col.dependent == c && col.dependent_role == Some(Role::Promoted) {
            let here =
                pl.p.nodes_of(cl, col.primary, col.primary_role)
                    .contains(&node);
            let v = match (here, col.score) {
                (true, s) if s >= INFINITY || s < 0 => s,
                (false, s) if s >= INFINITY => -INFINITY,
                (true, s) if total >= 0 => {
                    let unit = cl.unit_of(col.primary);
                    let w =
                        pl.p.scores
                            .iter()
                            .rev()
                            .find(|(_, x, _)| *x == unit)
                            .map_or(0, |(_, _, w)| w[node]);
                    score::scale(w, s as f64 / INFINITY as f64).max(0)
                }
                _ => 0,
            };
            total = score::add(total, v);
        }
    }
    if !scored {
        return total;
    }
    for col in cl.index.colocations[c].iter().map(|&i| &cl.colocations[i]) {
        if col.primary == c && col.influence && col.dependent != c {
            // A dependent's preferences (locations, stickiness, failure bans, its own
            // dependents') pull the promoted instance towards a node, whatever role
            // the colocation names (only where they attract); one colocated with the
            // Promoted role also pushes it away, and counts once more.
            let w = dependent_weights(pl, col.dependent)[node];
            let v = score::scale(w, col.score as f64 / INFINITY as f64);
            if v > 0 {
                total = score::add(total, v);
            }
            if col.primary_role == Some(Role::Promoted) && v != 0 {
                total = score::add(total, v);
            }
        }
    }
    total
}

/// The node weights of a resource colocated with the clone, before it is placed.
fn dependent_weights(pl: &Planner, d: RscIdx) -> Vec<i64> {
    let cl = pl.cl;
    let u = cl.unit_of(d);
    if cl.resources[u].kind == Kind::Clone {
        return own_weights(cl, d);
    }
    pl.unplaced_weights(u)
}

pub fn assign_roles(pl: &mut Planner, c: RscIdx) {
    let cl = pl.cl;
    let Some(cfg) = cl.resources[c].clone.clone() else {
        return;
    };
    let no_promote = matches!(
        cl.resources[c].target_role,
        Some(Role::Unpromoted) | Some(Role::Stopped)
    ) || crate::tickets::effect(cl, c)
        > crate::tickets::TicketEffect::KeepPromoted;
    let keep_only = crate::tickets::effect(cl, c) == crate::tickets::TicketEffect::KeepPromoted;
    let mut cands: Vec<(i64, bool, i64, usize, RscIdx, NodeIdx)> = Vec::new();
    // The clone's node weights (locations, colocations with placed resources).
    let clone_w: Vec<i64> =
        pl.p.scores
            .iter()
            .rev()
            .find(|(_, x, _)| *x == c)
            .map_or_else(|| vec![0; cl.nodes.len()], |(_, _, w)| w.clone());
    for &i in &cl.resources[c].children {
        let Some(n) = pl.p.node[i] else { continue };
        // Not on a guest node whose container will not run: the instance stops there.
        if cl.nodes[n].container.is_some_and(|c| pl.p.node[c].is_none()) {
            continue;
        }
        let demoted_by_failure = cl.primitives_of(i).iter().any(|&p| {
            cl.resources[p]
                .status
                .iter()
                .any(|st| {
                    st.failed
                        && st.on_fail == Some(crate::model::OnFail::Demote)
                        // A fenced guest (down now) starts afresh with its container.
                        && !(cl.nodes[st.node].container.is_some() && !cl.nodes[st.node].online)
                })
        });
        if demoted_by_failure {
            continue;
        }
        {
            let s = promotion_score(pl, c, i, n);
            if s < 0 {
                continue;
            }
            let was = cl.primitives_of(i).iter().any(|&p| {
                cl.resources[p]
                    .status
                    .iter()
                    .any(|st| st.node == n && st.role == Role::Promoted && !st.failed)
            });
            if keep_only && !was {
                continue;
            }
            cands.push((
                s,
                was,
                clone_w[n],
                cl.resources[i].instance.unwrap_or(0),
                i,
                n,
            ));
        }
    }
    // Equal scores: the instance promoted now, then the node the clone prefers.
    cands.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(b.1.cmp(&a.1))
            .then(b.2.cmp(&a.2))
            .then(a.3.cmp(&b.3))
    });
    let mut per_node = vec![0usize; cl.nodes.len()];
    let mut promoted = 0;
    for (_, _, _, _, i, n) in cands {
        if no_promote || promoted >= cfg.promoted_max || per_node[n] >= cfg.promoted_node_max {
            continue;
        }
        promoted += 1;
        per_node[n] += 1;
        for p in cl.primitives_of(i) {
            if pl.p.node[p].is_some() && cl.resources[p].kind != Kind::Group {
                pl.p.role[p] = Role::Promoted;
            }
        }
    }
}
