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
const ON_REMOTE: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
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
/// clone with notifications lets what follows it wait for them ("notified"). Other
/// resources do not run on a bundle's guest nodes unless a location names them.
const PROMOTABLE: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
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
      <rsc_order id="ord1" first="B" first-action="promote" then="x" then-action="start"/>
      <rsc_order id="ord2" first="C" first-action="start" then="W" then-action="start"/>
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
            "* Start x ( n2 )",
        ]
    );
}

/// The only node shuts down: the connection cannot run anywhere, so the instance on
/// the guest node stops for want of its connection.
const SHUTDOWN: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="2">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <bundle id="B">
        <docker image="img" replicas="1" promoted-max="0"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="s" provider="pacemaker" type="Stateful"/>
      </bundle>
    </resources>
    <constraints></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="s1"><nvpair id="s1-sd" name="shutdown" value="1000"/></instance_attributes></transient_attributes>
      <lrm id="1"><lrm_resources>
        <lrm_resource id="B-docker-0" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-0_last_0" operation_key="B-docker-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="31d155ca35508ceba91cd4fa7a11f44c"/></lrm_resource>
        <lrm_resource id="B-0" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-0_last_0" operation_key="B-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="3:1:0:x" transition-magic="0:0;3:1:0:x" call-id="3" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="1debd0eb13d61ecda2c892eff99a1811"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    
    <node_state remote_node="true" id="B-0" uname="B-0" in_ccm="true">
      <lrm id="B-0"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="4:1:0:x" transition-magic="0:0;4:1:0:x" call-id="4" rc-code="0" op-status="0" interval="0" on_node="B-0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;

#[test]
fn an_instance_stops_for_its_connection() {
    assert_eq!(
        summary(SHUTDOWN),
        [
            "* Stop B-0 ( n1 ) due to node availability",
            "* Stop B-docker-0 ( n1 ) due to node availability",
            "* Stop s:0 ( B-0 ) due to unrunnable B-0 start",
        ]
    );
}

/// The host of the promoted replica is lost: its guest is fenced "off" (the container
/// will not run again), and the other replica's instance is promoted instead.
const HOST_LOST: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.0" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="2">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      <bundle id="B">
        <docker image="img" replicas="2" promoted-max="1"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="s" provider="pacemaker" type="Stateful"/>
      </bundle>
    </resources>
    <constraints></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="false" crmd="offline" join="down" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="B-docker-0" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-0_last_0" operation_key="B-docker-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="31d155ca35508ceba91cd4fa7a11f44c"/></lrm_resource>
        <lrm_resource id="B-0" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-0_last_0" operation_key="B-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="3:1:0:x" transition-magic="0:0;3:1:0:x" call-id="3" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="1debd0eb13d61ecda2c892eff99a1811"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="2"><lrm_resources>
        <lrm_resource id="B-docker-1" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-1_last_0" operation_key="B-docker-1_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="5:1:0:x" transition-magic="0:0;5:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="7f702095d36d5083c18a545a303c3590"/></lrm_resource>
        <lrm_resource id="B-1" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-1_last_0" operation_key="B-1_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="6:1:0:x" transition-magic="0:0;6:1:0:x" call-id="6" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="7b33dedd233a0f64ebeace356fed7da1"/></lrm_resource>
        <lrm_resource id="fence" class="stonith" type="fence_dummy"><lrm_rsc_op id="fence_last_0" operation_key="fence_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="7:1:0:x" transition-magic="0:0;7:1:0:x" call-id="7" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state remote_node="true" id="B-0" uname="B-0" in_ccm="true">
      <transient_attributes id="B-0"><instance_attributes id="a0"><nvpair id="a0-m" name="master-s" value="5"/></instance_attributes></transient_attributes>
      <lrm id="B-0"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_promote_0" operation="promote" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="4:1:0:x" transition-magic="0:0;4:1:0:x" call-id="4" rc-code="0" op-status="0" interval="0" on_node="B-0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state remote_node="true" id="B-1" uname="B-1" in_ccm="true">
      <transient_attributes id="B-1"><instance_attributes id="a1"><nvpair id="a1-m" name="master-s" value="1"/></instance_attributes></transient_attributes>
      <lrm id="B-1"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="8:1:0:x" transition-magic="0:0;8:1:0:x" call-id="8" rc-code="0" op-status="0" interval="0" on_node="B-1" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;

