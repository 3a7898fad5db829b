//! `<meta_attributes>`, `<instance_attributes>`, `<utilization>` sets → name/value maps,
//! honouring `id-ref`, set scores and rules.

use super::{IdIndex, rule_eval};
use roxmltree::Node as XNode;
use std::collections::BTreeMap;

#[derive(Clone, Copy)]
pub enum AttrSetKind {
    Meta,
    Instance,
    Utilization,
    ClusterProperty,
}

impl AttrSetKind {
    pub fn tag(self) -> &'static str {
        match self {
            AttrSetKind::Meta => "meta_attributes",
            AttrSetKind::Instance => "instance_attributes",
            AttrSetKind::Utilization => "utilization",
            AttrSetKind::ClusterProperty => "cluster_property_set",
        }
    }
}

/// Collect name/value pairs of all sets of `kind` directly under `parent`, choosing
/// between sets by score and rules as Pacemaker does (see [`crate::rules::select_nvpairs`]).
pub fn attr_sets(
    parent: XNode,
    kind: AttrSetKind,
    _idx: &IdIndex,
    ctx: &rule_eval::Ctx,
    node_attrs: Option<&BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let sets = parent
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == kind.tag());
    let mut rc = ctx.rule_context();
    if let Some(a) = node_attrs {
        rc = rc.with_node(a);
    }
    let first = match kind {
        AttrSetKind::ClusterProperty => Some("cib-bootstrap-options"),
        _ => None,
    };
    crate::rules::select_nvpairs(sets, &rc, first).into_map()
}
