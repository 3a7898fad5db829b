//! S5 (examples/s5-maintenance-mode, seed 000): `maintenance-mode=true` stops all
//! management — nothing is stopped, started or restarted even when the configuration asks
//! for a move — and turning it off resumes management without restarts. Two hosts.
//!
//! Resources: the example's VIP `ip` (real IPaddr2) and `db` (Dummy, is-managed=false,
//! found running by the probe: its state file is created on n2 by hand, as an admin-started
//! service would be), plus `daemon`, a real process (`ocf:heartbeat:anything` running
//! `sleep`) whose PID proves it was never restarted.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_s5_maintenance -- --nocapture` (root).

use std::{
    os::unix::fs::MetadataExt,
    time::{Duration, Instant},
};

use anyhow::{Result, ensure};
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions, example_manifests},
    scenario,
};

const VIP: &str = "10.213.0.105";
/// A distinctive argument: finds the daemon's process on the hosts.
const SLEEP_ARG: &str = "987654";

fn daemon_manifest() -> String {
    format!(
        r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: daemon}}
spec:
  class: ocf
  provider: heartbeat
  type: anything
  params: {{binfile: /bin/sleep, cmdline_options: "{SLEEP_ARG}"}}
  operations:
  - {{name: monitor, interval: 2s, timeout: 20s}}
"#
    )
}

/// Where things are: (VIP holders, daemon pids by host).
fn snapshot(cluster: &Cluster) -> Result<(Vec<String>, std::collections::BTreeMap<String, Vec<i32>>)> {
    Ok((cluster.hosts.holders(VIP)?, scenario::process_map(cluster, &format!("sleep {SLEEP_ARG}"))?))
}

fn starts_or_stops(actions: &[String]) -> Vec<&String> {
    actions
        .iter()
        .filter(|a| {
            let task = a.split_whitespace().nth(1).unwrap_or("");
            matches!(task, "start" | "stop" | "promote" | "demote" | "migrate_to" | "migrate_from")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s5_maintenance_mode_freezes_everything_and_resumes_without_restarts() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start(
        "s5",
        ClusterOptions {
            hosts: 2,
            ..Default::default()
        },
    )
    .await?;
    // db was started by an admin on n2 (the cluster does not manage it).
    let db_file = cluster.host_run_dir("n2")?.join("Dummy-db.state");
    std::fs::write(&db_file, "")?;
    let db_inode = std::fs::metadata(&db_file)?.ino();

    let mut yaml = example_manifests(
        "s5-maintenance-mode",
        &[
            ("192.168.101.121", VIP),
            ("bond0", "eth0"),
            ("dl380g5c", "n1"),
            ("dl380g5d", "n2"),
        ],
    )?;
    yaml.push_str("\n---\n");
    yaml.push_str(&daemon_manifest());
    cluster.apply_yaml(&yaml).await?;
    // The example starts in maintenance mode: nothing may start.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (vip, daemon) = snapshot(&cluster)?;
    ensure!(vip.is_empty() && daemon.is_empty(), "started in maintenance mode: VIP {vip:?}, daemon {daemon:?}");

    scenario::set_property(&cluster, "maintenance-mode", "false").await?;
    let (vip_host, daemon_host, daemon_pid) =
        scenario::wait_until(&cluster, "VIP and daemon running", Duration::from_secs(30), || {
            let (vip, daemon) = snapshot(&cluster)?;
            Ok((vip.len() == 1 && daemon.len() == 1 && daemon.values().all(|p| p.len() == 1)).then(|| {
                let (h, p) = daemon.iter().next().map(|(h, p)| (h.clone(), p[0])).unwrap_or_default();
                (vip[0].clone(), h, p)
            }))
        })
        .await?;
    let t = Instant::now();
    loop {
        let ops = scenario::ops(&cluster, "n2", "db").await;
        if ops.iter().any(|o| o.operation == "monitor" && o.rc_code.as_deref() == Some("0")) {
            break;
        }
        ensure!(t.elapsed() < Duration::from_secs(20), "db never probed as running on n2: {ops:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = scenario::settled(&cluster, Duration::from_secs(2), Duration::from_secs(30)).await?;
    eprintln!("pacer-e2e s5: VIP on {vip_host}, daemon pid {daemon_pid} on {daemon_host} after {:?}", t0.elapsed());

    // Maintenance on, then ask for a move (standby both holders' hosts): nothing may happen.
    scenario::set_property(&cluster, "maintenance-mode", "true").await?;
    scenario::settled(&cluster, Duration::from_secs(1), Duration::from_secs(30)).await?;
    // Maintenance stops monitoring too: the recurring monitors are cancelled.
    let recurring = |ops: &[pacer_crds::LrmOperation]| {
        ops.iter()
            .filter(|o| o.operation == "monitor" && o.interval.as_deref().is_some_and(|i| i != "0"))
            .count()
    };
    let ops = scenario::ops(&cluster, &daemon_host, "daemon").await;
    ensure!(recurring(&ops) == 0, "daemon's monitor still recorded in maintenance mode: {ops:?}");
    for h in [&vip_host, &daemon_host] {
        scenario::patch_node(&cluster, h, serde_json::json!({ "standby": true })).await?;
    }
    let frozen_until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < frozen_until {
        let (vip, daemon) = snapshot(&cluster)?;
        ensure!(vip == vec![vip_host.clone()], "VIP moved in maintenance mode: {vip:?}");
        ensure!(
            daemon.get(&daemon_host) == Some(&vec![daemon_pid]) && daemon.len() == 1,
            "daemon touched in maintenance mode: {daemon:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let during = scenario::actions_since(&cluster, before).await;
    ensure!(starts_or_stops(&during).is_empty(), "actions in maintenance mode: {during:?}");

    // Back to normal: first clear the standby (so nothing has a reason to move), then
    // leave maintenance mode. Nothing restarts; monitors come back.
    for h in [&vip_host, &daemon_host] {
        scenario::patch_node(&cluster, h, serde_json::json!({ "standby": false })).await?;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    scenario::set_property(&cluster, "maintenance-mode", "false").await?;
    scenario::settled(&cluster, Duration::from_secs(3), Duration::from_secs(30)).await?;
    let (vip, daemon) = snapshot(&cluster)?;
    ensure!(vip == vec![vip_host.clone()], "VIP after maintenance: {vip:?}");
    let ops = scenario::ops(&cluster, &daemon_host, "daemon").await;
    ensure!(recurring(&ops) == 1, "daemon's monitor not re-armed after maintenance: {ops:?}");
    ensure!(daemon.get(&daemon_host) == Some(&vec![daemon_pid]), "daemon restarted: {daemon:?}");
    ensure!(std::fs::metadata(&db_file)?.ino() == db_inode, "db's state file was recreated (restart)");
    let after = scenario::actions_since(&cluster, before).await;
    ensure!(starts_or_stops(&after).is_empty(), "restarts after maintenance: {after:?}");
    eprintln!(
        "pacer-e2e s5: no start/stop across maintenance on/off; actions since: {after:?}; test {:?}",
        t0.elapsed()
    );
    Ok(())
}
