//! Self-fencing by watchdog: a device path (`/dev/watchdog`, or a file in tests) and a
//! health predicate in; periodic pets (one-byte writes) out, for as long as the node
//! is healthy — and never again once it has been unhealthy for longer than `timeout`.
//!
//! Health is "our Lease was renewed recently AND the API server is reachable", supplied
//! by the API-facing part ([`LeaseHealth`] or any closure). When the node is cut off,
//! the cluster fences it by waiting out the watchdog timeout instead of needing a BMC;
//! so once we stop petting we must not resume, even if health comes back: the rest of
//! the cluster may already have declared us fenced and started our resources elsewhere.
//!
//! The device is closed with the magic 'V' only on a clean shutdown; if this process
//! dies, the kernel keeps the timer armed (that is the point).

use std::{
    io::Write,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::watch;

use crate::Error;

#[derive(Clone, Debug)]
pub struct WatchdogConfig {
    pub path: PathBuf,
    /// How often to pet while healthy (well below the hardware timeout).
    pub pet_interval: Duration,
    /// How long the node may be unhealthy before petting stops for good.
    pub timeout: Duration,
}

/// Counters the caller can read (metrics, tests).
#[derive(Debug, Default)]
pub struct WatchdogStats {
    pub pets: AtomicU64,
    /// Set once petting stopped for good.
    pub gave_up: AtomicBool,
}

/// Health from the two inputs that matter: time of the last Lease renewal and whether
/// the last API request succeeded.
#[derive(Clone, Debug)]
pub struct LeaseHealth {
    pub lease_renewed: watch::Receiver<Option<Instant>>,
    pub api_reachable: watch::Receiver<bool>,
    /// A renewal older than this counts as lost.
    pub max_lease_age: Duration,
}

impl LeaseHealth {
    pub fn is_healthy(&self) -> bool {
        let fresh = self
            .lease_renewed
            .borrow()
            .is_some_and(|t| t.elapsed() <= self.max_lease_age);
        fresh && *self.api_reachable.borrow()
    }
}

/// Opens the device and pets it while `healthy()` holds. Returns when petting stopped
/// for good (the host will now be reset by the watchdog), or with an error when the
/// device cannot be opened or written.
///
/// `stop` turning true is a clean shutdown: the device is disarmed with the magic 'V'
/// (the host must not reset because the agent was stopped on purpose).
pub async fn run(
    cfg: WatchdogConfig,
    healthy: impl Fn() -> bool + Send,
    stats: Arc<WatchdogStats>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let io_err = |source| Error::Watchdog {
        path: cfg.path.display().to_string(),
        source,
    };
    let mut device = std::fs::OpenOptions::new()
        .append(true)
        .open(&cfg.path)
        .map_err(io_err)?;
    let mut last_healthy = Instant::now();
    let mut ticker = tokio::time::interval(cfg.pet_interval.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.wait_for(|s| *s) => {
                device.write_all(b"V").map_err(io_err)?;
                tracing::info!(path = %cfg.path.display(), "watchdog disarmed for a clean shutdown");
                return Ok(());
            }
        }
        if healthy() {
            last_healthy = Instant::now();
        } else if last_healthy.elapsed() > cfg.timeout {
            tracing::error!(
                path = %cfg.path.display(),
                "node unhealthy for longer than the watchdog timeout; no longer petting"
            );
            stats.gave_up.store(true, Ordering::SeqCst);
            // Keep the device open (no magic close) and hand control to the hardware.
            std::mem::forget(device);
            return Ok(());
        }
        // Still within the grace period or healthy: pet.
        device.write_all(b"1").map_err(io_err)?;
        stats.pets.fetch_add(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn petting_stops_after_unhealthy_timeout_and_never_resumes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("watchdog");
        std::fs::write(&path, b"").unwrap_or_else(|e| panic!("{e}"));
        let (lease_tx, lease_rx) = watch::channel(Some(Instant::now()));
        let (api_tx, api_rx) = watch::channel(true);
        let health = LeaseHealth {
            lease_renewed: lease_rx,
            api_reachable: api_rx,
            max_lease_age: Duration::from_millis(300),
        };
        let stats = Arc::new(WatchdogStats::default());
        let cfg = WatchdogConfig {
            path: path.clone(),
            pet_interval: Duration::from_millis(20),
            timeout: Duration::from_millis(200),
        };
        let (_stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(
            cfg,
            move || health.is_healthy(),
            stats.clone(),
            stop_rx,
        ));
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);

        // Healthy: renew the lease for a while; the file keeps growing.
        for _ in 0..10 {
            let _ = lease_tx.send(Some(Instant::now()));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let healthy_pets = size();
        assert!(
            healthy_pets >= 8,
            "expected regular pets, got {healthy_pets}"
        );

        // API unreachable: pets continue within the timeout, then stop for good.
        let _ = api_tx.send(false);
        let outcome = tokio::time::timeout(Duration::from_secs(3), task).await;
        assert!(
            matches!(outcome, Ok(Ok(Ok(())))),
            "watchdog loop must end: {outcome:?}"
        );
        assert!(stats.gave_up.load(Ordering::SeqCst));
        let at_stop = size();
        assert!(at_stop > healthy_pets, "grace-period pets expected");
        assert!(
            at_stop <= healthy_pets + 15,
            "petting went on too long: {at_stop}"
        );

        // Health returns: still no petting.
        let _ = api_tx.send(true);
        let _ = lease_tx.send(Some(Instant::now()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(size(), at_stop);
        assert_eq!(stats.pets.load(Ordering::SeqCst), at_stop);
    }

    #[tokio::test]
    async fn clean_stop_disarms_with_the_magic_character() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join("watchdog");
        std::fs::write(&path, b"").unwrap_or_else(|e| panic!("{e}"));
        let cfg = WatchdogConfig {
            path: path.clone(),
            pet_interval: Duration::from_millis(10),
            timeout: Duration::from_secs(5),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(cfg, || true, Arc::default(), stop_rx));
        tokio::time::sleep(Duration::from_millis(60)).await;
        let _ = stop_tx.send(true);
        let outcome = tokio::time::timeout(Duration::from_secs(2), task).await;
        assert!(matches!(outcome, Ok(Ok(Ok(())))), "{outcome:?}");
        let written = std::fs::read(&path).unwrap_or_default();
        assert_eq!(written.last(), Some(&b'V'));
        assert!(written.len() >= 3, "pets before the stop: {written:?}");
    }

    #[tokio::test]
    async fn stale_lease_is_unhealthy_even_with_api_up() {
        let (_l, lease_rx) = watch::channel(Some(Instant::now()));
        let (_a, api_rx) = watch::channel(true);
        let h = LeaseHealth {
            lease_renewed: lease_rx,
            api_reachable: api_rx,
            max_lease_age: Duration::from_millis(50),
        };
        assert!(h.is_healthy());
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert!(!h.is_healthy());
    }

    #[tokio::test]
    async fn missing_device_is_an_error_naming_it() {
        let cfg = WatchdogConfig {
            path: "/nonexistent/watchdog".into(),
            pet_interval: Duration::from_millis(10),
            timeout: Duration::from_millis(10),
        };
        let (_stop_tx, stop_rx) = watch::channel(false);
        let err = run(cfg, || true, Arc::default(), stop_rx).await;
        assert!(err.is_err_and(|e| e.to_string().contains("/nonexistent/watchdog")));
    }
}
