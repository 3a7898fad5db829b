//! Real agent processes through the executor: the heartbeat Dummy agent, scripted
//! misbehaving agents (hang, crash, garbage), missing agents and parameters, LSB
//! scripts, fence agents' stdin protocol, per-resource serialization.

mod common;

use common::{OcfRoot, group_members, write_exec};
use pacer_agent::{
    ActionRequest, Agent, Executor, ExecutorConfig, LocalResourceManager, OpStatus, op::Severity,
    stonith::FenceAction,
};
use std::time::{Duration, Instant};

fn dummy() -> Agent {
    Agent::parse("ocf", Some("heartbeat"), "Dummy").expect("agent")
}

fn test_agent(kind: &str) -> Agent {
    Agent::parse("ocf", Some("test"), kind).expect("agent")
}

fn cfg_with_root(root: &OcfRoot) -> ExecutorConfig {
    ExecutorConfig {
        ocf_root: root.path().to_path_buf(),
        kill_grace: Duration::from_millis(300),
        ..ExecutorConfig::default()
    }
}

#[tokio::test]
async fn dummy_start_monitor_stop_monitor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("d1.state");
    let state = state.to_str().expect("utf8 path");
    let (exec, _events) = Executor::new(ExecutorConfig::default());
    let run = |action: &str| {
        let req = ActionRequest::new("d1", dummy(), action).param("state", state);
        let exec = exec.clone();
        async move { exec.execute(&req).await }
    };
    let probe = run("monitor").await;
    assert_eq!(
        (probe.record.rc, probe.failed),
        (7, false),
        "probe of a stopped Dummy"
    );
    let start = run("start").await;
    assert_eq!(start.record.rc, 0, "{:?}", start.record.exit_reason);
    assert!(std::path::Path::new(state).exists());
    assert_eq!(run("monitor").await.record.rc, 0);
    assert_eq!(run("stop").await.record.rc, 0);
    let after = run("monitor").await;
    assert_eq!(after.record.rc, 7);
    assert_eq!(after.record.status, OpStatus::Done);
    let h = exec.history();
    let rsc = h.resource("d1").expect("history");
    assert_eq!(rsc.last.as_ref().map(|r| r.call_id), Some(5));
    assert!(!rsc.is_active());
}

#[tokio::test]
async fn hanging_agent_times_out_and_its_whole_group_dies() {
    let root = OcfRoot::new();
    let pidfile = root.path().join("pgid");
    // Helpers: one plain background sleep and one that ignores SIGTERM.
    root.agent(
        "Hang",
        &format!(
            "#!/bin/sh\necho $$ > {}\nsleep 1000 &\nsh -c \"trap '' TERM; sleep 1000\" &\nsleep 1000\n",
            pidfile.display()
        ),
    );
    let (exec, _e) = Executor::new(cfg_with_root(&root));
    let req =
        ActionRequest::new("h", test_agent("Hang"), "monitor").timeout(Duration::from_millis(700));
    let started = Instant::now();
    let result = exec.dispatch(&req).await;
    let took = started.elapsed();
    assert_eq!(result.status, OpStatus::Timeout);
    assert_eq!(result.rc, 1);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let pgid: i32 = std::fs::read_to_string(&pidfile)
        .expect("agent wrote its pid")
        .trim()
        .parse()
        .expect("pid");
    // The agent led its own group; nothing of it may survive.
    let mut left = group_members(pgid);
    for _ in 0..20 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = group_members(pgid);
    }
    assert!(left.is_empty(), "process group {pgid} still has {left:?}");
}

