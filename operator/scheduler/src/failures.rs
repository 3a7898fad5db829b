//! Failure handling: fail-counts against `migration-threshold` (with
//! `failure-timeout` expiry) and hard failures that ban a resource from a node.

use crate::{
    model::{Cluster, NodeIdx, OnFail, RscIdx},
    score::INFINITY,
};

/// The effective fail-count of primitive `r` on `node` at `cl.now`
/// (0 once `failure-timeout` has passed since the last failure).
pub fn failcount(cl: &Cluster, r: RscIdx, node: NodeIdx) -> i64 {
    let Some(&(count, last)) = cl.failcounts.get(&(r, node)) else {
        return 0;
    };
    let res = &cl.resources[r];
    if res.failure_timeout_s > 0 && last > 0 && last + res.failure_timeout_s <= cl.now {
        return 0;
    }
    count
}

/// Ban nodes where the primitive reached its migration-threshold or failed hard, and
/// every node after a fatal failure (the configuration is wrong wherever it runs).
pub fn apply_bans(cl: &Cluster, r: RscIdx, w: &mut [i64]) {
    let res = &cl.resources[r];
    // Failures of operations with on-fail=ignore do not count towards the threshold.
    let ignores_failures = res.ops.iter().any(|o| o.on_fail == Some(OnFail::Ignore));
    for (n, x) in w.iter_mut().enumerate() {
        if ignores_failures {
            break;
        }
        // A container also answers for the failures of what runs inside it, a guest
        // node's connection included.
        let fc = cl
            .contained
            .iter()
            .chain(&cl.guest_connections)
            .filter(|&&(_, c)| c == r)
            .fold(failcount(cl, r, n), |acc, &(x, _)| {
                crate::score::add(acc, failcount(cl, x, n))
            });
        if fc > 0 && fc >= res.migration_threshold {
            *x = -INFINITY;
        }
    }
    for s in &res.status {
        if s.fatal {
            w.fill(-INFINITY);
        }
        if s.banned {
            w[s.node] = -INFINITY;
        }
    }
}

/// A failure whose on-fail policy is "stop": the resource stays stopped.
pub fn stop_after_failure(cl: &Cluster, r: RscIdx) -> bool {
    cl.primitives_of(r).iter().any(|&p| {
        cl.resources[p]
            .status
            .iter()
            .any(|s| s.failed && s.on_fail == Some(OnFail::Stop))
    })
}
