//! The generated CRDs as a user meets them: established, documented (`kubectl explain`),
//! grouped in the `pacer` category with printer columns (`kubectl get pacer`).

use anyhow::{Context, Result, ensure};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use pacer_e2e::{TestEnv, crds, objects};
use serde_json::json;

#[tokio::test]
async fn every_crd_is_established_and_in_the_pacer_category() -> Result<()> {
    let env = TestEnv::shared().await?;
    let files = crds::load_dir(&pacer_e2e::crds_dir())?;
    ensure!(!files.is_empty(), "deploy/crds is empty");
    let api: Api<CustomResourceDefinition> = Api::all(env.client().await?);
    for want in &files {
        let name = want.metadata.name.clone().unwrap_or_default();
        let got = api
            .get(&name)
            .await
            .with_context(|| format!("CRD {name} not on the server"))?;
        let conds = got.status.and_then(|s| s.conditions).unwrap_or_default();
        let established = conds
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        let names_accepted = conds
            .iter()
            .any(|c| c.type_ == "NamesAccepted" && c.status == "True");
        ensure!(
            established && names_accepted,
            "CRD {name} conditions: {conds:?}"
        );
        let categories = got.spec.names.categories.unwrap_or_default();
        ensure!(
            categories.iter().any(|c| c == "pacer"),
            "CRD {name} is not in category pacer: {categories:?}"
        );
    }
    // kubectl sees each kind under the category.
    let out = env
        .kubectl(&["api-resources", "--categories=pacer", "-o", "name"])
        .await?
        .ok()?;
    for want in &files {
        let name = want.metadata.name.clone().unwrap_or_default();
        ensure!(
            out.stdout.lines().any(|l| l == name),
            "kubectl api-resources --categories=pacer lacks {name}:\n{}",
            out.stdout
        );
    }
    ensure!(
        out.stdout.lines().count() == files.len(),
        "unexpected kinds in category pacer:\n{}",
        out.stdout
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_explain_shows_field_docs() -> Result<()> {
    let env = TestEnv::shared().await?;
    let out = env
        .kubectl(&["explain", "primitive.spec.operations"])
        .await?
        .ok()?;
    // The field list of an operation with its docs, as written on the Rust types.
    for needle in [
        "KIND:",
        "Primitive",
        "FIELD: operations",
        "interval",
        "onFail",
        "timeout",
        "name",
    ] {
        ensure!(
            out.stdout.contains(needle),
            "kubectl explain primitive.spec.operations lacks {needle:?}:\n{}",
            out.stdout
        );
    }
    ensure!(
        out.stdout.contains("What to do when this action fails"),
        "the onFail doc comment is missing from kubectl explain:\n{}",
        out.stdout
    );
    let out = env
        .kubectl(&["explain", "clone.spec.promotedMax"])
        .await?
        .ok()?;
    ensure!(
        out.stdout.contains("Promoted instances in total"),
        "{}",
        out.stdout
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_explain_describes_every_kind() -> Result<()> {
    let env = TestEnv::shared().await?;
    let mut missing = Vec::new();
    for crd in crds::load_dir(&pacer_e2e::crds_dir())? {
        let plural = crd.spec.names.plural.clone();
        let out = env.kubectl(&["explain", &plural]).await?.ok()?;
        // The kind's doc from #[kube(doc = ...)] is the DESCRIPTION kubectl shows.
        let doc = crd.spec.versions[0]
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref())
            .and_then(|s| s.description.clone())
            .unwrap_or_default();
        let first_words: String = doc.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        if doc.is_empty()
            || !out
                .stdout
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&first_words)
        {
            missing.push(format!(
                "{plural}: {:?}",
                out.stdout.lines().take(8).collect::<Vec<_>>()
            ));
        }
    }
    ensure!(
        missing.is_empty(),
        "kinds without a description in kubectl explain:\n{}",
        missing.join("\n")
    );
    Ok(())
}

#[tokio::test]
async fn kubectl_get_pacer_lists_kinds_with_printer_columns() -> Result<()> {
    let env = TestEnv::shared().await?;
    let ns = env.temp_ns("get-pacer").await?;
    let client = env.client().await?;
    objects::apply(
        &client,
        &ns,
        "Primitive",
        "vip",
        json!({
            "class": "ocf", "provider": "heartbeat", "type": "IPaddr2",
            "params": {"ip": "192.0.2.10", "cidr_netmask": "24"},
            "operations": [{"name": "monitor", "interval": "10s", "timeout": "20s"}],
        }),
    )
    .await?;
    objects::apply(
        &client,
        &ns,
        "Location",
        "vip-prefers-n1",
        json!({
            "resource": "vip", "node": "n1", "score": 100,
        }),
    )
    .await?;
    objects::apply(
        &client,
        &ns,
        "Clone",
        "db-clone",
        json!({
            "resource": "db", "promotable": true, "cloneMax": 2, "promotedMax": 1,
        }),
    )
    .await?;
    let out = env.kubectl(&["get", "pacer", "-n", &ns]).await?.ok()?;
    let text = out.stdout;
    for needle in [
        "primitive.ha.pacer.dev/vip",
        "IPaddr2",
        "CLASS",
        "TYPE",
        "ROLE",
        "NODE",
        "FAILURES",
        "location.ha.pacer.dev/vip-prefers-n1",
        "SCORE",
        "100",
        "clone.ha.pacer.dev/db-clone",
        "PROMOTABLE",
        "true",
    ] {
        ensure!(
            text.contains(needle),
            "kubectl get pacer lacks {needle:?}:\n{text}"
        );
    }
    Ok(())
}
