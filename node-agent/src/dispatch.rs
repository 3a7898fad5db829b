//! From the DC's decisions to executor work: a `Transition` (pacer-crds) and this node's
//! name and history in; the actions this agent must run now ([`Work`]) out.
//!
//! Rules (docs/protocol.md): an action is ours when `node` is this node (or, for
//! `fence`, `executor` is); it runs once it is `Dispatched`; it never runs twice: its
//! transition key `"<transition>:<id>"` already in the history (or in flight) means done.
//! Secret parameters arrive as references and are resolved by the caller right before
//! the run, so they are never part of a stored object.

use std::{collections::BTreeMap, time::Duration};

use pacer_crds::{ParamFromSecret, Transition, TransitionAction};

use crate::{
    Error,
    history::NodeHistory,
    op::{ActionRequest, Agent, Params},
    stonith::FenceAction,
};

/// One thing to do for a transition action.
#[derive(Clone, Debug, PartialEq)]
pub enum Work {
    /// Run through the local resource manager.
    Resource {
        request: ActionRequest,
        /// Parameters still to read from Secrets.
        secret_params: Vec<ParamFromSecret>,
    },
    /// `cancel`: stop a recurring operation (`op_key` = `RSC_OP_INTERVALMS`).
    Cancel {
        resource: String,
        op_key: String,
        transition_key: String,
    },
    /// `clear_failcount`: forget failures of a resource.
    ClearFailcount {
        resource: String,
        transition_key: String,
    },
    /// `cleanup` (crm_resource --cleanup): forget the resource's history and fail counts
    /// here, so the DC probes it again.
    Forget {
        resource: String,
        transition_key: String,
    },
    /// Fence `target` (this node runs the device).
    Fence {
        target: String,
        action: FenceAction,
        transition_key: String,
        timeout: Duration,
    },
}

/// The transition key of action `id` of transition `name`.
pub fn transition_key(name: &str, id: i64) -> String {
    format!("{name}:{id}")
}

/// Transition keys this node has already recorded.
pub fn recorded_keys(history: &NodeHistory) -> std::collections::BTreeSet<String> {
    history
        .resources
        .values()
        .flat_map(|r| {
            r.last
                .iter()
                .chain(&r.last_failure)
                .chain(r.recurring.values())
        })
        .filter(|r| !r.is_pending())
        .filter_map(|r| r.transition_key.clone())
        .collect()
}

/// Converts one action into a request; errors name the action and the field.
pub fn request_for(name: &str, action: &TransitionAction) -> Result<Work, Error> {
    let key = transition_key(name, action.id);
    let bad = |field: &str, why: String| Error::InvalidParam {
        resource: format!("Transition/{name} action {}", action.id),
        param: field.to_string(),
        why,
    };
    let ms = |v: i64, field: &str| {
        u64::try_from(v)
            .map(Duration::from_millis)
            .map_err(|_| bad(field, format!("{v} is negative")))
    };
    match action.task.as_str() {
        "fence" => {
            let how = action.fence_action.as_deref().unwrap_or("reboot");
            let action_kind = FenceAction::parse(how)
                .filter(|a| matches!(a, FenceAction::Off | FenceAction::On | FenceAction::Reboot))
                .ok_or_else(|| bad("fenceAction", format!("'{how}' is not off, on or reboot")))?;
            Ok(Work::Fence {
                target: action.node.clone(),
                action: action_kind,
                transition_key: key,
                timeout: ms(action.timeout_ms, "timeoutMs")?,
            })
        }
        "cancel" => {
            let resource = action
                .resource
                .clone()
                .ok_or_else(|| bad("resource", "cancel needs a resource".into()))?;
            // Which operation: meta `operation` (Pacemaker's CRM_meta_operation), else
            // the recurring monitor of that interval.
            let op = action
                .meta
                .get("operation")
                .map_or("monitor", String::as_str);
            Ok(Work::Cancel {
                op_key: format!("{resource}_{op}_{}", action.interval_ms),
                resource,
                transition_key: key,
            })
        }
        "clear_failcount" => Ok(Work::ClearFailcount {
            resource: action
                .resource
                .clone()
                .ok_or_else(|| bad("resource", "clear_failcount needs a resource".into()))?,
            transition_key: key,
        }),
        "cleanup" => Ok(Work::Forget {
            resource: action
                .resource
                .clone()
                .ok_or_else(|| bad("resource", "cleanup needs a resource".into()))?,
            transition_key: key,
        }),
        task => {
            let resource = action
                .resource
                .clone()
                .ok_or_else(|| bad("resource", format!("{task} needs a resource")))?;
            let agent_ref = action
                .agent
                .as_ref()
                .ok_or_else(|| bad("agent", format!("{task} of {resource} needs an agent")))?;
            let agent = Agent::parse(
                &agent_ref.class,
                agent_ref.provider.as_deref(),
                &agent_ref.type_,
            )
            .map_err(|e| bad("agent", e.to_string()))?;
            let mut request = ActionRequest::new(&resource, agent, task)
                .interval(ms(action.interval_ms, "intervalMs")?)
                .timeout(ms(action.timeout_ms, "timeoutMs")?);
            request.params = action
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Params>();
            request.meta = action.meta.clone();
            // OCF_CHECK_LEVEL is an operation attribute, not an agent parameter: it
            // becomes its own variable, never OCF_RESKEY_OCF_CHECK_LEVEL.
            let level = request
                .params
                .0
                .remove("OCF_CHECK_LEVEL")
                .or_else(|| request.meta.remove("OCF_CHECK_LEVEL"));
            request.check_level = match level {
                None => None,
                Some(v) => Some(v.trim().parse().map_err(|_| {
                    bad(
                        "OCF_CHECK_LEVEL",
                        format!("'{v}' is not a non-negative integer"),
                    )
                })?),
            };
            request.expected_rc = i32::try_from(action.expected_rc).ok();
            request.transition_key = Some(key);
            Ok(Work::Resource {
                request,
                secret_params: action.params_from.clone(),
            })
        }
    }
}

