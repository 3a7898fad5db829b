//! DC election: one `coordination.k8s.io/v1` Lease per cluster namespace (`pacer-dc`);
//! the holder is the DC and the only instance that writes.
//!
//! In: the Lease API, this instance's identity, lease duration and renew interval. Out: a
//! shared [`LeaderState`]: `may_write()` is true only until the *renew deadline* after the
//! last successful renewal (two thirds of the lease duration), so an instance that can no
//! longer renew stops writing before any other instance may take the Lease over. Every
//! write asks [`LeaderState::gate`], which counts the writes it drops (linkerd2's status
//! controller does the same).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};
use tracing::{debug, info, warn};

/// Name of the DC Lease in each cluster namespace.
pub const DC_LEASE: &str = "pacer-dc";

#[derive(Debug, thiserror::Error)]
#[error("not the DC (the {DC_LEASE} Lease is not held or could not be renewed): {what} dropped")]
pub struct NotLeader {
    pub what: String,
}

/// Whether this instance is the DC right now.
pub struct LeaderState {
    pub identity: String,
    valid_until: Mutex<Option<Instant>>,
    was_leader: AtomicBool,
    dropped: AtomicU64,
    /// Called with every dropped write (the metrics counter).
    on_drop: Option<Box<dyn Fn() + Send + Sync>>,
}

impl LeaderState {
    pub fn new(identity: &str) -> LeaderState {
        LeaderState {
            identity: identity.to_string(),
            valid_until: Mutex::new(None),
            was_leader: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            on_drop: None,
        }
    }

    pub fn with_drop_hook(mut self, f: impl Fn() + Send + Sync + 'static) -> LeaderState {
        self.on_drop = Some(Box::new(f));
        self
    }

    pub fn may_write(&self) -> bool {
        self.valid_until
            .lock()
            .map(|v| v.is_some_and(|t| Instant::now() < t))
            .unwrap_or(false)
    }

    /// Ok when a write may go out; otherwise counts the dropped write.
    pub fn gate(&self, what: &str) -> Result<(), NotLeader> {
        if self.may_write() {
            return Ok(());
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if let Some(f) = &self.on_drop {
            f();
        }
        debug!(what, "write dropped: not the DC");
        Err(NotLeader {
            what: what.to_string(),
        })
    }

    pub fn dropped_writes(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn renewed(&self, at: Instant, deadline: Duration) {
        if let Ok(mut v) = self.valid_until.lock() {
            *v = Some(at + deadline);
        }
        if !self.was_leader.swap(true, Ordering::Relaxed) {
            info!(identity = %self.identity, "became DC");
        }
    }

    /// Stops writing at once (shutdown, or a test dropping this instance).
    pub fn step_down(&self) {
        if let Ok(mut v) = self.valid_until.lock() {
            *v = None;
        }
        if self.was_leader.swap(false, Ordering::Relaxed) {
            info!(identity = %self.identity, "no longer DC");
        }
    }

    fn lost(&self) {
        if self.was_leader.load(Ordering::Relaxed) && !self.may_write() {
            self.was_leader.store(false, Ordering::Relaxed);
            warn!(identity = %self.identity, "lost the DC Lease");
        }
    }
}

/// Timing of the election.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub lease_duration: Duration,
    pub renew_interval: Duration,
}

impl Timing {
    /// Writes stop this long after the last successful renewal.
    pub fn renew_deadline(&self) -> Duration {
        self.lease_duration * 2 / 3
    }
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            lease_duration: Duration::from_secs(6),
            renew_interval: Duration::from_secs(1),
        }
    }
}

/// Holds or waits for the Lease until the task is dropped.
pub async fn run(api: Api<Lease>, state: Arc<LeaderState>, timing: Timing) {
    loop {
        let started = Instant::now();
        match try_acquire(&api, &state.identity, timing).await {
            Ok(true) => state.renewed(started, timing.renew_deadline()),
            Ok(false) => state.lost(),
            Err(e) => {
                debug!(error = %e, "DC Lease renewal failed");
                state.lost();
            }
        }
        tokio::time::sleep(timing.renew_interval).await;
    }
}

/// One attempt: create, renew, or take over an expired Lease. Ok(true) when we hold it.
async fn try_acquire(api: &Api<Lease>, me: &str, timing: Timing) -> Result<bool, kube::Error> {
    let now = jiff::Timestamp::now();
    let secs = timing.lease_duration.as_secs().max(1) as i32;
    let Some(mut lease) = api.get_opt(DC_LEASE).await? else {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(DC_LEASE.into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(me.into()),
                lease_duration_seconds: Some(secs),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..Default::default()
            }),
        };
        return match api.create(&PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        };
    };
    let spec = lease.spec.get_or_insert_with(Default::default);
    let holder = spec.holder_identity.clone().unwrap_or_default();
    let renewed = spec.renew_time.as_ref().map(|t| t.0);
    let dur = i64::from(spec.lease_duration_seconds.unwrap_or(secs));
    let expired = renewed.is_none_or(|r| r.as_millisecond() + dur * 1000 < now.as_millisecond());
    if holder != me && !holder.is_empty() && !expired {
        return Ok(false);
    }
    if holder != me {
        info!(previous = %holder, "taking over the DC Lease");
        spec.acquire_time = Some(MicroTime(now));
        spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
    }
    spec.holder_identity = Some(me.into());
    spec.renew_time = Some(MicroTime(now));
    spec.lease_duration_seconds = Some(secs);
    // replace carries the resourceVersion: a concurrent taker makes one of us fail (409).
    match api.replace(DC_LEASE, &PostParams::default(), &lease).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// The current holder of the DC Lease, if any (for `ClusterProperties.status.dc`).
pub async fn holder(api: &Api<Lease>) -> Option<String> {
    api.get_opt(DC_LEASE)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_gated_and_counted() {
        let s = LeaderState::new("a");
        assert!(s.gate("status").is_err());
        s.renewed(Instant::now(), Duration::from_secs(10));
        assert!(s.gate("status").is_ok());
        s.step_down();
        assert!(s.gate("transition").is_err());
        assert_eq!(s.dropped_writes(), 2);
    }

    #[test]
    fn writes_stop_at_the_renew_deadline() {
        let s = LeaderState::new("a");
        s.renewed(
            Instant::now() - Duration::from_secs(5),
            Duration::from_secs(4),
        );
        assert!(!s.may_write());
        assert_eq!(Timing::default().renew_deadline(), Duration::from_secs(4));
    }
}
