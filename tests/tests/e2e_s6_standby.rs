//! S6 (examples/s6-standby, seed 000): `crm node standby` / `online` as a `ClusterNode`
//! patch, on the S2 cluster (a globally-unique IPaddr2 clone `ProxyIP`, clone-max 2,
//! clone-node-max 2, and the `HttpProxy` Dummy clone colocated with it), two hosts.
//!
//! Standby n2 first (the example's state): both addresses and the proxy on n1 only. Online
//! n2: the cluster stays consistent (every address on one host, the proxy only where an
//! address is). Standby n1: everything moves to n2, n1 keeps nothing, and no address is
//! ever configured on two reachable hosts.
//!
//! The example's `clusterip_hash` needs iptables' CLUSTERIP target (gone from current
//! kernels); the test uses IPaddr2's other globally-unique mode, `unique_clone_address`
//! (instance N gets ip+N), which keeps the same placement semantics.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_s6_standby -- --nocapture` (root).

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions, example_manifests},
    scenario::{self, AddressWatch},
};

const IP0: &str = "10.213.0.110";
const IP1: &str = "10.213.0.111";

/// `(holders of IP0, holders of IP1, hosts running HttpProxy)`.
fn placement(cluster: &Cluster) -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
    Ok((
        cluster.hosts.holders(IP0)?,
        cluster.hosts.holders(IP1)?,
        scenario::dummy_hosts(cluster, "HttpProxy")?,
    ))
}

async fn wait_all_on(cluster: &Cluster, host: &str, what: &str) -> Result<()> {
    let want = vec![host.to_string()];
    scenario::wait_until(cluster, what, Duration::from_secs(30), || {
        let p = placement(cluster)?;
        Ok((p.0 == want && p.1 == want && p.2 == want).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s6_standby_moves_everything_off_and_online_allows_placement_again() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start(
        "s6",
        ClusterOptions {
            hosts: 2,
            ..Default::default()
        },
    )
    .await?;
    // The example's `crm node standby dl380g5d`.
    scenario::patch_node(&cluster, "n2", serde_json::json!({ "standby": true })).await?;
    let yaml = example_manifests(
        "s6-standby",
        &[
            ("192.168.101.121", IP0),
            ("bond0", "eth0"),
            ("clusterip_hash: sourceip", "unique_clone_address: \"true\""),
        ],
    )?;
    cluster.apply_yaml(&yaml).await?;
    wait_all_on(&cluster, "n1", "both ProxyIP addresses and HttpProxy on n1 (n2 in standby)").await?;
    for ip in [IP0, IP1] {
        ensure!(cluster.hosts.probe(ip, Duration::from_secs(1))? == "n1", "{ip} answers from n1");
    }
    eprintln!("pacer-e2e s6: all on n1 after {:?}", t0.elapsed());

    // `crm node online n2`: placement allowed again; stickiness (none here) decides.
    scenario::patch_node(&cluster, "n2", serde_json::json!({ "standby": false })).await?;
    scenario::settled(&cluster, Duration::from_secs(2), Duration::from_secs(30)).await?;
    let (a, b, proxy) = placement(&cluster)?;
    eprintln!("pacer-e2e s6: after online n2: {IP0} on {a:?}, {IP1} on {b:?}, HttpProxy on {proxy:?}");
    ensure!(a.len() == 1 && b.len() == 1, "each address on exactly one host: {a:?} {b:?}");
    let mut ip_hosts = [a[0].clone(), b[0].clone()].to_vec();
    ip_hosts.sort();
    ip_hosts.dedup();
    ensure!(proxy == ip_hosts, "HttpProxy runs exactly where ProxyIP does: {proxy:?} vs {ip_hosts:?}");

    // `crm node standby n1`: everything to n2, never an address on both hosts.
    let watch = AddressWatch::start(&cluster, &[IP0, IP1]);
    let t = Instant::now();
    scenario::patch_node(&cluster, "n1", serde_json::json!({ "standby": true })).await?;
    wait_all_on(&cluster, "n2", "everything on n2 after standby n1").await?;
    let moved = t.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let doubles = watch.stop();
    ensure!(doubles.is_empty(), "an address on two reachable hosts: {doubles:?}");
    ensure!(
        scenario::dummies_on(&cluster, "n1")?.is_empty(),
        "n1 in standby still runs {:?}",
        scenario::dummies_on(&cluster, "n1")?
    );
    for ip in [IP0, IP1] {
        ensure!(cluster.hosts.probe(ip, Duration::from_secs(1))? == "n2", "{ip} answers from n2");
    }
    let status = cluster.kubectl(&["get", "clusternode", "n1", "-o", "jsonpath={.spec.standby}"]).await?.ok()?;
    ensure!(status.stdout.trim() == "true", "n1's ClusterNode says standby: {}", status.stdout);
    // What `kubectl get clusternodes` shows (crm_mon's node list), written by the DC.
    let mut states = String::new();
    for _ in 0..50 {
        let out = cluster
            .kubectl(&["get", "clusternode", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.state}/{.status.resources} {end}"])
            .await?
            .ok()?;
        states = out.stdout.trim().to_string();
        if states == "n1=standby/0 n2=online/3" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if states != "n1=standby/0 n2=online/3" {
        // What the DC counted from: each node's published operation history.
        eprintln!("pacer-e2e s6: NodeStates:\n{}", cluster.node_states_yaml().await);
        let decided: Vec<String> = (0..2)
            .flat_map(|i| cluster.log(&format!("operator-{i}")).lines().map(str::to_string).collect::<Vec<_>>())
            .filter(|l| l.contains("* "))
            .collect();
        eprintln!("pacer-e2e s6: the DC's decisions:\n{}", decided.join("\n"));
    }
    ensure!(states == "n1=standby/0 n2=online/3", "ClusterNode status (state/resources): {states}");
    eprintln!("pacer-e2e s6: standby n1 emptied it in {moved:?}; test {:?}", t0.elapsed());
    Ok(())
}
