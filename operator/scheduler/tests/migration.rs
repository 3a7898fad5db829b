//! Live migration (allow-migrate) as crm_simulate 2.1.5 shows it (each CIB checked
//! with it; `PACER_MIGRATION_DUMP=DIR` writes them):
//! - a primitive ordered (mandatory, symmetrical) after something that stops and
//!   starts again cannot migrate: it moves, "due to unrunnable FIRST stop", and so in
//!   turn does what is ordered after it;
//! - likewise when the inverse of a symmetrical mandatory ordering between stops and
//!   starts needs a real start of the first;
//! - a migrating primitive does not restart what is ordered after it.

mod common;
use common::{Cib, summary};

fn check(name: &str, cib: &Cib, want: &[&str]) {
    if let Some(dir) = std::env::var_os("PACER_MIGRATION_DUMP") {
        let _ = std::fs::write(
            std::path::Path::new(&dir).join(format!("{name}.xml")),
            cib.xml(),
        );
    }
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(summary(cib), want, "{name}");
}

const MIGRATE: &[(&str, &str)] = &[("allow-migrate", "true")];

#[test]
fn no_migration_after_a_stop_and_start() {
    // a moves n1 -> n2 (stop and start); b, after a, would migrate n2 -> n1; c after b.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive("a")
        .primitive_meta("b", MIGRATE)
        .primitive_meta("c", MIGRATE)
        .location("a", "n2", "INFINITY")
        .location("b", "n1", "INFINITY")
        .location("c", "n1", "INFINITY")
        .order("a", "b")
        .order("b", "c")
        .running("a", "n1")
        .running("b", "n2")
        .running("c", "n3");
    check(
        "migration-after-move",
        &cib,
        &[
            "* Move a ( n1 -> n2 )",
            "* Move b ( n2 -> n1 ) due to unrunnable a stop",
            "* Move c ( n3 -> n1 ) due to unrunnable b stop",
        ],
    );
}

#[test]
fn no_migration_after_a_recovery_in_a_clone() {
    // An instance of the clone recovers in place: what follows the clone moves.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .clone_of("cl", "c", &[])
        .primitive_meta("b", MIGRATE)
        .location("b", "n3", "INFINITY")
        .order("cl", "b")
        .failed("c", "n1")
        .running("c", "n2")
        .running("c", "n3")
        .running("b", "n2");
    check(
        "migration-after-clone-recovery",
        &cib,
        &[
            "* Recover c:0 ( n1 )",
            "* Move b ( n2 -> n3 ) due to unrunnable cl stop",
        ],
    );
}