#[tokio::test]
async fn start_with_validation_keeps_to_the_operation_timeout() {
    let root = OcfRoot::new();
    root.agent("HangAll", "#!/bin/sh\nsleep 1000\n");
    let (exec, _e) = Executor::new(cfg_with_root(&root));
    let started = Instant::now();
    let result = exec
        .dispatch(
            &ActionRequest::new("h", test_agent("HangAll"), "start")
                .timeout(Duration::from_millis(800)),
        )
        .await;
    assert_eq!(result.status, OpStatus::Timeout);
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn crashing_agent_is_an_error_not_a_crash_of_ours() {
    let root = OcfRoot::new();
    root.agent("Crash", "#!/bin/sh\nkill -SEGV $$\nsleep 5\n");
    let (exec, _e) = Executor::new(cfg_with_root(&root));
    let mut req = ActionRequest::new("c", test_agent("Crash"), "monitor");
    req.interval = Duration::from_secs(10);
    let rec = exec.execute(&req).await;
    assert_eq!(rec.record.status, OpStatus::Error);
    assert_eq!(rec.record.rc, 1);
    assert!(rec.failed);
    assert!(
        rec.record
            .exit_reason
            .as_deref()
            .is_some_and(|r| r.contains("signal 11")),
        "{:?}",
        rec.record.exit_reason
    );
}

#[tokio::test]
async fn garbage_and_huge_output_stay_bounded() {
    let root = OcfRoot::new();
    root.agent(
        "Garbage",
        "#!/bin/sh\nhead -c 20000000 /dev/urandom\nhead -c 5000000 /dev/urandom >&2\n\
         echo 'ocf-exit-reason:first reason' >&2\necho 'ocf-exit-reason:the real reason' >&2\nexit 1\n",
    );
    let cfg = ExecutorConfig {
        output_limit: 4096,
        ..cfg_with_root(&root)
    };
    let (exec, _e) = Executor::new(cfg);
    let result = exec
        .dispatch(&ActionRequest::new("g", test_agent("Garbage"), "monitor"))
        .await;
    assert_eq!((result.rc, result.status), (1, OpStatus::Done));
    // Lossy UTF-8 can grow a byte into 3, never more.
    assert!(result.output.len() <= 3 * 4096, "{}", result.output.len());
    // stderr was capped at 4 KiB, so the reasons after 5 MB of noise are lost — and
    // that must not hurt: no reason rather than a wrong or unbounded one.
    assert!(result.exit_reason.as_ref().is_none_or(|r| r.len() <= 128));
}

#[tokio::test]
async fn exit_reason_last_line_wins_and_rc_mapping() {
    let root = OcfRoot::new();
    root.agent(
        "Rc",
        "#!/bin/sh\necho 'ocf-exit-reason:first' >&2\necho 'ocf-exit-reason:second' >&2\nexit $OCF_RESKEY_rc\n",
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        validate_before_start: false,
        ..cfg_with_root(&root)
    });
    let expect = [
        (0, Severity::None),
        (1, Severity::Soft),
        (2, Severity::Hard),
        (3, Severity::Hard),
        (4, Severity::Hard),
        (5, Severity::Hard),
        (6, Severity::Fatal),
        (7, Severity::None),
        (8, Severity::None),
        (9, Severity::Soft),
        (190, Severity::None),
        (191, Severity::None),
    ];
    for (rc, severity) in expect {
        let req = ActionRequest::new("r", test_agent("Rc"), "start").param("rc", &rc.to_string());
        let result = exec.dispatch(&req).await;
        assert_eq!(result.rc, rc);
        assert_eq!(result.severity(), severity, "rc {rc}");
        assert_eq!(result.exit_reason.as_deref(), Some("second"));
    }
}

#[tokio::test]
async fn agents_see_the_ocf_environment() {
    let root = OcfRoot::new();
    let dump = root.path().join("env");
    root.agent(
        "Env",
        &format!("#!/bin/sh\nenv > {}\nexit 0\n", dump.display()),
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        node_name: Some("node-a".into()),
        ..cfg_with_root(&root)
    });
    let mut req = ActionRequest::new("web:2", test_agent("Env"), "notify")
        .param("port", "8080")
        .timeout(Duration::from_secs(7))
        .meta("clone-max", "3")
        .meta("clone-node-max", "1")
        .meta("notify", "true")
        .meta("notify_type", "post")
        .meta("notify_operation", "start")
        .meta("notify_start_uname", "node-a node-b");
    req.check_level = Some(10);
    assert_eq!(exec.dispatch(&req).await.rc, 0);
    let env = std::fs::read_to_string(&dump).expect("env dump");
    for line in [
        format!("OCF_ROOT={}", root.path().display()),
        "OCF_RESOURCE_INSTANCE=web:2".into(),
        "OCF_RESOURCE_TYPE=Env".into(),
        "OCF_RESOURCE_PROVIDER=test".into(),
        "OCF_RESKEY_port=8080".into(),
        "OCF_RESKEY_CRM_meta_timeout=7000".into(),
        "OCF_RESKEY_CRM_meta_interval=0".into(),
        "OCF_RESKEY_CRM_meta_clone_max=3".into(),
        "OCF_RESKEY_CRM_meta_clone_node_max=1".into(),
        "OCF_RESKEY_CRM_meta_notify_type=post".into(),
        "OCF_RESKEY_CRM_meta_notify_operation=start".into(),
        "OCF_RESKEY_CRM_meta_notify_start_uname=node-a node-b".into(),
        "OCF_RESKEY_CRM_meta_on_node=node-a".into(),
        "OCF_CHECK_LEVEL=10".into(),
    ] {
        assert!(env.lines().any(|l| l == line), "missing {line} in\n{env}");
    }
}

