//! Redfish fencing against sushy-tools' emulator (PyPI `sushy-tools`, installed into a venv
//! by scripts/install-deps.sh) with its fake driver: HTTPS with a self-signed certificate,
//! HTTP basic auth (bcrypt htpasswd), one system per emulator. The fake driver applies a
//! power change only after a delay (pinned to 2 s here), so an `off` that returns before
//! the system reports `Off` would be caught. Its external notifier PUTs every power change
//! to a listener of this test: the "harness hook" that sees what the BMC did.
//!
//! Both executors: the native client (stonith type `redfish`) and the real `fence_redfish`
//! through its stdin protocol.

use pacer_agent::{Executor, ExecutorConfig, Params, stonith::FenceAction};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const UUID: &str = "27946b59-9e44-4fa7-8e91-f3527a1ef094";
/// The fake driver's power-change delay, pinned.
const DELAY_S: u64 = 2;

fn emulator() -> PathBuf {
    if let Some(p) = std::env::var_os("PACER_SUSHY_EMULATOR") {
        return p.into();
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let p = home.join(".cache/pacer/sushy-venv/bin/sushy-emulator");
    assert!(
        p.exists(),
        "{} missing: run scripts/install-deps.sh (or set PACER_SUSHY_EMULATOR)",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Power notifications the emulator PUT to us: (ms since start, power_state, pending).
type Notes = Arc<Mutex<Vec<(u128, String, Option<String>)>>>;

struct Emulator {
    child: Child,
    port: u16,
    notes: Notes,
    _dir: tempfile::TempDir,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn notification_listener(t0: Instant) -> (u16, Notes) {
    let l = TcpListener::bind("127.0.0.1:0").expect("listener");
    let port = l.local_addr().expect("addr").port();
    let notes: Notes = Arc::default();
    let out = notes.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
                out.lock().expect("notes").push((
                    t0.elapsed().as_millis(),
                    v["power_state"].as_str().unwrap_or_default().to_string(),
                    v["pending_power"]["power_state"].as_str().map(String::from),
                ));
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, notes)
}

fn start(t0: Instant) -> Emulator {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=bmc"])
        .arg("-keyout")
        .arg(d.join("key.pem"))
        .arg("-out")
        .arg(d.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl");
    assert!(ok.success(), "openssl req failed");
    let emu = emulator();
    let python = emu.with_file_name("python");
    let hash = Command::new(&python)
        .args(["-c", "import bcrypt; print(bcrypt.hashpw(b'secret', bcrypt.gensalt(4)).decode())"])
        .output()
        .expect("bcrypt");
    std::fs::write(
        d.join("htpasswd"),
        format!("admin:{}", String::from_utf8_lossy(&hash.stdout).trim()),
    )
    .expect("htpasswd");
    let (notify_port, notes) = notification_listener(t0);
    std::fs::write(
        d.join("conf.py"),
        format!(
            "import random\nrandom.randint = lambda a, b: {DELAY_S}\n\
             SUSHY_EMULATOR_FAKE_DRIVER = True\n\
             SUSHY_EMULATOR_AUTH_FILE = '{auth}'\n\
             SUSHY_EMULATOR_STATE_DIR = '{state}'\n\
             EXTERNAL_NOTIFICATION_URL = 'http://127.0.0.1:{notify_port}/power'\n\
             SUSHY_EMULATOR_FAKE_SYSTEMS = [{{'uuid': '{UUID}', 'name': 'node1', 'power_state': 'On', 'external_notifier': True, 'nics': []}}]\n",
            auth = d.join("htpasswd").display(),
            state = d.join("state").display(),
        ),
    )
    .expect("conf");
    let port = free_port();
    let child = Command::new(&emu)
        .arg("--config")
        .arg(d.join("conf.py"))
        .args(["-i", "127.0.0.1", "-p", &port.to_string()])
        .arg("--ssl-certificate")
        .arg(d.join("cert.pem"))
        .arg("--ssl-key")
        .arg(d.join("key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sushy-emulator");
    Emulator {
        child,
        port,
        notes,
        _dir: dir,
    }
}

fn params(port: u16, password: &str) -> Params {
    Params::new()
        .with("ip", "127.0.0.1")
        .with("ipport", &port.to_string())
        .with("username", "admin")
        .with("password", password)
        .with("ssl_insecure", "1")
        .with("power_timeout", "15")
}

#[tokio::test]
async fn native_redfish_and_fence_redfish_power_off_with_verification() {
    let t0 = Instant::now();
    let emu = start(t0);
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let run = |agent: &'static str, action: FenceAction, p: Params| {
        let exec = exec.clone();
        async move {
            exec.fence_agent("bmc1", agent, &p, action, Some("node1"), Duration::from_secs(30))
                .await
        }
    };
    // Wait for the emulator to listen.
    let mut st = run("redfish", FenceAction::Status, params(emu.port, "secret")).await;
    while st.rc != 0 && t0.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        st = run("redfish", FenceAction::Status, params(emu.port, "secret")).await;
    }
    assert_eq!(st.rc, 0, "status of a powered-on system: {st:?}");
    let list = run("redfish", FenceAction::List, params(emu.port, "secret")).await;
    assert_eq!(list.output.trim(), format!("{UUID},node1"), "{list:?}");

    // Wrong password: refused, nothing powered off, no password in the reason.
    let denied = run("redfish", FenceAction::Off, params(emu.port, "wrong-pass")).await;
    assert_eq!(denied.rc, 1, "{denied:?}");
    let reason = denied.exit_reason.clone().unwrap_or_default();
    assert!(reason.contains("401") && !reason.contains("wrong-pass"), "{reason}");
    assert!(emu.notes.lock().expect("notes").is_empty(), "no power change on a refused request");

    // Native off: returns only once the system reports Off (the emulator applies the
    // change DELAY_S after the request).
    let before = t0.elapsed().as_millis();
    let off = run("redfish", FenceAction::Off, params(emu.port, "secret")).await;
    let after = t0.elapsed().as_millis();
    assert_eq!(off.rc, 0, "{off:?}");
    eprintln!("native redfish off (verified) took {} ms", off.exec_time.as_millis());
    assert!(
        // The emulator applies at whole-second time + DELAY_S: at least DELAY_S - 1 s later.
        off.exec_time >= Duration::from_secs(DELAY_S - 1),
        "off returned before the power state could have changed: {off:?}"
    );
    let notes = emu.notes.lock().expect("notes").clone();
    let applied = notes
        .iter()
        .find(|(_, state, pending)| state == "Off" && pending.is_none())
        .map(|(t, _, _)| *t)
        .unwrap_or_else(|| panic!("the BMC never reported the power-off: {notes:?}"));
    assert!(
        applied >= before && applied <= after,
        "power-off applied at {applied} ms, fence ran {before}..{after} ms: {notes:?}"
    );
    let st = run("redfish", FenceAction::Status, params(emu.port, "secret")).await;
    assert_eq!(st.rc, 7, "off system is 'not running': {st:?}");

    // The Python agent against the same BMC: on (it waits for the state itself), status.
    let on = run("fence_redfish", FenceAction::On, params(emu.port, "secret")).await;
    assert_eq!(on.rc, 0, "fence_redfish on: {on:?}");
    let st = run("fence_redfish", FenceAction::Status, params(emu.port, "secret")).await;
    assert_eq!(st.rc, 0, "fence_redfish status after on: {st:?}");
    let bad = run("fence_redfish", FenceAction::Off, params(emu.port, "wrong-pass")).await;
    assert_ne!(bad.rc, 0, "{bad:?}");
    assert!(
        !bad.exit_reason.unwrap_or_default().contains("wrong-pass"),
        "the password must not appear in the reason"
    );
    let st = run("redfish", FenceAction::Status, params(emu.port, "secret")).await;
    assert_eq!(st.rc, 0, "still on after the refused off: {st:?}");
}

#[tokio::test]
async fn native_redfish_reports_an_unreachable_bmc() {
    let (exec, _e) = Executor::new(ExecutorConfig::default());
    let port = free_port();
    let t = Instant::now();
    let r = exec
        .fence_agent(
            "bmc1",
            "redfish",
            &params(port, "secret"),
            FenceAction::Off,
            None,
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(r.rc, 1, "{r:?}");
    assert!(
        r.exit_reason.as_deref().is_some_and(|m| m.contains("cannot reach the BMC")),
        "{r:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
}
