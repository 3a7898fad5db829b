//! Prometheus metrics of the DC: transitions stored, scheduler run time, action results,
//! writes dropped because this instance was not the DC. Served as text on `/metrics`.
//!
//! In: calls from the controller and the leader gate. Out: an HTTP endpoint (plain tokio,
//! one response per connection: Prometheus scrapes need nothing more).

use std::{net::SocketAddr, sync::Arc};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};
use tracing::warn;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    pub task: String,
    /// Confirmed, Failed, TimedOut.
    pub result: String,
}

#[derive(Clone)]
pub struct Metrics {
    pub transitions: Counter,
    pub aborted: Counter,
    pub scheduler_seconds: Histogram,
    pub actions: Family<ActionLabels, Counter>,
    pub dropped_writes: Counter,
    registry: Arc<Registry>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("pacer");
        let transitions = Counter::default();
        let aborted = Counter::default();
        let scheduler_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let actions = Family::<ActionLabels, Counter>::default();
        let dropped_writes = Counter::default();
        r.register(
            "transitions",
            "Transitions stored by this DC",
            transitions.clone(),
        );
        r.register(
            "transitions_aborted",
            "Transitions aborted (unexpected result or input change)",
            aborted.clone(),
        );
        r.register(
            "scheduler_duration_seconds",
            "Time of one scheduler run",
            scheduler_seconds.clone(),
        );
        r.register(
            "actions",
            "Transition actions by task and result",
            actions.clone(),
        );
        r.register(
            "dropped_writes",
            "Writes dropped because this instance was not the DC",
            dropped_writes.clone(),
        );
        Metrics {
            transitions,
            aborted,
            scheduler_seconds,
            actions,
            dropped_writes,
            registry: Arc::new(r),
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = encode(&mut out, &self.registry) {
            warn!(error = %e, "encoding metrics");
        }
        out
    }

    /// Serves `/metrics` (any path, in fact) until the task is dropped.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        loop {
            let (mut sock, _) = listener.accept().await?;
            let body = self.render();
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_up_in_the_exposition() {
        let m = Metrics::new();
        m.transitions.inc();
        m.dropped_writes.inc_by(3);
        m.actions
            .get_or_create(&ActionLabels {
                task: "start".into(),
                result: "Confirmed".into(),
            })
            .inc();
        m.scheduler_seconds.observe(0.02);
        let text = m.render();
        assert!(text.contains("pacer_transitions_total 1"), "{text}");
        assert!(text.contains("pacer_dropped_writes_total 3"), "{text}");
        assert!(
            text.contains("task=\"start\",result=\"Confirmed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("pacer_scheduler_duration_seconds_count 1"),
            "{text}"
        );
    }
}
