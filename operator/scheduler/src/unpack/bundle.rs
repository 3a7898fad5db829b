//! `<bundle>` → the resources Pacemaker implicitly creates for it, so that the rest of
//! the scheduler only sees primitives, groups, clones and guest nodes.
//!
//! Per replica N of bundle ID: the container `ID-docker-N` (`-podman-N`, `-rkt-N`;
//! ocf:heartbeat:docker|podman|rkt), with `ip-range-start` an address `ID-ip-ADDR`
//! (ocf:heartbeat:IPaddr2, started before the container, on its node), and with a
//! primitive a Pacemaker Remote connection `ID-N` that makes the replica guest node
//! `ID-N`, where instance `CHILD:N` of the implicit clone `ID-clone` runs.
//!
//! The replicas are allocated like the instances of a globally-unique clone (the
//! bundle's own id; `replicas-per-host` is its clone-node-max), so constraints naming
//! the bundle place its containers. The primitive's clone is promotable when
//! `promoted-max` is positive.

use super::{AttrSetKind, attr_sets, resources::Unpacker};
use crate::model::{
    Bundle, CloneCfg, Cluster, Discovery, Kind, Location, OrderKind, Ordering, Replica, Role,
    RscIdx,
};
use crate::score::INFINITY;
use roxmltree::Node as XNode;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

/// The `n`-th address after `start` (IPv4 only, as Pacemaker).
fn nth_address(start: &str, n: usize) -> Option<String> {
    let parts: Vec<u32> = start
        .trim()
        .split('.')
        .map(|p| p.parse::<u32>().ok().filter(|&v| v < 256))
        .collect::<Option<_>>()?;
    if parts.len() != 4 {
        return None;
    }
    let base = parts.iter().fold(0u64, |a, &p| a * 256 + p as u64);
    let v = base
        .checked_add(n as u64)
        .filter(|&v| v <= u32::MAX as u64)?;
    Some(format!(
        "{}.{}.{}.{}",
        v >> 24,
        (v >> 16) & 255,
        (v >> 8) & 255,
        v & 255
    ))
}

fn num(v: Option<&str>) -> Option<usize> {
    v.and_then(|s| s.trim().parse::<i64>().ok())
        .map(|x| x.max(0) as usize)
}

