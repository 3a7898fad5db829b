//! Scheduler output to stored actions: a [`pacer_scheduler::Schedule`] and the
//! configuration objects in, the `Transition.spec.actions` an agent can execute without
//! reading anything else (agent, params, secret references, timeout, interval, expected
//! rc, clone meta, ordering) out.
//!
//! The scheduler's graph knows task/resource/node only; timeouts come from the
//! Primitive's `operations` (else OperationDefaults `timeout`, else 20 s) and secret
//! references from its `paramsFrom` / `valueFrom`.

use std::collections::BTreeMap;

use kube::ResourceExt;
use pacer_crds::{AgentRef, ParamFromSecret, Primitive, TransitionAction};
use pacer_scheduler::{
    Schedule,
    graph::Task,
    model::{Kind, Role},
};

use crate::{cib::Object, dc_fencing::DC_EXECUTOR, index::Index, snapshot::SECRET_PLACEHOLDER};

const DEFAULT_TIMEOUT_MS: i64 = 20_000;
const DEFAULT_FENCE_TIMEOUT_MS: i64 = 60_000;

/// Converts the scheduler's graph to executable actions.
pub fn actions(s: &Schedule, index: &Index) -> Vec<TransitionAction> {
    let cl = &s.cluster;
    let prims: BTreeMap<String, &Primitive> = index
        .config
        .values()
        .filter_map(|o| match o {
            Object::Primitive(p) => Some((p.spec.id.clone().unwrap_or_else(|| p.name_any()), p)),
            _ => None,
        })
        .collect();
    let op_default_timeout = index.config.values().find_map(|o| match o {
        Object::OperationDefaults(d) => d
            .spec
            .meta
            .as_ref()
            .and_then(|m| m.get("timeout"))
            .and_then(|t| parse_ms(t)),
        _ => None,
    });
    let fence_timeout = cluster_property(index, "stonith-timeout")
        .and_then(parse_ms)
        .unwrap_or(DEFAULT_FENCE_TIMEOUT_MS);
    let healthy: Vec<&str> = cl
        .nodes
        .iter()
        .filter(|n| n.online && !n.unclean)
        .map(|n| n.name.as_str())
        .collect();

    let rearm = crate::maintenance::missing_monitors(s, index, s.graph.actions.len());
    let mut out: Vec<TransitionAction> = s
        .graph
        .actions
        .iter()
        .chain(&rearm)
        .map(|a| {
            let mut t = TransitionAction {
                id: a.id as i64,
                task: task_name(&a.task).into(),
                resource: a.resource.clone(),
                node: a.node.clone(),
                timeout_ms: op_default_timeout.unwrap_or(DEFAULT_TIMEOUT_MS),
                ..Default::default()
            };
            if let Task::Fence { action } = &a.task {
                t.fence_action = Some(action.clone());
                // A healthy peer runs the devices; with none left, the DC does.
                t.executor = Some(
                    healthy
                        .iter()
                        .find(|n| **n != a.node)
                        .map_or(DC_EXECUTOR, |n| *n)
                        .to_string(),
                );
                t.timeout_ms = fence_timeout;
                return t;
            }
            if let Task::Monitor { interval_ms } = a.task {
                t.interval_ms = interval_ms as i64;
            }
            let Some(r) = a.resource.as_deref().and_then(|id| cl.rsc_by_id(id)) else {
                return t;
            };
            let res = &cl.resources[r];
            if let Some(h) = &res.history_id {
                t.resource = Some(h.clone());
            }
            if let Kind::Primitive {
                class,
                provider,
                agent,
            } = &res.kind
            {
                t.agent = Some(AgentRef {
                    class: class.clone(),
                    provider: provider.clone(),
                    type_: agent.clone(),
                });
            }
            t.params = res
                .params
                .iter()
                .filter(|(_, v)| !v.starts_with(SECRET_PLACEHOLDER))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            t.expected_rc = match a.task {
                Task::Monitor { interval_ms: 0 } => 7,
                Task::Monitor { interval_ms } => {
                    let promoted = res.ops.iter().any(|o| {
                        o.name == "monitor"
                            && o.interval_ms == interval_ms
                            && o.role == Some(Role::Promoted)
                    });
                    if promoted { 8 } else { 0 }
                }
                _ => 0,
            };
            if let Some(p) = prims.get(&res.config_id) {
                t.params_from = secret_params(p);
                for pf in &t.params_from {
                    t.params.remove(&pf.name);
                }
                let (name, interval) = (t.task.clone(), t.interval_ms);
                if let Some(ms) = p
                    .spec
                    .operations
                    .iter()
                    .find(|o| {
                        o.name == name && parse_ms(o.interval.as_str()).unwrap_or(0) == interval
                    })
                    .and_then(|o| o.timeout.as_ref())
                    .and_then(|x| parse_ms(x.as_str()))
                {
                    t.timeout_ms = ms;
                }
            }
            if let (Some(inst), Some(c)) = (
                res.instance,
                cl.clone_of(r).and_then(|c| cl.resources[c].clone.as_ref()),
            ) {
                // An anonymous clone's copies are interchangeable and the scheduler
                // renumbers them freely between transitions: as in Pacemaker's CIB, the
                // node's history knows them by the base id (one entry per node), so a
                // stop of "rsc:2" finds the start recorded for "rsc:1" there.
                if !c.unique {
                    t.resource = Some(res.config_id.clone());
                }
                t.meta.insert("clone".into(), inst.to_string());
                t.meta.insert("clone_max".into(), c.max.to_string());
                t.meta
                    .insert("clone_node_max".into(), c.node_max.to_string());
                t.meta
                    .insert("globally_unique".into(), c.unique.to_string());
                t.meta.insert("notify".into(), c.notify.to_string());
                if c.promotable {
                    t.meta
                        .insert("promoted_max".into(), c.promoted_max.to_string());
                    t.meta
                        .insert("promoted_node_max".into(), c.promoted_node_max.to_string());
                }
            }
            t
        })
        .collect();
    for e in &s.graph.edges {
        if let Some(a) = out.get_mut(e.after) {
            a.after.push(e.before as i64);
        }
    }
    drop_given_up_fencing(&mut out, index);
    drop_known_probes(&mut out, index);
    let next = out.iter().map(|a| a.id + 1).max().unwrap_or(0);
    out.extend(crate::maintenance::cancels(cl, index, next));
    for a in &mut out {
        a.after.sort_unstable();
        a.after.dedup();
    }
    out
}