#[test]
fn migration_after_a_start_or_an_advisory_ordering() {
    // a only starts: b migrates. An optional ordering does not hold a migration back.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive("a")
        .primitive("x")
        .primitive_meta("b", MIGRATE)
        .primitive_meta("d", MIGRATE)
        .location("a", "n2", "INFINITY")
        .location("x", "n2", "INFINITY")
        .location("b", "n1", "INFINITY")
        .location("d", "n1", "INFINITY")
        .order("a", "b")
        .constraint(r#"<rsc_order id="x-then-d" first="x" then="d" kind="Optional"/>"#)
        .running("x", "n1")
        .running("b", "n2")
        .running("d", "n2");
    check(
        "migration-after-start",
        &cib,
        &[
            "* Start a ( n2 )",
            "* Move x ( n1 -> n2 )",
            "* Migrate b ( n2 -> n1 )",
            "* Migrate d ( n2 -> n1 )",
        ],
    );
}

#[test]
fn a_migration_restarts_nothing_after_it() {
    // a migrates n2 -> n1; b (after a, on n3) stays; e (after the moving f) restarts.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive_meta("a", MIGRATE)
        .primitive("b")
        .primitive("f")
        .primitive("e")
        .location("a", "n1", "INFINITY")
        .location("b", "n3", "INFINITY")
        .location("f", "n1", "INFINITY")
        .location("e", "n3", "INFINITY")
        .order("a", "b")
        .order("f", "e")
        .running("a", "n2")
        .running("b", "n3")
        .running("f", "n2")
        .running("e", "n3");
    check(
        "migration-restarts-nothing",
        &cib,
        &[
            "* Migrate a ( n2 -> n1 )",
            "* Move f ( n2 -> n1 )",
            "* Restart e ( n3 ) due to required f start",
        ],
    );
}

#[test]
fn no_migration_when_the_inverse_ordering_needs_a_start() {
    // "a stop then b stop" also orders b's start before a's: a starting (not
    // migrating) keeps b from migrating; "c stop then d start" likewise, with a reason.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive_meta("a", MIGRATE)
        .primitive_meta("b", MIGRATE)
        .primitive("c")
        .primitive_meta("d", MIGRATE)
        .location("a", "n3", "INFINITY")
        .location("b", "n1", "INFINITY")
        .location("c", "n3", "INFINITY")
        .location("d", "n1", "INFINITY")
        .constraint(
            r#"<rsc_order id="a-b" first="a" first-action="stop" then="b" then-action="stop"/>"#,
        )
        .constraint(
            r#"<rsc_order id="c-d" first="c" first-action="stop" then="d" then-action="start"/>"#,
        )
        .running("b", "n2")
        .running("d", "n2");
    check(
        "migration-inverse-start",
        &cib,
        &[
            "* Start a ( n3 )",
            "* Move b ( n2 -> n1 )",
            "* Start c ( n3 )",
            "* Move d ( n2 -> n1 ) due to unrunnable c start",
        ],
    );
    // Without the inverse (symmetrical=false), or with a first that migrates, b migrates.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive_meta("a", MIGRATE)
        .primitive_meta("b", MIGRATE)
        .primitive("c")
        .primitive_meta("d", MIGRATE)
        .location("a", "n3", "INFINITY")
        .location("b", "n1", "INFINITY")
        .location("c", "n3", "INFINITY")
        .location("d", "n1", "INFINITY")
        .constraint(r#"<rsc_order id="a-b" first="a" first-action="stop" then="b" then-action="stop"/>"#)
        .constraint(r#"<rsc_order id="c-d" first="c" first-action="stop" then="d" then-action="stop" symmetrical="false"/>"#)
        .running("a", "n1")
        .running("b", "n2")
        .running("d", "n2");
    check(
        "migration-inverse-none",
        &cib,
        &[
            "* Migrate a ( n1 -> n3 )",
            "* Migrate b ( n2 -> n1 )",
            "* Start c ( n3 )",
            "* Migrate d ( n2 -> n1 )",
        ],
    );
}

#[test]
fn a_group_starts_and_stops_even_when_its_members_migrate() {
    // Group g (x, y migratable) migrates n1 -> n3; b after g cannot migrate. A
    // migrating first of "stop then stop" (c before d) restarts nothing.
    let member = |id: &str| {
        format!(
            r#"<primitive id="{id}" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="{id}-m"><nvpair id="{id}-m-a" name="allow-migrate" value="true"/></meta_attributes></primitive>"#
        )
    };
    let cib = Cib::new(&["n1", "n2", "n3"])
        .raw_resource(&format!(
            r#"<group id="g">{}{}</group>"#,
            member("x"),
            member("y")
        ))
        .primitive_meta("b", MIGRATE)
        .primitive_meta("c", MIGRATE)
        .primitive("d")
        .location("g", "n3", "INFINITY")
        .location("b", "n1", "INFINITY")
        .location("c", "n1", "INFINITY")
        .location("d", "n3", "INFINITY")
        .order("g", "b")
        .constraint(
            r#"<rsc_order id="c-d" first="c" first-action="stop" then="d" then-action="stop"/>"#,
        )
        .running("x", "n1")
        .running("y", "n1")
        .running("b", "n2")
        .running("c", "n2")
        .running("d", "n3");
    check(
        "migration-after-group",
        &cib,
        &[
            "* Migrate x ( n1 -> n3 )",
            "* Migrate y ( n1 -> n3 )",
            "* Move b ( n2 -> n1 ) due to unrunnable g stop",
            "* Migrate c ( n2 -> n1 )",
        ],
    );
}

// ---- Migrations the history left unfinished or failed ----
//
// r (allow-migrate) on n1, n2, n3 (`offline` is down); `want` is where it should
// run. Each history entry: (operation, rc, call-id, last-rc-change, interval ms);
// migrate_* operations go from n1 to n2.

type Op = (&'static str, i32, u32, u32, u32);

fn history_cib(want: &str, n1: &[Op], n2: &[Op], offline: &str) -> String {
    let ops = |node: &str, ops: &[Op]| -> String {
        if ops.is_empty() {
            return String::new();
        }
        let mut x =
            String::from(r#"<lrm_resource id="r" class="ocf" provider="heartbeat" type="Dummy">"#);
        for (name, rc, call, time, interval) in ops {
            let expected = if *name == "monitor" && *interval == 0 {
                7
            } else {
                0
            };
            let migrate = if name.starts_with("migrate") {
                r#" migrate_source="n1" migrate_target="n2""#
            } else {
                ""
            };
            x.push_str(&format!(
                r#"<lrm_rsc_op id="r_{name}_{interval}_{node}_{call}" operation_key="r_{name}_{interval}" operation="{name}" crm_feature_set="3.0.7" transition-key="{call}:1:{expected}:x" transition-magic="0:{rc};{call}:1:{expected}:x" call-id="{call}" rc-code="{rc}" op-status="0" interval="{interval}" last-run="{time}" last-rc-change="{time}" op-digest="f2317cad3d54cec5d7d7aa7d0bf35cf8"{migrate}/>"#
            ));
        }
        x.push_str("</lrm_resource>");
        x
    };
    let state = |id: u32, node: &str, online: bool, lrm: String| {
        let (ccm, crmd) = if online {
            ("true", "online")
        } else {
            ("false", "offline")
        };
        format!(
            r#"<node_state id="{id}" uname="{node}" in_ccm="{ccm}" crmd="{crmd}" join="member" expected="member"><lrm id="{id}"><lrm_resources>{lrm}</lrm_resources></lrm></node_state>"#
        )
    };
    format!(
        r#"<cib validate-with="pacemaker-3.0" epoch="1" num_updates="1" admin_epoch="0" have-quorum="1"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o-s" name="stonith-enabled" value="false"/></cluster_property_set></crm_config><nodes><node id="1" uname="n1"/><node id="2" uname="n2"/><node id="3" uname="n3"/></nodes><resources><primitive id="r" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="r-m"><nvpair id="r-m-a" name="allow-migrate" value="true"/></meta_attributes></primitive></resources><constraints><rsc_location id="want" rsc="r" node="{want}" score="INFINITY"/></constraints></configuration><status>{}{}{}</status></cib>"#,
        state(1, "n1", offline != "n1", ops("n1", n1)),
        state(2, "n2", offline != "n2", ops("n2", n2)),
        state(3, "n3", offline != "n3", String::new()),
    )
}

fn check_history(name: &str, cib: &str, want: &[&str]) {
    if let Some(dir) = std::env::var_os("PACER_MIGRATION_DUMP") {
        let _ = std::fs::write(std::path::Path::new(&dir).join(format!("{name}.xml")), cib);
    }
    let s = pacer_scheduler::schedule(cib, Some(2_000_000_000)).expect("schedules");
    let mut got: Vec<String> = s
        .summary
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    got.sort();
    let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "{name}");
}

const START: Op = ("start", 0, 2, 1002, 0);
const MIGRATE_TO: Op = ("migrate_to", 0, 3, 1003, 0);
const MIGRATE_TO_FAILED: Op = ("migrate_to", 1, 3, 1003, 0);
const SOURCE_STOP: Op = ("stop", 0, 4, 1004, 0);
const PROBE: Op = ("monitor", 7, 1, 1001, 0);

#[test]
fn a_partial_migration_continues_only_to_its_target() {
    let h1 = [START, MIGRATE_TO];
    let h2 = [PROBE];
    check_history(
        "partial-to-target",
        &history_cib("n2", &h1, &h2, ""),
        &["* Migrate r ( n1 -> n2 )"],
    );
    // Elsewhere it runs on both: stopped on both, started anew (from the target).
    check_history(
        "partial-elsewhere",
        &history_cib("n3", &h1, &h2, ""),
        &["* Move r ( n2 -> n3 )"],
    );
    check_history(
        "partial-back",
        &history_cib("n1", &h1, &h2, ""),
        &["* Move r ( n2 -> n1 )"],
    );
}

#[test]
fn only_a_migratable_resource_continues_a_partial_migration() {
    let cib = history_cib("n2", &[START, MIGRATE_TO], &[PROBE], "").replace(
        r#"<nvpair id="r-m-a" name="allow-migrate" value="true"/>"#,
        "",
    );
    check_history("partial-not-migratable", &cib, &["* Restart r ( n2 )"]);
}

#[test]
fn a_source_stopped_before_the_migrate_from_leaves_the_target_uncertain() {
    let h1 = [START, MIGRATE_TO, SOURCE_STOP];
    let h2 = [PROBE];
    check_history(
        "uncertain-stays",
        &history_cib("n2", &h1, &h2, ""),
        &["* Restart r ( n2 )"],
    );
    check_history(
        "uncertain-moves",
        &history_cib("n1", &h1, &h2, ""),
        &["* Move r ( n2 -> n1 )"],
    );
    // The target stopped it after the migrate_to: it runs nowhere.
    let h2 = [PROBE, ("stop", 0, 5, 2000, 0)];
    check_history(
        "target-stopped-after",
        &history_cib("n1", &h1, &h2, ""),
        &["* Start r ( n1 )"],
    );
}

#[test]
fn a_failed_migrate_to_fails_on_both_nodes() {
    let h1 = [START, MIGRATE_TO_FAILED];
    let h2 = [PROBE];
    check_history(
        "failed-to-target",
        &history_cib("n2", &h1, &h2, ""),
        &["* Recover r ( n2 )"],
    );
    check_history(
        "failed-to-source",
        &history_cib("n1", &h1, &h2, ""),
        &["* Recover r ( n2 -> n1 )"],
    );
    // Never touched on the target: failed on the source only.
    check_history(
        "failed-untouched-target",
        &history_cib("n3", &h1, &[], ""),
        &["* Recover r ( n1 -> n3 )"],
    );
}

#[test]
fn a_finished_migration_stops_its_source_and_does_not_migrate_again() {
    let h1 = [START, MIGRATE_TO];
    let h2 = [PROBE, ("migrate_from", 0, 5, 1005, 0)];
    check_history("dangling-stays", &history_cib("n2", &h1, &h2, ""), &[]);
    check_history(
        "dangling-moves",
        &history_cib("n3", &h1, &h2, ""),
        &["* Move r ( n2 -> n3 )"],
    );
    // Stopped on the source as well: a plain resource on the target again.
    let h1 = [START, MIGRATE_TO, SOURCE_STOP];
    check_history(
        "finished-migrates",
        &history_cib("n3", &h1, &h2, ""),
        &["* Migrate r ( n2 -> n3 )"],
    );
}

#[test]
fn an_abandoned_migration_leaves_the_source_unknown() {
    // The target probed it after the migrate_to.
    let h1 = [START, MIGRATE_TO];
    check_history(
        "target-newer",
        &history_cib("n1", &h1, &[("monitor", 7, 1, 2000, 0)], ""),
        &["* Recover r ( n1 )"],
    );
}

#[test]
fn a_copy_in_history_order_is_the_current_one() {
    // Active on n1 and n2 (nothing failed): stopped on both and started on the target.
    let both = |want| {
        history_cib(
            want,
            &[("start", 0, 2, 1002, 0)],
            &[("start", 0, 3, 1003, 0)],
            "",
        )
    };
    check_history(
        "multiple-to-second",
        &both("n2"),
        &["* Move r ( n1 -> n2 )"],
    );
    check_history(
        "multiple-elsewhere",
        &both("n3"),
        &["* Move r ( n1 -> n3 )"],
    );
    check_history("multiple-stays", &both("n1"), &["* Restart r ( n1 )"]);
}

#[test]
fn a_migration_to_a_node_that_is_gone_leaves_the_source_unknown() {
    check_history(
        "target-offline",
        &history_cib("n3", &[START, MIGRATE_TO], &[], "n2"),
        &["* Recover r ( n1 -> n3 )"],
    );
}

#[test]
fn a_multiply_active_resource_sticks_nowhere() {
    // Active on n1 and n2, stickiness 100, n3 preferred by 50: it moves to n3.
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive("r")
        .location("r", "n3", "50")
        .running("r", "n1")
        .running("r", "n2");
    let xml = cib.xml().replace(
        "</constraints>",
        r#"</constraints><rsc_defaults><meta_attributes id="rd"><nvpair id="rd-s" name="resource-stickiness" value="100"/></meta_attributes></rsc_defaults>"#,
    );
    check_history("multiple-no-stickiness", &xml, &["* Move r ( n1 -> n3 )"]);
}