#[tokio::test]
async fn missing_agent_is_not_installed() {
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let req = ActionRequest::new(
        "x",
        Agent::parse("ocf", Some("heartbeat"), "NoSuchAgent").expect("agent"),
        "start",
    );
    let rec = exec.execute(&req).await;
    assert_eq!(rec.record.status, OpStatus::NotInstalled);
    assert_eq!(rec.record.rc, 5);
    assert!(rec.failed);
}

#[tokio::test]
async fn missing_required_parameter_is_named_before_start() {
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let ipaddr = Agent::parse("ocf", Some("heartbeat"), "IPaddr2").expect("agent");
    let rec = exec
        .execute(&ActionRequest::new("vip", ipaddr, "start").param("nic", "eth0"))
        .await;
    assert_eq!(rec.record.rc, 6, "OCF_ERR_CONFIGURED");
    assert!(rec.failed);
    let reason = rec.record.exit_reason.unwrap_or_default();
    // The wording is the executor's (from meta-data), not the agent's own complaint.
    assert!(
        reason.contains("required parameter 'ip' of ocf:heartbeat:IPaddr2")
            && reason.contains("'vip'"),
        "{reason}"
    );
}

#[tokio::test]
async fn failing_validate_all_blocks_the_first_start() {
    let root = OcfRoot::new();
    let started = root.path().join("started");
    root.agent(
        "Picky",
        &format!(
            r#"#!/bin/sh
case "$1" in
meta-data) cat <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="Picky"><parameters>
<parameter name="port" required="1"><content type="integer"/></parameter>
</parameters><actions><action name="start" timeout="5s"/><action name="validate-all" timeout="5s"/></actions></resource-agent>
EOF
exit 0;;
validate-all) [ "$OCF_RESKEY_port" -gt 0 ] 2>/dev/null && exit 0; echo "ocf-exit-reason:port must be a positive number" >&2; exit 6;;
start) touch {}; exit 0;;
esac
exit 3
"#,
            started.display()
        ),
    );
    let (exec, _e) = Executor::new(cfg_with_root(&root));
    let bad = exec
        .execute(&ActionRequest::new("p", test_agent("Picky"), "start").param("port", "x"))
        .await;
    assert_eq!(bad.record.rc, 6);
    assert!(
        bad.record
            .exit_reason
            .as_deref()
            .is_some_and(|r| r.contains("validate-all failed: port must be a positive number")),
        "{:?}",
        bad.record.exit_reason
    );
    assert!(
        !started.exists(),
        "start must not run after a failed validate-all"
    );
    let good = exec
        .execute(&ActionRequest::new("p", test_agent("Picky"), "start").param("port", "80"))
        .await;
    assert_eq!(good.record.rc, 0);
    assert!(started.exists());
}

