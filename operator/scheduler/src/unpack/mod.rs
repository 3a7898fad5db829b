//! CIB XML → [`Cluster`]: options, nodes, resources, constraints and the operation
//! history, unpacked once so that later stages never look at XML again.
//! Problems in the configuration become `Cluster::warnings`, never panics.

mod anon_clone;
mod bundle;
mod constraints;
mod history;
mod migration;
mod nodes;
mod nvpairs;
pub(crate) mod options;
mod resources;
pub mod rule_eval;

use crate::model::Cluster;
use roxmltree::{Document, Node as XNode};
use std::collections::HashMap;

pub use nvpairs::{AttrSetKind, attr_sets};
pub use options::is_true;

/// Elements by id, for `id-ref` resolution.
pub struct IdIndex<'a, 'i> {
    by_id: HashMap<&'a str, XNode<'a, 'i>>,
    /// The status section is not indexed: it is most of a large CIB (an entry per
    /// resource per node) and references point into the configuration. It is searched
    /// only when the configuration has no element with the wanted id.
    status: &'a [XNode<'a, 'i>],
}

impl<'a, 'i> IdIndex<'a, 'i> {
    /// Index `root` (a `<cib>`) outside its `<status>`; `status` are the status
    /// children to fall back on (from this or other Documents).
    fn new(root: XNode<'a, 'i>, status: &'a [XNode<'a, 'i>]) -> Self {
        let mut by_id = HashMap::new();
        let own_status = child(root, "status");
        let outside_status = std::iter::once(root).chain(
            root.children()
                .filter(|c| Some(*c) != own_status)
                .flat_map(|c| c.descendants()),
        );
        for n in outside_status.filter(|n| n.is_element()) {
            if let Some(id) = n.attribute("id")
                && n.attribute("id-ref").is_none()
            {
                by_id.entry(id).or_insert(n);
            }
        }
        IdIndex { by_id, status }
    }
    pub fn get(&self, id: &str) -> Option<XNode<'a, 'i>> {
        self.by_id.get(id).copied().or_else(|| {
            self.status.iter().flat_map(|s| s.descendants()).find(|n| {
                n.is_element() && n.attribute("id") == Some(id) && n.attribute("id-ref").is_none()
            })
        })
    }
    /// Follow an `id-ref` (if present) to the element it names.
    pub fn resolve(&self, n: XNode<'a, 'i>) -> XNode<'a, 'i> {
        match n.attribute("id-ref") {
            Some(r) => self.get(r).unwrap_or(n),
            None => n,
        }
    }
}

pub fn child<'a, 'i>(n: XNode<'a, 'i>, name: &str) -> Option<XNode<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

pub fn children<'a, 'i: 'a>(
    n: XNode<'a, 'i>,
    name: &'a str,
) -> impl Iterator<Item = XNode<'a, 'i>> + 'a {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// Unpack a whole CIB. `now` is seconds since the epoch; `None` uses the CIB's
/// `execution-date`, else 0.
pub fn unpack(xml: &str, now: Option<i64>) -> Result<Cluster, crate::Error> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let status: Vec<XNode> = child(root, "status")
        .map(|s| s.children().filter(|c| c.is_element()).collect())
        .unwrap_or_default();
    unpack_root(root, &status, now)
}

/// Like [`unpack`], with (most of) the status given as parsed elements: `status` are
/// elements that would be children of `<status>` (node_state, tickets), each possibly
/// from a different Document; they come after the children of `cib_xml`'s own
/// `<status>` (if any). Lets a caller keep each node's state parsed between runs.
pub fn unpack_with_status(
    cib_xml: &str,
    status: &[XNode],
    now: Option<i64>,
) -> Result<Cluster, crate::Error> {
    let doc = parse(cib_xml)?;
    let root = doc.root_element();
    let mut all: Vec<XNode> = child(root, "status")
        .map(|s| s.children().filter(|c| c.is_element()).collect())
        .unwrap_or_default();
    all.extend_from_slice(status);
    unpack_root(root, &all, now)
}

