//! deploy/rbac/ against the real API server: RBAC plus the ValidatingAdmissionPolicy that
//! limits each node agent to its own NodeState and Lease, for both identity styles
//! (per-node client certificate, ServiceAccount token bound to a Node).

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::{
    ByteString,
    api::{
        authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec},
        coordination::v1::{Lease, LeaseSpec},
        core::v1::{Node, Pod, Secret, ServiceAccount},
    },
    apimachinery::pkg::apis::meta::v1::MicroTime,
    jiff::Timestamp,
};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams},
};
use pacer_e2e::{TestEnv, env::client_from_kubeconfig, objects, repo_root};
use serde_json::json;
use tokio::sync::OnceCell;

static RBAC: OnceCell<()> = OnceCell::const_new();

/// Applies deploy/namespace.yaml and deploy/rbac/ (RBAC, admission policies) once (the CRDs
/// are installed by the environment), and waits until the admission policies are enforced
/// (the API server loads them asynchronously).
async fn rbac_env() -> Result<&'static TestEnv> {
    let env = TestEnv::shared().await?;
    RBAC.get_or_try_init(|| async {
        let deploy = repo_root().join("deploy");
        let namespace = deploy.join("namespace.yaml");
        let rbac = deploy.join("rbac");
        env.kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=pacer-e2e",
            "-f",
            &namespace.to_string_lossy(),
        ])
        .await?
        .ok()?;
        env.kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=pacer-e2e",
            "-k",
            &rbac.to_string_lossy(),
        ])
        .await?
        .ok()?;
        let agent = env.client_as("agent-n1").await?;
        let probe_ns = env.temp_ns("rbac-probe").await?;
        let leases: Api<Lease> = Api::namespaced(agent, &probe_ns);
        for _ in 0..100 {
            match leases
                .create(&PostParams::default(), &lease("pacer-node-probe-other"))
                .await
            {
                Err(kube::Error::Api(s))
                    if s.code == 403 && s.message.contains("may write only") =>
                {
                    return Ok(());
                }
                Ok(_) => {
                    // Policy not active yet: remove the lease so the next probe creates again.
                    let admin: Api<Lease> = Api::namespaced(env.client().await?, &probe_ns);
                    admin
                        .delete("pacer-node-probe-other", &DeleteParams::default())
                        .await?;
                }
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bail!("the pacer-agent-own-lease admission policy was not enforced within 20 s")
    })
    .await?;
    Ok(env)
}

fn lease(name: &str) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name.into()),
            lease_duration_seconds: Some(10),
            renew_time: Some(MicroTime(Timestamp::now())),
            ..Default::default()
        }),
    }
}

fn node_state(node: &str, join: &str) -> serde_json::Value {
    json!({"uname": node, "inCcm": "true", "crmd": "online", "join": join, "expected": "member"})
}

/// 403, with the admission policy's (or RBAC's) message containing `needle`.
fn expect_forbidden<T: std::fmt::Debug>(
    what: &str,
    r: kube::Result<T>,
    needle: &str,
) -> Result<()> {
    let s = objects::rejection(r).with_context(|| what.to_string())?;
    ensure!(
        s.code == 403,
        "{what}: expected 403 Forbidden, got {} {}: {}",
        s.code,
        s.reason,
        s.message
    );
    ensure!(
        s.message.contains(needle),
        "{what}: message lacks {needle:?}: {}",
        s.message
    );
    Ok(())
}

#[tokio::test]
async fn agent_writes_its_own_nodestate_only() -> Result<()> {
    let env = rbac_env().await?;
    let ns = env.temp_ns("rbac-nodestate").await?;
    let admin = env.client().await?;
    let n1 = env.client_as("agent-n1").await?;

    objects::apply(&n1, &ns, "NodeState", "n1", node_state("n1", "member"))
        .await
        .context("agent n1 creating NodeState n1")?;
    objects::apply(&n1, &ns, "NodeState", "n1", node_state("n1", "down"))
        .await
        .context("agent n1 updating NodeState n1")?;
    let got = objects::pacer_api(&admin, &ns, "NodeState")
        .get("n1")
        .await?;
    ensure!(
        got.data["spec"]["join"] == "down",
        "NodeState n1 not updated: {}",
        got.data["spec"]
    );

    let n2_before =
        objects::apply(&admin, &ns, "NodeState", "n2", node_state("n2", "member")).await?;
    expect_forbidden(
        "agent n1 updating NodeState n2",
        objects::apply(&n1, &ns, "NodeState", "n2", node_state("n2", "down")).await,
        "may write only NodeState n1",
    )?;
    expect_forbidden(
        "agent n1 creating NodeState n3",
        objects::apply(&n1, &ns, "NodeState", "n3", node_state("n3", "member")).await,
        "may write only NodeState n1",
    )?;
    expect_forbidden(
        "agent n1 writing its own NodeState with spec.uname n2",
        objects::apply(&n1, &ns, "NodeState", "n1", node_state("n2", "member")).await,
        "may write only NodeState n1",
    )?;
    expect_forbidden(
        "agent n1 deleting NodeState n1",
        objects::pacer_api(&n1, &ns, "NodeState")
            .delete("n1", &DeleteParams::default())
            .await,
        "cannot delete",
    )?;
    let n2_after = objects::pacer_api(&admin, &ns, "NodeState")
        .get("n2")
        .await?;
    ensure!(
        n2_after.metadata.resource_version == n2_before.metadata.resource_version,
        "NodeState n2 changed"
    );
    Ok(())
}

