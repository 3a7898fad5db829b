//! Measuring a VIP failover on a running [`Cluster`].
//!
//! In: the cluster, the VIP's Primitive name and address, the fault to inject. Out: a
//! [`FailoverReport`] with the phases (all from the fault): *detection* (the DC stored a
//! Transition starting the VIP elsewhere), *start* (the address is configured on the new
//! host), *ARP* (the client's neighbour entry points at the new host's MAC), *TCP* (the
//! first TCP connect from the client answered by the new host), and every sample where two
//! hosts with a working link held the address at once (must stay empty). With fencing, the
//! caller fills *fence* (the BMC's power-off, see [`FailoverReport::check_fenced`]).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use anyhow::{Result, bail};
use kube::{Api, api::ListParams};
use pacer_crds::Transition;

use crate::{cluster::Cluster, hosts::probe_from};

/// How the VIP's host is taken away.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// kill -9 the agent and cut the link.
    Crash,
    /// SIGTERM the agent (it hands its resources over and leaves).
    CleanStop,
}

#[derive(Clone, Debug, Default)]
pub struct FailoverReport {
    pub from: String,
    pub to: Option<String>,
    /// When the fault was injected (unix ms), to place BMC power-log entries.
    pub fault_unix_ms: i64,
    pub detection: Option<Duration>,
    /// The failed host was powered off by its BMC (fencing only; set by the caller).
    pub fence: Option<Duration>,
    pub start: Option<Duration>,
    /// The last sample before *start* where the new holder did not have the address yet:
    /// the address was configured in (start_after, start].
    pub start_after: Option<Duration>,
    pub arp: Option<Duration>,
    pub tcp: Option<Duration>,
    /// Samples (time from the fault, holders) where two reachable hosts held the VIP.
    pub double_holders: Vec<(Duration, Vec<String>)>,
    /// Probes answered by a host other than the old and the new one.
    pub wrong_answers: Vec<(Duration, String)>,
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:>6} ms", d.as_millis()))
        .unwrap_or_else(|| "     - ms".into())
}

impl FailoverReport {
    pub fn summary(&self) -> String {
        format!(
            "{} -> {}: detection {}  {}start {}  arp {}  tcp {}{}",
            self.from,
            self.to.as_deref().unwrap_or("?"),
            ms(self.detection),
            self.fence.map(|f| format!("fence {}  ", ms(Some(f)))).unwrap_or_default(),
            ms(self.start),
            ms(self.arp),
            ms(self.tcp),
            if self.double_holders.is_empty() {
                String::new()
            } else {
                format!("  DOUBLE HOLDERS: {:?}", self.double_holders)
            }
        )
    }

    /// Fencing: records the power-off at `off_unix_ms` (None: never powered off) as
    /// *fence* and checks it came before the VIP was configured or answered elsewhere.
    pub fn check_fenced(&mut self, off_unix_ms: Option<i64>) -> Result<()> {
        let Some(off) = off_unix_ms.filter(|off| *off >= self.fault_unix_ms) else {
            bail!("{} was never powered off after the fault", self.from);
        };
        let fence = Duration::from_millis((off - self.fault_unix_ms) as u64);
        self.fence = Some(fence);
        let to = self.to.as_deref().unwrap_or("?");
        let configured = self.start_after.unwrap_or_default();
        if configured < fence {
            bail!(
                "{to} had the VIP (configured after {configured:?}) before {} was powered off at {fence:?}",
                self.from
            );
        }
        if self.tcp.is_some_and(|t| t < fence) {
            bail!("{to} answered for the VIP before {} was powered off at {fence:?}", self.from);
        }
        Ok(())
    }
}

/// The host currently holding `vip` (configured and answering TCP from the client).
pub async fn holder(cluster: &Cluster, vip: &str) -> Result<Option<String>> {
    let ns = cluster.hosts.client.netns.clone();
    let vip = vip.to_string();
    Ok(tokio::task::spawn_blocking(move || {
        probe_from(&ns, &vip, Duration::from_millis(500)).ok()
    })
    .await?)
}

