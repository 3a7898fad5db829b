//! A start recorded with secure (masked) parameters: the definition is unchanged when
//! either the full op-digest or the secure digest still matches. Checked against
//! crm_simulate 2.1.5 on these CIBs.

use pacer_scheduler::schedule;

/// `app` with parameter passwd=`pw`, started on n1 with a recorded op-digest of
/// {passwd=whatever} and the given op-secure-digest.
fn cib(pw: &str, secure_digest: &str) -> String {
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive id="app" class="ocf" provider="heartbeat" type="Dummy"><instance_attributes id="app-ia"><nvpair id="app-pw" name="passwd" value="{pw}"/></instance_attributes></primitive>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="1"><lrm_resources>
      <lrm_resource id="app" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="app_last_0" operation_key="app_start_0" operation="start" interval="0" call-id="5" rc-code="0" op-status="0" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" last-rc-change="900" op-digest="5de129d7fe42dbcfe537f2c63b1921b6" op-secure-params=" passwd " op-secure-digest="{secure_digest}"/></lrm_resource>
    </lrm_resources></lrm></node_state>
  </status>
</cib>"#
    )
}

fn summary(xml: &str) -> Vec<String> {
    let s = schedule(xml, Some(0)).expect("schedules");
    s.summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// Digest of {passwd=whatever}; and of no parameters (passwd masked).
const WITH_PASSWD: &str = "5de129d7fe42dbcfe537f2c63b1921b6";
const MASKED: &str = "f2317cad3d54cec5d7d7aa7d0bf35cf8";

#[test]
fn matching_full_digest_is_no_change_whatever_the_secure_digest() {
    assert!(summary(&cib("whatever", WITH_PASSWD)).is_empty());
}

#[test]
fn matching_secure_digest_is_no_change() {
    assert!(summary(&cib("other", MASKED)).is_empty());
}

#[test]
fn neither_matching_restarts() {
    assert_eq!(
        summary(&cib("other", WITH_PASSWD)),
        ["* Restart app ( n1 ) due to resource definition change"]
    );
}
