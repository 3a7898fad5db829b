//! With a placement strategy, a resource is placed where there is room for it and
//! for every unplaced resource that must run with it (mandatory colocations, both
//! ways, transitively). If no node has room for all of them, only its own needs
//! count and the node with the most free capacity is preferred when it scores as
//! well as the best. Primaries are placed before their dependents, the highest
//! priority first, then by id. A group's members start in order while they fit.
//! Clone instances break ties by the strategy too. A dependent mandatorily colocated
//! with a group goes where its last member runs. Expected placements checked with
//! crm_simulate 2.1.5.

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

/// Give primitive `id` a priority.
fn with_priority(xml: &str, id: &str, priority: i64) -> String {
    let open = format!(r#"<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy">"#);
    let meta = format!(
        r#"<meta_attributes id="{id}-m"><nvpair id="{id}-m-p" name="priority" value="{priority}"/></meta_attributes>"#
    );
    xml.replace(&open, &format!("{open}{meta}"))
}

/// A finite score for colocation `dependent` with `primary`.
fn with_score(xml: &str, dependent: &str, primary: &str, score: i64) -> String {
    xml.replace(
        &format!(r#"rsc="{dependent}" with-rsc="{primary}" score="INFINITY""#),
        &format!(r#"rsc="{dependent}" with-rsc="{primary}" score="{score}""#),
    )
}

/// d is placed first and wants to be with zz and aa (4000 each); n1 has room for d
/// and one of them.
fn two_primaries(zz_priority: i64, aa_priority: i64) -> Vec<String> {
    let xml = cib(
        &[3, 1],
        &[("d", 1), ("zz", 2), ("aa", 2)],
        &[("d", "zz"), ("d", "aa")],
        &[],
    );
    let xml = with_score(&with_score(&xml, "d", "zz", 4000), "d", "aa", 4000);
    let xml = with_priority(&xml, "d", 3000);
    let xml = with_priority(&with_priority(&xml, "zz", zz_priority), "aa", aa_priority);
    placed(&xml)
}

#[test]
fn primaries_are_placed_by_priority_then_id() {
    assert_eq!(two_primaries(2000, 1000), ["d@n1", "zz@n1"]);
    assert_eq!(two_primaries(1000, 2000), ["aa@n1", "d@n1"]);
    assert_eq!(two_primaries(1000, 1000), ["aa@n1", "d@n1"]);
}

/// Nodes with `caps`, the given resources XML and placement strategy.
fn with_resources(caps: &[i64], resources: &str, strategy: &str) -> String {
    cib(caps, &[], &[], &[])
        .replace(
            "<resources></resources>",
            &format!("<resources>{resources}</resources>"),
        )
        .replace(
            r#"name="placement-strategy" value="utilization""#,
            &format!(r#"name="placement-strategy" value="{strategy}""#),
        )
}

fn dummy(id: &str, cpu: i64) -> String {
    format!(
        r#"<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"><utilization id="{id}-u"><nvpair id="{id}-u-cpu" name="cpu" value="{cpu}"/></utilization></primitive>"#
    )
}

#[test]
fn group_members_start_while_they_fit() {
    let group = format!(
        r#"<group id="g">{}{}{}</group>"#,
        dummy("m1", 2),
        dummy("m2", 2),
        dummy("m3", 2)
    );
    assert_eq!(
        placed(&with_resources(&[5, 3], &group, "utilization")),
        ["m1@n1", "m2@n1"]
    );
}

#[test]
fn clone_instances_follow_the_strategy() {
    let clone = format!(
        r#"<clone id="c"><meta_attributes id="c-m"><nvpair id="c-m-1" name="clone-max" value="1"/></meta_attributes>{}</clone>"#,
        dummy("p", 1)
    );
    assert_eq!(
        placed(&with_resources(&[2, 5], &clone, "balanced")),
        ["p:0@n2"]
    );
    assert_eq!(
        placed(&with_resources(&[2, 5], &clone, "utilization")),
        ["p:0@n1"]
    );
    let both = format!("{}{clone}", dummy("x", 1));
    assert_eq!(
        placed(&with_resources(&[2, 5], &both, "minimal")),
        ["p:0@n1", "x@n1"]
    );
    assert_eq!(
        placed(&with_resources(&[2, 5], &both, "utilization")),
        ["p:0@n2", "x@n1"]
    );
}

#[test]
fn mandatory_colocation_with_a_group_needs_its_last_member() {
    // b (the last member) is stopped: d cannot be with all of g; 500 only leans to a.
    let group = format!(
        r#"<group id="g">{}<primitive id="b" class="ocf" provider="pacemaker" type="Dummy"><meta_attributes id="b-m"><nvpair id="b-m-t" name="target-role" value="Stopped"/></meta_attributes></primitive></group>{}"#,
        dummy("a", 1),
        dummy("d", 1)
    );
    let with = |constraints: &str| {
        with_resources(&[5, 5], &group, "default").replace(
            "<constraints></constraints>",
            &format!("<constraints>{constraints}</constraints>"),
        )
    };
    let mandatory = with(r#"<rsc_colocation id="c" rsc="d" with-rsc="g" score="INFINITY"/>"#);
    assert_eq!(placed(&mandatory), ["a@n1"]);
    let optional = with(
        r#"<rsc_colocation id="c" rsc="d" with-rsc="g" score="500"/><rsc_location id="l" rsc="g" node="n2" score="100"/>"#,
    );
    assert_eq!(placed(&optional), ["a@n2", "d@n2"]);
}
