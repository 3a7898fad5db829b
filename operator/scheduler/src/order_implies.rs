//! Orderings between a start and a stop ("first stop then start", "first start then
//! stop") that make the "then" action required when the "first" action is: mandatory
//! ones, and optional ones whose "then" has the (deprecated) `restart-type=restart`.
//! A resource that stays where it is restarts when the action it is ordered after
//! happens: "due to required F stop" when its start is ordered, with no reason when
//! its stop is. A first that stops for good counts as a required start that cannot
//! run: a mandatory "then stop" is blocked, an optional "then start" restarts. (Other
//! start → start orderings are `actions::links`' job, stop → stop ones
//! `actions::stops_restart_thens`'.)

use crate::{
    actions::{Change, ChangeKind},
    model::{Cluster, Kind, OrderKind, Ordering, RscIdx},
};
use std::collections::HashMap;

/// Restart the "then" side of implying orderings whose "first" action happens.
/// Returns whether anything changed.
pub fn restarts(cl: &Cluster, idx: &HashMap<RscIdx, usize>, changes: &mut [Change]) -> bool {
    let mut changed = false;
    for o in cl.orderings.iter().filter(|o| implies_then(cl, o)) {
        let firsts: Vec<&Change> = cl
            .primitives_of(o.first)
            .iter()
            .filter_map(|f| idx.get(f).map(|&i| &changes[i]))
            .collect();
        // The node where a first's action happens: a start where it goes, a stop where
        // it is.
        let at = |c: &Change| match o.first_action.as_str() {
            "start" => c.to.map(|(n, _)| n),
            _ => c.from.map(|(n, _)| n),
        };
        let happens = |c: &Change| match o.first_action.as_str() {
            "start" => c.starts(),
            _ => c.stops(),
        };
        // A first that stops for good still has a start, required but unrunnable.
        let stops_for_good = |c: &Change| {
            o.first_action == "start"
                && c.kind == ChangeKind::Stop
                && !c.blocked
                && c.from.is_some()
        };
        // A clone's actions matter to a non-cloned then only on then's node.
        let per_node = cl.resources[o.first].kind == Kind::Clone && cl.clone_of(o.then).is_none();
        let f = &cl.resources[o.first];
        let label = match (f.is_primitive(), o.first_action.as_str()) {
            (true, a) => format!("{} {a}", f.id),
            (false, "start") => format!("{} running", f.id),
            (false, _) => format!("{} stopped", f.id),
        };
        let mut restarts: Vec<(usize, Option<String>)> = Vec::new();
        let mut blocked_stops: Vec<usize> = Vec::new();
        for t in cl.primitives_of(o.then) {
            let Some(&ti) = idx.get(&t) else {
                continue;
            };
            let then = &changes[ti];
            let here = then.from.map(|(n, _)| n);
            let stays = then.kind == ChangeKind::None
                && !then.blocked
                && here.is_some()
                && here == then.to.map(|(n, _)| n);
            if !stays {
                continue;
            }
            let relevant = |c: &&&Change| !per_node || at(c) == here;
            // (An optional start → start whose first starts is `actions::links`' job.)
            let first_happens = o.first_action != o.then_action
                && firsts.iter().filter(relevant).any(|c| happens(c));
            let unrunnable_start = firsts.iter().filter(relevant).any(|c| stops_for_good(c));
            if first_happens {
                restarts.push((
                    ti,
                    (o.then_action == "start").then(|| format!("due to required {label}")),
                ));
            } else if unrunnable_start && o.kind == OrderKind::Mandatory {
                // A mandatory ordering after a start also needs that start to be
                // runnable: the stop it orders cannot happen.
                blocked_stops.push(ti);
            } else if unrunnable_start {
                restarts.push((
                    ti,
                    (o.then_action == "start").then(|| format!("due to required {label}")),
                ));
            }
        }
        for (ti, reason) in restarts {
            changes[ti].kind = ChangeKind::Restart;
            changes[ti].reason = reason;
            changed = true;
        }
        for ti in blocked_stops {
            let then = &mut changes[ti];
            then.kind = ChangeKind::Stop;
            then.to = None;
            then.blocked = true;
            then.reason = Some(format!("due to required {label}"));
            changed = true;
        }
    }
    changed
}

fn implies_then(cl: &Cluster, o: &Ordering) -> bool {
    let actions_ok = matches!(o.first_action.as_str(), "start" | "stop")
        && matches!(o.then_action.as_str(), "start" | "stop");
    if !actions_ok || o.first_set.is_some() || o.first == o.then {
        return false;
    }
    // Start → start is `actions::links`' job, stop → stop `actions::stops_restart_thens`'.
    if o.first_action == o.then_action
        && !(o.first_action == "start" && o.kind == OrderKind::Optional)
    {
        return false;
    }
    match o.kind {
        OrderKind::Mandatory => true,
        OrderKind::Optional => restart_type_restart(cl, o.then),
        OrderKind::Serialize => false,
    }
}

/// The deprecated `restart-type=restart` meta attribute, on `r` or an ancestor.
fn restart_type_restart(cl: &Cluster, r: RscIdx) -> bool {
    let mut cur = Some(r);
    while let Some(x) = cur {
        if let Some(v) = cl.resources[x].meta.get("restart-type") {
            return v == "restart";
        }
        cur = cl.resources[x].parent;
    }
    false
}
