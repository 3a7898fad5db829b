//! Utilization and placement-strategy: whether a node still has the capacity a
//! resource requires, and how strategies break ties between equally scored nodes.

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
