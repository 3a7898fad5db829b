//! Interleaved clone ordering: an instance whose node gets no instance of the first
//! clone is not started and not listed, nor is anything interleaved after it
//! (crm_simulate 2.1.5 prints no "blocked" line for them; checked on this CIB).

use pacer_scheduler::schedule;

fn cib(a_stopped: bool) -> String {
    let role = if a_stopped {
        r#"<nvpair id="a-role" name="target-role" value="Stopped"/>"#
    } else {
        ""
    };
    let clone = |id: &str, prim: &str, extra: &str| {
        format!(
            r#"<clone id="{id}"><meta_attributes id="{id}-m"><nvpair id="{id}-i" name="interleave" value="true"/>{extra}</meta_attributes><primitive id="{prim}" class="ocf" provider="heartbeat" type="Dummy"/></clone>"#
        )
    };
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>{}{}{}</resources>
    <constraints>
      <rsc_order id="a-b" first="a-clone" then="b-clone"/>
      <rsc_order id="b-c" first="b-clone" then="c-clone"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#,
        clone("a-clone", "a", role),
        clone("b-clone", "b", ""),
        clone("c-clone", "c", "")
    )
}

fn summary(xml: &str) -> Vec<String> {
    let s = schedule(xml, Some(0)).expect("schedules");
    s.summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn nothing_to_follow_nothing_listed() {
    assert_eq!(summary(&cib(true)), Vec::<String>::new());
}

#[test]
fn with_the_first_clone_running_everything_starts() {
    assert_eq!(summary(&cib(false)).len(), 6);
}
