//! The DC against a real kube-apiserver (pacer-e2e's TestEnv), with scripted stand-in
//! agents (tests/standin): placement, recovery after a failure, fencing after a node's
//! Lease expired, DC failover mid-transition, abort on a configuration change.
//! Every test also fails on a double start or an action executed twice.
//!
//! Run: `cargo test -p pacer-operator --test dc` (needs tests/testenv/bin/pacer-testenv,
//! built by tests/testenv/build.sh).

mod standin;

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::events::v1::Event;
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, PostParams},
};
use pacer_crds::*;
use pacer_e2e::TestEnv;
use pacer_operator::{
    controller::{self, Config, Handle},
    leader::Timing,
    metrics::Metrics,
    snapshot::load_transition_input,
};
use standin::{Opts, SharedWorld, StandIn};

const NODES: [&str; 3] = ["n1", "n2", "n3"];

async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("timed out after {timeout:?} waiting for {what}")
}

fn dummy(name: &str) -> Primitive {
    let op: Operation = serde_json::from_value(
        serde_json::json!({"name": "monitor", "interval": "10s", "timeout": "20s"}),
    )
    .unwrap_or_else(|e| panic!("operation: {e}"));
    Primitive::new(
        name,
        PrimitiveSpec {
            class: Some("ocf".into()),
            provider: Some("heartbeat".into()),
            type_: Some("Dummy".into()),
            operations: vec![op],
            ..Default::default()
        },
    )
}

async fn create<K>(client: &Client, ns: &str, o: &K) -> Result<()>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::clone::Clone
        + std::fmt::Debug,
{
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), o)
        .await
        .with_context(|| format!("creating {}", o.name_any()))?;
    Ok(())
}

/// A namespace with three nodes and cluster options.
async fn cluster(env: &TestEnv, prefix: &str, stonith: bool) -> Result<(Client, String)> {
    let client = env.client().await?;
    let ns = env.temp_ns(prefix).await?;
    for n in NODES {
        create(
            &client,
            &ns,
            &ClusterNode::new(
                n,
                ClusterNodeSpec {
                    id: Some(n.into()),
                    ..Default::default()
                },
            ),
        )
        .await?;
    }
    let mut props = std::collections::BTreeMap::new();
    props.insert("stonith-enabled".to_string(), stonith.to_string());
    create(
        &client,
        &ns,
        &ClusterProperties::new(
            "cluster",
            ClusterPropertiesSpec {
                properties: Some(props),
                ..Default::default()
            },
        ),
    )
    .await?;
    Ok((client, ns))
}

fn operator(client: &Client, ns: &str, identity: &str) -> Handle {
    let mut cfg = Config::new(ns, identity);
    cfg.dc = Timing {
        lease_duration: Duration::from_secs(3),
        renew_interval: Duration::from_millis(300),
    };
    cfg.tick = Duration::from_millis(200);
    cfg.action_grace = Duration::from_secs(2);
    controller::start(client.clone(), cfg, Metrics::new())
}

async fn standins(
    client: &Client,
    ns: &str,
    world: &SharedWorld,
    delay: Duration,
) -> Result<Vec<StandIn>> {
    let mut v = Vec::new();
    for n in NODES {
        v.push(
            standin::start(
                client.clone(),
                ns,
                n,
                world.clone(),
                Opts {
                    delay,
                    ..Default::default()
                },
            )
            .await?,
        );
    }
    Ok(v)
}

async fn transitions(client: &Client, ns: &str) -> Vec<Transition> {
    let mut v = Api::<Transition>::namespaced(client.clone(), ns)
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default();
    v.sort_by_key(|t| t.spec.seq);
    v
}

