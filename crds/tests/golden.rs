//! deploy/crds/*.yaml must equal what the types generate. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p pacer-crds --test golden` (or `crdgen --dir deploy/crds`).
//! deploy/crds/kustomization.yaml is not generated: a new kind must be added there by hand
//! (tests/tests/apiserver/manifests.rs fails until it is).

use std::{collections::BTreeSet, fs, path::PathBuf};

#[test]
fn committed_crd_yaml_is_current() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    if update {
        fs::create_dir_all(&dir).unwrap();
    }
    let mut expected_files = BTreeSet::new();
    let mut stale = Vec::new();
    for crd in pacer_crds::all_crds() {
        let file = format!("{}.yaml", crd.spec.names.plural);
        let path = dir.join(&file);
        let want = pacer_crds::crd_yaml(&crd).unwrap();
        if update {
            fs::write(&path, &want).unwrap();
        } else if fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            stale.push(file.clone());
        }
        expected_files.insert(file);
    }
    let present: BTreeSet<String> = fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                // The hand-written kustomization.yaml that lists the CRDs for kubectl -k.
                .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
                .collect()
        })
        .unwrap_or_default();
    let extra: Vec<_> = present.difference(&expected_files).collect();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "deploy/crds is stale (changed: {stale:?}, unexpected: {extra:?}); \
         regenerate with UPDATE_GOLDEN=1 cargo test -p pacer-crds --test golden"
    );
}

#[test]
fn every_kind_is_namespaced_in_category_pacer_with_printer_columns() {
    for crd in pacer_crds::all_crds() {
        let name = &crd.spec.names.kind;
        assert_eq!(crd.spec.group, "ha.pacer.dev");
        assert_eq!(crd.spec.scope, "Namespaced", "{name}");
        assert_eq!(
            crd.spec.names.categories.as_deref(),
            Some(&["pacer".to_string()][..]),
            "{name}"
        );
        assert!(
            crd.spec
                .names
                .short_names
                .as_ref()
                .is_some_and(|s| !s.is_empty()),
            "{name}"
        );
        let v = &crd.spec.versions[0];
        let cols = v.additional_printer_columns.as_ref().unwrap();
        assert!(
            cols.iter().any(|c| c.name == "Age"),
            "{name} lacks an Age column"
        );
        let schema = v
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap();
        assert!(
            schema
                .description
                .as_ref()
                .is_some_and(|d| d.contains("CIB")),
            "{name}"
        );
    }
}
