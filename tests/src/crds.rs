//! Installs the generated CRDs (`deploy/crds/*.yaml`) into a test API server.
//!
//! In: a client and the directory. Out: every CRD applied (server-side apply) and
//! Established, or an error naming the file or CRD that failed.

use std::{path::Path, time::Duration};

use anyhow::{Context, Result, bail};
use futures::future::try_join_all;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
    runtime::wait::{await_condition, conditions},
};

use crate::manifests;

/// Field manager of everything the tests apply.
pub const FIELD_MANAGER: &str = "pacer-e2e";

/// Every CRD in `dir` (one or more YAML documents per file), sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<CustomResourceDefinition>> {
    // deploy/crds/kustomization.yaml lists the CRDs for `kubectl apply -k`; it is not one.
    let files: Vec<_> = manifests::yaml_files(dir)?
        .into_iter()
        .filter(|f| !manifests::is_kustomization(f))
        .collect();
    if files.is_empty() {
        bail!(
            "no CRDs in {}: generate them with `cargo run -p pacer-crds --bin crdgen -- --dir deploy/crds`",
            dir.display()
        );
    }
    let mut crds = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        let docs: Vec<CustomResourceDefinition> = serde_saphyr::from_multiple(&text)
            .with_context(|| format!("{} is not a CustomResourceDefinition", f.display()))?;
        crds.extend(docs);
    }
    Ok(crds)
}

/// Applies every CRD in `dir` and waits until all are Established.
pub async fn install_all(client: &Client, dir: &Path) -> Result<Vec<String>> {
    let crds = load_dir(dir)?;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    let mut names = Vec::new();
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &pp, &Patch::Apply(crd))
            .await
            .with_context(|| format!("applying CRD {name}"))?;
        names.push(name);
    }
    try_join_all(names.iter().map(|n| wait_established(&api, n))).await?;
    Ok(names)
}

async fn wait_established(api: &Api<CustomResourceDefinition>, name: &str) -> Result<()> {
    let cond = await_condition(api.clone(), name, conditions::is_crd_established());
    match tokio::time::timeout(Duration::from_secs(30), cond).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e).with_context(|| format!("waiting for CRD {name}")),
        Err(_) => bail!("CRD {name} not Established after 30 s"),
    }
}
