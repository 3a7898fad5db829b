//! The DC pipeline and the node agents' history, in memory: configuration objects →
//! snapshot → scheduler → planned actions → each node's real agent history
//! (`pacer_agent::history`, published as the agent publishes it) → next round.
//!
//! A cluster must settle (a round with no actions) within a few rounds after every
//! change, and no primitive may run twice. This catches disagreements between what the
//! DC asks for and what the agents record, e.g. anonymous clone copies renumbered by
//! the scheduler while the history keeps the old names: the DC then keeps stopping a
//! copy that never stops (seen as hundreds of transitions in the S6 standby test).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail, ensure};
use pacer_agent::{
    dispatch::{Work, request_for},
    history::NodeHistory,
    op::{ActionResult, OpStatus},
    report,
};
use pacer_crds::{NodeState, Transition, TransitionSpec};
use pacer_operator::{
    cib::{Object, manifest::parse_manifests},
    index::Index,
    membership::LeaseView,
    plan, snapshot,
};

/// Agents and hosts as one simulation: what really runs where, and each node's history.
struct Sim {
    idx: Index,
    histories: BTreeMap<String, NodeHistory>,
    /// (resource as the agent knows it, node) that really run.
    running: BTreeSet<(String, String)>,
    seq: i64,
    version: u64,
    /// Run at most this many actions per transition (those without unfinished
    /// predecessors), then replan: what an aborted transition leaves behind.
    per_round: usize,
    /// Recurring operations cancelled so far.
    cancelled: usize,
}

impl Sim {
    fn new(manifests: &str) -> Result<Sim> {
        let mut idx = Index::default();
        for o in parse_manifests(manifests)? {
            idx.apply_config(o);
        }
        let mut sim = Sim {
            idx,
            histories: BTreeMap::new(),
            running: BTreeSet::new(),
            seq: 0,
            version: 0,
            per_round: usize::MAX,
            cancelled: 0,
        };
        for node in sim.idx.configured_nodes() {
            sim.histories.insert(node, NodeHistory::default());
        }
        sim.publish();
        Ok(sim)
    }

