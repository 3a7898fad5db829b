//! How orderings constrain live migration (allow-migrate), once each primitive's
//! change is known.
//!
//! A migration has no separate stop and start that an ordering could sit between:
//! migrate_to/migrate_from run while the resource keeps running. So:
//! - a symmetrical mandatory ordering between starts and stops also orders the
//!   opposite actions the other way round; a primitive that would migrate as the
//!   "then" of one cannot when that inverse needs a real action of the first: a stop
//!   (the first stops and starts again) or a start (the first starts, not by
//!   migrating). It is stopped and started instead, "due to unrunnable FIRST stop"
//!   (or start) when the ordering was about its start (crm_simulate);
//! - a migrating primitive is not stopped where it runs before its dependents' starts,
//!   so its move does not restart what is ordered after it.

use crate::{
    actions::{Change, ChangeKind},
    model::{Cluster, Kind, OrderKind, RscIdx},
};
use std::collections::HashMap;

/// The change stops and starts the same primitive again (not as a migration).
fn stops_and_starts(c: &Change) -> bool {
    !c.blocked
        && matches!(
            c.kind,
            ChangeKind::Move | ChangeKind::Recover | ChangeKind::Restart
        )
}

/// The change starts the primitive for real (not as the end of a migration).
fn really_starts(c: &Change) -> bool {
    !c.blocked
        && (stops_and_starts(c)
            || c.kind == ChangeKind::Start
            || (c.kind == ChangeKind::Promote && c.from.is_none()))
}

/// Turn migrations that the inverse of a mandatory ordering holds back into plain
/// moves. Returns whether anything changed (a migration turned into a move can in
/// turn hold back one after it).
pub fn unmigratable_after_restarts(
    cl: &Cluster,
    idx: &HashMap<RscIdx, usize>,
    changes: &mut [Change],
) -> bool {
    let mut changed = false;
    for o in &cl.orderings {
        let inverse = match o.first_action.as_str() {
            "start" => "stop",
            "stop" => "start",
            _ => continue,
        };
        if o.kind != OrderKind::Mandatory
            || !o.symmetrical
            || o.first_set.is_some()
            || !matches!(o.then_action.as_str(), "start" | "stop")
            // Only a primitive's own migration is held back by it; a group's
            // members migrate together with the group.
            || !cl.resources[o.then].is_primitive()
        {
            continue;
        }
        let Some(&ti) = idx.get(&o.then) else {
            continue;
        };
        if changes[ti].kind != ChangeKind::Migrate || changes[ti].blocked {
            continue;
        }
        // The inverse ordering ("then" before "first", opposite actions) needs the
        // first's opposite action: a stop held back only by a stop-and-start of the
        // same primitive (a clone instance that just stops does not), a start by any.
        // A group's own start and stop happen even when its members migrate.
        let group = cl.resources[o.first].kind == Kind::Group;
        let held = cl
            .primitives_of(o.first)
            .iter()
            .filter_map(|f| idx.get(f))
            .any(|&fi| {
                let c = &changes[fi];
                (group && c.kind == ChangeKind::Migrate && !c.blocked)
                    || if inverse == "stop" {
                        stops_and_starts(c)
                    } else {
                        really_starts(c)
                    }
            });
        if held {
            let then = &mut changes[ti];
            then.kind = ChangeKind::Move;
            if o.then_action == "start" {
                then.reason = Some(format!(
                    "due to unrunnable {} {inverse}",
                    cl.resources[o.first].id
                ));
            }
            changed = true;
        }
    }
    changed
}
