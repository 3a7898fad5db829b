//! With a placement strategy, a resource is placed where there is room for it and
//! for every unplaced resource that must run with it (mandatory colocations, both
//! ways, transitively). If no node has room for all of them, only its own needs
//! count and the node with the most free capacity is preferred when it scores as
//! well as the best. Expected placements checked with crm_simulate 2.1.5.

use pacer_scheduler::schedule;

/// Nodes n1.. (ids 101..) with the given cpu capacities; primitives (id, cpu); colocations
/// (dependent, primary) at INFINITY; locations (rsc, node, score).
fn cib(
    caps: &[i64],
    rscs: &[(&str, i64)],
    colocs: &[(&str, &str)],
    locs: &[(&str, &str, i64)],
) -> String {
    let nodes: String = caps
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                r#"<node id="10{n}" uname="n{n}"><utilization id="u{n}"><nvpair id="u{n}-cpu" name="cpu" value="{c}"/></utilization></node>"#,
                n = i + 1
            )
        })
        .collect();
    let states: String = (1..=caps.len())
        .map(|n| {
            format!(
                r#"<node_state id="10{n}" uname="n{n}" in_ccm="true" crmd="online" join="member" expected="member"/>"#
            )
        })
        .collect();
    let resources: String = rscs
        .iter()
        .map(|(id, cpu)| {
            format!(
                r#"<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"><utilization id="{id}-u"><nvpair id="{id}-u-cpu" name="cpu" value="{cpu}"/></utilization></primitive>"#
            )
        })
        .collect();
    let mut constraints: String = colocs
        .iter()
        .map(|(d, p)| {
            format!(
                r#"<rsc_colocation id="{d}-with-{p}" rsc="{d}" with-rsc="{p}" score="INFINITY"/>"#
            )
        })
        .collect();
    for (r, n, s) in locs {
        constraints.push_str(&format!(
            r#"<rsc_location id="l-{r}-{n}" rsc="{r}" node="{n}" score="{s}"/>"#
        ));
    }
    format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
  <configuration>
    <crm_config><cluster_property_set id="o">
      <nvpair id="o-s" name="stonith-enabled" value="false"/>
      <nvpair id="o-p" name="placement-strategy" value="utilization"/>
    </cluster_property_set></crm_config>
    <nodes>{nodes}</nodes>
    <resources>{resources}</resources>
    <constraints>{constraints}</constraints>
  </configuration>
  <status>{states}</status>
</cib>"#
    )
}

/// Sorted "rsc@node" for every resource placed.
fn placed(xml: &str) -> Vec<String> {
    let s = schedule(xml, Some(0)).expect("schedules");
    let mut v: Vec<String> = s
        .placement
        .node
        .iter()
        .enumerate()
        .filter(|(r, _)| s.cluster.resources[*r].is_primitive())
        .filter_map(|(r, n)| {
            n.map(|n| format!("{}@{}", s.cluster.resources[r].id, s.cluster.nodes[n].name))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn room_for_the_whole_colocation_chain() {
    // a <- b <- c: 5 cpu in all, only n2 has room for the chain.
    let xml = cib(
        &[4, 5],
        &[("a", 1), ("b", 2), ("c", 2)],
        &[("b", "a"), ("c", "b")],
        &[],
    );
    assert_eq!(placed(&xml), ["a@n2", "b@n2", "c@n2"]);
}

#[test]
fn no_room_for_all_prefers_the_roomiest_node() {
    // 7 cpu fit nowhere: a goes where most is free, b follows, c does not fit.
    let xml = cib(
        &[1, 2, 3, 4, 5, 6],
        &[("a", 1), ("b", 2), ("c", 4)],
        &[("b", "a"), ("c", "a")],
        &[],
    );
    assert_eq!(placed(&xml), ["a@n6", "b@n6"]);
}

#[test]
fn the_roomiest_node_only_when_it_scores_best() {
    let xml = cib(
        &[1, 2, 3, 4, 5, 6],
        &[("a", 1), ("b", 2), ("c", 4)],
        &[("b", "a"), ("c", "a")],
        &[("a", "n2", 10), ("a", "n3", 10)],
    );
    assert_eq!(placed(&xml), ["a@n2"]);
}

#[test]
fn equally_roomy_nodes_follow_the_node_table_order() {
    // Ids 101..104 hash so that Pacemaker's node table lists n4 first.
    let xml = cib(
        &[1, 1, 1, 1],
        &[("a", 1), ("b", 2), ("c", 4)],
        &[("b", "a"), ("c", "a")],
        &[],
    );
    assert_eq!(placed(&xml), ["a@n4"]);
}
