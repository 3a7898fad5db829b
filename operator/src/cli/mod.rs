//! The `pacer` / `kubectl pacer` command line: one module per subcommand. Pure renderers
//! and converters live next to the code that talks to the API server, so tests can drive
//! them without a cluster.

pub mod status;
