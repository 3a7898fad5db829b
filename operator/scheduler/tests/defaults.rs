//! `rsc_defaults` and `op_defaults` whose rules test the agent (`rsc_expression`) or the
//! operation (`op_expression`) apply to each resource and operation on its own
//! (crm_simulate 2.1.5 agrees: the rsc-defaults conformance cases).

use pacer_scheduler::{graph::Task, schedule};

fn cib(resources: &str, defaults: &str) -> String {
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>{resources}</resources>
    <constraints/>
    {defaults}
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#
    )
}

fn prim(id: &str, provider: &str, agent: &str, ops: &str) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="{provider}" type="{agent}"><operations>{ops}</operations></primitive>"#
    )
}

fn started(xml: &str) -> Vec<String> {
    let s = schedule(xml, Some(0)).expect("schedules");
    let mut v: Vec<String> = s
        .graph
        .actions
        .iter()
        .filter(|a| a.task == Task::Start)
        .filter_map(|a| a.resource.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn rsc_defaults_rule_applies_to_the_matching_agent_only() {
    let defaults = r#"<rsc_defaults>
      <meta_attributes id="ip-stopped">
        <rule id="ip-stopped-r" score="INFINITY">
          <rsc_expression id="ip-stopped-e" class="ocf" provider="heartbeat" type="IPaddr2"/>
        </rule>
        <nvpair id="ip-stopped-n" name="target-role" value="Stopped"/>
      </meta_attributes>
    </rsc_defaults>"#;
    let resources = [
        prim("ip", "heartbeat", "IPaddr2", ""),
        prim("d", "heartbeat", "Dummy", ""),
        // In a group the member's own agent counts; the group has none.
        format!(
            r#"<group id="g">{}{}</group>"#,
            prim("g-d", "heartbeat", "Dummy", ""),
            prim("g-ip", "heartbeat", "IPaddr2", "")
        ),
    ]
    .concat();
    let xml = cib(&resources, defaults);
    if let Some(dir) = std::env::var_os("PACER_DEFAULTS_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join("rsc-defaults.xml"), &xml).unwrap();
    }
    assert_eq!(started(&xml), ["d", "g-d"]);
    // Without the defaults everything starts.
    assert_eq!(started(&cib(&resources, "")), ["d", "g-d", "g-ip", "ip"]);
}

#[test]
fn explicit_meta_wins_over_a_matching_default() {
    let defaults = r#"<rsc_defaults>
      <meta_attributes id="stopped">
        <rule id="stopped-r" score="INFINITY">
          <rsc_expression id="stopped-e" class="ocf" provider="heartbeat" type="Dummy"/>
        </rule>
        <nvpair id="stopped-n" name="target-role" value="Stopped"/>
      </meta_attributes>
    </rsc_defaults>"#;
    let resources = r#"<primitive id="d" class="ocf" provider="heartbeat" type="Dummy">
      <meta_attributes id="d-m"><nvpair id="d-m-t" name="target-role" value="Started"/></meta_attributes>
    </primitive>"#;
    assert_eq!(started(&cib(resources, defaults)), ["d"]);
}

#[test]
fn op_defaults_rule_applies_to_the_matching_operation_only() {
    let defaults = r#"<op_defaults>
      <meta_attributes id="no-10s">
        <rule id="no-10s-r" score="INFINITY">
          <op_expression id="no-10s-e" name="monitor" interval="10s"/>
        </rule>
        <nvpair id="no-10s-n" name="enabled" value="false"/>
      </meta_attributes>
    </op_defaults>"#;
    let ops = r#"<op id="d-m10" name="monitor" interval="10s"/><op id="d-m20" name="monitor" interval="20s"/>"#;
    let resources = prim("d", "heartbeat", "Dummy", ops);
    let monitors = |xml: &str| -> Vec<u64> {
        let s = schedule(xml, Some(0)).expect("schedules");
        let mut v: Vec<u64> = s
            .graph
            .actions
            .iter()
            .filter_map(|a| match a.task {
                Task::Monitor { interval_ms } if interval_ms > 0 => Some(interval_ms),
                _ => None,
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(monitors(&cib(&resources, defaults)), [20_000]);
    assert_eq!(monitors(&cib(&resources, "")), [10_000, 20_000]);
}
