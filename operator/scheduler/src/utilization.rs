//! Utilization and placement-strategy: whether a node still has the capacity a
//! resource requires, and how strategies break ties between equally scored nodes.

mod table_order;

use crate::model::{Cluster, NodeIdx, RscIdx};
use std::{cmp::Ordering, collections::BTreeMap};

pub type Usage = BTreeMap<String, i64>;

/// Whether capacities are enforced at all (any strategy but "default").
pub fn enforced(cl: &Cluster) -> bool {
    cl.options.placement_strategy != "default"
}

/// Combined requirement of some primitives.
pub fn required(cl: &Cluster, prims: &[RscIdx]) -> Usage {
    let mut out = Usage::new();
    for &p in prims {
        for (k, v) in &cl.resources[p].utilization {
            *out.entry(k.clone()).or_insert(0) += v;
        }
    }
    out
}

/// What `r` needs by itself to be placed: a group's members are placed one by one,
/// so only its first member has to fit (the rest start while they fit).
pub fn own_need(cl: &Cluster, r: RscIdx) -> Usage {
    let res = &cl.resources[r];
    match (&res.kind, res.children.first()) {
        (crate::model::Kind::Group, Some(&first)) => required(cl, &[first]),
        _ => required(cl, &cl.primitives_of(r)),
    }
}

/// Whether `need` fits on `node` given what is already `used` there.
pub fn fits(cl: &Cluster, node: NodeIdx, used: &Usage, need: &Usage) -> bool {
    if !enforced(cl) {
        return true;
    }
    need.iter().all(|(k, v)| {
        let cap = cl.nodes[node].utilization.get(k).copied().unwrap_or(0);
        cap - used.get(k).copied().unwrap_or(0) >= *v
    })
}

pub fn add(used: &mut Usage, need: &Usage) {
    for (k, v) in need {
        *used.entry(k.clone()).or_insert(0) += v;
    }
}

/// For "balanced": the node free in more attribute types sorts first.
pub fn compare_free(cl: &Cluster, a: NodeIdx, b: NodeIdx, used: &[Usage]) -> Ordering {
    let free = |n: NodeIdx, k: &str| {
        cl.nodes[n].utilization.get(k).copied().unwrap_or(0) - used[n].get(k).copied().unwrap_or(0)
    };
    let mut keys: Vec<&String> = cl.nodes[a].utilization.keys().collect();
    keys.extend(cl.nodes[b].utilization.keys());
    keys.sort();
    keys.dedup();
    let (mut more_a, mut more_b) = (0, 0);
    for k in keys {
        match free(a, k).cmp(&free(b, k)) {
            Ordering::Greater => more_a += 1,
            Ordering::Less => more_b += 1,
            Ordering::Equal => {}
        }
    }
    more_b.cmp(&more_a)
}

/// Capacity needed to place `start` (a top-level resource or a clone instance):
/// its own requirement plus that of every not-yet-placed resource tied to it by
/// mandatory (INFINITY) colocations, followed transitively in both directions.
/// A clone met along the chain counts one instance; a clone's non-clone
/// dependents are followed only from the clone `start` is an instance of.
/// `placed(unit)` tells whether a placement unit is already decided.
pub fn chain_need(cl: &Cluster, start: RscIdx, placed: &dyn Fn(RscIdx) -> bool) -> Usage {
    let own_unit = cl.unit_of(start);
    let mut prims = cl.primitives_of(start);
    let mut seen = vec![own_unit];
    let mut stack = vec![own_unit];
    while let Some(u) = stack.pop() {
        for c in cl.index.colocations[u].iter().map(|&i| &cl.colocations[i]) {
            if c.score < crate::score::INFINITY || !crate::colocation::affects_placement(c) {
                continue;
            }
            let (d, p) = (cl.unit_of(c.dependent), cl.unit_of(c.primary));
            let other = if d == u {
                p
            } else if p == u {
                let is_clone = |x: RscIdx| cl.resources[x].kind == crate::model::Kind::Clone;
                if is_clone(u) && !is_clone(d) && u != own_unit {
                    continue;
                }
                d
            } else {
                continue;
            };
            if seen.contains(&other) {
                continue;
            }
            seen.push(other);
            stack.push(other);
            if placed(other) {
                continue;
            }
            if cl.resources[other].kind == crate::model::Kind::Clone {
                // One instance stands for the clone.
                if let Some(&i) = cl.resources[other].children.first() {
                    prims.extend(cl.primitives_of(i));
                }
            } else {
                prims.extend(cl.primitives_of(other));
            }
        }
    }
    required(cl, &prims)
}

/// When nothing can take a resource together with what must follow it, the node
/// with the most free capacity among `candidates` is preferred (it is used when
/// it scores as well as the best node). Ties go to the node met first in
/// Pacemaker's node-table walk, not to the first in the configuration.
pub fn most_free(cl: &Cluster, candidates: &[NodeIdx], used: &[Usage]) -> Option<NodeIdx> {
    let mut best: Option<NodeIdx> = None;
    for n in table_order::table_order(cl)
        .into_iter()
        .filter(|n| candidates.contains(n))
    {
        best = match best {
            Some(b) if compare_free(cl, n, b, used) != Ordering::Less => Some(b),
            _ => Some(n),
        };
    }
    best
}
