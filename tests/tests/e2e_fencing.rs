//! Fencing end to end (issue 9): three namespace hosts with real agents, two operator
//! replicas, a VIP (real IPaddr2) and one `fence_ipmilan` device per host whose BMC is an
//! `ipmi_sim` on the management network (tests/src/bmc.rs: powering off downs the host's
//! cable and kills its processes). `stonith-enabled=true`, `stonith-action=off`; the IPMI
//! password lives in a Secret the devices reference.
//!
//! - crash: the VIP's host crashes (agent kill -9 + link down); a healthy node's agent
//!   powers it off through fence_ipmilan, the FencingHistory says who/what/when/result, an
//!   Event `Fenced` is published, and the VIP starts elsewhere only after the power-off
//!   (BMC power log vs. the last sample where the new host did not have the VIP, in ms).
//!   Repeated (the fenced host is rebooted in between) for a p50.
//! - wrong password: the fence fails, is retried (several failed FencingHistory records,
//!   `FenceFailed` Events) and the VIP stays down; with the Secret fixed the next retry
//!   fences and the VIP comes up elsewhere.
//! - split brain: the VIP's host loses the API server but not its clients (a blackhole
//!   route); it keeps answering until the other side fences it, and at no sampled instant
//!   do two hosts hold the VIP with a working link, nor do two hosts answer the client.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_fencing -- --nocapture --test-threads=1` (root).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::{core::v1::Secret, events::v1::Event};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams},
};
use pacer_crds::{FencingHistory, Transition};
use pacer_e2e::{
    bmc::IpmiBmcs,
    cluster::{Cluster, ClusterOptions},
    failover, fencing_manifests,
    hosts::{API_ADDRESS, ip, probe_from},
};

const VIP: &str = "10.213.0.100";
const PASSWORD: &str = "ipmi-Secret-7";

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// Fencing (shared with `failover-bench --fencing ipmi`) plus the VIP.
fn manifests(bmcs: &IpmiBmcs) -> String {
    let mut y = fencing_manifests::ipmi_fencing(bmcs, PASSWORD, &[]);
    y.push_str(&format!(
        r#"---
apiVersion: ha.pacer.dev/v1alpha1
kind: ResourceDefaults
metadata: {{name: resource-defaults}}
spec:
  meta: {{migration-threshold: "1", resource-stickiness: INFINITY}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: ip}}
spec:
  class: ocf
  provider: heartbeat
  type: IPaddr2
  params: {{ip: "{VIP}", cidr_netmask: "24", nic: eth0}}
  operations:
  - {{name: monitor, interval: 10s, timeout: 20s}}
"#
    ));
    y
}

async fn fenced_cluster(prefix: &str) -> Result<(Cluster, IpmiBmcs)> {
    let cluster = Cluster::start(prefix, ClusterOptions::default()).await?;
    let bmcs = IpmiBmcs::start(&cluster.hosts, "admin", PASSWORD)?;
    cluster.apply_yaml(&manifests(&bmcs)).await?;
    Ok((cluster, bmcs))
}