#[test]
fn a_lost_host_powers_off_its_guest_and_promotion_moves() {
    assert_eq!(
        summary(HOST_LOST),
        [
            "* Fence (off) B-0 (resource: B-docker-0) 'guest is unclean'",
            "* Fence (reboot) n1 'peer is no longer part of the cluster'",
            "* Promote s:1 ( Unpromoted -> Promoted B-1 )",
            "* Stop B-0 ( n1 ) due to unrunnable B-docker-0 start",
            "* Stop B-docker-0 ( n1 ) due to node availability",
            "* Stop s:0 ( Promoted B-0 ) due to unrunnable B-docker-0 start",
        ]
    );
}

/// A resource configured before a bundle may not run on the bundle's guest nodes (they
/// do not exist yet when it is unpacked), whatever its location constraints say; the
/// bundle is placed in configuration order.
const BEFORE_BUNDLE: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive class="ocf" id="x" provider="pacemaker" type="Dummy"/>
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
      <clone id="C">
        <meta_attributes id="cm"><nvpair id="cm1" name="notify" value="true"/><nvpair id="cm2" name="target-role" value="Stopped"/></meta_attributes>
        <primitive class="ocf" id="c" provider="pacemaker" type="Dummy"/>
      </clone>
    </resources>
    <constraints><rsc_location id="lx" rsc="x" node="B-0" score="100"/>
      <rsc_location id="l1" rsc="B" role="Promoted" node="B-1" score="100"/>
      <rsc_order id="ord1" first="B" first-action="promote" then="x" then-action="start"/>
      <rsc_order id="ord2" first="C" first-action="start" then="W" then-action="start"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn resources_before_a_bundle_stay_off_its_guest_nodes() {
    assert_eq!(
        summary(BEFORE_BUNDLE),
        [
            "* Promote s:1 ( Stopped -> Promoted B-1 )",
            "* Start B-0 ( n2 )",
            "* Start B-1 ( n1 )",
            "* Start B-docker-0 ( n2 )",
            "* Start B-docker-1 ( n1 )",
            "* Start W-0 ( n2 ) due to unrunnable W-podman-0 start (blocked)",
            "* Start W-podman-0 ( n2 ) due to unrunnable C notified (blocked)",
            "* Start s:0 ( B-0 )",
            "* Start w:0 ( W-0 ) due to unrunnable W-podman-0 start (blocked)",
            "* Start x ( n1 )",
        ]
    );
}

