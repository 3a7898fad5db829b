//! Fencing on the DC side: manual confirmation (`stonith_admin --confirm`), what counts as
//! the result of a fence action, and pruning of the fencing history.
//!
//! **Manual confirmation.** A person who knows a node is off (powered down by hand, BMC
//! dead) records it as a `FencingHistory` with `result: success`, `executor: manual:<who>`
//! and `completed: <now>` — [`manual_confirmation`] builds it (`kubectl pacer fence
//! confirm NODE` creates it; with plain kubectl, create the same object). The DC treats
//! it like any successful fence: a fence completed after the node's last Lease renewal
//! makes the node `fenced` (membership.rs), its resources are recovered elsewhere, and a
//! fence action still waiting for that node is confirmed at once ([`satisfied`]) instead
//! of waiting for its device to give up. A node that renews its Lease after the
//! confirmation is back (a wrong confirmation cannot keep a live node out, but it can
//! start its resources twice: that is the operator's word, as with stonith_admin).
//!
//! **History.** Agents write one record per fence action (`<target>-<seq>`); a BMC that
//! keeps failing would grow it forever, so the DC keeps the newest [`KEEP_PER_TARGET`]
//! per target ([`prunable`]).

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use pacer_crds::{FencingHistory, FencingHistorySpec};

use crate::membership::Membership;

/// `spec.executor` prefix of manual confirmations.
pub const MANUAL_EXECUTOR: &str = "manual";
/// Fencing records kept per target.
pub const KEEP_PER_TARGET: usize = 20;

/// The record confirming that `node` is off, by `who` (a user name), at `now`.
pub fn manual_confirmation(node: &str, who: &str, now: jiff::Timestamp) -> FencingHistory {
    let who = if who.is_empty() { "unknown" } else { who };
    FencingHistory::new(
        &format!("{node}-manual-{}", now.as_second()),
        FencingHistorySpec {
            target: node.to_string(),
            action: "off".into(),
            executor: format!("{MANUAL_EXECUTOR}:{who}"),
            transition_key: None,
            devices: Vec::new(),
            result: "success".into(),
            message: Some(format!("confirmed off manually by {who}")),
            completed: Some(Time(now)),
        },
    )
}

pub fn is_manual(f: &FencingHistory) -> bool {
    f.spec.executor == MANUAL_EXECUTOR
        || f.spec
            .executor
            .strip_prefix(MANUAL_EXECUTOR)
            .is_some_and(|r| r.starts_with(':'))
}

/// Whether a fence action on a node with this membership has nothing left to do: the node
/// was fenced after its last Lease renewal (by another fence action or a manual
/// confirmation).
pub fn satisfied(target: Option<&Membership>) -> bool {
    target == Some(&Membership::Fenced)
}

fn seq_key(f: &FencingHistory) -> (i64, i64) {
    let created = f
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(0, |t| t.0.as_millisecond());
    let completed = f
        .spec
        .completed
        .as_ref()
        .map_or(0, |t| t.0.as_millisecond());
    (created.max(completed), 0)
}

/// Records to delete: all but the newest [`KEEP_PER_TARGET`] per target, never a pending
/// one and never the newest success of a target (membership depends on it).
pub fn prunable<'a>(history: impl IntoIterator<Item = &'a FencingHistory>) -> Vec<String> {
    let mut by_target: BTreeMap<&str, Vec<&FencingHistory>> = BTreeMap::new();
    for f in history {
        by_target.entry(f.spec.target.as_str()).or_default().push(f);
    }
    let mut out = Vec::new();
    for (_, mut v) in by_target {
        v.sort_by_key(|f| std::cmp::Reverse(seq_key(f)));
        let newest_success = v
            .iter()
            .find(|f| f.spec.result == "success")
            .map(|f| f.name_any());
        for f in v.into_iter().skip(KEEP_PER_TARGET) {
            let name = f.name_any();
            if f.spec.result != "pending" && Some(&name) != newest_success.as_ref() {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_confirmation_is_a_successful_fence_by_a_person() {
        let now = jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default();
        let f = manual_confirmation("n2", "alice", now);
        assert_eq!(f.name_any(), "n2-manual-1800000000");
        assert_eq!(f.spec.result, "success");
        assert_eq!(f.spec.executor, "manual:alice");
        assert!(is_manual(&f));
        assert_eq!(
            f.spec.completed.as_ref().map(|t| t.0.as_second()),
            Some(1_800_000_000)
        );
        assert!(satisfied(Some(&Membership::Fenced)));
        assert!(!satisfied(Some(&Membership::Unclean)));
        assert!(!satisfied(None));
    }

    #[test]
    fn prune_keeps_the_newest_and_the_last_success() {
        let rec = |n: i64, result: &str| {
            let mut f = FencingHistory::new(
                &format!("n1-{n}"),
                FencingHistorySpec {
                    target: "n1".into(),
                    result: result.into(),
                    completed: jiff::Timestamp::from_second(1_000 + n).ok().map(Time),
                    ..Default::default()
                },
            );
            f.metadata.creation_timestamp = jiff::Timestamp::from_second(1_000 + n).ok().map(Time);
            f
        };
        let mut all = vec![rec(1, "success")];
        for n in 2..(KEEP_PER_TARGET as i64 + 10) {
            all.push(rec(n, "failed"));
        }
        let doomed = prunable(&all);
        assert_eq!(doomed.len(), all.len() - KEEP_PER_TARGET - 1);
        assert!(!doomed.contains(&"n1-1".to_string()), "the last success stays");
        assert!(doomed.contains(&"n1-2".to_string()));
    }
}
