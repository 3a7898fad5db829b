//! Resource kinds: `Primitive` (CIB `primitive`, including fencing devices with class
//! `stonith`), `ResourceTemplate` (`template`), `Group`, `Clone` (`clone`, promotable clones
//! and the legacy `master`) and `Bundle`.
//!
//! Each is its own object; containers refer to their members by CIB id (`members`,
//! `resource`, `primitive`) so the exporter can nest them back as the CIB does.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    common::{AttributeSet, Attributes, Interval, SecretKeyRef},
    status::ResourceStatus,
};

/// A resource operation (`op`): monitor/start/stop/promote/... with its timing and failure
/// policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Operation {
    /// CIB id; defaults to `<resource>-<name>-<interval>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Action name: monitor, start, stop, promote, demote, notify, migrate_to, ...
    pub name: String,
    /// 0 for one-shot actions; recurring monitors need a non-zero interval.
    pub interval: Interval,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Interval>,
    /// Restrict a monitor to a role (Promoted, Unpromoted, Started, Stopped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// What to do when this action fails: ignore, block, stop, restart, standby, fence, demote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ignore", "block", "stop", "restart", "standby", "fence", "demote"]))]
    pub on_fail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<Interval>,
    /// Anchor time for recurring operations (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_origin: Option<String>,
    /// Record the operation as pending while it runs (`record-pending`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_pending: Option<bool>,
    /// `false` disables this (recurring) operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Operation instance attributes (e.g. OCF_CHECK_LEVEL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub param_sets: Vec<AttributeSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
}

/// A parameter whose value comes from a Kubernetes Secret (credentials never live in a spec).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ParamFromSecret {
    /// The agent parameter name, e.g. `password` or `passwd`.
    pub name: String,
    pub secret_key_ref: SecretKeyRef,
}

const NO_PASSWORDS_MSG: &str = "credentials must not be in the spec: remove the password/passwd parameter (any name containing \"passw\") and reference a Secret with paramsFrom: [{name: passwd, secretKeyRef: {name: <secret>, key: <key>}}]";

/// A primitive resource (`primitive`): one resource agent instance. Fencing devices are
/// primitives with `class: stonith`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Primitive",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ResourceStatus",
    shortname = "prim",
    shortname = "rsc",
    category = "pacer",
    doc = "A Pacemaker primitive resource (CIB <primitive>): a resource agent instance; fencing devices use class stonith.",
    printcolumn(name = "Class", type_ = "string", json_path = ".spec.class"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "Role", type_ = "string", json_path = ".status.role"),
    printcolumn(name = "Node", type_ = "string", json_path = ".status.node"),
    printcolumn(name = "Failures", type_ = "integer", json_path = ".status.failCount"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("has(self.spec.type) || has(self.spec.template)").message("a Primitive needs spec.type (the resource agent, e.g. IPaddr2) or spec.template"),
    validation = Rule::new("!has(self.spec.template) || !has(self.spec.type)").message("give either spec.template or spec.class/provider/type, not both"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrimitiveSpec {
    /// CIB id when it differs from metadata.name (CIB ids may be any XML id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Agent standard: ocf, lsb, systemd, service, stonith, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// OCF provider, e.g. heartbeat or pacemaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Agent name, e.g. IPaddr2, Dummy, fence_ipmilan.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Take class/provider/type and defaults from this ResourceTemplate (by CIB id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Agent parameters (the first, unconditional `instance_attributes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("!self.exists(k, k.lowerAscii().contains('passw'))").message(NO_PASSWORDS_MSG))]
    pub params: Option<Attributes>,
    /// Further (rule-conditioned, scored or id-referenced) `instance_attributes` sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(validation = Rule::new("!self.exists(s, has(s.values) && s.values.exists(v, has(v.name) && v.name.lowerAscii().contains('passw') && has(v.value)))").message(NO_PASSWORDS_MSG))]
    pub param_sets: Vec<AttributeSet>,
    /// Parameters read from Secrets when the agent runs; never written into the spec or CIB
    /// status.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params_from: Vec<ParamFromSecret>,
    /// Meta attributes: target-role, is-managed, resource-stickiness, migration-threshold, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
    /// Capacity this resource uses (compared against node utilization).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utilization_sets: Vec<AttributeSet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
    /// CIB id of the `operations` element, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_id: Option<String>,
    /// Use the operations defined under this id elsewhere (`operations id-ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_ref: Option<String>,
}

/// A resource template (`template`): class/provider/type plus defaults that primitives
/// reference with `spec.template`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "ResourceTemplate",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "rsctpl",
    category = "pacer",
    doc = "A Pacemaker resource template (CIB <template>) that primitives can reference.",
    printcolumn(name = "Class", type_ = "string", json_path = ".spec.class"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceTemplateSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("!self.exists(k, k.lowerAscii().contains('passw'))").message(NO_PASSWORDS_MSG))]
    pub params: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub param_sets: Vec<AttributeSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utilization_sets: Vec<AttributeSet>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations_ref: Option<String>,
}

