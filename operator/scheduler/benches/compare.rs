//! `cargo bench -p pacer-scheduler`: pacer's scheduler against `crm_simulate -S` on the
//! synthetic CIBs of `shared/bench/gen_cib.py N M --fail-node 2` (a settled cluster that
//! just lost node 2), in one run.
//!
//! In: the generator script (`PACER_BENCH_GEN`, default `../shared/bench/gen_cib.py` beside
//! the workspace), `crm_simulate` and `/usr/bin/time` on PATH. Out: a table with pacer's
//! in-process median time and per-resource cost, both programs' wall/CPU time and peak RSS
//! as child processes (measured the same way, by `/usr/bin/time`), the ratios, and whether
//! the two Transition Summaries agree.
//!
//! Knobs: `PACER_BENCH_RUNS` (in-process runs per size, default 9), `PACER_BENCH_CRM_LARGE=1`
//! (also run crm_simulate at 32/1000, ~30 s and ~600 MB), `PACER_BENCH_SIZES="4/20 8/100"`.
//! The bench re-executes itself with `--child FILE` to measure pacer as a child process.

use anyhow::{Context, Result, bail};
use pacer_scheduler::simulate::{Options, simulate_xml};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

/// Cluster sizes (nodes, resources); crm_simulate runs on the last only when asked.
const SIZES: &[(usize, usize)] = &[(4, 20), (8, 100), (16, 500), (32, 1000)];
/// Epoch seconds handed to both schedulers so that rules and failure timeouts agree.
const NOW: &str = "2026-01-01 00:00:00";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        let file = args.get(i + 1).context("--child needs a CIB file")?;
        return child(Path::new(file));
    }
    let runs: usize = env_or("PACER_BENCH_RUNS", "9")
        .parse()
        .context("PACER_BENCH_RUNS must be a number")?;
    let crm_large = std::env::var("PACER_BENCH_CRM_LARGE").is_ok_and(|v| v == "1");
    let sizes = match std::env::var("PACER_BENCH_SIZES") {
        Ok(s) => parse_sizes(&s)?,
        Err(_) => SIZES.to_vec(),
    };
    let gen_script = std::env::var("PACER_BENCH_GEN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/gen_cib.py")
        });
    if !gen_script.exists() {
        bail!(
            "CIB generator {} not found; set PACER_BENCH_GEN to gen_cib.py",
            gen_script.display()
        );
    }
    let time_bin = Path::new("/usr/bin/time");
    if !time_bin.exists() {
        bail!(
            "/usr/bin/time is needed to measure peak RSS of child processes (apt-get install time)"
        );
    }
    let have_crm = Command::new("crm_simulate")
        .arg("--version")
        .output()
        .is_ok();
    let dir = std::env::temp_dir().join(format!("pacer-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let me = std::env::current_exe().context("locating the bench binary to re-execute it")?;

    println!("pacer-scheduler vs crm_simulate -S on gen_cib.py N M --fail-node 2 (now = {NOW})");
    println!(
        "pacer in-process: median of {runs} runs of simulate_xml (parse + schedule + render),"
    );
    println!(
        "  wall and this thread's CPU time; 'xml' = CPU time of roxmltree::Document::parse alone"
    );
    println!(
        "child processes: wall / user+sys CPU / peak RSS from /usr/bin/time; pacer median of 3\n"
    );
    println!(
        "{:>5} {:>5} | {:>9} {:>8} {:>7} {:>8} | {:>25} | {:>27} | {:>7} {:>7} {:>6} | summary match",
        "nodes",
        "rsc",
        "pacer med",
        "cpu med",
        "xml",
        "cpu/rsc",
        "pacer child wall/cpu/rss",
        "crm child wall/cpu/rss",
        "x wall",
        "x cpu",
        "x rss"
    );
    let mut rows = Vec::new();
    for &(n, m) in &sizes {
        let file = dir.join(format!("cib_{n}_{m}.xml"));
        generate(&gen_script, n, m, &file)?;
        let xml = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        let opts = Options {
            now: Some(NOW.to_string()),
            ..Default::default()
        };
        // In-process: one warm-up, then the median.
        let out =
            simulate_xml(&xml, &opts).with_context(|| format!("pacer on {}", file.display()))?;
        let mut times = Vec::with_capacity(runs);
        let mut cpu = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let (c0, t) = (thread_cpu(), Instant::now());
            let o = simulate_xml(&xml, &opts)?;
            times.push(t.elapsed());
            cpu.push(thread_cpu().saturating_sub(c0));
            std::hint::black_box(o);
        }
        let med = median(&mut times);
        let cpu_med = median(&mut cpu);
        // The floor every CIB consumer pays: building the XML tree, nothing else.
        let mut parse = Vec::with_capacity(runs);
        for _ in 0..runs.max(1) {
            let c0 = thread_cpu();
            let doc = roxmltree::Document::parse(&xml).context("parsing the generated CIB")?;
            std::hint::black_box(&doc);
            drop(doc);
            parse.push(thread_cpu().saturating_sub(c0));
        }
        let parse_med = median(&mut parse);
        let pacer_summary = summary_lines(&out);
        // Child process, same measurement as crm_simulate.
        let mut child_runs = Vec::new();
        for _ in 0..3 {
            let mut cmd = Command::new(&me);
            cmd.arg("--child").arg(&file);
            child_runs.push(measure(time_bin, cmd, &dir)?);
        }
        child_runs.sort_by(|a, b| a.wall.total_cmp(&b.wall));
        let pc = child_runs[1].clone();
        if summary_lines(&pc.stdout) != pacer_summary {
            bail!("pacer's child process disagrees with the in-process run at {n}/{m}");
        }
        let crm = if have_crm && (m < 1000 || crm_large) {
            let mut cmd = Command::new("crm_simulate");
            cmd.arg("-x").arg(&file).arg("-S").arg("-t").arg(NOW);
            Some(measure(time_bin, cmd, &dir)?)
        } else {
            None
        };
        let per_rsc_us = cpu_med.as_secs_f64() * 1e6 / m as f64;
        let (crm_col, ratios, matched) = match &crm {
            Some(c) => {
                let want = summary_lines(&c.stdout);
                let matched = if want == pacer_summary {
                    format!("yes ({} lines)", want.len())
                } else {
                    let missing = want.iter().filter(|l| !pacer_summary.contains(l)).count();
                    let extra = pacer_summary.iter().filter(|l| !want.contains(l)).count();
                    format!("NO ({missing} missing, {extra} extra of {})", want.len())
                };
                (
                    format!(
                        "{:>7.3}s {:>7.3}s {:>7.1}MB",
                        c.wall,
                        c.cpu,
                        c.rss_kb as f64 / 1024.0
                    ),
                    format!(
                        "{:>6.0}x {:>6.0}x {:>5.1}x",
                        c.wall / pc.wall.max(1e-3),
                        c.cpu / pc.cpu.max(1e-2),
                        c.rss_kb as f64 / pc.rss_kb.max(1) as f64
                    ),
                    matched,
                )
            }
            None => (
                format!(
                    "{:>27}",
                    if have_crm {
                        "skipped (CRM_LARGE=1)"
                    } else {
                        "crm_simulate missing"
                    }
                ),
                format!("{:>7} {:>7} {:>6}", "-", "-", "-"),
                "not checked".to_string(),
            ),
        };
        println!(
            "{n:>5} {m:>5} | {:>7.1}ms {:>6.1}ms {:>5.1}ms {per_rsc_us:>6.1}us | {:>6.3}s {:>6.3}s {:>7.1}MB | {crm_col} | {ratios} | {matched}",
            med.as_secs_f64() * 1e3,
            cpu_med.as_secs_f64() * 1e3,
            parse_med.as_secs_f64() * 1e3,
            pc.wall,
            pc.cpu,
            pc.rss_kb as f64 / 1024.0
        );
        rows.push((n, m, med, cpu_med, per_rsc_us, pc, crm));
    }
    println!();
    report_targets(&rows);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// nodes, resources, in-process wall median, CPU median, CPU us per resource, pacer
/// child, crm_simulate child.
type Row = (
    usize,
    usize,
    Duration,
    Duration,
    f64,
    Measured,
    Option<Measured>,
);

/// The targets, each with the number it was judged on.
fn report_targets(rows: &[Row]) {
    let verdict = |ok: bool| if ok { "ok" } else { "MISSED" };
    if let Some((_, _, _, _, _, pc, Some(c))) = rows.iter().find(|r| r.0 == 16 && r.1 == 500) {
        let x = c.wall / pc.wall.max(1e-3);
        println!(
            "target >= 100x faster than crm_simulate at 16/500 (process wall): {x:.0}x {}",
            verdict(x >= 100.0)
        );
    }
    if let Some((_, _, med, cpu, _, _, _)) = rows.iter().find(|r| r.0 == 32 && r.1 == 1000) {
        let (ms, cpu_ms) = (med.as_secs_f64() * 1e3, cpu.as_secs_f64() * 1e3);
        println!(
            "target 32 nodes / 1000 resources under 100 ms (in-process median): {ms:.1} ms wall, {cpu_ms:.1} ms CPU {}",
            verdict(cpu_ms < 100.0)
        );
        if ms >= 100.0 && cpu_ms < 100.0 {
            println!(
                "  (wall above CPU: other processes share the cores; CPU time is the machine-independent number)"
            );
        }
    }
    // Linearity: cost per resource at the largest size against the smallest size with
    // at least 100 resources (tiny CIBs are dominated by fixed costs). The status section
    // holds one history entry per (node, resource) pair, so the input itself grows with
    // nodes x resources: the cost per history entry is printed beside it.
    let big: Vec<&Row> = rows.iter().filter(|r| r.1 >= 100).collect();
    if let (Some(first), Some(last)) = (big.first(), big.last())
        && first.1 != last.1
    {
        let growth = last.4 / first.4;
        let per_entry = |r: &Row| r.3.as_secs_f64() * 1e9 / (r.0 * r.1) as f64;
        println!(
            "linearity: CPU us/resource {:.1} at {}/{} -> {:.1} at {}/{} ({growth:.2}x for {}x the resources, {}x the nodes); \
             ns per history entry {:.0} -> {:.0} {}",
            first.4,
            first.0,
            first.1,
            last.4,
            last.0,
            last.1,
            last.1 / first.1,
            last.0 / first.0,
            per_entry(first),
            per_entry(last),
            verdict(per_entry(last) <= per_entry(first) * 1.5)
        );
    }
    let all_match = rows.iter().all(|r| match &r.6 {
        Some(c) => summary_lines(&c.stdout) == summary_lines(&r.5.stdout),
        None => true,
    });
    println!(
        "Transition Summaries equal crm_simulate's wherever it ran: {}",
        if all_match { "yes" } else { "NO" }
    );
}

/// Child mode: what `crm_simulate -S` does, for an RSS measurement in a fresh process.
fn child(file: &Path) -> Result<()> {
    let xml =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let opts = Options {
        now: Some(NOW.to_string()),
        ..Default::default()
    };
    print!("{}", simulate_xml(&xml, &opts)?);
    Ok(())
}

#[derive(Debug, Clone)]
struct Measured {
    wall: f64,
    cpu: f64,
    rss_kb: u64,
    stdout: String,
}

/// Run `cmd` under `/usr/bin/time`, returning wall and CPU seconds, peak RSS and stdout.
fn measure(time_bin: &Path, cmd: Command, dir: &Path) -> Result<Measured> {
    let report = dir.join("time.out");
    let mut timed = Command::new(time_bin);
    timed
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&report)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    let out = timed
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
    }
    let text = std::fs::read_to_string(&report)?;
    let f: Vec<&str> = text
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let num = |i: usize| -> Result<f64> {
        f.get(i)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("unexpected /usr/bin/time output {text:?}"))
    };
    Ok(Measured {
        wall: num(0)?,
        cpu: num(1)? + num(2)?,
        rss_kb: num(3)? as u64,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    })
}