    fn now_ms() -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }

    /// Every agent renews its Lease and publishes its NodeState.
    fn publish(&mut self) {
        self.version += 1;
        for (node, h) in &self.histories {
            self.idx.leases.insert(
                node.clone(),
                LeaseView {
                    holder: Some(node.clone()),
                    renew_ms: Some(Self::now_ms()),
                    duration_s: Some(60),
                },
            );
            let mut ns = NodeState::new(
                node,
                report::node_state_spec(h, node, None, &BTreeMap::new()),
            );
            ns.metadata.resource_version = Some(self.version.to_string());
            self.idx.apply_node_state(ns);
        }
    }

    /// One DC round: the summary of what was scheduled (empty when settled).
    fn round(&mut self) -> Result<Vec<String>> {
        let snap = snapshot::build(&self.idx, Self::now_ms(), 60)?;
        let s = pacer_scheduler::schedule(&snap.whole(), Some(snap.now_s))?;
        let actions = plan::actions(&s, &self.idx);
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        self.seq += 1;
        let name = format!("t-{}", self.seq);
        let t = Transition::new(
            &name,
            TransitionSpec {
                seq: self.seq,
                actions: actions.clone(),
                ..Default::default()
            },
        );
        let ready: Vec<&pacer_crds::TransitionAction> = if self.per_round == usize::MAX {
            t.spec.actions.iter().collect()
        } else {
            t.spec
                .actions
                .iter()
                .filter(|a| a.after.is_empty())
                .take(self.per_round)
                .collect()
        };
        for a in ready {
            // Agents this build cannot run (e.g. stonith:external/*) end the simulation.
            let work = request_for(&name, a)
                .map_err(|e| anyhow::anyhow!("the simulation does not run {}: {e}", a.task))?;
            let request = match work {
                // Secret values resolved as the agent does (the history must not see them).
                Work::Resource {
                    mut request,
                    secret_params,
                } => {
                    pacer_agent::dispatch::resolve_secrets(&mut request, &secret_params, |s, k| {
                        Some(format!("value-of-{s}/{k}"))
                    })
                    .map_err(|e| anyhow::anyhow!("resolving Secrets: {e}"))?;
                    request
                }
                Work::Cancel {
                    resource, op_key, ..
                } => {
                    self.cancelled += 1;
                    if let Some(h) = self.histories.get_mut(&a.node) {
                        h.cancel_recurring(&resource, &op_key);
                    }
                    continue;
                }
                other => bail!("unexpected action {other:?}"),
            };
            let key = (request.resource.clone(), a.node.clone());
            let rc = match (request.action.as_str(), request.interval.is_zero()) {
                ("start", _) => {
                    self.running.insert(key);
                    0
                }
                ("stop", _) => {
                    self.running.remove(&key);
                    0
                }
                ("monitor", _) => {
                    if self.running.contains(&key) {
                        0
                    } else {
                        7
                    }
                }
                (other, _) => bail!("the simulation does not run {other}"),
            };
            let mut result = ActionResult::ok();
            result.rc = rc;
            result.status = OpStatus::Done;
            let h = self
                .histories
                .get_mut(&a.node)
                .with_context(|| format!("action for unknown node {}", a.node))?;
            h.complete(&request, &result, jiff::Timestamp::now());
        }
        self.check_no_double_start()?;
        self.publish();
        Ok(s.summary)
    }

    /// Rounds until nothing is scheduled; fails after `max` rounds.
    fn settle(&mut self, what: &str, max: usize) -> Result<usize> {
        let mut log = Vec::new();
        for n in 0..max {
            let summary = self.round()?;
            if summary.is_empty() {
                return Ok(n);
            }
            log.push(summary.join(" | "));
        }
        bail!(
            "{what}: still scheduling after {max} rounds:\n  {}",
            log.join("\n  ")
        )
    }

    /// Primitives outside clones must never be active on two nodes.
    fn check_no_double_start(&self) -> Result<()> {
        let mut by_rsc: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (r, n) in &self.running {
            by_rsc.entry(r).or_default().push(n);
        }
        for (r, nodes) in by_rsc {
            let cloned = r.contains(':') || self.clone_children().contains(r);
            ensure!(cloned || nodes.len() <= 1, "{r} runs on {nodes:?}");
        }
        Ok(())
    }

    fn clone_children(&self) -> BTreeSet<String> {
        self.idx
            .config
            .values()
            .filter_map(|o| match o {
                Object::Clone(c) => Some(c.spec.resource.clone()),
                _ => None,
            })
            .collect()
    }

    fn set_standby(&mut self, node: &str, on: bool) -> Result<()> {
        let o = self
            .idx
            .config
            .values()
            .find_map(|o| match o {
                Object::ClusterNode(n) if kube::ResourceExt::name_any(n) == node => Some(n.clone()),
                _ => None,
            })
            .with_context(|| format!("no ClusterNode {node}"))?;
        let mut o = o;
        o.spec.standby = Some(on);
        o.metadata.generation = Some(o.metadata.generation.unwrap_or(1) + 1);
        self.idx.apply_config(Object::ClusterNode(o));
        Ok(())
    }

    fn set_property(&mut self, key: &str, value: &str) -> Result<()> {
        let mut p = self
            .idx
            .config
            .values()
            .find_map(|o| match o {
                Object::ClusterProperties(p) => Some(p.clone()),
                _ => None,
            })
            .context("no ClusterProperties")?;
        p.spec
            .properties
            .get_or_insert_with(Default::default)
            .insert(key.into(), value.into());
        p.metadata.generation = Some(p.metadata.generation.unwrap_or(1) + 1);
        self.idx.apply_config(Object::ClusterProperties(p));
        Ok(())
    }

    /// Nodes where something whose agent-side name starts with `prefix` runs.
    fn hosts_of(&self, prefix: &str) -> BTreeSet<String> {
        self.running
            .iter()
            .filter(|(r, _)| r == prefix || r.starts_with(&format!("{prefix}:")))
            .map(|(_, n)| n.clone())
            .collect()
    }
}

