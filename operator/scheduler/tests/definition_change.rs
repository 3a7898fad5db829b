//! A start recorded with other parameters than configured now restarts the resource;
//! crm_simulate gives the reason "due to resource definition change" only when the
//! start needs something. A resource that needs nothing (`requires=nothing`, or by
//! default without fencing while no-quorum-policy=ignore) restarts without a reason.
//! Checked against crm_simulate 2.1.5 (`PACER_DEFCHANGE_DUMP=DIR` writes the CIBs).

mod common;
use common::{Cib, summary};

/// `d` runs on n1, started with no parameters; configured now with one, plus `meta`.
fn changed(meta: &str) -> Cib {
    Cib::new(&["n1", "n2"])
        .raw_resource(&format!(
            r#"<primitive id="d" class="ocf" provider="heartbeat" type="Dummy">{meta}<instance_attributes id="d-i"><nvpair id="d-i-f" name="foo" value="bar"/></instance_attributes></primitive>"#
        ))
        .location("d", "n1", "100")
        .running("d", "n1")
}

fn run(name: &str, cib: &Cib) -> Vec<String> {
    if let Some(dir) = std::env::var_os("PACER_DEFCHANGE_DUMP") {
        let _ = std::fs::write(
            std::path::Path::new(&dir).join(format!("{name}.xml")),
            cib.xml(),
        );
    }
    summary(cib)
}

fn requires(v: &str) -> String {
    format!(
        r#"<meta_attributes id="d-m"><nvpair id="d-m-r" name="requires" value="{v}"/></meta_attributes>"#
    )
}

#[test]
fn definition_change_names_its_reason_when_the_start_needs_quorum() {
    assert_eq!(
        run("quorum", &changed("")),
        ["* Restart d ( n1 ) due to resource definition change"]
    );
}

#[test]
fn no_quorum_policy_ignore_without_fencing_means_requires_nothing() {
    let cib = changed("").option("no-quorum-policy", "ignore");
    assert_eq!(run("ignore", &cib), ["* Restart d ( n1 )"]);
    // An explicit requires=quorum still needs quorum.
    let cib = changed(&requires("quorum")).option("no-quorum-policy", "ignore");
    assert_eq!(
        run("ignore-quorum", &cib),
        ["* Restart d ( n1 ) due to resource definition change"]
    );
}

#[test]
fn requires_nothing_restarts_without_a_reason() {
    assert_eq!(
        run("nothing", &changed(&requires("nothing"))),
        ["* Restart d ( n1 )"]
    );
}
