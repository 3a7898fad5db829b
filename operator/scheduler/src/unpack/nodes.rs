//! `<nodes>` + `<node_state>` → [`Node`]s: attributes, online/unclean/standby state.

use super::{
    AttrSetKind, IdIndex, attr_sets, child, children, options::is_true, rule_eval::Ctx,
    status_named,
};
use crate::model::{Cluster, Node, NodeKind};
use roxmltree::Node as XNode;
use std::collections::BTreeMap;

fn truthy_state(v: Option<&str>) -> bool {
    match v {
        None => false,
        Some(v) => {
            let l = v.to_ascii_lowercase();
            !(l == "false" || l == "offline" || l == "0" || l.is_empty() || l == "no")
        }
    }
}

pub fn unpack_nodes(
    cl: &mut Cluster,
    cfg: XNode,
    status: &[XNode],
    idx: &IdIndex,
    ctx: &Ctx,
    dc_uuid: Option<&str>,
) {
    let states: Vec<XNode> = status_named(status, "node_state").collect();
    let Some(nodes) = child(cfg, "nodes") else {
        return;
    };
    for n in children(nodes, "node") {
        let id = n.attribute("id").unwrap_or_default().to_string();
        let name = n.attribute("uname").unwrap_or(&id).to_string();
        let kind = match n.attribute("type") {
            Some("remote") => NodeKind::Remote,
            _ => NodeKind::Member,
        };
        if n.attribute("type") == Some("ping") {
            continue;
        }
        let mut attrs: BTreeMap<String, String> = BTreeMap::new();
        attrs.insert("#uname".into(), name.clone());
        attrs.insert("#id".into(), id.clone());
        attrs.insert(
            "#is_dc".into(),
            if dc_uuid == Some(id.as_str()) {
                "true"
            } else {
                "false"
            }
            .into(),
        );
        attrs.insert(
            "#kind".into(),
            if kind == NodeKind::Remote {
                "remote"
            } else {
                "cluster"
            }
            .into(),
        );
        let st = states
            .iter()
            .find(|s| {
                s.attribute("id") == Some(id.as_str())
                    || s.attribute("uname") == Some(name.as_str())
            })
            .copied();
        // Transient attributes override permanent ones.
        if let Some(s) = st
            && let Some(ta) = child(s, "transient_attributes")
        {
            for (k, v) in attr_sets(ta, AttrSetKind::Instance, idx, ctx, None) {
                attrs.insert(k, v);
            }
        }
        let perm = attr_sets(n, AttrSetKind::Instance, idx, ctx, Some(&attrs));
        for (k, v) in perm {
            attrs.entry(k).or_insert(v);
        }
        let utilization = attr_sets(n, AttrSetKind::Utilization, idx, ctx, Some(&attrs))
            .into_iter()
            .filter_map(|(k, v)| v.parse::<i64>().ok().map(|v| (k, v)))
            .collect();
        let mut node = Node {
            id,
            name,
            kind,
            online: false,
            unclean: false,
            unclean_reason: String::new(),
            standby: attrs.get("standby").is_some_and(|v| is_true(v)),
            maintenance: attrs.get("maintenance").is_some_and(|v| is_true(v)),
            shutdown: attrs
                .get("shutdown")
                .is_some_and(|v| v != "0" && !v.is_empty()),
            attrs,
            utilization,
            remote_of: None,
            container: None,
        };
        match st {
            None => {
                if kind == NodeKind::Member && cl.options.startup_fencing {
                    node.unclean = true;
                    node.unclean_reason = "node is unclean".into();
                }
            }
            Some(s) => node_state(&mut node, s, cl.options.stonith_enabled),
        }
        if node
            .attrs
            .get("terminate")
            .is_some_and(|v| is_true(v) || v.parse::<i64>().is_ok_and(|x| x > 0))
        {
            node.unclean = true;
            node.online = false;
            node.unclean_reason = "termination was requested".into();
        }
        cl.nodes.push(node);
    }
}

