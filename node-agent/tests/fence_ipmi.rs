//! The real `fence_ipmilan` against a simulated BMC (`ipmi_sim` from openipmi on
//! 127.0.0.1, a free UDP port). Its chassis-control script keeps the "host power" in a
//! file, so the test sees what a fence action did to the machine. (ipmi_sim 2.0.33
//! calls the script as `SCRIPT get power` / `SCRIPT set power 0|1`; a leading MC
//! address argument is accepted too.)

mod common;

use common::write_exec;
use pacer_agent::{Executor, ExecutorConfig, Params, stonith::FenceAction};
use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

struct Bmc {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
    power: std::path::PathBuf,
}

impl Drop for Bmc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start_bmc() -> Bmc {
    assert!(
        Path::new("/usr/bin/ipmi_sim").exists() && Path::new("/usr/sbin/fence_ipmilan").exists(),
        "ipmi_sim or fence_ipmilan missing: apt-get install openipmi fence-agents"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let power = dir.path().join("power");
    std::fs::write(&power, "1\n").expect("power file");
    let script = dir.path().join("chassis");
    write_exec(
        &script,
        &format!(
            "#!/bin/sh\n[ \"$1\" = 0x20 ] && shift\ncase \"$1\" in\nget) echo \"power:$(cat {p})\";;\nset) [ \"$2\" = power ] && echo \"$3\" > {p};;\nesac\nexit 0\n",
            p = power.display()
        ),
    );
    let port = free_udp_port();
    let lan = dir.path().join("lan.conf");
    std::fs::write(
        &lan,
        format!(
            "name \"bmc1\"\nset_working_mc 0x20\n  startlan 1\n    addr 127.0.0.1 {port}\n    priv_limit admin\n\
             \x20   allowed_auths_callback none md5 straight\n    allowed_auths_user none md5 straight\n\
             \x20   allowed_auths_operator none md5 straight\n    allowed_auths_admin none md5 straight\n\
             \x20   guid a123456789abcdefa123456789abcdef\n  endlan\n  chassis_control \"{}\"\n\
             user 2 true \"admin\" \"secret\" admin 10 md5 straight\n",
            script.display()
        ),
    )
    .expect("lan.conf");
    let emu = dir.path().join("bmc.emu");
    std::fs::write(
        &emu,
        "mc_setbmc 0x20\nmc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr\nmc_enable 0x20\n",
    )
    .expect("emu");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).expect("state dir");
    let child = Command::new("/usr/bin/ipmi_sim")
        .args(["-n", "-c"])
        .arg(&lan)
        .arg("-f")
        .arg(&emu)
        .arg("-s")
        .arg(&state)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ipmi_sim");
    Bmc {
        child,
        port,
        _dir: dir,
        power,
    }
}

#[tokio::test]
async fn fence_ipmilan_powers_a_simulated_host_off_and_on() {
    let bmc = start_bmc();
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let params = Params::new()
        .with("ip", "127.0.0.1")
        .with("ipport", &bmc.port.to_string())
        .with("username", "admin")
        .with("password", "secret")
        .with("lanplus", "1")
        .with("cipher", "3")
        .with("power_wait", "0")
        .with("pcmk_host_list", "node1");
    let run = |action: FenceAction| {
        let (exec, params) = (exec.clone(), params.clone());
        async move {
            exec.fence_agent(
                "ipmi1",
                "fence_ipmilan",
                &params,
                action,
                None,
                Duration::from_secs(20),
            )
            .await
        }
    };
    // The simulator needs a moment to listen.
    let started = Instant::now();
    let mut status = run(FenceAction::Status).await;
    while status.rc != 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        status = run(FenceAction::Status).await;
    }
    assert_eq!(status.rc, 0, "status of a powered-on host: {status:?}");

    let off = run(FenceAction::Off).await;
    assert_eq!(off.rc, 0, "{off:?}");
    let power = std::fs::read_to_string(&bmc.power).expect("power file");
    assert_eq!(power.trim(), "0", "the BMC was told to power off");
    assert_eq!(
        run(FenceAction::Status).await.rc,
        7,
        "off host is 'not running'"
    );
    eprintln!("fence_ipmilan off took {} ms", off.exec_time.as_millis());

    let on = run(FenceAction::On).await;
    assert_eq!(on.rc, 0, "{on:?}");
    assert_eq!(
        std::fs::read_to_string(&bmc.power).expect("power").trim(),
        "1"
    );

    let wrong = Params::new()
        .with("ip", "127.0.0.1")
        .with("ipport", &bmc.port.to_string())
        .with("username", "admin")
        .with("password", "wrong")
        .with("lanplus", "1")
        .with("cipher", "3");
    let denied = exec
        .fence_agent(
            "ipmi1",
            "fence_ipmilan",
            &wrong,
            FenceAction::Off,
            None,
            Duration::from_secs(20),
        )
        .await;
    assert_ne!(denied.rc, 0);
    assert!(
        denied
            .exit_reason
            .as_deref()
            .is_none_or(|r| !r.contains("wrong")),
        "the password must not appear in the reason: {:?}",
        denied.exit_reason
    );
    assert_eq!(
        std::fs::read_to_string(&bmc.power).expect("power").trim(),
        "1"
    );
}