fn generate(script: &Path, n: usize, m: usize, out: &Path) -> Result<()> {
    let o = Command::new("python3")
        .arg(script)
        .args([
            n.to_string(),
            m.to_string(),
            "--fail-node".into(),
            "2".into(),
        ])
        .output()
        .with_context(|| format!("running python3 {}", script.display()))?;
    if !o.status.success() {
        bail!(
            "{} {n} {m} failed: {}",
            script.display(),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    std::fs::write(out, &o.stdout).with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

/// "Transition Summary" lines, whitespace-normalised and sorted (the conformance
/// suite's comparison: a set of lines, column widths ignored).
fn summary_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Transition Summary:") {
            inside = true;
            continue;
        }
        if inside {
            if line.trim().is_empty() || !line.starts_with(' ') {
                break;
            }
            out.push(line.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    out.sort();
    out
}

/// CPU time this thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`; the
/// /proc schedstat counters only advance at scheduler ticks, too coarse for small CIBs).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

fn parse_sizes(s: &str) -> Result<Vec<(usize, usize)>> {
    let mut out = BTreeMap::new();
    for part in s.split_whitespace() {
        let (n, m) = part
            .split_once('/')
            .with_context(|| format!("size {part:?} must be NODES/RESOURCES"))?;
        out.insert(m.parse::<usize>()?, n.parse::<usize>()?);
    }
    Ok(out.into_iter().map(|(m, n)| (n, m)).collect())
}