/// A cluster property from the first ClusterProperties' unconditional `properties`.
fn cluster_property<'a>(index: &'a Index, name: &str) -> Option<&'a str> {
    index.config.values().find_map(|o| match o {
        Object::ClusterProperties(p) => p.spec.properties.as_ref()?.get(name).map(String::as_str),
        _ => None,
    })
}

/// `stonith-max-attempts`: fence actions for a target whose fencing failed that many times
/// in a row are not planned again (nor anything ordered after them), until a fence
/// succeeds — e.g. `kubectl pacer`'s manual confirmation — or the node comes back.
fn drop_given_up_fencing(actions: &mut Vec<TransitionAction>, index: &Index) {
    let max = cluster_property(index, "stonith-max-attempts")
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(10);
    let targets = crate::fencing::given_up(
        index.fencing.values(),
        |n| index.leases.get(n).and_then(|l| l.renew_ms),
        max,
    );
    let mut dropped: std::collections::BTreeSet<i64> = actions
        .iter()
        .filter(|a| a.task == "fence" && targets.contains(&a.node))
        .map(|a| a.id)
        .collect();
    if dropped.is_empty() {
        return;
    }
    tracing::warn!(
        targets = ?targets,
        max_attempts = max,
        "fencing failed stonith-max-attempts times in a row: not retrying (confirm the node off manually, or fix the device and let the node rejoin)"
    );
    loop {
        let more: Vec<i64> = actions
            .iter()
            .filter(|a| !dropped.contains(&a.id) && a.after.iter().any(|x| dropped.contains(x)))
            .map(|a| a.id)
            .collect();
        if more.is_empty() {
            break;
        }
        dropped.extend(more);
    }
    actions.retain(|a| !dropped.contains(&a.id));
}