/// The state the DC gave action `id`, `Pending` when not listed.
fn state_of(transition: &Transition, id: i64) -> &str {
    transition
        .status
        .as_ref()
        .and_then(|s| s.actions.get(&id.to_string()))
        .map_or("Pending", |a| a.state.as_str())
}

/// The work this node must start for `transition` now, skipping what the history or
/// `in_flight` already covers. Bad actions come back as errors (to report), not panics.
pub fn due_work(
    transition: &Transition,
    node: &str,
    history: &NodeHistory,
    in_flight: &std::collections::BTreeSet<String>,
) -> Vec<Result<Work, Error>> {
    // An aborted transition's dispatched actions still run, as Pacemaker lets in-flight
    // actions finish; the DC stops dispatching new ones.
    let name = transition.metadata.name.as_deref().unwrap_or("");
    let done = recorded_keys(history);
    let mut out = Vec::new();
    for action in &transition.spec.actions {
        let mine = if action.task == "fence" {
            action.executor.as_deref() == Some(node)
        } else {
            action.node == node
        };
        let key = transition_key(name, action.id);
        if !mine
            || state_of(transition, action.id) != "Dispatched"
            || done.contains(&key)
            || in_flight.contains(&key)
        {
            continue;
        }
        out.push(request_for(name, action));
    }
    out
}

