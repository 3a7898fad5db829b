//! kubectl-compatible connection flags: `--kubeconfig`, `--context`, `-n/--namespace`.
//!
//! In: the flags and the environment (`KUBECONFIG`, in-cluster service account). Out: a
//! client and the namespace (= one HA cluster): `-n`, else the context's namespace, else
//! `default` — what kubectl would use, so `kubectl pacer` acts where `kubectl get` looks.

use std::path::PathBuf;

use anyhow::{Context, Result};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};

/// Field manager of every change the CLI makes (server-side apply), so GitOps tools and
/// `kubectl get --show-managed-fields` see who set what.
pub const FIELD_MANAGER: &str = "kubectl-pacer";

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ConnectArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then
    /// in-cluster).
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The namespace of the HA cluster.
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

impl ConnectArgs {
    /// A client for the chosen context and the namespace to act in.
    pub async fn connect(&self) -> Result<(Client, String)> {
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..Default::default()
        };
        let config = match &self.kubeconfig {
            Some(path) => {
                // KUBECONFIG may list several files (':'-separated); kube merges them.
                let mut merged: Option<Kubeconfig> = None;
                for p in std::env::split_paths(path) {
                    let k = Kubeconfig::read_from(&p)
                        .with_context(|| format!("reading kubeconfig {}", p.display()))?;
                    merged = Some(match merged {
                        None => k,
                        Some(m) => m.merge(k).context("merging kubeconfigs")?,
                    });
                }
                let k = merged.context("KUBECONFIG lists no files")?;
                Config::from_custom_kubeconfig(k, &options)
                    .await
                    .context("loading the kubeconfig")?
            }
            None if self.context.is_some() => Config::from_kubeconfig(&options)
                .await
                .context("loading ~/.kube/config")?,
            None => Config::infer()
                .await
                .context("no kubeconfig found (give --kubeconfig or set KUBECONFIG)")?,
        };
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = Client::try_from(config).context("creating the Kubernetes client")?;
        Ok((client, namespace))
    }
}
