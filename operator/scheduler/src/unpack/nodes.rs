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
            was_fenced: false,
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
            was_fenced: false,
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
                    was_fenced: false,
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
        let fenced_at = states
            .iter()
            .find(|s| {
                s.attribute("uname") == Some(name.as_str())
                    || s.attribute("id") == Some(name.as_str())
            })
            .and_then(|s| s.attribute("node_fenced"));
        let node = &mut cl.nodes[n];
        node.was_fenced = fenced_at.is_some_and(|v| !v.is_empty() && v != "0");
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
    let fencing = cl.options.stonith_enabled && !cl.options.maintenance_mode;
    for n in 0..cl.nodes.len() {
        if cl.nodes[n].kind != NodeKind::Remote || cl.nodes[n].container.is_some() {
            continue;
        }
        // A remote node nothing connects to (no connection resource, not even in the
        // history) is offline; what its history shows active there makes it unclean.
        if cl.nodes[n].remote_of.is_none() {
            cl.nodes[n].online = false;
            if fencing && let Some(x) = first_active_on(cl, n) {
                cl.nodes[n].unclean = true;
                cl.nodes[n].unclean_reason = format!("{x} is thought to be active there");
            }
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
            if !guest && hold_for_reconnect(cl, n, r) {
                cl.nodes[n].online = false;
                cl.resources[r].target_role = Some(crate::model::Role::Stopped);
            }
            let failed = cl.resources[r]
                .status
                .iter()
                .find(|s| s.failed && s.role.is_active());
            if !guest
                && cl.options.stonith_enabled
                && (failed.is_some_and(resets_remote) || unfenced_reset(cl, n, r))
            {
                // A connection that was up and then failed loses the node's state:
                // it is fenced whether or not anything runs there.
                cl.nodes[n].unclean = true;
                cl.nodes[n].unclean_reason = "remote connection is unrecoverable".into();
            } else if !guest && !up && fencing {
                // Down, yet its history shows resources active there: unclean. Unless
                // the connection failed, fencing is revoked if it can be re-established
                // elsewhere (decided when fencing).
                if let Some(x) = first_active_on(cl, n) {
                    cl.nodes[n].unclean = true;
                    cl.nodes[n].unclean_reason = if failed.is_some() {
                        format!("{x} is thought to be active there")
                    } else {
                        format!(
                            "{x} is active there (fencing will be revoked if remote connection can be re-established elsewhere)"
                        )
                    };
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

/// The first managed resource the history shows active on node `n`.
fn first_active_on(cl: &Cluster, n: usize) -> Option<String> {
    cl.resources
        .iter()
        .find(|x| x.managed && x.status.iter().any(|s| s.node == n && s.role.is_active()))
        .map(|x| x.id.clone())
}

/// Whether a failure of a remote connection resets (fences) its remote node: by
/// default every failure of a connection that was established does (a failed probe or
/// start means there was no connection yet); a configured on-fail says otherwise.
fn resets_remote(s: &crate::model::NodeStatus) -> bool {
    match s.on_fail {
        Some(f) => f == crate::model::OnFail::Fence,
        None => !matches!(s.failed_op.as_deref(), Some("start") | Some("probe")),
    }
}

/// A remote connection's `reconnect_interval` in seconds (0: none).
fn reconnect_interval_s(res: &crate::model::Resource) -> i64 {
    res.params
        .get("reconnect_interval")
        .and_then(|v| super::resources::parse_interval_ms(v))
        .map_or(0, |ms| (ms / 1000) as i64)
}

/// The last failure of connection `r` that lost its remote node, while it still
/// counts: with a `reconnect_interval` until that long after it (and the node was
/// fenced since).
fn pending_reset(cl: &Cluster, r: usize) -> Option<i64> {
    if !cl.options.stonith_enabled || reconnect_interval_s(&cl.resources[r]) == 0 {
        return None;
    }
    cl.resources[r]
        .status
        .iter()
        .filter_map(|s| s.reset_failure)
        .max()
}

/// With `reconnect_interval`, a connection that lost its remote node stays stopped
/// until the node was fenced and the interval has passed since the failure.
fn hold_for_reconnect(cl: &Cluster, n: usize, r: usize) -> bool {
    let Some(at) = pending_reset(cl, r) else {
        return false;
    };
    !cl.nodes[n].was_fenced || at + reconnect_interval_s(&cl.resources[r]) > cl.now
}

/// A connection failure held by `reconnect_interval` whose node was not fenced yet:
/// it still has to be, even with the connection stopped meanwhile.
fn unfenced_reset(cl: &Cluster, n: usize, r: usize) -> bool {
    pending_reset(cl, r).is_some() && !cl.nodes[n].was_fenced
}