#[tokio::test]
async fn agent_renews_its_own_lease_only() -> Result<()> {
    let env = rbac_env().await?;
    let ns = env.temp_ns("rbac-lease").await?;
    let n1: Api<Lease> = Api::namespaced(env.client_as("agent-n1").await?, &ns);
    let admin: Api<Lease> = Api::namespaced(env.client().await?, &ns);

    n1.create(&PostParams::default(), &lease("pacer-node-n1"))
        .await
        .context("agent n1 creating its Lease")?;
    let renew = json!({"spec": {"renewTime": MicroTime(Timestamp::now())}});
    n1.patch(
        "pacer-node-n1",
        &PatchParams::default(),
        &Patch::Merge(&renew),
    )
    .await
    .context("agent n1 renewing its Lease")?;

    expect_forbidden(
        "agent n1 creating Lease pacer-node-n2",
        n1.create(&PostParams::default(), &lease("pacer-node-n2"))
            .await,
        "may write only Lease pacer-node-n1",
    )?;
    admin
        .create(&PostParams::default(), &lease("pacer-node-n2"))
        .await?;
    expect_forbidden(
        "agent n1 renewing Lease pacer-node-n2",
        n1.patch(
            "pacer-node-n2",
            &PatchParams::default(),
            &Patch::Merge(&renew),
        )
        .await,
        "may write only Lease pacer-node-n1",
    )?;
    let system: Api<Lease> = Api::namespaced(env.client_as("agent-n1").await?, "kube-system");
    expect_forbidden(
        "agent n1 creating a Lease in kube-system",
        system
            .create(&PostParams::default(), &lease("kube-controller-manager"))
            .await,
        "may write only Lease pacer-node-n1",
    )?;
    // Clean shutdown: the agent deletes its own Lease, and only its own.
    expect_forbidden(
        "agent n1 deleting Lease pacer-node-n2",
        n1.delete("pacer-node-n2", &DeleteParams::default()).await,
        "may write only Lease pacer-node-n1",
    )?;
    n1.delete("pacer-node-n1", &DeleteParams::default())
        .await
        .context("agent n1 deleting its Lease")?;
    Ok(())
}

#[tokio::test]
async fn agent_records_only_fencing_it_executed() -> Result<()> {
    let env = rbac_env().await?;
    let ns = env.temp_ns("rbac-fencing").await?;
    let n1 = env.client_as("agent-n1").await?;
    let history = |executor: &str| json!({"target": "n3", "action": "off", "executor": executor, "result": "success"});
    objects::apply(&n1, &ns, "FencingHistory", "n3-1", history("n1"))
        .await
        .context("agent n1 recording fencing it executed")?;
    expect_forbidden(
        "agent n1 recording fencing executed by n2",
        objects::apply(&n1, &ns, "FencingHistory", "n3-2", history("n2")).await,
        "may record only fencing it executed",
    )?;
    expect_forbidden(
        "agent n1 rewriting the executor of its record to n2",
        objects::apply(&n1, &ns, "FencingHistory", "n3-1", history("n2")).await,
        "may record only fencing it executed",
    )?;
    Ok(())
}

