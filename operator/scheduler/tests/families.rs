//! Scheduler behaviour per family, on small hand-built CIBs: the Transition Summary
//! (and, where it matters, the graph) must be what Pacemaker 2.1.5 would produce.

mod common;

use common::{Cib, summary};
use pacer_scheduler::graph::Task;

#[test]
fn stopped_resources_start_balanced_by_load_then_name() {
    let cib = Cib::new(&["n2", "n1"])
        .primitive("a")
        .primitive("b")
        .primitive("c");
    assert_eq!(
        summary(&cib),
        ["* Start a ( n1 )", "* Start b ( n2 )", "* Start c ( n1 )"]
    );
}

#[test]
fn location_preference_moves_a_resource_without_stickiness() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("a")
        .running("a", "n1")
        .location("a", "n2", "100");
    assert_eq!(summary(&cib), ["* Move a ( n1 -> n2 )"]);
}

#[test]
fn stickiness_outweighs_a_smaller_preference() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive_meta("a", &[("resource-stickiness", "200")])
        .running("a", "n1")
        .location("a", "n2", "100");
    assert!(summary(&cib).is_empty());
}

#[test]
fn standby_node_is_evacuated() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("a")
        .running("a", "n1")
        .node_attr("n1", "standby", "on");
    assert_eq!(summary(&cib), ["* Move a ( n1 -> n2 )"]);
}

#[test]
fn minus_infinity_everywhere_stops_the_resource() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("a")
        .running("a", "n1")
        .location("a", "n1", "-INFINITY")
        .location("a", "n2", "-INFINITY");
    assert_eq!(summary(&cib), ["* Stop a ( n1 ) due to node availability"]);
}

#[test]
fn failed_monitor_recovers_in_place_and_threshold_moves_it() {
    let cib = Cib::new(&["n1", "n2"]).primitive("a").failed("a", "n1");
    assert_eq!(summary(&cib), ["* Recover a ( n1 )"]);
    let cib = Cib::new(&["n1", "n2"])
        .primitive_meta("a", &[("migration-threshold", "1")])
        .failed("a", "n1")
        .node_attr("n1", "fail-count-a", "1");
    assert_eq!(summary(&cib), ["* Recover a ( n1 -> n2 )"]);
}

#[test]
fn failure_timeout_expires_the_fail_count() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive_meta(
            "a",
            &[("migration-threshold", "1"), ("failure-timeout", "60s")],
        )
        .running("a", "n1")
        .node_attr("n1", "fail-count-a", "1")
        .node_attr("n1", "last-failure-a", "1000");
    assert!(summary(&cib).is_empty(), "the failure is long expired");
}

#[test]
fn lost_node_is_fenced_and_its_resources_move() {
    let cib = Cib::new(&["n1", "n2"])
        .option("stonith-enabled", "true")
        .stonith_device("fence")
        .primitive("a")
        .running("a", "n1")
        .running("fence", "n2")
        .lost("n1");
    let lines = summary(&cib);
    assert!(
        lines.contains(&"* Fence (reboot) n1 'peer is no longer part of the cluster'".to_string())
    );
    assert!(lines.contains(&"* Move a ( n1 -> n2 )".to_string()));
    let s = pacer_scheduler::schedule(&cib.xml(), Some(0)).unwrap();
    let fence = s
        .graph
        .actions
        .iter()
        .find(|a| matches!(a.task, Task::Fence { .. }))
        .unwrap();
    let start = s
        .graph
        .actions
        .iter()
        .find(|a| a.task == Task::Start)
        .unwrap();
    assert!(
        s.graph
            .edges
            .iter()
            .any(|e| e.before == fence.id && e.after == start.id),
        "the start must wait for the fencing"
    );
}

#[test]
fn without_a_fence_device_a_lost_node_blocks_its_resources() {
    let cib = Cib::new(&["n1", "n2"])
        .option("stonith-enabled", "true")
        .primitive("a")
        .running("a", "n1")
        .lost("n1");
    assert!(summary(&cib).is_empty());
}

#[test]
fn no_quorum_stops_and_blocks() {
    let cib = Cib::new(&["n1", "n2"])
        .no_quorum()
        .primitive("a")
        .primitive("b")
        .running("a", "n1");
    assert_eq!(
        summary(&cib),
        [
            "* Start b ( n2 ) due to no quorum (blocked)",
            "* Stop a ( n1 ) due to no quorum"
        ]
    );
    let cib = cib.option("no-quorum-policy", "ignore");
    assert_eq!(summary(&cib), ["* Start b ( n2 )"]);
}

