//! Ticket dependencies (`rsc_ticket`): what a resource may do while a ticket it
//! depends on is not granted (or in standby), per the constraint's loss-policy.

use crate::model::{Cluster, Role, RscIdx};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TicketEffect {
    None,
    /// Promoted instances stay promoted, nothing new is promoted.
    KeepPromoted,
    /// May run but not be promoted.
    NoPromote,
    /// Keep what runs, start nothing new.
    Freeze,
    /// Must not run.
    Stop,
    /// Must not run, and nodes where it runs are fenced.
    Fence,
}

fn granted(cl: &Cluster, t: &str) -> bool {
    cl.tickets.get(t).is_some_and(|t| t.granted && !t.standby)
}

/// The strongest effect of all ticket dependencies on `r` and its ancestors.
pub fn effect(cl: &Cluster, r: RscIdx) -> TicketEffect {
    let mut out = TicketEffect::None;
    let mut chain = vec![r];
    let mut cur = cl.resources[r].parent;
    while let Some(p) = cur {
        chain.push(p);
        cur = cl.resources[p].parent;
    }
    for d in &cl.ticket_deps {
        if !chain.contains(&d.rsc) || granted(cl, &d.ticket) {
            continue;
        }
        let standby = cl
            .tickets
            .get(&d.ticket)
            .is_some_and(|t| t.granted && t.standby);
        let e = match (d.loss_policy.as_str(), d.role) {
            // A ticket in standby is given up gracefully: never fence or freeze.
            ("stop", Some(Role::Promoted)) if standby => TicketEffect::Stop,
            (_, Some(Role::Promoted)) if standby => TicketEffect::NoPromote,
            _ if standby => TicketEffect::Stop,
            ("demote", Some(Role::Promoted)) => TicketEffect::NoPromote,
            // Only the promoted role depends on the ticket: the instances may run.
            ("freeze", Some(Role::Promoted)) => TicketEffect::KeepPromoted,
            ("freeze", _) => TicketEffect::Freeze,
            ("fence", _) => {
                // Fencing only follows the loss of a ticket that was granted before.
                if cl.tickets.contains_key(&d.ticket) {
                    TicketEffect::Fence
                } else {
                    TicketEffect::Stop
                }
            }
            _ => TicketEffect::Stop,
        };
        out = out.max(e);
    }
    out
}
