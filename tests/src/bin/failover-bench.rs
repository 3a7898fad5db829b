//! `failover-bench`: repeats "hard-kill the VIP's host (kill -9 agent + link down) → first
//! successful TCP connect to the VIP from the client" and prints p50/p95/max per phase.
//!
//! In: flags (runs, Lease timings, operator tick). Out: one line per run and a summary on
//! stdout; exit 1 if any run failed or two reachable hosts ever held the VIP. Between runs
//! the crashed host is "rebooted" (leftovers killed, VIP removed, empty history, link up,
//! agent started). Needs root, `tests/testenv/bin/pacer-testenv`, and builds the agent and
//! operator in release unless `PACER_AGENT_BIN`/`PACER_OPERATOR_BIN` are set.
//!
//! `--fencing ipmi`: stonith on, one simulated BMC (ipmi_sim) and one `fence_ipmilan`
//! device per host (tests/src/fencing_manifests.rs). The crashed host must be powered off
//! before the VIP is configured or answers elsewhere; the extra phase *fence* is fault →
//! BMC power-off. Between runs the host is powered on again and rebooted.
//!
//! `cargo run --release -p pacer-e2e --bin failover-bench -- --runs 20 [--fencing ipmi]`

use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};
use pacer_e2e::{
    bmc::IpmiBmcs,
    cluster::{Cluster, ClusterOptions, example_manifests},
    failover::{self, Fault, FailoverReport},
    fencing_manifests,
};

const IPMI_PASSWORD: &str = "ipmi-Bench-7";

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Fencing {
    Off,
    Ipmi,
}

#[derive(Parser, Debug)]
#[command(name = "failover-bench")]
struct Args {
    #[arg(long, default_value_t = 20)]
    runs: usize,
    #[arg(long, default_value_t = 3)]
    hosts: usize,
    /// Agent Lease renewal interval.
    #[arg(long, default_value_t = 250)]
    lease_interval_ms: u64,
    /// Agent Lease duration (whole seconds).
    #[arg(long, default_value_t = 1)]
    lease_duration_s: u64,
    /// Operator re-evaluation tick (Lease expiry has no event).
    #[arg(long, default_value_t = 100)]
    tick_ms: u64,
    #[arg(long, default_value = "10.213.0.100")]
    vip: String,
    /// `ipmi`: fence the crashed host through fence_ipmilan before recovery.
    #[arg(long, value_enum, default_value_t = Fencing::Off)]
    fencing: Fencing,
    /// Extra fence_ipmilan params, `key=value` (e.g. `stonith_status_sleep=0`).
    #[arg(long = "fence-param", value_parser = parse_param)]
    fence_params: Vec<(String, String)>,
}

fn parse_param(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("--fence-param {s:?}: expected key=value"))
}

/// `yaml` (JSON documents joined by `---`, as from [`example_manifests`]) without its
/// ClusterProperties.
fn without_cluster_properties(yaml: &str) -> Result<String> {
    let mut kept = Vec::new();
    for doc in yaml.split("\n---\n") {
        let v: serde_json::Value = serde_json::from_str(doc)?;
        if v["kind"] != "ClusterProperties" {
            kept.push(doc);
        }
    }
    Ok(kept.join("\n---\n"))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn line(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    format!(
        "{name:<10} p50 {:>5} ms  p95 {:>5} ms  max {:>5} ms  (n={})",
        percentile(&v, 0.5).as_millis(),
        percentile(&v, 0.95).as_millis(),
        v.last().copied().unwrap_or_default().as_millis(),
        v.len()
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let opts = ClusterOptions {
        hosts: args.hosts,
        operators: 2,
        lease_interval: Duration::from_millis(args.lease_interval_ms),
        lease_duration_s: args.lease_duration_s,
        operator_args: vec![format!("--tick-ms={}", args.tick_ms)],
        shutdown_timeout: "30s".into(),
    };
    eprintln!("starting control plane, {} hosts, 2 operators ...", args.hosts);
    let cluster = Cluster::start_owned("bench", opts).await?;
    let mut yaml = example_manifests(
        "s3-vip",
        &[("192.168.101.121", args.vip.as_str()), ("bond0", "eth0")],
    )?;
    let bmcs = match args.fencing {
        Fencing::Off => None,
        Fencing::Ipmi => {
            let bmcs = IpmiBmcs::start(&cluster.hosts, "admin", IPMI_PASSWORD)?;
            let params: Vec<(&str, &str)> =
                args.fence_params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            // The fencing ClusterProperties replace the example's (stonith-enabled=false,
            // no-quorum-policy=ignore: moot, two of three hosts keep quorum).
            yaml = without_cluster_properties(&yaml)?;
            yaml.push_str("\n---\n");
            yaml.push_str(&fencing_manifests::ipmi_fencing(&bmcs, IPMI_PASSWORD, &params));
            Some(bmcs)
        }
    };
    cluster.apply_yaml(&yaml).await?;
    cluster
        .wait_for("the VIP to answer", Duration::from_secs(60), || async {
            failover::holder(&cluster, &args.vip).await.ok().flatten().is_some()
        })
        .await?;
    println!(
        "lease interval {} ms, lease duration {} s, operator tick {} ms, fencing {:?} {:?}",
        args.lease_interval_ms, args.lease_duration_s, args.tick_ms, args.fencing, args.fence_params
    );
    let mut reports: Vec<FailoverReport> = Vec::new();
    let mut failures = 0;
    for run in 1..=args.runs {
        match failover::measure(&cluster, "ip", &args.vip, Fault::Crash, Duration::from_secs(60))
            .await
        {
            Ok(mut r) => {
                let fenced = match &bmcs {
                    Some(b) => r.check_fenced(b.powered_off_at(&r.from)?),
                    None => Ok(()),
                };
                println!("run {run:>2}: {}", r.summary());
                let from = r.from.clone();
                reports.push(r);
                if let Err(e) = fenced {
                    println!("run {run:>2}: FAILED {e:#}");
                    failures += 1;
                    break;
                }
                if let Some(b) = &bmcs {
                    b.ipmitool(&from, "on")?;
                }
                cluster.reboot_host(&from).await?;
            }
            Err(e) => {
                println!("run {run:>2}: FAILED {e:#}");
                failures += 1;
                eprintln!("{}", cluster.log_tails(20));
                break;
            }
        }
        // Let the rebooted node's probes and the DC settle before the next crash.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let pick = |f: fn(&FailoverReport) -> Option<Duration>| -> Vec<Duration> {
        reports.iter().filter_map(f).collect()
    };
    println!("{}", line("detection", pick(|r| r.detection)));
    if bmcs.is_some() {
        println!("{}", line("fence", pick(|r| r.fence)));
    }
    println!("{}", line("start", pick(|r| r.start)));
    println!("{}", line("arp", pick(|r| r.arp)));
    println!("{}", line("tcp", pick(|r| r.tcp)));
    let doubles: usize = reports.iter().map(|r| r.double_holders.len()).sum();
    println!("samples with two reachable VIP holders: {doubles}");
    if failures > 0 || doubles > 0 {
        bail!("{failures} failed runs, {doubles} double-holder samples");
    }
    Ok(())
}