/// Removes probes of resources the node's history already knows about (a probe asks
/// "what runs here?", which an existing history entry has answered), and every ordering
/// on them. The scheduler graph at the time of writing probes wherever a resource is not
/// active, which would make every transition re-probe all inactive copies.
fn drop_known_probes(actions: &mut Vec<TransitionAction>, index: &Index) {
    if !actions.iter().any(|a| a.task == "monitor" && a.interval_ms == 0) {
        return;
    }
    let mut known: std::collections::BTreeSet<(String, String)> = Default::default();
    for (name, s) in &index.node_states {
        let node = s.spec.uname.clone().unwrap_or_else(|| name.clone());
        for r in s.spec.lrm.iter().flat_map(|l| &l.resources) {
            if !r.operations.is_empty() {
                known.insert((node.clone(), r.id.clone()));
            }
        }
    }
    let is_known = |a: &TransitionAction| {
        let Some(r) = a.resource.as_deref() else {
            return false;
        };
        let base = r.split(':').next().unwrap_or(r);
        known.contains(&(a.node.clone(), r.to_string()))
            || known.contains(&(a.node.clone(), base.to_string()))
    };
    let dropped: std::collections::BTreeSet<i64> = actions
        .iter()
        .filter(|a| a.task == "monitor" && a.interval_ms == 0 && is_known(a))
        .map(|a| a.id)
        .collect();
    if dropped.is_empty() {
        return;
    }
    actions.retain(|a| !dropped.contains(&a.id));
    for a in actions.iter_mut() {
        a.after.retain(|id| !dropped.contains(id));
    }
}

pub fn task_name(t: &Task) -> &'static str {
    match t {
        Task::Fence { .. } => "fence",
        Task::Start => "start",
        Task::Stop => "stop",
        Task::Promote => "promote",
        Task::Demote => "demote",
        Task::MigrateTo => "migrate_to",
        Task::MigrateFrom => "migrate_from",
        Task::Reload => "reload-agent",
        Task::Monitor { .. } => "monitor",
        Task::ClearFailcount => "clear_failcount",
    }
}

/// `paramsFrom` plus every `valueFrom` in the parameter sets.
fn secret_params(p: &Primitive) -> Vec<ParamFromSecret> {
    let mut out = p.spec.params_from.clone();
    for set in &p.spec.param_sets {
        for nv in &set.values {
            if let (Some(name), Some(vf)) = (&nv.name, &nv.value_from) {
                out.push(ParamFromSecret {
                    name: name.clone(),
                    secret_key_ref: vf.secret_key_ref.clone(),
                });
            }
        }
    }
    out
}

/// A Pacemaker interval ("10", "10s", "500ms", "5min", "1h", "PT10S") in milliseconds.
pub fn parse_ms(s: &str) -> Option<i64> {
    let t = s.trim();
    if let Some(iso) = t.strip_prefix("PT").or_else(|| t.strip_prefix('P')) {
        let (mut total, mut num) = (0i64, String::new());
        for c in iso.chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let v: i64 = num.parse().ok()?;
            num.clear();
            total += v * match c {
                'H' => 3_600_000,
                'M' => 60_000,
                'S' => 1_000,
                'D' => 86_400_000,
                _ => return None,
            };
        }
        return Some(total);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let v: i64 = t[..split].parse().ok()?;
    let unit = t[split..].trim();
    let mult = match unit {
        "" | "s" | "sec" | "secs" => 1_000,
        "ms" | "msec" | "msecs" => 1,
        "us" | "usec" => return Some(v / 1_000),
        "m" | "min" | "mins" => 60_000,
        "h" | "hr" | "hrs" => 3_600_000,
        _ => return None,
    };
    Some(v * mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_like_pacemaker() {
        assert_eq!(parse_ms("10"), Some(10_000));
        assert_eq!(parse_ms("10s"), Some(10_000));
        assert_eq!(parse_ms("500ms"), Some(500));
        assert_eq!(parse_ms("5min"), Some(300_000));
        assert_eq!(parse_ms("PT1M30S"), Some(90_000));
        assert_eq!(parse_ms("ten"), None);
    }
}
