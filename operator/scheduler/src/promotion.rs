//! Promotable clones: pick which placed instances are promoted, from promotion
//! scores (`master-<rsc>` node attributes), role-specific locations and colocations.

use crate::{
    model::{Kind, NodeIdx, Role, RscIdx},
    placement::Planner,
    score::{self, INFINITY},
};

/// The promotion score of instance `inst` on `node`; `None` when nothing makes it
/// eligible (no promotion score at all).
fn promotion_score(pl: &Planner, c: RscIdx, inst: RscIdx, node: NodeIdx) -> Option<i64> {
    let cl = pl.cl;
    let mut total: Option<i64> = None;
    for p in cl.primitives_of(inst) {
        let r = &cl.resources[p];
        // container-attribute-target=host: a guest's user-defined attributes are the
        // ones of the node its container runs on now (none while it is not running).
        let on_host = r
            .meta
            .get("container-attribute-target")
            .is_some_and(|v| v == "host");
        let attrs = match cl.nodes[node].container {
            Some(c) if on_host => cl.resources[c]
                .active_nodes()
                .next()
                .map(|s| &cl.nodes[s.node].attrs),
            _ => Some(&cl.nodes[node].attrs),
        };
        let keys = [
            format!("master-{}", r.config_id),
            format!("master-{}", r.id),
        ];
        let v = keys
            .iter()
            .find_map(|k| attrs.and_then(|a| a.get(k)))
            .and_then(|v| score::parse(v));
        if let Some(v) = v {
            total = Some(score::add(total.unwrap_or(0), v));
        }
        // A promoted instance reported by the history counts as promotable here.
        if total.is_none()
            && r.status
                .iter()
                .any(|s| s.node == node && s.role == Role::Promoted)
        {
            total = Some(0);
        }
    }
    for l in cl.index.locations[c]
        .iter()
        .chain(&cl.index.locations[inst])
        .map(|&i| &cl.locations[i])
    {
        if (l.rsc == c || l.rsc == inst) && l.node == node && l.role == Some(Role::Promoted) {
            total = Some(score::add(total.unwrap_or(0), l.score));
        }
    }
    for col in cl.index.colocations[c].iter().map(|&i| &cl.colocations[i]) {
        if col.dependent == c && col.dependent_role == Some(Role::Promoted) {
            let pu = col.primary;
            let nodes = pl.p.nodes_of(cl, pu, col.primary_role);
            let here = nodes.contains(&node);
            let v = if col.score >= INFINITY {
                if here { 0 } else { -INFINITY }
            } else if col.score <= -INFINITY {
                if here { -INFINITY } else { 0 }
            } else if here {
                col.score
            } else {
                0
            };
            total = Some(score::add(total.unwrap_or(0), v));
        }
        if col.primary == c && col.primary_role == Some(Role::Promoted) && col.influence {
            // A dependent that prefers some node pulls the promoted instance there.
            let mut w = 0;
            for l in cl.index.locations[col.dependent]
                .iter()
                .map(|&i| &cl.locations[i])
            {
                if l.rsc == col.dependent && l.node == node {
                    w = score::add(w, l.score);
                }
            }
            if w != 0 {
                let f = col.score as f64 / INFINITY as f64;
                total = Some(score::add(total.unwrap_or(0), score::scale(w, f)));
            }
        }
    }
    total
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
    let mut cands: Vec<(i64, bool, usize, RscIdx, NodeIdx)> = Vec::new();
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
        if let Some(s) = promotion_score(pl, c, i, n) {
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
            cands.push((s, was, cl.resources[i].instance.unwrap_or(0), i, n));
        }
    }
    cands.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let mut per_node = vec![0usize; cl.nodes.len()];
    let mut promoted = 0;
    for (_, _, _, i, n) in cands {
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