fn parse(xml: &str) -> Result<Document<'_>, crate::Error> {
    Document::parse(xml).map_err(|e| crate::Error::Xml(e.to_string()))
}

/// The element children of `<status>` named `name`.
fn status_named<'s, 'a, 'i>(
    status: &'s [XNode<'a, 'i>],
    name: &'s str,
) -> impl Iterator<Item = XNode<'a, 'i>> + 's {
    status
        .iter()
        .copied()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// `root` is the `<cib>` (its `<status>` unused); `status` the status children.
fn unpack_root<'a, 'i>(
    root: XNode<'a, 'i>,
    status: &'a [XNode<'a, 'i>],
    now: Option<i64>,
) -> Result<Cluster, crate::Error> {
    let now = now
        .or_else(|| {
            root.attribute("execution-date")
                .and_then(|v| v.parse::<i64>().ok())
        })
        .unwrap_or(0);
    let idx = IdIndex::new(root, status);
    let mut cl = Cluster {
        now,
        ..Default::default()
    };
    let config = child(root, "configuration");
    cl.options.have_quorum = matches!(root.attribute("have-quorum"), Some("1" | "true" | "yes"));
    let ctx = rule_eval::Ctx::new(now);
    if let Some(cfg) = config {
        options::unpack_options(&mut cl, cfg, &idx, &ctx);
        nodes::unpack_nodes(&mut cl, cfg, status, &idx, &ctx, root.attribute("dc-uuid"));
        resources::unpack_resources(&mut cl, cfg, &idx, &ctx);
        nodes::add_remote_nodes(&mut cl, status, &idx, &ctx);
    }
    // With no status elements both are no-ops (as when the CIB has no <status>).
    history::unpack_tickets(&mut cl, status);
    history::unpack_history(&mut cl, status, config, &idx);
    if let Some(cfg) = config {
        constraints::unpack_constraints(&mut cl, cfg, &idx, &ctx);
    }
    bundle::finish(&mut cl);
    // Resources with a `container` meta attribute run inside that resource.
    for r in 0..cl.resources.len() {
        let res = &cl.resources[r];
        if !res.is_primitive() || res.orphan || cl.guest_connections.iter().any(|&(c, _)| c == r)
        {
            continue;
        }
        let Some(cid) = res.meta.get("container") else {
            continue;
        };
        match cl.resources.iter().position(|x| &x.id == cid && x.is_primitive()) {
            Some(c) if c != r => cl.contained.push((r, c)),
            _ => cl.warnings.push(format!(
                "resource {:?}: container {cid:?} is not a primitive; ignored",
                res.id
            )),
        }
    }
    // Contained resources with a failed stop are cleaned up by the container's restart.
    for (r, c) in cl.contained.clone() {
        for s in cl.resources[r].status.iter().filter(|s| s.stop_failed) {
            cl.contained_stop_failed.push((c, s.node));
        }
        cl.resources[r].status.retain(|s| !s.stop_failed);
    }
    let mut links = cl.guest_connections.clone();
    links.extend(cl.contained.iter().copied());
    // A guest node's connection runs with its container and starts after it.
    for (conn, container) in links {
        let id = format!("{}-with-container", cl.resources[conn].id);
        cl.colocations.push(crate::model::Colocation {
            id: id.clone(),
            dependent: conn,
            primary: container,
            score: bundle::connection_colocation_score(&cl, conn),
            dependent_role: None,
            primary_role: None,
            node_attribute: "#uname".into(),
            influence: true,
        });
        cl.orderings.push(crate::model::Ordering {
            id,
            first: container,
            first_action: "start".into(),
            then: conn,
            then_action: "start".into(),
            kind: crate::model::OrderKind::Mandatory,
            symmetrical: true,
            require_all: true,
            first_set: None,
        });
    }
    nodes::settle_remote_online(&mut cl);
    history::finish_status(&mut cl);
    cl.build_index();
    Ok(cl)
}