/// A failed container fences its guest node: the promoted instance there, whose
/// monitor failed with on-fail=demote, starts afresh with the container and is
/// promoted again (its failure went with the guest).
const GUEST_RECOVERED: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="2">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      <bundle id="B">
        <docker image="img" replicas="2" promoted-max="1"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="s" provider="pacemaker" type="Stateful"><operations><op id="s-mon-p" name="monitor" interval="10s" role="Promoted" on-fail="demote"/><op id="s-mon-u" name="monitor" interval="11s" role="Unpromoted"/></operations></primitive>
      </bundle>
    </resources>
    <constraints></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="B-docker-0" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-0_last_0" operation_key="B-docker-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="31d155ca35508ceba91cd4fa7a11f44c"/><lrm_rsc_op id="B-docker-0_monitor_60000" operation_key="B-docker-0_monitor_60000" operation="monitor" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="9:1:0:x" transition-magic="0:7;9:1:0:x" call-id="9" rc-code="7" op-status="0" interval="60000" on_node="n1" op-digest="x"/></lrm_resource>
        <lrm_resource id="B-0" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-0_last_0" operation_key="B-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="3:1:0:x" transition-magic="0:0;3:1:0:x" call-id="3" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="1debd0eb13d61ecda2c892eff99a1811"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="2"><lrm_resources>
        <lrm_resource id="B-docker-1" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-1_last_0" operation_key="B-docker-1_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="5:1:0:x" transition-magic="0:0;5:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="7f702095d36d5083c18a545a303c3590"/></lrm_resource>
        <lrm_resource id="B-1" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-1_last_0" operation_key="B-1_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="6:1:0:x" transition-magic="0:0;6:1:0:x" call-id="6" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="7b33dedd233a0f64ebeace356fed7da1"/></lrm_resource>
        <lrm_resource id="fence" class="stonith" type="fence_dummy"><lrm_rsc_op id="fence_last_0" operation_key="fence_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="7:1:0:x" transition-magic="0:0;7:1:0:x" call-id="7" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state remote_node="true" id="B-0" uname="B-0" in_ccm="true">
      <transient_attributes id="B-0"><instance_attributes id="a0"><nvpair id="a0-m" name="master-s" value="10"/></instance_attributes></transient_attributes>
      <lrm id="B-0"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_promote_0" operation="promote" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="4:1:0:x" transition-magic="0:0;4:1:0:x" call-id="4" rc-code="0" op-status="0" interval="0" on_node="B-0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/><lrm_rsc_op id="s_monitor_10000" operation_key="s_monitor_10000" operation="monitor" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="10:1:8:x" transition-magic="0:1;10:1:8:x" call-id="10" rc-code="1" op-status="0" interval="10000" on_node="B-0" op-digest="x"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state remote_node="true" id="B-1" uname="B-1" in_ccm="true">
      <transient_attributes id="B-1"><instance_attributes id="a1"><nvpair id="a1-m" name="master-s" value="1"/></instance_attributes></transient_attributes>
      <lrm id="B-1"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="8:1:0:x" transition-magic="0:0;8:1:0:x" call-id="8" rc-code="0" op-status="0" interval="0" on_node="B-1" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;

#[test]
fn a_fenced_guest_forgets_a_demoting_failure() {
    assert_eq!(
        summary(GUEST_RECOVERED),
        [
            "* Fence (reboot) B-0 (resource: B-docker-0) 'guest is unclean'",
            "* Recover B-docker-0 ( n1 )",
            "* Recover s:0 ( Promoted B-0 )",
            "* Restart B-0 ( n1 ) due to required B-docker-0 start",
        ]
    );
}

/// A resource configured after a bundle runs on its guest node when a location
/// constraint names that node.
const NAMED_GUEST: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
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
    <constraints><rsc_location id="lx" rsc="x" node="B-0" score="100"/>
      <rsc_location id="l1" rsc="B" role="Promoted" node="B-1" score="100"/>
      <rsc_order id="ord1" first="B" first-action="promote" then="x" then-action="start"/>
      <rsc_order id="ord2" first="C" first-action="start" then="W" then-action="start"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn a_location_opens_a_guest_node_to_a_later_resource() {
    let lines = summary(NAMED_GUEST);
    assert!(
        lines.contains(&"* Start x ( B-0 )".to_string()),
        "{lines:?}"
    );
    assert_eq!(lines.len(), 10, "{lines:?}");
}