fn example(dir: &str) -> Result<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(dir)
        .join("manifests.yaml");
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

#[test]
fn standby_and_online_settle_with_anonymous_and_unique_clones() -> Result<()> {
    // S6: a globally-unique IP clone (2 copies, 2 per node) and an anonymous clone
    // colocated with it, on two nodes; dl380g5d starts in standby.
    let mut sim = Sim::new(&example("s6-standby")?)?;
    let rounds = sim.settle("initial placement", 6)?;
    eprintln!("initial placement settled after {rounds} rounds");
    ensure!(
        sim.hosts_of("HttpProxy") == BTreeSet::from(["dl380g5c".to_string()]),
        "HttpProxy runs on {:?}",
        sim.hosts_of("HttpProxy")
    );

    for (node, on) in [
        ("dl380g5d", false),
        ("dl380g5c", true),
        ("dl380g5c", false),
        ("dl380g5d", true),
        ("dl380g5d", false),
    ] {
        sim.set_standby(node, on)?;
        let what = format!("standby {node}={on}");
        let rounds = sim.settle(&what, 6)?;
        eprintln!("{what} settled after {rounds} rounds");
        let proxy = sim.hosts_of("HttpProxy");
        let ip = sim.hosts_of("ClusterIP");
        ensure!(!proxy.is_empty(), "{what}: HttpProxy runs nowhere");
        ensure!(
            proxy.is_subset(&ip),
            "{what}: HttpProxy on {proxy:?} but ProxyIP on {ip:?}"
        );
        if on {
            ensure!(
                !proxy.contains(node) && !ip.contains(node),
                "{what}: {node} still runs HttpProxy {proxy:?} / ProxyIP {ip:?}"
            );
        }
    }
    Ok(())
}

/// The same moves when every transition is cut short after its first action(s), as
/// aborts do: the history names must still line up with what the DC asks for.
#[test]
fn standby_moves_settle_when_transitions_are_cut_short() -> Result<()> {
    for per_round in [1, 2, 3] {
        let mut sim = Sim::new(&example("s6-standby")?)?;
        sim.per_round = per_round;
        sim.settle("initial placement", 40)?;
        for (node, on) in [
            ("dl380g5d", false),
            ("dl380g5c", true),
            ("dl380g5c", false),
            ("dl380g5d", true),
            ("dl380g5d", false),
            ("dl380g5c", true),
        ] {
            sim.set_standby(node, on)?;
            let what = format!("{per_round} action(s) per round, standby {node}={on}");
            let rounds = sim.settle(&what, 40)?;
            eprintln!("{what} settled after {rounds} rounds");
        }
    }
    Ok(())
}

/// Maintenance cancels the recurring monitors and nothing else; leaving it re-arms them
/// without starting or stopping anything — and neither state loops.
#[test]
fn maintenance_cancels_monitors_and_leaving_it_rearms_them() -> Result<()> {
    let mut sim = Sim::new(&example("s3-vip")?)?;
    sim.settle("initial placement", 6)?;
    let recurring = |sim: &Sim| -> usize {
        sim.histories
            .values()
            .map(|h| {
                h.resources
                    .values()
                    .map(|r| r.recurring.len())
                    .sum::<usize>()
            })
            .sum()
    };
    let armed = recurring(&sim);
    ensure!(armed > 0, "no recurring monitor after placement");
    let running = sim.running.clone();
    sim.set_property("maintenance-mode", "true")?;
    sim.settle("maintenance on", 4)?;
    ensure!(
        recurring(&sim) == 0,
        "monitors left in maintenance: {}",
        recurring(&sim)
    );
    ensure!(
        sim.cancelled == armed,
        "cancelled {} of {armed}",
        sim.cancelled
    );
    ensure!(
        sim.running == running,
        "maintenance started or stopped something"
    );
    sim.set_property("maintenance-mode", "false")?;
    sim.settle("maintenance off", 4)?;
    ensure!(
        recurring(&sim) == armed,
        "monitors not re-armed: {}",
        recurring(&sim)
    );
    ensure!(
        sim.running == running,
        "leaving maintenance started or stopped something"
    );
    Ok(())
}

