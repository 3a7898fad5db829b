//! Constraint kinds: `Location` (`rsc_location`), `Colocation` (`rsc_colocation`), `Order`
//! (`rsc_order`) and `Ticket` (`rsc_ticket`), plus the resource sets they share.
//!
//! Resources are referenced by CIB id, so constraints read as they do in crm/pcs.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{common::Score, status::ConstraintStatus};

/// A resource set (`resource_set`): resources treated together by a constraint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `id-ref`: reuse the set with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_ref: Option<String>,
    /// Members depend on each other in order (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<bool>,
    /// For orders: all members must be active before the next set (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_all: Option<bool>,
    /// `listed` (default) or `group` (deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordering: Option<String>,
    /// Action for orders (start, stop, promote, demote).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Role for colocations/locations/tickets (Started, Promoted, Unpromoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// Order kind for this set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Member resources by CIB id (`resource_ref`).
    pub resources: Vec<String>,
}

/// Where a resource may or should run: a node with a score, or rules evaluated per node.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Location",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ConstraintStatus",
    shortname = "loc",
    category = "pacer",
    doc = "A Pacemaker location constraint (CIB <rsc_location>): node preference by score or by rules.",
    printcolumn(name = "Resource", type_ = "string", json_path = ".spec.resource"),
    printcolumn(name = "Node", type_ = "string", json_path = ".spec.node"),
    printcolumn(name = "Score", type_ = "string", json_path = ".spec.score"),
    printcolumn(name = "Role", type_ = "string", json_path = ".spec.role"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("has(self.spec.node) != (has(self.spec.rules) && size(self.spec.rules) > 0)").message("give exactly one of spec.node (with spec.score) or spec.rules"),
    validation = Rule::new("!has(self.spec.node) || has(self.spec.score)").message("spec.node needs spec.score (e.g. 100, INFINITY or -INFINITY)"),
    validation = Rule::new("[has(self.spec.resource), has(self.spec.resourcePattern), has(self.spec.resourceSets) && size(self.spec.resourceSets) > 0].filter(x, x).size() == 1").message("give exactly one of spec.resource, spec.resourcePattern or spec.resourceSets"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The constrained resource (`rsc`, CIB id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// A regular expression over resource ids (`rsc-pattern`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_pattern: Option<String>,
    /// Limit to a role (Started, Promoted, Unpromoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The node (uname) this constraint scores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// Rules giving a score per node (any rule that matches applies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<crate::common::Rule>,
    /// `always` (default), `never` or `exclusive`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["always", "never", "exclusive"]))]
    pub resource_discovery: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_sets: Vec<ResourceSet>,
}

/// Keep resources together (or apart).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Colocation",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ConstraintStatus",
    shortname = "colo",
    category = "pacer",
    doc = "A Pacemaker colocation constraint (CIB <rsc_colocation>): place resource where withResource is (or is not).",
    printcolumn(name = "Resource", type_ = "string", json_path = ".spec.resource"),
    printcolumn(name = "With", type_ = "string", json_path = ".spec.withResource"),
    printcolumn(name = "Score", type_ = "string", json_path = ".spec.score"),
    printcolumn(name = "WithRole", type_ = "string", json_path = ".spec.withResourceRole"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("(has(self.spec.resource) && has(self.spec.withResource)) != (has(self.spec.resourceSets) && size(self.spec.resourceSets) > 0)").message("give spec.resource and spec.withResource, or spec.resourceSets"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ColocationSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The dependent resource (`rsc`): placed relative to `withResource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// `with-rsc`: placed first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_resource_role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_resource_instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// Whether the dependent's preferences influence where withResource goes
    /// (`influence`, default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub influence: Option<String>,
    /// Colocate by this node attribute instead of node identity (`node-attribute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_sets: Vec<ResourceSet>,
}

/// Run actions in order.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Order",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ConstraintStatus",
    shortname = "ord",
    category = "pacer",
    doc = "A Pacemaker order constraint (CIB <rsc_order>): firstAction of first before thenAction of then.",
    printcolumn(name = "First", type_ = "string", json_path = ".spec.first"),
    printcolumn(name = "FirstAction", type_ = "string", json_path = ".spec.firstAction"),
    printcolumn(name = "Then", type_ = "string", json_path = ".spec.then"),
    printcolumn(name = "ThenAction", type_ = "string", json_path = ".spec.thenAction"),
    printcolumn(name = "Kind", type_ = "string", json_path = ".spec.kind"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("(has(self.spec.first) && has(self.spec.then)) != (has(self.spec.resourceSets) && size(self.spec.resourceSets) > 0)").message("give spec.first and spec.then, or spec.resourceSets"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
    /// start (default), stop, promote, demote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_instance: Option<String>,
    /// Mandatory (default), Optional or Serialize.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Mandatory", "Optional", "Serialize"]))]
    pub kind: Option<String>,
    /// Deprecated form of kind (0 = Optional, >0 = Mandatory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// Also order the reverse actions in reverse (default true for Mandatory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symmetrical: Option<bool>,
    /// For clones as `first`: false means any one instance suffices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_all: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_sets: Vec<ResourceSet>,
}

/// Tie resources to a cluster ticket (`rsc_ticket`).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Ticket",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ConstraintStatus",
    shortname = "tkt",
    category = "pacer",
    doc = "A Pacemaker ticket constraint (CIB <rsc_ticket>): resources run only while the ticket is granted.",
    printcolumn(name = "Ticket", type_ = "string", json_path = ".spec.ticket"),
    printcolumn(name = "Resource", type_ = "string", json_path = ".spec.resource"),
    printcolumn(name = "LossPolicy", type_ = "string", json_path = ".spec.lossPolicy"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("has(self.spec.resource) != (has(self.spec.resourceSets) && size(self.spec.resourceSets) > 0)").message("give spec.resource or spec.resourceSets"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub ticket: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_role: Option<String>,
    /// stop (default), demote, fence or freeze.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["stop", "demote", "fence", "freeze"]))]
    pub loss_policy: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_sets: Vec<ResourceSet>,
}
