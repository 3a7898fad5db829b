//! `pacer-agent`: the node agent binary. For now it runs single actions locally for
//! debugging (`exec`, `meta-data`); `run` (the API-facing loop: Lease, NodeState,
//! transitions) is the part still to be wired to the pacer-crds types.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use pacer_agent::{
    ActionRequest, Agent, ExecutorConfig, LocalResourceManager, op::parse_duration,
    stonith::FenceAction,
};
use std::{path::PathBuf, time::Duration};

#[derive(Parser, Debug)]
#[command(name = "pacer-agent", version, about = "pacer node agent")]
struct Cli {
    /// This node's name (as in the cluster's Node objects).
    #[arg(long, env = "PACER_NODE_NAME", global = true)]
    node_name: Option<String>,
    /// Run every agent inside this network namespace (test hosts).
    #[arg(long, global = true)]
    netns: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one action locally and print the result as JSON.
    Exec(ExecArgs),
    /// Print an agent's parsed meta-data as JSON.
    MetaData {
        #[arg(long)]
        class: String,
        #[arg(long)]
        provider: Option<String>,
        #[arg(long = "type")]
        kind: String,
    },
    /// Run a fence agent action (credentials as --param, passed on stdin only).
    Fence {
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        action: String,
        #[arg(long)]
        plug: Option<String>,
        #[arg(long = "param", value_parser = parse_kv)]
        params: Vec<(String, String)>,
        #[arg(long, default_value = "60s", value_parser = parse_dur)]
        timeout: Duration,
    },
    /// The node agent: renew this node's Lease, run its Transition actions, publish
    /// its NodeState (docs/protocol.md).
    Run {
        #[arg(long, env = "KUBECONFIG")]
        kubeconfig: Option<PathBuf>,
        /// The cluster's namespace (default: the kubeconfig's or in-cluster namespace).
        #[arg(long, env = "PACER_NAMESPACE")]
        namespace: Option<String>,
        #[arg(long, default_value = "1s", value_parser = parse_dur)]
        lease_interval: Duration,
        #[arg(long, default_value = "4s", value_parser = parse_dur)]
        lease_duration: Duration,
        /// Watchdog device to pet while the Lease is fresh (e.g. /dev/watchdog).
        #[arg(long)]
        watchdog: Option<PathBuf>,
        /// How long the node may be unhealthy before petting stops.
        #[arg(long, default_value = "10s", value_parser = parse_dur)]
        watchdog_timeout: Duration,
        /// Operations running at once across resources.
        #[arg(long, default_value_t = 4)]
        max_parallel: usize,
        /// On SIGTERM, how long to wait for resources to be moved away before leaving.
        #[arg(long, default_value = "5min", value_parser = parse_dur)]
        shutdown_timeout: Duration,
    },
}

#[derive(clap::Args, Debug)]
struct ExecArgs {
    /// ocf, lsb, systemd, stonith or pacer.
    #[arg(long)]
    class: String,
    #[arg(long)]
    provider: Option<String>,
    #[arg(long = "type")]
    kind: String,
    #[arg(long)]
    action: String,
    /// Resource id (OCF_RESOURCE_INSTANCE).
    #[arg(long, default_value = "debug")]
    resource: String,
    /// NAME=VALUE, repeatable.
    #[arg(long = "param", value_parser = parse_kv)]
    params: Vec<(String, String)>,
    /// Meta attribute NAME=VALUE passed as OCF_RESKEY_CRM_meta_NAME, repeatable.
    #[arg(long = "meta", value_parser = parse_kv)]
    meta: Vec<(String, String)>,
    #[arg(long, default_value = "20s", value_parser = parse_dur)]
    timeout: Duration,
    #[arg(long, default_value = "0", value_parser = parse_dur)]
    interval: Duration,
    #[arg(long)]
    check_level: Option<u32>,
    /// Skip meta-data checks and validate-all before start.
    #[arg(long)]
    no_validate: bool,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("'{s}' is not NAME=VALUE")),
    }
}