#[test]
fn every_example_settles() -> Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(&root)? {
        let dir = entry?.path();
        let file = dir.join("manifests.yaml");
        if !file.exists() {
            continue;
        }
        let text = std::fs::read_to_string(&file)?;
        let Ok(mut sim) = Sim::new(&text) else {
            continue;
        };
        if sim.histories.is_empty() {
            continue;
        }
        let name = dir.display().to_string();
        match sim.settle(&name, 8) {
            Ok(r) => eprintln!("{name}: settled after {r} rounds"),
            // Fencing devices and promotable agents are not simulated here.
            Err(e) if e.to_string().contains("does not run") => {
                eprintln!("{name}: skipped ({e})");
                continue;
            }
            Err(e) => return Err(e),
        }
        checked += 1;
    }
    ensure!(checked >= 3, "only {checked} examples were simulated");
    Ok(())
}

/// A primitive first applied on its own and then wrapped in a globally-unique clone
/// (`kubectl apply -f dir/` creates objects one by one, and users do add clones to
/// running resources): the history entry without an instance number becomes a surplus
/// copy, and its stop must act on that entry, or the DC stops a copy that never stops.
#[test]
fn a_running_primitive_wrapped_in_a_unique_clone_settles() -> Result<()> {
    let all = parse_manifests(&example("s6-standby")?)?;
    let (clones, rest): (Vec<Object>, Vec<Object>) =
        all.into_iter().partition(|o| matches!(o, Object::Clone(_)));
    let mut sim = Sim::new("")?;
    for o in rest {
        sim.idx.apply_config(o);
    }
    for node in sim.idx.configured_nodes() {
        sim.histories.entry(node).or_default();
    }
    sim.publish();
    sim.settle("the primitives on their own", 6)?;
    ensure!(
        sim.running.iter().any(|(r, _)| r == "ClusterIP"),
        "ClusterIP runs as a plain primitive first: {:?}",
        sim.running
    );
    for o in clones {
        sim.idx.apply_config(o);
    }
    let rounds = sim.settle("after adding the clones", 6)?;
    eprintln!("adding the clones settled after {rounds} rounds");
    ensure!(
        !sim.running.iter().any(|(r, _)| r == "ClusterIP"),
        "the unnumbered copy was stopped: {:?}",
        sim.running
    );
    ensure!(
        sim.hosts_of("ClusterIP").len() == 1
            && sim.hosts_of("HttpProxy") == sim.hosts_of("ClusterIP"),
        "the clones run where they should: {:?}",
        sim.running
    );
    Ok(())
}

/// A fence device whose password comes from a Secret: the DC only knows a placeholder for
/// the value, the agent records the digest without it (op-secure-params/-digest), and the
/// two must agree, or the DC restarts the device as "changed" every round (each restart
/// runs the fence agent against the BMC).
#[test]
fn a_device_with_a_secret_password_is_not_restarted_as_changed() -> Result<()> {
    let mut sim = Sim::new(
        r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: cluster}
spec: {properties: {stonith-enabled: "true"}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterNode
metadata: {name: n1}
spec: {}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterNode
metadata: {name: n2}
spec: {}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: fence-n1}
spec:
  class: stonith
  type: fence_dummy
  params: {ip: 10.0.0.1, username: admin, pcmk_host_list: n1}
  paramsFrom: [{name: password, secretKeyRef: {name: ipmi, key: password}}]
"#,
    )?;
    let rounds = sim.settle("a device with a Secret-backed password", 6)?;
    eprintln!("settled after {rounds} rounds");
    ensure!(
        sim.running.iter().any(|(r, _)| r == "fence-n1"),
        "the device runs: {:?}",
        sim.running
    );
    Ok(())
}
