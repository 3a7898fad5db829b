//! Node membership from agent Leases: a node's Lease (`pacer-node-<node>`), its NodeState
//! and its fencing history in, one [`Membership`] per node out, plus the quorum verdict.
//!
//! Why Leases and not the NodeState: a dead node cannot say it is dead. Its NodeState
//! keeps `inCcm: "true"` forever, so the only trustworthy signal is that its agent stopped
//! renewing the Lease. A node whose Lease expired without a clean shutdown (`expected:
//! down` in its NodeState) is *unclean*.
//!
//! **Risk without fencing.** With `stonith-enabled=true` the scheduler recovers an unclean
//! node's resources only after a fence action confirmed the node is off. With fencing
//! disabled they are recovered as soon as the Lease expired, although the node may still
//! be running them (a network partition between that node and the API server looks
//! exactly like a crash): a VIP or a filesystem can then be active twice. That is the same
//! trade-off Pacemaker makes with `stonith-enabled=false`; see docs/operator.md.
//!
//! Clocks: freshness compares the Lease's `renewTime` (the agent's clock) with the
//! operator's clock, so the two must be within a fraction of `leaseDurationSeconds` (NTP).

use pacer_crds::NodeState;

/// What the operator concluded about one node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    /// The agent renews its Lease.
    Online,
    /// The Lease expired (or is gone) without a clean shutdown: the node may still run
    /// resources. Needs fencing (when enabled) before its resources move.
    Unclean,
    /// Shut down cleanly (`expected: down`), or never started.
    Down,
    /// Fenced after its last Lease renewal: off, its resources are stopped.
    Fenced,
}

impl Membership {
    pub fn name(self) -> &'static str {
        match self {
            Membership::Online => "online",
            Membership::Unclean => "unclean",
            Membership::Down => "offline",
            Membership::Fenced => "fenced",
        }
    }
}

/// The parts of a node Lease membership needs (times in milliseconds since the epoch).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseView {
    pub holder: Option<String>,
    pub renew_ms: Option<i64>,
    pub duration_s: Option<i64>,
}

impl LeaseView {
    /// Fresh while `renewTime + leaseDurationSeconds` is in the future.
    pub fn fresh(&self, now_ms: i64, default_duration_s: i64) -> bool {
        let Some(renew) = self.renew_ms else {
            return false;
        };
        let dur = self.duration_s.unwrap_or(default_duration_s).max(1);
        self.holder.as_deref().is_some_and(|h| !h.is_empty()) && renew + dur * 1000 > now_ms
    }
}

/// Classifies one node. `fenced_ms`: when the latest successful fence of this node
/// completed.
pub fn classify(
    lease: Option<&LeaseView>,
    state: Option<&NodeState>,
    fenced_ms: Option<i64>,
    now_ms: i64,
    default_duration_s: i64,
) -> Membership {
    let renew = lease.and_then(|l| l.renew_ms);
    // A fence after the last renewal wins: the node is off even if its Lease has not
    // expired yet by our clock. A renewal after the fence means it came back.
    if let Some(f) = fenced_ms
        && renew.is_none_or(|r| r <= f)
    {
        return Membership::Fenced;
    }
    if lease.is_some_and(|l| l.fresh(now_ms, default_duration_s)) {
        return Membership::Online;
    }
    let expected_down = state.and_then(|s| s.spec.expected.as_deref()) == Some("down");
    match (state, expected_down) {
        (None, _) if lease.is_none() => Membership::Down,
        (_, true) => Membership::Down,
        _ => Membership::Unclean,
    }
}

/// Quorum over the configured nodes: more than half of them online.
pub fn has_quorum(configured: usize, online: usize) -> bool {
    configured == 0 || online * 2 > configured
}

/// The CIB `node_state` membership attributes (`in_ccm`, `crmd`, `join`, `expected`) the
/// scheduler must see for this membership. An unclean node is "expected member but not in
/// the membership", which is how Pacemaker records a lost node.
pub fn cib_attributes(m: Membership) -> [(&'static str, &'static str); 4] {
    match m {
        Membership::Online => [
            ("in_ccm", "true"),
            ("crmd", "online"),
            ("join", "member"),
            ("expected", "member"),
        ],
        Membership::Unclean => [
            ("in_ccm", "false"),
            ("crmd", "offline"),
            ("join", "down"),
            ("expected", "member"),
        ],
        Membership::Down | Membership::Fenced => [
            ("in_ccm", "false"),
            ("crmd", "offline"),
            ("join", "down"),
            ("expected", "down"),
        ],
    }
}

