//! pacer node agent: runs resource agents on this host for the operator.
//!
//! Flow: an [`op::ActionRequest`] goes to [`lrm::LocalResourceManager::perform`], which
//! serializes it per resource in the [`executor::Executor`], dispatches it to the agent
//! class ([`ocf`], [`lsb`], [`systemd`], [`stonith`], native [`ipaddr`]) through
//! [`process`], records it in [`history`] and emits an [`executor::OpEvent`]. Recurring
//! monitors live in [`monitors`]. [`watchdog`] keeps the host honest when it loses the
//! cluster. The API-facing part ([`node`]) turns `Transition` actions into requests
//! ([`dispatch`], [`fencing`]) and publishes the history as `NodeState` ([`report`]).

pub mod dispatch;
pub mod executor;
pub mod fencing;
pub mod history;
pub mod ipaddr;
pub mod lrm;
pub mod lsb;
pub mod monitors;
pub mod netns;
pub mod node;
pub mod ocf;
pub mod op;
pub mod process;
pub mod redfish;
pub mod report;
pub mod stonith;
pub mod systemd;
pub mod watchdog;

pub use executor::{Executor, ExecutorConfig, OpEvent};
pub use history::{NodeHistory, OpRecord};
pub use lrm::LocalResourceManager;
pub use op::{ActionRequest, ActionResult, Agent, OcfRc, OpStatus, Params};

/// Errors of the agent library. Agent *failures* are not errors: they are results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid agent: {0}")]
    InvalidAgent(String),
    #[error("invalid duration: {0}")]
    InvalidDuration(String),
    #[error("resource '{resource}': parameter '{param}': {why}")]
    InvalidParam {
        resource: String,
        param: String,
        why: String,
    },
    #[error("meta-data of {agent}: {why}")]
    MetaData { agent: String, why: String },
    #[error("network namespace '{name}': {why}")]
    Netns { name: String, why: String },
    #[error("API server: {0}")]
    Api(String),
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("watchdog device {path}: {source}")]
    Watchdog {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