fn parse_dur(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg = ExecutorConfig {
        node_name: cli.node_name.clone(),
        netns: cli.netns.clone(),
        ..ExecutorConfig::default()
    };
    match cli.command {
        Command::Exec(args) => exec(cfg, args).await,
        Command::MetaData {
            class,
            provider,
            kind,
        } => {
            let agent = Agent::parse(&class, provider.as_deref(), &kind)?;
            let (lrm, _events) = LocalResourceManager::new(cfg);
            let md = lrm.executor().meta_data(&agent).await?;
            let params: Vec<_> = md
                .parameters
                .iter()
                .map(|p| {
                    serde_json::json!({"name": p.name, "required": p.required,
                        "unique": p.unique, "default": p.default})
                })
                .collect();
            let actions: Vec<_> = md
                .actions
                .iter()
                .map(|a| {
                    serde_json::json!({"name": a.name,
                    "timeoutMs": a.timeout.map(|t| t.as_millis() as u64),
                    "intervalMs": a.interval.map(|t| t.as_millis() as u64)})
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"agent": agent.to_string(), "parameters": params, "actions": actions})
                )?
            );
            Ok(())
        }
        Command::Fence {
            kind,
            action,
            plug,
            params,
            timeout,
        } => {
            let Some(action) = FenceAction::parse(&action) else {
                bail!(
                    "unknown fence action '{action}'; use off, on, reboot, status, monitor, list"
                );
            };
            let (lrm, _events) = LocalResourceManager::new(cfg);
            let params = params.into_iter().collect();
            let result = lrm
                .executor()
                .fence_agent("cli", &kind, &params, action, plug.as_deref(), timeout)
                .await;
            println!("{}", serde_json::to_string_pretty(&result)?);
            std::process::exit(if result.rc == 0 { 0 } else { 1 });
        }
        Command::Run {
            kubeconfig,
            namespace,
            lease_interval,
            lease_duration,
            watchdog,
            watchdog_timeout,
            max_parallel,
            shutdown_timeout,
        } => {
            let Some(node) = cli.node_name.clone() else {
                bail!("`run` needs --node-name (or PACER_NODE_NAME): this node's cluster name");
            };
            let client = match &kubeconfig {
                Some(path) => {
                    let kc = kube::config::Kubeconfig::read_from(path)
                        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
                    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                        .await
                        .with_context(|| format!("using kubeconfig {}", path.display()))?;
                    kube::Client::try_from(config)?
                }
                None => kube::Client::try_default()
                    .await
                    .context("no kubeconfig given and no in-cluster configuration")?,
            };
            let namespace = namespace.unwrap_or_else(|| client.default_namespace().to_string());
            let opts = pacer_agent::node::NodeOptions {
                node,
                namespace,
                lease_interval,
                lease_duration,
                watchdog: watchdog.map(|path| pacer_agent::watchdog::WatchdogConfig {
                    path,
                    pet_interval: (watchdog_timeout / 4).max(Duration::from_millis(100)),
                    timeout: watchdog_timeout,
                }),
                executor: ExecutorConfig {
                    max_parallel,
                    ..cfg
                },
                shutdown_timeout,
            };
            pacer_agent::node::run(client, opts).await?;
            Ok(())
        }
    }
}

async fn exec(mut cfg: ExecutorConfig, args: ExecArgs) -> Result<()> {
    let agent = Agent::parse(&args.class, args.provider.as_deref(), &args.kind)
        .context("--class/--provider/--type")?;
    cfg.validate_before_start = !args.no_validate;
    cfg.record_pending = false;
    let mut req = ActionRequest::new(&args.resource, agent, &args.action)
        .timeout(args.timeout)
        .interval(args.interval);
    req.params = args.params.into_iter().collect();
    req.meta = args.meta.into_iter().collect();
    req.check_level = args.check_level;
    let (lrm, _events) = LocalResourceManager::new(cfg);
    // One run even for an interval: a debugging exec is not a recurring monitor.
    let recorded = lrm.executor().execute(&req).await;
    lrm.executor().drain_background().await;
    let mut shown = serde_json::to_value(&recorded.record)?;
    if let Some(obj) = shown.as_object_mut() {
        obj.insert("failed".into(), recorded.failed.into());
        if !recorded.output.is_empty() {
            obj.insert("output".into(), recorded.output.clone().into());
        }
    }
    println!("{}", serde_json::to_string_pretty(&shown)?);
    let code = if recorded.failed { 1 } else { 0 };
    std::process::exit(code);
}
