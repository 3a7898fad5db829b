//! S4 (examples/s4-pending-operations, seed 000): with `record-pending=true` a start that
//! takes 30 s is visible while it runs — the node's op history shows `start` pending with
//! call id -1 — then complete with rc 0 and the recurring monitor listed. Two hosts.
//!
//! The example's VIP starts in milliseconds; the slow start is the real
//! `ocf:heartbeat:Delay` agent (startdelay=30) added next to it.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_s4_pending -- --nocapture` (root).

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use pacer_crds::LrmOperation;
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions, example_manifests},
    scenario,
};

const VIP: &str = "10.213.0.104";
const START_S: u64 = 30;

fn slow_manifest() -> String {
    format!(
        r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: slow}}
spec:
  class: ocf
  provider: heartbeat
  type: Delay
  params: {{startdelay: "{START_S}", stopdelay: "0", mondelay: "0"}}
  operations:
  - {{name: start, interval: 0s, timeout: 90s}}
  - {{name: monitor, interval: 10s, timeout: 20s}}
"#
    )
}

/// `(node, op)` of the first `slow` op matching `f`, over every host.
async fn find_op(cluster: &Cluster, f: impl Fn(&LrmOperation) -> bool) -> Option<(String, LrmOperation)> {
    for h in cluster.host_names() {
        if let Some(op) = scenario::ops(cluster, &h, "slow").await.into_iter().find(|o| f(o)) {
            return Some((h, op));
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s4_a_slow_start_is_recorded_as_pending_then_complete() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start(
        "s4",
        ClusterOptions {
            hosts: 2,
            ..Default::default()
        },
    )
    .await?;
    let mut yaml = example_manifests("s4-pending-operations", &[("192.168.101.121", VIP), ("bond0", "eth0")])?;
    yaml.push_str("\n---\n");
    yaml.push_str(&slow_manifest());
    cluster.apply_yaml(&yaml).await?;

    let is_pending_start = |o: &LrmOperation| o.operation == "start" && o.call_id.as_deref() == Some("-1");
    let t = Instant::now();
    let (node, pending) = loop {
        if let Some(found) = find_op(&cluster, is_pending_start).await {
            break found;
        }
        ensure!(t.elapsed() < Duration::from_secs(30), "no pending start of slow recorded\n{}", cluster.log_tails(20));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seen_pending = Instant::now();
    eprintln!(
        "pacer-e2e s4: start of slow pending on {node} after {:?}: call id {:?}, rc {:?}, op-status {:?}",
        t0.elapsed(),
        pending.call_id,
        pending.rc_code,
        pending.op_status
    );
    // The VIP is not held back by the slow start.
    scenario::wait_until(&cluster, "the VIP up while slow starts", Duration::from_secs(15), || {
        Ok((cluster.hosts.holders(VIP)?.len() == 1).then_some(()))
    })
    .await?;
    let out = cluster.kubectl(&["get", "pacer", "-o", "wide"]).await?.ok()?;
    eprintln!("pacer-e2e s4: while starting:\n{}", out.stdout);
    // Still pending half-way through.
    tokio::time::sleep(Duration::from_secs(START_S / 2)).await;
    ensure!(
        find_op(&cluster, is_pending_start).await.is_some(),
        "the pending start vanished before the agent finished"
    );

    let t = Instant::now();
    let done = loop {
        if let Some((n, op)) = find_op(&cluster, |o| {
            o.operation == "start" && o.call_id.as_deref() != Some("-1") && o.rc_code.as_deref() == Some("0")
        })
        .await
        {
            ensure!(n == node, "the start completed on {n}, was pending on {node}");
            break op;
        }
        ensure!(
            t.elapsed() < Duration::from_secs(START_S + 20),
            "the start never completed\nactions: {:?}\n{}",
            scenario::actions_since(&cluster, 0).await,
            cluster.log_tails(40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let pending_for = seen_pending.elapsed();
    ensure!(pending_for >= Duration::from_secs(START_S / 2), "pending only {pending_for:?}");
    let t = Instant::now();
    let monitor = loop {
        if let Some((_, op)) = find_op(&cluster, |o| o.operation == "monitor"
                && o.interval.as_deref().is_some_and(|i| i != "0")
                && o.call_id.as_deref() != Some("-1")
                && o.rc_code.as_deref() == Some("0"))
            .await {
            break op;
        }
        ensure!(
            t.elapsed() < Duration::from_secs(15),
            "the recurring monitor of slow never listed\nops on {node}: {:?}\nactions: {:?}\n{}",
            scenario::ops(&cluster, &node, "slow").await,
            scenario::actions_since(&cluster, 0).await,
            cluster.log_tails(40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!(
        "pacer-e2e s4: start complete (call id {:?}, rc {:?}, exec {:?} ms) after {pending_for:?} pending; monitor {:?} interval {:?} rc {:?}; test {:?}",
        done.call_id,
        done.rc_code,
        done.exec_time,
        monitor.id,
        monitor.interval,
        monitor.rc_code,
        t0.elapsed()
    );
    Ok(())
}
