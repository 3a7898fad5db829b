//! Clone allocation: spread `clone-max` instances over allowed nodes (at most
//! `clone-node-max` per node), keeping active instances where they are.

use crate::{
    model::{Kind, NodeIdx, Role, RscIdx},
    placement::{Planner, current_node, own_weights, primitive_prefs},
    score::{self, INFINITY},
};

/// Weights for one instance: clone-level weights plus the instance's own stickiness
/// and failures (group instances sum their members).
fn instance_weights(pl: &Planner, clone_w: &[i64], inst: RscIdx) -> Vec<i64> {
    let cl = pl.cl;
    let mut w = clone_w.to_vec();
    let prims = cl.primitives_of(inst);
    for &p in &prims {
        let mut pw = vec![0; cl.nodes.len()];
        primitive_prefs(cl, p, &mut pw);
        for n in 0..w.len() {
            w[n] = score::add(w[n], pw[n]);
        }
    }
    if cl.resources[inst].kind == Kind::Group {
        for l in cl.index.locations[inst].iter().map(|&i| &cl.locations[i]) {
            if l.rsc == inst {
                w[l.node] = score::add(w[l.node], l.score);
            }
        }
    }
    w
}

/// The order instances are allocated in: instances banned from their current node go
/// last (even after the inactive ones), then active before inactive, those on nodes
/// that cannot host them now (standby, down) after the others, failed after healthy;
/// otherwise instance order.
fn allocation_order(pl: &Planner, instances: &[RscIdx], weights: &[Vec<i64>]) -> Vec<usize> {
    let cl = pl.cl;
    let mut order: Vec<usize> = (0..instances.len()).collect();
    let key = |k: usize| {
        let cur = current_node(cl, instances[k]);
        // (A node that is down or in standby still counts as allowed here.)
        let host = |n: NodeIdx| cl.nodes[n].can_host() && pl.p.remote_up(cl, n);
        let banned = cur.is_some_and(|n| weights[k][n] < 0 && host(n));
        let unavailable = cur.is_some_and(|n| !host(n));
        let failed = cl
            .primitives_of(instances[k])
            .iter()
            .any(|&p| cl.resources[p].active_nodes().any(|s| s.failed));
        (banned, cur.is_none(), unavailable, failed)
    };
    order.sort_by_key(|&k| key(k));
    order
}

/// An optional colocation with one of the instance's own primitives (a bundle
/// replica's connection with its container): when the instance is newly placed, the
/// dependent's preferences count in proportion, unless that would leave the instance
/// no `open` node to run on.
fn with_dependents(
    pl: &Planner,
    inst: RscIdx,
    w: &[i64],
    open: &dyn Fn(NodeIdx) -> bool,
) -> Vec<i64> {
    let cl = pl.cl;
    let prims = cl.primitives_of(inst);
    let mut w = w.to_vec();
    for c in cl.colocations.iter().filter(|c| {
        c.score > 0
            && c.score < INFINITY
            && prims.contains(&c.primary)
            && !prims.contains(&c.dependent)
    }) {
        let dw = own_weights(cl, c.dependent);
        let before = w.clone();
        crate::colocation::merge_preferences(&mut w, &dw, c.score as f64 / INFINITY as f64);
        let runnable = |w: &[i64]| (0..w.len()).any(|n| open(n) && w[n] >= 0);
        if runnable(&before) && !runnable(&w) {
            w = before;
        }
    }
    w
}

