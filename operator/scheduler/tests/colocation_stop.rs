//! A resource mandatorily colocated with one that an ordering stops stops with it,
//! "due to colocation with" it (crm_simulate 2.1.5; `PACER_COLO_DUMP=DIR` writes the CIB).

use pacer_scheduler::schedule;

const CIB: &str = r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="false"/>
    </cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/></nodes>
    <resources>
      <primitive id="f" class="ocf" provider="heartbeat" type="Dummy">
        <meta_attributes id="f-m"><nvpair id="f-m-r" name="target-role" value="Stopped"/></meta_attributes>
      </primitive>
      <primitive id="p" class="ocf" provider="heartbeat" type="Dummy"/>
      <primitive id="d" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints>
      <rsc_order id="f-then-p" first="f" then="p"/>
      <rsc_colocation id="d-with-p" rsc="d" with-rsc="p" score="INFINITY"/>
    </constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="p" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="p_last_0" operation_key="p_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
        <lrm_resource id="d" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="d_last_0" operation_key="d_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="2:1:0:x" transition-magic="0:0;2:1:0:x" call-id="3" rc-code="0" op-status="0" interval="0" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/></lrm_resource>
      </lrm_resources></lrm>
    </node_state>
    <node_state id="2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
  </status>
</cib>"#;

#[test]
fn a_dependent_stops_with_its_primary() {
    if let Some(dir) = std::env::var_os("PACER_COLO_DUMP") {
        let _ = std::fs::write(std::path::Path::new(&dir).join("colocation-stop.xml"), CIB);
    }
    let s = schedule(CIB, Some(0)).expect("schedules");
    let mut lines: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "* Stop d ( n1 ) due to colocation with p",
            "* Stop p ( n1 ) due to unrunnable f start"
        ]
    );
}
