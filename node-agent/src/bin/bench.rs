//! `pacer-agent-bench`: idle cost of the executor with N Dummy resources, each with a
//! recurring monitor. Starts them, arms the monitors, then measures for a while:
//! RSS of this process (VmRSS/VmHWM) and CPU of this process and, separately, of the
//! agent processes it forked (children's utime+stime), as shares of one core.
//!
//! `pacer-agent-bench --resources 100 --interval 10s --duration 60s`

use anyhow::{Context, Result};
use clap::Parser;
use pacer_agent::{ActionRequest, Agent, ExecutorConfig, LocalResourceManager};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value_t = 100)]
    resources: usize,
    #[arg(long, default_value = "10s", value_parser = parse_dur)]
    interval: Duration,
    #[arg(long, default_value = "60s", value_parser = parse_dur)]
    duration: Duration,
    /// Agent: ocf:heartbeat:Dummy (forks a shell per monitor) or pacer:IPaddr2 is not
    /// meaningful here; only Dummy is supported.
    #[arg(long, default_value_t = 4)]
    parallel: usize,
}

fn parse_dur(s: &str) -> Result<Duration, String> {
    pacer_agent::op::parse_duration(s).map_err(|e| e.to_string())
}

/// (utime+stime of self, cutime+cstime of reaped children) in clock ticks.
fn cpu_ticks() -> Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    let after = stat
        .rfind(')')
        .map(|i| &stat[i + 2..])
        .context("malformed /proc/self/stat")?;
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // After the comm field: state=0, ..., utime=11, stime=12, cutime=13, cstime=14.
    Ok((f[11] + f[12], f[13] + f[14]))
}

fn status_kb(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{field} not in /proc/self/status"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    // The agent runs a single-threaded runtime; measure the same.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let dir = tempfile_dir()?;
    let (lrm, mut events) = LocalResourceManager::new(ExecutorConfig {
        max_parallel: args.parallel,
        ..ExecutorConfig::default()
    });
    // Drain events as the API-facing part would.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let dummy = Agent::parse("ocf", Some("heartbeat"), "Dummy")?;
    let setup = Instant::now();
    for i in 0..args.resources {
        let state = dir.join(format!("r{i}.state"));
        let req = ActionRequest::new(&format!("r{i}"), dummy.clone(), "start")
            .param("state", &state.display().to_string());
        let started = lrm.perform(req.clone()).await;
        anyhow::ensure!(
            started.record.rc == 0,
            "start of r{i} failed: {:?}",
            started.record
        );
        let mut mon = req;
        mon.action = "monitor".into();
        mon.interval = args.interval;
        // Arm without the immediate first run, spread over the interval so the
        // monitors do not all fire at once (as a real cluster's starts are spread).
        lrm.monitors().arm(mon, false);
        let spread = args.interval.as_millis() as u64 / args.resources.max(1) as u64;
        tokio::time::sleep(Duration::from_millis(spread)).await;
    }
    println!(
        "started {} Dummy resources with {:?} monitors in {:?}",
        args.resources,
        args.interval,
        setup.elapsed()
    );
    let tick = 100.0; // sysconf(_SC_CLK_TCK) is 100 on Linux
    let (self0, child0) = cpu_ticks()?;
    let t0 = Instant::now();
    tokio::time::sleep(args.duration).await;
    let wall = t0.elapsed().as_secs_f64();
    let (self1, child1) = cpu_ticks()?;
    let h = lrm.history();
    let monitor_runs: i64 = h.last_call_id;
    println!("measured over {wall:.1} s");
    println!(
        "agent process: RSS {} kB (peak {} kB), CPU {:.2}% of one core",
        status_kb("VmRSS:")?,
        status_kb("VmHWM:")?,
        (self1 - self0) as f64 / tick / wall * 100.0
    );
    println!(
        "forked Dummy agents: CPU {:.2}% of one core",
        (child1 - child0) as f64 / tick / wall * 100.0
    );
    println!(
        "operations so far: {monitor_runs} (history holds {} resources, {} recurring records)",
        h.resources.len(),
        h.resources
            .values()
            .map(|r| r.recurring.len())
            .sum::<usize>()
    );
    for i in 0..args.resources {
        lrm.forget(&format!("r{i}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("pacer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    Ok(dir)
}