#[tokio::test]
async fn agent_reads_only_the_fencing_secret() -> Result<()> {
    let env = rbac_env().await?;
    let admin: Api<Secret> = Api::namespaced(env.client().await?, "pacer-system");
    for name in ["pacer-fencing", "db-credentials"] {
        let s = Secret {
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..Default::default()
            },
            data: Some([("password".to_string(), ByteString(b"s3cret".to_vec()))].into()),
            ..Default::default()
        };
        match admin.create(&PostParams::default(), &s).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
    }
    let n1: Api<Secret> = Api::namespaced(env.client_as("agent-n1").await?, "pacer-system");
    let got = n1
        .get("pacer-fencing")
        .await
        .context("agent n1 reading its fencing Secret")?;
    ensure!(
        got.data.is_some_and(|d| d.contains_key("password")),
        "fencing Secret has no data"
    );
    expect_forbidden(
        "agent n1 reading db-credentials",
        n1.get("db-credentials").await,
        "cannot get resource \"secrets\"",
    )?;
    expect_forbidden(
        "agent n1 listing Secrets",
        n1.list(&ListParams::default()).await,
        "cannot list resource \"secrets\"",
    )?;
    let other_ns = env.temp_ns("rbac-secrets").await?;
    let other: Api<Secret> = Api::namespaced(env.client_as("agent-n1").await?, &other_ns);
    expect_forbidden(
        "agent n1 reading a Secret in another namespace",
        other.get("pacer-fencing").await,
        "cannot get resource",
    )?;
    Ok(())
}

#[tokio::test]
async fn operator_writes_status_but_not_spec_or_secrets() -> Result<()> {
    let env = rbac_env().await?;
    let ns = env.temp_ns("rbac-operator").await?;
    let admin = env.client().await?;
    let op = env.client_as("operator").await?;
    objects::apply(
        &admin,
        &ns,
        "Primitive",
        "vip",
        json!({"class": "ocf", "provider": "heartbeat", "type": "IPaddr2"}),
    )
    .await?;

    let api = objects::pacer_api(&op, &ns, "Primitive");
    api.list(&ListParams::default())
        .await
        .context("operator listing Primitives")?;
    let status = json!({"status": {"role": "Started", "node": "n1"}});
    api.patch_status("vip", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .context("operator writing Primitive status")?;
    let got = objects::pacer_api(&admin, &ns, "Primitive")
        .get("vip")
        .await?;
    ensure!(
        got.data["status"]["node"] == "n1",
        "status not stored: {}",
        got.data["status"]
    );

    let spec = json!({"spec": {"type": "Dummy"}});
    expect_forbidden(
        "operator changing a Primitive's spec",
        api.patch("vip", &PatchParams::default(), &Patch::Merge(&spec))
            .await,
        "cannot patch resource \"primitives\"",
    )?;
    // The fencing Secret only: the DC runs fence devices itself when no node can
    // (deploy/rbac/agent-secrets.yaml binds it like the agents); nothing else, no list.
    let secrets: Api<Secret> = Api::namespaced(op.clone(), "pacer-system");
    match secrets.get("pacer-fencing").await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => bail!("operator reading the fencing Secret: {e}"),
    }
    expect_forbidden(
        "operator reading another Secret",
        secrets.get("db-credentials").await,
        "cannot get resource \"secrets\"",
    )?;
    expect_forbidden(
        "operator listing Secrets",
        secrets.list(&ListParams::default()).await,
        "cannot list resource \"secrets\"",
    )?;
    // Leader election: the operator holds the Lease pacer-dc of the cluster namespace; an
    // agent cannot take it.
    let op_leases: Api<Lease> = Api::namespaced(op.clone(), &ns);
    op_leases
        .create(&PostParams::default(), &lease("pacer-dc"))
        .await
        .context("operator creating Lease pacer-dc")?;
    let agent_leases: Api<Lease> = Api::namespaced(env.client_as("agent-n1").await?, &ns);
    let take = json!({"spec": {"holderIdentity": "agent-n1"}});
    expect_forbidden(
        "agent n1 taking Lease pacer-dc",
        agent_leases
            .patch("pacer-dc", &PatchParams::default(), &Patch::Merge(&take))
            .await,
        "may write only Lease pacer-node-n1",
    )?;
    // The operator is the DC: it records a fenced node's state.
    objects::apply(&op, &ns, "NodeState", "n3", node_state("n3", "down"))
        .await
        .context("operator writing NodeState n3")?;
    Ok(())
}

