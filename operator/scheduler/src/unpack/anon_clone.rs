//! Which instance of an anonymous clone a node's history entry belongs to.
//!
//! The history names anonymous instances arbitrarily (`rsc`, `rsc:3`, …), so the
//! number is ignored. Entries are taken in status order, and each goes to:
//! 1. the first instance already active on this node whose copy of the primitive is
//!    not (for a cloned group: another member put the instance there);
//! 2. else the first instance active nowhere — unless the primitive is already active
//!    here in some instance (a duplicate), or the node is unclean or down, the
//!    resource does not need fencing and the clone has fewer instances than there
//!    are nodes (the instance may start elsewhere now: this copy is only stopped);
//! 3. else a new orphan instance, numbered after all instances so far, that is only
//!    ever stopped. Inactive entries (probes) make orphans too, so they count.

use super::IdIndex;
use crate::model::{Cluster, NodeIdx, NodeKind, RscIdx};
use std::collections::{BTreeMap, HashMap};

/// An instance of an anonymous clone not in the configuration (any more).
struct Orphan {
    number: usize,
    /// Its primitives by configured id, created once the history shows them.
    members: BTreeMap<String, RscIdx>,
}

/// Where an entry goes.
pub enum Slot {
    /// A configured instance's primitive, or an orphan's already created one.
    Primitive(RscIdx),
    /// Orphan instance `number` of `clone`, whose copy of the primitive does not
    /// exist yet: create it (if the entry matters) with [`OrphanInstances::adopt`].
    Orphan { clone: RscIdx, number: usize },
}

/// One candidate instance, in instance order.
enum Inst<'o> {
    Configured(RscIdx),
    Orphan(&'o Orphan),
}

#[derive(Default)]
pub struct OrphanInstances {
    by_clone: HashMap<RscIdx, Vec<Orphan>>,
}

/// The anonymous clone that configures primitive `base`, even one with no instances
/// (clone-max 0).
pub fn anonymous_clone_of(cl: &Cluster, idx: &IdIndex, base: &str) -> Option<RscIdx> {
    let el = idx.get(base).filter(|e| e.has_tag_name("primitive"))?;
    let clone_el = el
        .ancestors()
        .skip(1)
        .take_while(|a| matches!(a.tag_name().name(), "group" | "clone" | "master"))
        .find(|a| matches!(a.tag_name().name(), "clone" | "master"))?;
    let id = clone_el.attribute("id")?;
    let c = cl
        .resources
        .iter()
        .position(|r| r.id == id && r.clone.is_some())?;
    let unique = cl.resources[c].clone.as_ref().is_some_and(|c| c.unique);
    (!unique).then_some(c)
}

fn active_on(cl: &Cluster, r: RscIdx, node: NodeIdx) -> bool {
    cl.resources[r]
        .status
        .iter()
        .any(|s| s.node == node && s.role.is_active())
}

impl OrphanInstances {
    /// The instance of anonymous `clone` that the entry for primitive `base` on `node`
    /// belongs to.
    pub fn find(&mut self, cl: &Cluster, clone: RscIdx, base: &str, node: NodeIdx) -> Slot {
        let configured = cl.resources[clone].children.clone();
        let orphans = self.by_clone.entry(clone).or_default();
        let insts = configured
            .iter()
            .map(|&r| Inst::Configured(r))
            .chain(orphans.iter().map(Inst::Orphan));
        let mut duplicate = false;
        let mut empty: Option<Slot> = None;
        for inst in insts {
            let (prims, member): (Vec<RscIdx>, Option<RscIdx>) = match inst {
                Inst::Configured(root) => {
                    let prims = cl.primitives_of(root);
                    let m = prims
                        .iter()
                        .copied()
                        .find(|&p| cl.resources[p].config_id == base);
                    (prims, m)
                }
                Inst::Orphan(o) => (
                    o.members.values().copied().collect(),
                    o.members.get(base).copied(),
                ),
            };
            let slot = || match (member, &inst) {
                (Some(p), _) => Slot::Primitive(p),
                (None, Inst::Orphan(o)) => Slot::Orphan {
                    clone,
                    number: o.number,
                },
                // A configured instance always has the primitive.
                (None, Inst::Configured(_)) => unreachable!("instance without {base}"),
            };
            if member.is_none() && matches!(inst, Inst::Configured(_)) {
                continue;
            }
            let active_anywhere = prims
                .iter()
                .any(|&p| cl.resources[p].status.iter().any(|s| s.role.is_active()));
            if !active_anywhere {
                if empty.is_none() {
                    empty = Some(slot());
                }
                continue;
            }
            if !prims.iter().any(|&p| active_on(cl, p, node)) {
                continue;
            }
            if member.is_some_and(|p| active_on(cl, p, node)) {
                duplicate = true;
                continue;
            }
            return slot();
        }
        // Without an instance for every node, a copy on an unclean node that need not
        // wait for fencing must not take a free instance: it is to start elsewhere.
        let fewer_than_nodes = cl.resources[clone]
            .clone
            .as_ref()
            .is_some_and(|c| c.max < cl.nodes.len());
        let n = &cl.nodes[node];
        let leaving = n.unclean || (n.kind == NodeKind::Member && !n.online);
        let reserved_elsewhere = leaving
            && fewer_than_nodes
            && !configured
                .first()
                .and_then(|&r| {
                    cl.primitives_of(r)
                        .into_iter()
                        .find(|&p| cl.resources[p].config_id == base)
                })
                .is_some_and(|p| cl.resources[p].requires_fencing);
        if let Some(s) = empty
            && !duplicate
            && !reserved_elsewhere
        {
            return s;
        }
        let number = configured.len() + orphans.len();
        orphans.push(Orphan {
            number,
            members: BTreeMap::new(),
        });
        Slot::Orphan { clone, number }
    }

    /// Record `r` as orphan instance `number`'s copy of primitive `base`.
    pub fn adopt(&mut self, clone: RscIdx, number: usize, base: &str, r: RscIdx) {
        if let Some(o) = self
            .by_clone
            .get_mut(&clone)
            .and_then(|v| v.iter_mut().find(|o| o.number == number))
        {
            o.members.insert(base.to_string(), r);
        }
    }
}
