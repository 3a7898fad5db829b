//! Clone instance placement (crm_simulate 2.1.5 on these CIBs; `PACER_CLONE_DUMP=DIR`
//! writes them out for checking).

mod common;
use common::{Cib, summary};

fn check(name: &str, cib: &Cib, want: &[&str]) {
    if let Some(dir) = std::env::var_os("PACER_CLONE_DUMP") {
        let _ = std::fs::write(
            std::path::Path::new(&dir).join(format!("{name}.xml")),
            cib.xml(),
        );
    }
    assert_eq!(summary(cib), want, "{name}");
}

/// A probe finding an anonymous clone's agent not installed bans the whole clone from
/// that node, whichever instance the history entry was matched to.
#[test]
fn not_installed_bans_the_anonymous_clone() {
    let cib = Cib::new(&["n1", "n2", "n3"])
        .clone_of("A", "a", &[])
        .ops("a", "n1", &[("monitor", 0, 5, 7)])
        .ops("a", "n2", &[("monitor", 0, 5, 7)])
        .running("a", "n3");
    check("anon-not-installed", &cib, &[]);
}

/// Instances are allocated in order, except that one banned from the node it runs on
/// comes last, after the inactive ones: with fewer usable nodes than instances it is
/// the one left stopped; with enough, it takes what the others leave.
#[test]
fn an_instance_banned_where_it_runs_is_allocated_last() {
    let cib = |max: &str| {
        Cib::new(&["n1", "n2", "n3"])
            .clone_of("A", "a", &[("clone-max", max)])
            .location("A", "n3", "-INFINITY")
            .location("A", "n1", "10")
            .running("a", "n3")
    };
    check(
        "banned-last-3",
        &cib("3"),
        &[
            "* Start a:1 ( n1 )",
            "* Start a:2 ( n2 )",
            "* Stop a:0 ( n3 ) due to node availability",
        ],
    );
    check(
        "banned-last-2",
        &cib("2"),
        &["* Move a:0 ( n3 -> n2 )", "* Start a:1 ( n1 )"],
    );
}

/// An active instance stays put only if its node is (one of) its best: otherwise it
/// moves to the better node and a new instance takes the old one.
#[test]
fn an_active_instance_moves_to_a_better_node() {
    let cib = Cib::new(&["n1", "n2", "n3"])
        .clone_of("A", "a", &[("clone-max", "2")])
        .location("A", "n1", "50")
        .running("a", "n2");
    check(
        "better-node",
        &cib,
        &["* Move a:0 ( n2 -> n1 )", "* Start a:1 ( n2 )"],
    );
}

/// Instances keep their node only up to an even share (clone-max / usable nodes);
/// a unique instance over that share moves when no score holds it.
#[test]
fn instances_beyond_an_even_share_spread_out() {
    let cib = Cib::new(&["n1", "n2"])
        .clone_of(
            "C",
            "p",
            &[
                ("clone-max", "2"),
                ("clone-node-max", "2"),
                ("globally-unique", "true"),
                ("resource-stickiness", "0"),
            ],
        )
        .running("p:0", "n1")
        .running("p:1", "n1");
    check("even-share", &cib, &["* Move p:1 ( n1 -> n2 )"]);
}

/// An instance held where its monitor failed (on-fail=block) is no place for a
/// resource colocated with the clone: that one goes where a healthy instance runs.
#[test]
fn a_blocked_instance_hosts_no_dependents() {
    let op = |id: &str, key: &str, rc: u8, call: u32, interval: u32| {
        format!(
            r#"<lrm_rsc_op id="{id}" operation_key="{key}" operation="{}" crm_feature_set="3.0.14" transition-key="{call}:0:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" transition-magic="0:{rc};{call}:0:0:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa" call-id="{call}" rc-code="{rc}" op-status="0" interval="{interval}" last-rc-change="1" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"/>"#,
            if interval > 0 { "monitor" } else { "start" }
        )
    };
    let xml = format!(
        r#"<cib validate-with="pacemaker-3.7" epoch="1" num_updates="0" admin_epoch="0" have-quorum="1">
<configuration><crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="n1" uname="n1"/><node id="n2" uname="n2"/></nodes>
<resources>
<primitive id="d" class="ocf" provider="pacemaker" type="Dummy"/>
<clone id="A"><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"><operations><op id="a-mon" name="monitor" interval="10s" on-fail="block"/></operations></primitive></clone>
</resources>
<constraints><rsc_colocation id="c1" rsc="d" with-rsc="A" score="INFINITY"/></constraints>
</configuration>
<status>
<node_state id="n1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"><lrm id="n1"><lrm_resources>
<lrm_resource id="a" class="ocf" provider="pacemaker" type="Dummy">{}{}</lrm_resource>
<lrm_resource id="d" class="ocf" provider="pacemaker" type="Dummy">{}</lrm_resource>
</lrm_resources></lrm></node_state>
<node_state id="n2" uname="n2" in_ccm="true" crmd="online" join="member" expected="member"/>
</status></cib>"#,
        op("a_last_0", "a_start_0", 0, 11, 0),
        op("a_last_failure_0", "a_monitor_10000", 1, 12, 10000),
        op("d_last_0", "d_start_0", 0, 13, 0),
    );
    if let Some(dir) = std::env::var_os("PACER_CLONE_DUMP") {
        let _ = std::fs::write(
            std::path::Path::new(&dir).join("blocked-instance.xml"),
            &xml,
        );
    }
    let s = pacer_scheduler::schedule(&xml, Some(2_000_000_000)).expect("schedules");
    let mut lines: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    assert_eq!(lines, ["* Move d ( n1 -> n2 )", "* Start a:1 ( n2 )"]);
}

/// clone-node-max only applies to globally-unique clones: an anonymous clone runs
/// one instance per node (a second copy on a node is stopped), a unique one up to it.
#[test]
fn clone_node_max_is_for_unique_clones() {
    let cib = |unique: &str| {
        Cib::new(&["n1", "n2"]).clone_of(
            "A",
            "a",
            &[
                ("clone-max", "3"),
                ("clone-node-max", "2"),
                ("globally-unique", unique),
            ],
        )
    };
    check(
        "node-max-anonymous",
        &cib("false"),
        &["* Start a:0 ( n1 )", "* Start a:1 ( n2 )"],
    );
    check(
        "node-max-unique",
        &cib("true"),
        &[
            "* Start a:0 ( n1 )",
            "* Start a:1 ( n2 )",
            "* Start a:2 ( n1 )",
        ],
    );
}