fn node_state(node: &mut Node, s: XNode, stonith: bool) {
    if node.kind == NodeKind::Remote {
        // Remote nodes are online when their connection resource runs; unpacked later.
        node.online = true;
        return;
    }
    if s.attribute("shutdown")
        .is_some_and(|v| v != "0" && !v.is_empty())
    {
        node.shutdown = true;
    }
    let in_ccm = truthy_state(s.attribute("in_ccm"));
    let crmd = truthy_state(s.attribute("crmd"));
    let join = s.attribute("join").unwrap_or("down");
    let expected = s.attribute("expected").unwrap_or("");
    if in_ccm && crmd && join == "member" {
        node.online = true;
        return;
    }
    let shutting_down = expected == "down" || node.shutdown;
    if !in_ccm {
        if !stonith {
            // Without fencing, a node that left the membership is simply offline.
        } else if (expected == "member" || join == "member") && !shutting_down {
            node.unclean = true;
            node.unclean_reason = "peer is no longer part of the cluster".into();
        }
    } else if !crmd {
        if expected == "member" && join == "member" && !shutting_down {
            node.unclean = true;
            node.unclean_reason = "peer process is no longer available".into();
        }
    } else if join == "banned" {
        node.unclean = true;
        node.unclean_reason = "node is unclean".into();
    }
}

/// Remote nodes (an `ocf:pacemaker:remote` primitive names one) and guest nodes (a
/// primitive's `remote-node` meta attribute names one), added after the resources are
/// known. Such a node is online when its connection/container resource is active.
pub fn add_remote_nodes(cl: &mut Cluster, status: &[XNode], idx: &IdIndex, ctx: &Ctx) {
    let states: Vec<XNode> = status_named(status, "node_state").collect();
    let mut found: Vec<(String, usize)> = Vec::new();
    for (i, r) in cl.resources.iter().enumerate() {
        if r.instance.is_some() || r.orphan {
            continue;
        }
        if let crate::model::Kind::Primitive {
            class,
            provider,
            agent,
        } = &r.kind
        {
            if class == "ocf" && provider.as_deref() == Some("pacemaker") && agent == "remote" {
                found.push((r.id.clone(), i));
            } else if let Some(name) = r.meta.get("remote-node")
                && !cl.guest_connections.iter().any(|&(_, c)| c == i)
            {
                found.push((name.clone(), i));
            }
        }
    }
    // Remote nodes that only the status still knows (their connection was removed).
    for s in &states {
        if s.attribute("remote_node") != Some("true") {
            continue;
        }
        let Some(name) = s.attribute("uname").or_else(|| s.attribute("id")) else {
            continue;
        };
        if cl.nodes.iter().any(|n| n.name == name) || found.iter().any(|(f, _)| f == name) {
            continue;
        }
        let mut attrs = BTreeMap::new();
        attrs.insert("#uname".into(), name.to_string());
        attrs.insert("#id".into(), name.to_string());
        attrs.insert("#kind".into(), "remote".into());
        cl.nodes.push(Node {
            id: name.to_string(),
            name: name.to_string(),
            kind: NodeKind::Remote,
            online: false,
            unclean: false,
            unclean_reason: String::new(),
            standby: false,
            maintenance: false,
            shutdown: false,
            attrs,
            utilization: BTreeMap::new(),
            remote_of: None,
            container: None,
        });
    }
    for (name, rsc) in found {
        let existing = cl.nodes.iter().position(|n| n.name == name);
        let n = match existing {
            Some(n) => n,
            None => {
                let mut attrs = BTreeMap::new();
                attrs.insert("#uname".into(), name.clone());
                attrs.insert("#id".into(), name.clone());
                let st = states.iter().find(|s| {
                    s.attribute("uname") == Some(name.as_str())
                        || s.attribute("id") == Some(name.as_str())
                });
                if let Some(ta) = st.and_then(|s| child(*s, "transient_attributes")) {
                    for (k, v) in attr_sets(ta, AttrSetKind::Instance, idx, ctx, None) {
                        attrs.insert(k, v);
                    }
                }
                cl.nodes.push(Node {
                    id: name.clone(),
                    name: name.clone(),
                    kind: NodeKind::Remote,
                    online: false,
                    unclean: false,
                    unclean_reason: String::new(),
                    standby: attrs.get("standby").is_some_and(|v| is_true(v)),
                    maintenance: attrs.get("maintenance").is_some_and(|v| is_true(v)),
                    shutdown: false,
                    attrs,
                    utilization: BTreeMap::new(),
                    remote_of: None,
            container: None,
                });
                cl.nodes.len() - 1
            }
        };
        let container = cl
            .guest_connections
            .iter()
            .find(|&&(conn, _)| conn == rsc)
            .map(|&(_, c)| c);
        let kind = if container.is_some() || cl.resources[rsc].meta.contains_key("remote-node") {
            "container"
        } else {
            "remote"
        };
        let node = &mut cl.nodes[n];
        node.kind = NodeKind::Remote;
        node.remote_of = Some(rsc);
        node.container = container;
        node.attrs.insert("#kind".into(), kind.into());
    }
}

