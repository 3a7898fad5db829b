//! `pacer`: the administrator's command line, also a kubectl plugin (install or symlink
//! it as `kubectl-pacer` on the PATH and run `kubectl pacer …`). Offline: CRDs, CIB XML
//! <-> manifests, crm_simulate-style simulation. Against a cluster (namespace): crm_mon's
//! status, node/resource/property changes (server-side apply, field manager
//! `kubectl-pacer`) and the transition history. See docs/kubectl-pacer.md.

use std::{
    fs,
    io::{self, Read},
};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use pacer_operator::{
    cib::{export::export_cib, import::import_cib, manifest},
    cli::{self, connect::ConnectArgs, node::NodeCmd, resource::ResourceCmd},
};

#[derive(Parser)]
#[command(
    name = "pacer",
    version,
    about = "Pacemaker's CRM as a Kubernetes operator: CLI"
)]
struct Cli {
    #[command(flatten)]
    connect: ConnectArgs,
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
    /// Convert crm shell configuration (`crm configure show` output) to manifests.
    ImportCrm {
        /// crm configuration file, or `-` for standard input.
        file: String,
        /// Cluster nodes to declare besides those in `node` statements (comma-separated).
        #[arg(long, value_delimiter = ',')]
        nodes: Vec<String>,
    },
    /// The cluster's state as crm_mon shows it (crm_mon -1, pcs status).
    Status(StatusArgs),
    /// Node standby / online / maintenance / ready (crm node …).
    #[command(subcommand)]
    Node(NodeCmd),
    /// Move, ban, clear, meta, stop/start, manage/unmanage, promote/demote, locate,
    /// restart, cleanup (crm resource …, crm_resource …, pcs resource …).
    #[command(subcommand)]
    Resource(ResourceCmd),
    /// Cluster properties: `property set K V`, `property unset K` (crm configure property).
    #[command(subcommand)]
    Property(PropertyCmd),
    /// Cluster-wide maintenance-mode on|off.
    Maintenance {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Check a configuration like crm_verify: manifests (-f, repeatable) or the live
    /// namespace. Exit code 0 clean, 1 warnings, 2 errors.
    Verify {
        /// Manifest files (multi-document YAML, `-` for stdin); none = the live cluster.
        #[arg(short = 'f', long = "file")]
        files: Vec<String>,
    },
    /// The DC's transitions: sequence, phase, actions and their results.
    History {
        /// List every action with its state and rc, and the transition summary.
        #[arg(short, long)]
        verbose: bool,
        /// Only the newest N transitions.
        #[arg(long)]
        last: Option<usize>,
    },
}

#[derive(Subcommand)]
enum PropertyCmd {
    Set { key: String, value: String },
    Unset { key: String },
}

#[derive(clap::Args)]
struct StatusArgs {
    /// text (default), wide (adds the operation history, like crm_mon -o), json or yaml.
    #[arg(short = 'o', long = "output", default_value = "text",
          value_parser = ["text", "wide", "json", "yaml"])]
    output: String,
    /// Refresh until interrupted (crm_mon without -1).
    #[arg(short = 'w', long)]
    watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 2)]
    interval: u64,
    /// Never colour the output (colour is used only on a terminal anyway).
    #[arg(long)]
    no_color: bool,
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
    #[arg(short = 'f', long = "file", conflicts_with = "transition")]
    file: Option<String>,
    /// Replay a stored Transition of the cluster (namespace): the scheduler input the DC
    /// used for it, as of its time (Pacemaker's pe-input files; names from `history`).
    #[arg(long = "transition", value_name = "NAME", conflicts_with = "xml")]
    transition: Option<String>,
    /// The cluster (namespace) as it is now, with the membership the DC would see
    /// (crm_simulate -L / --live-check): what the DC would do next, and why (`-s`).
    #[arg(short = 'L', long = "live", visible_alias = "live-check",
          conflicts_with_all = ["xml", "file", "transition"])]
    live: bool,
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

