//! Server-side apply under the field manager `kubectl-pacer`, keeping what the CLI set
//! before: an apply states the manager's whole intent, so a second `kubectl pacer`
//! change on the same object must repeat the fields the first one set, or the API server
//! would remove them. [`owned_intent`] rebuilds that intent from `managedFields`.

use anyhow::{Context, Result, bail};
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, Patch, PatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::cli::connect::FIELD_MANAGER;

/// The fields `manager` applied on `obj`, with their current values (map and scalar
/// fields only; pacer's CLI never applies list items).
pub fn owned_intent(obj: &Value, manager: &str) -> Value {
    let mut out = Value::Object(Map::new());
    let Some(entries) = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return out;
    };
    for e in entries {
        if e.get("manager").and_then(Value::as_str) != Some(manager)
            || e.get("operation").and_then(Value::as_str) != Some("Apply")
        {
            continue;
        }
        if let Some(f) = e.get("fieldsV1") {
            copy_owned(f, obj, &mut out);
        }
    }
    out
}

fn copy_owned(fields: &Value, src: &Value, dst: &mut Value) {
    let Some(fields) = fields.as_object() else {
        return;
    };
    for (k, sub) in fields {
        let Some(name) = k.strip_prefix("f:") else {
            continue;
        };
        if name == "metadata" || name == "apiVersion" || name == "kind" {
            continue;
        }
        let Some(v) = src.get(name) else { continue };
        let leaf = sub.as_object().is_none_or(|m| m.keys().all(|k| k == "."));
        if leaf || !v.is_object() {
            dst[name] = v.clone();
        } else {
            if !dst.get(name).is_some_and(Value::is_object) {
                dst[name] = Value::Object(Map::new());
            }
            copy_owned(sub, v, &mut dst[name]);
        }
    }
}

/// Deep merge: `change` wins; a `null` in `change` removes the key.
pub fn merge(base: &mut Value, change: &Value) {
    match (base.as_object_mut(), change.as_object()) {
        (Some(b), Some(c)) => {
            for (k, v) in c {
                if v.is_null() {
                    b.remove(k);
                } else if v.is_object() && b.get(k).is_some_and(Value::is_object) {
                    if let Some(slot) = b.get_mut(k) {
                        merge(slot, v);
                    }
                } else {
                    b.insert(k.clone(), without_nulls(v));
                }
            }
        }
        _ => *base = without_nulls(change),
    }
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k.clone(), without_nulls(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn api<K>(client: &Client, ns: &str) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    Api::namespaced(client.clone(), ns)
}

/// Applies `change` (a partial object body: `{"spec": {...}}`, `null` removes a field the
/// CLI set) to the object `name` of kind `K`, on top of what `kubectl-pacer` applied
/// before. `create` allows creating the object; otherwise a missing object is an error.
pub async fn apply<K>(
    client: &Client,
    ns: &str,
    name: &str,
    change: Value,
    create: bool,
) -> Result<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + std::clone::Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let a: Api<K> = api(client, ns);
    let kind = K::kind(&Default::default()).to_string();
    let current = a
        .get_opt(name)
        .await
        .with_context(|| format!("reading {kind} {name}"))?;
    let mut intent = match &current {
        Some(o) => owned_intent(&serde_json::to_value(o)?, FIELD_MANAGER),
        None if create => json!({}),
        None => bail!("{kind} {name} not found in namespace {ns}"),
    };
    merge(&mut intent, &change);
    intent["apiVersion"] = json!(K::api_version(&Default::default()));
    intent["kind"] = json!(kind);
    intent["metadata"] = json!({"name": name});
    a.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&intent),
    )
    .await
    .with_context(|| format!("applying {kind} {name}"))
}

/// Deletes an object; a missing one is not an error.
pub async fn delete<K>(client: &Client, ns: &str, name: &str) -> Result<bool>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + std::clone::Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let a: Api<K> = api(client, ns);
    match a.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(false),
        Err(e) => Err(e).with_context(|| format!("deleting {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_keeps_only_the_managers_fields() {
        let obj = json!({
            "spec": {"standby": true, "maintenance": false, "id": "1",
                     "meta": {"a": "1", "b": "2"}},
            "metadata": {"managedFields": [
                {"manager": "kubectl-pacer", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:standby": {}, "f:meta": {"f:a": {}}}}},
                {"manager": "kubectl", "operation": "Apply",
                 "fieldsV1": {"f:spec": {"f:id": {}, "f:meta": {"f:b": {}}}}}
            ]}
        });
        let mut i = owned_intent(&obj, "kubectl-pacer");
        assert_eq!(i, json!({"spec": {"standby": true, "meta": {"a": "1"}}}));
        merge(
            &mut i,
            &json!({"spec": {"maintenance": true, "meta": {"a": null}}}),
        );
        assert_eq!(
            i,
            json!({"spec": {"standby": true, "maintenance": true, "meta": {}}})
        );
        let mut fresh = json!({});
        merge(&mut fresh, &json!({"spec": {"node": null, "rules": [1]}}));
        assert_eq!(fresh, json!({"spec": {"rules": [1]}}));
    }
}
