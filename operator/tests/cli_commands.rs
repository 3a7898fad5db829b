//! `pacer` / `kubectl pacer` against a real kube-apiserver (pacer-e2e's TestEnv): every
//! command that changes the cluster is run as the binary a user runs, and the stored
//! objects are checked (values, and that the field manager is `kubectl-pacer`).
//!
//! Run: `cargo test --release -p pacer-operator --test cli_commands` (needs
//! tests/testenv/bin/pacer-testenv, built by tests/testenv/build.sh).

use std::{path::PathBuf, process::Command};

use anyhow::{Context, Result, bail};
use kube::{Api, Client};
use pacer_crds::*;
use pacer_e2e::TestEnv;
use serde_json::Value;

fn pacer() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pacer"))
}

struct Cli {
    kubeconfig: PathBuf,
    ns: String,
}

impl Cli {
    /// Runs `pacer --kubeconfig … -n NS ARGS`; Err with stderr when it fails.
    fn run(&self, args: &[&str]) -> Result<String> {
        let out = Command::new(pacer())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["-n", &self.ns])
            .args(args)
            .env_remove("KUBECONFIG")
            .output()
            .context("running pacer")?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!(
                "pacer {} failed: {}{}",
                args.join(" "),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(stdout)
    }
}

async fn setup(prefix: &str) -> Result<(&'static TestEnv, Client, Cli)> {
    let env = TestEnv::shared().await?;
    let ns = env.temp_ns(prefix).await?;
    let manifests = pacer_e2e::repo_root().join("examples/s3-vip/manifests.yaml");
    env.kubectl(&["apply", "-n", &ns, "-f", &manifests.to_string_lossy()])
        .await?
        .ok()?;
    let client = env.client().await?;
    let cli = Cli {
        kubeconfig: env.admin_kubeconfig()?,
        ns,
    };
    Ok((env, client, cli))
}

