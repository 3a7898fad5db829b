//! `pacer`: the administrator's command line. CRDs, CIB XML <-> manifests, and
//! crm_simulate-style simulation of a CIB or of manifests.

use std::{
    fs,
    io::{self, Read},
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use pacer_operator::cib::{export::export_cib, import::import_cib, manifest};

#[derive(Parser)]
#[command(
    name = "pacer",
    version,
    about = "Pacemaker's CRM as a Kubernetes operator: CLI"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print every pacer CRD as multi-document YAML (pipe to `kubectl apply -f -`).
    Crds,
    /// Convert a CIB XML file (configuration and status) to pacer manifests.
    ImportCib {
        /// CIB XML file, or `-` for standard input.
        file: String,
    },
    /// Convert pacer manifests (multi-document YAML) to CIB XML.
    ExportCib {
        /// Manifest file, or `-` for standard input.
        file: String,
    },
    /// Run the scheduler on a CIB or on manifests and print what crm_simulate would.
    Simulate(SimulateArgs),
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// CIB XML file (crm_simulate's -x / --xml-file).
    #[arg(
        short = 'x',
        long = "xml",
        visible_alias = "xml-file",
        conflicts_with = "file"
    )]
    xml: Option<String>,
    /// Manifest file (multi-document YAML), exported to a CIB in memory.
    #[arg(short = 'f', long = "file")]
    file: Option<String>,
    /// Evaluate rules at this time, "YYYY-MM-DD HH:MM:SS" (crm_simulate's -t / --set-datetime).
    #[arg(short = 't', long = "date", visible_alias = "set-datetime")]
    date: Option<String>,
    /// Show allocation scores.
    #[arg(short = 's', long = "scores", visible_alias = "show-scores")]
    scores: bool,
    /// Also print the action graph; only `dot` is supported.
    #[arg(long = "graph", value_name = "FORMAT")]
    graph: Option<String>,
    /// Accepted for crm_simulate compatibility (simulation is what this command does).
    #[arg(short = 'S', long = "simulate", hide = true)]
    _simulate: bool,
}

fn read_input(path: &str) -> Result<String> {
    if path == "-" {
        let mut s = String::new();
        io::stdin()
            .read_to_string(&mut s)
            .context("reading standard input")?;
        Ok(s)
    } else {
        fs::read_to_string(path).with_context(|| format!("reading {path}"))
    }
}

fn main() -> Result<()> {
    match Cli::parse().cmd {
        Cmd::Crds => print!("{}", pacer_crds::all_crds_yaml()?),
        Cmd::ImportCib { file } => {
            let xml = read_input(&file)?;
            let objects = import_cib(&xml).with_context(|| format!("importing {file}"))?;
            print!("{}", manifest::to_yaml(&objects)?);
        }
        Cmd::ExportCib { file } => {
            let text = read_input(&file)?;
            let objects = manifest::parse_manifests(&text)
                .with_context(|| format!("reading manifests from {file}"))?;
            print!(
                "{}",
                export_cib(&objects).with_context(|| format!("exporting {file}"))?
            );
        }
        Cmd::Simulate(a) => {
            let xml = match (&a.xml, &a.file) {
                (Some(x), None) => read_input(x)?,
                (None, Some(f)) => {
                    let objects = manifest::parse_manifests(&read_input(f)?)
                        .with_context(|| format!("reading manifests from {f}"))?;
                    export_cib(&objects).with_context(|| format!("exporting {f}"))?
                }
                _ => bail!("give a CIB with --xml FILE or manifests with -f FILE"),
            };
            let graph_dot = match a.graph.as_deref() {
                None => false,
                Some("dot") => true,
                Some(other) => bail!("--graph {other:?}: only `dot` is supported"),
            };
            let opts = pacer_scheduler::simulate::Options {
                now: a.date,
                show_scores: a.scores,
                graph_dot,
            };
            let out = pacer_scheduler::simulate::simulate_xml(&xml, &opts).context("simulating")?;
            print!("{out}");
        }
    }
    Ok(())
}
