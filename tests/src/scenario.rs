//! What scenario tests look at on the hosts: where a resource really runs (its agent's
//! state file in the host's private `/run`, its processes in the host's network namespace,
//! an address on the host's interface), and its operation history in `NodeState`.
//!
//! In: a running [`Cluster`]. Out: per-host facts read from the hosts themselves, never
//! from the operator's opinion, and waits on them.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use pacer_crds::LrmOperation;

use crate::cluster::Cluster;

/// Resources whose `Dummy` state file exists on `host` (`ocf:pacemaker:Dummy` keeps it in
/// `/run`, `ocf:heartbeat:Dummy` in `/run/resource-agents`), clone suffixes of anonymous
/// instances kept as the agent wrote them (`Dummy-web.state`, `Dummy-proxy:0.state`).
pub fn dummies_on(cluster: &Cluster, host: &str) -> Result<BTreeSet<String>> {
    let run = cluster.host_run_dir(host)?;
    let mut out = BTreeSet::new();
    for dir in [run.clone(), run.join("resource-agents")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(rsc) = name
                .strip_prefix("Dummy-")
                .and_then(|n| n.strip_suffix(".state"))
            {
                out.insert(rsc.to_string());
            }
        }
    }
    Ok(out)
}

/// Hosts whose Dummy state file names `rsc` (with or without a `:N` clone suffix).
pub fn dummy_hosts(cluster: &Cluster, rsc: &str) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for h in cluster.host_names() {
        if dummies_on(cluster, &h)?
            .iter()
            .any(|d| d == rsc || d.split(':').next() == Some(rsc))
        {
            out.push(h);
        }
    }
    Ok(out)
}