/// Injects `fault` on the host answering `vip` and measures until the client's TCP connect
/// is answered by another host (or `timeout`).
pub async fn measure(
    cluster: &Cluster,
    resource: &str,
    vip: &str,
    fault: Fault,
    timeout: Duration,
) -> Result<FailoverReport> {
    let Some(from) = holder(cluster, vip).await? else {
        bail!("{vip} does not answer before the fault");
    };
    let transitions: Api<Transition> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    let seq_before = transitions
        .list(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|t| t.spec.seq)
        .max()
        .unwrap_or(0);
    let done = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let fault_unix_ms = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let report = Arc::new(Mutex::new(FailoverReport {
        from: from.clone(),
        fault_unix_ms,
        ..Default::default()
    }));
    match fault {
        Fault::Crash => cluster.crash_host(&from)?,
        Fault::CleanStop => cluster.signal_agent(&from, nix::sys::signal::Signal::SIGTERM)?,
    }

    // Local sampler: addresses of every host whose link is up, and the client's neighbour.
    let sampler = {
        let (report, done) = (report.clone(), done.clone());
        let hosts: Vec<(String, String, String)> = cluster
            .hosts
            .hosts
            .iter()
            .map(|h| (h.name.clone(), h.netns.clone(), h.mac.clone()))
            .collect();
        let (bridge, client) = (cluster.hosts.bridge_ns.clone(), cluster.hosts.client.netns.clone());
        let (vip, from) = (vip.to_string(), from.clone());
        tokio::task::spawn_blocking(move || {
            let mut last_without: Vec<Option<Duration>> = vec![None; hosts.len()];
            while !done.load(Ordering::Relaxed) {
                let now = t0.elapsed();
                let mut up_holders = Vec::new();
                for (i, (name, ns, _)) in hosts.iter().enumerate() {
                    let port = format!("p{}", i + 1);
                    let link_up = crate::hosts::ip(&["-n", &bridge, "-o", "link", "show", &port])
                        .is_ok_and(|o| !o.contains("state DOWN"));
                    // An address missing from this query was missing at `asked` or later.
                    let asked = t0.elapsed();
                    let has = crate::hosts::ip(&["-n", ns, "-o", "addr", "show", "dev", "eth0"])
                        .is_ok_and(|o| o.contains(&format!("inet {vip}/")));
                    if has && link_up {
                        up_holders.push(name.clone());
                    }
                    // A crashed host keeps its addresses behind its cut link: only a
                    // reachable host counts as the new holder.
                    if has && link_up && *name != from
                        && let Ok(mut r) = report.lock()
                        && r.start.is_none()
                    {
                        r.start = Some(now);
                        r.start_after = last_without[i];
                        r.to = Some(name.clone());
                    }
                    if !has {
                        last_without[i] = Some(asked);
                    }
                }
                let neigh = crate::hosts::ip(&["-n", &client, "neigh", "show", &vip]).unwrap_or_default();
                if let Ok(mut r) = report.lock() {
                    if up_holders.len() > 1 {
                        r.double_holders.push((now, up_holders));
                    }
                    if r.arp.is_none()
                        && let Some(to) = r.to.clone()
                        && let Some((_, _, mac)) = hosts.iter().find(|h| h.0 == to)
                        && neigh.to_ascii_lowercase().contains(&mac.to_ascii_lowercase())
                    {
                        r.arp = Some(now);
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };

    // Client prober: a TCP connect every 50 ms.
    let prober = {
        let (report, done) = (report.clone(), done.clone());
        let client = cluster.hosts.client.netns.clone();
        let (vip, from) = (vip.to_string(), from.clone());
        tokio::task::spawn_blocking(move || {
            while !done.load(Ordering::Relaxed) {
                let started = t0.elapsed();
                if let Ok(who) = probe_from(&client, &vip, Duration::from_millis(200))
                    && who != from
                    && let Ok(mut r) = report.lock()
                {
                    if r.to.as_ref().is_some_and(|t| *t != who) {
                        r.wrong_answers.push((started, who.clone()));
                    }
                    if r.tcp.is_none() {
                        r.tcp = Some(t0.elapsed());
                        if r.to.is_none() {
                            r.to = Some(who);
                        }
                    }
                }
                let spent = t0.elapsed() - started;
                if spent < Duration::from_millis(50) {
                    std::thread::sleep(Duration::from_millis(50) - spent);
                }
            }
        })
    };

    // Detection: the first stored Transition that starts the resource on another node.
    let mut result = Ok(());
    loop {
        let elapsed = t0.elapsed();
        let detected = report.lock().map(|r| r.detection.is_some()).unwrap_or(false);
        if !detected
            && let Ok(list) = transitions.list(&ListParams::default()).await
            && list.items.iter().any(|t| {
                t.spec.seq > seq_before
                    && t.spec.actions.iter().any(|a| {
                        a.task == "start"
                            && a.node != from
                            && a.resource.as_deref().is_some_and(|r| r == resource)
                    })
            })
            && let Ok(mut r) = report.lock()
        {
            r.detection = Some(elapsed);
        }
        let finished = report
            .lock()
            .map(|r| r.tcp.is_some() && r.arp.is_some() && r.start.is_some())
            .unwrap_or(false);
        if finished {
            // A few more samples after the move, for the double-holder check.
            tokio::time::sleep(Duration::from_millis(300)).await;
            break;
        }
        if elapsed > timeout {
            result = Err(anyhow::anyhow!(
                "the VIP did not move within {timeout:?}: {}",
                report.lock().map(|r| r.summary()).unwrap_or_default()
            ));
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let _ = prober.await;
    result?;
    let r = report.lock().map(|r| r.clone()).unwrap_or_default();
    Ok(r)
}
