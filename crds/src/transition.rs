//! Decision kinds written by the DC (and, for fencing, by the executing node's agent):
//! `Transition` (one scheduler run: the actions to take, their ordering, the inputs they
//! were computed from, and how far execution got) and `FencingHistory` (the outcome of one
//! fence action).
//!
//! See docs/protocol.md: the DC stores `t-<seq>`, sets `status.actions[id].state` to
//! `Dispatched` once all predecessors are confirmed, each agent executes the dispatched
//! actions of its node and records the result in its NodeState under the transition key
//! `"t-<seq>:<id>"`; the DC matches results by that key.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::resources::ParamFromSecret;

/// The resource agent an action runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentRef {
    /// ocf, lsb, systemd, service, stonith.
    pub class: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(rename = "type")]
    pub type_: String,
}

/// One action of a transition graph.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransitionAction {
    /// Index in the graph; the transition key of the action is `"<transition>:<id>"`.
    pub id: i64,
    /// start, stop, monitor, promote, demote, migrate_to, migrate_from, clear_failcount,
    /// fence.
    pub task: String,
    /// Resource CIB id (clone instances carry `:N`); absent for fencing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The node the action runs on; for `fence` the node to fence (the target).
    pub node: String,
    /// For `fence`: the healthy node whose agent runs the fencing device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
    /// For `fence`: off, reboot or on (stonith-action).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence_action: Option<String>,
    /// Monitor interval in milliseconds (0 for one-shot actions and probes).
    #[serde(default)]
    pub interval_ms: i64,
    /// How long the DC waits for the result before it counts the action as timed out.
    pub timeout_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRef>,
    /// Resolved agent parameters (never secret values).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    /// Parameters the agent reads from Secrets when it runs the action.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params_from: Vec<ParamFromSecret>,
    /// Meta attributes passed to the agent as `OCF_RESKEY_CRM_meta_*` (clone variables, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meta: BTreeMap<String, String>,
    /// The OCF exit code that counts as success (7 for probes, 8 for promoted monitors).
    pub expected_rc: i64,
    /// Ids of the actions that must be confirmed before this one is dispatched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<i64>,
}

/// One scheduler run that produced actions (`t-<seq>`). Written by the DC only.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "Transition",
    namespaced,
    status = "TransitionStatus",
    shortname = "tr",
    category = "pacer",
    doc = "A transition graph computed by the DC from a CIB snapshot (Pacemaker pe-input + graph): actions, ordering, inputs and execution state.",
    printcolumn(name = "Seq", type_ = "integer", json_path = ".spec.seq"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Actions", type_ = "integer", json_path = ".status.total"),
    printcolumn(name = "Confirmed", type_ = "integer", json_path = ".status.confirmed"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TransitionSpec {
    /// Increases by one per transition; the highest is the current one.
    pub seq: i64,
    /// The DC instance that computed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<String>,
    pub actions: Vec<TransitionAction>,
    /// `Kind/name` → resourceVersion of every configuration object the scheduler read,
    /// plus `membership` (the node states fed in) and `attributes` (a digest of transient
    /// node attributes): a change of any of them aborts the transition.
    /// Atomic for server-side apply: the API server then tracks it as one field, not
    /// one per object (600 keys cost ~11 ms per Transition stored).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("x-kubernetes-map-type" = "atomic"))]
    pub inputs: BTreeMap<String, String>,
    /// crm_simulate-style "Transition Summary" lines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summary: Vec<String>,
}

/// Execution state of one action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransitionActionStatus {
    /// Pending, Dispatched, Confirmed, Failed, TimedOut.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Time>,
    /// The OCF exit code found in the node's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rc: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How far a transition got. Written by the DC only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct TransitionStatus {
    /// Running, Complete, Aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Why it was aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Action id (as a string) → state. Actions not listed are Pending.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, TransitionActionStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<Time>,
}

/// The outcome of one fence action (`FencingHistory/<target>-<seq>`), written by the agent
/// of the executing node, read by the DC.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema, Default)]
#[kube(
    group = "ha.pacer.dev",
    version = "v1alpha1",
    kind = "FencingHistory",
    plural = "fencinghistories",
    namespaced,
    shortname = "fencehist",
    category = "pacer",
    doc = "The outcome of one fencing action (the CIB-side stonith history, stonith_admin --history): target, executor, device, result.",
    printcolumn(name = "Target", type_ = "string", json_path = ".spec.target"),
    printcolumn(name = "Action", type_ = "string", json_path = ".spec.action"),
    printcolumn(name = "Result", type_ = "string", json_path = ".spec.result"),
    printcolumn(name = "Executor", type_ = "string", json_path = ".spec.executor"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FencingHistorySpec {
    /// The node fenced.
    pub target: String,
    /// off, reboot, on.
    pub action: String,
    /// The node whose agent ran the device.
    pub executor: String,
    /// `"<transition>:<action id>"` of the fence action this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_key: Option<String>,
    /// Fencing device(s) used (stonith Primitive CIB ids).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// success, failed, pending.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the target was confirmed off (result success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<Time>,
}
