//! Reload instead of restart with Debian's real agents through the executor: what a start
//! records for the scheduler (`op-force-restart` / `op-restart-digest` from the agent's
//! meta-data) and how the DC's `reload-agent` runs — as `reload` for the legacy
//! `ocf:heartbeat:Dummy` (OCF 1.0), as `reload-agent` for `ocf:pacemaker:Dummy` (OCF 1.1)
//! — recorded as the resource's start with the new definition, the resource never
//! stopped.

mod common;

use common::OcfRoot;
use pacer_agent::{
    ActionRequest, Agent, Executor, ExecutorConfig, OpStatus, Params, history::op_digest,
    ocf::ReloadKind,
};
use std::{os::unix::fs::MetadataExt, path::Path, time::Duration};

fn agent(provider: &str, kind: &str) -> Agent {
    Agent::parse("ocf", Some(provider), kind).expect("agent")
}

fn installed(a: &Agent) -> bool {
    let Agent::Ocf { provider, kind } = a else {
        return false;
    };
    let path = Path::new("/usr/lib/ocf/resource.d")
        .join(provider)
        .join(kind);
    if path.exists() {
        return true;
    }
    eprintln!("{} is not installed here; skipping", path.display());
    false
}

/// The inode of `path`: the same one means the file was never removed and created again.
fn inode(path: &str) -> u64 {
    std::fs::metadata(path).expect("state file").ino()
}

/// Starts `rsc` with `fake=a`, reloads it with `fake=b` the way the DC asks (action
/// `reload-agent`, transition key), then checks what was recorded and that the resource
/// kept running in place. Returns the executor for further checks.
async fn start_then_reload(
    a: Agent,
    state: &str,
    extra: &[(&str, &str)],
) -> std::sync::Arc<Executor> {
    let (exec, _events) = Executor::new(ExecutorConfig::default());
    let mut params = Params::new().with("state", state).with("fake", "a");
    for (k, v) in extra {
        params = params.with(k, v);
    }
    let mut start = ActionRequest::new("r", a.clone(), "start");
    start.params = params.clone();
    let started = exec.execute(&start).await;
    assert_eq!(started.record.rc, 0, "{:?}", started.record.exit_reason);
    assert_eq!(started.record.force_restart.as_deref(), Some(" state "));
    let state_only = Params::new().with("state", state);
    assert_eq!(
        started.record.restart_digest,
        Some(op_digest(&state_only)),
        "the restart digest covers only the parameters that force a restart"
    );
    assert_eq!(started.record.op_digest, op_digest(&params));
    let before = inode(state);

    let mut reload = ActionRequest::new("r", a, "reload-agent");
    reload.params = params.clone().with("fake", "b");
    reload.transition_key = Some("t-2:4".into());
    let reloaded = exec.execute(&reload).await;
    let rec = &reloaded.record;
    assert_eq!(
        (rec.rc, rec.status, reloaded.failed),
        (0, OpStatus::Done, false),
        "{:?}",
        rec.exit_reason
    );
    assert_eq!(
        (rec.id.as_str(), rec.operation.as_str(), rec.op_key.as_str()),
        ("r_last_0", "start", "r_start_0"),
        "a reload is recorded as the resource's start"
    );
    assert_eq!(rec.transition_key.as_deref(), Some("t-2:4"));
    assert_eq!(rec.op_digest, op_digest(&reload.params));
    assert_eq!(rec.force_restart.as_deref(), Some(" state "));
    assert_eq!(rec.restart_digest, Some(op_digest(&state_only)));
    assert_eq!(
        inode(state),
        before,
        "the resource was not stopped and started"
    );
    assert_eq!(rec.call_id, started.record.call_id + 1);
    exec
}

