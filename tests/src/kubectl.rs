//! Runs the kubectl built into pacer-testenv (`pacer-testenv kubectl ...`), the same
//! Kubernetes version as the API server, so tests see what a user's kubectl 1.37 shows.
//!
//! In: binary, kubeconfig, arguments (and optional stdin). Out: exit status and output.

use std::{path::Path, process::Stdio};

use anyhow::{Context, Result, bail};
use tokio::{io::AsyncWriteExt, process::Command};

#[derive(Debug, Clone)]
pub struct KubectlOutput {
    pub args: Vec<String>,
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl KubectlOutput {
    /// The output, or an error with the command line and stderr.
    pub fn ok(self) -> Result<Self> {
        if !self.success {
            bail!(
                "kubectl {} failed:\n{}{}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            );
        }
        Ok(self)
    }
}

pub async fn run(binary: &Path, kubeconfig: &Path, args: &[&str]) -> Result<KubectlOutput> {
    run_with_stdin(binary, kubeconfig, args, None).await
}

/// Like [`run`], writing `stdin` to kubectl (for `-f -`).
pub async fn run_with_stdin(
    binary: &Path,
    kubeconfig: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<KubectlOutput> {
    let mut cmd = Command::new(binary);
    cmd.arg("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {} kubectl", binary.display()))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    Ok(KubectlOutput {
        args: args.iter().map(|s| s.to_string()).collect(),
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
