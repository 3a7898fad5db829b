//! How orderings constrain live migration (allow-migrate), once each primitive's
//! change is known.
//!
//! A migration has no separate stop and start that an ordering could sit between:
//! migrate_to/migrate_from run while the resource keeps running. So:
//! - a primitive that would migrate after (mandatory, symmetrical "start then start")
//!   something that stops and starts again in this transition cannot migrate: it is
//!   stopped and started instead, "due to unrunnable FIRST stop" (crm_simulate);
//! - a migrating primitive is not stopped where it runs before its dependents' starts,
//!   so its move does not restart what is ordered after it.

use crate::{
    actions::{Change, ChangeKind},
    model::{Cluster, OrderKind, RscIdx},
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

/// Turn migrations that follow a stop-and-start into plain moves. Returns whether
/// anything changed (a migration turned into a move can in turn stop a migration
/// after it).
pub fn unmigratable_after_restarts(
    cl: &Cluster,
    idx: &HashMap<RscIdx, usize>,
    changes: &mut [Change],
) -> bool {
    let mut changed = false;
    for o in &cl.orderings {
        if o.kind != OrderKind::Mandatory
            || !o.symmetrical
            || o.first_set.is_some()
            || o.first_action != "start"
            || o.then_action != "start"
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
        let first_restarts = cl
            .primitives_of(o.first)
            .iter()
            .filter_map(|f| idx.get(f))
            .any(|&fi| stops_and_starts(&changes[fi]));
        if first_restarts {
            let then = &mut changes[ti];
            then.kind = ChangeKind::Move;
            then.reason = Some(format!(
                "due to unrunnable {} stop",
                cl.resources[o.first].id
            ));
            changed = true;
        }
    }
    changed
}
