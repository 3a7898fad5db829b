//! `schedule_with_status` (status children parsed as separate Documents, as the operator
//! caches each node's `<node_state>`) must decide exactly what `schedule` decides on the
//! same CIB in one string.

use pacer_scheduler::{Schedule, schedule, schedule_with_status};
use roxmltree::Document;
use std::path::Path;
use std::time::Instant;

const CASES: &str = "/work/shared/conformance/pacemaker-2.1.5/cases";

/// The element children of the CIB's `<status>`, each re-serialised as its own string.
fn status_strings(xml: &str) -> Vec<String> {
    let doc = Document::parse(xml).expect("CIB parses");
    let status = doc
        .root_element()
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == "status");
    status
        .into_iter()
        .flat_map(|s| s.children().filter(|c| c.is_element()))
        .map(|c| xml[c.range()].to_string())
        .collect()
}

/// The CIB with its `<status>` element cut out, as the operator renders it: nothing can
/// then be found in the config Document's own status.
fn without_status(xml: &str) -> String {
    let doc = Document::parse(xml).expect("CIB parses");
    let status = doc
        .root_element()
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == "status");
    match status {
        Some(s) => format!("{}{}", &xml[..s.range().start], &xml[s.range().end..]),
        None => xml.to_string(),
    }
}

/// Run `schedule_with_status` on `cib` with `parts` each parsed as its own Document.
fn split_run(cib: &str, parts: &[String], now: Option<i64>) -> Result<Schedule, String> {
    let docs: Vec<Document> = parts
        .iter()
        .map(|p| Document::parse(p).expect("a status child parses alone"))
        .collect();
    let nodes: Vec<roxmltree::Node> = docs.iter().map(|d| d.root_element()).collect();
    schedule_with_status(cib, &nodes, now).map_err(|e| e.to_string())
}

fn assert_same(name: &str, whole: &Result<Schedule, String>, split: &Result<Schedule, String>) {
    match (whole, split) {
        (Ok(w), Ok(s)) => {
            assert_eq!(w.summary, s.summary, "{name}: summary differs");
            // The graph's Debug also prints its private edge-dedup HashSet, whose order
            // differs between any two runs: compare the actions and edges it is made of.
            assert_eq!(
                format!("{:?}", w.graph.actions),
                format!("{:?}", s.graph.actions),
                "{name}: graph actions differ"
            );
            assert_eq!(
                format!("{:?}", w.graph.edges),
                format!("{:?}", s.graph.edges),
                "{name}: graph edges differ"
            );
        }
        (Err(w), Err(s)) => assert_eq!(w, s, "{name}: error differs"),
        _ => panic!(
            "{name}: one run failed: whole ok={} split ok={}",
            whole.is_ok(),
            split.is_ok()
        ),
    }
}