/// The path of `rsc`'s Dummy state file on `host`, if it exists there.
pub fn dummy_state_file(cluster: &Cluster, host: &str, rsc: &str) -> Result<Option<std::path::PathBuf>> {
    let run = cluster.host_run_dir(host)?;
    for dir in [run.clone(), run.join("resource-agents")] {
        let p = dir.join(format!("Dummy-{rsc}.state"));
        if p.exists() {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// Processes living in `host`'s network namespace whose command line contains `needle`:
/// `(pid, command line)`.
pub fn processes_on(cluster: &Cluster, host: &str, needle: &str) -> Result<Vec<(i32, String)>> {
    let ns = &cluster.hosts.host(host)?.netns;
    let pids = crate::hosts::ip(&["netns", "pids", ns])?;
    let mut out = Vec::new();
    for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
        let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_string();
        if cmd.contains(needle) {
            out.push((pid, cmd));
        }
    }
    Ok(out)
}

/// `host -> pids` of processes whose command line contains `needle`, hosts without any
/// left out.
pub fn process_map(cluster: &Cluster, needle: &str) -> Result<BTreeMap<String, Vec<i32>>> {
    let mut out = BTreeMap::new();
    for h in cluster.host_names() {
        let pids: Vec<i32> = processes_on(cluster, &h, needle)?
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        if !pids.is_empty() {
            out.insert(h, pids);
        }
    }
    Ok(out)
}

/// The `lrm` operation entries of `rsc` on `node` (resource id or clone instance id).
pub async fn ops(cluster: &Cluster, node: &str, rsc: &str) -> Vec<LrmOperation> {
    cluster
        .node_state(node)
        .await
        .and_then(|s| s.spec.lrm)
        .map(|l| {
            l.resources
                .into_iter()
                .filter(|r| r.id == rsc)
                .flat_map(|r| r.operations)
                .collect()
        })
        .unwrap_or_default()
}

/// The node's transient attributes (fail-count-*, last-failure-*).
pub async fn transient_attributes(cluster: &Cluster, node: &str) -> BTreeMap<String, String> {
    let Some(state) = cluster.node_state(node).await else {
        return BTreeMap::new();
    };
    let Some(t) = state.spec.transient_attributes else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    if let Ok(v) = serde_json::to_value(&t) {
        collect_pairs(&v, &mut out);
    }
    out
}

/// Every `{name, value}` pair and every plain string map entry inside an attributes value.
fn collect_pairs(v: &serde_json::Value, out: &mut BTreeMap<String, String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let (Some(n), Some(val)) = (m.get("name").and_then(|n| n.as_str()), m.get("value"))
            {
                out.insert(n.to_string(), val.as_str().map(String::from).unwrap_or_else(|| val.to_string()));
            }
            for (k, val) in m {
                if let Some(s) = val.as_str()
                    && (k.starts_with("fail-count-") || k.starts_with("last-failure-"))
                {
                    out.insert(k.clone(), s.to_string());
                }
                collect_pairs(val, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_pairs(x, out)),
        _ => {}
    }
}

/// Polls `check` (every 100 ms) until it returns `Some`, or fails after `timeout` with
/// `what`, the last observation and the cluster's log tails.
pub async fn wait_until<T, F>(cluster: &Cluster, what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Result<Option<T>>,
{
    let t = Instant::now();
    let mut last_err = String::new();
    loop {
        match check() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = format!("{e:#}"),
        }
        if t.elapsed() > timeout {
            bail!(
                "timed out after {timeout:?} waiting for {what} {last_err}\n{}",
                cluster.log_tails(25)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The highest stored Transition sequence number (0 when none).
pub async fn last_transition(cluster: &Cluster) -> i64 {
    let api: kube::Api<pacer_crds::Transition> =
        kube::Api::namespaced(cluster.client.clone(), &cluster.ns);
    api.list(&Default::default())
        .await
        .map(|l| l.items.iter().map(|t| t.spec.seq).max().unwrap_or(0))
        .unwrap_or(0)
}

/// Actions (`task resource node`) of every Transition after `seq`.
pub async fn actions_since(cluster: &Cluster, seq: i64) -> Vec<String> {
    let api: kube::Api<pacer_crds::Transition> =
        kube::Api::namespaced(cluster.client.clone(), &cluster.ns);
    let Ok(list) = api.list(&Default::default()).await else {
        return Vec::new();
    };
    let mut ts: Vec<_> = list.items.into_iter().filter(|t| t.spec.seq > seq).collect();
    ts.sort_by_key(|t| t.spec.seq);
    ts.iter()
        .flat_map(|t| {
            t.spec.actions.iter().map(move |a| {
                format!(
                    "t-{} {} {} {}",
                    t.spec.seq,
                    a.task,
                    a.resource.as_deref().unwrap_or("-"),
                    a.node
                )
            })
        })
        .collect()
}

/// Patches a ClusterNode's spec (merge patch) as `kubectl patch clusternode` does.
pub async fn patch_node(cluster: &Cluster, node: &str, spec: serde_json::Value) -> Result<()> {
    let patch = serde_json::json!({ "spec": spec }).to_string();
    cluster
        .kubectl(&["patch", "clusternode", node, "--type", "merge", "-p", &patch])
        .await?
        .ok()?;
    Ok(())
}

/// Sets one cluster property (`ClusterProperties/cluster`), as `crm configure property`.
pub async fn set_property(cluster: &Cluster, name: &str, value: &str) -> Result<()> {
    let patch = serde_json::json!({ "spec": { "properties": { name: value } } }).to_string();
    cluster
        .kubectl(&["patch", "clusterproperties", "cluster", "--type", "merge", "-p", &patch])
        .await?
        .ok()?;
    Ok(())
}

/// Waits until the cluster is idle: the newest Transition is `Complete` (or none exists)
/// and no newer one appeared for `quiet`. Returns the newest sequence number.
pub async fn settled(cluster: &Cluster, quiet: Duration, timeout: Duration) -> Result<i64> {
    let api: kube::Api<pacer_crds::Transition> =
        kube::Api::namespaced(cluster.client.clone(), &cluster.ns);
    let t = Instant::now();
    let mut seen: Option<(i64, Instant)> = None;
    loop {
        let list = api.list(&Default::default()).await?;
        let newest = list.items.iter().max_by_key(|t| t.spec.seq);
        let seq = newest.map_or(0, |t| t.spec.seq);
        let complete = newest.is_none_or(|t| {
            t.status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_some_and(|p| p == "Complete")
        });
        match seen {
            Some((s, since)) if s == seq && complete => {
                if since.elapsed() >= quiet {
                    return Ok(seq);
                }
            }
            _ => seen = Some((seq, Instant::now())),
        }
        if !complete {
            seen = None;
        }
        if t.elapsed() > timeout {
            bail!(
                "the cluster did not settle within {timeout:?} (newest transition t-{seq}, complete: {complete})\n{}\n==== NodeStates ====\n{}",
                cluster.log_tails(25),
                cluster.node_states_yaml().await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Samples (every 30 ms, on a thread) which reachable hosts hold each of `addresses` and
/// records every moment one address was configured on two hosts whose link is up.
pub struct AddressWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl AddressWatch {
    pub fn start(cluster: &Cluster, addresses: &[&str]) -> AddressWatch {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let hosts: Vec<(String, String, String)> = cluster
            .hosts
            .hosts
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), h.netns.clone(), format!("p{}", i + 1)))
            .collect();
        let bridge = cluster.hosts.bridge_ns.clone();
        let addresses: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
        let t0 = Instant::now();
        let thread = std::thread::spawn(move || {
            let mut violations = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let mut holders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for (name, ns, port) in &hosts {
                    let up = crate::hosts::ip(&["-n", &bridge, "-o", "link", "show", port])
                        .is_ok_and(|o| !o.contains("state DOWN"));
                    let Ok(out) = crate::hosts::ip(&["-n", ns, "-o", "-4", "addr", "show", "dev", "eth0"])
                    else {
                        continue;
                    };
                    for a in &addresses {
                        if up && out.contains(&format!("inet {a}/")) {
                            holders.entry(a.as_str()).or_default().push(name.as_str());
                        }
                    }
                }
                for (a, hs) in holders {
                    if hs.len() > 1 {
                        violations.push(format!("{:?}: {a} on {hs:?}", t0.elapsed()));
                    }
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            violations
        });
        AddressWatch {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops sampling; the moments an address had two reachable holders.
    pub fn stop(mut self) -> Vec<String> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for AddressWatch {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Hosts (reachable or not) that have `address` configured.
pub fn address_holders(cluster: &Cluster, address: &str) -> Result<Vec<String>> {
    cluster.hosts.holders(address)
}