/// Whether the CIB's root element carries `execution-date` (crm_simulate's saved "now").
fn has_execution_date(xml: &str) -> bool {
    roxmltree::Document::parse(xml)
        .map(|d| d.root_element().attribute("execution-date").is_some())
        .unwrap_or(false)
}

/// `kubectl pacer` when run as the kubectl plugin, else `pacer`.
fn display_name() -> &'static str {
    let argv0 = std::env::args().next().unwrap_or_default();
    let base = std::path::Path::new(&argv0)
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    if base.starts_with("kubectl-pacer") {
        "kubectl pacer"
    } else {
        "pacer"
    }
}

fn main() {
    if let Err(e) = run() {
        // One line per cause, most specific last (kubectl's style), without a backtrace.
        eprintln!("error: {e}");
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Cli::command().bin_name(display_name()).get_matches();
    let cli = Cli::from_arg_matches(&matches)?;
    match cli.cmd {
        Cmd::Simulate(a) if a.transition.is_none() && !a.live => offline(Cmd::Simulate(a)),
        Cmd::Crds | Cmd::ImportCib { .. } | Cmd::ExportCib { .. } => offline(cli.cmd),
        Cmd::ImportCrm { file, nodes } => {
            let text = read_input(&file)?;
            let objects = cli::import_crm::import_crm(&text, &nodes)
                .with_context(|| format!("importing {file}"))?;
            print!("{}", manifest::to_yaml(&objects)?);
            Ok(())
        }
        Cmd::Verify { files } if !files.is_empty() => {
            let mut objects = Vec::new();
            for f in &files {
                objects.extend(
                    manifest::parse_manifests(&read_input(f)?)
                        .with_context(|| format!("{f}: not valid pacer manifests"))?,
                );
            }
            report(&cli::verify::verify(&objects))
        }
        cmd => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the async runtime")?
            .block_on(online(cli.connect, cmd)),
    }
}

async fn online(connect: ConnectArgs, cmd: Cmd) -> Result<()> {
    let (client, ns) = connect.connect().await?;
    match cmd {
        Cmd::Status(a) => return status(&client, &ns, &a).await,
        Cmd::Verify { .. } => {
            let idx = cli::fetch::index(&client, &ns).await?;
            let objects: Vec<_> = idx.config.values().cloned().collect();
            return report(&cli::verify::verify(&objects));
        }
        Cmd::Simulate(a) if a.live => {
            let idx = cli::fetch::index(&client, &ns).await?;
            let xml = pacer_operator::snapshot::build(
                &idx,
                cli::fetch::now_ms(),
                cli::fetch::DEFAULT_LEASE_S,
            )?
            .whole();
            return simulate(&xml, &a);
        }
        Cmd::Simulate(a) => {
            let name = a.transition.clone().unwrap_or_default();
            let xml = stored_input(&client, &ns, &name).await?;
            return simulate(&xml, &a);
        }
        Cmd::History { verbose, last } => {
            let idx = cli::fetch::index(&client, &ns).await?;
            let ts: Vec<_> = idx.transitions.values().cloned().collect();
            print!("{}", cli::history::render(&ts, verbose, last));
            return Ok(());
        }
        _ => {}
    }
    let idx = cli::fetch::index(&client, &ns).await?;
    let msg = match &cmd {
        Cmd::Node(c) => cli::node::run(&client, &ns, &idx, c).await?,
        Cmd::Resource(c) => cli::resource::run(&client, &ns, &idx, c).await?,
        Cmd::Property(PropertyCmd::Set { key, value }) => {
            cli::property::set(&client, &ns, &idx, key, Some(value)).await?
        }
        Cmd::Property(PropertyCmd::Unset { key }) => {
            cli::property::set(&client, &ns, &idx, key, None).await?
        }
        Cmd::Maintenance { state } => {
            let v = if state == "on" { "true" } else { "false" };
            cli::property::set(&client, &ns, &idx, "maintenance-mode", Some(v)).await?
        }
        _ => unreachable!("offline commands are handled in main"),
    };
    println!("{msg}");
    Ok(())
}

/// Prints findings and exits with crm_verify-like codes (0 clean, 1 warnings, 2 errors).
fn report(findings: &[cli::verify::Finding]) -> Result<()> {
    for f in findings {
        println!("{f}");
    }
    let code = cli::verify::exit_code(findings);
    let (e, w) = findings.iter().fold((0, 0), |(e, w), f| match f.severity {
        cli::verify::Severity::Error => (e + 1, w),
        cli::verify::Severity::Warning => (e, w + 1),
    });
    if code == 0 {
        println!("configuration is valid");
    } else {
        eprintln!("{e} error(s), {w} warning(s)");
    }
    std::process::exit(code)
}

async fn status(client: &kube::Client, ns: &str, a: &StatusArgs) -> Result<()> {
    use std::io::IsTerminal;
    let color = !a.no_color && io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    loop {
        let idx = cli::fetch::index(client, ns).await?;
        let input = cli::fetch::status_input(&idx, cli::fetch::now_ms());
        let text = match a.output.as_str() {
            "json" => serde_json::to_string_pretty(&cli::status::document(&input)?)? + "\n",
            "yaml" => serde_saphyr::to_string(&cli::status::document(&input)?)?,
            _ => {
                let opts = cli::status::RenderOptions {
                    operations: a.output == "wide",
                    color,
                };
                cli::status::render(&input, &opts)?
            }
        };
        if !a.watch {
            print!("{text}");
            return Ok(());
        }
        // Clear the screen and redraw, as crm_mon does.
        print!("\x1b[H\x1b[2J{text}");
        use std::io::Write;
        io::stdout().flush().ok();
        tokio::time::sleep(std::time::Duration::from_secs(a.interval.max(1))).await;
    }
}

fn offline(cmd: Cmd) -> Result<()> {
    match cmd {
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
                _ => bail!(
                    "give a CIB with --xml FILE, manifests with -f FILE, a stored transition with --transition NAME, or --live for the cluster as it is now"
                ),
            };
            simulate(&xml, &a)?;
        }
        _ => unreachable!("online commands are handled in main"),
    }
    Ok(())
}