async fn settled_holder(cluster: &Cluster) -> Result<String> {
    let t = Instant::now();
    loop {
        if let Some(w) = failover::holder(cluster, VIP).await? {
            let holders = cluster.hosts.holders(VIP)?;
            ensure!(holders == vec![w.clone()], "VIP configured on {holders:?}, answered by {w}");
            return Ok(w);
        }
        ensure!(
            t.elapsed() < Duration::from_secs(40),
            "the VIP never answered\n{}",
            cluster.log_tails(30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the sampler saw, all in unix ms.
#[derive(Clone, Debug, Default)]
struct Seen {
    /// Samples where two hosts with a working link had the VIP configured.
    double_holders: Vec<(i64, Vec<String>)>,
    /// Per host: first sample with the VIP configured, and the last sample before it
    /// without (only for hosts other than the original holder).
    first_with: Vec<(String, i64, i64)>,
    /// Client probes: (ms, answering host).
    answers: Vec<(i64, String)>,
    /// Probe rounds where two different hosts answered within one round of 3 probes.
    mixed_rounds: Vec<(i64, Vec<String>)>,
}

struct Sampler {
    seen: Arc<Mutex<Seen>>,
    done: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(cluster: &Cluster, from: &str) -> Sampler {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let done = Arc::new(AtomicBool::new(false));
        let hosts: Vec<(String, String, String)> = cluster
            .hosts
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), h.netns.clone(), format!("p{}", i + 1)))
            .collect();
        let bridge = cluster.hosts.bridge_ns.clone();
        let client = cluster.hosts.client.netns.clone();
        let mut threads = Vec::new();
        {
            let (seen, done, from) = (seen.clone(), done.clone(), from.to_string());
            threads.push(std::thread::spawn(move || {
                let mut last_without: std::collections::BTreeMap<String, i64> = Default::default();
                while !done.load(Ordering::Relaxed) {
                    let t = now_ms();
                    let mut up = Vec::new();
                    for (name, ns, port) in &hosts {
                        let link = ip(&["-n", &bridge, "-o", "link", "show", port])
                            .is_ok_and(|o| !o.contains("state DOWN"));
                        let has = ip(&["-n", ns, "-o", "addr", "show", "dev", "eth0"])
                            .is_ok_and(|o| o.contains(&format!("inet {VIP}/")));
                        if has && link {
                            up.push(name.clone());
                        }
                        let Ok(mut s) = seen.lock() else { continue };
                        if *name == from {
                            continue;
                        }
                        if has {
                            if !s.first_with.iter().any(|(n, _, _)| n == name) {
                                let before = last_without.get(name).copied().unwrap_or(0);
                                s.first_with.push((name.clone(), t, before));
                            }
                        } else {
                            last_without.insert(name.clone(), t);
                        }
                    }
                    if up.len() > 1
                        && let Ok(mut s) = seen.lock()
                    {
                        s.double_holders.push((t, up));
                    }
                    std::thread::sleep(Duration::from_millis(15));
                }
            }));
        }
        {
            let (seen, done) = (seen.clone(), done.clone());
            threads.push(std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    let t = now_ms();
                    let mut round = Vec::new();
                    let mut answered = Vec::new();
                    for _ in 0..3 {
                        if let Ok(who) = probe_from(&client, VIP, Duration::from_millis(150)) {
                            // Stamped on arrival: a round takes up to 450 ms, and an answer
                            // stamped with the round's start could look older than it is.
                            answered.push((now_ms(), who.clone()));
                            round.push(who);
                        }
                    }
                    if let Ok(mut s) = seen.lock() {
                        s.answers.extend(answered);
                        let mut distinct = round.clone();
                        distinct.sort();
                        distinct.dedup();
                        if distinct.len() > 1 {
                            s.mixed_rounds.push((t, distinct));
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }));
        }
        Sampler {
            seen,
            done,
            threads,
        }
    }

    fn snapshot(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn stop(mut self) -> Seen {
        self.done.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.snapshot()
    }
}

/// The fencing records of `target`, oldest first.
async fn fence_records(cluster: &Cluster, target: &str) -> Result<Vec<FencingHistory>> {
    let api: Api<FencingHistory> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    let mut v: Vec<FencingHistory> = api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|f| f.spec.target == target)
        .collect();
    v.sort_by_key(|f| {
        f.metadata
            .name
            .as_deref()
            .and_then(|n| n.rsplit('-').next())
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(0)
    });
    Ok(v)
}

async fn events_about(cluster: &Cluster, node: &str, reason: &str) -> Result<Vec<Event>> {
    let api: Api<Event> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(node)
        })
        .collect())
}

