//! Reload instead of restart: a start recorded with `op-force-restart` (the parameters
//! that need a restart) and `op-restart-digest` (their digest then) is reloaded
//! (`reload-agent`) when only other parameters changed, restarted when one of those
//! changed, and restarted when it must follow a start. Checked against crm_simulate 2.1.5
//! (`PACER_RELOAD_DUMP=DIR` writes the CIBs).

use std::collections::BTreeMap;

use pacer_scheduler::{digest::parameters_digest, graph::Task, schedule};

/// `d` (ocf:pacemaker:Dummy, params `state` needing a restart and `op_sleep` not)
/// started on n1 with state=/a, op_sleep=1; configured now with `state`/`op_sleep`.
/// With `first`, `d` is ordered after `first`, which is stopped.
fn cib(state: &str, op_sleep: &str, first: bool) -> String {
    let recorded: BTreeMap<String, String> = [("op_sleep", "1"), ("state", "/a")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let digest = parameters_digest(&recorded);
    let restart = parameters_digest(
        &recorded
            .iter()
            .filter(|(k, _)| *k == "state")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    let (first_rsc, order) = if first {
        (
            r#"<primitive id="f" class="ocf" provider="pacemaker" type="Dummy"/>"#,
            r#"<rsc_order id="f-then-d" first="f" then="d"/>"#,
        )
    } else {
        ("", "")
    };
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1" crm_feature_set="3.16.2">
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
      {first_rsc}
    </resources>
    <constraints>{order}</constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">
      <lrm id="1"><lrm_resources>
        <lrm_resource id="d" class="ocf" provider="pacemaker" type="Dummy">
          <lrm_rsc_op id="d_last_0" operation_key="d_start_0" operation="start" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="1:1:0:x" transition-magic="0:0;1:1:0:x" call-id="2" rc-code="0" op-status="0" interval="0" op-digest="{digest}" op-force-restart=" state " op-restart-digest="{restart}"/>
        </lrm_resource>
        <lrm_resource id="f" class="ocf" provider="pacemaker" type="Dummy">
          <lrm_rsc_op id="f_last_0" operation_key="f_monitor_0" operation="monitor" crm-debug-origin="do_update_resource" crm_feature_set="3.16.2" transition-key="2:1:7:x" transition-magic="0:7;2:1:7:x" call-id="1" rc-code="7" op-status="0" interval="0"/>
        </lrm_resource>
      </lrm_resources></lrm>
    </node_state>
  </status>
</cib>"#
    )
}

fn tasks_of_d(name: &str, xml: &str) -> Vec<Task> {
    if let Some(dir) = std::env::var_os("PACER_RELOAD_DUMP") {
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.xml")), xml);
    }
    let s = schedule(xml, Some(0)).expect("schedules");
    s.graph
        .actions
        .iter()
        .filter(|a| a.resource.as_deref() == Some("d"))
        .map(|a| a.task.clone())
        .collect()
}

#[test]
fn a_reloadable_parameter_change_reloads() {
    let got = tasks_of_d("reload", &cib("/a", "2", false));
    assert_eq!(got, [Task::Reload]);
}

#[test]
fn a_restart_parameter_change_restarts() {
    let got = tasks_of_d("restart", &cib("/b", "1", false));
    assert!(got.contains(&Task::Stop) && got.contains(&Task::Start), "{got:?}");
    assert!(!got.contains(&Task::Reload), "{got:?}");
}

#[test]
fn nothing_changed_nothing_happens() {
    assert_eq!(tasks_of_d("same", &cib("/a", "1", false)), []);
}

#[test]
fn a_reload_after_a_required_start_becomes_a_restart() {
    let got = tasks_of_d("after-start", &cib("/a", "2", true));
    assert!(got.contains(&Task::Stop) && got.contains(&Task::Start), "{got:?}");
    assert!(!got.contains(&Task::Reload), "{got:?}");
}
