//! Bundles: each replica is a container (with its IP address), a Pacemaker Remote
//! connection making it a guest node, and an instance of the bundle's primitive on that
//! guest node. Expectations from crm_simulate 2.1.5 on these CIBs.

use pacer_scheduler::schedule;

fn summary(cib: &str) -> Vec<String> {
    let s = schedule(cib, Some(0)).expect("schedules");
    let mut lines: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// Two replicas with addresses from ip-range-start, one per host; the other resource
/// goes to the node the bundle left free.
const REPLICAS: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/></nodes>
    <resources>
      <bundle id="B">
        <docker image="img" replicas="2"/>
        <network ip-range-start="10.0.0.10" control-port="3121"/>
        <primitive class="ocf" id="d" provider="pacemaker" type="Dummy"/>
      </bundle>
      <primitive class="ocf" id="x" provider="pacemaker" type="Dummy"/>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="3" uname="n3" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn replicas_spread_with_their_address_connection_and_instance() {
    assert_eq!(
        summary(REPLICAS),
        [
            "* Start B-0 ( n1 )",
            "* Start B-1 ( n2 )",
            "* Start B-docker-0 ( n1 )",
            "* Start B-docker-1 ( n2 )",
            "* Start B-ip-10.0.0.10 ( n1 )",
            "* Start B-ip-10.0.0.11 ( n2 )",
            "* Start d:0 ( B-0 )",
            "* Start d:1 ( B-1 )",
            "* Start x ( n3 )",
        ]
    );
}

/// A container on a Pacemaker Remote node: its connection runs on a cluster node.
const ON_REMOTE: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive class="ocf" id="r1" provider="pacemaker" type="remote"/>
      <bundle id="B">
        <podman image="img" replicas="2"/>
        <network control-port="3123"/>
        <primitive class="ocf" id="d" provider="pacemaker" type="Dummy"/>
      </bundle>
    </resources>
    <constraints/>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn a_container_on_a_remote_node_has_its_connection_elsewhere() {
    assert_eq!(
        summary(ON_REMOTE),
        [
            "* Start B-0 ( n1 )",
            "* Start B-1 ( n1 )",
            "* Start B-podman-0 ( n1 )",
            "* Start B-podman-1 ( r1 )",
            "* Start d:0 ( B-0 )",
            "* Start d:1 ( B-1 )",
            "* Start r1 ( n1 )",
        ]
    );
}

/// promoted-max makes the primitive's clone promotable: a role-specific location on
/// the bundle is its promotion preference, "promote the bundle" its promotion. A
/// clone with notifications lets what follows it wait for them ("notified").
const PROMOTABLE: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <bundle id="B">
        <docker image="img" replicas="2" promoted-max="1"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="s" provider="pacemaker" type="Stateful"/>
      </bundle>
      <bundle id="W">
        <podman image="img2" replicas="1"/>
        <network control-port="3122"/>
        <primitive class="ocf" id="w" provider="pacemaker" type="Dummy"/>
      </bundle>
      <primitive class="ocf" id="x" provider="pacemaker" type="Dummy"/>
      <clone id="C">
        <meta_attributes id="cm"><nvpair id="cm1" name="notify" value="true"/><nvpair id="cm2" name="target-role" value="Stopped"/></meta_attributes>
        <primitive class="ocf" id="c" provider="pacemaker" type="Dummy"/>
      </clone>
    </resources>
    <constraints>
      <rsc_location id="l1" rsc="B" role="Promoted" node="B-1" score="100"/>
      <rsc_order id="o1" first="B" first-action="promote" then="x" then-action="start"/>
      <rsc_order id="o2" first="C" first-action="start" then="W" then-action="start"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn a_bundle_promotes_its_primitive_and_orders_by_its_name() {
    assert_eq!(
        summary(PROMOTABLE),
        [
            "* Promote s:1 ( Stopped -> Promoted B-1 )",
            "* Start B-0 ( n1 )",
            "* Start B-1 ( n2 )",
            "* Start B-docker-0 ( n1 )",
            "* Start B-docker-1 ( n2 )",
            "* Start W-0 ( n1 ) due to unrunnable W-podman-0 start (blocked)",
            "* Start W-podman-0 ( n1 ) due to unrunnable C notified (blocked)",
            "* Start s:0 ( B-0 )",
            "* Start w:0 ( W-0 ) due to unrunnable W-podman-0 start (blocked)",
            "* Start x ( B-0 )",
        ]
    );
}
