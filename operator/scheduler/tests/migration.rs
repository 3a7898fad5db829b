//! Live migration (allow-migrate) as crm_simulate 2.1.5 shows it (each CIB checked
//! with it; `PACER_MIGRATION_DUMP=DIR` writes them):
//! - a primitive ordered (mandatory, symmetrical) after something that stops and
//!   starts again cannot migrate: it moves, "due to unrunnable FIRST stop", and so in
//!   turn does what is ordered after it;
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
