//! Scripted in-process stand-ins for node agents: each renews its node Lease, watches
//! Transitions, "runs" the actions dispatched to its node and writes the results into
//! its NodeState exactly as docs/protocol.md says a real agent does (op history under the
//! transition key, fail counts as transient attributes), and runs fence actions it is the
//! executor of (FencingHistory). A shared [`World`] records where each resource really
//! runs, so a double start or an action run twice fails the test.

#![allow(dead_code)]

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::Result;
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::{MicroTime, Time},
};
use kube::{
    Api, Client, ResourceExt,
    api::{ObjectMeta, Patch, PatchParams, PostParams},
};
use pacer_crds::{
    FencingHistory, FencingHistorySpec, Lrm, LrmOperation, LrmResource, NodeState, NodeStateSpec,
    TransientAttributes, Transition,
};
use tokio::task::JoinHandle;

/// What really happened, across all stand-ins.
#[derive(Default, Debug)]
pub struct World {
    /// resource → nodes where it runs.
    pub running: BTreeMap<String, BTreeSet<String>>,
    /// Nodes fenced (their resources are gone).
    pub fenced: BTreeSet<String>,
    /// Every transition key executed, with its count.
    pub executed: BTreeMap<String, u32>,
    /// (task, resource, node) in execution order.
    pub log: Vec<(String, String, String)>,
    /// Broken invariants (double starts, actions run twice).
    pub violations: Vec<String>,
    /// (task, resource, node) → rc to return instead.
    pub inject: BTreeMap<(String, String, String), i64>,
}

pub type SharedWorld = Arc<Mutex<World>>;

pub struct StandIn {
    pub node: String,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub struct Opts {
    /// How long "running" an action takes.
    pub delay: Duration,
    pub lease_seconds: i32,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            delay: Duration::from_millis(20),
            lease_seconds: 2,
        }
    }
}

fn lock(w: &SharedWorld) -> std::sync::MutexGuard<'_, World> {
    w.lock().unwrap_or_else(|e| e.into_inner())
}

