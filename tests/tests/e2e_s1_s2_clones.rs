//! S1 and S2 (examples/s1-dummy-vms-after-storage-clone, examples/s2-unique-ip-clone,
//! seed 000 examples 1 and 2) on two network-namespace hosts, each scenario a test.
//!
//! S1: `StorGr1-clone` on both hosts, `DummyVM1` on n1 and `DummyVM2` on n2 (location 400),
//! both ordered after the clone. A clean stop of n2's agent moves DummyVM2 to n1 and leaves
//! one clone instance stopped.
//!
//! S2: the globally-unique `ProxyIP` clone (clone-max 2, clone-node-max 2) with both
//! instances on n1, `HttpProxy` colocated with it; lowering clone-node-max to 1 at runtime
//! (`crm resource meta ProxyIP set clone-node-max 1`) spreads the instances over both hosts
//! and the proxy follows. The example's `clusterip_hash` needs iptables' CLUSTERIP target
//! (gone from current kernels): the test uses IPaddr2's `unique_clone_address` (instance N
//! gets ip+N), same placement semantics.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_s1_s2_clones -- --nocapture` (root).

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions, example_manifests},
    scenario::{self, AddressWatch},
};

fn two_hosts() -> ClusterOptions {
    ClusterOptions {
        hosts: 2,
        ..Default::default()
    }
}

const NODES: [(&str, &str); 2] = [("dl380g5c", "n1"), ("dl380g5d", "n2")];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s1_vms_follow_the_storage_clone_and_fail_over_on_clean_stop() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start("s1", two_hosts()).await?;
    cluster.apply_yaml(&example_manifests("s1-dummy-vms-after-storage-clone", &NODES)?).await?;
    let want = |vm1: &[&str], vm2: &[&str], stor: &[&str]| {
        let (vm1, vm2, stor): (Vec<String>, Vec<String>, Vec<String>) = (
            vm1.iter().map(|s| s.to_string()).collect(),
            vm2.iter().map(|s| s.to_string()).collect(),
            stor.iter().map(|s| s.to_string()).collect(),
        );
        let cluster = &cluster;
        move || -> Result<Option<()>> {
            let now = (
                scenario::dummy_hosts(cluster, "DummyVM1")?,
                scenario::dummy_hosts(cluster, "DummyVM2")?,
                scenario::dummy_hosts(cluster, "StorGr1")?,
            );
            if now.0 == vm1 && now.1 == vm2 && now.2 == stor {
                Ok(Some(()))
            } else {
                Err(anyhow::anyhow!("(VM1, VM2, StorGr1) now on {now:?}"))
            }
        }
    };
    scenario::wait_until(
        &cluster,
        "DummyVM1 on n1, DummyVM2 on n2, StorGr1 on both",
        Duration::from_secs(30),
        want(&["n1"], &["n2"], &["n1", "n2"]),
    )
    .await?;
    scenario::settled(&cluster, Duration::from_secs(1), Duration::from_secs(20)).await?;
    eprintln!("pacer-e2e s1: placed after {:?}", t0.elapsed());

    // The seed ran on a two-node heartbeat cluster, which kept running with one node. With
    // pacer's (and corosync's default) majority quorum a lone node has none, and the
    // default no-quorum-policy=stop would stop everything (what t-N showed before this
    // line existed): say so explicitly, as a two-node Pacemaker cluster must (two_node).
    scenario::set_property(&cluster, "no-quorum-policy", "ignore").await?;
    let seq = scenario::settled(&cluster, Duration::from_secs(1), Duration::from_secs(20)).await?;

    // `crm cluster stop` on n2: its agent hands everything over and exits.
    let took = cluster.stop_agent("n2", Duration::from_secs(40)).await?;
    scenario::wait_until(
        &cluster,
        "DummyVM1 and DummyVM2 on n1, StorGr1 on n1 only",
        Duration::from_secs(20),
        want(&["n1"], &["n1"], &["n1"]),
    )
    .await?;
    let actions = scenario::actions_since(&cluster, seq).await;
    for needle in [" stop DummyVM2 n2", " start DummyVM2 n1"] {
        ensure!(actions.iter().any(|a| a.contains(needle)), "no `{needle}` in {actions:?}");
    }
    ensure!(
        actions.iter().any(|a| a.contains(" stop StorGr1") && a.ends_with(" n2")),
        "the clone instance on n2 was not stopped: {actions:?}"
    );
    cluster
        .wait_for("StorGr1-clone status lists n1 only", Duration::from_secs(10), || async {
            let st = cluster.status_of("Clone", "storgr1-clone").await;
            st["nodes"] == serde_json::json!(["n1"])
        })
        .await?;
    eprintln!("pacer-e2e s1: n2 stopped cleanly in {took:?}; actions {actions:?}; test {:?}", t0.elapsed());
    Ok(())
}

