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
