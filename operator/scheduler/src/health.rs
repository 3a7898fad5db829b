//! Node health (`node-health-strategy`): `#health-*` node attributes (red, yellow,
//! green or a number) become a score added to every resource on that node.

use crate::{
    model::{Cluster, NodeIdx},
    score::{self, INFINITY},
};

/// The health score of `node` under the cluster's strategy (0 with "none").
pub fn node_score(cl: &Cluster, node: NodeIdx) -> i64 {
    let o = &cl.options;
    let (red, yellow, green) = match o.node_health_strategy.as_str() {
        "migrate-on-red" => (-INFINITY, 0, 0),
        "only-green" => (-INFINITY, -INFINITY, 0),
        "progressive" | "custom" => (o.node_health_red, o.node_health_yellow, o.node_health_green),
        _ => return 0,
    };
    let mut total = 0;
    for (k, v) in &cl.nodes[node].attrs {
        if !k.starts_with("#health") {
            continue;
        }
        let s = match v.to_ascii_lowercase().as_str() {
            "red" => red,
            "yellow" => yellow,
            "green" => green,
            other => score::parse(other).unwrap_or(0),
        };
        total = score::add(total, s);
    }
    total
}