#[tokio::test]
async fn one_operation_per_resource_parallel_across_resources() {
    let root = OcfRoot::new();
    let log = root.path().join("log");
    root.agent(
        "Slow",
        &format!(
            "#!/bin/sh\necho \"begin $OCF_RESOURCE_INSTANCE\" >> {log}\nsleep 0.4\necho \"end $OCF_RESOURCE_INSTANCE\" >> {log}\nexit 0\n",
            log = log.display()
        ),
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        max_parallel: 4,
        validate_before_start: false,
        ..cfg_with_root(&root)
    });
    let op = |rsc: &str, action: &str| ActionRequest::new(rsc, test_agent("Slow"), action);
    let started = Instant::now();
    let (ra1, ra2, rb1) = (op("a", "start"), op("a", "monitor"), op("b", "start"));
    let (a1, a2, b1) = tokio::join!(exec.execute(&ra1), exec.execute(&ra2), exec.execute(&rb1));
    let took = started.elapsed();
    // a's two ops are serialized (0.8 s), b runs alongside.
    assert!(took >= Duration::from_millis(800), "{took:?}");
    let text = std::fs::read_to_string(&log).expect("log");
    let a_lines: Vec<&str> = text.lines().filter(|l| l.ends_with(" a")).collect();
    assert_eq!(a_lines, ["begin a", "end a", "begin a", "end a"], "{text}");
    // b ran alongside a's first op (ordering, not timing, so a loaded box cannot flake).
    let pos = |line: &str| text.lines().position(|l| l == line).unwrap_or(usize::MAX);
    assert!(
        pos("begin b") < pos("end a"),
        "b did not overlap with a:\n{text}"
    );
    let queued = a1.record.queue_time_ms.max(a2.record.queue_time_ms);
    assert!(queued >= 300, "the second op on a queued: {queued} ms");
    assert!(b1.record.queue_time_ms < 100);

    // With a limit of 1, different resources serialize too.
    let (exec1, _e) = Executor::new(ExecutorConfig {
        max_parallel: 1,
        validate_before_start: false,
        ..cfg_with_root(&root)
    });
    let started = Instant::now();
    let (rc, rd) = (op("c", "start"), op("d", "start"));
    tokio::join!(exec1.execute(&rc), exec1.execute(&rd));
    assert!(started.elapsed() >= Duration::from_millis(800));
}

#[tokio::test]
async fn record_pending_shows_minus_one_while_running() {
    let root = OcfRoot::new();
    root.agent("Slow", "#!/bin/sh\nsleep 0.5\nexit 0\n");
    let (exec, mut events) = Executor::new(ExecutorConfig {
        validate_before_start: false,
        ..cfg_with_root(&root)
    });
    let e2 = exec.clone();
    let task = tokio::spawn(async move {
        e2.execute(&ActionRequest::new("s", test_agent("Slow"), "start"))
            .await
    });
    let pending = tokio::time::timeout(Duration::from_secs(2), events.recv())
        .await
        .expect("pending event")
        .expect("channel open");
    assert_eq!(pending.record.call_id, -1);
    assert_eq!(pending.record.status, OpStatus::Pending);
    let mid = exec.history();
    assert_eq!(
        mid.resource("s")
            .and_then(|r| r.last.as_ref())
            .map(|l| l.call_id),
        Some(-1)
    );
    let done = task.await.expect("join");
    assert_eq!(done.record.call_id, 1);
    let final_event = events.recv().await.expect("final event");
    assert_eq!(final_event.record.call_id, 1);
}

#[tokio::test]
async fn recurring_monitor_reports_failure_at_once_and_stop_cancels_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("m.state");
    let state_s = state.to_str().expect("utf8");
    let (lrm, mut events) = LocalResourceManager::new(ExecutorConfig {
        record_pending: false,
        ..ExecutorConfig::default()
    });
    let req = |action: &str| ActionRequest::new("m", dummy(), action).param("state", state_s);
    assert_eq!(lrm.perform(req("start")).await.record.rc, 0);
    let first = lrm
        .perform(req("monitor").interval(Duration::from_millis(500)))
        .await;
    assert_eq!(first.record.rc, 0);
    assert_eq!(lrm.monitors().armed_keys(), ["m_monitor_500"]);
    while events.try_recv().is_ok() {}

    // Break the resource behind the agent's back.
    std::fs::remove_file(&state).expect("rm state");
    let broke = Instant::now();
    let ev = tokio::time::timeout(Duration::from_secs(3), events.recv())
        .await
        .expect("failure reported")
        .expect("channel");
    assert!(
        broke.elapsed() < Duration::from_secs(3),
        "{:?}",
        broke.elapsed()
    );
    assert_eq!(
        (ev.record.operation.as_str(), ev.record.rc, ev.failed),
        ("monitor", 7, true)
    );
    let attrs = lrm.history().transient_attributes();
    assert_eq!(
        attrs.get("fail-count-m#monitor_500").map(String::as_str),
        Some("1")
    );
    // Same failure again is not reported again.
    let again = tokio::time::timeout(Duration::from_millis(1200), events.recv()).await;
    assert!(again.is_err(), "unchanged result re-reported: {again:?}");

    // Stop cancels it: no more monitor runs, its record is gone.
    let stop = lrm.perform(req("stop")).await;
    assert_eq!(stop.record.rc, 0);
    assert!(lrm.monitors().armed_keys().is_empty());
    let _stop_event = events.recv().await;
    let quiet = tokio::time::timeout(Duration::from_millis(1200), events.recv()).await;
    assert!(quiet.is_err(), "monitor ran after stop: {quiet:?}");
    assert!(lrm.history().resources["m"].recurring.is_empty());
}

