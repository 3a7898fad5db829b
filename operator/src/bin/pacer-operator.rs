//! `pacer-operator`: the DC candidate. Run 2+ replicas; per cluster namespace the holder
//! of the `pacer-dc` Lease schedules and drives transitions, the others watch and wait.

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, Result, bail};
use clap::Parser;
use pacer_operator::{
    controller::{self, Config},
    leader::Timing,
    metrics::Metrics,
};
use tracing::info;

#[derive(Parser, Debug)]
#[command(
    name = "pacer-operator",
    about = "pacer's DC: schedules and drives transitions for HA clusters (one per namespace)"
)]
struct Args {
    /// Cluster namespaces to manage (repeat, or comma-separated).
    #[arg(
        long = "namespace",
        env = "PACER_NAMESPACES",
        value_delimiter = ',',
        required = true
    )]
    namespaces: Vec<String>,
    /// This instance's identity in the DC Lease (the pod name).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Prometheus endpoint.
    #[arg(long, default_value = "0.0.0.0:9090")]
    metrics_addr: SocketAddr,
    /// DC Lease duration; writes stop 2/3 of it after the last renewal.
    #[arg(long, default_value_t = 6)]
    leader_lease_seconds: u64,
    #[arg(long, default_value_t = 1000)]
    leader_renew_ms: u64,
    /// Node agent Lease duration assumed when a Lease does not carry one.
    #[arg(long, default_value_t = 4)]
    node_lease_seconds: i64,
    /// Transitions kept per namespace (older ones are deleted).
    #[arg(long, default_value_t = 50)]
    keep_transitions: usize,
    #[arg(long, default_value_t = 5)]
    debounce_ms: u64,
    #[arg(long, default_value_t = 500)]
    tick_ms: u64,
    /// Schedule a configuration change once no configuration object changed for this
    /// long (`kubectl apply -f dir/` writes objects one by one)...
    #[arg(long, default_value_t = 300)]
    config_quiet_ms: u64,
    /// ...and at the latest this long after the first unscheduled change.
    #[arg(long, default_value_t = 2000)]
    config_max_wait_ms: u64,
    /// Run the fence agents the DC runs itself (when no node can fence) inside this
    /// network namespace (`/run/netns/NAME`), e.g. one that reaches the BMC network.
    #[arg(long)]
    fence_netns: Option<String>,
    /// Re-run the scheduler at least this often without input changes (failure-timeout
    /// expiry and date rules have no event).
    #[arg(long, default_value_t = 5000)]
    recheck_ms: u64,
    /// Log as JSON lines.
    #[arg(long, env = "PACER_LOG_JSON")]
    log_json: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,kube=warn".into());
    if args.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    if args.leader_renew_ms * 3 >= args.leader_lease_seconds * 2000 {
        bail!(
            "--leader-renew-ms must be well below the renew deadline (2/3 of --leader-lease-seconds)"
        );
    }
    let identity = match args.identity {
        Some(i) => i,
        None => std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| format!("pacer-operator-{}", std::process::id())),
    };
    let client = kube::Client::try_default()
        .await
        .context("connecting to the API server (in-cluster or KUBECONFIG)")?;
    let metrics = Metrics::new();
    let mut handles = Vec::new();
    for ns in &args.namespaces {
        let mut cfg = Config::new(ns, &identity);
        cfg.dc = Timing {
            lease_duration: Duration::from_secs(args.leader_lease_seconds),
            renew_interval: Duration::from_millis(args.leader_renew_ms),
        };
        cfg.node_lease_seconds = args.node_lease_seconds;
        cfg.keep_transitions = args.keep_transitions;
        cfg.debounce = Duration::from_millis(args.debounce_ms);
        cfg.tick = Duration::from_millis(args.tick_ms);
        cfg.config_quiet = Duration::from_millis(args.config_quiet_ms);
        cfg.config_max_wait = Duration::from_millis(args.config_max_wait_ms);
        cfg.fence_netns = args.fence_netns.clone();
        cfg.recheck = Duration::from_millis(args.recheck_ms);
        info!(namespace = %ns, %identity, "managing cluster");
        handles.push(controller::start(client.clone(), cfg, metrics.clone()));
    }
    let server = tokio::spawn(metrics.clone().serve(args.metrics_addr));
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("interrupted"),
        _ = term.recv() => info!("terminated"),
        r = server => bail!("metrics endpoint stopped: {r:?}"),
    }
    // Dropping the handles stops writing at once; the Lease expires for the next DC.
    drop(handles);
    Ok(())
}
