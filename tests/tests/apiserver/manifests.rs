//! Every manifest in examples/ and deploy/ is accepted by the API server
//! (`kubectl apply --dry-run=server`), and each install (`kubectl apply -k` of deploy/ or
//! of an overlay) covers every CRD.

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

/// The `resources` of a kustomization file, as written.
fn kustomization_resources(file: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
    let doc: serde_json::Value =
        serde_saphyr::from_str(&text).with_context(|| file.display().to_string())?;
    Ok(doc["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default())
}

#[test]
fn crd_kustomization_lists_every_crd_file() -> Result<()> {
    let root = repo_root().join("deploy");
    let crds = root.join("crds");
    let listed = kustomization_resources(&crds.join("kustomization.yaml"))?;
    for f in manifests::yaml_files(&crds)? {
        if manifests::is_kustomization(&f) {
            continue;
        }
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ensure!(
            listed.contains(&name),
            "deploy/crds/kustomization.yaml does not list {name} (add it under resources)"
        );
    }
    for r in &listed {
        ensure!(
            crds.join(r).is_file(),
            "deploy/crds/kustomization.yaml lists {r}, which does not exist"
        );
    }
    // The installs that include the CRDs directory: the base and, via production, dev.
    for (kustomization, entry) in [
        ("kustomization.yaml", "crds"),
        ("overlays/production/kustomization.yaml", "../../crds"),
    ] {
        let resources = kustomization_resources(&root.join(kustomization))?;
        ensure!(
            resources.iter().any(|r| r == entry),
            "deploy/{kustomization} does not list {entry}: {resources:?}"
        );
    }
    Ok(())
}

/// The production overlay carries a copy of deploy/namespace.yaml (it cannot include a file
/// outside its directory); the two must not drift apart.
#[test]
fn production_overlay_namespace_equals_the_base_one() -> Result<()> {
    let root = repo_root().join("deploy");
    let base = manifests::documents(&root.join("namespace.yaml"))?;
    let copy = manifests::documents(&root.join("overlays/production/system-namespace.yaml"))?;
    ensure!(
        base == copy,
        "deploy/overlays/production/system-namespace.yaml differs from deploy/namespace.yaml: \
         {copy:?} vs {base:?}"
    );
    Ok(())
}

/// `kubectl apply -k` of the base and of each overlay installs every CRD in deploy/crds and
/// the pacer-system namespace; the overlays also the operator and the agents.
#[tokio::test]
async fn every_install_kustomization_renders_all_crds() -> Result<()> {
    let env = TestEnv::shared().await?;
    let mut want: Vec<String> = pacer_e2e::crds::load_dir(&pacer_e2e::crds_dir())?
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    want.sort();
    ensure!(!want.is_empty(), "no CRDs in deploy/crds");
    for (dir, workloads) in [
        ("deploy", false),
        ("deploy/overlays/production", true),
        ("deploy/overlays/dev", true),
    ] {
        let path = repo_root().join(dir);
        let out = env
            .kubectl(&["kustomize", &path.to_string_lossy()])
            .await?
            .ok()?;
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&out.stdout)
            .with_context(|| format!("parsing `kubectl kustomize {dir}`"))?;
        let named = |kind: &str| -> Vec<String> {
            let mut v: Vec<String> = docs
                .iter()
                .filter(|d| d["kind"] == kind)
                .filter_map(|d| d["metadata"]["name"].as_str().map(String::from))
                .collect();
            v.sort();
            v
        };
        let got = named("CustomResourceDefinition");
        let missing: Vec<_> = want.iter().filter(|n| !got.contains(n)).collect();
        let extra: Vec<_> = got.iter().filter(|n| !want.contains(n)).collect();
        ensure!(
            missing.is_empty() && extra.is_empty(),
            "kubectl kustomize {dir}: CRDs missing {missing:?}, not in deploy/crds {extra:?} \
             (deploy/crds/kustomization.yaml lists the files)"
        );
        ensure!(
            named("Namespace").iter().any(|n| n == "pacer-system"),
            "{dir} does not create namespace pacer-system"
        );
        if workloads {
            ensure!(
                named("Deployment") == ["pacer-operator"] && named("DaemonSet") == ["pacer-agent"],
                "{dir} lacks the operator Deployment or the agent DaemonSet"
            );
        }
    }
    Ok(())
}
