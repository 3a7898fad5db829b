//! Which instance of an anonymous clone each copy in the history becomes (checked
//! against crm_simulate 2.1.5 on these CIBs): a second copy on one node, a copy on a
//! lost node that need not wait for fencing, and copies of a clone with clone-max 0
//! are surplus instances numbered after all the others, and are stopped.

use pacer_scheduler::schedule;

/// Digest of a Dummy start without parameters.
const DIGEST: &str = "f2317cad3d54cec5d7d7aa7d0bf35cf8";

/// Clone `c` of `d` on n1..n3; `entries` are the history ids started on each node.
fn cib(
    clone_max: u32,
    requires: Option<&str>,
    n1_lost: bool,
    entries: &[(&str, &[&str])],
) -> String {
    let req = requires
        .map(|r| format!(r#"<meta_attributes id="d-m"><nvpair id="d-m-r" name="requires" value="{r}"/></meta_attributes>"#))
        .unwrap_or_default();
    let mut states = String::new();
    for (i, n) in ["n1", "n2", "n3"].iter().enumerate() {
        let up = if n1_lost && *n == "n1" {
            r#"in_ccm="false" crmd="offline""#
        } else {
            r#"in_ccm="true" crmd="online""#
        };
        let ids = entries
            .iter()
            .find(|(m, _)| m == n)
            .map(|(_, v)| *v)
            .unwrap_or(&[]);
        let lrs: String = ids
            .iter()
            .enumerate()
            .map(|(k, id)| {
                let call = k + 2;
                format!(
                    r#"<lrm_resource id="{id}" class="ocf" provider="heartbeat" type="Dummy"><lrm_rsc_op id="{id}_last_0" operation_key="{id}_start_0" operation="start" crm-debug-origin="x" crm_feature_set="3.16.2" transition-key="{call}:1:0:x" transition-magic="0:0;{call}:1:0:x" call-id="{call}" rc-code="0" op-status="0" interval="0" op-digest="{DIGEST}" on_node="{n}"/></lrm_resource>"#
                )
            })
            .collect();
        let id = i + 1;
        states.push_str(&format!(
            r#"<node_state id="{id}" uname="{n}" {up} join="member" expected="member"><lrm id="{id}"><lrm_resources>{lrs}</lrm_resources></lrm></node_state>"#
        ));
    }
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="true"/></cluster_property_set></crm_config>
    <nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/></nodes>
    <resources>
      <primitive id="fence" class="stonith" type="fence_dummy"/>
      <clone id="c"><meta_attributes id="c-m"><nvpair id="c-m-max" name="clone-max" value="{clone_max}"/></meta_attributes>
        <primitive id="d" class="ocf" provider="heartbeat" type="Dummy">{req}</primitive></clone>
    </resources>
    <constraints/>
  </configuration>
  <status>{states}</status>
</cib>"#
    )
}

/// The summary lines about `d`, whitespace-normalized and sorted.
fn d_lines(xml: &str) -> Vec<String> {
    let s = schedule(xml, Some(0)).expect("schedules");
    let mut v: Vec<String> = s
        .summary
        .iter()
        .filter(|l| l.contains(" d:"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    v.sort();
    v
}

#[test]
fn a_second_copy_on_one_node_is_a_surplus_instance() {
    // n1's two copies (named 0 and 1) are one instance and a duplicate; n2's is the other.
    let xml = cib(3, None, false, &[("n1", &["d:0", "d:1"]), ("n2", &["d"])]);
    assert_eq!(
        d_lines(&xml),
        [
            "* Start d:2 ( n3 )",
            "* Stop d:3 ( n1 ) due to node availability"
        ]
    );
}

#[test]
fn a_lost_nodes_copy_not_needing_fencing_leaves_the_instance_free() {
    // requires=quorum, 2 instances for 3 nodes: n1's copy (first in the status) is
    // surplus, so n2's and n3's keep their instances.
    let xml = cib(
        2,
        Some("quorum"),
        true,
        &[("n1", &["d"]), ("n2", &["d"]), ("n3", &["d"])],
    );
    assert_eq!(
        d_lines(&xml),
        ["* Stop d:2 ( n1 ) due to node availability"]
    );
}

#[test]
fn a_lost_nodes_copy_needing_fencing_keeps_its_instance() {
    let xml = cib(
        2,
        None,
        true,
        &[("n1", &["d"]), ("n2", &["d"]), ("n3", &["d"])],
    );
    assert_eq!(
        d_lines(&xml),
        [
            "* Move d:0 ( n1 -> n3 )",
            "* Stop d:2 ( n3 ) due to node availability"
        ]
    );
}

#[test]
fn copies_of_a_clone_with_no_instances_are_numbered_in_status_order() {
    let xml = cib(0, None, false, &[("n1", &["d:0"]), ("n2", &["d:5"])]);
    assert_eq!(
        d_lines(&xml),
        [
            "* Stop d:0 ( n1 ) due to node availability",
            "* Stop d:1 ( n2 ) due to node availability"
        ]
    );
}
