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

/// `d` (params `state`, needing a restart, and `op_sleep`) has a start in flight on n1,
/// given `state=/a op_sleep=1`; configured now with `state`/`op_sleep`.
fn pending_start(state: &str, op_sleep: &str) -> String {
    use pacer_scheduler::digest::parameters_digest;
    let p = |pairs: &[(&str, &str)]| {
        parameters_digest(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    let digest = p(&[("op_sleep", "1"), ("state", "/a")]);
    let restart = p(&[("state", "/a")]);
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive id="d" class="ocf" provider="pacemaker" type="Dummy">
        <instance_attributes id="d-i">
          <nvpair id="d-i-s" name="state" value="{state}"/>
          <nvpair id="d-i-o" name="op_sleep" value="{op_sleep}"/>
        </instance_attributes>
      </primitive>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="d" class="ocf" provider="pacemaker" type="Dummy">
          <lrm_rsc_op id="d_last_0" operation_key="d_start_0" operation="start" crm_feature_set="3.16.2" transition-key="1:1:0:x" transition-magic="-1:193;1:1:0:x" call-id="-1" rc-code="193" op-status="-1" interval="0" op-digest="{digest}" op-force-restart=" state " op-restart-digest="{restart}"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#
    )
}

fn summary_of(name: &str, xml: &str) -> Vec<String> {
    if let Some(dir) = std::env::var_os("PACER_DEFCHANGE_DUMP") {
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.xml")), xml);
    }
    let s = pacer_scheduler::schedule(xml, Some(0)).expect("schedules");
    s.summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn a_start_in_flight_is_checked_against_the_parameters_it_was_given() {
    // Unchanged: nothing to do.
    assert!(summary_of("pending-same", &pending_start("/a", "1")).is_empty());
    // A parameter needing a restart changed.
    assert_eq!(
        summary_of("pending-restart", &pending_start("/b", "1")),
        ["* Restart d ( n1 ) due to resource definition change"]
    );
    // Only a reloadable one changed: a start in flight cannot be reloaded.
    assert_eq!(
        summary_of("pending-reload", &pending_start("/a", "2")),
        ["* Restart d ( n1 )"]
    );
}
