//! Promotion scores of a promotable clone's instances (crm_simulate 2.1.5, checked on
//! these CIBs; `PACER_PROMO_DUMP=DIR` writes them out):
//! - the `master-<name>` attribute is read under the name the node's history records
//!   the anonymous instance by; without one the instance starts at -1, so it is not
//!   promoted (even if promoted now) unless a location for the Promoted role lifts it;
//! - the clone's locations count whatever their role;
//! - what a resource colocated with the clone prefers pulls the promotion towards it
//!   (whatever role the colocation names); colocated with the Promoted role it also
//!   pushes it away;
//! - equal scores: the node the clone itself prefers;
//! - `container-attribute-target=host`: read on the node hosting the container.

mod common;
use common::{Cib, summary};

fn ms(nodes: &[&str]) -> Cib {
    Cib::new(nodes).clone_of("ms", "p", &[("promotable", "true")])
}

fn check(name: &str, cib: &Cib, expected: &[&str]) {
    if let Ok(dir) = std::env::var("PACER_PROMO_DUMP") {
        std::fs::write(format!("{dir}/{name}.xml"), cib.xml()).expect("dump");
    }
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(summary(cib), want, "{name}");
}

#[test]
fn dependent_preference_pulls_the_promotion() {
    let cib = ms(&["n1", "n2"])
        .primitive("d")
        .colocation("d", "ms", "INFINITY")
        .location("d", "n2", "30")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "10")
        .running("p", "n1")
        .running("p", "n2");
    check(
        "dependent",
        &cib,
        &[
            "* Promote p:1 ( Unpromoted -> Promoted n2 )",
            "* Start d ( n2 )",
        ],
    );
}

#[test]
fn banned_promoted_dependent_moves_the_promotion() {
    // A group follows the Promoted role; one of its members may not run on n1.
    let cib = ms(&["n1", "n2"])
        .group("g", &["g1", "g2"])
        .constraint(
            r#"<rsc_colocation id="g-with-promoted" rsc="g" with-rsc="ms" with-rsc-role="Master" score="INFINITY"/>"#,
        )
        .location("g2", "n1", "-INFINITY")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "5")
        .ops("p", "n1", &[("start", 0, 0, 0), ("promote", 0, 0, 0)])
        .running("p", "n2");
    check(
        "banned",
        &cib,
        &[
            "* Demote p:0 ( Promoted -> Unpromoted n1 )",
            "* Promote p:1 ( Unpromoted -> Promoted n2 )",
            "* Start g1 ( n2 )",
            "* Start g2 ( n2 )",
        ],
    );
}

#[test]
fn score_is_read_under_the_recorded_instance_name() {
    let cib = ms(&["n1", "n2"])
        .running("p:1", "n1")
        .running("p:0", "n2")
        .node_attr("n1", "master-p:1", "20")
        .node_attr("n2", "master-p:0", "10");
    check(
        "recorded",
        &cib,
        &["* Promote p:0 ( Unpromoted -> Promoted n1 )"],
    );
}

#[test]
fn without_a_score_a_promoted_instance_is_demoted() {
    let cib = ms(&["n1", "n2"])
        .ops("p", "n1", &[("start", 0, 0, 0), ("promote", 0, 0, 0)])
        .running("p", "n2");
    check(
        "unscored",
        &cib,
        &["* Demote p:0 ( Promoted -> Unpromoted n1 )"],
    );
}

#[test]
fn clone_location_counts_for_promotion() {
    let cib = ms(&["n1", "n2"])
        .location("ms", "n2", "5")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "10")
        .running("p", "n1")
        .running("p", "n2");
    check(
        "clone-location",
        &cib,
        &["* Promote p:1 ( Unpromoted -> Promoted n2 )"],
    );
}

#[test]
fn equal_scores_follow_the_clone_preference() {
    let cib = ms(&["n1", "n2"])
        .primitive("d")
        .colocation("ms", "d", "100")
        .location("d", "n2", "30")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "10")
        .running("p", "n1")
        .running("p", "n2");
    check(
        "tie",
        &cib,
        &[
            "* Promote p:1 ( Unpromoted -> Promoted n2 )",
            "* Start d ( n2 )",
        ],
    );
}

/// container-attribute-target=host: a bundle instance's promotion score is read on the
/// host its container runs on. (crm_simulate also restarts everything here, as this
/// history has no parameter digests; only the roles are compared.)
const BUNDLE_ON_HOST: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <bundle id="B">
        <docker image="img" replicas="2" promoted-max="1"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="d" provider="pacemaker" type="Stateful"><meta_attributes id="d-m"><nvpair id="d-m-c" name="container-attribute-target" value="host"/></meta_attributes></primitive>
      </bundle>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources><lrm_resource id="B-docker-0" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-0_start_0" operation_key="B-docker-0_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.0.9" transition-key="1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:0;1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" rc-code="0" op-status="0" interval="0" last-rc-change="1" exec-time="1" queue-time="0"/></lrm_resource><lrm_resource id="B-0" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-0_start_0" operation_key="B-0_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.0.9" transition-key="1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:0;1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" rc-code="0" op-status="0" interval="0" last-rc-change="1" exec-time="1" queue-time="0"/></lrm_resource></lrm_resources></lrm></node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="2"><instance_attributes id="ta-2"><nvpair id="ta-2-m" name="master-d" value="10"/></instance_attributes></transient_attributes><lrm id="2"><lrm_resources><lrm_resource id="B-docker-1" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-1_start_0" operation_key="B-docker-1_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.0.9" transition-key="1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:0;1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" rc-code="0" op-status="0" interval="0" last-rc-change="1" exec-time="1" queue-time="0"/></lrm_resource><lrm_resource id="B-1" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-1_start_0" operation_key="B-1_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.0.9" transition-key="1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:0;1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" rc-code="0" op-status="0" interval="0" last-rc-change="1" exec-time="1" queue-time="0"/></lrm_resource></lrm_resources></lrm></node_state>
<node_state remote_node="true" id="B-0" uname="B-0" in_ccm="true" crm-debug-origin="x" node_fenced="0"><lrm id="B-0"><lrm_resources><lrm_resource id="d" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="d_start_0" operation_key="d_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.0.9" transition-key="1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:0;1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" rc-code="0" op-status="0" interval="0" last-rc-change="1" exec-time="1" queue-time="0"/></lrm_resource></lrm_resources></lrm></node_state><node_state remote_node="true" id="B-1" uname="B-1" in_ccm="true" crm-debug-origin="x" node_fenced="0"><lrm id="B-1"><lrm_resources><lrm_resource id="d" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="d_start_0" operation_key="d_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.0.9" transition-key="1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:0;1:1:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="2" rc-code="0" op-status="0" interval="0" last-rc-change="1" exec-time="1" queue-time="0"/></lrm_resource></lrm_resources></lrm></node_state>
  </status>
</cib>"#;

#[test]
fn bundle_instance_reads_its_score_on_the_container_host() {
    let s = pacer_scheduler::schedule(BUNDLE_ON_HOST, Some(0)).expect("schedules");
    let promoted: Vec<&String> = s
        .summary
        .iter()
        .filter(|l| l.contains("Promoted"))
        .collect();
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    assert!(promoted[0].contains("d:1") && promoted[0].contains("Promoted B-1"));
    let without = BUNDLE_ON_HOST.replace("value=\"host\"", "value=\"guest\"");
    let s = pacer_scheduler::schedule(&without, Some(0)).expect("schedules");
    assert!(
        !s.summary.iter().any(|l| l.contains("Promoted")),
        "{:?}",
        s.summary
    );
}