/// A group (`group`): primitives started in order and kept on one node.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Group",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ResourceStatus",
    shortname = "grp",
    category = "pacer",
    doc = "A Pacemaker group (CIB <group>): ordered, colocated primitives.",
    printcolumn(name = "Members", type_ = "string", json_path = ".spec.members"),
    printcolumn(name = "Role", type_ = "string", json_path = ".status.role"),
    printcolumn(name = "Node", type_ = "string", json_path = ".status.node"),
    printcolumn(name = "Failures", type_ = "integer", json_path = ".status.failCount"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Member primitives by CIB id, in start order.
    #[x_kube(validation = Rule::new("self.size() > 0").message("a Group needs at least one member"))]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
    /// Instance attributes inherited by the members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub param_sets: Vec<AttributeSet>,
}

/// A clone (`clone`), a promotable clone (`promotable: true`), or a legacy `master`.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Clone",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ResourceStatus",
    shortname = "cln",
    category = "pacer",
    doc = "A Pacemaker clone (CIB <clone>, or legacy <master>): copies of a primitive or group on several nodes; promotable clones have a promoted role.",
    printcolumn(name = "Resource", type_ = "string", json_path = ".spec.resource"),
    printcolumn(name = "Promotable", type_ = "boolean", json_path = ".spec.promotable"),
    printcolumn(name = "Running", type_ = "string", json_path = ".status.nodes"),
    printcolumn(name = "Promoted", type_ = "string", json_path = ".status.promoted"),
    printcolumn(name = "Failures", type_ = "integer", json_path = ".status.failCount"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.promotedMax) || !has(self.spec.cloneMax) || self.spec.promotedMax <= self.spec.cloneMax").message("spec.promotedMax must not exceed spec.cloneMax"),
    validation = Rule::new("!has(self.spec.promotedNodeMax) || !has(self.spec.cloneNodeMax) || self.spec.promotedNodeMax <= self.spec.cloneNodeMax").message("spec.promotedNodeMax must not exceed spec.cloneNodeMax"),
    validation = Rule::new("(!has(self.spec.promotedMax) && !has(self.spec.promotedNodeMax)) || (has(self.spec.promotable) && self.spec.promotable) || (has(self.spec.legacyMaster) && self.spec.legacyMaster)").message("promotedMax/promotedNodeMax need promotable: true"),
    validation = Rule::new("!has(self.spec.meta) || !['clone-max', 'clone-node-max', 'promoted-max', 'promoted-node-max', 'interleave', 'ordered', 'globally-unique', 'notify', 'promotable'].exists(k, k in self.spec.meta)").message("set clone options with the typed fields (cloneMax, interleave, ...), not in spec.meta"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloneSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cloned Primitive or Group, by CIB id.
    pub resource: String,
    /// Instances may be promoted (the former master/slave resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotable: Option<bool>,
    /// How many instances in total (`clone-max`, default: number of nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub clone_max: Option<i64>,
    /// Instances per node (`clone-node-max`, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub clone_node_max: Option<i64>,
    /// Promoted instances in total (`promoted-max`, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub promoted_max: Option<i64>,
    /// Promoted instances per node (`promoted-node-max`, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub promoted_node_max: Option<i64>,
    /// Depend only on the local instance of clones this one is ordered/colocated with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interleave: Option<bool>,
    /// Start instances one after another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ordered: Option<bool>,
    /// Instances are distinct (e.g. a ClusterIP hash bucket each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub globally_unique: Option<bool>,
    /// Send notify actions before/after instance changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<bool>,
    /// Imported from a legacy `<master>` element: exported back as `<master>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_master: Option<bool>,
    /// Other meta attributes (target-role, resource-stickiness, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub param_sets: Vec<AttributeSet>,
}

/// The container engine of a bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleContainer {
    /// `docker`, `podman` or `rkt` (the CIB element name).
    #[schemars(extend("enum" = ["docker", "podman", "rkt"]))]
    pub runtime: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas_per_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_max: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_command: Option<String>,
}

/// A bundle's network (`network`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleNetwork {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_netmask: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_host: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<BundlePortMapping>,
}

/// `port-mapping`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundlePortMapping {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_port: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
}

/// `storage-mapping`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleStorageMapping {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dir_root: Option<String>,
    pub target_dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// A bundle (`bundle`): containers, optionally running a primitive inside each.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Bundle",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ResourceStatus",
    shortname = "bdl",
    category = "pacer",
    doc = "A Pacemaker bundle (CIB <bundle>): container replicas with an optional primitive inside.",
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.container.image"),
    printcolumn(name = "Primitive", type_ = "string", json_path = ".spec.primitive"),
    printcolumn(name = "Running", type_ = "string", json_path = ".status.nodes"),
    printcolumn(name = "Failures", type_ = "integer", json_path = ".status.failCount"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub container: BundleContainer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<BundleNetwork>,
    /// Storage mappings; `None` means no `storage` element, `Some([])` an empty one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Vec<BundleStorageMapping>>,
    /// The Primitive run in each replica, by CIB id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primitive: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_sets: Vec<AttributeSet>,
}
