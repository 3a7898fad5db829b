//! S8 (examples/s8-classic-ha-stacks, seed 003): the Active/Standby group `grpPg` — the
//! database then its VIP, ordered and colocated as a group — moving as a unit, on three
//! network-namespace hosts.
//!
//! `pgsql` itself is not installed on test machines: the group's first member is the real
//! `ocf:heartbeat:Dummy` standing in for it (same start/stop/monitor contract); the VIP is the
//! real `ocf:heartbeat:IPaddr2`. Checks: both members on one host, the VIP started only after
//! the database completed; when that host crashes (agent kill -9 + link cut) both move to the
//! same surviving host; a clean stop of that host stops the VIP before the database and
//! hands the group to the last host; never is the VIP reachable on two hosts, and never does
//! it answer from a host without the database.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_s8_group -- --nocapture` (root).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use kube::Api;
use pacer_crds::Transition;
use pacer_e2e::{
    cluster::Cluster,
    cluster::ClusterOptions,
    failover::{self, Fault},
    scenario::{self, AddressWatch},
};

const VIP: &str = "10.213.0.109";

fn manifests() -> String {
    format!(
        r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {{name: cluster}}
spec:
  properties: {{no-quorum-policy: ignore, startup-fencing: "false", stonith-enabled: "false"}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ResourceDefaults
metadata: {{name: resource-defaults}}
spec:
  meta: {{resource-stickiness: INFINITY, migration-threshold: "1"}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Group
metadata: {{name: grppg}}
spec:
  id: grpPg
  members: [prmPg, prmIpPg]
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: prmpg}}
spec:
  id: prmPg
  class: ocf
  provider: heartbeat
  type: Dummy
  operations:
  - {{name: start, interval: 0s, timeout: 120s, onFail: restart}}
  - {{name: monitor, interval: 10s, timeout: 60s, onFail: restart}}
  - {{name: stop, interval: 0s, timeout: 120s, onFail: block}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {{name: prmippg}}
spec:
  id: prmIpPg
  class: ocf
  provider: heartbeat
  type: IPaddr2
  params: {{ip: "{VIP}", cidr_netmask: "24", nic: eth0}}
  operations:
  - {{name: start, interval: 0s, timeout: 60s, onFail: restart}}
  - {{name: monitor, interval: 10s, timeout: 60s, onFail: restart}}
  - {{name: stop, interval: 0s, timeout: 60s, onFail: block}}
"#
    )
}

/// The host running both members (database state file + VIP), if exactly one does.
fn group_host(cluster: &Cluster) -> Result<Option<String>> {
    let db = scenario::dummy_hosts(cluster, "prmPg")?;
    let vip = cluster.hosts.reachable_holders(VIP)?;
    Ok((db.len() == 1 && db == vip).then(|| db[0].clone()))
}

/// `(finished of `a`, dispatched of `b`)`: the newest `task` of each on `node`, over all
/// transitions (a transition aborted half-way — e.g. by a node joining — leaves `b` to
/// the next one; the order must hold across them too).
async fn order_times(
    cluster: &Cluster,
    task: &str,
    node: &str,
    a: &str,
    b: &str,
) -> Result<(jiff::Timestamp, jiff::Timestamp)> {
    let api: Api<Transition> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    let list = api.list(&Default::default()).await?.items;
    // (seq, status) of the newest action of `rsc` that has the wanted time.
    let newest = |rsc: &str, finished: bool| {
        list.iter()
            .filter_map(|t| {
                let x = t
                    .spec
                    .actions
                    .iter()
                    .find(|x| x.task == task && x.node == node && x.resource.as_deref() == Some(rsc))?;
                let st = t.status.as_ref()?.actions.get(&x.id.to_string())?;
                let time = if finished { st.finished.as_ref() } else { st.dispatched.as_ref() }?;
                Some((t.spec.seq, time.0))
            })
            .max()
            .map(|(_, time)| time)
    };
    let fa = newest(a, true).with_context(|| format!("no finished {task} {a} on {node}"))?;
    let db = newest(b, false).with_context(|| format!("no dispatched {task} {b} on {node}"))?;
    Ok((fa, db))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s8_group_moves_as_a_unit() -> Result<()> {
    let t0 = Instant::now();
    let cluster = Cluster::start("s8", ClusterOptions::default()).await?;
    cluster.apply_yaml(&manifests()).await?;
    let first = scenario::wait_until(&cluster, "grpPg running on one host", Duration::from_secs(30), || {
        group_host(&cluster)
    })
    .await?;
    ensure!(failover::holder(&cluster, VIP).await?.as_deref() == Some(first.as_str()), "VIP answers from {first}");
    let (db_done, vip_sent) = order_times(&cluster, "start", &first, "prmPg", "prmIpPg").await?;
    ensure!(db_done <= vip_sent, "prmIpPg started ({vip_sent}) before prmPg finished ({db_done})");
    eprintln!("pacer-e2e s8: grpPg up on {first} after {:?}", t0.elapsed());

    // The VIP must never answer from a host without the database.
    let watch = AddressWatch::start(&cluster, &[VIP]);
    let crash = failover::measure(&cluster, "prmIpPg", VIP, Fault::Crash, Duration::from_secs(40)).await?;
    eprintln!("pacer-e2e s8 crash: {}", crash.summary());
    let second = scenario::wait_until(&cluster, "grpPg on one surviving host", Duration::from_secs(20), || {
        let db: Vec<String> = scenario::dummy_hosts(&cluster, "prmPg")?
            .into_iter()
            .filter(|h| *h != first)
            .collect();
        Ok((db.len() == 1 && crash.to.as_deref() == Some(db[0].as_str())).then(|| db[0].clone()))
    })
    .await?;
    ensure!(second != first, "the group left {first}");
    let (db_done, vip_sent) = order_times(&cluster, "start", &second, "prmPg", "prmIpPg").await?;
    ensure!(db_done <= vip_sent, "on {second}: VIP dispatched before the database finished");

    // Clean stop of the new host: the VIP stops before the database, the group moves on.
    let clean = failover::measure(&cluster, "prmIpPg", VIP, Fault::CleanStop, Duration::from_secs(40)).await?;
    eprintln!("pacer-e2e s8 clean stop: {}", clean.summary());
    let third = scenario::wait_until(&cluster, "grpPg on the last host", Duration::from_secs(20), || {
        Ok(group_host(&cluster)?.filter(|h| *h != first && *h != second))
    })
    .await?;
    let (vip_stopped, db_stop_sent) = order_times(&cluster, "stop", &second, "prmIpPg", "prmPg").await?;
    ensure!(vip_stopped <= db_stop_sent, "on {second}: database stop dispatched before the VIP stopped");
    ensure!(
        scenario::dummy_hosts(&cluster, "prmPg")?.iter().all(|h| *h == third || *h == first),
        "the database still runs on {second}"
    );
    let doubles = watch.stop();
    ensure!(doubles.is_empty(), "VIP on two reachable hosts: {doubles:?}");
    ensure!(crash.wrong_answers.is_empty() && clean.wrong_answers.is_empty(), "answers from a third host");
    eprintln!("pacer-e2e s8: {first} -> {second} -> {third}; test {:?}", t0.elapsed());
    Ok(())
}