fn managers(v: &Value) -> Vec<String> {
    v.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.get("manager").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn move_ban_clear_create_and_remove_cli_locations() -> Result<()> {
    let (_env, client, cli) = setup("cli-move").await?;
    let locs: Api<Location> = Api::namespaced(client.clone(), &cli.ns);

    let out = cli.run(&["resource", "move", "ip", "dl380g5d"])?;
    assert!(out.contains("cli-prefer-ip"), "{out}");
    let l = locs.get("cli-prefer-ip").await?;
    assert_eq!(l.spec.id.as_deref(), Some("cli-prefer-ip"));
    assert_eq!(l.spec.resource.as_deref(), Some("ip"));
    assert_eq!(l.spec.node.as_deref(), Some("dl380g5d"));
    assert_eq!(l.spec.score.as_ref().map(|s| s.as_str()), Some("INFINITY"));
    assert!(managers(&serde_json::to_value(&l)?).contains(&"kubectl-pacer".to_string()));

    cli.run(&["resource", "ban", "ip", "dl380g5c"])?;
    let b = locs.get("cli-ban-ip-on-dl380g5c").await?;
    assert_eq!(b.spec.score.as_ref().map(|s| s.as_str()), Some("-INFINITY"));
    assert_eq!(b.spec.node.as_deref(), Some("dl380g5c"));

    // A lifetime turns the constraint into a rule that expires.
    cli.run(&["resource", "move", "ip", "dl380g5c", "--lifetime", "PT1H"])?;
    let l = locs.get("cli-prefer-ip").await?;
    assert_eq!(l.spec.node, None, "node moved into the rule");
    let rule = &l.spec.rules[0];
    assert_eq!(rule.score.as_ref().map(|s| s.as_str()), Some("INFINITY"));
    let date = rule.expressions[1]
        .date
        .as_ref()
        .context("date expression")?;
    assert_eq!(date.operation, "lt");
    assert!(date.end.as_deref().is_some_and(|e| e.ends_with('Z')));

    // The scheduler honours it: the exported configuration places ip on dl380g5c.
    let out = cli.run(&["resource", "clear", "ip"])?;
    assert!(
        out.contains("cli-prefer-ip") && out.contains("cli-ban-ip-on-dl380g5c"),
        "{out}"
    );
    assert!(locs.get_opt("cli-prefer-ip").await?.is_none());
    assert!(locs.get_opt("cli-ban-ip-on-dl380g5c").await?.is_none());

    // Unknown names are errors that say what exists.
    let err = cli
        .run(&["resource", "move", "nope", "dl380g5c"])
        .unwrap_err();
    assert!(format!("{err}").contains("no resource \"nope\""), "{err}");
    let err = cli.run(&["node", "standby", "nope"]).unwrap_err();
    assert!(format!("{err:#}").contains("dl380g5c"), "{err}");
    Ok(())
}

#[tokio::test]
async fn node_property_and_meta_changes_are_server_side_applies() -> Result<()> {
    let (_env, client, cli) = setup("cli-set").await?;
    let nodes: Api<ClusterNode> = Api::namespaced(client.clone(), &cli.ns);
    let props: Api<ClusterProperties> = Api::namespaced(client.clone(), &cli.ns);
    let prims: Api<Primitive> = Api::namespaced(client.clone(), &cli.ns);

    cli.run(&["node", "standby", "dl380g5c"])?;
    cli.run(&["node", "maintenance", "dl380g5c"])?;
    let n = nodes.get("dl380g5c").await?;
    // The second apply keeps what the first one set.
    assert_eq!(
        (n.spec.standby, n.spec.maintenance),
        (Some(true), Some(true))
    );
    cli.run(&["node", "online", "dl380g5c"])?;
    cli.run(&["node", "ready", "dl380g5c"])?;
    let n = nodes.get("dl380g5c").await?;
    assert_eq!(
        (n.spec.standby, n.spec.maintenance),
        (Some(false), Some(false))
    );
    assert!(managers(&serde_json::to_value(&n)?).contains(&"kubectl-pacer".to_string()));

    cli.run(&["maintenance", "on"])?;
    cli.run(&["property", "set", "cluster-recheck-interval", "5min"])?;
    let p = props.get("cluster").await?;
    let pr = p.spec.properties.clone().unwrap_or_default();
    assert_eq!(pr.get("maintenance-mode").map(String::as_str), Some("true"));
    assert_eq!(
        pr.get("cluster-recheck-interval").map(String::as_str),
        Some("5min")
    );
    // Keys from the manifest are untouched.
    assert_eq!(pr.get("stonith-enabled").map(String::as_str), Some("false"));
    cli.run(&["maintenance", "off"])?;
    cli.run(&["property", "unset", "cluster-recheck-interval"])?;
    let pr = props
        .get("cluster")
        .await?
        .spec
        .properties
        .unwrap_or_default();
    assert_eq!(
        pr.get("maintenance-mode").map(String::as_str),
        Some("false")
    );
    assert_eq!(pr.get("cluster-recheck-interval"), None);

    cli.run(&[
        "resource",
        "meta",
        "ip",
        "set",
        "resource-stickiness",
        "100",
    ])?;
    cli.run(&["resource", "meta", "ip", "set", "migration-threshold", "3"])?;
    let m = prims.get("ip").await?.spec.meta.unwrap_or_default();
    assert_eq!(
        m.get("resource-stickiness").map(String::as_str),
        Some("100")
    );
    assert_eq!(m.get("migration-threshold").map(String::as_str), Some("3"));
    assert_eq!(
        cli.run(&["resource", "meta", "ip", "get", "migration-threshold"])?
            .trim(),
        "3"
    );
    cli.run(&["resource", "meta", "ip", "unset", "resource-stickiness"])?;
    let m = prims.get("ip").await?.spec.meta.unwrap_or_default();
    assert_eq!(m.get("resource-stickiness"), None);
    assert_eq!(m.get("migration-threshold").map(String::as_str), Some("3"));
    Ok(())
}

#[tokio::test]
async fn stop_start_manage_locate_and_node_attributes() -> Result<()> {
    let (env, client, cli) = setup("cli-role").await?;
    let prims: Api<Primitive> = Api::namespaced(client.clone(), &cli.ns);
    let nodes: Api<ClusterNode> = Api::namespaced(client.clone(), &cli.ns);
    let meta = |p: Primitive, k: &str| p.spec.meta.unwrap_or_default().get(k).cloned();

    // The manifest (another field manager) keeps ip stopped; `start` (pcs resource
    // enable) must still let it run, and `meta unset` must still remove the key.
    let stopped = "apiVersion: ha.pacer.dev/v1alpha1\nkind: Primitive\nmetadata:\n  name: ip\nspec:\n  class: ocf\n  provider: heartbeat\n  type: IPaddr2\n  params:\n    ip: 192.168.101.121\n  meta:\n    target-role: Stopped\n";
    let file = std::env::temp_dir().join(format!("pacer-cli-role-{}.yaml", std::process::id()));
    std::fs::write(&file, stopped)?;
    env.kubectl(&["apply", "-n", &cli.ns, "-f", &file.to_string_lossy()])
        .await?
        .ok()?;
    let _ = std::fs::remove_file(&file);
    let out = cli.run(&["resource", "enable", "ip"])?;
    assert!(out.contains("target-role=Started"), "{out}");
    assert_eq!(
        meta(prims.get("ip").await?, "target-role").as_deref(),
        Some("Started")
    );
    cli.run(&["resource", "stop", "ip"])?;
    assert_eq!(
        meta(prims.get("ip").await?, "target-role").as_deref(),
        Some("Stopped")
    );
    cli.run(&["resource", "meta", "ip", "unset", "target-role"])?;
    assert_eq!(meta(prims.get("ip").await?, "target-role"), None);

    // No agent runs here: nothing is active, and waiting says so.
    let out = cli.run(&["resource", "stop", "ip", "--wait=2"])?;
    assert!(out.contains("resource ip is NOT running"), "{out}");
    let err = cli
        .run(&["resource", "start", "ip", "--wait=1"])
        .unwrap_err();
    assert!(
        format!("{err}").contains("is not running after 1s"),
        "{err}"
    );
    assert_eq!(
        cli.run(&["resource", "locate", "ip"])?.trim(),
        "resource ip is NOT running"
    );

    cli.run(&["resource", "unmanage", "ip"])?;
    assert_eq!(
        meta(prims.get("ip").await?, "is-managed").as_deref(),
        Some("false")
    );
    cli.run(&["resource", "manage", "ip"])?;
    assert_eq!(
        meta(prims.get("ip").await?, "is-managed").as_deref(),
        Some("true")
    );
    let err = cli.run(&["resource", "promote", "ip"]).unwrap_err();
    assert!(format!("{err}").contains("not a promotable Clone"), "{err}");

    cli.run(&["node", "attribute", "dl380g5c", "set", "rack", "r1"])?;
    cli.run(&["node", "utilization", "dl380g5c", "set", "cpu", "8"])?;
    let n = nodes.get("dl380g5c").await?;
    assert_eq!(
        n.spec
            .attributes
            .unwrap_or_default()
            .get("rack")
            .map(String::as_str),
        Some("r1")
    );
    assert_eq!(
        n.spec
            .utilization
            .unwrap_or_default()
            .get("cpu")
            .map(String::as_str),
        Some("8")
    );
    assert_eq!(
        cli.run(&["node", "attribute", "dl380g5c", "get", "rack"])?
            .trim(),
        "r1"
    );
    cli.run(&["node", "attribute", "dl380g5c", "unset", "rack"])?;
    let n = nodes.get("dl380g5c").await?;
    assert_eq!(n.spec.attributes.unwrap_or_default().get("rack"), None);
    Ok(())
}

#[tokio::test]
async fn simulate_live_shows_what_the_dc_would_do_now() -> Result<()> {
    let (_env, client, cli) = setup("cli-live").await?;
    // No agent holds a Lease: both nodes are down, nothing can start.
    let out = cli.run(&["simulate", "--live", "-s"])?;
    assert!(out.contains("OFFLINE: [ dl380g5c dl380g5d ]"), "{out}");
    assert!(!out.contains("Start "), "{out}");
    assert!(
        out.contains("ip allocation score on dl380g5d: -INFINITY"),
        "{out}"
    );
    // dl380g5d's agent renews its Lease: the DC would count it in (it starts nothing
    // there before the agent has written its NodeState, i.e. probed).
    use k8s_openapi::{
        api::coordination::v1::{Lease, LeaseSpec},
        apimachinery::pkg::apis::meta::v1::MicroTime,
    };
    let now = MicroTime(jiff::Timestamp::now());
    let lease = Lease {
        metadata: kube::api::ObjectMeta {
            name: Some("pacer-node-dl380g5d".into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("dl380g5d".into()),
            lease_duration_seconds: Some(30),
            renew_time: Some(now.clone()),
            acquire_time: Some(now),
            ..Default::default()
        }),
    };
    Api::<Lease>::namespaced(client.clone(), &cli.ns)
        .create(&Default::default(), &lease)
        .await?;
    let out = cli.run(&["simulate", "-L", "-s"])?;
    assert!(out.contains("ip allocation score on dl380g5d: 0"), "{out}");
    assert!(
        out.contains("ip allocation score on dl380g5c: -INFINITY"),
        "{out}"
    );
    Ok(())
}

#[tokio::test]
async fn status_history_and_the_kubectl_plugin() -> Result<()> {
    let (env, _client, cli) = setup("cli-status").await?;
    // No agents run here: both nodes are offline, the VIP is stopped.
    let text = cli.run(&["status"])?;
    assert!(
        text.contains("Node List:\n  * OFFLINE: [ dl380g5c dl380g5d ]"),
        "{text}"
    );
    assert!(
        text.contains("  * ip\t(ocf:heartbeat:IPaddr2):\t Stopped"),
        "{text}"
    );
    assert!(text.contains("Current DC: NONE"), "{text}");
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");
    let doc: Value = serde_json::from_str(&cli.run(&["status", "-o", "json"])?)?;
    assert_eq!(doc["nodes"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["resources"][0]["id"], "ip");
    assert!(cli.run(&["history"])?.contains("No transitions."));

    // As a kubectl plugin: `kubectl pacer …` finds kubectl-pacer on the PATH.
    let dir = tempfile_dir()?;
    std::os::unix::fs::symlink(pacer(), dir.join("kubectl-pacer"))?;
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(env.binary())
        .args(["kubectl", "pacer", "-n", &cli.ns, "status"])
        .env("PATH", &path)
        .env("KUBECONFIG", &cli.kubeconfig)
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ip\t(ocf:heartbeat:IPaddr2):\t Stopped"),
        "{stdout}"
    );
    let help = Command::new(env.binary())
        .args(["kubectl", "pacer", "--help"])
        .env("PATH", &path)
        .output()?;
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl pacer"));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[tokio::test]
async fn simulate_replays_a_stored_transition() -> Result<()> {
    let (_env, client, cli) = setup("cli-replay").await?;
    // A transition and its input as the DC stores them (operator/tests/dc.rs checks that
    // the DC does): the Transition first, then ConfigMap <name>-input owned by it.
    let xml = pacer_operator::cib::export::export_cib(
        &pacer_operator::cib::manifest::parse_manifests(&std::fs::read_to_string(
            pacer_e2e::repo_root().join("examples/s3-vip/manifests.yaml"),
        )?)?,
    )?;
    let transitions: Api<Transition> = Api::namespaced(client.clone(), &cli.ns);
    let stored = transitions
        .create(&Default::default(), &bare_transition(1))
        .await?;
    let inputs: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), &cli.ns);
    inputs
        .create(
            &Default::default(),
            &pacer_operator::snapshot::input_configmap(&stored, &xml)?,
        )
        .await?;

    let replayed = cli.run(&[
        "simulate",
        "--transition",
        "t-1",
        "-t",
        "2026-01-01 00:00:00",
    ])?;
    let file = std::env::temp_dir().join(format!("pacer-replay-{}.xml", std::process::id()));
    std::fs::write(&file, &xml)?;
    let direct = Command::new(pacer())
        .args(["simulate", "-t", "2026-01-01 00:00:00", "--xml"])
        .arg(&file)
        .output()?;
    let _ = std::fs::remove_file(&file);
    assert!(replayed.contains("Transition Summary"), "{replayed}");
    assert_eq!(
        replayed,
        String::from_utf8_lossy(&direct.stdout),
        "replaying the stored input = simulating the CIB it was computed from"
    );

    let missing = cli.run(&["simulate", "--transition", "t-9"]);
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.to_string().contains("no Transition \"t-9\"")),
        "{missing:?}"
    );
    // A Transition whose input is gone (pruned, or never written) says so.
    transitions
        .create(&Default::default(), &bare_transition(2))
        .await?;
    let gone = cli.run(&["simulate", "--transition", "t-2"]);
    assert!(
        gone.as_ref()
            .is_err_and(|e| e.to_string().contains("t-2-input")),
        "{gone:?}"
    );
    Ok(())
}

/// A Transition with no actions, as `t-<seq>`.
fn bare_transition(seq: i64) -> Transition {
    Transition::new(
        &format!("t-{seq}"),
        TransitionSpec {
            seq,
            ..Default::default()
        },
    )
}

fn tempfile_dir() -> Result<PathBuf> {
    let d = std::env::temp_dir().join(format!("pacer-cli-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}