#[test]
fn group_members_follow_in_order_and_restart_after_a_recovered_member() {
    let cib = Cib::new(&["n1", "n2"]).group("g", &["a", "b", "c"]);
    assert_eq!(
        summary(&cib),
        ["* Start a ( n1 )", "* Start b ( n1 )", "* Start c ( n1 )"]
    );
    let cib = Cib::new(&["n1", "n2"])
        .group("g", &["a", "b", "c"])
        .running("a", "n1")
        .failed("b", "n1")
        .running("c", "n1");
    assert_eq!(
        summary(&cib),
        [
            "* Recover b ( n1 )",
            "* Restart c ( n1 ) due to required b start"
        ]
    );
}

#[test]
fn group_member_ban_moves_the_whole_group() {
    let cib = Cib::new(&["n1", "n2"])
        .group("g", &["a", "b"])
        .running("a", "n1")
        .running("b", "n1")
        .location("b", "n1", "-INFINITY");
    assert_eq!(
        summary(&cib),
        ["* Move a ( n1 -> n2 )", "* Move b ( n1 -> n2 )"]
    );
}

#[test]
fn colocation_follows_and_anti_colocation_separates() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("a")
        .primitive("b")
        .location("b", "n2", "10")
        .colocation("a", "b", "INFINITY");
    assert_eq!(summary(&cib), ["* Start a ( n2 )", "* Start b ( n2 )"]);
    let cib = Cib::new(&["n1", "n2"])
        .primitive("a")
        .primitive("b")
        .location("b", "n1", "10")
        .colocation("a", "b", "-INFINITY");
    assert_eq!(summary(&cib), ["* Start a ( n2 )", "* Start b ( n1 )"]);
}

#[test]
fn ordering_restarts_the_dependent_when_the_first_starts() {
    let cib = Cib::new(&["n1"])
        .primitive("a")
        .primitive("b")
        .running("b", "n1")
        .order("a", "b");
    assert_eq!(
        summary(&cib),
        [
            "* Restart b ( n1 ) due to required a start",
            "* Start a ( n1 )"
        ]
    );
}

#[test]
fn ordering_blocks_the_start_when_the_first_cannot_run() {
    let cib = Cib::new(&["n1"])
        .primitive("a")
        .primitive("b")
        .location("a", "n1", "-INFINITY")
        .order("a", "b");
    assert_eq!(
        summary(&cib),
        ["* Start b ( n1 ) due to unrunnable a start (blocked)"]
    );
}

#[test]
fn anonymous_clone_spreads_one_instance_per_node() {
    let cib = Cib::new(&["n1", "n2", "n3"])
        .clone_of("c", "d", &[])
        .running("d", "n2");
    assert_eq!(summary(&cib), ["* Start d:1 ( n1 )", "* Start d:2 ( n3 )"]);
}

#[test]
fn promotable_clone_promotes_the_highest_promotion_score() {
    let cib = Cib::new(&["n1", "n2"])
        .clone_of("ms", "s", &[("promotable", "true")])
        .running("s", "n1")
        .running("s", "n2")
        .node_attr("n1", "master-s", "5")
        .node_attr("n2", "master-s", "10");
    assert_eq!(
        summary(&cib),
        ["* Promote s:1 ( Unpromoted -> Promoted n2 )"]
    );
}

#[test]
fn tickets_stop_resources_that_depend_on_a_revoked_ticket() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("a")
        .running("a", "n1")
        .constraint("<rsc_ticket id=\"t\" rsc=\"a\" ticket=\"T\" loss-policy=\"stop\"/>");
    assert_eq!(summary(&cib), ["* Stop a ( n1 ) due to node availability"]);
}

#[test]
fn utilization_keeps_resources_within_node_capacity() {
    let cib = Cib::new(&["n1", "n2"])
        .option("placement-strategy", "utilization")
        .raw_resource("<primitive id=\"big\" class=\"ocf\" provider=\"heartbeat\" type=\"Dummy\"><utilization id=\"u\"><nvpair id=\"u1\" name=\"mem\" value=\"10\"/></utilization></primitive>");
    // No node declares capacity, so nothing fits.
    assert!(summary(&cib).is_empty());
}

#[test]
fn bad_xml_is_an_error_not_a_panic() {
    let err = pacer_scheduler::schedule("<cib><configuration>", None).unwrap_err();
    assert!(err.to_string().contains("not well-formed"));
}

