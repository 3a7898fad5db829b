//! Status users read with kubectl: the scheduler's view of the cluster (unpacked from the
//! node histories), the NodeStates and the running transition in; one `ResourceStatus`
//! per Primitive/Group/Clone (where it runs, role, fail count, last failed action,
//! conditions Ready/Managed/Failed with reasons) and the `ClusterStatus` out.
//!
//! Pure: the controller writes the results with server-side apply (field manager
//! `pacer-operator`) and only when they differ from what is stored.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use pacer_crds::{FailedAction, LrmOperation, ResourceStatus};
use pacer_scheduler::model::{Cluster, Role};

use crate::{
    cib::Object,
    index::Index,
    transition::{Engine, State},
};

/// The CIB id of a resource object (spec.id, else metadata.name).
pub fn cib_id(o: &Object) -> Option<String> {
    match o {
        Object::Primitive(p) => Some(p.spec.id.clone().unwrap_or_else(|| p.name_any())),
        Object::Group(g) => Some(g.spec.id.clone().unwrap_or_else(|| g.name_any())),
        Object::Clone(c) => Some(c.spec.id.clone().unwrap_or_else(|| c.name_any())),
        _ => None,
    }
}

pub fn current(o: &Object) -> Option<ResourceStatus> {
    match o {
        Object::Primitive(p) => p.status.clone(),
        Object::Group(g) => g.status.clone(),
        Object::Clone(c) => c.status.clone(),
        _ => None,
    }
}

fn generation(o: &Object) -> Option<i64> {
    o.to_json()
        .ok()
        .and_then(|v| v.pointer("/metadata/generation").and_then(|g| g.as_i64()))
}