#[test]
fn every_conformance_case_schedules_the_same_with_split_status() {
    let dir = Path::new(CASES);
    if !dir.is_dir() {
        eprintln!("skipped: {CASES} is missing");
        return;
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("read cases dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    paths.sort();
    let mut compared = 0;
    for p in &paths {
        let name = p.file_stem().unwrap_or_default().to_string_lossy();
        let xml = std::fs::read_to_string(p).expect("read case");
        if Document::parse(&xml).is_err() {
            continue; // both entry points reject it at the same parse
        }
        // `now`: the CIB's execution-date in both runs (the same input either way).
        let whole = schedule(&xml, None).map_err(|e| e.to_string());
        let split = split_run(&without_status(&xml), &status_strings(&xml), None);
        assert_same(&name, &whole, &split);
        compared += 1;
    }
    eprintln!("{compared} of {} cases compared", paths.len());
    assert!(compared > 500, "only {compared} cases compared");
}

const CONFIG: &str = r#"<cib have-quorum="1" epoch="1" num_updates="1" admin_epoch="0"><configuration>
<crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="n1" uname="n1"/><node id="n2" uname="n2"/></nodes>
<resources>
<primitive id="a" class="ocf" provider="heartbeat" type="Dummy"/>
<primitive id="b" class="ocf" provider="heartbeat" type="Dummy"/>
</resources>
<constraints><rsc_ticket id="b-needs-T" rsc="b" ticket="T" loss-policy="stop"/></constraints>
</configuration>
<status><node_state id="n2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="n2"><lrm_resources>
<lrm_resource id="a" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="a_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="1:1:0:x" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
</lrm_resources></lrm></node_state></status></cib>"#;

/// [`CONFIG`] with only tickets in its own status (as the operator renders it).
fn config_with_tickets() -> String {
    let (head, _) = CONFIG.split_once("<status>").expect("CONFIG has a status");
    format!(r#"{head}<status><tickets><ticket_state id="T" granted="true"/></tickets></status></cib>"#)
}

fn node_state(n: &str, inner: &str) -> String {
    format!(
        r#"<node_state id="{n}" uname="{n}" in_ccm="true" crmd="online" join="member" expected="member">{inner}</node_state>"#
    )
}

/// The separate status: `a` runs on n1, n2 is in standby.
fn parts() -> Vec<String> {
    vec![
        node_state(
            "n1",
            r#"<lrm id="n1"><lrm_resources><lrm_resource id="a" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="a_start_0" operation="start" interval="0" call-id="1" rc-code="0" op-status="0" transition-key="1:1:0:x" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource></lrm_resources></lrm>"#,
        ),
        node_state(
            "n2",
            r#"<transient_attributes id="n2"><instance_attributes id="ta-n2"><nvpair id="ta-n2-standby" name="standby" value="on"/></instance_attributes></transient_attributes>"#,
        ),
    ]
}

#[test]
fn status_from_other_documents_joins_the_cibs_own() {
    let split = split_run(&config_with_tickets(), &parts(), Some(0)).expect("schedules");
    // a stays on n1; b (its ticket granted in the CIB's own status, n2 in standby)
    // starts on n1.
    assert_eq!(split.summary.len(), 1, "{:?}", split.summary);
    let line: Vec<&str> = split.summary[0].split_whitespace().collect();
    assert_eq!(line, ["*", "Start", "b", "(", "n1", ")"]);

    // The same status inline gives the same decisions.
    let (head, _) = CONFIG.split_once("<status>").expect("CONFIG has a status");
    let inline = format!(
        r#"{head}<status>{}<tickets><ticket_state id="T" granted="true"/></tickets></status></cib>"#,
        parts().concat()
    );
    let whole = schedule(&inline, Some(0)).map_err(|e| e.to_string());
    assert_same("hand-written", &whole, &Ok(split));
}

/// Timing on a generated 16-node / 500-resource CIB (run with `--ignored --nocapture`):
/// `schedule` on the whole string vs `schedule_with_status` with the status pre-parsed.
#[test]
#[ignore]
fn timing_whole_vs_preparsed_status() {
    let out = std::process::Command::new("python3")
        .args(["/work/shared/bench/gen_cib.py", "16", "500"])
        .output()
        .expect("run gen_cib.py");
    assert!(out.status.success(), "gen_cib.py failed");
    let xml = String::from_utf8(out.stdout).expect("utf-8 CIB");
    let parts = status_strings(&xml);
    let docs: Vec<Document> = parts.iter().map(|p| Document::parse(p).unwrap()).collect();
    let nodes: Vec<roxmltree::Node> = docs.iter().map(|d| d.root_element()).collect();
    let config_only = without_status(&xml);
    let runs = 20;
    let time = |f: &dyn Fn() -> Schedule| {
        f();
        let t = Instant::now();
        for _ in 0..runs {
            f();
        }
        t.elapsed().as_secs_f64() * 1000.0 / runs as f64
    };
    let whole = time(&|| schedule(&xml, None).unwrap());
    let split = time(&|| schedule_with_status(&config_only, &nodes, None).unwrap());
    let parse_all = time(&|| {
        let docs: Vec<Document> = parts.iter().map(|p| Document::parse(p).unwrap()).collect();
        let nodes: Vec<roxmltree::Node> = docs.iter().map(|d| d.root_element()).collect();
        schedule_with_status(&config_only, &nodes, None).unwrap()
    });
    eprintln!(
        "16 nodes / 500 resources, {} KB CIB, mean of {runs}: schedule {whole:.2} ms, \
         schedule_with_status (status pre-parsed) {split:.2} ms, \
         schedule_with_status parsing every status child {parse_all:.2} ms",
        xml.len() / 1024
    );
}
