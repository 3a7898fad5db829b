//! Promotion scores of a promotable clone's instances (crm_simulate 2.1.5, checked on
//! these CIBs; `PACER_PROMO_DUMP=DIR` writes them out):
//! - the `master-<name>` attribute is read under the name the node's history records
//!   the anonymous instance by; without one the instance starts at -1, so it is not
//!   promoted (even if promoted now) unless a location for the Promoted role lifts it;
//! - the clone's locations count whatever their role;
//! - what a resource colocated with the clone prefers pulls the promotion towards it
//!   (whatever role the colocation names); colocated with the Promoted role it also
//!   pushes it away;
//! - equal scores: the node the clone itself prefers.

mod common;
use common::{Cib, summary};

fn ms(nodes: &[&str]) -> Cib {
    Cib::new(nodes).clone_of("ms", "p", &[("promotable", "true")])
}

fn check(name: &str, cib: &Cib, expected: &[&str]) {
    if let Ok(dir) = std::env::var("PACER_PROMO_DUMP") {
        std::fs::write(format!("{dir}/{name}.xml"), cib.xml()).expect("dump");
    }
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(summary(cib), want, "{name}");
}

#[test]
fn dependent_preference_pulls_the_promotion() {
    let cib = ms(&["n1", "n2"])
        .primitive("d")
        .colocation("d", "ms", "INFINITY")
        .location("d", "n2", "30")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "10")
        .running("p", "n1")
        .running("p", "n2");
    check(
        "dependent",
        &cib,
        &[
            "* Promote p:1 ( Unpromoted -> Promoted n2 )",
            "* Start d ( n2 )",
        ],
    );
}

#[test]
fn banned_promoted_dependent_moves_the_promotion() {
    // A group follows the Promoted role; one of its members may not run on n1.
    let cib = ms(&["n1", "n2"])
        .group("g", &["g1", "g2"])
        .constraint(
            r#"<rsc_colocation id="g-with-promoted" rsc="g" with-rsc="ms" with-rsc-role="Master" score="INFINITY"/>"#,
        )
        .location("g2", "n1", "-INFINITY")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "5")
        .ops("p", "n1", &[("start", 0, 0, 0), ("promote", 0, 0, 0)])
        .running("p", "n2");
    check(
        "banned",
        &cib,
        &[
            "* Demote p:0 ( Promoted -> Unpromoted n1 )",
            "* Promote p:1 ( Unpromoted -> Promoted n2 )",
            "* Start g1 ( n2 )",
            "* Start g2 ( n2 )",
        ],
    );
}

#[test]
fn score_is_read_under_the_recorded_instance_name() {
    let cib = ms(&["n1", "n2"])
        .running("p:1", "n1")
        .running("p:0", "n2")
        .node_attr("n1", "master-p:1", "20")
        .node_attr("n2", "master-p:0", "10");
    check(
        "recorded",
        &cib,
        &["* Promote p:0 ( Unpromoted -> Promoted n1 )"],
    );
}

#[test]
fn without_a_score_a_promoted_instance_is_demoted() {
    let cib = ms(&["n1", "n2"])
        .ops("p", "n1", &[("start", 0, 0, 0), ("promote", 0, 0, 0)])
        .running("p", "n2");
    check(
        "unscored",
        &cib,
        &["* Demote p:0 ( Promoted -> Unpromoted n1 )"],
    );
}

#[test]
fn clone_location_counts_for_promotion() {
    let cib = ms(&["n1", "n2"])
        .location("ms", "n2", "5")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "10")
        .running("p", "n1")
        .running("p", "n2");
    check(
        "clone-location",
        &cib,
        &["* Promote p:1 ( Unpromoted -> Promoted n2 )"],
    );
}

#[test]
fn equal_scores_follow_the_clone_preference() {
    let cib = ms(&["n1", "n2"])
        .primitive("d")
        .colocation("ms", "d", "100")
        .location("d", "n2", "30")
        .node_attr("n1", "master-p", "10")
        .node_attr("n2", "master-p", "10")
        .running("p", "n1")
        .running("p", "n2");
    check(
        "tie",
        &cib,
        &[
            "* Promote p:1 ( Unpromoted -> Promoted n2 )",
            "* Start d ( n2 )",
        ],
    );
}