/// Status of every Primitive, Group and Clone, keyed by (kind, metadata.name).
pub fn derive(
    cl: &Cluster,
    index: &Index,
    engine: Option<&Engine>,
    now: &Time,
) -> BTreeMap<(&'static str, String), ResourceStatus> {
    let mut out = BTreeMap::new();
    let in_flight: BTreeMap<&str, &str> = engine
        .map(|e| {
            e.actions
                .iter()
                .zip(&e.runs)
                .filter(|(_, r)| r.state == State::Dispatched)
                .filter_map(|(a, _)| a.resource.as_deref().map(|r| (r, a.task.as_str())))
                .collect()
        })
        .unwrap_or_default();
    for o in index.config.values() {
        let Some(id) = cib_id(o) else { continue };
        // Every primitive this object stands for (a group's members, a clone's instances).
        let roots: Vec<usize> = (0..cl.resources.len())
            .filter(|&r| cl.resources[r].config_id == id)
            .collect();
        if roots.is_empty() {
            continue;
        }
        let prims: BTreeSet<usize> = roots.iter().flat_map(|&r| cl.primitives_of(r)).collect();
        let cloned = roots.iter().any(|&r| cl.clone_of(r).is_some());
        let mut active: Vec<(String, Role)> = Vec::new();
        let mut failed = false;
        let mut managed = true;
        let mut fail_count = 0;
        let mut busy: Option<&str> = None;
        for &p in &prims {
            let res = &cl.resources[p];
            managed &= res.managed;
            for s in &res.status {
                failed |= s.failed;
                if s.role.is_active() {
                    active.push((cl.nodes[s.node].name.clone(), s.role));
                }
            }
            fail_count += cl
                .failcounts
                .iter()
                .filter(|((r, _), _)| *r == p)
                .map(|(_, (c, _))| *c)
                .sum::<i64>();
            // Anonymous clone actions name the base id (see plan.rs).
            if let Some(t) = in_flight
                .get(res.id.as_str())
                .or_else(|| in_flight.get(res.config_id.as_str()))
            {
                busy = Some(t);
            }
        }
        let nodes: Vec<String> = active
            .iter()
            .map(|(n, _)| n.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let promoted: Vec<String> = active
            .iter()
            .filter(|(_, r)| *r == Role::Promoted)
            .map(|(n, _)| n.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let role = match busy {
            Some("start") | Some("migrate_from") => "Starting",
            Some("stop") | Some("migrate_to") => "Stopping",
            Some("promote") => "Promoting",
            Some("demote") => "Demoting",
            _ if failed => "Failed",
            _ if !managed => "Unmanaged",
            _ if !promoted.is_empty() && !cloned => "Promoted",
            _ if active.iter().any(|(_, r)| *r == Role::Unpromoted) && !cloned => "Unpromoted",
            _ if !active.is_empty() => "Started",
            _ => "Stopped",
        };
        let last_failed = last_failed_action(
            index,
            &prims
                .iter()
                .map(|&p| cl.resources[p].id.clone())
                .collect::<BTreeSet<_>>(),
        );
        let old = current(o).unwrap_or_default();
        let target_stopped = roots
            .iter()
            .any(|&r| cl.resources[r].target_role == Some(Role::Stopped));
        let (ready, ready_reason, ready_msg) = if busy.is_some() {
            (
                false,
                "InTransition",
                format!("{role} in the current transition"),
            )
        } else if failed {
            (
                false,
                "Failed",
                "an operation failed; the cluster will recover it if it can".to_string(),
            )
        } else if active.is_empty() && !target_stopped {
            (false, "Stopped", "not running anywhere".to_string())
        } else if active.is_empty() {
            (
                true,
                "Stopped",
                "stopped as requested (target-role Stopped)".to_string(),
            )
        } else {
            (true, "Running", format!("active on {}", nodes.join(", ")))
        };
        let mut conditions = Vec::new();
        conditions.push(condition(
            &old.conditions,
            "Ready",
            ready,
            ready_reason,
            &ready_msg,
            now,
        ));
        conditions.push(condition(
            &old.conditions,
            "Managed",
            managed,
            if managed { "Managed" } else { "Unmanaged" },
            if managed {
                "the cluster starts, stops and monitors it"
            } else {
                "is-managed=false or maintenance: the cluster leaves it alone"
            },
            now,
        ));
        let fail_msg = last_failed
            .as_ref()
            .map(|f| {
                format!(
                    "{} on {} returned {}{}",
                    f.operation,
                    f.node,
                    f.rc.unwrap_or(-1),
                    f.exit_reason
                        .as_ref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "no failed operation".into());
        conditions.push(condition(
            &old.conditions,
            "Failed",
            failed,
            if failed {
                "OperationFailed"
            } else {
                "NoFailure"
            },
            &fail_msg,
            now,
        ));
        let st = ResourceStatus {
            node: if cloned { None } else { nodes.first().cloned() },
            nodes: if cloned { nodes } else { Vec::new() },
            promoted: if cloned { promoted } else { Vec::new() },
            role: Some(role.into()),
            fail_count: Some(fail_count),
            last_failed_action: last_failed,
            observed_generation: generation(o),
            conditions,
            // Kept as stored; the DC sets it when it handles a request (controller.rs).
            last_cleanup: old.last_cleanup.clone(),
        };
        out.insert((o.kind(), o.name()), st);
    }
    out
}

/// A condition that keeps its lastTransitionTime while its status does not change.
pub fn condition(
    old: &[Condition],
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    now: &Time,
) -> Condition {
    let status = if status { "True" } else { "False" }.to_string();
    let since = old
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.clone());
    Condition {
        type_: type_.into(),
        status,
        reason: reason.into(),
        message: message.into(),
        last_transition_time: since,
        observed_generation: None,
    }
}

/// Whether a history entry records a failure: an execution error, or an rc that is not
/// success for that kind of operation (probes may say "not running", 7; promoted
/// instances answer 8).
pub fn is_failure(op: &LrmOperation) -> bool {
    if op.call_id.as_deref() == Some("-1") {
        return false;
    }
    let num = |s: &Option<String>| {
        s.as_deref()
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let (rc, status) = (num(&op.rc_code), num(&op.op_status));
    let interval = num(&op.interval);
    if status != 0 {
        return true;
    }
    // Success: rc 0; a probe's "not running" (7); "running promoted" (8) from a
    // monitor or promote; a stop finding it already stopped (7).
    !matches!(
        (op.operation.as_str(), interval, rc),
        (_, _, 0) | ("monitor", 0, 7) | ("monitor", _, 8) | ("promote", _, 8) | ("stop", _, 7)
    )
}

fn last_failed_action(index: &Index, ids: &BTreeSet<String>) -> Option<FailedAction> {
    let mut best: Option<(i64, FailedAction)> = None;
    for (name, s) in &index.node_states {
        let node = s.spec.uname.clone().unwrap_or_else(|| name.clone());
        for r in s.spec.lrm.iter().flat_map(|l| &l.resources) {
            if !ids.contains(&r.id) {
                continue;
            }
            for op in r.operations.iter().filter(|o| is_failure(o)) {
                let when = op
                    .last_rc_change
                    .as_deref()
                    .or(op.last_run.as_deref())
                    .and_then(|t| t.parse::<i64>().ok())
                    .unwrap_or(0);
                if best.as_ref().is_some_and(|(w, _)| *w > when) {
                    continue;
                }
                let interval = op.interval.clone().unwrap_or_else(|| "0".into());
                best = Some((
                    when,
                    FailedAction {
                        operation: format!("{}_{interval}", op.operation),
                        node: node.clone(),
                        rc: op.rc_code.as_deref().and_then(|x| x.parse().ok()),
                        exit_reason: op.exit_reason.clone().filter(|x| !x.is_empty()),
                        time: jiff::Timestamp::from_second(when)
                            .ok()
                            .filter(|_| when > 0)
                            .map(Time),
                    },
                ));
            }
        }
    }
    best.map(|(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::{NodeState, NodeStateSpec, Primitive, PrimitiveSpec};

    fn op(operation: &str, interval: &str, rc: &str) -> LrmOperation {
        LrmOperation {
            id: format!("x_{operation}_{interval}"),
            operation: operation.into(),
            interval: Some(interval.into()),
            call_id: Some("3".into()),
            rc_code: Some(rc.into()),
            op_status: Some("0".into()),
            last_rc_change: Some("1700000000".into()),
            ..Default::default()
        }
    }

    #[test]
    fn failure_depends_on_the_kind_of_operation() {
        assert!(!is_failure(&op("monitor", "0", "7")));
        assert!(is_failure(&op("monitor", "10000", "7")));
        assert!(!is_failure(&op("monitor", "10000", "8")));
        assert!(is_failure(&op("start", "0", "1")));
        let mut pending = op("start", "0", "1");
        pending.call_id = Some("-1".into());
        assert!(!is_failure(&pending));
        let mut timed_out = op("start", "0", "0");
        timed_out.op_status = Some("2".into());
        assert!(is_failure(&timed_out));
    }

    const CIB: &str = r#"<cib have-quorum="1" execution-date="1700000100"><configuration>
      <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
      <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
      <resources><primitive id="ip" class="ocf" provider="heartbeat" type="Dummy"/>
        <primitive id="db" class="ocf" provider="heartbeat" type="Dummy"/></resources><constraints/></configuration>
      <status>
       <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
        <transient_attributes id="1"><instance_attributes id="s1"><nvpair id="f1" name="fail-count-db#start_0" value="1"/></instance_attributes></transient_attributes>
        <lrm id="1"><lrm_resources>
         <lrm_resource id="ip" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="ip_last_0" operation_key="ip_start_0" operation="start" call-id="1" rc-code="0" op-status="0" interval="0"/></lrm_resource>
         <lrm_resource id="db" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="db_last_0" operation_key="db_start_0" operation="start" call-id="2" rc-code="1" op-status="0" interval="0" last-rc-change="1700000000" exit-reason="no config"/></lrm_resource>
        </lrm_resources></lrm></node_state>
       <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
      </status></cib>"#;

    fn index() -> Index {
        let mut idx = Index::default();
        for name in ["ip", "db"] {
            idx.apply_config(Object::Primitive(Primitive::new(
                name,
                PrimitiveSpec::default(),
            )));
        }
        let mut ns = NodeState::new(
            "n1",
            NodeStateSpec {
                uname: Some("n1".into()),
                ..Default::default()
            },
        );
        ns.spec.lrm = Some(pacer_crds::Lrm {
            resources: vec![pacer_crds::LrmResource {
                id: "db".into(),
                operations: vec![LrmOperation {
                    exit_reason: Some("no config".into()),
                    ..op("start", "0", "1")
                }],
                ..Default::default()
            }],
            ..Default::default()
        });
        idx.apply_node_state(ns);
        idx
    }

    #[test]
    fn running_and_failed_resources_get_node_role_and_conditions() {
        let s = pacer_scheduler::schedule(CIB, None).unwrap_or_else(|e| panic!("schedule: {e}"));
        let now = Time(jiff::Timestamp::from_second(1_700_000_100).unwrap_or_default());
        let st = derive(&s.cluster, &index(), None, &now);
        let ip = &st[&("Primitive", "ip".to_string())];
        assert_eq!(ip.node.as_deref(), Some("n1"));
        assert_eq!(ip.role.as_deref(), Some("Started"));
        assert!(
            ip.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True" && c.reason == "Running")
        );
        let db = &st[&("Primitive", "db".to_string())];
        assert_eq!(db.role.as_deref(), Some("Failed"));
        let f = db
            .last_failed_action
            .as_ref()
            .unwrap_or_else(|| panic!("no failed action: {db:?}"));
        assert_eq!(
            (f.operation.as_str(), f.node.as_str(), f.rc),
            ("start_0", "n1", Some(1))
        );
        assert!(
            db.conditions.iter().any(|c| c.type_ == "Failed"
                && c.status == "True"
                && c.message.contains("no config"))
        );
        assert_eq!(db.fail_count, Some(1));
    }

    #[test]
    fn condition_time_is_kept_while_status_is_unchanged() {
        let t0 = Time(jiff::Timestamp::from_second(1).unwrap_or_default());
        let t1 = Time(jiff::Timestamp::from_second(2).unwrap_or_default());
        let c0 = condition(&[], "Ready", true, "Running", "", &t0);
        assert_eq!(
            condition(
                std::slice::from_ref(&c0),
                "Ready",
                true,
                "Running",
                "x",
                &t1
            )
            .last_transition_time,
            t0
        );
        assert_eq!(
            condition(&[c0], "Ready", false, "Stopped", "", &t1).last_transition_time,
            t1
        );
    }
}
