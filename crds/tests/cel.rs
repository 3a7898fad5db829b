//! CEL rules checked client-side (kube `cel` feature): what the schema alone cannot say.

use pacer_crds::*;
use serde_json::json;

fn prim(spec: serde_json::Value) -> Primitive {
    serde_json::from_value(json!({
        "apiVersion": API_VERSION, "kind": "Primitive",
        "metadata": {"name": "p", "namespace": "c1"}, "spec": spec,
    }))
    .unwrap()
}

fn errors<E: std::fmt::Debug>(r: Result<(), E>) -> String {
    match r {
        Ok(()) => String::new(),
        Err(e) => format!("{e:?}"),
    }
}

#[test]
fn primitive_needs_a_type_or_template() {
    let ok = prim(json!({"class": "ocf", "provider": "heartbeat", "type": "Dummy"}));
    assert_eq!(errors(ok.validate_cel()), "");
    let tpl = prim(json!({"template": "web-template"}));
    assert_eq!(errors(tpl.validate_cel()), "");
    let bad = prim(json!({"class": "ocf", "provider": "heartbeat"}));
    assert!(errors(bad.validate_cel()).contains("needs spec.type"));
}

#[test]
fn passwords_are_refused_with_a_pointer_to_secrets() {
    let bad = prim(json!({"class": "stonith", "type": "fence_ipmilan",
        "params": {"ip": "10.0.0.1", "RI_PASSWORD": "x"}}));
    let e = errors(bad.validate_cel());
    assert!(e.contains("paramsFrom"), "{e}");
    let bad_set = prim(json!({"class": "stonith", "type": "fence_ilo",
        "paramSets": [{"id": "s", "values": [{"name": "passwd", "value": "x"}]}]}));
    assert!(errors(bad_set.validate_cel()).contains("Secret"));
    let ok = prim(json!({"class": "stonith", "type": "fence_ipmilan",
        "params": {"ip": "10.0.0.1", "username": "admin"},
        "paramsFrom": [{"name": "password", "secretKeyRef": {"name": "bmc", "key": "password"}}]}));
    assert_eq!(errors(ok.validate_cel()), "");
}

/// Scores and intervals are checked by an OpenAPI `pattern` (a CEL `matches` there would
/// exceed the apiserver's cost budget); the apiserver enforces it, pacer's importer uses the
/// same syntax through `Score::is_valid` / `Interval::is_valid`.
#[test]
fn scores_and_intervals_carry_their_pattern() {
    let crds = all_crds();
    let schema = |kind: &str| {
        let crd = crds.iter().find(|c| c.spec.names.kind == kind).unwrap();
        serde_json::to_value(&crd.spec.versions[0].schema).unwrap()
    };
    let loc = schema("Location");
    let score = &loc["openAPIV3Schema"]["properties"]["spec"]["properties"]["score"];
    assert_eq!(score["pattern"], common::SCORE_PATTERN);
    assert_eq!(score["x-kubernetes-int-or-string"], true);
    let prim = schema("Primitive");
    let op = &prim["openAPIV3Schema"]["properties"]["spec"]["properties"]["operations"]["items"];
    for f in ["interval", "timeout", "startDelay"] {
        assert_eq!(
            op["properties"][f]["pattern"],
            common::INTERVAL_PATTERN,
            "{f}"
        );
    }
    // Integers are accepted as-is in YAML.
    let l: Location = serde_json::from_value(json!({"apiVersion": API_VERSION, "kind": "Location",
        "metadata": {"name": "l"}, "spec": {"resource": "ip", "node": "n1", "score": 100}}))
    .unwrap();
    assert_eq!(l.spec.score.unwrap().as_str(), "100");
}

