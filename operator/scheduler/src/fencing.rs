//! Fencing decisions: which nodes must be fenced (unclean nodes, failed stops,
//! on-fail=fence, no-quorum suicide) and why, in crm_simulate's wording.

use crate::model::{Cluster, NoQuorumPolicy, NodeIdx, OnFail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub node: NodeIdx,
    pub action: String,
    pub reason: String,
    /// For a guest node: the container whose recovery stands in for fencing.
    pub container: Option<usize>,
}

/// Nodes to fence, in node order. Fencing needs stonith-enabled.
pub fn decide(cl: &mut Cluster) -> Vec<Fence> {
    let mut out: Vec<Fence> = Vec::new();
    let action = cl.options.stonith_action.clone();
    // Guest nodes are "fenced" by recovering their container: no device needed, and
    // the guest is usable again once the container runs.
    for (n, node) in cl.nodes.iter().enumerate() {
        if node.unclean && node.container.is_some() {
            out.push(Fence {
                node: n,
                action: action.clone(),
                reason: node.unclean_reason.clone(),
                container: node.container,
            });
        }
    }
    // Fencing needs a fence device in the configuration.
    let has_device = cl.resources.iter().any(|r| r.is_stonith() && !r.orphan);
    cl.can_fence = cl.options.stonith_enabled && has_device;
    if !cl.options.stonith_enabled || !has_device {
        finish(cl, &out);
        return out;
    }
    let push = |out: &mut Vec<Fence>, node: NodeIdx, reason: String| {
        if !out.iter().any(|f| f.node == node) {
            out.push(Fence {
                node,
                action: action.clone(),
                reason,
                container: None,
            });
        }
    };
    let may_fence = cl.options.have_quorum || cl.options.no_quorum_policy == NoQuorumPolicy::Ignore;
    // Fencing revoked: the connection comes back, and with it what runs there. (The
    // reason stays: if the connection finds no node after all, the node is fenced.)
    for n in 0..cl.nodes.len() {
        if revocable(&cl.nodes[n])
            && cl.nodes[n]
                .remote_of
                .is_some_and(|c| connection_can_run(cl, c))
        {
            cl.nodes[n].unclean = false;
        }
    }
    for (n, node) in cl.nodes.iter().enumerate() {
        if node.unclean && may_fence {
            // A clean offline node with nothing active needs no fencing.
            push(&mut out, n, node.unclean_reason.clone());
        }
    }
    for r in &cl.resources {
        for s in &r.status {
            if !cl.nodes[s.node].online || cl.nodes[s.node].unclean {
                continue;
            }
            let fence = (s.stop_failed && s.on_fail.is_none_or(|f| f == OnFail::Fence))
                || (s.failed && s.on_fail == Some(OnFail::Fence));
            if fence && r.managed && may_fence {
                push(&mut out, s.node, format!("{} failed there", r.id));
            }
        }
    }
    for (ri, r) in cl.resources.iter().enumerate() {
        if !r.is_primitive()
            || crate::tickets::effect(cl, ri) != crate::tickets::TicketEffect::Fence
        {
            continue;
        }
        for s in r.active_nodes() {
            if cl.nodes[s.node].online {
                push(&mut out, s.node, "deadman ticket was lost".into());
            }
        }
    }
    if !cl.options.have_quorum && cl.options.no_quorum_policy == NoQuorumPolicy::Suicide {
        for (n, node) in cl.nodes.iter().enumerate() {
            if node.online {
                push(&mut out, n, "cluster does not have quorum".into());
            }
        }
    }
    out.sort_by_key(|f| f.node);
    finish(cl, &out);
    out
}

fn finish(cl: &mut Cluster, out: &[Fence]) {
    for f in out {
        let node = &mut cl.nodes[f.node];
        node.online = false;
        // A fenced guest comes back with its container; members stay down.
        node.unclean = f.container.is_none();
    }
    let fenced: Vec<NodeIdx> = out.iter().map(|f| f.node).collect();
    mark_blocked(cl, &fenced);
}

/// Unclean nodes that will not be fenced keep their resources: nothing may move.
/// Failures with on-fail=block (and failed stops without fencing) freeze a resource.
fn mark_blocked(cl: &mut Cluster, fenced: &[NodeIdx]) {
    for r in cl.resources.iter_mut() {
        let stuck = r.status.iter().any(|s| {
            !fenced.contains(&s.node)
                && ((s.role.is_active() && cl.nodes[s.node].unclean)
                    || (s.failed && s.on_fail == Some(OnFail::Block))
                    || (s.stop_failed && !cl.options.stonith_enabled))
        });
        r.blocked = stuck;
    }
}

/// Remote nodes whose connection ran on a node being fenced and has nowhere to run
/// now: their resources cannot be stopped through the connection, so the remote node
/// itself is fenced.
pub fn after_placement(
    cl: &mut Cluster,
    mut fences: Vec<Fence>,
    pl: &crate::placement::Placement,
) -> Vec<Fence> {
    // A guest whose container will not run again is powered off, not rebooted.
    for f in fences.iter_mut() {
        if f.container.is_some_and(|c| pl.node[c].is_none()) {
            f.action = "off".into();
        }
    }
    if !cl.can_fence {
        return fences;
    }
    let action = cl.options.stonith_action.clone();
    for n in 0..cl.nodes.len() {
        let node = &cl.nodes[n];
        let Some(conn) = node.remote_of else { continue };
        // Fencing was revoked for a connection that then found no node.
        if !node.unclean && revocable(node) && pl.node[conn].is_none() {
            fences.push(Fence {
                node: n,
                action: action.clone(),
                reason: node.unclean_reason.clone(),
                container: None,
            });
            cl.nodes[n].unclean = true;
            continue;
        }
        if node.container.is_some() || fences.iter().any(|f| f.node == n) {
            continue;
        }
        let host_fenced = cl.resources[conn]
            .active_nodes()
            .any(|s| fences.iter().any(|f| f.node == s.node));
        if !host_fenced || pl.node[conn].is_some() {
            continue;
        }
        let active_here = cl
            .resources
            .iter()
            .any(|x| x.managed && x.active_nodes().any(|s| s.node == n));
        if active_here {
            fences.push(Fence {
                node: n,
                action: action.clone(),
                reason: "resources are active but connection is unrecoverable".into(),
                container: None,
            });
            cl.nodes[n].unclean = true;
            cl.nodes[n].online = false;
        }
    }
    fences.sort_by_key(|f| f.node);
    fences
}

/// Whether a remote connection has a cluster node it may start on.
fn connection_can_run(cl: &Cluster, conn: usize) -> bool {
    cl.nodes.iter().enumerate().any(|(n, node)| {
        node.remote_of.is_none()
            && node.online
            && node.can_host()
            && !cl
                .locations
                .iter()
                .any(|l| l.rsc == conn && l.node == n && l.score <= -crate::score::INFINITY)
    })
}

/// A remote node unclean only because its history shows resources active there while
/// its connection is down: fencing is revoked if the connection starts again.
fn revocable(node: &crate::model::Node) -> bool {
    node.unclean_reason
        .ends_with("can be re-established elsewhere)")
}
