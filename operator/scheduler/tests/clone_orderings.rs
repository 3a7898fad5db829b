//! Orderings after clones (crm_simulate 2.1.5 on these CIBs; `PACER_CLONE_DUMP=DIR`
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

fn clone_then_d(a_on: &str) -> Cib {
    Cib::new(&["n1", "n2", "n3"])
        .primitive("d")
        .clone_of("A", "a", &[("clone-max", "2")])
        .order("A", "d")
        .location("d", "n1", "100")
        .location("A", "n1", "50")
        .running("d", "n1")
        .running("a", a_on)
}

/// `first` a clone, `then` a primitive: `then` restarts for the clone's start ("A
/// running") only when an instance starts on its node.
#[test]
fn a_clone_start_restarts_a_primitive_only_on_its_node() {
    check(
        "clone-start-here",
        &clone_then_d("n2"),
        &[
            "* Move a:0 ( n2 -> n1 )",
            "* Restart d ( n1 ) due to required A running",
            "* Start a:1 ( n2 )",
        ],
    );
    check(
        "clone-start-elsewhere",
        &clone_then_d("n1"),
        &["* Start a:1 ( n2 )"],
    );
}

/// An optional ordering restarts a `then` with restart-type=restart when `first`
/// starts (here: moves).
#[test]
fn restart_type_restart_makes_an_optional_ordering_restart() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("x")
        .primitive_meta("d", &[("restart-type", "restart")])
        .constraint(r#"<rsc_order id="x-d" first="x" then="d" kind="Optional"/>"#)
        .location("x", "n2", "100")
        .location("d", "n1", "100")
        .running("x", "n1")
        .running("d", "n1");
    check(
        "restart-type",
        &cib,
        &[
            "* Move x ( n1 -> n2 )",
            "* Restart d ( n1 ) due to required x start",
        ],
    );
}

/// An interleaved instance whose node gets no instance of the clone it follows is
/// simply stopped; what is ordered after its clone on that node restarts.
#[test]
fn an_interleaved_instance_without_a_peer_stops() {
    let il = [("interleave", "true")];
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive("d")
        .clone_of("A", "a", &il)
        .clone_of("B", "b", &il)
        .order("A", "B")
        .order("B", "d")
        .location("A", "n1", "-INFINITY")
        .location("d", "n1", "100")
        .running("d", "n1")
        .running("a", "n1")
        .running("a", "n2")
        .running("a", "n3")
        .running("b", "n1")
        .running("b", "n2")
        .running("b", "n3");
    check(
        "interleave-no-peer",
        &cib,
        &[
            "* Restart d ( n1 ) due to required B running",
            "* Stop a:0 ( n1 ) due to node availability",
            "* Stop b:0 ( n1 )",
        ],
    );
}

/// With require-all=false any one instance lets `then` start: instance starts restart
/// nothing.
#[test]
fn one_or_more_restarts_nothing() {
    let cib = Cib::new(&["n1", "n2", "n3"])
        .primitive("d")
        .clone_of("A", "a", &[("clone-max", "2")])
        .constraint(r#"<rsc_order id="A-d" first="A" then="d" require-all="false"/>"#)
        .location("d", "n1", "100")
        .location("A", "n1", "50")
        .running("d", "n1")
        .running("a", "n2");
    check(
        "one-or-more",
        &cib,
        &["* Move a:0 ( n2 -> n1 )", "* Start a:1 ( n2 )"],
    );
}

/// A cloned group's instance is running once its last member is: with that member
/// disabled, what is ordered after the clone cannot start.
#[test]
fn a_cloned_group_runs_once_its_last_member_does() {
    let cib = Cib::new(&["n1", "n2"])
        .primitive("d")
        .raw_resource(
            r#"<clone id="GC"><group id="g"><primitive id="g1" class="ocf" provider="heartbeat" type="Dummy"/><primitive id="g2" class="ocf" provider="heartbeat" type="Dummy"><meta_attributes id="g2-m"><nvpair id="g2-r" name="target-role" value="Stopped"/></meta_attributes></primitive></group></clone>"#,
        )
        .order("GC", "d")
        .location("d", "n1", "100");
    check(
        "cloned-group-running",
        &cib,
        &[
            "* Start d ( n1 ) due to unrunnable GC running (blocked)",
            "* Start g1:0 ( n2 )",
            "* Start g1:1 ( n1 )",
        ],
    );
}

/// "first stop then stop": when `first` stops, a `then` that stays put restarts (no
/// reason listed); a clone's stops count only on then's node.
#[test]
fn a_stop_ordering_restarts_what_stays() {
    let stop_order = |first: &str| {
        format!(
            r#"<rsc_order id="{first}-d" first="{first}" then="d" first-action="stop" then-action="stop"/>"#
        )
    };
    let cib = Cib::new(&["n1", "n2"])
        .primitive("x")
        .primitive("d")
        .constraint(&stop_order("x"))
        .location("x", "n2", "100")
        .location("d", "n1", "100")
        .running("x", "n1")
        .running("d", "n1");
    check(
        "stop-stop",
        &cib,
        &["* Move x ( n1 -> n2 )", "* Restart d ( n1 )"],
    );
    let clone = |ban: &str| {
        Cib::new(&["n1", "n2", "n3"])
            .primitive("d")
            .clone_of("A", "a", &[("clone-max", "2")])
            .constraint(&stop_order("A"))
            .location("d", "n1", "100")
            .location("A", ban, "-INFINITY")
            .running("d", "n1")
            .running("a", ban)
    };
    check(
        "stop-stop-clone-here",
        &clone("n1"),
        &[
            "* Move a:0 ( n1 -> n3 )",
            "* Restart d ( n1 )",
            "* Start a:1 ( n2 )",
        ],
    );
    check(
        "stop-stop-clone-elsewhere",
        &clone("n2"),
        &["* Move a:0 ( n2 -> n1 )", "* Start a:1 ( n3 )"],
    );
}
