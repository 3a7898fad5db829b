//! Between the executor's [`NodeHistory`] and the API's `NodeState` (pacer-crds): the
//! history in, the `lrm` section and transient attributes out, shaped like the CIB's
//! `lrm_rsc_op` entries (times in epoch seconds, durations in ms, codes as strings);
//! and back, so a restarted agent can rebuild its history from its last published
//! NodeState ([`crate::history::rebuild`] then adds fresh probes).

use jiff::Timestamp;
use pacer_crds::nodes::{Lrm, LrmOperation, LrmResource, NodeStateSpec, TransientAttributes};
use std::collections::BTreeMap;

use crate::{
    history::{FailCount, NodeHistory, OpRecord, ResourceHistory},
    op::{Agent, OpStatus},
};

fn op_to_crd(rec: &OpRecord, node: &str) -> LrmOperation {
    LrmOperation {
        id: rec.id.clone(),
        operation: rec.operation.clone(),
        operation_key: Some(rec.op_key.clone()),
        interval: Some(rec.interval_ms.to_string()),
        call_id: Some(rec.call_id.to_string()),
        rc_code: Some(rec.rc.to_string()),
        op_status: Some(rec.status.code().to_string()),
        exit_reason: rec.exit_reason.clone(),
        last_run: Some(rec.last_run.as_second().to_string()),
        last_rc_change: Some(rec.last_rc_change.as_second().to_string()),
        exec_time: Some(rec.exec_time_ms.to_string()),
        queue_time: Some(rec.queue_time_ms.to_string()),
        transition_key: rec.transition_key.clone(),
        transition_magic: rec.transition_magic(),
        op_digest: Some(rec.op_digest.clone()),
        op_force_restart: rec.force_restart.clone(),
        op_restart_digest: rec.restart_digest.clone(),
        op_secure_params: rec.secure_params.clone(),
        op_secure_digest: rec.secure_digest.clone(),
        on_node: Some(node.to_string()),
        ..LrmOperation::default()
    }
}

fn agent_fields(agent: &Agent) -> (String, Option<String>, String) {
    match agent {
        Agent::Ocf { provider, kind } => ("ocf".into(), Some(provider.clone()), kind.clone()),
        Agent::Lsb { kind } => ("lsb".into(), None, kind.clone()),
        Agent::Systemd { kind } => ("systemd".into(), None, kind.clone()),
        Agent::Stonith { kind } => ("stonith".into(), None, kind.clone()),
        Agent::Pacer { kind } => ("pacer".into(), None, kind.clone()),
    }
}

/// The `lrm` section for this node's NodeState.
pub fn to_lrm(history: &NodeHistory, node: &str) -> Lrm {
    let resources = history
        .resources
        .iter()
        .map(|(id, r)| {
            let (class, provider, kind) = agent_fields(&r.agent);
            let operations = r
                .last
                .iter()
                .chain(&r.last_failure)
                .chain(r.recurring.values())
                .map(|rec| op_to_crd(rec, node))
                .collect();
            LrmResource {
                id: id.clone(),
                class: Some(class),
                provider,
                type_: Some(kind),
                operations,
                ..LrmResource::default()
            }
        })
        .collect();
    Lrm {
        id: Some(node.to_string()),
        resources,
        ..Lrm::default()
    }
}