pub async fn start(
    client: Client,
    ns: &str,
    node: &str,
    world: SharedWorld,
    opts: Opts,
) -> Result<StandIn> {
    let states: Api<NodeState> = Api::namespaced(client.clone(), ns);
    let ns_obj = NodeState::new(
        node,
        NodeStateSpec {
            id: Some(node.into()),
            uname: Some(node.into()),
            in_ccm: Some("true".into()),
            crmd: Some("online".into()),
            join: Some("member".into()),
            expected: Some("member".into()),
            lrm: Some(Lrm {
                id: Some(node.into()),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    states
        .patch(
            node,
            &PatchParams::apply("standin").force(),
            &Patch::Apply(&ns_obj),
        )
        .await?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let lease_name = format!("pacer-node-{node}");
    let n = node.to_string();
    let secs = opts.lease_seconds;
    let renew = tokio::spawn(async move {
        loop {
            let now = MicroTime(jiff::Timestamp::now());
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(lease_name.clone()),
                    ..Default::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(n.clone()),
                    lease_duration_seconds: Some(secs),
                    renew_time: Some(now),
                    ..Default::default()
                }),
            };
            let _ = leases
                .patch(
                    &lease_name,
                    &PatchParams::apply("standin").force(),
                    &Patch::Apply(&lease),
                )
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let exec = tokio::spawn(executor(
        client,
        ns.to_string(),
        node.to_string(),
        world,
        opts.delay,
    ));
    Ok(StandIn {
        node: node.into(),
        tasks: vec![renew, exec],
    })
}

/// Only the executor, for a node whose NodeState and Lease someone else keeps (the DC
/// benchmark's imported cluster): answers what is dispatched to it until dropped.
pub fn executor_only(
    client: Client,
    ns: &str,
    node: &str,
    world: SharedWorld,
    delay: Duration,
) -> StandIn {
    let exec = tokio::spawn(executor(
        client,
        ns.to_string(),
        node.to_string(),
        world,
        delay,
    ));
    StandIn {
        node: node.into(),
        tasks: vec![exec],
    }
}

async fn executor(client: Client, ns: String, node: String, world: SharedWorld, delay: Duration) {
    let transitions: Api<Transition> = Api::namespaced(client.clone(), &ns);
    let states: Api<NodeState> = Api::namespaced(client.clone(), &ns);
    let fences: Api<FencingHistory> = Api::namespaced(client.clone(), &ns);
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut call_id = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let Ok(list) = transitions.list(&Default::default()).await else {
            continue;
        };
        for t in list.items {
            let name = t.name_any();
            let Some(st) = &t.status else { continue };
            for a in &t.spec.actions {
                let key = format!("{name}:{}", a.id);
                let dispatched = st
                    .actions
                    .get(&a.id.to_string())
                    .is_some_and(|s| s.state == "Dispatched");
                let mine = if a.task == "fence" {
                    a.executor.as_deref() == Some(&node)
                } else {
                    a.node == node
                };
                if !dispatched || !mine || done.contains(&key) {
                    continue;
                }
                // Idempotency as a real agent has it: the key already in the history.
                if history_has(&states, &node, &key).await {
                    done.insert(key);
                    continue;
                }
                done.insert(key.clone());
                tokio::time::sleep(delay).await;
                let rsc = a.resource.clone().unwrap_or_default();
                let rc = {
                    let mut w = lock(&world);
                    *w.executed.entry(key.clone()).or_default() += 1;
                    if w.executed[&key] > 1 {
                        w.violations.push(format!("{key} executed twice"));
                    }
                    w.log.push((a.task.clone(), rsc.clone(), a.node.clone()));
                    let injected = w
                        .inject
                        .get(&(a.task.clone(), rsc.clone(), a.node.clone()))
                        .copied();
                    match a.task.as_str() {
                        "fence" => {
                            w.fenced.insert(a.node.clone());
                            for nodes in w.running.values_mut() {
                                nodes.remove(&a.node);
                            }
                            0
                        }
                        "start" | "migrate_from" | "promote" => {
                            let rc = injected.unwrap_or(0);
                            if rc == 0 {
                                let others: Vec<String> = w
                                    .running
                                    .get(&rsc)
                                    .map(|s| s.iter().filter(|n| **n != a.node).cloned().collect())
                                    .unwrap_or_default();
                                if !others.is_empty() && !rsc.contains(':') && a.task == "start" {
                                    w.violations.push(format!(
                                        "{rsc} started on {} while running on {others:?}",
                                        a.node
                                    ));
                                }
                                w.running
                                    .entry(rsc.clone())
                                    .or_default()
                                    .insert(a.node.clone());
                            }
                            rc
                        }
                        "stop" | "migrate_to" => {
                            if let Some(s) = w.running.get_mut(&rsc) {
                                s.remove(&a.node);
                            }
                            injected.unwrap_or(0)
                        }
                        "monitor" => {
                            let running = w.running.get(&rsc).is_some_and(|s| s.contains(&a.node));
                            injected.unwrap_or(if running { 0 } else { 7 })
                        }
                        _ => injected.unwrap_or(0),
                    }
                };
                if a.task == "fence" {
                    let f = FencingHistory::new(
                        &format!("{}-{}", a.node, name),
                        FencingHistorySpec {
                            target: a.node.clone(),
                            action: a.fence_action.clone().unwrap_or_else(|| "off".into()),
                            executor: node.clone(),
                            transition_key: Some(key.clone()),
                            result: "success".into(),
                            completed: Some(Time(jiff::Timestamp::now())),
                            ..Default::default()
                        },
                    );
                    let _ = fences.create(&PostParams::default(), &f).await;
                    continue;
                }
                call_id += 1;
                let _ = record(&states, &node, a, &key, rc, call_id).await;
            }
        }
    }
}

async fn history_has(states: &Api<NodeState>, node: &str, key: &str) -> bool {
    let Ok(s) = states.get(node).await else {
        return false;
    };
    s.spec
        .lrm
        .iter()
        .flat_map(|l| &l.resources)
        .flat_map(|r| &r.operations)
        .any(|o| o.transition_key.as_deref() == Some(key))
}

/// Writes one result into the node's op history (read-modify-write with retries).
async fn record(
    states: &Api<NodeState>,
    node: &str,
    a: &pacer_crds::TransitionAction,
    key: &str,
    rc: i64,
    call_id: i64,
) -> Result<()> {
    let rsc = a.resource.clone().unwrap_or_default();
    let now = jiff::Timestamp::now().as_second().to_string();
    for _ in 0..20 {
        let mut s = states.get(node).await?;
        let lrm = s.spec.lrm.get_or_insert_with(Default::default);
        let pos = match lrm.resources.iter().position(|r| r.id == rsc) {
            Some(p) => p,
            None => {
                let agent = a.agent.clone().unwrap_or_default();
                lrm.resources.push(LrmResource {
                    id: rsc.clone(),
                    class: Some(agent.class),
                    provider: agent.provider,
                    type_: Some(agent.type_),
                    ..Default::default()
                });
                lrm.resources.len() - 1
            }
        };
        let r = &mut lrm.resources[pos];
        let recurring = a.task == "monitor" && a.interval_ms > 0;
        let id = if recurring {
            format!("{rsc}_monitor_{}", a.interval_ms)
        } else {
            format!("{rsc}_last_0")
        };
        let op = LrmOperation {
            id: id.clone(),
            operation: a.task.clone(),
            operation_key: Some(format!("{rsc}_{}_{}", a.task, a.interval_ms)),
            interval: Some(a.interval_ms.to_string()),
            call_id: Some(call_id.to_string()),
            rc_code: Some(rc.to_string()),
            op_status: Some("0".into()),
            transition_key: Some(key.into()),
            last_rc_change: Some(now.clone()),
            last_run: Some(now.clone()),
            exec_time: Some("10".into()),
            on_node: Some(node.into()),
            ..Default::default()
        };
        r.operations.retain(|o| o.id != id);
        if matches!(a.task.as_str(), "stop") {
            // Stopping cancels recurring monitors: their entries go.
            r.operations
                .retain(|o| o.interval.as_deref().is_none_or(|i| i == "0"));
        }
        r.operations.push(op);
        let expected = a.expected_rc;
        if rc != expected {
            let t = s
                .spec
                .transient_attributes
                .get_or_insert_with(TransientAttributes::default);
            let attrs = t.attributes.get_or_insert_with(Default::default);
            let fc = format!("fail-count-{rsc}#{}_{}", a.task, a.interval_ms);
            let n: i64 = attrs.get(&fc).and_then(|v| v.parse().ok()).unwrap_or(0) + 1;
            attrs.insert(fc, n.to_string());
            attrs.insert(
                format!("last-failure-{rsc}#{}_{}", a.task, a.interval_ms),
                now.clone(),
            );
        }
        match states.replace(node, &PostParams::default(), &s).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("could not record {key} on {node}")
}

/// A resource "crashes" on a node: the recurring monitor reports not running (rc 7), the
/// fail count goes up, as an agent's monitor would write it.
pub async fn crash(
    client: Client,
    ns: &str,
    node: &str,
    rsc: &str,
    world: &SharedWorld,
) -> Result<()> {
    if let Some(s) = lock(world).running.get_mut(rsc) {
        s.remove(node);
    }
    let states: Api<NodeState> = Api::namespaced(client, ns);
    let now = jiff::Timestamp::now().as_second().to_string();
    for _ in 0..20 {
        let mut s = states.get(node).await?;
        let lrm = s.spec.lrm.get_or_insert_with(Default::default);
        let Some(r) = lrm.resources.iter_mut().find(|r| r.id == rsc) else {
            anyhow::bail!("{rsc} has no history on {node}")
        };
        let Some(m) = r
            .operations
            .iter_mut()
            .find(|o| o.operation == "monitor" && o.interval.as_deref().is_some_and(|i| i != "0"))
        else {
            anyhow::bail!("{rsc} has no recurring monitor on {node}")
        };
        m.rc_code = Some("7".into());
        m.last_rc_change = Some(now.clone());
        let key = format!(
            "fail-count-{rsc}#monitor_{}",
            m.interval.clone().unwrap_or_default()
        );
        let lf = format!(
            "last-failure-{rsc}#monitor_{}",
            m.interval.clone().unwrap_or_default()
        );
        let t = s
            .spec
            .transient_attributes
            .get_or_insert_with(TransientAttributes::default);
        let attrs = t.attributes.get_or_insert_with(Default::default);
        attrs.insert(key, "1".into());
        attrs.insert(lf, now.clone());
        match states.replace(node, &PostParams::default(), &s).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("could not write the crash")
}

/// Where the stand-ins really run a resource.
pub fn where_runs(world: &SharedWorld, rsc: &str) -> Vec<String> {
    lock(world)
        .running
        .get(rsc)
        .map(|s| s.iter().cloned().collect())
        .unwrap_or_default()
}

pub fn violations(world: &SharedWorld) -> Vec<String> {
    lock(world).violations.clone()
}

pub fn inject(world: &SharedWorld, task: &str, rsc: &str, node: &str, rc: i64) {
    lock(world)
        .inject
        .insert((task.into(), rsc.into(), node.into()), rc);
}

pub fn log(world: &SharedWorld) -> Vec<(String, String, String)> {
    lock(world).log.clone()
}