/// Identity style 2: the DaemonSet's shared ServiceAccount, with a token bound to a Node
/// (as kubelet's projected tokens are bound to the pod and carry its node).
#[tokio::test]
async fn service_account_agent_is_limited_to_the_node_its_token_is_bound_to() -> Result<()> {
    let env = rbac_env().await?;
    let ns = env.temp_ns("rbac-sa").await?;
    let admin = env.client().await?;
    let nodes: Api<Node> = Api::all(admin.clone());
    let node = match nodes.get_opt("sa-node-b").await? {
        Some(n) => n,
        None => {
            let n = Node {
                metadata: ObjectMeta {
                    name: Some("sa-node-b".into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            nodes.create(&PostParams::default(), &n).await?
        }
    };
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "pacer-system");
    let audience = "https://kubernetes.default.svc.cluster.local".to_string();
    let bound = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(vec![audience.clone()]),
            expiration_seconds: Some(600),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Node".into()),
                name: node.metadata.name.clone(),
                uid: node.metadata.uid.clone(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let token = sas
        .create_token_request("pacer-agent", &PostParams::default(), &bound)
        .await
        .context("TokenRequest bound to Node sa-node-b")?
        .status
        .and_then(|s| s.token)
        .context("TokenRequest returned no token")?;
    let agent = token_client(env, &token).await?;
    objects::apply(
        &agent,
        &ns,
        "NodeState",
        "sa-node-b",
        node_state("sa-node-b", "member"),
    )
    .await
    .context("SA agent bound to sa-node-b writing NodeState sa-node-b")?;
    expect_forbidden(
        "SA agent bound to sa-node-b writing NodeState n1",
        objects::apply(&agent, &ns, "NodeState", "n1", node_state("n1", "member")).await,
        "may write only NodeState sa-node-b",
    )?;
    let leases: Api<Lease> = Api::namespaced(agent.clone(), &ns);
    leases
        .create(&PostParams::default(), &lease("pacer-node-sa-node-b"))
        .await
        .context("SA agent creating its Lease")?;

    let unbound = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(vec![audience]),
            expiration_seconds: Some(600),
            ..Default::default()
        }),
        ..Default::default()
    };
    let token = sas
        .create_token_request("pacer-agent", &PostParams::default(), &unbound)
        .await?
        .status
        .and_then(|s| s.token)
        .context("TokenRequest returned no token")?;
    let unbound_agent = token_client(env, &token).await?;
    expect_forbidden(
        "SA agent with a token bound to nothing",
        objects::apply(
            &unbound_agent,
            &ns,
            "NodeState",
            "sa-node-b",
            node_state("sa-node-b", "member"),
        )
        .await,
        "names no node",
    )?;
    Ok(())
}

/// Identity style 2 as a DaemonSet pod gets it: kubelet's projected token is bound to the
/// pod, and the API server adds the pod's node as `authentication.kubernetes.io/node-name`.
/// (No kubelet runs here: the test requests the same pod-bound token itself.)
#[tokio::test]
async fn pod_bound_token_of_the_agent_daemonset_carries_its_node() -> Result<()> {
    let env = rbac_env().await?;
    let ns = env.temp_ns("rbac-pod").await?;
    let admin = env.client().await?;
    let nodes: Api<Node> = Api::all(admin.clone());
    if nodes.get_opt("pod-node-c").await?.is_none() {
        let n = Node {
            metadata: ObjectMeta {
                name: Some("pod-node-c".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        nodes.create(&PostParams::default(), &n).await?;
    }
    let pods: Api<Pod> = Api::namespaced(admin.clone(), "pacer-system");
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"generateName": "pacer-agent-"},
        "spec": {
            "nodeName": "pod-node-c",
            "serviceAccountName": "pacer-agent",
            "containers": [{"name": "agent", "image": "pacer-agent:test"}],
        },
    }))?;
    let pod = pods.create(&PostParams::default(), &pod).await?;
    let sas: Api<ServiceAccount> = Api::namespaced(admin.clone(), "pacer-system");
    let req = TokenRequest {
        spec: Some(TokenRequestSpec {
            audiences: Some(vec!["https://kubernetes.default.svc.cluster.local".into()]),
            expiration_seconds: Some(600),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: pod.metadata.name.clone(),
                uid: pod.metadata.uid.clone(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let token = sas
        .create_token_request("pacer-agent", &PostParams::default(), &req)
        .await
        .context("TokenRequest bound to the agent pod")?
        .status
        .and_then(|s| s.token)
        .context("TokenRequest returned no token")?;
    let agent = token_client(env, &token).await?;
    objects::apply(
        &agent,
        &ns,
        "NodeState",
        "pod-node-c",
        node_state("pod-node-c", "member"),
    )
    .await
    .context("agent pod on pod-node-c writing NodeState pod-node-c")?;
    expect_forbidden(
        "agent pod on pod-node-c writing NodeState n2",
        objects::apply(&agent, &ns, "NodeState", "n2", node_state("n2", "member")).await,
        "may write only NodeState pod-node-c",
    )?;
    Ok(())
}

async fn token_client(env: &TestEnv, token: &str) -> Result<Client> {
    let server = &env.ready().server;
    let ca = env.dir().join("pki/ca.crt");
    let kubeconfig = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "t", "cluster": {"server": server, "certificate-authority": ca}}],
        "users": [{"name": "t", "user": {"token": token}}],
        "contexts": [{"name": "t", "context": {"cluster": "t", "user": "t"}}],
        "current-context": "t",
    });
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), serde_json::to_string(&kubeconfig)?)?;
    client_from_kubeconfig(file.path()).await
}
