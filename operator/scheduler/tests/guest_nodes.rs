//! Guest nodes (a `remote-node` meta attribute on a container resource): where the
//! implicit connection may run and how its failures count against the container.
//! Expected summaries checked against crm_simulate 2.1.5 on these CIBs.

use pacer_scheduler::schedule;

/// Container `vm` (guest node g1) preferring n1, `app` preferring g1 and banned from
/// n1; nothing runs yet. Optionally the connection g1 failed too often on n1.
fn cib(symmetric: bool, connection_failed: bool) -> String {
    let fc = if connection_failed {
        r#"<transient_attributes id="1"><instance_attributes id="s1"><nvpair id="s1-fc" name="fail-count-g1" value="INFINITY"/></instance_attributes></transient_attributes>"#
    } else {
        ""
    };
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/><nvpair id="o-y" name="symmetric-cluster" value="{symmetric}"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/></nodes>
    <resources>
      <primitive id="vm" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="vm-m"><nvpair id="vm-rn" name="remote-node" value="g1"/></meta_attributes></primitive>
      <primitive id="app" class="ocf" provider="heartbeat" type="Dummy"/>
    </resources>
    <constraints><rsc_location id="vm-n1" rsc="vm" node="n1" score="100"/><rsc_location id="app-g1" rsc="app" node="g1" score="100"/><rsc_location id="app-n1" rsc="app" node="n1" score="-INFINITY"/></constraints>
  </configuration>
  <status>
    <node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member">{fc}</node_state>
  </status>
</cib>"#
    )
}

fn summary(xml: &str) -> Vec<String> {
    let s = schedule(xml, Some(0)).expect("schedules");
    let mut out: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    out.sort();
    out
}

#[test]
fn guest_connection_runs_with_its_container_in_an_asymmetric_cluster() {
    let want = [
        "* Start app ( g1 )",
        "* Start g1 ( n1 )",
        "* Start vm ( n1 )",
    ];
    assert_eq!(summary(&cib(false, false)), want);
    assert_eq!(summary(&cib(true, false)), want);
}

#[test]
fn connection_failures_count_against_the_container() {
    // (crm_simulate also lists app's start as blocked; not checked here.)
    for symmetric in [true, false] {
        let s = summary(&cib(symmetric, true));
        assert!(
            !s.iter()
                .any(|l| l.starts_with("* Start vm") || l.starts_with("* Start g1")),
            "{s:?}"
        );
    }
}
