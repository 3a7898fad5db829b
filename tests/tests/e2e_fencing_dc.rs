//! Fencing by the DC when no node can (issue 9): a two-host cluster with one
//! `fence_ipmilan` device per host (ipmi_sim BMCs on the management network,
//! tests/src/bmc.rs) loses both hosts at once. No healthy node is left to run a fence
//! device, so the DC runs them itself (the harness gives operators a route to the BMC
//! network: `--fence-netns`). Both hosts must be powered off, each FencingHistory must say
//! `executor: dc/<operator>`, and `kubectl get clusternode` must show the devices that
//! fence each node and when it was fenced. A host powered back on gets its resource back.
//!
//! Run: `cargo test --release -p pacer-e2e --test e2e_fencing_dc -- --nocapture` (root).

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use kube::Api;
use pacer_crds::{ClusterNode, FencingHistory};
use pacer_e2e::{
    bmc::IpmiBmcs,
    cluster::{Cluster, ClusterOptions},
    fencing_manifests, scenario,
};

const PASSWORD: &str = "ipmi-Secret-9";

fn manifests(bmcs: &IpmiBmcs) -> String {
    let mut y = fencing_manifests::ipmi_fencing(bmcs, PASSWORD, &[]);
    y.push_str(
        r#"---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: two-node}
spec:
  properties: {no-quorum-policy: ignore}
---
# The operator reads the devices' Secret too when it fences (deploy/rbac/agent-secrets.yaml).
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pacer-operator-secrets}
subjects:
- {kind: Group, apiGroup: rbac.authorization.k8s.io, name: "pacer:operators"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pacer-agent-secrets}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: web}
spec:
  class: ocf
  provider: pacemaker
  type: Dummy
  operations:
  - {name: monitor, interval: 10s}
"#,
    );
    y
}

async fn successful_fence(cluster: &Cluster, target: &str) -> Option<FencingHistory> {
    let api: Api<FencingHistory> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    let list = api.list(&Default::default()).await.ok()?;
    list.items
        .into_iter()
        .find(|f| f.spec.target == target && f.spec.result == "success")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_every_node_is_lost_the_dc_fences_them_itself() -> Result<()> {
    let cluster = Cluster::start(
        "fence-dc",
        ClusterOptions {
            hosts: 2,
            ..Default::default()
        },
    )
    .await?;
    let bmcs = IpmiBmcs::start(&cluster.hosts, "admin", PASSWORD)?;
    cluster.apply_yaml(&manifests(&bmcs)).await?;
    let web_host = scenario::wait_until(&cluster, "web running", Duration::from_secs(40), || {
        Ok(scenario::dummy_hosts(&cluster, "web")?.first().cloned())
    })
    .await?;
    eprintln!("pacer-e2e fence-dc: web on {web_host}");

    for h in ["n1", "n2"] {
        cluster.crash_host(h)?;
    }
    for h in ["n1", "n2"] {
        cluster
            .wait_for(
                &format!("{h} powered off by the DC"),
                Duration::from_secs(60),
                || async { successful_fence(&cluster, h).await.is_some() },
            )
            .await?;
        let f = successful_fence(&cluster, h)
            .await
            .context("fence record")?;
        ensure!(
            !bmcs.powered(h)?,
            "{h} is still powered after {:?} (power log {:?})\n{}",
            f.spec,
            bmcs.power_log(h)?,
            cluster.log_tails(30)
        );
        ensure!(
            f.spec.executor.starts_with("dc/op-"),
            "{h} was fenced by {:?}, not by the DC",
            f.spec.executor
        );
        ensure!(
            f.spec.devices == vec![format!("fence-{h}")],
            "devices used: {:?}",
            f.spec.devices
        );
        eprintln!("pacer-e2e fence-dc: {h}: {:?}", f.spec.message);
    }

    // What `kubectl get clusternode -o yaml` tells the admin.
    let nodes: Api<ClusterNode> = Api::namespaced(cluster.client.clone(), &cluster.ns);
    cluster
        .wait_for(
            "ClusterNode status with devices and lastFenced",
            Duration::from_secs(10),
            || async {
                let mut all = true;
                for h in ["n1", "n2"] {
                    let st = nodes.get(h).await.ok().and_then(|n| n.status);
                    all &= st.is_some_and(|s| {
                        s.fencing_devices == vec![format!("fence-{h}")] && s.last_fenced.is_some()
                    });
                }
                all
            },
        )
        .await?;

    // Power one host back on: the cluster recovers its resource there.
    bmcs.ipmitool("n1", "on")?;
    cluster.reboot_host("n1").await?;
    scenario::wait_until(&cluster, "web back on n1", Duration::from_secs(40), || {
        Ok((scenario::dummy_hosts(&cluster, "web")? == vec!["n1".to_string()]).then_some(()))
    })
    .await?;
    Ok(())
}