/// Transient attributes (fail-count-*, last-failure-*) merged over `others` (attributes
/// the agent does not own, e.g. pingd), which are kept.
pub fn to_transient_attributes(
    history: &NodeHistory,
    others: &BTreeMap<String, String>,
) -> TransientAttributes {
    let mut attrs: BTreeMap<String, String> = others
        .iter()
        .filter(|(k, _)| !k.starts_with("fail-count-") && !k.starts_with("last-failure-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    attrs.extend(history.transient_attributes());
    TransientAttributes {
        attributes: (!attrs.is_empty()).then_some(attrs),
        ..TransientAttributes::default()
    }
}

/// A NodeState spec for a node that is up and running its agent.
pub fn node_state_spec(
    history: &NodeHistory,
    node: &str,
    node_id: Option<&str>,
    other_attributes: &BTreeMap<String, String>,
) -> NodeStateSpec {
    NodeStateSpec {
        id: Some(node_id.unwrap_or(node).to_string()),
        uname: Some(node.to_string()),
        in_ccm: Some("true".into()),
        crmd: Some("online".into()),
        join: Some("member".into()),
        expected: Some("member".into()),
        crm_debug_origin: Some("pacer-agent".into()),
        lrm: Some(to_lrm(history, node)),
        transient_attributes: Some(to_transient_attributes(history, other_attributes)),
        ..NodeStateSpec::default()
    }
}

fn parse_i<T: std::str::FromStr>(v: &Option<String>) -> Option<T> {
    v.as_deref().and_then(|s| s.trim().parse().ok())
}

fn status_from_code(code: i32) -> OpStatus {
    match code {
        -1 => OpStatus::Pending,
        0 => OpStatus::Done,
        1 => OpStatus::Cancelled,
        2 => OpStatus::Timeout,
        3 => OpStatus::NotSupported,
        5 => OpStatus::ErrorHard,
        6 => OpStatus::ErrorFatal,
        7 => OpStatus::NotInstalled,
        _ => OpStatus::Error,
    }
}

fn op_from_crd(op: &LrmOperation) -> OpRecord {
    let ts = |v: &Option<String>| {
        parse_i::<i64>(v)
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or(Timestamp::UNIX_EPOCH)
    };
    let interval_ms = parse_i::<u64>(&op.interval).unwrap_or(0);
    // target rc is the third field of the transition key.
    let expected_rc = op
        .transition_key
        .as_deref()
        .and_then(|k| k.split(':').nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    OpRecord {
        id: op.id.clone(),
        operation: op.operation.clone(),
        op_key: op.operation_key.clone().unwrap_or_default(),
        interval_ms,
        call_id: parse_i(&op.call_id).unwrap_or(-1),
        rc: parse_i(&op.rc_code).unwrap_or(crate::history::RC_PENDING),
        status: status_from_code(parse_i(&op.op_status).unwrap_or(4)),
        expected_rc,
        exit_reason: op.exit_reason.clone().filter(|r| !r.is_empty()),
        last_run: ts(&op.last_run),
        last_rc_change: ts(&op.last_rc_change),
        exec_time_ms: parse_i(&op.exec_time).unwrap_or(0),
        queue_time_ms: parse_i(&op.queue_time).unwrap_or(0),
        op_digest: op.op_digest.clone().unwrap_or_default(),
        secure_params: op.op_secure_params.clone(),
        secure_digest: op.op_secure_digest.clone(),
        force_restart: op.op_force_restart.clone(),
        restart_digest: op.op_restart_digest.clone(),
        transition_key: op.transition_key.clone(),
    }
}

/// Reads a published NodeState back into a history snapshot. Resources with an agent
/// this build cannot name are skipped (they will be probed again).
pub fn from_node_state(spec: &NodeStateSpec) -> NodeHistory {
    let mut history = NodeHistory::default();
    for r in spec.lrm.iter().flat_map(|l| &l.resources) {
        let Ok(agent) = Agent::parse(
            r.class.as_deref().unwrap_or(""),
            r.provider.as_deref(),
            r.type_.as_deref().unwrap_or(""),
        ) else {
            continue;
        };
        let mut rh = ResourceHistory {
            agent,
            last: None,
            last_failure: None,
            recurring: BTreeMap::new(),
        };
        for op in &r.operations {
            let rec = op_from_crd(op);
            if rec.id.ends_with("_last_failure_0") {
                rh.last_failure = Some(rec);
            } else if rec.interval_ms > 0 {
                rh.recurring.insert(rec.op_key.clone(), rec);
            } else {
                rh.last = Some(rec);
            }
        }
        history.resources.insert(r.id.clone(), rh);
    }
    let attrs = spec
        .transient_attributes
        .as_ref()
        .and_then(|t| t.attributes.clone())
        .unwrap_or_default();
    for (k, v) in &attrs {
        let Some(key) = k.strip_prefix("fail-count-") else {
            continue;
        };
        let count = v
            .parse::<u32>()
            .unwrap_or(if v == "INFINITY" { u32::MAX } else { 0 });
        let last = attrs
            .get(&format!("last-failure-{key}"))
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|s| Timestamp::from_second(s).ok())
            .unwrap_or(Timestamp::UNIX_EPOCH);
        history.fail_counts.insert(
            key.to_string(),
            FailCount {
                count,
                last_failure: last,
            },
        );
    }
    history.last_call_id = history
        .resources
        .values()
        .flat_map(|r| {
            r.last
                .iter()
                .chain(&r.last_failure)
                .chain(r.recurring.values())
        })
        .map(|r| r.call_id)
        .max()
        .unwrap_or(0);
    history
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{ActionRequest, ActionResult};
    use std::time::Duration;

    #[test]
    fn history_survives_a_trip_through_node_state() {
        let t = |s: i64| Timestamp::from_second(1_700_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH);
        let dummy =
            Agent::parse("ocf", Some("heartbeat"), "Dummy").unwrap_or_else(|e| panic!("{e}"));
        let mut h = NodeHistory::default();
        let mut start = ActionRequest::new("d", dummy.clone(), "start").param("state", "/x");
        start.transition_key = Some("7:3:0:4a0c-uuid".into());
        h.complete_with(
            &start,
            &ActionResult::ok(),
            t(0),
            Some(&["state".to_string()]),
        );
        let mon = ActionRequest::new("d", dummy.clone(), "monitor")
            .interval(Duration::from_secs(10))
            .param("state", "/x");
        h.complete(&mon, &ActionResult::ok(), t(1));
        let failed = ActionResult {
            rc: 7,
            exit_reason: Some("No process state file found".into()),
            ..ActionResult::ok()
        };
        h.complete(&mon, &failed, t(2));
        let fence =
            Agent::parse("stonith", None, "fence_ipmilan").unwrap_or_else(|e| panic!("{e}"));
        h.complete(
            &ActionRequest::new("f", fence, "start"),
            &ActionResult::ok(),
            t(3),
        );

        let mut others = BTreeMap::new();
        others.insert("pingd".to_string(), "100".to_string());
        others.insert("fail-count-stale#start_0".to_string(), "3".to_string());
        let spec = node_state_spec(&h, "n1", None, &others);
        let attrs = spec
            .transient_attributes
            .as_ref()
            .and_then(|t| t.attributes.clone())
            .unwrap_or_default();
        assert_eq!(attrs.get("pingd").map(String::as_str), Some("100"));
        assert!(
            !attrs.contains_key("fail-count-stale#start_0"),
            "fail counts are ours"
        );
        assert_eq!(
            attrs.get("fail-count-d#monitor_10000").map(String::as_str),
            Some("1")
        );

        let lrm = spec.lrm.clone().unwrap_or_default();
        let d = lrm
            .resources
            .iter()
            .find(|r| r.id == "d")
            .unwrap_or_else(|| panic!("d"));
        assert_eq!(d.provider.as_deref(), Some("heartbeat"));
        let last = d
            .operations
            .iter()
            .find(|o| o.id == "d_last_0")
            .unwrap_or_else(|| panic!("last"));
        assert_eq!(
            last.transition_magic.as_deref(),
            Some("0:0;7:3:0:4a0c-uuid")
        );
        assert_eq!(last.op_force_restart.as_deref(), Some(" state "));
        assert_eq!(last.op_restart_digest, last.op_digest);
        let mon_op = d
            .operations
            .iter()
            .find(|o| o.id == "d_monitor_10000")
            .unwrap_or_else(|| panic!("monitor"));
        assert_eq!(mon_op.rc_code.as_deref(), Some("7"));
        assert_eq!(mon_op.op_status.as_deref(), Some("4"));
        assert_eq!(mon_op.interval.as_deref(), Some("10000"));

        let back = from_node_state(&spec);
        assert_eq!(back, h, "NodeState must carry the whole history");
    }
}
