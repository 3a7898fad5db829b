//! Waiting for a burst of configuration writes to end before scheduling.
//!
//! A CIB update is atomic; `kubectl apply -f dir/` is not: it creates the objects one by
//! one, tens of milliseconds apart. Scheduling in between acts on a configuration nobody
//! wrote — a Primitive probed and started on its own a moment before the Clone that
//! wraps it arrives (IPaddr2 then fails with "unique_clone_address makes sense only with
//! meta globally_unique set", a fatal error that blocks the resource). The DC therefore
//! plans a configuration change only once the configuration has been quiet for a short
//! while, and never later than a bound after the first unplanned change (a writer that
//! never stops must not freeze the cluster). Node-state changes (failures, lost nodes)
//! are not delayed.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Settle {
    /// Quiet time after the newest configuration change.
    pub quiet: Duration,
    /// Longest wait after the first change not yet planned.
    pub max: Duration,
    /// The configuration version last seen and when it was first seen.
    seen: Option<(u64, Instant)>,
    /// When the oldest change not yet planned was first seen.
    pending_since: Option<Instant>,
}

impl Settle {
    pub fn new(quiet: Duration, max: Duration) -> Settle {
        Settle {
            quiet,
            max,
            seen: None,
            pending_since: None,
        }
    }

    /// `version`: the configuration version now; `planned`: the one the last scheduler
    /// run used (`None` before the first run). Returns how much longer to wait, or `None`
    /// when the scheduler may run now.
    pub fn wait(&mut self, version: u64, planned: Option<u64>, now: Instant) -> Option<Duration> {
        if self.seen.is_none_or(|(v, _)| v != version) {
            self.seen = Some((version, now));
        }
        if planned == Some(version) {
            self.pending_since = None;
            return None;
        }
        let since = *self.pending_since.get_or_insert(now);
        let changed_at = self.seen.map_or(now, |(_, t)| t);
        let quiet_left = self
            .quiet
            .saturating_sub(now.saturating_duration_since(changed_at));
        let max_left = self
            .max
            .saturating_sub(now.saturating_duration_since(since));
        let left = quiet_left.min(max_left);
        (!left.is_zero()).then_some(left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn waits_for_quiet_after_the_newest_change() {
        let t0 = Instant::now();
        let mut s = Settle::new(300 * MS, 2000 * MS);
        assert_eq!(s.wait(1, Some(0), t0), Some(300 * MS));
        assert_eq!(s.wait(2, Some(0), t0 + 100 * MS), Some(300 * MS));
        assert_eq!(s.wait(2, Some(0), t0 + 350 * MS), Some(50 * MS));
        assert_eq!(s.wait(2, Some(0), t0 + 400 * MS), None);
    }

    #[test]
    fn nothing_to_wait_for_when_the_configuration_is_planned() {
        let t0 = Instant::now();
        let mut s = Settle::new(300 * MS, 2000 * MS);
        assert_eq!(s.wait(5, Some(5), t0), None);
        assert_eq!(s.wait(5, Some(5), t0 + MS), None);
    }

    #[test]
    fn a_writer_that_never_stops_is_planned_after_the_bound() {
        let t0 = Instant::now();
        let mut s = Settle::new(300 * MS, 1000 * MS);
        let mut v = 1;
        let mut t = t0;
        while t < t0 + 900 * MS {
            assert!(s.wait(v, Some(0), t).is_some());
            v += 1;
            t += 100 * MS;
        }
        assert_eq!(s.wait(v, Some(0), t0 + 950 * MS), Some(50 * MS));
        assert_eq!(s.wait(v + 1, Some(0), t0 + 1000 * MS), None);
        // Once planned, the next burst waits again.
        assert_eq!(s.wait(v + 1, Some(v + 1), t0 + 1001 * MS), None);
        assert_eq!(s.wait(v + 2, Some(v + 1), t0 + 1100 * MS), Some(300 * MS));
    }
}
