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
