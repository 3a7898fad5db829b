//! Size bounds for the CRD schemas. The apiserver prices every CEL rule by the largest input
//! it could see (string lengths times the sizes of all enclosing lists) and refuses CRDs over
//! its budget; unbounded lists, maps and strings price as "as big as a request can be".
//! `apply` adds maxItems / maxProperties / maxLength wherever a schema has none, generous
//! for real clusters, tight where lists nest (rules inside sets inside lists).
//!
//! In: a derived CRD. Out: the same CRD with bounds.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use serde_json::Value;

/// maxItems for a list, by the property name that holds it.
fn max_items(name: &str) -> u64 {
    match name {
        "expressions" => 12,
        "rules" | "resourceSets" => 16,
        "metaSets" | "paramSets" | "utilizationSets" | "attributeSets" | "propertySets" => 8,
        "values" => 256,
        "operations" | "portMappings" | "storage" | "recipients" | "paramsFrom" | "devices" => 64,
        "conditions" => 32,
        "resources" => 1024,
        _ => 256,
    }
}

/// maxLength for a string, by property name.
fn max_length(name: &str) -> u64 {
    match name {
        "id" | "idRef" | "name" | "attribute" | "resource" | "withResource" | "first" | "then"
        | "node" | "uname" | "key" => 253,
        "description" | "value" | "options" | "runCommand" | "message" => 4096,
        _ => 1024,
    }
}

/// Adds bounds to every CRD version's schema.
pub fn apply(crd: &mut CustomResourceDefinition) {
    for v in &mut crd.spec.versions {
        let Some(schema) = v
            .schema
            .as_mut()
            .and_then(|s| s.open_api_v3_schema.as_mut())
        else {
            continue;
        };
        let Ok(mut value) = serde_json::to_value(&*schema) else {
            continue;
        };
        walk(&mut value, "");
        if let Ok(bounded) = serde_json::from_value::<JSONSchemaProps>(value) {
            *schema = bounded;
        }
    }
}

fn walk(v: &mut Value, name: &str) {
    let Some(obj) = v.as_object_mut() else { return };
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match ty.as_str() {
        "array" if !obj.contains_key("maxItems") => {
            obj.insert("maxItems".into(), max_items(name).into());
        }
        "object"
            if obj.contains_key("additionalProperties") && !obj.contains_key("maxProperties") =>
        {
            obj.insert("maxProperties".into(), 256.into());
        }
        "string"
            if !obj.contains_key("maxLength")
                && !obj.contains_key("enum")
                && !obj.contains_key("format") =>
        {
            obj.insert("maxLength".into(), max_length(name).into());
        }
        _ => {}
    }
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (k, p) in props.iter_mut() {
            // metadata is the apiserver's; its schema is not ours to bound.
            if name.is_empty() && k == "metadata" {
                continue;
            }
            walk(p, k);
        }
    }
    if let Some(items) = obj.get_mut("items") {
        walk(items, name);
    }
    if let Some(ap) = obj.get_mut("additionalProperties") {
        walk(ap, name);
    }
}
