//! The `pacer` binary as an administrator runs it: CRDs, import/export through pipes, and
//! crm_simulate-compatible `simulate` flags.

use std::{
    io::Write,
    process::{Command, Stdio},
};

const PACER: &str = env!("CARGO_BIN_EXE_pacer");

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(PACER)
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn crds_prints_every_kind() {
    let (ok, out, _) = run(&["crds"], None);
    assert!(ok);
    for crd in pacer_crds::all_crds() {
        assert!(out.contains(&format!("name: {}\n", crd.metadata.name.unwrap())));
    }
}

#[test]
fn import_and_export_work_through_pipes() {
    let manifests = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/s3-vip/manifests.yaml"
    ))
    .unwrap();
    let (ok, xml, err) = run(&["export-cib", "-"], Some(&manifests));
    assert!(ok, "{err}");
    assert!(
        xml.starts_with("<cib ") && xml.contains("<primitive id=\"ip\""),
        "{xml}"
    );
    let (ok, yaml, err) = run(&["import-cib", "-"], Some(&xml));
    assert!(ok, "{err}");
    assert!(
        yaml.contains("kind: Primitive") && yaml.contains("type: IPaddr2"),
        "{yaml}"
    );
}

#[test]
fn import_errors_name_the_element_and_line() {
    let (ok, _, err) = run(
        &["import-cib", "-"],
        Some("<cib>\n<configuration>\n<bogus/></configuration></cib>"),
    );
    assert!(!ok);
    assert!(err.contains("line 3") && err.contains("<bogus>"), "{err}");
}

#[test]
fn simulate_takes_crm_simulate_flags() {
    let cib = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/s7-cib-idioms/seed-cib.xml"
    );
    // run.py calls `pacer simulate --xml FILE -t DATE`; -S is accepted and ignored.
    let (ok, out, err) = run(
        &[
            "simulate",
            "--xml",
            cib,
            "-t",
            "2024-06-01 12:00:00",
            "-S",
            "-s",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("Transition Summary:"), "{out}");
    let (ok, out, err) = run(
        &["simulate", "-x", cib, "--date", "2024-06-01 12:00:00"],
        None,
    );
    assert!(ok && out.contains("Transition Summary:"), "{err}");
    let manifests = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/s3-vip/manifests.yaml"
    ))
    .unwrap();
    let (ok, out, err) = run(&["simulate", "-f", "-"], Some(&manifests));
    assert!(ok && out.contains("Transition Summary:"), "{err}");
    let (ok, _, err) = run(&["simulate", "--xml", cib, "--graph", "svg"], None);
    assert!(!ok && err.contains("only `dot`"), "{err}");
}
