//! `pacer verify`: findings name the object and field and say what to do; exit codes
//! 0 clean / 1 warnings / 2 errors, in step with `crm_verify -x` on the exported CIB
//! for the same manifests (checked where crm_verify is installed).

use std::io::Write;
use std::process::{Command, Stdio};

use pacer_operator::cib::manifest::parse_manifests;
use pacer_operator::cli::verify::{Severity, exit_code, verify};

const BASE: &str = r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterNode
metadata: {name: n1}
spec: {}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: fence}
spec: {class: stonith, type: fence_dummy, operations: [{name: monitor, interval: 60s}]}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: Primitive
metadata: {name: ip}
spec:
  class: ocf
  provider: heartbeat
  type: IPaddr2
  params: {ip: 10.0.0.1}
  operations: [{name: monitor, interval: 10s}]
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: cluster}
spec: {properties: {no-quorum-policy: ignore, startup-fencing: "false"}}
"#;

fn check(extra: &str) -> Vec<pacer_operator::cli::verify::Finding> {
    let text = format!("{BASE}---\n{extra}");
    verify(&parse_manifests(&text).expect("manifests parse"))
}

fn crm_verify_rc(extra: &str) -> Option<i32> {
    let text = format!("{BASE}---\n{extra}");
    let objects = parse_manifests(&text).ok()?;
    let xml = pacer_operator::cib::export::export_cib(&objects).ok()?;
    let mut child = Command::new("crm_verify")
        .args(["-x", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(xml.as_bytes()).ok()?;
    child.wait().ok()?.code()
}

#[test]
fn a_clean_configuration_passes() {
    let f = check(
        "apiVersion: ha.pacer.dev/v1alpha1\nkind: Location\nmetadata: {name: l}\nspec: {resource: ip, node: n1, score: 100}\n",
    );
    assert_eq!(exit_code(&f), 0, "{f:?}");
    if let Some(rc) = crm_verify_rc(
        "apiVersion: ha.pacer.dev/v1alpha1\nkind: Location\nmetadata: {name: l}\nspec: {resource: ip, node: n1, score: 100}\n",
    ) {
        assert_eq!(rc, 0);
    }
}

#[test]
fn a_constraint_on_an_unknown_resource_is_an_error_naming_object_and_field() {
    let extra = "apiVersion: ha.pacer.dev/v1alpha1\nkind: Colocation\nmetadata: {name: c}\nspec: {resource: ip, withResource: db, score: INFINITY}\n";
    let f = check(extra);
    assert_eq!(exit_code(&f), 2);
    let e = f.iter().find(|x| x.severity == Severity::Error).unwrap();
    assert_eq!(e.object, "Colocation/c");
    assert_eq!(e.field.as_deref(), Some("spec.withResource"));
    assert!(e.message.contains("\"db\"") && e.fix.contains("ip"), "{e}");
}

#[test]
fn pcs_warnings_fencing_disabled_and_no_monitor() {
    let text = BASE.replace(
        "startup-fencing: \"false\"}",
        "startup-fencing: \"false\", stonith-enabled: \"false\"}",
    ) + "---\napiVersion: ha.pacer.dev/v1alpha1\nkind: Primitive\nmetadata: {name: d}\nspec: {class: ocf, provider: heartbeat, type: Dummy}\n";
    let f = verify(&parse_manifests(&text).unwrap());
    assert_eq!(exit_code(&f), 1, "{f:?}");
    assert!(
        f.iter()
            .any(|x| x.field.as_deref() == Some("spec.properties.stonith-enabled"))
    );
    assert!(
        f.iter()
            .any(|x| x.object == "Primitive/d" && x.message.contains("no monitor"))
    );
}

#[test]
fn no_fencing_device_with_stonith_enabled_is_an_error_as_for_crm_verify() {
    let text = BASE.replace(
        "kind: Primitive\nmetadata: {name: fence}\nspec: {class: stonith",
        "kind: Primitive\nmetadata: {name: fence}\nspec: {class: ocf, provider: heartbeat",
    );
    let f = verify(&parse_manifests(&text).unwrap());
    assert_eq!(exit_code(&f), 2, "{f:?}");
    assert!(f.iter().any(|x| x.message.contains("no fencing device")));
    let objects = parse_manifests(&text).unwrap();
    let xml = pacer_operator::cib::export::export_cib(&objects).unwrap();
    if let Ok(mut child) = Command::new("crm_verify")
        .args(["-x", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(xml.as_bytes())
            .unwrap();
        assert_ne!(
            child.wait().unwrap().code(),
            Some(0),
            "crm_verify rejects it too"
        );
    }
}

#[test]
fn impossible_constraints() {
    let f = check(
        "apiVersion: ha.pacer.dev/v1alpha1\nkind: Colocation\nmetadata: {name: self}\nspec: {resource: ip, withResource: ip, score: INFINITY}\n---\napiVersion: ha.pacer.dev/v1alpha1\nkind: Location\nmetadata: {name: a}\nspec: {resource: ip, node: n1, score: INFINITY}\n---\napiVersion: ha.pacer.dev/v1alpha1\nkind: Location\nmetadata: {name: b}\nspec: {resource: ip, node: n1, score: -INFINITY}\n",
    );
    assert_eq!(exit_code(&f), 2);
    assert!(
        f.iter()
            .any(|x| x.object == "Colocation/self" && x.message.contains("itself"))
    );
    assert!(f.iter().any(|x| x.message.contains("the ban wins")));
}
