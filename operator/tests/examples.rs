//! Every scenario under examples/ parses through the typed model, passes the kinds' CEL
//! rules, exports to a CIB that `crm_verify` accepts, and schedules exactly like the seed
//! configuration it translates (crmsh's XML for `seed.crm`, or `seed-cib.xml`): same
//! allocation scores and Transition Summary from `crm_simulate` with all nodes up.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use pacer_operator::cib::{Object, export::export_cib, manifest};

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

fn load(paths: &[PathBuf]) -> Vec<Object> {
    let mut all = Vec::new();
    for p in paths {
        let text = fs::read_to_string(p).unwrap();
        all.extend(
            manifest::parse_manifests(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        );
    }
    all
}

fn cel_errors(o: &Object) -> Option<String> {
    let r = match o {
        Object::Primitive(x) => x.validate_cel(),
        Object::ResourceTemplate(x) => x.validate_cel(),
        Object::Group(x) => x.validate_cel(),
        Object::Clone(x) => x.validate_cel(),
        Object::Bundle(x) => x.validate_cel(),
        Object::Location(x) => x.validate_cel(),
        Object::Colocation(x) => x.validate_cel(),
        Object::Order(x) => x.validate_cel(),
        Object::Ticket(x) => x.validate_cel(),
        Object::ClusterProperties(x) => x.validate_cel(),
        Object::ResourceDefaults(x) => x.validate_cel(),
        Object::OperationDefaults(x) => x.validate_cel(),
        Object::Tag(x) => x.validate_cel(),
        Object::FencingTopology(x) => x.validate_cel(),
        Object::Alert(x) => x.validate_cel(),
        Object::ClusterNode(x) => x.validate_cel(),
        Object::NodeState(x) => x.validate_cel(),
        Object::TicketState(x) => x.validate_cel(),
        Object::Secret(_) => Ok(()),
    };
    r.err().map(|e| format!("{} {}: {e:?}", o.kind(), o.name()))
}

fn write_tmp(name: &str, text: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("pacer-example-{}-{name}", std::process::id()));
    fs::write(&p, text).unwrap();
    p
}

/// Allocation scores and Transition Summary, all nodes up and quorate.
fn simulate(xml: &Path, nodes: &[String]) -> Vec<String> {
    let mut cmd = Command::new("crm_simulate");
    cmd.arg("-x").arg(xml).args(["-S", "-s", "-q", "1"]);
    for n in nodes {
        cmd.args(["-u", n]);
    }
    let out = cmd
        .output()
        .expect("crm_simulate (pacemaker-cli-utils) must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains("allocation score") || l.trim_start().starts_with("* "))
        .filter(|l| !l.contains("Node ") && !l.contains("Online:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

fn oracle_xml(dir: &Path) -> Option<String> {
    if dir.join("seed-cib.xml").exists() {
        return Some(fs::read_to_string(dir.join("seed-cib.xml")).unwrap());
    }
    if !dir.join("seed.crm").exists() {
        return None;
    }
    let out = Command::new(examples_dir().join("translate.sh"))
        .arg(dir)
        .env("XML", "1")
        .output()
        .expect("examples/translate.sh needs crmsh (crm)");
    assert!(
        out.status.success(),
        "{}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}

#[test]
fn every_scenario_is_valid_and_schedules_like_its_seed() {
    let mut dirs: Vec<PathBuf> = fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for s in 1..=9 {
        assert!(
            names.iter().any(|n| n.starts_with(&format!("s{s}-"))),
            "examples/s{s}-* is missing"
        );
    }
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(dir.join("README.md").exists(), "{name}: README.md missing");
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        let all = load(&files);
        let bad: Vec<String> = all.iter().filter_map(cel_errors).collect();
        assert!(bad.is_empty(), "{name}: CEL validation failed: {bad:#?}");

        // Everything together (e.g. with observed NodeStates) is a CIB crm_verify accepts.
        let xml = export_cib(&all).unwrap_or_else(|e| panic!("{name}: {e}"));
        let path = write_tmp(&format!("{name}-all.xml"), &xml);
        let v = Command::new("crm_verify")
            .arg("-x")
            .arg(&path)
            .arg("-V")
            .output()
            .expect("crm_verify must be installed");
        let stderr = String::from_utf8_lossy(&v.stderr);
        assert!(!stderr.contains("error"), "{name}: crm_verify: {stderr}");

        // The declared configuration schedules exactly like the seed's.
        let Some(oracle) = oracle_xml(dir) else {
            continue;
        };
        let config = load(&[dir.join("manifests.yaml")]);
        let nodes: Vec<String> = config
            .iter()
            .filter_map(|o| match o {
                Object::ClusterNode(n) => Some(n.spec.uname.clone().unwrap_or_else(|| o.name())),
                _ => None,
            })
            .collect();
        let ours = write_tmp(&format!("{name}-ours.xml"), &export_cib(&config).unwrap());
        let theirs = write_tmp(&format!("{name}-seed.xml"), &oracle);
        let (a, b) = (simulate(&ours, &nodes), simulate(&theirs, &nodes));
        assert!(
            a.iter().any(|l| l.contains("allocation score")),
            "{name}: no scores from crm_simulate"
        );
        assert_eq!(
            a, b,
            "{name}: manifests schedule differently from the seed configuration"
        );
        for p in [path, ours, theirs] {
            let _ = fs::remove_file(p);
        }
    }
}