fn ipmi_device(id: &str, port: u16) -> pacer_crds::Primitive {
    pacer_crds::Primitive::new(
        id,
        pacer_crds::PrimitiveSpec {
            class: Some("stonith".into()),
            type_: Some("fence_ipmilan".into()),
            params: Some(
                [
                    ("ip", "127.0.0.1".to_string()),
                    ("ipport", port.to_string()),
                    ("username", "admin".into()),
                    ("lanplus", "1".into()),
                    ("cipher", "3".into()),
                    ("power_wait", "0".into()),
                    ("pcmk_host_list", "node1".into()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ),
            params_from: vec![pacer_crds::ParamFromSecret {
                name: "password".into(),
                secret_key_ref: pacer_crds::SecretKeyRef {
                    name: format!("{id}-secret"),
                    key: "password".into(),
                },
            }],
            ..Default::default()
        },
    )
}

/// Topology with real agents: level 1 is fence_ipmilan with a wrong password (retried,
/// then given up), level 2 a fence agent that hangs (killed at its pcmk_off_timeout),
/// level 3 the right credentials. The host ends up off through level 3 only, every
/// attempt is accounted for, and no password appears in the outcome.
#[tokio::test]
async fn topology_levels_fall_through_wrong_password_and_hanging_agent() {
    use pacer_agent::fencing::{self, AgentRunner};
    let bmc = start_bmc();
    let fence_dir = tempfile::tempdir().expect("fence dir");
    std::os::unix::fs::symlink("/usr/sbin/fence_ipmilan", fence_dir.path().join("fence_ipmilan"))
        .expect("symlink");
    write_exec(
        &fence_dir.path().join("fence_hang"),
        "#!/bin/sh\ncat >/dev/null\nsleep 600\n",
    );
    let (exec, _e) = Executor::new(ExecutorConfig {
        fence_dir: fence_dir.path().to_path_buf(),
        ..ExecutorConfig::default()
    });
    let mut hang = pacer_crds::Primitive::new(
        "hang",
        pacer_crds::PrimitiveSpec {
            class: Some("stonith".into()),
            type_: Some("fence_hang".into()),
            params: Some(
                [("pcmk_host_list", "node1"), ("pcmk_off_timeout", "1s"), ("pcmk_off_retries", "1")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        },
    );
    hang.spec.id = Some("hang".into());
    let prims = vec![
        ipmi_device("bad", bmc.port),
        hang,
        ipmi_device("good", bmc.port),
    ];
    let level = |index: i64, dev: &str| pacer_crds::FencingLevel {
        index,
        target: Some("node1".into()),
        devices: vec![dev.into()],
        ..Default::default()
    };
    let topo = pacer_crds::FencingTopology::new(
        "topo",
        pacer_crds::FencingTopologySpec {
            levels: vec![level(3, "good"), level(1, "bad"), level(2, "hang")],
        },
    );
    let levels = fencing::plan(&prims, &[topo], "node1", &Default::default());
    let runner = AgentRunner {
        executor: &exec,
        secrets: [
            (("bad-secret".to_string(), "password".to_string()), "not-the-password".to_string()),
            (("good-secret".to_string(), "password".to_string()), "secret".to_string()),
        ]
        .into(),
    };
    // The simulator needs a moment to listen.
    let t = Instant::now();
    while exec
        .fence_agent("good", "fence_ipmilan", &runner.params(&levels[2].devices[0]).expect("params"), FenceAction::Status, None, Duration::from_secs(5))
        .await
        .rc
        != 0
    {
        assert!(t.elapsed() < Duration::from_secs(10), "ipmi_sim never answered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = Instant::now();
    let out = fencing::execute(
        &runner,
        &levels,
        "node1",
        FenceAction::Off,
        Instant::now() + Duration::from_secs(40),
    )
    .await;
    eprintln!("topology fence: {} ({} ms)", out.message, started.elapsed().as_millis());
    assert!(out.ok, "{out:?}");
    assert_eq!(out.devices, ["good"]);
    let per = |d: &str| out.attempts.iter().filter(|a| a.device == d).count();
    assert_eq!((per("bad"), per("hang"), per("good")), (3, 2, 1), "{:?}", out.attempts);
    assert!(
        out.attempts
            .iter()
            .filter(|a| a.device == "hang")
            .all(|a| a.elapsed < Duration::from_secs(3) && a.rc != 0),
        "the hanging agent is killed at its timeout: {:?}",
        out.attempts
    );
    assert_eq!(std::fs::read_to_string(&bmc.power).expect("power").trim(), "0");
    let text = format!("{out:?}");
    assert!(!text.contains("not-the-password") && !text.contains("\"secret\""), "{text}");

    // Only wrong credentials: a clear failure naming the device, power untouched.
    std::fs::write(&bmc.power, "1\n").expect("power on");
    let only_bad = fencing::plan(&prims[..1], &[], "node1", &Default::default());
    let out = fencing::execute(&runner, &only_bad, "node1", FenceAction::Off, Instant::now() + Duration::from_secs(20)).await;
    assert!(!out.ok);
    assert!(out.message.contains("bad off failed (3 attempts)"), "{}", out.message);
    assert_eq!(std::fs::read_to_string(&bmc.power).expect("power").trim(), "1");
}
