//! Status subresources the operator fills in: where a resource runs and in which role, its
//! failures, and cluster-wide facts (DC, quorum, last transition). Users never write these.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The last failed action of a resource, as `crm_mon` lists under "Failed Resource Actions".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FailedAction {
    /// e.g. `monitor_10000`.
    pub operation: String,
    pub node: String,
    /// OCF exit code (rc-code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rc: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
}

/// Status of a Primitive, Group, Clone or Bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// Node the resource runs on (single-instance resources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Nodes with an active instance (clones, bundles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// Nodes where a promotable clone is promoted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promoted: Vec<String>,
    /// Started, Stopped, Promoted, Unpromoted, Starting, Stopping, Failed, Unmanaged, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Sum of fail-count over all nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failed_action: Option<FailedAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last `resource cleanup` request the DC carried out (annotation
    /// `ha.pacer.dev/cleanup`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_cleanup: Option<CleanupStatus>,
}

/// A handled cleanup request (`crm_resource --cleanup`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct CleanupStatus {
    /// The request, as in the annotation.
    pub request: String,
    /// The Transition whose `cleanup` actions forgot the failures; none when no online
    /// node had failures of this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<String>,
    /// Nodes whose failures were forgotten.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
}

/// Status of a constraint: whether the operator could apply it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Valid` (False with a reason when it names unknown resources, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Cluster-wide status on the ClusterProperties object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    /// The node whose operator instance holds the lease (Designated Controller).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<bool>,
    /// When the last transition finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition: Option<Time>,
    /// Number of the last transition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_id: Option<i64>,
    /// Configuration warnings/errors (crm_verify-style), one per message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_messages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// Status of a ClusterNode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClusterNodeStatus {
    /// online, offline, standby, maintenance, pending, unclean.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    /// Resources active on the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<i64>,
    /// Fencing devices that can fence this node (from the FencingTopology or device scans).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fencing_devices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fenced: Option<Time>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
