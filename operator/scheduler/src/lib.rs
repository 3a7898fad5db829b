//! pacer's policy engine: a CIB (configuration + status) and "now" in, a transition
//! graph and allocation scores out. Pure: no I/O, no clock, no async.
//!
//! Pipeline: [`unpack`] → [`fencing`] → [`placement`] (with [`colocation`],
//! [`clones`], [`promotion`], [`failures`], [`utilization`], [`health`], [`tickets`])
//! → [`actions`] → [`graph`] / [`summary`].
//!
//! For the operator: call [`schedule`] with the CIB XML and "now" (epoch seconds, read
//! once per run) and execute [`Schedule::graph`]: a [`graph::TransitionGraph`] of
//! [`graph::Action`]s (fence / start / stop / promote / demote / migrate_to /
//! migrate_from / probe and recurring monitor, each with resource id and node name)
//! and [`graph::Edge`]s (`before` must finish before `after` starts);
//! [`graph::TransitionGraph::ready`] lists what may run next given what is done.
//! [`Schedule::summary`] holds crm_simulate's Transition Summary lines and
//! [`Schedule::cluster`]`.warnings` the configuration problems found.

pub mod actions;
pub mod clones;
pub mod colocation;
pub mod digest;
pub mod failures;
pub mod fencing;
pub mod graph;
pub mod health;
pub mod migration;
pub mod model;
pub mod order_implies;
pub mod placement;
pub mod promotion;
pub mod rules;
pub mod score;
pub mod scores;
pub mod simulate;
pub mod status_text;
pub mod summary;
pub mod tickets;
pub mod unpack;
pub mod utilization;

/// Errors the scheduler reports about its input.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("CIB XML is not well-formed: {0}")]
    Xml(String),
    #[error("invalid date {value:?} (expected \"YYYY-MM-DD HH:MM:SS\"): {reason}")]
    Date { value: String, reason: String },
    #[error("{0}")]
    Unsupported(String),
}

/// Everything one scheduler run produces.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub cluster: model::Cluster,
    pub fences: Vec<fencing::Fence>,
    pub placement: placement::Placement,
    pub changes: Vec<actions::Change>,
    pub graph: graph::TransitionGraph,
    /// crm_simulate "Transition Summary" lines.
    pub summary: Vec<String>,
}

/// Run the scheduler: CIB XML and the current time (seconds since the epoch; `None`
/// uses the CIB's `execution-date`, else 0) in, decisions and transition graph out.
pub fn schedule(xml: &str, now: Option<i64>) -> Result<Schedule, Error> {
    Ok(decide(unpack::unpack(xml, now)?))
}

/// Like [`schedule`], with (most of) the status given as parsed elements: `status` are
/// elements that would be children of <status> (node_state, tickets), each possibly from
/// a different Document, added after the children of `cib_xml`'s own <status>.
/// The operator keeps each node's `<node_state>` parsed between runs: parsing the status
/// is most of the cost of a large CIB, and usually only one node's state changed.
pub fn schedule_with_status<'a, 'i>(
    cib_xml: &str,
    status: &[roxmltree::Node<'a, 'i>],
    now: Option<i64>,
) -> Result<Schedule, Error> {
    Ok(decide(unpack::unpack_with_status(cib_xml, status, now)?))
}

/// Everything after unpacking: fencing, placement, actions, graph, summary.
fn decide(mut cluster: model::Cluster) -> Schedule {
    let fences = fencing::decide(&mut cluster);
    let placement = placement::place(&cluster);
    let fences = fencing::after_placement(&mut cluster, fences, &placement);
    let fenced: Vec<usize> = fences.iter().map(|f| f.node).collect();
    let changes = actions::decide(&cluster, &placement, &fenced);
    let graph = graph::build(&cluster, &fences, &changes);
    let summary = summary::render(&cluster, &fences, &changes);
    Schedule {
        cluster,
        fences,
        placement,
        changes,
        graph,
        summary,
    }
}