/// Every list, map and string in a pacer schema is bounded, or the apiserver refuses the
/// CRDs for exceeding the CEL cost budget (checked against kube-apiserver 1.37).
#[test]
fn every_list_map_and_string_is_bounded() {
    fn walk(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        let Some(o) = v.as_object() else { return };
        match o.get("type").and_then(|t| t.as_str()) {
            Some("array") if !o.contains_key("maxItems") => out.push(path.to_string()),
            Some("string")
                if !o.contains_key("maxLength")
                    && !o.contains_key("enum")
                    && !o.contains_key("format") =>
            {
                out.push(path.to_string())
            }
            Some("object")
                if o.contains_key("additionalProperties") && !o.contains_key("maxProperties") =>
            {
                out.push(path.to_string())
            }
            _ => {}
        }
        if let Some(p) = o.get("properties").and_then(|p| p.as_object()) {
            for (k, v) in p {
                if path.is_empty() && k == "metadata" {
                    continue;
                }
                walk(v, &format!("{path}.{k}"), out);
            }
        }
        for k in ["items", "additionalProperties"] {
            if let Some(v) = o.get(k) {
                walk(v, &format!("{path}[]"), out);
            }
        }
    }
    for crd in all_crds() {
        if matches!(
            crd.spec.names.kind.as_str(),
            "Transition" | "FencingHistory"
        ) {
            continue;
        }
        let schema = serde_json::to_value(
            &crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema,
        )
        .unwrap();
        let mut unbounded = Vec::new();
        walk(&schema, "", &mut unbounded);
        assert!(
            unbounded.is_empty(),
            "{}: unbounded {unbounded:?}",
            crd.spec.names.kind
        );
    }
}

#[test]
fn location_needs_exactly_one_of_node_or_rules() {
    let mk = |spec: serde_json::Value| -> Location {
        serde_json::from_value(json!({"apiVersion": API_VERSION, "kind": "Location",
            "metadata": {"name": "l"}, "spec": spec}))
        .unwrap()
    };
    let rule = json!([{"score": "-INFINITY", "expressions": [
        {"attribute": {"attribute": "pingd", "operation": "not_defined"}}]}]);
    assert_eq!(
        errors(mk(json!({"resource": "ip", "rules": rule})).validate_cel()),
        ""
    );
    let both = mk(json!({"resource": "ip", "node": "n1", "score": 1, "rules": rule}));
    assert!(errors(both.validate_cel()).contains("exactly one of spec.node"));
    let neither = mk(json!({"resource": "ip"}));
    assert!(errors(neither.validate_cel()).contains("exactly one of spec.node"));
    let no_value = mk(
        json!({"resource": "ip", "rules": [{"score": 5, "expressions": [
        {"attribute": {"attribute": "#uname", "operation": "eq"}}]}]}),
    );
    assert!(errors(no_value.validate_cel()).contains("value is required"));
    let two_kinds = mk(
        json!({"resource": "ip", "rules": [{"score": 5, "expressions": [
        {"attribute": {"attribute": "a", "operation": "defined"},
         "date": {"operation": "gt", "start": "2024-01-01"}}]}]}),
    );
    assert!(errors(two_kinds.validate_cel()).contains("exactly one of attribute"));
}

#[test]
fn promoted_max_cannot_exceed_clone_max() {
    let mk = |spec: serde_json::Value| -> Clone {
        serde_json::from_value(json!({"apiVersion": API_VERSION, "kind": "Clone",
            "metadata": {"name": "c"}, "spec": spec}))
        .unwrap()
    };
    let ok = mk(json!({"resource": "db", "promotable": true, "cloneMax": 2, "promotedMax": 1}));
    assert_eq!(errors(ok.validate_cel()), "");
    let bad = mk(json!({"resource": "db", "promotable": true, "cloneMax": 2, "promotedMax": 3}));
    assert!(errors(bad.validate_cel()).contains("promotedMax must not exceed"));
    let not_promotable = mk(json!({"resource": "db", "promotedMax": 1}));
    assert!(errors(not_promotable.validate_cel()).contains("need promotable"));
    let meta_dup = mk(json!({"resource": "db", "meta": {"clone-max": "2"}}));
    assert!(errors(meta_dup.validate_cel()).contains("typed fields"));
}

#[test]
fn fencing_levels_need_one_target_form() {
    let mk = |level: serde_json::Value| -> FencingTopology {
        serde_json::from_value(json!({"apiVersion": API_VERSION, "kind": "FencingTopology",
            "metadata": {"name": "fencing-topology"}, "spec": {"levels": [level]}}))
        .unwrap()
    };
    let ok = mk(json!({"index": 1, "target": "node1", "devices": ["ipmi-node1"]}));
    assert_eq!(errors(ok.validate_cel()), "");
    let bad =
        mk(json!({"index": 1, "target": "node1", "targetPattern": "node.*", "devices": ["d"]}));
    assert!(errors(bad.validate_cel()).contains("exactly one of target"));
}