/// Resolves `params_from` through `lookup(secret, key)`; a missing Secret or key is an
/// error naming both, so the operation fails with a useful reason instead of running
/// the agent without its credentials.
pub fn resolve_secrets(
    request: &mut ActionRequest,
    refs: &[ParamFromSecret],
    lookup: impl Fn(&str, &str) -> Option<String>,
) -> Result<(), Error> {
    let mut resolved = BTreeMap::new();
    for r in refs {
        let value = lookup(&r.secret_key_ref.name, &r.secret_key_ref.key).ok_or_else(|| {
            Error::InvalidParam {
                resource: request.resource.clone(),
                param: r.name.clone(),
                why: format!(
                    "Secret '{}' has no key '{}' (or does not exist); create it in the cluster's namespace",
                    r.secret_key_ref.name, r.secret_key_ref.key
                ),
            }
        })?;
        resolved.insert(r.name.clone(), value);
    }
    request.secret_params.extend(resolved.keys().cloned());
    request.params.0.extend(resolved);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::{
        AgentRef, SecretKeyRef, TransitionActionStatus, TransitionSpec, TransitionStatus,
    };

    fn action(id: i64, task: &str, node: &str) -> TransitionAction {
        TransitionAction {
            id,
            task: task.into(),
            resource: Some("vip".into()),
            node: node.into(),
            timeout_ms: 20_000,
            agent: Some(AgentRef {
                class: "ocf".into(),
                provider: Some("heartbeat".into()),
                type_: "IPaddr2".into(),
            }),
            params: [("ip".to_string(), "10.213.0.100".to_string())].into(),
            ..TransitionAction::default()
        }
    }

    fn transition(actions: Vec<TransitionAction>, dispatched: &[i64]) -> Transition {
        let mut t = Transition::new(
            "t-7",
            TransitionSpec {
                seq: 7,
                actions,
                ..TransitionSpec::default()
            },
        );
        t.status = Some(TransitionStatus {
            actions: dispatched
                .iter()
                .map(|id| {
                    (
                        id.to_string(),
                        TransitionActionStatus {
                            state: "Dispatched".into(),
                            ..TransitionActionStatus::default()
                        },
                    )
                })
                .collect(),
            ..TransitionStatus::default()
        });
        t
    }

    #[test]
    fn only_dispatched_actions_of_this_node_that_did_not_run_yet() {
        let mut mon = action(3, "monitor", "n1");
        mon.interval_ms = 10_000;
        mon.expected_rc = 0;
        let t = transition(
            vec![
                action(1, "start", "n1"),
                action(2, "start", "n2"),
                mon,
                action(4, "stop", "n1"),
            ],
            &[1, 2, 3],
        );
        let work = due_work(&t, "n1", &NodeHistory::default(), &Default::default());
        let keys: Vec<_> = work
            .iter()
            .map(|w| match w {
                Ok(Work::Resource { request, .. }) => request.transition_key.clone(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(keys, [Some("t-7:1".to_string()), Some("t-7:3".to_string())]);
        let Some(Ok(Work::Resource { request, .. })) = work.get(1) else {
            panic!("monitor work");
        };
        assert_eq!(request.interval, Duration::from_secs(10));
        assert_eq!(request.params.get("ip"), Some("10.213.0.100"));

        // Once recorded (or in flight), never again.
        let mut h = NodeHistory::default();
        let mut req = ActionRequest::new(
            "vip",
            Agent::parse("ocf", Some("heartbeat"), "IPaddr2").unwrap_or_else(|e| panic!("{e}")),
            "start",
        );
        req.transition_key = Some("t-7:1".into());
        h.complete(
            &req,
            &crate::op::ActionResult::ok(),
            jiff::Timestamp::UNIX_EPOCH,
        );
        let in_flight = ["t-7:3".to_string()].into();
        assert!(due_work(&t, "n1", &h, &in_flight).is_empty());
    }

    #[test]
    fn check_level_is_an_operation_attribute() {
        let mut deep = action(4, "monitor", "n1");
        deep.params.insert("OCF_CHECK_LEVEL".into(), "10".into());
        let Ok(Work::Resource { request, .. }) = request_for("t-1", &deep) else {
            panic!("work");
        };
        assert_eq!(request.check_level, Some(10));
        assert_eq!(request.params.get("OCF_CHECK_LEVEL"), None);
        deep.params.insert("OCF_CHECK_LEVEL".into(), "deep".into());
        assert!(request_for("t-1", &deep).is_err());
    }

    #[test]
    fn cancel_names_the_recurring_operation() {
        let mut c = action(9, "cancel", "n1");
        c.interval_ms = 10_000;
        assert!(matches!(
            request_for("t-2", &c),
            Ok(Work::Cancel { ref op_key, .. }) if op_key == "vip_monitor_10000"
        ));
    }

    #[test]
    fn fence_runs_on_the_executor_node() {
        let mut f = action(5, "fence", "n2");
        f.resource = None;
        f.agent = None;
        f.executor = Some("n1".into());
        f.fence_action = Some("off".into());
        let t = transition(vec![f], &[5]);
        assert!(due_work(&t, "n2", &NodeHistory::default(), &Default::default()).is_empty());
        let work = due_work(&t, "n1", &NodeHistory::default(), &Default::default());
        assert!(matches!(
            work.as_slice(),
            [Ok(Work::Fence { target, action: FenceAction::Off, .. })] if target == "n2"
        ));
    }

    #[test]
    fn bad_actions_are_errors_naming_the_field() {
        let mut a = action(1, "start", "n1");
        a.agent = None;
        let err = request_for("t-1", &a)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("agent") && err.contains("Transition/t-1 action 1"),
            "{err}"
        );
        let mut neg = action(2, "start", "n1");
        neg.timeout_ms = -5;
        assert!(request_for("t-1", &neg).is_err());
    }

    #[test]
    fn secrets_resolve_or_fail_with_names() {
        let Ok(Work::Resource { mut request, .. }) = request_for("t-1", &action(1, "start", "n1"))
        else {
            panic!("work");
        };
        let refs = vec![ParamFromSecret {
            name: "passwd".into(),
            secret_key_ref: SecretKeyRef {
                name: "ipmi".into(),
                key: "password".into(),
            },
        }];
        let ok = resolve_secrets(&mut request, &refs, |s, k| {
            (s == "ipmi" && k == "password").then(|| "pw".to_string())
        });
        assert!(ok.is_ok());
        assert_eq!(request.params.get("passwd"), Some("pw"));
        // The digest is the scheduler's: without the secret.
        assert_eq!(
            crate::history::op_digest(&request.defining_params()),
            crate::history::op_digest(&Params::new().with("ip", "10.213.0.100"))
        );
        let err = resolve_secrets(&mut request, &refs, |_, _| None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("Secret 'ipmi'") && err.contains("'password'"),
            "{err}"
        );
    }
}
