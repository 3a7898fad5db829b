//! migration-threshold=1 (seeds 000/003): one monitor failure moves a resource away from
//! its preferred host, on three network-namespace hosts with the real
//! `ocf:pacemaker:Dummy`.
//!
//! The fault is real: the Dummy's state file vanishes from the host's `/run` (what a
//! crashed service looks like to its agent), the agent's recurring monitor answers 7, the
//! agent records fail-count 1 in its NodeState, the DC stops the resource there and starts
//! it on another host — which the test checks on the hosts' own filesystems.
//! `kubectl pacer resource cleanup web` then forgets the failure and the resource returns
//! to its preferred host; after a second failure it returns when the failure expires
//! (`failure-timeout`).
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_migration_threshold -- --nocapture`.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions},
    scenario,
};

const MANIFESTS: &str = r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: cluster}
spec:
  properties: {no-quorum-policy: ignore, stonith-enabled: "false"}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: web}
spec:
  class: ocf
  provider: pacemaker
  type: Dummy
  meta: {migration-threshold: "1", failure-timeout: "20s"}
  operations:
  - {name: monitor, interval: 1s, timeout: 20s}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Location
metadata: {name: web-prefers-n1}
spec: {resource: web, node: n1, score: "100"}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_monitor_failure_moves_the_resource_with_migration_threshold_1() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start("mt", ClusterOptions::default()).await?;
    cluster.apply_yaml(MANIFESTS).await?;
    let on = |want: &'static str| {
        let cluster = &cluster;
        move || -> Result<Option<()>> {
            Ok((scenario::dummy_hosts(cluster, "web")? == vec![want.to_string()]).then_some(()))
        }
    };
    scenario::wait_until(
        &cluster,
        "web running on n1 only",
        Duration::from_secs(30),
        on("n1"),
    )
    .await?;
    wait_monitor_armed(&cluster).await?;

    // The service dies behind the cluster's back: web moves away and stays away.
    let (moved_to, took, fails) = fail_on_n1(&cluster).await?;

    // `crm_resource --cleanup -r web`: the failure is forgotten on n1 (history and fail
    // count), n1 is probed again and web returns to its preferred host at once, long
    // before the failure-timeout.
    let t = Instant::now();
    let out = cluster.pacer(&["resource", "cleanup", "web"]).await?;
    ensure!(
        out.success,
        "resource cleanup failed: {}{}",
        out.stdout,
        out.stderr
    );
    ensure!(
        out.stdout.contains("Cleaned up web on n1"),
        "cleanup should report n1: {}",
        out.stdout
    );
    let cleaned = t.elapsed();
    let attrs = scenario::transient_attributes(&cluster, "n1").await;
    ensure!(
        !attrs.keys().any(|k| k.starts_with("fail-count-web")),
        "n1 still has web's fail count after the cleanup: {attrs:?}"
    );
    scenario::wait_until(
        &cluster,
        "web back on n1 after the cleanup",
        Duration::from_secs(10),
        on("n1"),
    )
    .await?;
    let back_after_cleanup = t.elapsed();
    // The request stays on the object; its status says it was carried out.
    let request = cluster
        .kubectl(&["get", "primitive", "web", "-o", "jsonpath={.metadata.annotations.ha\\.pacer\\.dev/cleanup}"])
        .await?
        .ok()?;
    let handled = cluster
        .kubectl(&["get", "primitive", "web", "-o", "jsonpath={.status.lastCleanup.request} {.status.lastCleanup.nodes}"])
        .await?
        .ok()?;
    ensure!(
        !request.stdout.trim().is_empty() && handled.stdout.starts_with(request.stdout.trim()) && handled.stdout.contains("n1"),
        "status.lastCleanup should record request {:?} on n1: {:?}",
        request.stdout,
        handled.stdout
    );

    // A second failure; this time it expires (failure-timeout 20 s) and web may run on
    // n1 again: with no stickiness it goes back to its preferred host.
    wait_monitor_armed(&cluster).await?;
    let (moved_again, _, _) = fail_on_n1(&cluster).await?;
    let t = Instant::now();
    scenario::wait_until(
        &cluster,
        "web back on n1 after its failure expired",
        Duration::from_secs(40),
        on("n1"),
    )
    .await?;
    let back = t.elapsed();
    let status = cluster.status_of("Primitive", "web").await;
    eprintln!(
        "pacer-e2e migration-threshold: monitor failure on n1 -> web on {moved_to} after {took:?} (fail counts {fails:?}); cleanup took {cleaned:?}, web back on n1 {back_after_cleanup:?} after it was started; second failure -> {moved_again}, back on n1 {back:?} later by failure-timeout (status {status}); test {:?}",
        t0.elapsed()
    );
    Ok(())
}

/// Waits until web's recurring monitor on n1 has recorded its first run.
async fn wait_monitor_armed(cluster: &Cluster) -> Result<()> {
    let t = Instant::now();
    loop {
        let ops = scenario::ops(cluster, "n1", "web").await;
        if ops
            .iter()
            .any(|o| o.operation == "monitor" && o.interval.as_deref().is_some_and(|i| i != "0"))
        {
            return Ok(());
        }
        ensure!(
            t.elapsed() < Duration::from_secs(20),
            "web's 1 s monitor never recorded on n1: {ops:?}\nactions: {:?}\n{}",
            scenario::actions_since(cluster, 0).await,
            cluster.log_tails(30)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Removes web's state file on n1 (the service died) and waits until web runs on another
/// host, checking it is not restarted on n1 and stays away: (host, time, fail counts).
async fn fail_on_n1(cluster: &Cluster) -> Result<(String, Duration, Vec<(String, String)>)> {
    let state = scenario::dummy_state_file(cluster, "n1", "web")?
        .ok_or_else(|| anyhow::anyhow!("web's state file not found on n1"))?;
    let t = Instant::now();
    std::fs::remove_file(&state)?;
    let moved_to = scenario::wait_until(
        cluster,
        "web running on another host",
        Duration::from_secs(30),
        || {
            let hosts = scenario::dummy_hosts(cluster, "web")?;
            Ok((hosts.len() == 1 && hosts[0] != "n1").then(|| hosts[0].clone()))
        },
    )
    .await?;
    let took = t.elapsed();
    let attrs = scenario::transient_attributes(cluster, "n1").await;
    let fails: Vec<(String, String)> = attrs
        .into_iter()
        .filter(|(k, _)| k.starts_with("fail-count-web"))
        .collect();
    ensure!(
        fails
            .iter()
            .any(|(_, v)| v.as_str() == "1" || v.as_str() == "INFINITY"),
        "n1's NodeState should carry web's fail count: {fails:?}"
    );
    ensure!(
        !scenario::dummies_on(cluster, "n1")?.contains("web"),
        "web was restarted on n1 although migration-threshold is 1"
    );
    // Stays away from n1 (fail count >= threshold beats the location preference).
    tokio::time::sleep(Duration::from_secs(2)).await;
    ensure!(
        scenario::dummy_hosts(cluster, "web")? == vec![moved_to.clone()],
        "web should stay on {moved_to}"
    );
    Ok((moved_to, took, fails))
}
