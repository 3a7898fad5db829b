//! Bad manifests are rejected by the API server itself (OpenAPI schema + CEL rules in the
//! CRDs), with a message naming the field, and a rejected apply changes nothing stored.
//!
//! Each case applies a good object first, then a bad version of the same object, and
//! reads it back.

use anyhow::{Context, Result, bail, ensure};
use pacer_e2e::{TestEnv, objects};
use serde_json::{Value, json};

struct Case {
    what: &'static str,
    kind: &'static str,
    good: Value,
    bad: Value,
    /// Every one of these must appear in the API server's message.
    expect: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    let ipaddr = |ops: Value| {
        json!({
            "class": "ocf", "provider": "heartbeat", "type": "IPaddr2",
            "params": {"ip": "192.0.2.10"}, "operations": ops,
        })
    };
    vec![
        Case {
            what: "non-integer score",
            kind: "Location",
            good: json!({"resource": "vip", "node": "n1", "score": 100}),
            bad: json!({"resource": "vip", "node": "n1", "score": "high"}),
            expect: &["spec.score", "high"],
        },
        Case {
            what: "interval 10x",
            kind: "Primitive",
            good: ipaddr(json!([{"name": "monitor", "interval": "10s"}])),
            bad: ipaddr(json!([{"name": "monitor", "interval": "10x"}])),
            expect: &["spec.operations[0].interval", "interval"],
        },
        Case {
            what: "Location with both node and rules",
            kind: "Location",
            good: json!({"resource": "vip", "node": "n1", "score": "INFINITY"}),
            bad: json!({
                "resource": "vip", "node": "n1", "score": "INFINITY",
                "rules": [{"score": 50, "expressions": [
                    {"attribute": {"attribute": "#uname", "operation": "eq", "value": "n2"}}
                ]}],
            }),
            expect: &["spec.node", "spec.rules"],
        },
        Case {
            what: "Clone with promotedMax above cloneMax",
            kind: "Clone",
            good: json!({"resource": "db", "promotable": true, "cloneMax": 2, "promotedMax": 1}),
            bad: json!({"resource": "db", "promotable": true, "cloneMax": 2, "promotedMax": 3}),
            expect: &["spec.promotedMax", "spec.cloneMax"],
        },
        Case {
            what: "Primitive without type",
            kind: "Primitive",
            good: json!({"class": "ocf", "provider": "heartbeat", "type": "Dummy"}),
            bad: json!({"class": "ocf", "provider": "heartbeat"}),
            expect: &["spec.type"],
        },
        Case {
            what: "password in a fencing device's params",
            kind: "Primitive",
            good: json!({
                "class": "stonith", "type": "fence_ipmilan",
                "params": {"ip": "192.0.2.100", "username": "admin", "lanplus": "1"},
                "paramsFrom": [{"name": "password", "secretKeyRef": {"name": "pacer-fencing", "key": "bmc1"}}],
            }),
            bad: json!({
                "class": "stonith", "type": "fence_ipmilan",
                "params": {"ip": "192.0.2.100", "username": "admin", "lanplus": "1", "password": "s3cret"},
            }),
            expect: &["spec.params", "password", "secretKeyRef"],
        },
        Case {
            what: "passwd in a fencing device's paramSets",
            kind: "Primitive",
            good: json!({
                "class": "stonith", "type": "fence_ipmilan",
                "paramSets": [{"id": "bmc", "values": [{"name": "ip", "value": "192.0.2.100"}]}],
            }),
            bad: json!({
                "class": "stonith", "type": "fence_ipmilan",
                "paramSets": [{"id": "bmc", "values": [
                    {"name": "ip", "value": "192.0.2.100"}, {"name": "passwd", "value": "s3cret"}
                ]}],
            }),
            expect: &["spec.paramSets", "secretKeyRef"],
        },
    ]
}

#[tokio::test]
async fn bad_manifests_are_rejected_naming_the_field_and_change_nothing() -> Result<()> {
    let env = TestEnv::shared().await?;
    let ns = env.temp_ns("validation").await?;
    let client = env.client().await?;
    let mut failures = Vec::new();
    for (i, case) in cases().into_iter().enumerate() {
        let name = format!("case-{i}");
        if let Err(e) = check(&client, &ns, &name, &case).await {
            failures.push(format!("{} ({} {name}): {e:#}", case.what, case.kind));
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} case(s) failed:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(())
}

async fn check(client: &kube::Client, ns: &str, name: &str, case: &Case) -> Result<()> {
    let stored = objects::apply(client, ns, case.kind, name, case.good.clone())
        .await
        .context("the good manifest was rejected")?;
    let status =
        objects::rejection(objects::apply(client, ns, case.kind, name, case.bad.clone()).await)?;
    ensure!(
        status.code == 422,
        "expected 422 Invalid, got {} {}: {}",
        status.code,
        status.reason,
        status.message
    );
    for needle in case.expect {
        ensure!(
            status.message.contains(needle),
            "message does not name {needle:?}: {}",
            status.message
        );
    }
    let after = objects::pacer_api(client, ns, case.kind).get(name).await?;
    ensure!(
        after.metadata.resource_version == stored.metadata.resource_version,
        "resourceVersion changed from {:?} to {:?}",
        stored.metadata.resource_version,
        after.metadata.resource_version
    );
    ensure!(
        after.data["spec"] == stored.data["spec"],
        "spec changed: {} -> {}",
        stored.data["spec"],
        after.data["spec"]
    );
    Ok(())
}

/// The same through kubectl: what an administrator sees on `kubectl apply` of a bad file.
#[tokio::test]
async fn kubectl_apply_of_a_bad_file_reports_the_field() -> Result<()> {
    let env = TestEnv::shared().await?;
    let ns = env.temp_ns("validation-kubectl").await?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "apiVersion: ha.pacer.dev/v1alpha1\nkind: Primitive\nmetadata:\n  name: vip\nspec:\n  class: ocf\n  \
         provider: heartbeat\n  type: IPaddr2\n  operations:\n  - name: monitor\n    interval: 10x\n",
    )?;
    let out = env
        .kubectl(&["apply", "-n", &ns, "-f", file.to_str().unwrap_or_default()])
        .await?;
    ensure!(
        !out.success,
        "kubectl apply accepted interval 10x:\n{}",
        out.stdout
    );
    ensure!(
        out.stderr.contains("spec.operations[0].interval"),
        "kubectl's error does not name the field:\n{}",
        out.stderr
    );
    let get = env.kubectl(&["get", "primitive", "vip", "-n", &ns]).await?;
    ensure!(
        !get.success && get.stderr.contains("NotFound"),
        "the rejected Primitive exists: {}{}",
        get.stdout,
        get.stderr
    );
    Ok(())
}
