//! The `pacer` / `kubectl pacer` command line: one module per subcommand. Pure renderers
//! and converters live next to the code that talks to the API server, so tests can drive
//! them without a cluster.

pub mod apply;
pub mod cleanup;
pub mod connect;
pub mod fetch;
pub mod history;
pub mod import_crm;
pub mod node;
pub mod property;
pub mod resource;
pub mod status;
pub mod verify;