fn phase(t: &Transition) -> &str {
    t.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

async fn primitive(client: &Client, ns: &str, name: &str) -> Option<Primitive> {
    Api::<Primitive>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .ok()
}

fn no_violations(world: &SharedWorld) -> Result<()> {
    let v = standin::violations(world);
    if !v.is_empty() {
        bail!("invariants broken: {v:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placement_status_events_and_recovery_after_a_failure() -> Result<()> {
    let env = TestEnv::shared().await?;
    let (client, ns) = cluster(env, "dc-place", false).await?;
    for p in ["ip", "web"] {
        create(&client, &ns, &dummy(p)).await?;
    }
    create(
        &client,
        &ns,
        &Group::new(
            "svc",
            GroupSpec {
                members: vec!["ip".into(), "web".into()],
                ..Default::default()
            },
        ),
    )
    .await?;
    let world: SharedWorld = Arc::new(Mutex::new(Default::default()));
    let _agents = standins(&client, &ns, &world, Duration::from_millis(10)).await?;
    let op = operator(&client, &ns, "op-a");

    wait_for(
        "ip and web running together",
        Duration::from_secs(30),
        || async {
            let (a, b) = (
                standin::where_runs(&world, "ip"),
                standin::where_runs(&world, "web"),
            );
            a.len() == 1 && a == b
        },
    )
    .await?;
    let node = standin::where_runs(&world, "ip")[0].clone();
    wait_for(
        "status of ip says Started on its node",
        Duration::from_secs(15),
        || async {
            primitive(&client, &ns, "ip")
                .await
                .and_then(|p| p.status)
                .is_some_and(|s| {
                    s.node.as_deref() == Some(node.as_str())
                        && s.role.as_deref() == Some("Started")
                        && s.conditions
                            .iter()
                            .any(|c| c.type_ == "Ready" && c.status == "True")
                })
        },
    )
    .await?;
    // web starts only after ip (group order).
    let log = standin::log(&world);
    let pos = |t: &str, r: &str| log.iter().position(|(a, b, _)| a == t && b == r);
    assert!(
        pos("start", "ip") < pos("start", "web"),
        "group order broken: {log:?}"
    );

    let ts = transitions(&client, &ns).await;
    let t1 = ts.first().context("no transition stored")?;
    // The scheduler input is kept next to the Transition, for `pacer simulate --transition`.
    let inputs: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), &ns);
    let mut input = None;
    for _ in 0..50 {
        input = inputs
            .get_opt(&format!("{}-input", t1.name_any()))
            .await?;
        if input.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let xml = load_transition_input(t1, input.as_ref())?;
    assert!(
        xml.contains("<primitive") && xml.contains("id=\"ip\""),
        "stored input is the CIB"
    );
    assert!(
        t1.spec.inputs.contains_key("Primitive/ip"),
        "inputs list the primitives: {:?}",
        t1.spec.inputs.keys()
    );
    wait_for("t-1 complete", Duration::from_secs(10), || async {
        transitions(&client, &ns)
            .await
            .first()
            .is_some_and(|t| phase(t) == "Complete")
    })
    .await?;
    // Settled: no further transitions (no re-probing of what the history already knows).
    let settled = transitions(&client, &ns).await.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        transitions(&client, &ns).await.len(),
        settled,
        "the DC keeps planning on a settled cluster"
    );
    wait_for(
        "cluster status names the DC",
        Duration::from_secs(10),
        || async {
            Api::<ClusterProperties>::namespaced(client.clone(), &ns)
                .get("cluster")
                .await
                .ok()
                .and_then(|p| p.status)
                .is_some_and(|s| {
                    s.dc.as_deref() == Some("op-a")
                        && s.quorum == Some(true)
                        && s.transition_id.is_some()
                })
        },
    )
    .await?;
    wait_for(
        "a Started event for ip",
        Duration::from_secs(10),
        || async {
            Api::<Event>::namespaced(client.clone(), &ns)
                .list(&ListParams::default())
                .await
                .is_ok_and(|l| {
                    l.items.iter().any(|e| {
                        e.reason.as_deref() == Some("Started")
                            && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ip")
                    })
                })
        },
    )
    .await?;

    // The resource fails where it runs: the DC recovers it.
    let starts_before = standin::log(&world)
        .iter()
        .filter(|(t, r, _)| t == "start" && r == "ip")
        .count();
    standin::crash(client.clone(), &ns, &node, "ip", &world).await?;
    wait_for("ip recovered", Duration::from_secs(30), || async {
        let starts = standin::log(&world)
            .iter()
            .filter(|(t, r, _)| t == "start" && r == "ip")
            .count();
        starts > starts_before && standin::where_runs(&world, "ip").len() == 1
    })
    .await?;
    wait_for(
        "ip status shows the failure",
        Duration::from_secs(15),
        || async {
            primitive(&client, &ns, "ip")
                .await
                .and_then(|p| p.status)
                .is_some_and(|s| s.fail_count.unwrap_or(0) >= 1)
        },
    )
    .await?;
    assert!(op.metrics.render().contains("pacer_transitions_total"));
    no_violations(&world)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_replica_finishes_the_transition_of_a_killed_dc() -> Result<()> {
    let env = TestEnv::shared().await?;
    let (client, ns) = cluster(env, "dc-failover", false).await?;
    for p in ["a", "b", "c"] {
        create(&client, &ns, &dummy(p)).await?;
    }
    create(
        &client,
        &ns,
        &Group::new(
            "g",
            GroupSpec {
                members: vec!["a".into(), "b".into(), "c".into()],
                ..Default::default()
            },
        ),
    )
    .await?;
    let world: SharedWorld = Arc::new(Mutex::new(Default::default()));
    let _agents = standins(&client, &ns, &world, Duration::from_millis(600)).await?;
    let first = operator(&client, &ns, "op-a");
    wait_for("op-a is DC", Duration::from_secs(10), || async {
        first.leader.may_write()
    })
    .await?;
    let second = operator(&client, &ns, "op-b");
    wait_for("t-1 half done", Duration::from_secs(30), || async {
        transitions(&client, &ns)
            .await
            .first()
            .and_then(|t| t.status.clone())
            .is_some_and(|s| {
                s.actions
                    .values()
                    .filter(|a| a.state == "Confirmed")
                    .count()
                    >= 1
                    && s.phase.as_deref() == Some("Running")
            })
    })
    .await?;
    drop(first);
    assert!(
        !second.leader.may_write(),
        "op-b must not write while op-a's Lease is valid"
    );
    wait_for("op-b takes over", Duration::from_secs(10), || async {
        second.leader.may_write()
    })
    .await?;
    wait_for(
        "all of g running on one node",
        Duration::from_secs(40),
        || async {
            let (a, b, c) = (
                standin::where_runs(&world, "a"),
                standin::where_runs(&world, "b"),
                standin::where_runs(&world, "c"),
            );
            a.len() == 1 && a == b && b == c
        },
    )
    .await?;
    wait_for("transitions complete", Duration::from_secs(20), || async {
        transitions(&client, &ns)
            .await
            .last()
            .is_some_and(|t| phase(t) == "Complete")
    })
    .await?;
    let ts = transitions(&client, &ns).await;
    assert_eq!(ts[0].spec.dc.as_deref(), Some("op-a"));
    no_violations(&world)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_node_is_fenced_before_its_resources_move() -> Result<()> {
    let env = TestEnv::shared().await?;
    let (client, ns) = cluster(env, "dc-fence", true).await?;
    create(
        &client,
        &ns,
        &Primitive::new(
            "fencer",
            PrimitiveSpec {
                class: Some("stonith".into()),
                type_: Some("fence_dummy".into()),
                ..Default::default()
            },
        ),
    )
    .await?;
    create(&client, &ns, &dummy("ip")).await?;
    let world: SharedWorld = Arc::new(Mutex::new(Default::default()));
    let mut agents = standins(&client, &ns, &world, Duration::from_millis(10)).await?;
    let _op = operator(&client, &ns, "op-a");
    wait_for("ip running", Duration::from_secs(30), || async {
        standin::where_runs(&world, "ip").len() == 1
    })
    .await?;
    wait_for("settled", Duration::from_secs(20), || async {
        transitions(&client, &ns)
            .await
            .last()
            .is_some_and(|t| phase(t) == "Complete")
    })
    .await?;
    let lost = standin::where_runs(&world, "ip")[0].clone();
    // The node dies: its agent stops renewing and answering.
    agents.retain(|a| a.node != lost);
    wait_for("ip running elsewhere", Duration::from_secs(40), || async {
        let w = standin::where_runs(&world, "ip");
        w.len() == 1 && w[0] != lost
    })
    .await?;
    let log = standin::log(&world);
    let fence = log
        .iter()
        .position(|(t, _, n)| t == "fence" && *n == lost)
        .context("no fence of the lost node")?;
    let start = log
        .iter()
        .rposition(|(t, r, n)| t == "start" && r == "ip" && *n != lost)
        .context("no start elsewhere")?;
    assert!(
        fence < start,
        "ip started before its node was fenced: {log:?}"
    );
    no_violations(&world)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_change_aborts_the_running_transition() -> Result<()> {
    let env = TestEnv::shared().await?;
    let (client, ns) = cluster(env, "dc-abort", false).await?;
    for p in ["a", "b"] {
        create(&client, &ns, &dummy(p)).await?;
    }
    create(
        &client,
        &ns,
        &Group::new(
            "g",
            GroupSpec {
                members: vec!["a".into(), "b".into()],
                ..Default::default()
            },
        ),
    )
    .await?;
    let world: SharedWorld = Arc::new(Mutex::new(Default::default()));
    let _agents = standins(&client, &ns, &world, Duration::from_millis(500)).await?;
    let _op = operator(&client, &ns, "op-a");
    wait_for("t-1 running", Duration::from_secs(20), || async {
        transitions(&client, &ns)
            .await
            .first()
            .is_some_and(|t| phase(t) == "Running")
    })
    .await?;
    create(&client, &ns, &dummy("late")).await?;
    wait_for(
        "t-1 aborted for the new primitive",
        Duration::from_secs(20),
        || async {
            transitions(&client, &ns)
                .await
                .first()
                .and_then(|t| t.status.clone())
                .is_some_and(|s| {
                    s.phase.as_deref() == Some("Aborted")
                        && s.reason
                            .as_deref()
                            .is_some_and(|r| r.contains("Primitive/late"))
                })
        },
    )
    .await?;
    wait_for("everything running", Duration::from_secs(40), || async {
        ["a", "b", "late"]
            .iter()
            .all(|r| standin::where_runs(&world, r).len() == 1)
    })
    .await?;
    let ts = transitions(&client, &ns).await;
    assert!(ts.len() >= 2, "a new transition was planned");
    no_violations(&world)
}
