//! The CIB bridge keeps every conformance case's scheduling: each CIB goes through
//! `pacer import-cib | pacer export-cib -` and `crm_simulate -S` must print the recorded
//! Transition Summary (via the shared runner and `operator/tests/roundtrip.sh`).
//! One case is refused on purpose (an `<lrm>` outside any `<node_state>`), so 578 of 579.

use std::{path::PathBuf, process::Command};

const FLOOR: u32 = 578;

fn conformance_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PACER_CONFORMANCE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("PACER_SHARED") {
        return PathBuf::from(d).join("conformance");
    }
    let beside = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance");
    if beside.is_dir() {
        beside
    } else {
        PathBuf::from("/work/shared/conformance")
    }
}

#[test]
fn round_tripped_cibs_schedule_like_the_originals() {
    let dir = conformance_dir();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/roundtrip.sh");
    let out = Command::new("python3")
        .arg(dir.join("run.py"))
        .args(["--jobs", "2", "--show-fail", "5", "--"])
        .arg(&script)
        .args(["{xml}", "{args}"])
        .env("PACER", env!("CARGO_BIN_EXE_pacer"))
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("python3 and the conformance runner are needed");
    let text = String::from_utf8_lossy(&out.stdout);
    let passed: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("conformance: "))
        .and_then(|l| l.split('/').next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no score from run.py:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        passed >= FLOOR,
        "round trip kept {passed} cases, floor {FLOOR}:\n{text}"
    );
}