/// After the history is known: a remote/guest node is online while its connection
/// (or container) resource is active and healthy.
pub fn settle_remote_online(cl: &mut Cluster) {
    // Remote nodes known only from the status: their connection is an orphan.
    for n in 0..cl.nodes.len() {
        if cl.nodes[n].kind == NodeKind::Remote && cl.nodes[n].remote_of.is_none() {
            let name = cl.nodes[n].name.clone();
            cl.nodes[n].remote_of = cl.resources.iter().position(|r| {
                r.orphan
                    && r.id == name
                    && matches!(&r.kind, crate::model::Kind::Primitive { class, provider, agent }
                        if class == "ocf" && provider.as_deref() == Some("pacemaker") && agent == "remote")
            });
        }
    }
    for n in 0..cl.nodes.len() {
        if let Some(r) = cl.nodes[n].remote_of {
            // Running and healthy; a guest's also on a host that is not itself unclean
            // (a remote connection is simply recovered elsewhere).
            let guest = cl.nodes[n].container.is_some();
            let running = |r: usize| {
                cl.resources[r].status.iter().any(|s| {
                    s.role.is_active() && !s.failed && !(guest && cl.nodes[s.node].unclean)
                })
            };
            let up = running(r) && cl.nodes[n].container.is_none_or(running);
            cl.nodes[n].online = up;
            // A remote node whose connection failed may still run its resources: with
            // fencing enabled it is unclean until fenced.
            if !guest
                && cl.options.stonith_enabled
                && cl.resources[r].status.iter().any(|s| s.failed && s.role.is_active())
            {
                cl.nodes[n].unclean = true;
                cl.nodes[n].unclean_reason = "remote connection is unrecoverable".into();
            } else if !guest && !up && cl.options.stonith_enabled && !cl.options.maintenance_mode
            {
                // Down, yet its history shows resources active there: unclean, unless
                // the connection can be re-established (decided when fencing).
                let active = cl.resources.iter().find(|x| {
                    x.managed && x.status.iter().any(|s| s.node == n && s.role.is_active())
                });
                if let Some(x) = active {
                    cl.nodes[n].unclean = true;
                    cl.nodes[n].unclean_reason = format!(
                        "{} is active there (fencing will be revoked if remote connection can be re-established elsewhere)",
                        x.id
                    );
                }
            }
            // A guest node that is down while its history shows managed resources
            // active there is unclean: it is "fenced" by recovering its container.
            if !up && cl.nodes[n].container.is_some() && !cl.options.maintenance_mode {
                let active_here = cl.resources.iter().any(|x| {
                    x.managed && x.status.iter().any(|s| s.node == n && s.role.is_active())
                });
                // Its container runs on a host that is itself unclean.
                let host_lost = cl.nodes[n].container.is_some_and(|c| {
                    cl.resources[c]
                        .status
                        .iter()
                        .any(|s| s.role.is_active() && cl.nodes[s.node].unclean)
                });
                if active_here || host_lost {
                    cl.nodes[n].unclean = true;
                    cl.nodes[n].unclean_reason = "guest is unclean".into();
                }
            }
        }
    }
}