pub fn assign_clone(pl: &mut Planner, c: RscIdx) {
    let cl = pl.cl;
    let Some(mut cfg) = cl.resources[c].clone.clone() else {
        return;
    };
    // clone-node-max only applies to globally-unique clones: anonymous instances are
    // interchangeable, one per node.
    if !cfg.unique {
        cfg.node_max = 1;
    }
    let mut cw = own_weights(cl, c);
    pl.apply_primaries(c, &mut cw);
    pl.p.scores
        .push((cl.resources[c].id.clone(), c, cw.clone()));
    let instances = cl.resources[c].children.clone();
    let ticket = crate::tickets::effect(cl, c);
    // target-role is read from the instances: a child's own setting overrides the clone's.
    let stopped = instances.iter().all(|&i| {
        cl.primitives_of(i)
            .iter()
            .all(|&p| cl.resources[p].target_role == Some(Role::Stopped))
    }) || cl.options.stop_all_resources
        || ticket >= crate::tickets::TicketEffect::Stop;
    let frozen = !cl.resources[c].managed || ticket == crate::tickets::TicketEffect::Freeze;
    let mut count: Vec<usize> = vec![0; cl.nodes.len()];
    let mut placed = 0usize;
    let mut chosen: Vec<Option<NodeIdx>> = vec![None; instances.len()];
    let weights: Vec<Vec<i64>> = instances
        .iter()
        .map(|&i| instance_weights(pl, &cw, i))
        .collect();
    if frozen {
        for (k, &i) in instances.iter().enumerate() {
            chosen[k] = current_node(cl, i);
        }
    } else if !stopped {
        let order = allocation_order(pl, &instances, &weights);
        // Nodes that can take instances at all; spreading evenly, each gets `optimal`.
        let available = (0..cl.nodes.len())
            .filter(|&n| cl.nodes[n].can_host() && pl.p.remote_up(cl, n) && cw[n] >= 0)
            .count();
        let optimal = if available > 0 {
            (cfg.max / available).max(1)
        } else {
            1
        };
        // Active instances stay where they are when that node is still among their best
        // (a better node elsewhere moves them) and does not hold more than its share.
        for &k in &order {
            if placed >= cfg.max {
                break;
            }
            let i = instances[k];
            let Some(n) = current_node(cl, i) else {
                continue;
            };
            let failed = cl.primitives_of(i).iter().any(|&p| {
                cl.resources[p]
                    .status
                    .iter()
                    .any(|s| s.node == n && s.failed)
            });
            let open = |m: NodeIdx| {
                weights[k][m] >= 0
                    && cl.nodes[m].can_host()
                    && pl.p.remote_up(cl, m)
                    && count[m] < cfg.node_max
            };
            let best = (0..cl.nodes.len())
                .filter(|&m| open(m))
                .map(|m| weights[k][m])
                .max();
            if !failed && open(n) && count[n] < optimal && Some(weights[k][n]) == best {
                chosen[k] = Some(n);
                count[n] += 1;
                placed += 1;
            }
        }
        // Capacity used so far, including instances chosen above (committed later).
        let mut used = pl.p.used.clone();
        for (k, &i) in instances.iter().enumerate() {
            if let Some(n) = chosen[k] {
                crate::utilization::add(
                    &mut used[n],
                    &crate::utilization::required(cl, &cl.primitives_of(i)),
                );
            }
        }
        for &k in &order {
            if chosen[k].is_some() || placed >= cfg.max {
                continue;
            }
            let cur = current_node(cl, instances[k]);
            let usable = |n: NodeIdx| {
                cl.nodes[n].can_host() && pl.p.remote_up(cl, n) && count[n] < cfg.node_max
            };
            let w = &with_dependents(pl, instances[k], &weights[k], &usable);
            let open: Vec<NodeIdx> = (0..cl.nodes.len())
                .filter(|&n| w[n] >= 0 && usable(n))
                .collect();
            // Room for the instance and the unplaced resources that must follow it;
            // failing that, for the instance alone, preferring the roomiest node.
            let own = crate::utilization::own_need(cl, instances[k]);
            let need = pl.chain_need(instances[k]);
            let fitting = |need: &crate::utilization::Usage| -> Vec<NodeIdx> {
                open.iter()
                    .copied()
                    .filter(|&n| crate::utilization::fits(cl, n, &used[n], need))
                    .collect()
            };
            let mut cands = fitting(&need);
            let mut prefer = None;
            if cands.is_empty() {
                cands = fitting(&own);
                prefer = crate::utilization::most_free(cl, &open, &used);
            }
            let top = cands.iter().map(|&n| w[n]).max();
            let best = prefer
                .filter(|&n| cands.contains(&n) && Some(w[n]) == top)
                .or_else(|| {
                    cands.iter().copied().min_by(|&a, &b| {
                        let load = pl.p.load[a].cmp(&pl.p.load[b]);
                        // Equal scores: the placement strategy decides, as for
                        // other resources (placement::choose).
                        let by_strategy = match cl.options.placement_strategy.as_str() {
                            "balanced" => {
                                crate::utilization::compare_free(cl, a, b, &used).then(load)
                            }
                            "minimal" => std::cmp::Ordering::Equal,
                            _ => load,
                        };
                        w[b].cmp(&w[a])
                            .then(count[a].cmp(&count[b]))
                            .then(by_strategy)
                            .then((Some(a) != cur).cmp(&(Some(b) != cur)))
                            .then(cl.nodes[a].name.cmp(&cl.nodes[b].name))
                    })
                })
                // An anonymous instance keeps its node over an equally good one, when
                // that score is positive.
                .map(|n| match cur {
                    Some(c) if !cfg.unique && w[n] > 0 && w[c] == w[n] && cands.contains(&c) => c,
                    _ => n,
                });
            if let Some(n) = best {
                chosen[k] = Some(n);
                count[n] += 1;
                placed += 1;
                // Members take capacity in order while they fit (as commit does).
                for p in cl.primitives_of(instances[k]) {
                    let u = &cl.resources[p].utilization;
                    if !crate::utilization::fits(cl, n, &used[n], u) {
                        break;
                    }
                    crate::utilization::add(&mut used[n], u);
                }
            }
        }
    }
    for (k, &i) in instances.iter().enumerate() {
        pl.p.scores
            .push((cl.resources[i].id.clone(), i, weights[k].clone()));
        pl.commit(i, chosen[k]);
        if frozen {
            for p in cl.primitives_of(i) {
                pl.p.frozen[p] = true;
            }
        }
    }
    pl.p.node[c] = None;
    if cfg.promotable {
        crate::promotion::assign_roles(pl, c);
    }
}