/// Overwrites the membership fields of a NodeState copy (the scheduler input never
/// trusts what a node wrote about its own liveness). A fenced node's history is dropped:
/// fencing stopped everything it ran.
pub fn apply(state: &mut NodeState, m: Membership) {
    let [(_, in_ccm), (_, crmd), (_, join), (_, expected)] = cib_attributes(m);
    state.spec.in_ccm = Some(in_ccm.into());
    state.spec.crmd = Some(crmd.into());
    state.spec.join = Some(join.into());
    state.spec.expected = Some(expected.into());
    if m == Membership::Fenced {
        if let Some(lrm) = &mut state.spec.lrm {
            lrm.resources.clear();
        }
        state.spec.transient_attributes = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::NodeStateSpec;

    fn lease(renew_ms: i64) -> LeaseView {
        LeaseView {
            holder: Some("n1".into()),
            renew_ms: Some(renew_ms),
            duration_s: Some(4),
        }
    }

    fn state(expected: &str) -> NodeState {
        NodeState::new(
            "n1",
            NodeStateSpec {
                expected: Some(expected.into()),
                ..Default::default()
            },
        )
    }

    #[test]
    fn fresh_lease_is_online_until_it_expires() {
        let l = lease(10_000);
        assert_eq!(
            classify(Some(&l), Some(&state("member")), None, 13_999, 15),
            Membership::Online
        );
        assert_eq!(
            classify(Some(&l), Some(&state("member")), None, 14_000, 15),
            Membership::Unclean
        );
    }

    #[test]
    fn expired_lease_after_clean_shutdown_is_down() {
        let l = lease(10_000);
        assert_eq!(
            classify(Some(&l), Some(&state("down")), None, 20_000, 15),
            Membership::Down
        );
        assert_eq!(
            classify(None, Some(&state("down")), None, 20_000, 15),
            Membership::Down
        );
    }

    #[test]
    fn a_dead_node_claiming_membership_is_still_unclean() {
        let mut s = state("member");
        s.spec.in_ccm = Some("true".into());
        s.spec.crmd = Some("online".into());
        assert_eq!(
            classify(Some(&lease(1_000)), Some(&s), None, 60_000, 15),
            Membership::Unclean
        );
        // Lease deleted but no clean shutdown recorded.
        assert_eq!(
            classify(None, Some(&s), None, 60_000, 15),
            Membership::Unclean
        );
    }

    #[test]
    fn fence_after_last_renewal_means_fenced_and_renewal_after_fence_means_back() {
        let l = lease(10_000);
        assert_eq!(
            classify(Some(&l), Some(&state("member")), Some(12_000), 13_000, 15),
            Membership::Fenced
        );
        assert_eq!(
            classify(Some(&l), Some(&state("member")), Some(9_000), 13_000, 15),
            Membership::Online
        );
    }

    #[test]
    fn lease_without_holder_is_not_fresh() {
        let l = LeaseView {
            holder: None,
            renew_ms: Some(10_000),
            duration_s: Some(4),
        };
        assert!(!l.fresh(10_500, 4));
        let d = LeaseView {
            holder: Some("x".into()),
            renew_ms: Some(10_000),
            duration_s: None,
        };
        assert!(d.fresh(14_000, 15) && !d.fresh(25_000, 15));
    }

    #[test]
    fn quorum_needs_a_strict_majority() {
        assert!(has_quorum(3, 2));
        assert!(!has_quorum(4, 2));
        assert!(has_quorum(1, 1));
        assert!(!has_quorum(2, 1));
    }

    #[test]
    fn fenced_state_drops_history_and_reads_clean_down() {
        let mut s = state("member");
        s.spec.lrm = Some(pacer_crds::Lrm {
            resources: vec![pacer_crds::LrmResource {
                id: "ip".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        apply(&mut s, Membership::Fenced);
        assert_eq!(s.spec.expected.as_deref(), Some("down"));
        assert_eq!(s.spec.in_ccm.as_deref(), Some("false"));
        assert!(s.spec.lrm.as_ref().is_some_and(|l| l.resources.is_empty()));
    }
}