/// Probes (monitor, interval 0) are scheduled only where the node's history has no
/// entry for the resource: a "not running" probe result (rc 7) counts as known, for
/// resources that change and for those that do not; an anonymous clone is probed once
/// per unknown node.
#[test]
fn probes_only_where_the_history_knows_nothing() {
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive("a")
        .primitive("b")
        .primitive("c")
        .clone_of("cl", "d", &[])
        // a: running on n1, probed "not running" on n2, unknown on n3.
        .running("a", "n1")
        .ops("a", "n2", &[("monitor", 0, 7, 7)])
        // b: probed everywhere, stopped (it will start: no re-probe).
        .ops("b", "n1", &[("monitor", 0, 7, 7)])
        .ops("b", "n2", &[("monitor", 0, 7, 7)])
        .ops("b", "n3", &[("monitor", 0, 7, 7)])
        // c: unknown everywhere. d (anonymous clone): known on n1 only.
        .ops("d", "n1", &[("monitor", 0, 7, 7)]);
    let s = pacer_scheduler::schedule(&cib.xml(), Some(2_000_000_000)).expect("valid CIB");
    let mut probes: Vec<(String, String)> = s
        .graph
        .actions
        .iter()
        .filter(|a| a.task == Task::Monitor { interval_ms: 0 })
        .map(|a| {
            let id = a.resource.clone().unwrap_or_default();
            let base = id.split(':').next().unwrap_or_default().to_string();
            (base, a.node.clone())
        })
        .collect();
    probes.sort();
    let want: Vec<(String, String)> = [
        ("a", "n3"),
        ("c", "n1"),
        ("c", "n2"),
        ("c", "n3"),
        ("d", "n2"),
        ("d", "n3"),
    ]
    .iter()
    .map(|(r, n)| (r.to_string(), n.to_string()))
    .collect();
    assert_eq!(probes, want);
    // Every start waits for the probes of its resource.
    for a in s.graph.actions.iter().filter(|a| a.task == Task::Start) {
        let rsc = a.resource.as_deref().unwrap_or_default();
        let base = rsc.split(':').next().unwrap_or_default();
        for p in s.graph.actions.iter().filter(|p| {
            p.task == (Task::Monitor { interval_ms: 0 })
                && p.resource.as_deref().unwrap_or_default().split(':').next() == Some(base)
                && base != "d"
        }) {
            assert!(
                s.graph
                    .edges
                    .iter()
                    .any(|e| e.before == p.id && e.after == a.id),
                "start of {rsc} on {} must wait for its probe on {}",
                a.node,
                p.node
            );
        }
    }
}

/// Guest nodes (a primitive with `remote-node`): Pacemaker adds the implicit connection
/// resource `guest1`, "fences" the guest by recovering its failed container, recovers
/// what ran on the guest in place and restarts the connection after the container.
/// Expected lines are crm_simulate 2.1.5's on the same CIB.
#[test]
fn failed_container_fences_its_guest_and_recovers_in_place() {
    let xml = include_str!("data/guest-container-failed.xml");
    let s = pacer_scheduler::schedule(xml, None).expect("valid CIB");
    let mut got: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "* Fence (reboot) guest1 (resource: vm) 'guest is unclean'",
            "* Move fence ( n1 -> n2 )",
            "* Recover app ( guest1 )",
            "* Recover vm ( n1 )",
            "* Restart guest1 ( n1 ) due to required vm start",
        ]
    );
    // The guest is fenced without a device action on a real node, and nothing runs
    // on the guest before its container has started again.
    let start_vm = s
        .graph
        .actions
        .iter()
        .find(|a| a.task == Task::Start && a.resource.as_deref() == Some("vm"))
        .expect("vm starts");
    let start_conn = s
        .graph
        .actions
        .iter()
        .find(|a| a.task == Task::Start && a.resource.as_deref() == Some("guest1"))
        .expect("connection starts");
    assert!(
        s.graph
            .edges
            .iter()
            .any(|e| e.before == start_vm.id && e.after == start_conn.id),
        "the connection starts after its container"
    );
}

#[test]
fn a_probe_saying_not_configured_stops_the_resource_everywhere() {
    // OCF_ERR_CONFIGURED (6) is fatal: the configuration is wrong on every node, so the
    // resource is stopped and started nowhere (crm_simulate: "Stop ... due to node
    // availability"), not recovered in place.
    let cib = Cib::new(&["n1", "n2"])
        .option("stonith-enabled", "false")
        .primitive("a")
        .ops("a", "n1", &[("monitor", 0, 6, 7)]);
    assert_eq!(summary(&cib), ["* Stop a ( n1 ) due to node availability"]);
}