#[tokio::test]
async fn legacy_agent_runs_reload_for_reload_agent() {
    let a = agent("heartbeat", "Dummy");
    if !installed(&a) {
        return;
    }
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let md = exec.meta_data(&a).await.expect("meta-data");
    assert_eq!(md.ocf_version.as_deref(), Some("1.0"));
    assert_eq!(md.reload_kind(), Some(ReloadKind::Legacy));
    // `reload-agent` is not one of its actions: it would answer "unimplemented".
    assert!(!md.supports("reload-agent"));

    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("r.state");
    let state = state.to_str().expect("utf8");
    let exec = start_then_reload(a.clone(), state, &[]).await;
    let mon = exec
        .execute(
            &ActionRequest::new("r", a, "monitor")
                .param("state", state)
                .param("fake", "b"),
        )
        .await;
    assert_eq!(mon.record.rc, 0, "still running after the reload");
}

#[tokio::test]
async fn ocf_1_1_agent_runs_reload_agent_with_the_new_parameters() {
    let a = agent("pacemaker", "Dummy");
    if !installed(&a) {
        return;
    }
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let md = exec.meta_data(&a).await.expect("meta-data");
    assert_eq!(md.ocf_version.as_deref(), Some("1.1"));
    assert_eq!(md.reload_kind(), Some(ReloadKind::Agent));

    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("r.state");
    let state = state.to_str().expect("utf8");
    // The agent appends its environment to `envfile` on every call: proof of which
    // action ran with which parameters.
    let envfile = dir.path().join("env");
    let envfile = envfile.to_str().expect("utf8");
    start_then_reload(a, state, &[("envfile", envfile)]).await;
    let env = std::fs::read_to_string(envfile).expect("envfile");
    let calls: Vec<&str> = env
        .lines()
        .filter_map(|l| l.strip_prefix("### "))
        .filter_map(|l| l.split(" @").next())
        .collect();
    assert_eq!(
        calls
            .iter()
            .copied()
            .filter(|c| *c != "meta-data")
            .collect::<Vec<_>>(),
        ["validate-all", "start", "validate-all", "reload-agent"],
        "{env}"
    );
    let reload_env = env.rsplit("### reload-agent @").next().unwrap_or_default();
    assert!(reload_env.contains("OCF_RESKEY_fake=b"), "{reload_env}");
}

#[tokio::test]
async fn agent_without_reload_records_nothing_and_cannot_reload() {
    let root = OcfRoot::new();
    let state = root.path().join("s");
    root.agent(
        "Plain",
        &format!(
            r#"#!/bin/sh
case "$1" in
meta-data) cat <<'EOF'
<?xml version="1.0"?>
<resource-agent name="Plain" version="1.0"><version>1.1</version>
<parameters><parameter name="fake"><content type="string"/></parameter></parameters>
<actions><action name="start"/><action name="stop"/><action name="monitor"/>
<action name="reload"/></actions></resource-agent>
EOF
;;
start) touch {s}; exit 0;;
monitor) [ -f {s} ] && exit 0; exit 7;;
reload) exit 0;;
*) exit 3;;
esac
"#,
            s = state.display()
        ),
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        ocf_root: root.path().to_path_buf(),
        ..ExecutorConfig::default()
    });
    let a = agent("test", "Plain");
    let start = exec
        .execute(&ActionRequest::new("p", a.clone(), "start").param("fake", "a"))
        .await;
    assert_eq!(start.record.rc, 0);
    // OCF 1.1 with only `reload` (the service's own configuration): no reload of the
    // agent's parameters, so any change restarts.
    assert_eq!(
        (start.record.force_restart, start.record.restart_digest),
        (None, None)
    );
    let reload = exec
        .execute(
            &ActionRequest::new("p", a, "reload-agent")
                .param("fake", "b")
                .timeout(Duration::from_secs(5)),
        )
        .await;
    assert!(reload.failed);
    assert_eq!(reload.record.rc, 3);
    assert_eq!(
        (
            reload.record.operation.as_str(),
            reload.record.op_key.as_str()
        ),
        ("monitor", "p_monitor_0"),
        "a failed reload is recorded as a failed monitor, so the resource is recovered"
    );
}
