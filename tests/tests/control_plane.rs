//! The test control plane itself: start-up time, restarting the API server or etcd without
//! losing data, and no process left behind when a test ends or its runner crashes.
//! Each test starts its own environment (they restart and kill components).

use std::{
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};
use pacer_e2e::{Options, Ready, TestEnv, env::testenv_binary};

fn no_crds() -> Options {
    Options {
        install_crds: false,
        ..Options::default()
    }
}

fn config_map(name: &str, value: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some([("value".to_string(), value.to_string())].into()),
        ..Default::default()
    }
}

/// Running and not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

async fn wait_all_gone(pids: &[i32], within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let left: Vec<_> = pids.iter().filter(|p| alive(**p)).collect();
    bail!("processes still running after {within:?}: {left:?}")
}

#[tokio::test]
async fn control_plane_starts_quickly_and_serves_kubernetes_1_37() -> Result<()> {
    let env = TestEnv::start_with(no_crds()).await?;
    let client = env.client().await?;
    let version = client.apiserver_version().await?;
    ensure!(
        version.major == "1" && version.minor == "37",
        "API server is {version:?}, expected 1.37"
    );
    let kubectl = env.kubectl(&["version", "-o", "json"]).await?.ok()?;
    ensure!(
        kubectl.stdout.contains("\"gitVersion\": \"v1.37"),
        "kubectl version:\n{}",
        kubectl.stdout
    );
    // Printed to stderr by TestEnv; the bound keeps a slow CI machine from hiding a regression
    // (about 5 s here after the first build).
    ensure!(
        env.control_plane_startup < Duration::from_secs(45),
        "control plane took {:?} to become ready",
        env.control_plane_startup
    );
    eprintln!("control plane start-up: {:?}", env.control_plane_startup);
    Ok(())
}

#[tokio::test]
async fn restarting_the_apiserver_keeps_data_and_kubeconfigs() -> Result<()> {
    let env = TestEnv::start_with(no_crds()).await?;
    let ns = env.temp_ns("restart").await?;
    let cms: Api<ConfigMap> = Api::namespaced(env.client().await?, &ns);
    let before = cms
        .create(&PostParams::default(), &config_map("keep", "1"))
        .await?;
    let old_pid = env.status().await?.apiserver_pid;

    let took = env.restart_apiserver().await?;
    eprintln!("kube-apiserver restart: {took:?}");
    let new_pid = env.status().await?.apiserver_pid;
    ensure!(
        new_pid != old_pid && alive(new_pid) && !alive(old_pid),
        "apiserver pid {old_pid} -> {new_pid}"
    );

    // Same kubeconfig (certificates and port are kept), same data.
    let cms: Api<ConfigMap> = Api::namespaced(env.client().await?, &ns);
    let after = cms
        .get("keep")
        .await
        .context("ConfigMap lost across an apiserver restart")?;
    ensure!(
        after.metadata.resource_version == before.metadata.resource_version,
        "ConfigMap changed"
    );

    // A crash: SIGKILL, requests fail, start again, data still there.
    env.kill_apiserver().await?;
    ensure!(
        cms.get("keep").await.is_err(),
        "API answered with kube-apiserver killed"
    );
    env.start_apiserver().await?;
    let cms: Api<ConfigMap> = Api::namespaced(env.client().await?, &ns);
    cms.get("keep")
        .await
        .context("ConfigMap lost across an apiserver crash")?;
    Ok(())
}

#[tokio::test]
async fn restarting_etcd_keeps_data() -> Result<()> {
    let env = TestEnv::start_with(no_crds()).await?;
    let ns = env.temp_ns("etcd").await?;
    let cms: Api<ConfigMap> = Api::namespaced(env.client().await?, &ns);
    cms.create(&PostParams::default(), &config_map("keep", "1"))
        .await?;
    let took = env.restart_etcd().await?;
    eprintln!("etcd restart: {took:?}");
    // The API server reconnects on its own; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match cms.get("keep").await {
            Ok(cm) => {
                ensure!(
                    cm.data.and_then(|d| d.get("value").cloned()).as_deref() == Some("1"),
                    "value changed"
                );
                break;
            }
            Err(e) if Instant::now() > deadline => {
                bail!("ConfigMap unreadable 30 s after etcd restart: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    cms.create(&PostParams::default(), &config_map("after", "2"))
        .await
        .context("writing after etcd restart")?;
    Ok(())
}

#[tokio::test]
async fn dropping_the_env_kills_every_process() -> Result<()> {
    let env = TestEnv::start_with(no_crds()).await?;
    let r = env.status().await?;
    let pids = [r.supervisor_pid, r.etcd_pid, r.apiserver_pid];
    ensure!(pids.iter().all(|p| alive(*p)), "not all running: {pids:?}");
    let dir = env.dir().to_path_buf();
    drop(env);
    wait_all_gone(&pids, Duration::from_secs(5)).await?;
    ensure!(!dir.exists(), "{} left behind", dir.display());
    Ok(())
}

/// A test runner killed with SIGKILL runs no destructor: the supervisor notices that its
/// parent is gone and stops etcd and the API server by itself.
#[tokio::test]
async fn a_killed_test_runner_leaves_no_process_behind() -> Result<()> {
    let binary = testenv_binary()?;
    let dir = tempfile::Builder::new().prefix("pacer-orphan-").tempdir()?;
    // `sh` plays the test runner: it starts the environment and is then killed.
    let mut runner = KillOnDrop(
        Command::new("sh")
            .arg("-c")
            .arg(r#""$0" up --dir "$1" >/dev/null 2>"$1/supervisor.log" & wait"#)
            .arg(&binary)
            .arg(dir.path())
            .stdin(Stdio::null())
            .spawn()?,
    );
    let ready = wait_ready_file(dir.path(), Duration::from_secs(120)).await?;
    let pids = [ready.supervisor_pid, ready.etcd_pid, ready.apiserver_pid];
    ensure!(pids.iter().all(|p| alive(*p)), "not all running: {pids:?}");
    runner.0.kill()?;
    runner.0.wait()?;
    wait_all_gone(&pids, Duration::from_secs(30))
        .await
        .with_context(|| {
            format!(
                "after the runner died; supervisor log:\n{}",
                std::fs::read_to_string(dir.path().join("supervisor.log")).unwrap_or_default()
            )
        })?;
    Ok(())
}

async fn wait_ready_file(dir: &Path, within: Duration) -> Result<Ready> {
    let deadline = Instant::now() + within;
    let path = dir.join("ready.json");
    while Instant::now() < deadline {
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(serde_json::from_str(&text)?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{} not written within {within:?}", path.display())
}

/// Kills the stand-in runner even when the test fails early.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
