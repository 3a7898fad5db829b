//! Golden tests of `kubectl pacer status`: a conformance case's CIB is imported with the
//! CIB bridge and rendered; the node and resource lists must equal the "Current cluster
//! status:" block crm_simulate 2.1.5 printed for the same CIB (the case's `.summary`).
//!
//! `PACER_STATUS_ALL=1` also renders every case of the suite and prints the match count
//! and the first mismatches (a measurement, not an assertion).

use std::{fs, path::PathBuf};

use pacer_operator::{
    cib::import::import_cib,
    cli::status::{StatusInput, cluster_status_block, failed_action_lines},
};

fn cases_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance/pacemaker-2.1.5/cases")
}

fn expected(name: &str) -> Option<String> {
    let text = fs::read_to_string(cases_dir().join(format!("{name}.summary"))).ok()?;
    let start = text.find("Current cluster status:\n")? + "Current cluster status:\n".len();
    let end = text[start..].find("Transition Summary:")? + start;
    Some(text[start..end].trim_end().to_string() + "\n")
}

fn rendered(name: &str) -> Result<String, String> {
    let xml =
        fs::read_to_string(cases_dir().join(format!("{name}.xml"))).map_err(|e| e.to_string())?;
    let objects = import_cib(&xml).map_err(|e| format!("import: {e}"))?;
    let input = StatusInput {
        objects,
        ..Default::default()
    };
    cluster_status_block(&input).map_err(|e| e.to_string())
}

/// Representative states: groups, anonymous/unique/promotable clones, failed and
/// blocked resources, unclean/standby/offline nodes, pending operations.
const GOLDEN: &[&str] = &[
    "group1",
    "bug-1822",
    "clone-no-shuffle",
    "failed-demote-recovery",
    "bug-5059",
    "rec-node-1",
    "594",
    "726",
    "bug-5186-partial-migrate",
    "group-unmanaged-stopped",
    "clone-fail-block-colocation",
    "failed-probe-clone",
    "orphan-1",
    "node-maintenance-1",
    "multi1",
    "systemhealthm2",
    "remote-move",
];

#[test]
fn status_matches_crm_simulate_for_representative_cases() {
    if !cases_dir().exists() {
        eprintln!("skipping: {} not found", cases_dir().display());
        return;
    }
    let mut bad = Vec::new();
    for name in GOLDEN {
        let want = expected(name).expect("case has a status block");
        let got = rendered(name).unwrap_or_else(|e| e);
        if got != want {
            bad.push(format!(
                "=== {name}\n--- crm_simulate\n{want}--- pacer\n{got}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn status_match_rate_over_the_suite() {
    if std::env::var("PACER_STATUS_ALL").is_err() || !cases_dir().exists() {
        return;
    }
    let mut names: Vec<String> = fs::read_dir(cases_dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_suffix(".summary").map(String::from)
        })
        .collect();
    names.sort();
    let show: usize = std::env::var("PACER_STATUS_ALL")
        .unwrap()
        .parse()
        .unwrap_or(0);
    let (mut ok, mut shown) = (0, 0);
    let mut failed = Vec::new();
    for name in &names {
        let Some(want) = expected(name) else { continue };
        let got = rendered(name).unwrap_or_else(|e| e);
        if got == want {
            ok += 1;
        } else {
            failed.push(name.clone());
            if shown < show {
                shown += 1;
                eprintln!("=== {name}\n--- crm_simulate\n{want}--- pacer\n{got}");
            }
        }
    }
    eprintln!("status blocks equal to crm_simulate: {ok}/{}", names.len());
    eprintln!("differ: {}", failed.join(" "));
}

// ------------------------------------------------------------ failed actions (crm_mon)

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/crm_mon")
}

/// crm_mon's "Failed Resource Actions:" section for a case (empty when it has none).
fn crm_mon_failed(name: &str) -> Option<String> {
    let out = std::process::Command::new("crm_mon")
        .args(["-1", "-r"])
        .env("CIB_file", cases_dir().join(format!("{name}.xml")))
        .env("TZ", "UTC")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    Some(section(&text, "Failed Resource Actions:"))
}

fn section(text: &str, heading: &str) -> String {
    let Some(start) = text.find(&format!("\n{heading}\n")) else {
        return String::new();
    };
    let body = &text[start + 1..];
    let end = body.find("\n\n").map_or(body.len(), |e| e + 1);
    body[..end].to_string()
}

fn pacer_failed(name: &str) -> String {
    let xml = fs::read_to_string(cases_dir().join(format!("{name}.xml"))).unwrap();
    let objects = import_cib(&xml).unwrap();
    let lines = failed_action_lines(&objects);
    if lines.len() < 2 {
        return String::new();
    }
    lines
        .iter()
        .map(|(d, l)| {
            if *d == 0 {
                format!("{l}\n")
            } else {
                format!("{}* {l}\n", "  ".repeat(*d))
            }
        })
        .collect()
}

const GOLDEN_FAILED: &[&str] = &[
    "failed-demote-recovery",
    "failed-probe-clone",
    "on-fail-ignore",
    "colocation-influence",
    "migrate-fail-3",
    "stopped-monitor-07",
    "promoted-demote-block",
    "utilization-shuffle",
];

/// Compares with crm_mon's output stored in tests/golden/crm_mon (`UPDATE_GOLDEN=1`
/// re-runs crm_mon 2.1.5 on the case CIBs to rewrite them).
#[test]
fn failed_actions_match_crm_mon() {
    if !cases_dir().exists() {
        return;
    }
    let update = std::env::var("UPDATE_GOLDEN").is_ok();
    let mut bad = Vec::new();
    for name in GOLDEN_FAILED {
        let path = golden_dir().join(format!("{name}.failed"));
        if update {
            fs::create_dir_all(golden_dir()).unwrap();
            fs::write(&path, crm_mon_failed(name).expect("crm_mon runs")).unwrap();
        }
        let want = fs::read_to_string(&path).unwrap();
        let got = pacer_failed(name);
        if got != want {
            bad.push(format!("=== {name}\n--- crm_mon\n{want}--- pacer\n{got}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// `PACER_STATUS_ALL=1` with crm_mon installed: failed-action sections equal over the
/// whole suite (a measurement).
#[test]
fn failed_actions_match_rate() {
    if std::env::var("PACER_STATUS_ALL").is_err() || !cases_dir().exists() {
        return;
    }
    let mut names: Vec<String> = fs::read_dir(cases_dir())
        .unwrap()
        .filter_map(|e| {
            let n = e.ok()?.file_name().into_string().ok()?;
            n.strip_suffix(".xml").map(String::from)
        })
        .collect();
    names.sort();
    let (mut with, mut ok) = (0, 0);
    for name in &names {
        let Some(want) = crm_mon_failed(name) else {
            return;
        };
        let got = std::panic::catch_unwind(|| pacer_failed(name)).unwrap_or_default();
        if want.is_empty() && got.is_empty() {
            continue;
        }
        with += 1;
        if want == got {
            ok += 1;
        } else {
            eprintln!("=== {name}\n--- crm_mon\n{want}--- pacer\n{got}");
        }
    }
    eprintln!("failed-action sections equal to crm_mon: {ok}/{with}");
}