#[tokio::test]
async fn lsb_script_status_codes_map_to_ocf() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flag = dir.path().join("running");
    write_exec(
        &dir.path().join("svc"),
        &format!(
            "#!/bin/sh\ncase \"$1\" in\nstart) touch {f};;\nstop) rm -f {f};;\nstatus) [ -f {f} ] && exit 0; exit 3;;\n*) exit 3;;\nesac\nexit 0\n",
            f = flag.display()
        ),
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        init_dir: dir.path().to_path_buf(),
        ..ExecutorConfig::default()
    });
    let svc = Agent::parse("lsb", None, "svc").expect("agent");
    let run = |action: &str| {
        let req = ActionRequest::new("svc", svc.clone(), action);
        let exec = exec.clone();
        async move { exec.dispatch(&req).await }
    };
    assert_eq!(run("monitor").await.rc, 7, "LSB 3 = not running");
    assert_eq!(run("start").await.rc, 0);
    assert_eq!(run("monitor").await.rc, 0);
    assert_eq!(run("stop").await.rc, 0);
    let promote = run("promote").await;
    assert_eq!((promote.rc, promote.status), (3, OpStatus::NotSupported));
    let missing = exec
        .dispatch(&ActionRequest::new(
            "x",
            Agent::parse("lsb", None, "nope").expect("agent"),
            "start",
        ))
        .await;
    assert_eq!(missing.status, OpStatus::NotInstalled);
}

#[tokio::test]
async fn fence_credentials_travel_only_on_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path();
    write_exec(
        &out.join("fence_spy"),
        &format!(
            "#!/bin/sh\necho \"$@\" > {o}/argv\nenv > {o}/env\ncat > {o}/stdin\n\
             grep -q '^action=status$' {o}/stdin && exit 2\nexit 0\n",
            o = out.display()
        ),
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        fence_dir: out.to_path_buf(),
        ..ExecutorConfig::default()
    });
    let params = pacer_agent::Params::new()
        .with("ip", "127.0.0.1")
        .with("username", "admin")
        .with("password", "Sup3rSecret")
        .with("pcmk_host_list", "n1");
    let off = exec
        .fence_agent(
            "f1",
            "fence_spy",
            &params,
            FenceAction::Off,
            Some("n1"),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(off.rc, 0);
    let stdin = std::fs::read_to_string(out.join("stdin")).expect("stdin");
    assert!(stdin.contains("password=Sup3rSecret\n"));
    assert!(stdin.contains("action=off\n") && stdin.contains("plug=n1\n"));
    assert!(!stdin.contains("pcmk_host_list"));
    for leak in ["argv", "env"] {
        let text = std::fs::read_to_string(out.join(leak)).expect(leak);
        assert!(!text.contains("Sup3rSecret"), "password leaked via {leak}");
    }
    let env = std::fs::read_to_string(out.join("env")).expect("env");
    assert!(env.contains("PYTHONWARNINGS=ignore"));
    let status = exec
        .fence_agent(
            "f1",
            "fence_spy",
            &params,
            FenceAction::Status,
            Some("n1"),
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(status.rc, 7, "fence status 2 = powered off");
    // The device resource: start = monitor of the device, stop runs nothing.
    let dev = Agent::parse("stonith", None, "fence_spy").expect("agent");
    let mut start = ActionRequest::new("f1", dev.clone(), "start");
    start.params = params.clone();
    assert_eq!(exec.dispatch(&start).await.rc, 0);
    let stdin = std::fs::read_to_string(out.join("stdin")).expect("stdin");
    assert!(stdin.contains("action=monitor\n"));
}

#[tokio::test]
async fn systemd_without_systemd_is_reported_not_crashed() {
    // This machine has systemctl but no running systemd: every call fails, and that
    // must come back as a result, never a panic or a hang.
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let unit = Agent::parse("systemd", None, "pacer-test-nonexistent").expect("agent");
    let r = exec
        .dispatch(&ActionRequest::new("u", unit, "start").timeout(Duration::from_secs(10)))
        .await;
    assert_ne!(r.rc, 0);
    assert!(r.exit_reason.is_some());
}
