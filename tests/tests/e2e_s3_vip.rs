//! S3 (examples/s3-vip, seeds 000 example 3 and 002): a VIP with the real IPaddr2 on
//! network-namespace hosts, real agents and two operator replicas.
//!
//! The VIP answers from exactly one host; its neighbour entry at the client points at that
//! host; when the host crashes (agent kill -9 + link cut) the VIP answers from another host
//! and the client's ARP entry follows; a clean agent stop hands the VIP over without two
//! reachable hosts ever holding it.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_s3_vip -- --nocapture` (root).

use std::time::Duration;

use anyhow::{Result, ensure};
use pacer_e2e::{
    cluster::{Cluster, ClusterOptions, example_manifests},
    failover::{self, Fault},
};

const VIP: &str = "10.213.0.100";

async fn vip_cluster(prefix: &str) -> Result<Cluster> {
    let cluster = Cluster::start(prefix, ClusterOptions::default()).await?;
    let yaml = example_manifests("s3-vip", &[("192.168.101.121", VIP), ("bond0", "eth0")])?;
    cluster.apply_yaml(&yaml).await?;
    Ok(cluster)
}

/// Waits until the VIP answers, and checks exactly one host has it configured.
async fn settled_holder(cluster: &Cluster) -> Result<String> {
    let t = std::time::Instant::now();
    let who = loop {
        if let Some(w) = failover::holder(cluster, VIP).await? {
            break w;
        }
        ensure!(t.elapsed() < Duration::from_secs(60), "the VIP never answered\n{}", cluster.log_tails(25));
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let holders = cluster.hosts.holders(VIP)?;
    ensure!(holders == vec![who.clone()], "VIP configured on {holders:?}, answered by {who}");
    Ok(who)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_vip_moves_when_its_host_crashes_and_on_clean_stop() -> Result<()> {
    let cluster = vip_cluster("s3").await?;
    let first = settled_holder(&cluster).await?;
    let mac = &cluster.hosts.host(&first)?.mac;
    ensure!(
        cluster.hosts.client_neighbour(VIP)?.as_deref() == Some(mac.as_str()),
        "client's neighbour entry for {VIP} should be {first}'s MAC {mac}"
    );
    cluster
        .wait_for("Primitive ip status names its node", Duration::from_secs(20), || async {
            cluster.status_of("Primitive", "ip").await["node"] == first.as_str()
        })
        .await?;

    // Hard failure: kill -9 the agent and pull the cable.
    let crash = failover::measure(&cluster, "ip", VIP, Fault::Crash, Duration::from_secs(60)).await?;
    eprintln!("pacer-e2e s3 crash failover: {}", crash.summary());
    let second = crash.to.clone().unwrap_or_default();
    ensure!(second != first && !second.is_empty(), "{}", crash.summary());
    ensure!(crash.double_holders.is_empty(), "two reachable holders: {}", crash.summary());
    ensure!(crash.wrong_answers.is_empty(), "answers from a third host: {:?}", crash.wrong_answers);
    let new_mac = &cluster.hosts.host(&second)?.mac;
    ensure!(
        cluster.hosts.client_neighbour(VIP)?.as_deref() == Some(new_mac.as_str()),
        "client's neighbour entry should now be {second}'s MAC {new_mac}"
    );
    cluster
        .wait_for("Primitive ip status follows", Duration::from_secs(20), || async {
            cluster.status_of("Primitive", "ip").await["node"] == second.as_str()
        })
        .await?;

    // Clean stop of the new holder: the VIP is handed to the remaining host.
    let clean =
        failover::measure(&cluster, "ip", VIP, Fault::CleanStop, Duration::from_secs(60)).await?;
    eprintln!("pacer-e2e s3 clean-stop failover: {}", clean.summary());
    let third = clean.to.clone().unwrap_or_default();
    ensure!(third != first && third != second, "{}", clean.summary());
    ensure!(clean.double_holders.is_empty(), "two holders: {}", clean.summary());
    ensure!(
        !cluster.hosts.addresses(&second)?.iter().any(|a| a == VIP),
        "{second} stopped cleanly but still has {VIP}"
    );
    Ok(())
}