/// When the start of the VIP on `node` was dispatched, and when the fence of `target` it
/// depends on finished (both from Transition status, seconds).
async fn start_after_fence(cluster: &Cluster, target: &str, node: &str) -> Result<(i64, i64)> {
    let api: Api<Transition> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    let ts = api.list(&ListParams::default()).await?.items;
    let mut fence_done = None;
    let mut start_at = None;
    for t in &ts {
        let Some(st) = &t.status else { continue };
        for a in &t.spec.actions {
            let Some(s) = st.actions.get(&a.id.to_string()) else { continue };
            if a.task == "fence" && a.node == target && s.state == "Confirmed" {
                let f = s.finished.as_ref().map(|x| x.0.as_millisecond());
                fence_done = fence_done.max(f);
            }
            if a.task == "start"
                && a.node == node
                && a.resource.as_deref() == Some("ip")
                && let Some(d) = &s.dispatched
            {
                let d = d.0.as_millisecond();
                start_at = Some(start_at.map_or(d, |x: i64| x.max(d)));
            }
        }
    }
    match (start_at, fence_done) {
        (Some(s), Some(f)) => Ok((s, f)),
        other => bail!("no dispatched start of ip on {node} / confirmed fence of {target}: {other:?}"),
    }
}

/// Checks one fenced failover away from `from`; returns (fence ms after the fault,
/// failover ms: fault to the first client answer from the new host).
async fn check_fenced_move(
    cluster: &Cluster,
    bmcs: &IpmiBmcs,
    from: &str,
    fault_ms: i64,
    seen: &Seen,
) -> Result<(i64, i64, String)> {
    let off = bmcs
        .powered_off_at(from)?
        .context("the BMC never powered the failed host off")?;
    ensure!(!bmcs.powered(from)?, "{from} is still powered");
    let (to, first, last_without) = seen
        .first_with
        .first()
        .cloned()
        .context("the VIP never appeared on another host")?;
    ensure!(
        last_without > off,
        "{to} got the VIP between {last_without} and {first} ms, {from} was powered off at {off}"
    );
    ensure!(seen.double_holders.is_empty(), "two holders: {:?}", seen.double_holders);
    let answered = seen
        .answers
        .iter()
        .find(|(_, w)| *w == to)
        .map(|(t, _)| *t)
        .context("the client never reached the new holder")?;
    // The record: who, what, when, result.
    let recs = fence_records(cluster, from).await?;
    let ok = recs
        .iter()
        .rev()
        .find(|r| r.spec.result == "success")
        .with_context(|| format!("no successful FencingHistory for {from}: {recs:?}"))?;
    ensure!(
        ok.spec.executor != from && cluster.host_names().contains(&ok.spec.executor),
        "executor {}",
        ok.spec.executor
    );
    ensure!(ok.spec.action == "off" && ok.spec.devices == [format!("fence-{from}")], "{:?}", ok.spec);
    let completed = ok
        .spec
        .completed
        .as_ref()
        .map(|t| t.0.as_millisecond())
        .context("no completion time")?;
    ensure!(completed >= off - 1000, "completed {completed} before the power-off {off}");
    let msg = ok.spec.message.clone().unwrap_or_default();
    ensure!(!msg.contains(PASSWORD), "password in the record: {msg}");
    let (start, fenced) = start_after_fence(cluster, from, &to).await?;
    ensure!(start >= fenced, "start dispatched at {start}, fence confirmed at {fenced}");
    cluster
        .wait_for("a Fenced Event", Duration::from_secs(10), || async {
            events_about(cluster, from, "Fenced").await.is_ok_and(|v| !v.is_empty())
        })
        .await?;
    eprintln!(
        "fenced {from} by {} ({msg}); power-off {} ms after the fault, VIP on {to} at {} ms, answering at {} ms",
        ok.spec.executor,
        off - fault_ms,
        first - fault_ms,
        answered - fault_ms
    );
    Ok((off - fault_ms, answered - fault_ms, to))
}

