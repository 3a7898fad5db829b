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

use crate::membership::{LeaseView, Membership};

/// Lease annotation with which an agent that pets a watchdog says how long it keeps
/// petting after losing the cluster (ms).
pub const WATCHDOG_ANNOTATION: &str = "ha.pacer.dev/watchdog-timeout-ms";

/// `stonith-watchdog-timeout` in ms: a Pacemaker duration; 0 or absent means off; a
/// negative value means "twice the node's watchdog timeout" (Pacemaker's convention).
pub fn parse_watchdog_timeout(v: Option<&str>) -> Option<i64> {
    let v = v?.trim();
    if let Some(neg) = v.strip_prefix('-') {
        return (!neg.is_empty()).then_some(-1);
    }
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: i64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "" | "s" | "sec" => n.saturating_mul(1000),
        "ms" | "msec" => n,
        "m" | "min" => n.saturating_mul(60_000),
        "h" | "hr" => n.saturating_mul(3_600_000),
        _ => return None,
    };
    (ms > 0).then_some(ms)
}

/// Watchdog self-fencing (`stonith-watchdog-timeout`): when a lost node that pets a
/// watchdog counts as fenced. The node stops petting `node_watchdog_ms` after it lost the
/// cluster and its watchdog then resets it; the DC waits `stonith-watchdog-timeout` after
/// the node's Lease expired. A timeout not longer than the node's own watchdog timeout
/// could declare a still-running node dead, so it is ignored (no watchdog fencing).
pub fn watchdog_fenced_ms(
    lease: Option<&LeaseView>,
    node_watchdog_ms: Option<i64>,
    stonith_watchdog_timeout_ms: Option<i64>,
    now_ms: i64,
    default_duration_s: i64,
) -> Option<i64> {
    let node_ms = node_watchdog_ms.filter(|m| *m > 0)?;
    let swt = match stonith_watchdog_timeout_ms? {
        x if x < 0 => node_ms.saturating_mul(2),
        x => x,
    };
    if swt <= node_ms {
        return None;
    }
    let lease = lease?;
    let renew = lease.renew_ms?;
    let expired = renew + lease.duration_s.unwrap_or(default_duration_s).max(1) * 1000;
    let fenced = expired + swt;
    (now_ms >= fenced).then_some(fenced)
}

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

/// Targets the DC stops fencing (`stonith-max-attempts`, Pacemaker's default 10): their
/// newest `max_attempts` records are all failures, none older than the node's last Lease
/// renewal (`renewed_ms`) and none after a success. A success (e.g. a manual
/// confirmation) or the node coming back resets the count.
pub fn given_up<'a>(
    history: impl IntoIterator<Item = &'a FencingHistory>,
    renewed_ms: impl Fn(&str) -> Option<i64>,
    max_attempts: usize,
) -> std::collections::BTreeSet<String> {
    let mut by_target: BTreeMap<&str, Vec<&FencingHistory>> = BTreeMap::new();
    for f in history {
        by_target.entry(f.spec.target.as_str()).or_default().push(f);
    }
    let mut out = std::collections::BTreeSet::new();
    for (target, mut v) in by_target {
        v.sort_by_key(|f| std::cmp::Reverse(seq_key(f)));
        let since = renewed_ms(target).unwrap_or(i64::MIN);
        let failures = v
            .iter()
            .take_while(|f| f.spec.result != "success" && seq_key(f).0 > since)
            .filter(|f| f.spec.result == "failed")
            .count();
        if max_attempts > 0 && failures >= max_attempts {
            out.insert(target.to_string());
        }
    }
    out
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
    fn watchdog_fencing_waits_the_timeout_after_the_lease_expired() {
        let lease = LeaseView {
            holder: Some("n1".into()),
            renew_ms: Some(10_000),
            duration_s: Some(2),
        };
        assert_eq!(parse_watchdog_timeout(Some("10s")), Some(10_000));
        assert_eq!(parse_watchdog_timeout(Some("0")), None);
        assert_eq!(parse_watchdog_timeout(Some("-1")), Some(-1));
        assert_eq!(parse_watchdog_timeout(None), None);
        let at = |now| watchdog_fenced_ms(Some(&lease), Some(5_000), Some(10_000), now, 4);
        // Lease expired at 12 s; fenced at 22 s.
        assert_eq!(at(21_999), None);
        assert_eq!(at(22_000), Some(22_000));
        // No watchdog on the node, none configured, or a timeout too short to be safe.
        assert_eq!(watchdog_fenced_ms(Some(&lease), None, Some(10_000), 99_000, 4), None);
        assert_eq!(watchdog_fenced_ms(Some(&lease), Some(5_000), None, 99_000, 4), None);
        assert_eq!(watchdog_fenced_ms(Some(&lease), Some(5_000), Some(5_000), 99_000, 4), None);
        // Negative: twice the node's timeout.
        assert_eq!(watchdog_fenced_ms(Some(&lease), Some(5_000), Some(-1), 99_000, 4), Some(22_000));
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

    #[test]
    fn fencing_is_given_up_after_max_attempts_in_a_row() {
        let rec = |target: &str, result: &str, at: i64| {
            let mut f = manual_confirmation(target, "t", jiff::Timestamp::from_second(at).unwrap());
            f.metadata.name = Some(format!("{target}-{at}"));
            f.spec.result = result.into();
            f
        };
        let h = vec![
            rec("a", "success", 10),
            rec("a", "failed", 20),
            rec("a", "failed", 30),
            rec("b", "failed", 20),
            rec("b", "failed", 30),
            rec("b", "success", 40),
        ];
        assert_eq!(given_up(&h, |_| None, 2), ["a".to_string()].into());
        assert!(given_up(&h, |_| None, 3).is_empty());
        // The node renewed its Lease after the first failure: only one counts.
        assert!(given_up(&h, |_| Some(25_000), 2).is_empty());
        assert!(given_up(&h, |_| None, 0).is_empty());
    }
}
