//! Cluster-wide kinds: `ClusterProperties` (`crm_config` and the `cib` element's own
//! attributes), `ResourceDefaults` (`rsc_defaults`), `OperationDefaults` (`op_defaults`),
//! `Tag` (`tag`), `FencingTopology` (`fencing-topology`) and `Alert` (`alert`).
//!
//! ClusterProperties, ResourceDefaults, OperationDefaults and FencingTopology are
//! singletons per namespace (one namespace is one cluster).

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    common::{AttributeSet, Attributes},
    status::ClusterStatus,
};

/// Attributes of the CIB document itself. Pacemaker tools and crm_simulate read these
/// (`have-quorum`, `dc-uuid`, `execution-date`); the operator maintains them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CibDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validate_with: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_epoch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_updates: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_feature_set: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub have_quorum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc_uuid: Option<String>,
    /// The time rules are evaluated at when no other time is given (seconds since epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cib_last_written: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_tls_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_clear_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_quorum_panic: Option<String>,
}

/// Cluster options (`crm_config`): stonith-enabled, no-quorum-policy, maintenance-mode, ...
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "ClusterProperties",
    plural = "clusterproperties",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ClusterStatus",
    shortname = "cprop",
    category = "pacer",
    doc = "Pacemaker cluster options (CIB <crm_config> cluster_property_sets) and CIB document attributes; one per namespace.",
    printcolumn(name = "DC", type_ = "string", json_path = ".status.dc"),
    printcolumn(name = "Quorum", type_ = "boolean", json_path = ".status.quorum"),
    printcolumn(
        name = "LastTransition",
        type_ = "date",
        json_path = ".status.lastTransition"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterPropertiesSpec {
    /// Options in the first, unconditional set (`cib-bootstrap-options`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Attributes>,
    /// Further sets: scored and rule-conditioned (e.g. a schedule by `date_spec`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub property_sets: Vec<AttributeSet>,
    /// CIB document attributes (quorum, DC, epochs, validate-with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cib: Option<CibDocument>,
}

/// Defaults for resource meta attributes (`rsc_defaults`).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "ResourceDefaults",
    plural = "resourcedefaults",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "rscdef",
    category = "pacer",
    doc = "Pacemaker resource defaults (CIB <rsc_defaults>): resource-stickiness, migration-threshold, ...; one per namespace.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceDefaultsSpec {
    /// The first, unconditional set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    /// Further sets, possibly with rules using resource expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
}

/// Defaults for operation attributes (`op_defaults`).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "OperationDefaults",
    plural = "operationdefaults",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "opdef",
    category = "pacer",
    doc = "Pacemaker operation defaults (CIB <op_defaults>): timeout, record-pending, ...; one per namespace.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationDefaultsSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    /// Further sets, possibly with rules using op/resource expressions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
}

/// A named set of object ids (`tag`), usable wherever a resource id is.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Tag",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "ptag",
    category = "pacer",
    doc = "A Pacemaker tag (CIB <tag>): a name for a list of resources.",
    printcolumn(name = "References", type_ = "string", json_path = ".spec.references"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Tagged object ids (`obj_ref`).
    pub references: Vec<String>,
}

/// One fencing level: try these devices (all of them) for the target at this index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[x_kube(validation = Rule::new("[has(self.target), has(self.targetPattern), has(self.targetAttribute)].filter(x, x).size() == 1").message("give exactly one of target, targetPattern or targetAttribute (with targetValue)"))]
#[x_kube(validation = Rule::new("has(self.targetAttribute) == has(self.targetValue)").message("targetAttribute and targetValue go together"))]
pub struct FencingLevel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Level order: lower indexes are tried first.
    #[schemars(range(min = 1, max = 9))]
    pub index: i64,
    /// Node name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Regular expression over node names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_pattern: Option<String>,
    /// Node attribute name (with `targetValue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_value: Option<String>,
    /// Fencing device (stonith Primitive) CIB ids.
    #[x_kube(validation = Rule::new("self.size() > 0").message("a fencing level needs at least one device"))]
    pub devices: Vec<String>,
}

/// The order in which fencing devices are tried per node (`fencing-topology`).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "FencingTopology",
    plural = "fencingtopologies",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "fencetopo",
    category = "pacer",
    doc = "Pacemaker fencing topology (CIB <fencing-topology>): fencing levels per target; one per namespace.",
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FencingTopologySpec {
    pub levels: Vec<FencingLevel>,
}

/// A recipient of an alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertRecipient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// An alert agent called on cluster events (`alert`).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Alert",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "palert",
    category = "pacer",
    doc = "A Pacemaker alert (CIB <alert>): an agent run on cluster events.",
    printcolumn(name = "Path", type_ = "string", json_path = ".spec.path"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<AlertRecipient>,
}