fn p50(mut v: Vec<i64>) -> i64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_vip_host_is_fenced_before_the_vip_moves() -> Result<()> {
    let (cluster, bmcs) = fenced_cluster("fence-crash").await?;
    let mut fences = Vec::new();
    let mut failovers = Vec::new();
    for round in 0..3 {
        let from = settled_holder(&cluster).await?;
        let sampler = Sampler::start(&cluster, &from);
        let fault = now_ms();
        cluster.crash_host(&from)?;
        let t = Instant::now();
        loop {
            let s = sampler.snapshot();
            if let Some((to, _, _)) = s.first_with.first()
                && s.answers.iter().any(|(_, w)| w == to)
            {
                break;
            }
            if t.elapsed() > Duration::from_secs(25) {
                bail!("round {round}: the VIP did not move\n{}", cluster.log_tails(30));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let seen = sampler.stop();
        let (fence, failover, _) = check_fenced_move(&cluster, &bmcs, &from, fault, &seen).await?;
        fences.push(fence);
        failovers.push(failover);
        // Bring the fenced host back for the next round (power on, fresh boot).
        bmcs.ipmitool(&from, "on")?;
        cluster.reboot_host(&from).await?;
    }
    eprintln!(
        "pacer-e2e fencing crash: fault->power-off {fences:?} ms (p50 {}), fault->VIP answering {failovers:?} ms (p50 {})",
        p50(fences.clone()),
        p50(failovers.clone())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_fence_blocks_recovery_and_is_retried() -> Result<()> {
    let (cluster, bmcs) = fenced_cluster("fence-fail").await?;
    let from = settled_holder(&cluster).await?;
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    let set_password = |pw: &str| {
        let body = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "stringData": {"password": pw}});
        let secrets = secrets.clone();
        async move {
            secrets
                .patch("ipmi", &PatchParams::apply("pacer-e2e").force(), &Patch::Apply(body))
                .await
        }
    };
    set_password("wrong-password").await?;
    let sampler = Sampler::start(&cluster, &from);
    let fault = now_ms();
    cluster.crash_host(&from)?;
    // Several failed attempts, visibly, and no recovery meanwhile.
    cluster
        .wait_for("three failed fences", Duration::from_secs(40), || async {
            fence_records(&cluster, &from)
                .await
                .is_ok_and(|r| r.iter().filter(|f| f.spec.result == "failed").count() >= 3)
        })
        .await?;
    let blocked_for = now_ms() - fault;
    let recs = fence_records(&cluster, &from).await?;
    let failed: Vec<&FencingHistory> = recs.iter().filter(|f| f.spec.result == "failed").collect();
    for f in &failed {
        let m = f.spec.message.clone().unwrap_or_default();
        ensure!(m.contains(&format!("fence-{from}")) && m.contains("failed"), "unclear failure: {m}");
        ensure!(!m.contains("wrong-password") && !m.contains(PASSWORD), "password in {m}");
    }
    eprintln!("failed fence: {:?}", failed.last().and_then(|f| f.spec.message.clone()));
    ensure!(bmcs.powered(&from)?, "the BMC powered the host off with a wrong password");
    let seen = sampler.snapshot();
    ensure!(seen.first_with.is_empty(), "the VIP was recovered without fencing: {:?}", seen.first_with);
    ensure!(
        !seen.answers.iter().any(|(t, _)| *t > fault + 500),
        "someone answered for the VIP while fencing failed: {:?}",
        seen.answers.iter().rev().take(3).collect::<Vec<_>>()
    );
    ensure!(
        !events_about(&cluster, &from, "FenceFailed").await?.is_empty(),
        "no FenceFailed Event"
    );
    // Fix the credentials: the next retry fences, then the VIP moves.
    set_password(PASSWORD).await?;
    let t = Instant::now();
    loop {
        let s = sampler.snapshot();
        if let Some((to, _, _)) = s.first_with.first()
            && s.answers.iter().any(|(_, w)| w == to)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(30) {
            bail!("the VIP did not move after the password was fixed\n{}", cluster.log_tails(30));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = sampler.stop();
    let (_, failover, to) = check_fenced_move(&cluster, &bmcs, &from, fault, &seen).await?;
    eprintln!(
        "pacer-e2e fencing wrong password: recovery blocked >= {blocked_for} ms with {} failed attempts; after the fix the VIP answered on {to} at {failover} ms",
        failed.len()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_vip_host_is_fenced_before_the_other_side_starts_the_vip() -> Result<()> {
    let (cluster, bmcs) = fenced_cluster("fence-split").await?;
    let from = settled_holder(&cluster).await?;
    let host = cluster.hosts.host(&from)?.clone();
    let sampler = Sampler::start(&cluster, &from);
    let fault = now_ms();
    // Cut the host off from the API server (the cluster) but not from its clients.
    ip(&["-n", &host.netns, "route", "replace", "blackhole", &format!("{API_ADDRESS}/32")])?;
    let t = Instant::now();
    loop {
        let s = sampler.snapshot();
        if let Some((to, _, _)) = s.first_with.first()
            && s.answers.iter().any(|(_, w)| w == to)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(30) {
            bail!("the VIP did not move\n{}", cluster.log_tails(30));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = sampler.stop();
    let off = bmcs.powered_off_at(&from)?.context("never powered off")?;
    // The isolated host kept serving until it was powered off.
    let served_until = seen
        .answers
        .iter()
        .filter(|(_, w)| *w == from)
        .map(|(t, _)| *t)
        .max()
        .unwrap_or(0);
    ensure!(
        served_until > fault,
        "the partitioned host should have kept answering after the partition"
    );
    ensure!(seen.mixed_rounds.is_empty(), "two hosts answered in one round: {:?}", seen.mixed_rounds);
    let (_, failover, to) = check_fenced_move(&cluster, &bmcs, &from, fault, &seen).await?;
    ensure!(
        seen.answers.iter().all(|(t, w)| *w == from || *t >= off),
        "{to} answered before {from} was powered off"
    );
    eprintln!(
        "pacer-e2e fencing split brain: {from} answered until {} ms, powered off at {} ms, {to} answering at {failover} ms",
        served_until - fault,
        off - fault
    );
    Ok(())
}

/// The BMC of the crashed VIP host is unreachable: fencing fails (clearly), nothing
/// recovers, until a person confirms the node is off (`kubectl pacer fence confirm`: a
/// `FencingHistory` with `result: success`, `executor: manual:<who>`, `completed: now`);
/// then the waiting fence action is confirmed at once and the VIP starts elsewhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_bmc_blocks_recovery_until_manual_confirmation() -> Result<()> {
    let (cluster, bmcs) = fenced_cluster("fence-confirm").await?;
    let from = settled_holder(&cluster).await?;
    bmcs.disconnect(&from)?;
    let sampler = Sampler::start(&cluster, &from);
    let fault = now_ms();
    cluster.crash_host(&from)?;
    cluster
        .wait_for("a fence attempt", Duration::from_secs(20), || async {
            fence_records(&cluster, &from).await.is_ok_and(|r| !r.is_empty())
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let seen = sampler.snapshot();
    ensure!(seen.first_with.is_empty(), "recovered without fencing: {:?}", seen.first_with);
    let recs = fence_records(&cluster, &from).await?;
    ensure!(
        recs.iter().all(|r| r.spec.result != "success"),
        "a fence through an unreachable BMC succeeded: {recs:?}"
    );
    eprintln!(
        "unreachable BMC: {:?}",
        recs.iter().map(|r| (r.spec.result.clone(), r.spec.message.clone())).collect::<Vec<_>>()
    );
    // The manual confirmation.
    let confirmed = now_ms();
    let now = jiff::Timestamp::now();
    let record = FencingHistory::new(
        &format!("{from}-manual-{}", now.as_second()),
        pacer_crds::FencingHistorySpec {
            target: from.clone(),
            action: "off".into(),
            executor: "manual:e2e".into(),
            result: "success".into(),
            message: Some("confirmed off manually by e2e".into()),
            completed: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now)),
            ..Default::default()
        },
    );
    let api: Api<FencingHistory> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    api.create(&Default::default(), &record).await?;
    let t = Instant::now();
    loop {
        let s = sampler.snapshot();
        if let Some((to, _, _)) = s.first_with.first()
            && s.answers.iter().any(|(_, w)| w == to)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(20) {
            bail!("the VIP did not move after the confirmation\n{}", cluster.log_tails(30));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen = sampler.stop();
    let (to, first, last_without) = seen.first_with.first().cloned().context("no new holder")?;
    ensure!(last_without >= confirmed, "{to} got the VIP before the confirmation");
    ensure!(seen.double_holders.is_empty(), "two holders: {:?}", seen.double_holders);
    eprintln!(
        "pacer-e2e fencing manual confirmation: blocked {} ms with an unreachable BMC; VIP on {to} {} ms after the confirmation",
        confirmed - fault,
        first - confirmed
    );
    Ok(())
}

/// A host process started by this test (agents with a watchdog), SIGKILLed on drop.
struct OwnAgent(std::process::Child);

impl Drop for OwnAgent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Restarts `name`'s agent with a watchdog: the "device" is `/run/pacer-watchdog` in the
/// host's private /run (pets are appended bytes).
fn agent_with_watchdog(cluster: &Cluster, name: &str) -> Result<OwnAgent> {
    use std::os::unix::process::CommandExt;
    cluster.signal_agent(name, nix::sys::signal::Signal::SIGKILL)?;
    let host = cluster.hosts.host(name)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(cluster.log_path(&format!("agent-{name}")))?;
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", &host.netns, "unshare", "-m", "--propagation", "private"])
        .args([
            "sh",
            "-c",
            "mount -t tmpfs pacer-host /run && mkdir -p /run/resource-agents /run/lock && touch /run/pacer-watchdog && exec \"$0\" \"$@\"",
        ])
        .arg(&cluster.bins.agent)
        .args(["--node-name", name, "run", "--kubeconfig"])
        .arg(cluster.dir.path().join(format!("agent-{name}.kubeconfig")))
        .args(["--namespace", &cluster.ns])
        .arg(format!("--lease-interval={}ms", cluster.opts.lease_interval.as_millis()))
        .arg(format!("--lease-duration={}s", cluster.opts.lease_duration_s))
        .args(["--watchdog", "/run/pacer-watchdog", "--watchdog-timeout=2s"])
        .env("RUST_LOG", "info,kube=warn")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    Ok(OwnAgent(child))
}

/// The harness's stand-in for a hardware watchdog: once a host's agent has petted, a
/// silence longer than `hw` "resets" the host (cable down, every process killed).
/// Returns the reset times (unix ms) per host.
fn stand_in_watchdogs(
    cluster: &Cluster,
    agents: &[(String, u32)],
    hw: Duration,
    done: Arc<AtomicBool>,
) -> Arc<Mutex<Vec<(String, i64)>>> {
    let resets: Arc<Mutex<Vec<(String, i64)>>> = Arc::default();
    for (i, h) in cluster.hosts.hosts.iter().enumerate() {
        let Some((_, pid)) = agents.iter().find(|(n, _)| *n == h.name) else { continue };
        let file = format!("/proc/{pid}/root/run/pacer-watchdog");
        let (name, ns, br, port) = (h.name.clone(), h.netns.clone(), cluster.hosts.bridge_ns.clone(), format!("p{}", i + 1));
        let (resets, done) = (resets.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = (0u64, Instant::now());
            while !done.load(Ordering::Relaxed) {
                let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(last.0);
                if size != last.0 {
                    last = (size, Instant::now());
                } else if last.0 > 0 && last.1.elapsed() > hw {
                    let _ = ip(&["-n", &br, "link", "set", &port, "down"]);
                    pacer_e2e::hosts::kill_netns_processes(&ns);
                    if let Ok(mut r) = resets.lock() {
                        r.push((name.clone(), now_ms()));
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    }
    resets
}

/// Watchdog-only cluster (`stonith-watchdog-timeout`, no fencing device): the VIP's host
/// is cut off from the API server; its agent stops petting, the stand-in watchdog resets
/// it, and the DC starts the VIP elsewhere only after stonith-watchdog-timeout past the
/// host's Lease expiry — after the reset, with never two holders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watchdog_only_cluster_waits_out_the_watchdog_before_recovery() -> Result<()> {
    let cluster = Cluster::start("fence-wd", ClusterOptions::default()).await?;
    let mut own = Vec::new();
    let mut pids = Vec::new();
    for n in cluster.host_names() {
        let a = agent_with_watchdog(&cluster, &n)?;
        pids.push((n.clone(), a.0.id()));
        own.push(a);
    }
    for n in cluster.host_names() {
        cluster
            .wait_for(&format!("{n}'s new agent"), Duration::from_secs(20), || cluster.lease_fresh(&n))
            .await?;
    }
    let done = Arc::new(AtomicBool::new(false));
    let resets = stand_in_watchdogs(&cluster, &pids, Duration::from_millis(1500), done.clone());
    cluster
        .apply_yaml(&format!(
            r#"apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {{name: cluster}}
spec:
  properties: {{stonith-enabled: "true", stonith-watchdog-timeout: "6s", startup-fencing: "false"}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ResourceDefaults
metadata: {{name: resource-defaults}}
spec:
  meta: {{migration-threshold: "1", resource-stickiness: INFINITY}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: ip}}
spec:
  class: ocf
  provider: heartbeat
  type: IPaddr2
  params: {{ip: "{VIP}", cidr_netmask: "24", nic: eth0}}
  operations:
  - {{name: monitor, interval: 10s, timeout: 20s}}
"#
        ))
        .await?;
    let from = settled_holder(&cluster).await?;
    let host = cluster.hosts.host(&from)?.clone();
    let sampler = Sampler::start(&cluster, &from);
    let fault = now_ms();
    ip(&["-n", &host.netns, "route", "replace", "blackhole", &format!("{API_ADDRESS}/32")])?;
    let t = Instant::now();
    loop {
        let s = sampler.snapshot();
        if let Some((to, _, _)) = s.first_with.first()
            && s.answers.iter().any(|(_, w)| w == to)
        {
            break;
        }
        if t.elapsed() > Duration::from_secs(30) {
            bail!("the VIP did not move\n{}", cluster.log_tails(30));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = sampler.stop();
    done.store(true, Ordering::Relaxed);
    let resets = resets.lock().map(|r| r.clone()).unwrap_or_default();
    ensure!(
        resets.iter().all(|(n, _)| *n == from),
        "only the cut-off host may reset: {resets:?}"
    );
    let reset = resets
        .iter()
        .find(|(n, _)| *n == from)
        .map(|(_, t)| *t)
        .context("the cut-off host's watchdog never fired")?;
    let (to, first, last_without) = seen.first_with.first().cloned().context("no new holder")?;
    ensure!(last_without > reset, "{to} got the VIP (after {last_without}) before {from} reset at {reset}");
    ensure!(seen.double_holders.is_empty(), "two holders: {:?}", seen.double_holders);
    ensure!(seen.mixed_rounds.is_empty(), "two hosts answered: {:?}", seen.mixed_rounds);
    ensure!(
        fence_records(&cluster, &from).await?.is_empty(),
        "no fencing device exists: nothing may claim a fence"
    );
    eprintln!(
        "pacer-e2e fencing watchdog: {from} reset {} ms after the partition, VIP on {to} at {} ms",
        reset - fault,
        first - fault
    );
    drop(own);
    Ok(())
}
