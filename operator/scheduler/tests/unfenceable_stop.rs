//! A resource on a lost node that cannot be fenced (no quorum) must stop but waits for
//! the fencing: the summary says why as crm_simulate 2.1.5 does (checked on these CIBs).

use pacer_scheduler::schedule;

/// `rsc` started on n1, which is lost; n2 is up; no quorum.
fn cib(policy: &str, ban_n2: bool) -> String {
    let ban = if ban_n2 {
        r#"<rsc_location id="ban" rsc="rsc" node="n2" score="-INFINITY"/>"#
    } else {
        ""
    };
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="0">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="true"/>
      <nvpair id="o-q" name="no-quorum-policy" value="{policy}"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      <primitive id="rsc" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints>{ban}</constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="false" crmd="offline" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="rsc" class="ocf" provider="heartbeat" type="Dummy">
          <lrm_rsc_op id="rsc_last_0" operation_key="rsc_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#
    )
}

fn stop_line(xml: &str) -> String {
    let s = schedule(xml, Some(0)).expect("schedules");
    s.summary
        .iter()
        .find(|l| l.contains(" rsc "))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[test]
fn frozen_with_a_node_to_go_to_gives_no_reason() {
    assert_eq!(stop_line(&cib("freeze", false)), "* Stop rsc ( n1 ) blocked");
}

#[test]
fn no_quorum_stop_policy_says_so() {
    assert_eq!(
        stop_line(&cib("stop", false)),
        "* Stop rsc ( n1 ) due to no quorum (blocked)"
    );
}

#[test]
fn nowhere_else_to_go_is_node_availability() {
    assert_eq!(
        stop_line(&cib("freeze", true)),
        "* Stop rsc ( n1 ) due to node availability (blocked)"
    );
}
