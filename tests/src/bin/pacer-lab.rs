//! `pacer-lab`: a whole pacer cluster on this machine for `demo.sh` — control plane,
//! namespace hosts with real agents, two operator replicas — kept up until SIGINT/SIGTERM.
//!
//! In: flags; then commands, one per line, written to the FIFO `DIR/control`:
//! `crash ADDR RESOURCE` (kill -9 the agent of the host answering ADDR and cut its link,
//! measure the move) and `stop ADDR RESOURCE` (clean agent stop). Out: `DIR/lab.env` (shell
//! variables: kubeconfig, namespace, host namespaces, log dir) once ready, and one result
//! line per command in `DIR/results`. Everything is torn down on exit.

use std::{io::Write, path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use clap::Parser;
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions},
    failover::{self, Fault},
};
use tokio::io::AsyncBufReadExt;

#[derive(Parser, Debug)]
#[command(name = "pacer-lab")]
struct Args {
    #[arg(long)]
    dir: PathBuf,
    #[arg(long, default_value_t = 3)]
    hosts: usize,
    #[arg(long, default_value_t = 250)]
    lease_interval_ms: u64,
    #[arg(long, default_value_t = 1)]
    lease_duration_s: u64,
    #[arg(long, default_value_t = 100)]
    tick_ms: u64,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.dir)?;
    let opts = ClusterOptions {
        hosts: args.hosts,
        operators: 2,
        lease_interval: Duration::from_millis(args.lease_interval_ms),
        lease_duration_s: args.lease_duration_s,
        operator_args: vec![format!("--tick-ms={}", args.tick_ms)],
        shutdown_timeout: "30s".into(),
    };
    let cluster = Cluster::start_owned("demo", opts).await?;
    let fifo = args.dir.join("control");
    let _ = std::fs::remove_file(&fifo);
    let status = std::process::Command::new("mkfifo").arg(&fifo).status()?;
    anyhow::ensure!(status.success(), "mkfifo {}", fifo.display());

    let mut env = String::new();
    let q = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    env += &format!("KUBECONFIG={}\n", q(&cluster.env.admin_kubeconfig()?.to_string_lossy()));
    env += &format!("KUBECTL_BIN={}\n", q(&cluster.env.binary().to_string_lossy()));
    env += &format!("NS={}\n", q(&cluster.ns));
    env += &format!("LOGS={}\n", q(&cluster.dir.path().to_string_lossy()));
    env += &format!("CLIENT_NETNS={}\n", q(&cluster.hosts.client.netns));
    env += &format!("BRIDGE_NETNS={}\n", q(&cluster.hosts.bridge_ns));
    env += &format!("HOSTS={}\n", q(&cluster.host_names().join(" ")));
    for h in &cluster.hosts.hosts {
        env += &format!("NETNS_{}={}\nMAC_{}={}\n", h.name, q(&h.netns), h.name, q(&h.mac));
    }
    let groups: Vec<String> = cluster.process_groups().iter().map(|g| g.to_string()).collect();
    env += &format!("PGIDS={}\n", q(&groups.join(" ")));
    let env_path = args.dir.join("lab.env");
    std::fs::write(args.dir.join("lab.env.tmp"), env)?;
    std::fs::rename(args.dir.join("lab.env.tmp"), &env_path)?;
    eprintln!("pacer-lab: ready ({})", env_path.display());

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        // Opening a FIFO for reading blocks until a writer comes: reopen per writer.
        let file = tokio::select! {
            f = tokio::fs::File::open(&fifo) => f.with_context(|| format!("opening {}", fifo.display()))?,
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        };
        let mut lines = tokio::io::BufReader::new(file).lines();
        while let Some(line) = lines.next_line().await? {
            let words: Vec<&str> = line.split_whitespace().collect();
            let result = match words.as_slice() {
                ["crash" | "stop", addr, rsc] => {
                    let fault = if words[0] == "crash" { Fault::Crash } else { Fault::CleanStop };
                    match failover::measure(&cluster, rsc, addr, fault, Duration::from_secs(60)).await {
                        Ok(r) => format!(
                            "OK from={} to={} detection_ms={} start_ms={} arp_ms={} tcp_ms={} double_holders={}",
                            r.from,
                            r.to.as_deref().unwrap_or("-"),
                            r.detection.map_or(-1, |d| d.as_millis() as i64),
                            r.start.map_or(-1, |d| d.as_millis() as i64),
                            r.arp.map_or(-1, |d| d.as_millis() as i64),
                            r.tcp.map_or(-1, |d| d.as_millis() as i64),
                            r.double_holders.len()
                        ),
                        Err(e) => format!("FAILED {}", format!("{e:#}").replace('\n', " | ")),
                    }
                }
                _ => format!("FAILED unknown command {line:?}"),
            };
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(args.dir.join("results"))?;
            writeln!(f, "{result}")?;
        }
    }
    eprintln!("pacer-lab: shutting down");
    drop(cluster);
    Ok(())
}
