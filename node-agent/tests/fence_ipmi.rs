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