/// Unpack one `<bundle>` element into the cluster (resources only; guest nodes are
/// added with the other remote nodes, instance placement by [`finish`]).
pub(super) fn expand(u: &mut Unpacker, e: XNode) {
    let Some(id) = e.attribute("id").map(str::to_string) else {
        return;
    };
    let Some(runtime) = e
        .children()
        .find(|c| c.is_element() && matches!(c.tag_name().name(), "docker" | "podman" | "rkt"))
    else {
        u.cl.warnings.push(format!(
            "bundle {id:?}: no docker, podman or rkt element; ignored"
        ));
        return;
    };
    let kind = runtime.tag_name().name();
    let promoted_max = num(runtime
        .attribute("promoted-max")
        .or(runtime.attribute("masters")))
    .unwrap_or(0);
    let replicas = num(runtime.attribute("replicas"))
        .filter(|&r| r > 0)
        .unwrap_or(promoted_max.max(1));
    let per_host = num(runtime.attribute("replicas-per-host"))
        .filter(|&r| r > 0)
        .unwrap_or(1);
    let network = super::child(e, "network");
    let ip_start = network.and_then(|n| n.attribute("ip-range-start"));
    let control_port = network
        .and_then(|n| n.attribute("control-port"))
        .unwrap_or("3121");
    let primitive = super::child(e, "primitive");

    // Meta attributes of the bundle reach everything created for it.
    let own_meta = attr_sets(e, AttrSetKind::Meta, u.idx, u.ctx, None);
    let mut meta = u.rsc_defaults_for(None);
    meta.extend(own_meta.clone());
    let bundle = u.new_resource(id.clone(), id.clone(), Kind::Clone, None, meta, None);
    u.cl.resources[bundle].clone = Some(CloneCfg {
        max: replicas,
        node_max: per_host,
        promotable: false,
        promoted_max: 0,
        promoted_node_max: 1,
        interleave: false,
        ordered: false,
        unique: true,
        notify: false,
    });
    u.cl.top.push(bundle);

    let image = runtime.attribute("image").unwrap_or_default();
    let mut reps = Vec::new();
    for i in 0..replicas {
        let ip = ip_start.and_then(|s| nth_address(s, i));
        let cid = format!("{id}-{kind}-{i}");
        let mut xml = String::new();
        let ip_xml = ip.as_ref().map(|addr| {
            let netmask = network
                .and_then(|n| n.attribute("host-netmask"))
                .unwrap_or("32");
            let nic = network
                .and_then(|n| n.attribute("host-interface"))
                .map(|v| format!("<nvpair id=\"{id}-ip-{addr}-nic\" name=\"nic\" value=\"{}\"/>", xml_escape(v)))
                .unwrap_or_default();
            format!(
                "<primitive id=\"{id}-ip-{addr}\" class=\"ocf\" provider=\"heartbeat\" type=\"IPaddr2\">\
                 <instance_attributes id=\"{id}-ip-{addr}-ia\">\
                 <nvpair id=\"{id}-ip-{addr}-ip\" name=\"ip\" value=\"{addr}\"/>\
                 <nvpair id=\"{id}-ip-{addr}-mask\" name=\"cidr_netmask\" value=\"{}\"/>{nic}\
                 </instance_attributes><operations>\
                 <op id=\"{id}-ip-{addr}-monitor\" name=\"monitor\" interval=\"60s\"/>\
                 </operations></primitive>",
                xml_escape(netmask),
                id = xml_escape(&id),
            )
        });
        let container_xml = format!(
            "<primitive id=\"{cid}\" class=\"ocf\" provider=\"heartbeat\" type=\"{kind}\">\
             <instance_attributes id=\"{cid}-ia\">\
             <nvpair id=\"{cid}-name\" name=\"name\" value=\"{cid}\"/>\
             <nvpair id=\"{cid}-image\" name=\"image\" value=\"{}\"/>\
             </instance_attributes><operations>\
             <op id=\"{cid}-monitor\" name=\"monitor\" interval=\"60s\"/>\
             </operations></primitive>",
            xml_escape(image),
            cid = xml_escape(&cid),
        );
        match &ip_xml {
            Some(ipx) => xml.push_str(&format!(
                "<group id=\"{}\">{ipx}{container_xml}</group>",
                xml_escape(&format!("{id}-replica-{i}"))
            )),
            None => xml.push_str(&container_xml),
        }
        let Ok(doc) = roxmltree::Document::parse(&xml) else {
            continue;
        };
        let Some(unit) = u.element(doc.root_element(), Some(bundle), &own_meta, None) else {
            continue;
        };
        u.cl.resources[bundle].children.push(unit);
        let prims = u.cl.primitives_of(unit);
        let (ip_rsc, container) = match prims.as_slice() {
            [c] => (None, *c),
            [ip, c] => (Some(*ip), *c),
            _ => continue,
        };
        let node = format!("{id}-{i}");
        let connection = primitive.and_then(|_| {
            let addr = ip.clone().unwrap_or_else(|| node.clone());
            let xml = format!(
                "<primitive id=\"{n}\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">\
                 <instance_attributes id=\"{n}-ia\">\
                 <nvpair id=\"{n}-addr\" name=\"addr\" value=\"{}\"/>\
                 <nvpair id=\"{n}-port\" name=\"port\" value=\"{}\"/>\
                 </instance_attributes><operations>\
                 <op id=\"{n}-monitor-interval-30s\" name=\"monitor\" interval=\"30s\" timeout=\"30s\"/>\
                 </operations></primitive>",
                xml_escape(&addr),
                xml_escape(control_port),
                n = xml_escape(&node),
            );
            let doc = roxmltree::Document::parse(&xml).ok()?;
            let mut inherited = own_meta.clone();
            inherited.insert("container".into(), cid.clone());
            inherited.insert("allow-migrate".into(), "false".into());
            let r = u.element(doc.root_element(), None, &inherited, None)?;
            u.cl.top.push(r);
            u.cl.guest_connections.push((r, container));
            Some(r)
        });
        reps.push(Replica {
            ip: ip_rsc,
            container,
            connection,
            child: None,
            node,
        });
    }

    // The bundle's primitive, as an (anonymous) clone with an instance per replica.
    let mut child_clone = None;
    if let Some(p) = primitive {
        let cid = format!("{id}-clone");
        let child_meta = attr_sets(p, AttrSetKind::Meta, u.idx, u.ctx, None);
        let get = |k: &str| {
            child_meta
                .get(k)
                .or(own_meta.get(k))
                .map(|v| super::options::is_true(v))
                .unwrap_or(false)
        };
        let cfg = CloneCfg {
            max: replicas,
            node_max: 1,
            promotable: promoted_max > 0,
            promoted_max,
            promoted_node_max: 1,
            interleave: get("interleave"),
            ordered: get("ordered"),
            unique: false,
            notify: get("notify"),
        };
        let mut meta = u.rsc_defaults_for(None);
        meta.extend(own_meta.clone());
        let c = u.new_resource(cid.clone(), cid, Kind::Clone, None, meta, None);
        u.cl.resources[c].clone = Some(cfg);
        u.cl.top.push(c);
        for (i, rep) in reps.iter_mut().enumerate() {
            if let Some(ch) = u.element(p, Some(c), &own_meta, Some(i)) {
                u.cl.resources[c].children.push(ch);
                rep.child = Some(ch);
            }
        }
        child_clone = Some(c);
    }
    u.cl.bundles.push(Bundle {
        rsc: bundle,
        child_clone,
        replicas: reps,
    });
}

/// How strongly a guest node's connection follows its container: a bundle's only
/// prefers its container's node (it may run elsewhere when that node cannot host it,
/// e.g. a Pacemaker Remote node); other guest nodes' must run with their container.
pub(super) fn connection_colocation_score(cl: &Cluster, conn: RscIdx) -> i64 {
    let in_bundle = cl
        .bundles
        .iter()
        .flat_map(|b| &b.replicas)
        .any(|r| r.connection == Some(conn));
    if in_bundle { 10_000 } else { INFINITY }
}

