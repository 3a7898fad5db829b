//! Tiny crm_simulate stand-in for conformance runs:
//! `simulate --xml FILE [-t DATE] [-s] [-D]`.

use std::time::{SystemTime, UNIX_EPOCH};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut xml_path = None;
    let mut opts = pacer_scheduler::simulate::Options::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--xml" | "-x" => xml_path = args.next(),
            "-t" => opts.now = args.next(),
            "-s" => opts.show_scores = true,
            "-D" => opts.graph_dot = true,
            "-S" => {}
            other => {
                anyhow::bail!("unknown argument {other:?} (usage: --xml FILE [-t DATE] [-s] [-D])")
            }
        }
    }
    let path = xml_path.ok_or_else(|| anyhow::anyhow!("--xml FILE is required"))?;
    let xml = std::fs::read_to_string(&path)?;
    if opts.now.is_none() && !xml.contains("execution-date") {
        // crm_simulate evaluates against the wall clock when no date is given.
        let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
        opts.now = Some(secs.to_string());
    }
    print!("{}", pacer_scheduler::simulate::simulate_xml(&xml, &opts)?);
    Ok(())
}
