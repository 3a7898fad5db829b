//! crm_simulate's "Transition Summary" lines from the decided changes and fencing.

use crate::{
    actions::{Change, ChangeKind},
    fencing::Fence,
    model::{Cluster, Role},
};

fn role_prefix(r: Role) -> String {
    match r {
        Role::Promoted | Role::Unpromoted => format!("{} ", r.name()),
        _ => String::new(),
    }
}

fn line(verb: &str, id: &str, inner: &str, reason: &Option<String>, blocked: bool) -> String {
    let mut s = format!("  * {verb:<10} {id:<8} ( {inner} )");
    if let Some(r) = reason {
        s.push_str("  ");
        s.push_str(r);
        if blocked {
            s.push_str(" (blocked)");
        }
    } else if blocked {
        s.push_str("  blocked");
    }
    s
}

pub fn render(cl: &Cluster, fences: &[Fence], changes: &[Change]) -> Vec<String> {
    let mut out = Vec::new();
    for f in fences {
        let via = f
            .container
            .map(|c| format!(" (resource: {})", cl.resources[c].id))
            .unwrap_or_default();
        out.push(format!(
            "  * Fence ({}) {}{via} '{}'",
            f.action, cl.nodes[f.node].name, f.reason
        ));
    }
    let n = |i: usize| cl.nodes[i].name.as_str();
    for c in changes {
        let id = cl.resources[c.rsc].id.as_str();
        let l = match (&c.kind, c.from, c.to) {
            (ChangeKind::Start, _, Some((t, _))) => line("Start", id, n(t), &c.reason, c.blocked),
            (ChangeKind::Promote, None, Some((t, _))) => line(
                "Promote",
                id,
                &format!("Stopped -> Promoted {}", n(t)),
                &c.reason,
                c.blocked,
            ),
            (ChangeKind::Promote, Some((_, fr)), Some((t, _))) => line(
                "Promote",
                id,
                &format!(
                    "{} -> Promoted {}",
                    if fr == Role::Started {
                        "Unpromoted"
                    } else {
                        fr.name()
                    },
                    n(t)
                ),
                &c.reason,
                c.blocked,
            ),
            (ChangeKind::Demote, _, Some((t, tr))) => line(
                "Demote",
                id,
                &format!(
                    "Promoted -> {} {}",
                    if tr == Role::Started {
                        "Unpromoted"
                    } else {
                        tr.name()
                    },
                    n(t)
                ),
                &c.reason,
                c.blocked,
            ),
            (ChangeKind::Stop, Some((f, fr)), _) => line(
                "Stop",
                id,
                &format!("{}{}", role_prefix(fr), n(f)),
                &c.reason,
                c.blocked,
            ),
            (ChangeKind::Recover, Some((f, fr)), Some((t, _))) => {
                if f == t {
                    line(
                        "Recover",
                        id,
                        &format!("{}{}", role_prefix(fr), n(f)),
                        &c.reason,
                        c.blocked,
                    )
                } else {
                    line(
                        "Recover",
                        id,
                        &format!("{} -> {}", n(f), n(t)),
                        &c.reason,
                        c.blocked,
                    )
                }
            }
            (ChangeKind::Reload, Some((f, fr)), _) => line(
                "Reload",
                id,
                &format!("{}{}", role_prefix(fr), n(f)),
                &c.reason,
                c.blocked,
            ),
            (ChangeKind::Restart, Some((f, fr)), _) => line(
                "Restart",
                id,
                &format!("{}{}", role_prefix(fr), n(f)),
                &c.reason,
                c.blocked,
            ),
            (ChangeKind::Move | ChangeKind::Migrate, Some((f, fr)), Some((t, tr))) => {
                let verb = if c.kind == ChangeKind::Move {
                    "Move"
                } else {
                    "Migrate"
                };
                let inner = if fr == tr {
                    if matches!(fr, Role::Promoted | Role::Unpromoted) {
                        format!("{} -> {} {}", n(f), n(t), fr.name())
                    } else {
                        format!("{} -> {}", n(f), n(t))
                    }
                } else {
                    format!("{}{} -> {}{}", role_prefix(fr), n(f), role_prefix(tr), n(t))
                };
                line(verb, id, &inner, &c.reason, c.blocked)
            }
            _ => continue,
        };
        out.push(l);
        for &e in &c.extra_stops {
            if !matches!(
                c.kind,
                ChangeKind::Restart | ChangeKind::Recover | ChangeKind::Move | ChangeKind::Migrate
            ) {
                out.push(line(
                    "Stop",
                    id,
                    n(e),
                    &Some("due to node availability".into()),
                    false,
                ));
            }
        }
    }
    out
}