/// Prints what crm_simulate would for `xml`.
fn simulate(xml: &str, a: &SimulateArgs) -> Result<()> {
    let graph_dot = match a.graph.as_deref() {
        None => false,
        Some("dot") => true,
        Some(other) => bail!("--graph {other:?}: only `dot` is supported"),
    };
    // crm_simulate evaluates rules against the wall clock unless -t or the CIB's
    // execution-date says otherwise; the scheduler itself never reads a clock.
    let now = match a.date.clone() {
        Some(d) => Some(d),
        None if has_execution_date(xml) => None,
        None => Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("system clock before 1970")?
                .as_secs()
                .to_string(),
        ),
    };
    let opts = pacer_scheduler::simulate::Options {
        now,
        show_scores: a.scores,
        graph_dot,
    };
    let out = pacer_scheduler::simulate::simulate_xml(xml, &opts).context("simulating")?;
    print!("{out}");
    Ok(())
}

/// The scheduler input a stored Transition was computed from.
async fn stored_input(client: &kube::Client, ns: &str, name: &str) -> Result<String> {
    use pacer_operator::snapshot;
    let transitions: kube::Api<pacer_crds::Transition> = kube::Api::namespaced(client.clone(), ns);
    let t = transitions
        .get_opt(name)
        .await?
        .with_context(|| format!("no Transition {name:?} in namespace {ns} (see `history`)"))?;
    let inputs: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), ns);
    let cm = inputs
        .get_opt(&format!("{name}{}", snapshot::INPUT_SUFFIX))
        .await?;
    Ok(snapshot::load_transition_input(&t, cm.as_ref())?)
}