/// container-attribute-target=host: the promotion scores are the hosts' (n2 runs
/// replica 1's container and prefers it).
const HOST_ATTRIBUTES: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="2">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      <bundle id="B">
        <docker image="img" replicas="2" promoted-max="1"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="s" provider="pacemaker" type="Stateful"><meta_attributes id="s-m"><nvpair id="s-m-cat" name="container-attribute-target" value="host"/></meta_attributes></primitive>
      </bundle>
    </resources>
    <constraints></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="t1"><nvpair id="t1-m" name="master-s" value="5"/></instance_attributes></transient_attributes>
      <lrm id="1"><lrm_resources>
        <lrm_resource id="B-docker-0" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-0_last_0" operation_key="B-docker-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="31d155ca35508ceba91cd4fa7a11f44c"/></lrm_resource>
        <lrm_resource id="B-0" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-0_last_0" operation_key="B-0_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="3:1:0:x" transition-magic="0:0;3:1:0:x" call-id="3" rc-code="0" op-status="0" interval="0" on_node="n1" op-digest="1debd0eb13d61ecda2c892eff99a1811"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="2"><instance_attributes id="t2"><nvpair id="t2-m" name="master-s" value="10"/></instance_attributes></transient_attributes>
      <lrm id="2"><lrm_resources>
        <lrm_resource id="B-docker-1" class="ocf" provider="heartbeat" type="docker"><lrm_rsc_op id="B-docker-1_last_0" operation_key="B-docker-1_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="5:1:0:x" transition-magic="0:0;5:1:0:x" call-id="5" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="7f702095d36d5083c18a545a303c3590"/></lrm_resource>
        <lrm_resource id="B-1" class="ocf" provider="pacemaker" type="remote"><lrm_rsc_op id="B-1_last_0" operation_key="B-1_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="6:1:0:x" transition-magic="0:0;6:1:0:x" call-id="6" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="7b33dedd233a0f64ebeace356fed7da1"/></lrm_resource>
        <lrm_resource id="fence" class="stonith" type="fence_dummy"><lrm_rsc_op id="fence_last_0" operation_key="fence_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="7:1:0:x" transition-magic="0:0;7:1:0:x" call-id="7" rc-code="0" op-status="0" interval="0" on_node="n2" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state remote_node="true" id="B-0" uname="B-0" in_ccm="true">
      
      <lrm id="B-0"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="4:1:0:x" transition-magic="0:0;4:1:0:x" call-id="4" rc-code="0" op-status="0" interval="0" on_node="B-0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state remote_node="true" id="B-1" uname="B-1" in_ccm="true">
      
      <lrm id="B-1"><lrm_resources>
        <lrm_resource id="s" class="ocf" provider="pacemaker" type="Stateful"><lrm_rsc_op id="s_last_0" operation_key="s_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="8:1:0:x" transition-magic="0:0;8:1:0:x" call-id="8" rc-code="0" op-status="0" interval="0" on_node="B-1" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#;

/// ... the host a container runs on now: a replica only starting has none yet.
const HOST_ATTRIBUTES_STARTING: &str = r#"<cib crm_feature_set="3.0.12" validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" dc-uuid="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/></nodes>
    <resources>
      <bundle id="B">
        <docker image="img" replicas="2" promoted-max="1"/>
        <network control-port="3121"/>
        <primitive class="ocf" id="s" provider="pacemaker" type="Stateful">
          <meta_attributes id="s-m"><nvpair id="s-m-cat" name="container-attribute-target" value="host"/></meta_attributes>
        </primitive>
      </bundle>
    </resources>
    <constraints><rsc_location id="ban" rsc="B" node="n1" score="-INFINITY"/></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="1"><instance_attributes id="t1"><nvpair id="t1-m" name="master-s" value="10"/></instance_attributes></transient_attributes>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member">
      <transient_attributes id="2"><instance_attributes id="t2"><nvpair id="t2-m" name="master-s" value="5"/></instance_attributes></transient_attributes>
    </node_state>
    <node_state id="3" uname="n3" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn promotion_scores_can_be_the_hosts() {
    assert_eq!(
        summary(HOST_ATTRIBUTES),
        ["* Promote s:1 ( Unpromoted -> Promoted B-1 )"]
    );
    assert_eq!(
        summary(HOST_ATTRIBUTES_STARTING),
        [
            "* Start B-0 ( n2 )",
            "* Start B-1 ( n3 )",
            "* Start B-docker-0 ( n2 )",
            "* Start B-docker-1 ( n3 )",
            "* Start s:0 ( B-0 )",
            "* Start s:1 ( B-1 )",
        ]
    );
}