/// The instance of a bundle's primitive that a history entry for `base` on `node`
/// belongs to: the one of the replica that node is.
pub(super) fn instance_on(cl: &Cluster, base: &str, node: usize) -> Option<RscIdx> {
    let name = &cl.nodes[node].name;
    cl.bundles
        .iter()
        .flat_map(|b| &b.replicas)
        .filter(|r| &r.node == name)
        .filter_map(|r| r.child)
        .find(|&c| cl.resources[c].config_id == base)
}

/// After the history and constraints: each instance of a bundle's primitive may run
/// only on its own replica's guest node; the implicit resources' recorded digests are
/// not compared (their parameters are Pacemaker's to choose).
pub(super) fn finish(cl: &mut Cluster) {
    let mut locs = Vec::new();
    let mut implicit = Vec::new();
    for b in &cl.bundles {
        for rep in &b.replicas {
            implicit.extend(rep.ip);
            implicit.push(rep.container);
            // Containers do not nest: no replica runs on a guest node.
            for (n, node) in cl.nodes.iter().enumerate() {
                if node.container.is_some() {
                    for r in rep.ip.into_iter().chain([rep.container]) {
                        locs.push(Location {
                            id: format!("{}-not-on-guest-{}", cl.resources[r].id, node.name),
                            rsc: r,
                            node: n,
                            score: -INFINITY,
                            role: None,
                            discovery: Discovery::Never,
                        });
                    }
                }
            }
            implicit.extend(rep.connection);
            let Some(child) = rep.child else { continue };
            for (n, node) in cl.nodes.iter().enumerate() {
                let own = node.name == rep.node;
                locs.push(Location {
                    id: format!("{}-on-{}", cl.resources[child].id, node.name),
                    rsc: child,
                    node: n,
                    score: if own { INFINITY } else { -INFINITY },
                    role: None,
                    discovery: if own {
                        Discovery::Always
                    } else {
                        Discovery::Never
                    },
                });
            }
        }
    }
    // A bundle's guest nodes come into being as the bundle is unpacked: resources
    // configured before it never learn of them, so may not run there; those after it
    // only where a location constraint names the node.
    let implicit_tops: Vec<RscIdx> = cl
        .bundles
        .iter()
        .flat_map(|b| {
            let conns = b.replicas.iter().filter_map(|r| r.connection);
            std::iter::once(b.rsc).chain(b.child_clone).chain(conns)
        })
        .collect();
    for b in &cl.bundles {
        let Some(pos) = cl.top.iter().position(|&t| t == b.rsc) else {
            continue;
        };
        let guests: Vec<usize> = b
            .replicas
            .iter()
            .filter(|r| r.connection.is_some())
            .filter_map(|r| cl.nodes.iter().position(|n| n.name == r.node))
            .collect();
        for (k, &t) in cl.top.iter().enumerate() {
            if k > pos && implicit_tops.contains(&t) {
                continue;
            }
            for &n in &guests {
                let named = cl
                    .locations
                    .iter()
                    .any(|l| l.node == n && cl.top_of(l.rsc) == t);
                if k > pos && named {
                    continue;
                }
                locs.push(Location {
                    id: format!("{}-not-on-{}", cl.resources[t].id, cl.nodes[n].name),
                    rsc: t,
                    node: n,
                    score: -INFINITY,
                    role: None,
                    discovery: Discovery::Never,
                });
            }
        }
    }
    cl.locations.extend(locs);
    // Each instance starts after its replica's container and connection.
    for b in &cl.bundles {
        for rep in &b.replicas {
            let Some(child) = rep.child else { continue };
            for first in [Some(rep.container), rep.connection].into_iter().flatten() {
                cl.orderings.push(Ordering {
                    id: format!("{}-then-{}", cl.resources[first].id, cl.resources[child].id),
                    first,
                    first_action: "start".into(),
                    then: child,
                    then_action: "start".into(),
                    kind: OrderKind::Mandatory,
                    symmetrical: true,
                    require_all: true,
                    first_set: None,
                });
            }
        }
    }
    // Promotion and demotion are the bundle's primitive's: so are role-specific
    // locations and orderings of promote/demote that name the bundle.
    for b in &cl.bundles {
        let Some(child) = b.child_clone else { continue };
        for l in cl.locations.iter_mut() {
            if l.rsc == b.rsc && l.role.is_some_and(|r| r != Role::Started) {
                l.rsc = child;
            }
        }
        let role_action = |a: &str| matches!(a, "promote" | "promoted" | "demote" | "demoted");
        for o in cl.orderings.iter_mut() {
            if o.first == b.rsc && role_action(&o.first_action) {
                o.first = child;
            }
            if o.then == b.rsc && role_action(&o.then_action) {
                o.then = child;
            }
        }
    }
    for r in implicit {
        for s in &mut cl.resources[r].status {
            s.start_digest = None;
            s.restart_digest = None;
        }
    }
}
