//! Reading manifests: YAML files in a directory, split into documents.
//!
//! In: paths. Out: `(file, document)` pairs as JSON values, in file-name order.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

/// `*.yaml` / `*.yml` files directly in `dir`, sorted; empty when `dir` does not exist.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Like [`yaml_files`], descending into subdirectories.
pub fn yaml_files_recursive(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = yaml_files(dir)?;
    if dir.is_dir() {
        let mut subdirs: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        for d in subdirs {
            out.extend(yaml_files_recursive(&d)?);
        }
    }
    Ok(out)
}

/// The non-empty YAML documents of a file, as JSON values.
pub fn documents(file: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("parsing YAML in {}", file.display()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Whether a manifest file is a kustomization (applied with `-k`, not `-f`).
pub fn is_kustomization(file: &Path) -> bool {
    matches!(
        file.file_name().and_then(|n| n.to_str()),
        Some("kustomization.yaml" | "kustomization.yml" | "Kustomization")
    )
}
