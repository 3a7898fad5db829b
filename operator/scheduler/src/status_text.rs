//! The "Current cluster status" section: node list and resources with their state.

use crate::model::{Cluster, Kind, RscIdx};

pub fn render(cl: &Cluster) -> String {
    let mut out = String::from("  * Node List:\n");
    let mut online = Vec::new();
    let mut offline = Vec::new();
    for n in &cl.nodes {
        if n.unclean {
            out.push_str(&format!("    * Node {}: UNCLEAN (offline)\n", n.name));
        } else if n.online && n.standby {
            out.push_str(&format!("    * Node {}: standby\n", n.name));
        } else if n.online {
            online.push(n.name.as_str());
        } else {
            offline.push(n.name.as_str());
        }
    }
    if !online.is_empty() {
        out.push_str(&format!("    * Online: [ {} ]\n", online.join(" ")));
    }
    if !offline.is_empty() {
        out.push_str(&format!("    * OFFLINE: [ {} ]\n", offline.join(" ")));
    }
    out.push_str("\n  * Full List of Resources:\n");
    for &r in &cl.top {
        rsc(cl, r, 2, &mut out);
    }
    out
}

fn rsc(cl: &Cluster, r: RscIdx, depth: usize, out: &mut String) {
    let res = &cl.resources[r];
    let pad = "  ".repeat(depth);
    match res.kind {
        Kind::Primitive { .. } => {
            let active: Vec<String> = res
                .active_nodes()
                .map(|s| {
                    let st = if s.failed {
                        "FAILED".to_string()
                    } else {
                        s.role.name().to_string()
                    };
                    format!("{st} {}", cl.nodes[s.node].name)
                })
                .collect();
            let state = if active.is_empty() {
                "Stopped".to_string()
            } else {
                active.join(", ")
            };
            out.push_str(&format!(
                "{pad}* {}\t({}):\t {state}\n",
                res.id,
                res.agent_label()
            ));
        }
        Kind::Group => {
            out.push_str(&format!("{pad}* Resource Group: {}:\n", res.id));
            for &c in &res.children {
                rsc(cl, c, depth + 1, out);
            }
        }
        Kind::Clone => {
            out.push_str(&format!("{pad}* Clone Set: {}:\n", res.id));
            for &c in &res.children {
                rsc(cl, c, depth + 1, out);
            }
        }
    }
}