const IP0: &str = "10.213.0.120";
const IP1: &str = "10.213.0.121";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s2_lowering_clone_node_max_spreads_the_unique_clone() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start("s2", two_hosts()).await?;
    // Both instances on n1 first: n2 in standby while the clone is placed, then online
    // (clone instances are sticky, nothing moves back).
    scenario::patch_node(&cluster, "n2", serde_json::json!({ "standby": true })).await?;
    let mut subs = NODES.to_vec();
    subs.extend([
        ("192.168.101.121", IP0),
        ("bond0", "eth0"),
        ("clusterip_hash: sourceip", "unique_clone_address: \"true\""),
    ]);
    cluster.apply_yaml(&example_manifests("s2-unique-ip-clone", &subs)?).await?;
    let placement = || -> Result<(Vec<String>, Vec<String>, Vec<String>)> {
        Ok((
            cluster.hosts.holders(IP0)?,
            cluster.hosts.holders(IP1)?,
            scenario::dummy_hosts(&cluster, "HttpProxy")?,
        ))
    };
    let n1 = vec!["n1".to_string()];
    scenario::wait_until(&cluster, "both ProxyIP instances and HttpProxy on n1", Duration::from_secs(30), || {
        let p = placement()?;
        Ok((p.0 == n1 && p.1 == n1 && p.2 == n1).then_some(()))
    })
    .await?;
    scenario::patch_node(&cluster, "n2", serde_json::json!({ "standby": false })).await?;
    scenario::settled(&cluster, Duration::from_secs(2), Duration::from_secs(30)).await?;
    let p = placement()?;
    ensure!(p.0 == n1 && p.1 == n1, "with clone-node-max 2 both instances stay on n1: {p:?}");

    // `crm resource meta ProxyIP set clone-node-max 1`.
    let watch = AddressWatch::start(&cluster, &[IP0, IP1]);
    let t = Instant::now();
    cluster
        .kubectl(&["patch", "clones.ha.pacer.dev", "proxyip", "--type", "merge", "-p", r#"{"spec":{"cloneNodeMax":1}}"#])
        .await?
        .ok()?;
    let spread = scenario::wait_until(&cluster, "the instances on different hosts", Duration::from_secs(30), || {
        let (a, b, proxy) = placement()?;
        let mut both = [a.clone(), b.clone()].concat();
        both.sort();
        Ok((a.len() == 1 && b.len() == 1 && both == ["n1", "n2"] && proxy == ["n1", "n2"]).then_some((a, b)))
    })
    .await?;
    let took = t.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let doubles = watch.stop();
    ensure!(doubles.is_empty(), "an address on two hosts: {doubles:?}");
    for (ip, host) in [(IP0, &spread.0[0]), (IP1, &spread.1[0])] {
        ensure!(cluster.hosts.probe(ip, Duration::from_secs(1))? == *host, "{ip} answers from {host}");
    }
    eprintln!(
        "pacer-e2e s2: clone-node-max 1 spread {IP0} to {:?} and {IP1} to {:?} in {took:?}; test {:?}",
        spread.0,
        spread.1,
        t0.elapsed()
    );
    Ok(())
}
