//! Colocation effects on node weights: a dependent follows (or avoids) where its
//! primary was placed, and a primary leans towards what its dependents prefer.

use crate::{
    model::{Cluster, Colocation, NodeIdx, Role},
    score::{self, INFINITY},
};

/// Nodes "the same" as `n` for this colocation (same value of `node_attribute`).
fn same_place(cl: &Cluster, c: &Colocation, a: NodeIdx, b: NodeIdx) -> bool {
    if c.node_attribute == "#uname" {
        return a == b;
    }
    let va = cl.nodes[a].attrs.get(&c.node_attribute);
    let vb = cl.nodes[b].attrs.get(&c.node_attribute);
    va.is_some() && va == vb
}

/// Apply a colocation to a dependent's weights, given where the primary ended up
/// (`primary_nodes`, empty when it could not be placed).
pub fn apply_to_dependent(
    cl: &Cluster,
    c: &Colocation,
    weights: &mut [i64],
    primary_nodes: &[NodeIdx],
) {
    if c.score >= INFINITY {
        for (n, w) in weights.iter_mut().enumerate() {
            if !primary_nodes.iter().any(|&p| same_place(cl, c, n, p)) {
                *w = -INFINITY;
            }
        }
    } else if c.score <= -INFINITY {
        for (n, w) in weights.iter_mut().enumerate() {
            if primary_nodes.iter().any(|&p| same_place(cl, c, n, p)) {
                *w = -INFINITY;
            }
        }
    } else if c.score != 0 {
        for (n, w) in weights.iter_mut().enumerate() {
            if primary_nodes.iter().any(|&p| same_place(cl, c, n, p)) {
                *w = score::add(*w, c.score);
            }
        }
    }
}

/// Whether a colocation constrains placement (role-specific ones only constrain
/// promotion, except a dependent colocated with a promoted primary).
pub fn affects_placement(c: &Colocation) -> bool {
    c.dependent_role.is_none_or(|r| r == Role::Started)
}

/// Merge a dependent's preferences into a primary's weights (factor = score/INFINITY).
pub fn merge_preferences(primary: &mut [i64], dependent: &[i64], factor: f64) {
    for (p, d) in primary.iter_mut().zip(dependent) {
        if *p <= -INFINITY {
            continue;
        }
        let add = score::scale(*d, factor);
        *p = score::add(*p, add);
    }
}
