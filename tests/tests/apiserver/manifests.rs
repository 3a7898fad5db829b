//! Every manifest in examples/ and deploy/ is accepted by the API server
//! (`kubectl apply --dry-run=server`), and deploy/kustomization.yaml covers every CRD.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use futures::{StreamExt, stream};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api,
    api::{ObjectMeta, PostParams},
};
use pacer_e2e::{TestEnv, manifests, repo_root};

/// Creates a namespace unless it exists (dry-run does not create the namespaces it applies,
/// so objects inside them need the namespace for real).
async fn ensure_namespace(env: &TestEnv, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(env.client().await?);
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    match api.create(&PostParams::default(), &ns).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `kubectl apply --dry-run=server` of one file (or `-k` of a kustomization); `None` when
/// the file holds no documents, else the failure text if the server rejected it.
async fn dry_run_file(env: &TestEnv, file: &Path) -> Result<Option<Option<String>>> {
    let out = if manifests::is_kustomization(file) {
        let parent = file
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        // Overlays put objects in namespaces they also create (deploy/overlays/*).
        let rendered = env.kubectl(&["kustomize", &parent]).await?;
        if rendered.success {
            let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&rendered.stdout)
                .with_context(|| format!("parsing `kubectl kustomize {parent}`"))?;
            for d in &docs {
                if let Some(ns) = d["metadata"]["namespace"].as_str() {
                    ensure_namespace(env, ns).await?;
                }
            }
        }
        env.kubectl(&["apply", "--dry-run=server", "-k", &parent])
            .await?
    } else {
        let docs = manifests::documents(file)?;
        if docs.is_empty() {
            return Ok(None);
        }
        for d in &docs {
            if let Some(ns) = d["metadata"]["namespace"].as_str() {
                ensure_namespace(env, ns).await?;
            }
        }
        env.kubectl(&["apply", "--dry-run=server", "-f", &file.to_string_lossy()])
            .await?
    };
    if out.success {
        return Ok(Some(None));
    }
    // CRD cost errors list every path; the start says enough to find the cause.
    let mut text = format!("{}{}", out.stdout, out.stderr);
    if text.len() > 1500 {
        let cut = (0..=1500)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push_str(" [...]");
    }
    Ok(Some(Some(text)))
}

async fn dry_run_dir(env: &TestEnv, dir: &Path) -> Result<usize> {
    let files = manifests::yaml_files_recursive(dir)?;
    // A few kubectl processes at once: the server, not kubectl, is the slow part.
    let results: Vec<(PathBuf, Result<Option<Option<String>>>)> = stream::iter(files)
        .map(|f| async move {
            let r = dry_run_file(env, &f).await;
            (f, r)
        })
        .buffered(4)
        .collect()
        .await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, result) in results {
        let shown = file
            .strip_prefix(repo_root())
            .unwrap_or(&file)
            .display()
            .to_string();
        match result.with_context(|| shown.clone())? {
            None => {}
            Some(None) => checked += 1,
            Some(Some(text)) => {
                checked += 1;
                failures.push(format!("{shown}:\n{text}"));
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "{} manifest(s) rejected by the API server:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    Ok(checked)
}

#[tokio::test]
async fn deploy_manifests_pass_server_dry_run() -> Result<()> {
    let env = TestEnv::shared().await?;
    ensure_namespace(env, "pacer-system").await?;
    let n = dry_run_dir(env, &repo_root().join("deploy")).await?;
    ensure!(n > 0, "no manifests found in deploy/");
    Ok(())
}

#[tokio::test]
async fn example_manifests_pass_server_dry_run() -> Result<()> {
    let env = TestEnv::shared().await?;
    ensure_namespace(env, "pacer-system").await?;
    let dir = repo_root().join("examples");
    let n = dry_run_dir(env, &dir).await?;
    // examples/ is written by another part of the project; an empty one is reported, not hidden.
    if n == 0 {
        eprintln!("note: no manifests in {} yet", dir.display());
    }
    Ok(())
}

#[test]
fn deploy_kustomization_lists_every_crd_file() -> Result<()> {
    let root = repo_root().join("deploy");
    let text = std::fs::read_to_string(root.join("kustomization.yaml"))?;
    let docs: serde_json::Value = serde_saphyr::from_str(&text)?;
    let listed: Vec<String> = docs["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    for f in manifests::yaml_files(&root.join("crds"))? {
        let rel = format!(
            "crds/{}",
            f.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        ensure!(
            listed.contains(&rel),
            "deploy/kustomization.yaml does not list {rel}"
        );
    }
    for r in &listed {
        ensure!(
            root.join(r).exists(),
            "deploy/kustomization.yaml lists {r}, which does not exist"
        );
    }
    Ok(())
}
