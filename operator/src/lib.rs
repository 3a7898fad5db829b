//! pacer operator library: the CIB bridge ([`cib`]) used by the `pacer` CLI and the
//! operator, plus (from other modules) the scheduler driver and transition engine.

pub mod cib;
pub mod cleanup;
pub mod cli;
pub mod controller;
pub mod dc_fencing;
pub mod events;
pub mod fencing;
pub mod index;
pub mod leader;
pub mod maintenance;
pub mod membership;
pub mod metrics;
pub mod node_status;
pub mod plan;
pub mod settle;
pub mod snapshot;
pub mod status;
pub mod status_writer;
pub mod transition;
pub mod watch;
