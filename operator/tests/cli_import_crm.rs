//! `pacer import-crm` against crmsh as the oracle: every `examples/*/seed.crm` (the crm
//! samples of the seed documents) is turned into manifests by pacer and into CIB XML by
//! crmsh 4.4.1 offline (`CIB_file=… crm -f`); with all nodes online, pacer's scheduler on
//! pacer's manifests must print the same Transition Summary as crm_simulate on crmsh's XML.
//! Skipped where crm / crm_simulate are not installed.

use std::{fs, path::PathBuf, process::Command};

use pacer_operator::{cib::export::export_cib, cli::import_crm::import_crm};

fn online_states(nodes: &[String]) -> String {
    nodes
        .iter()
        .map(|n| {
            format!(
                "<node_state id=\"{n}\" uname=\"{n}\" in_ccm=\"true\" crmd=\"online\" join=\"member\" expected=\"member\"/>"
            )
        })
        .collect()
}

fn with_status(xml: &str, nodes: &[String]) -> String {
    let states = format!("<status>{}</status>", online_states(nodes));
    if xml.contains("<status/>") {
        xml.replacen("<status/>", &states, 1)
    } else if let Some(i) = xml.find("<status>") {
        format!(
            "{}{}{}",
            &xml[..i],
            states.trim_end_matches("</status>"),
            &xml[i + "<status>".len()..]
        )
    } else {
        xml.replacen("</cib>", &format!("{states}</cib>"), 1)
    }
}

fn summary(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut on = false;
    for l in text.lines() {
        if l.starts_with("Transition Summary:") {
            on = true;
            continue;
        }
        if on {
            if l.trim().is_empty() || !l.starts_with(' ') {
                break;
            }
            out.push(l.split_whitespace().collect::<Vec<_>>().join(" "));
        }
    }
    out.sort();
    out
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn seed_samples_schedule_as_crmsh_cibs_do() {
    if !tool("crm") || !tool("crm_simulate") {
        eprintln!("skipping: crmsh / crm_simulate not installed");
        return;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut seeds: Vec<PathBuf> = fs::read_dir(root.join("examples"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path().join("seed.crm")))
        .filter(|p| p.exists())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty());
    let tmp = std::env::temp_dir().join(format!("pacer-import-crm-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let mut report = Vec::new();
    let mut bad = Vec::new();
    for seed in &seeds {
        let text = fs::read_to_string(seed).unwrap();
        let (oracle, pacer) = compare(&text, &tmp);
        let name = seed
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        report.push(format!(
            "{name}: {} summary lines, {}",
            oracle.len(),
            if pacer == oracle { "same" } else { "DIFFERENT" }
        ));
        if pacer != oracle {
            bad.push(format!(
                "{name}\n  crmsh+crm_simulate: {oracle:#?}\n  pacer: {pacer:#?}"
            ));
        }
    }
    let _ = fs::remove_dir_all(&tmp);
    eprintln!("{}", report.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// (crmsh + crm_simulate, pacer) Transition Summaries for a crm configuration whose
/// `# nodes: a b` line names the nodes (all online).
fn compare(text: &str, tmp: &std::path::Path) -> (Vec<String>, Vec<String>) {
    let nodes: Vec<String> = text
        .lines()
        .find_map(|l| l.strip_prefix("# nodes:"))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    // pacer: crm text → manifests → CIB → scheduler.
    let objects = import_crm(text, &nodes).unwrap_or_else(|e| panic!("crm text: {e}"));
    let ours = with_status(&export_cib(&objects).unwrap(), &nodes);
    let ours_file = tmp.join("pacer.xml");
    fs::write(&ours_file, &ours).unwrap();
    let p = Command::new(env!("CARGO_BIN_EXE_pacer"))
        .args(["simulate", "--xml"])
        .arg(&ours_file)
        .args(["-t", "2026-01-01 00:00:00"])
        .output()
        .unwrap();
    let pacer = summary(&String::from_utf8_lossy(&p.stdout));
    // crmsh: the same text → CIB XML → crm_simulate.
    let nx: String = nodes
        .iter()
        .map(|n| format!("<node id=\"{n}\" uname=\"{n}\"/>"))
        .collect();
    let minimal = tmp.join("minimal.xml");
    fs::write(&minimal, format!("<cib validate-with=\"pacemaker-3.9\" admin_epoch=\"0\" epoch=\"1\" num_updates=\"0\"><configuration><crm_config/><nodes>{nx}</nodes><resources/><constraints/></configuration><status/></cib>")).unwrap();
    let script = tmp.join("script.crm");
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&script, format!("configure\n{body}show xml\n")).unwrap();
    let c = Command::new("crm")
        .arg("-f")
        .arg(&script)
        .env("CIB_file", &minimal)
        .output()
        .unwrap();
    let crm_xml = String::from_utf8_lossy(&c.stdout).to_string();
    let start = crm_xml
        .find("<?xml")
        .or_else(|| crm_xml.find("<cib"))
        .unwrap_or_else(|| {
            panic!(
                "{}: crmsh printed no XML: {}",
                "crm text",
                String::from_utf8_lossy(&c.stderr)
            )
        });
    let theirs_file = tmp.join("crmsh.xml");
    fs::write(&theirs_file, with_status(&crm_xml[start..], &nodes)).unwrap();
    let s = Command::new("crm_simulate")
        .arg("-x")
        .arg(&theirs_file)
        .args(["-S", "-t", "2026-01-01 00:00:00"])
        .output()
        .unwrap();
    let oracle = summary(&String::from_utf8_lossy(&s.stdout));
    (oracle, pacer)
}

/// Location rules (S7 idioms: `#uname ne`, `not_defined pingd or pingd lte 0`,
/// score-attribute, role rules on a promotable clone) and rsc/op defaults.
#[test]
fn location_rules_and_defaults_schedule_as_crmsh_cibs_do() {
    if !tool("crm") || !tool("crm_simulate") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("pacer-import-crm-rules-{}", std::process::id()));
    fs::create_dir_all(&tmp).unwrap();
    let text = r#"# nodes: node1 node2 node3
property stonith-enabled=false no-quorum-policy=ignore
rsc_defaults resource-stickiness=100 migration-threshold=1
op_defaults timeout=120s record-pending=true
node node1 attributes pingd=100
node node2 attributes pingd=0
node node3
primitive a ocf:pacemaker:Dummy op monitor interval=10s
primitive b ocf:pacemaker:Dummy op monitor interval=10s
primitive st ocf:pacemaker:Stateful op monitor interval=10s role=Promoted op monitor interval=11s role=Unpromoted
ms ms-st st meta promoted-max=1 notify=true
location a-not-node1 a rule -inf: #uname eq node1
location a-ping a rule -inf: not_defined pingd or pingd lte 0
location b-ping b rule pingd: defined pingd
location st-promoted ms-st rule $role=Promoted 200: #uname eq node3
colocation b-with-promoted inf: b ms-st:Promoted
order promote-then-b Mandatory: ms-st:promote b:start
"#;
    let (oracle, pacer) = compare(text, &tmp);
    let _ = fs::remove_dir_all(&tmp);
    eprintln!("rules sample: {} summary lines", oracle.len());
    assert!(!oracle.is_empty());
    assert_eq!(pacer, oracle);
}
