//! Node kinds: `ClusterNode` (CIB `configuration/nodes/node`: what the administrator
//! declares) and `NodeState` / `TicketState` (CIB `status`: what happened).
//!
//! NodeState is the CIB `node_state` of one node: membership, the resource operation
//! history (`lrm`) and transient attributes (fail-count, last-failure, pingd, master-*).
//! Only the pacer agent of that node writes it: the ValidatingAdmissionPolicy in
//! deploy/rbac/agent-own-node-policy.yaml admits an agent's write only when the object's
//! name (and `spec.uname`, when given) is the agent's own node, and the operator only reads
//! NodeStates. This mirrors
//! Pacemaker, where each node's controller owns its own `node_state`.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    common::{AttributeSet, Attributes, Score},
    status::ClusterNodeStatus,
};

/// A cluster node (`node`): its identity, type, attributes and utilization.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "ClusterNode",
    namespaced,
    derive = "PartialEq",
    cel,
    status = "ClusterNodeStatus",
    shortname = "cnode",
    category = "pacer",
    doc = "A Pacemaker cluster node (CIB <node>): id, uname, type, attributes (standby, maintenance, ...) and utilization.",
    printcolumn(name = "ID", type_ = "string", json_path = ".spec.id"),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "State", type_ = "string", json_path = ".status.state"),
    printcolumn(name = "Standby", type_ = "boolean", json_path = ".spec.standby"),
    printcolumn(name = "Resources", type_ = "integer", json_path = ".status.resources"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("!has(self.spec.standby) || !has(self.spec.attributes) || !('standby' in self.spec.attributes)").message("set standby with spec.standby, not in spec.attributes"),
    validation = Rule::new("!has(self.spec.maintenance) || !has(self.spec.attributes) || !('maintenance' in self.spec.attributes)").message("set maintenance with spec.maintenance, not in spec.attributes"),
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNodeSpec {
    /// The node id (corosync nodeid or uuid); defaults to metadata.name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The node name (hostname); defaults to metadata.name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uname: Option<String>,
    /// member (default), remote or ping.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["member", "remote", "ping", "normal"]))]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Deprecated node score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// No resources may run here (`standby` node attribute: on/off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<bool>,
    /// Resources here are not managed or monitored (`maintenance` node attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<bool>,
    /// Other node attributes (the first, unconditional `instance_attributes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    /// Further (rule-conditioned, scored) attribute sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_sets: Vec<AttributeSet>,
    /// Capacity of the node (cpu, memory, ...), see placement-strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utilization: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utilization_sets: Vec<AttributeSet>,
}

/// One entry of a node's operation history (`lrm_rsc_op`). A pending operation has
/// `callId: "-1"` and `opStatus: "-1"` (record-pending).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LrmOperation {
    pub id: String,
    /// start, stop, monitor, promote, demote, migrate_to, migrate_from, notify, ...
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_key: Option<String>,
    /// Interval in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// OCF exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rc_code: Option<String>,
    /// Execution status (0 done, -1 pending, 1 cancelled, 2 timed out, 4 error, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rc_change: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_magic: Option<String>,
    /// Digest of the parameters the operation ran with (a change forces a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_force_restart: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_restart_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_secure_params: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_secure_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_feature_set: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_debug_origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_from: Option<String>,
    /// Pre-1.1 spellings (`last_run`, `last_rc_change`, `exec_time`, `queue_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_last_run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_last_rc_change: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_exec_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_queue_time: Option<String>,
}

/// A resource's history on one node (`lrm_resource`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LrmResource {
    /// Resource CIB id (with `:N` for anonymous clone instances).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_lock: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<LrmOperation>,
}

/// The executor history of a node (`lrm`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Lrm {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Id of the `lrm_resources` element, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_id: Option<String>,
    /// `false` when the `lrm` element had no `lrm_resources` child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_resources: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<LrmResource>,
}

/// Transient node attributes (`transient_attributes`): fail-count-*, last-failure-*,
/// pingd, master-*, shutdown, ...
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransientAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<Attributes>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attribute_sets: Vec<AttributeSet>,
}

/// The CIB status of one node (`node_state`). Written only by that node's agent.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "NodeState",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "nstate",
    category = "pacer",
    doc = "A Pacemaker node_state (CIB <status>): membership, operation history and transient attributes of one node; written only by that node's agent.",
    printcolumn(name = "Uname", type_ = "string", json_path = ".spec.uname"),
    printcolumn(name = "Member", type_ = "string", json_path = ".spec.inCcm"),
    printcolumn(name = "Controller", type_ = "string", json_path = ".spec.crmd"),
    printcolumn(name = "Join", type_ = "string", json_path = ".spec.join"),
    printcolumn(name = "Expected", type_ = "string", json_path = ".spec.expected"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodeStateSpec {
    /// Node id (as in ClusterNode.spec.id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Node name; defaults to metadata.name. Empty means the node_state has no uname yet
    /// (a node seen by membership before it joined).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<String>,
    /// Cluster membership: `true`/`false` or the time it joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_ccm: Option<String>,
    /// Controller process: `online`/`offline` or the time it came up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crmd: Option<String>,
    /// member, down, pending, banned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_debug_origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clear_shutdown: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_fenced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_in_maintenance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lrm: Option<Lrm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_attributes: Option<TransientAttributes>,
}

/// The state of a cluster ticket (`ticket_state` in the CIB status).
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "TicketState",
    namespaced,
    derive = "PartialEq",
    cel,
    shortname = "tktstate",
    category = "pacer",
    doc = "The state of a Pacemaker ticket (CIB <ticket_state>): granted or not, standby.",
    printcolumn(name = "Granted", type_ = "string", json_path = ".spec.granted"),
    printcolumn(name = "Standby", type_ = "string", json_path = ".spec.standby"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TicketStateSpec {
    /// Ticket name when it differs from metadata.name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_granted: Option<String>,
}
