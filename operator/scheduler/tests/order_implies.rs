//! Orderings that make the "then" action required when the "first" one is: mandatory
//! orderings of any start/stop pair, and optional ones whose "then" resource has
//! `restart-type=restart`. B stays on n2 while A moves from n1 to n2 (or, with
//! `a_banned`, stops for good). Checked against crm_simulate 2.1.5
//! (`PACER_IMPLIES_DUMP=DIR` writes the CIBs).

mod common;
use common::{Cib, summary};

fn cib(order: &str, b_restart_type: bool, a_banned: bool) -> Cib {
    let mut c = Cib::new(&["n1", "n2"]).primitive("A");
    c = if b_restart_type {
        c.primitive_meta("B", &[("restart-type", "restart")])
    } else {
        c.primitive("B")
    };
    c = c
        .location("A", "n2", "100")
        .location("B", "n2", "100")
        .running("A", "n1")
        .running("B", "n2")
        .constraint(order);
    if a_banned {
        c = c.constraint(
            r##"<rsc_location id="ban-A" rsc="A"><rule id="ban-A-r" score="-INFINITY"><expression id="ban-A-e" attribute="#uname" operation="defined"/></rule></rsc_location>"##,
        );
    }
    c
}

fn order(first_action: &str, then_action: &str, kind: &str) -> String {
    format!(
        r#"<rsc_order id="ord" first="A" first-action="{first_action}" then="B" then-action="{then_action}" kind="{kind}"/>"#
    )
}

fn run(name: &str, c: &Cib) -> Vec<String> {
    if let Some(dir) = std::env::var_os("PACER_IMPLIES_DUMP") {
        let _ = std::fs::write(
            std::path::Path::new(&dir).join(format!("{name}.xml")),
            c.xml(),
        );
    }
    summary(c)
}

const MOVE_A: &str = "* Move A ( n1 -> n2 )";
const STOP_A: &str = "* Stop A ( n1 ) due to node availability";

#[test]
fn optional_ordering_implies_then_with_restart_type_restart() {
    let o = order("start", "start", "Optional");
    assert_eq!(
        run("opt-rt", &cib(&o, true, false)),
        [MOVE_A, "* Restart B ( n2 ) due to required A start"]
    );
    assert_eq!(run("opt", &cib(&o, false, false)), [MOVE_A]);
    let o = order("stop", "stop", "Optional");
    assert_eq!(
        run("opt-rt-stop-stop", &cib(&o, true, false)),
        [MOVE_A, "* Restart B ( n2 )"]
    );
}

#[test]
fn mandatory_orderings_of_stops_restart_what_stays() {
    let c = cib(&order("stop", "stop", "Mandatory"), false, false);
    assert_eq!(run("stop-stop", &c), [MOVE_A, "* Restart B ( n2 )"]);
    let c = cib(&order("stop", "start", "Mandatory"), false, false);
    assert_eq!(
        run("stop-start", &c),
        [MOVE_A, "* Restart B ( n2 ) due to required A stop"]
    );
    let c = cib(&order("start", "stop", "Mandatory"), false, false);
    assert_eq!(run("start-stop", &c), [MOVE_A, "* Restart B ( n2 )"]);
}

#[test]
fn a_first_stopping_for_good_has_a_required_start_that_cannot_run() {
    let c = cib(&order("start", "start", "Optional"), true, true);
    assert_eq!(
        run("banned-opt-rt", &c),
        ["* Restart B ( n2 ) due to required A start", STOP_A]
    );
    // Mandatory after a start: the stop it orders cannot happen either.
    let c = cib(&order("start", "stop", "Mandatory"), false, true);
    assert_eq!(
        run("banned-start-stop", &c),
        [STOP_A, "* Stop B ( n2 ) due to required A start (blocked)"]
    );
}

/// A clone first matters to a primitive then only on then's node ("A stopped" is the
/// clone's stop as a whole).
#[test]
fn a_clone_first_counts_on_the_then_node_only() {
    let clone = |a_on: &str| {
        Cib::new(&["n1", "n2", "n3"])
            .primitive("d")
            .clone_of("A", "a", &[("clone-max", "2")])
            .constraint(
                r#"<rsc_order id="A-d" first="A" first-action="stop" then="d" then-action="start"/>"#,
            )
            .location("d", "n1", "100")
            .location("A", a_on, "-INFINITY")
            .running("d", "n1")
            .running("a", a_on)
    };
    assert_eq!(
        run("clone-here", &clone("n1")),
        [
            "* Move a:0 ( n1 -> n3 )",
            "* Restart d ( n1 ) due to required A stopped",
            "* Start a:1 ( n2 )"
        ]
    );
    assert_eq!(
        run("clone-elsewhere", &clone("n2")),
        ["* Move a:0 ( n2 -> n1 )", "* Start a:1 ( n3 )"]
    );
}
