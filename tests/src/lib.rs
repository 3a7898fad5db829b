//! pacer-e2e: tests against a real control plane.
//!
//! [`TestEnv`] starts `pacer-testenv up` (embedded etcd + kube-apiserver v1.37 with RBAC,
//! built by `tests/testenv/build.sh`) in a temporary directory, applies every CRD in
//! `deploy/crds/`, and hands out clients and kubeconfigs per identity (admin, operator, one
//! agent per node). Tests share one environment per test binary ([`TestEnv::shared`]) and
//! each works in its own namespace ([`TestEnv::temp_ns`]); tests that restart the API server
//! start their own ([`TestEnv::start`]).
#![forbid(unsafe_code)]

pub mod crds;
pub mod env;
pub mod kubectl;
pub mod manifests;
pub mod objects;
pub mod hosts;
pub mod forward;
pub mod cluster;
pub mod failover;
pub mod scenario;
pub mod bmc;
pub mod fencing_manifests;

pub use env::{Options, Ready, TestEnv, testenv_binary};
pub use kubectl::KubectlOutput;

use std::path::PathBuf;

/// The repository root (this crate lives in `<root>/tests`).
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Where the CRD manifests are: env `PACER_CRDS_DIR`, else `deploy/crds/`.
pub fn crds_dir() -> PathBuf {
    std::env::var_os("PACER_CRDS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("deploy/crds"))
}
