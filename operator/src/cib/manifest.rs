//! Multi-document YAML manifests to typed [`Object`]s and back. Accepts `kind: List`
//! (as `kubectl get -o yaml` prints) and Secrets; any other kind is an error naming the
//! document.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Error, Object};

/// Renders objects as a multi-document YAML stream (`---` before each document).
pub fn to_yaml(objects: &[Object]) -> Result<String, Error> {
    let mut out = String::new();
    for o in objects {
        let v = o.to_json().map_err(|e| Error::Yaml(e.to_string()))?;
        out.push_str("---\n");
        out.push_str(&serde_saphyr::to_string(&v).map_err(|e| Error::Yaml(e.to_string()))?);
    }
    Ok(out)
}

/// Parses a multi-document YAML (or JSON) stream.
pub fn parse_manifests(text: &str) -> Result<Vec<Object>, Error> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| Error::Manifest {
        doc: 0,
        message: e.to_string(),
    })?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        parse_value(doc, i + 1, &mut out)?;
    }
    Ok(out)
}

fn parse_value(doc: Value, n: usize, out: &mut Vec<Object>) -> Result<(), Error> {
    if doc.is_null() {
        return Ok(());
    }
    let err = |message: String| Error::Manifest { doc: n, message };
    let kind = doc
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let api = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if kind == "List" {
        let items = match doc.get("items") {
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(err("a List needs items".into())),
        };
        for it in items {
            parse_value(it, n, out)?;
        }
        return Ok(());
    }
    if api == "v1" && kind == "Secret" {
        out.push(Object::Secret(typed(doc, &kind, &name).map_err(err)?));
        return Ok(());
    }
    if api != pacer_crds::API_VERSION {
        return Err(err(format!(
            "apiVersion {api:?} kind {kind:?} is not a pacer object (expected apiVersion {})",
            pacer_crds::API_VERSION
        )));
    }
    if name.is_empty() {
        return Err(err(format!("{kind} without metadata.name")));
    }
    let o = match kind.as_str() {
        "Primitive" => Object::Primitive(typed(doc, &kind, &name).map_err(err)?),
        "ResourceTemplate" => Object::ResourceTemplate(typed(doc, &kind, &name).map_err(err)?),
        "Group" => Object::Group(typed(doc, &kind, &name).map_err(err)?),
        "Clone" => Object::Clone(typed(doc, &kind, &name).map_err(err)?),
        "Bundle" => Object::Bundle(typed(doc, &kind, &name).map_err(err)?),
        "Location" => Object::Location(typed(doc, &kind, &name).map_err(err)?),
        "Colocation" => Object::Colocation(typed(doc, &kind, &name).map_err(err)?),
        "Order" => Object::Order(typed(doc, &kind, &name).map_err(err)?),
        "Ticket" => Object::Ticket(typed(doc, &kind, &name).map_err(err)?),
        "ClusterProperties" => Object::ClusterProperties(typed(doc, &kind, &name).map_err(err)?),
        "ResourceDefaults" => Object::ResourceDefaults(typed(doc, &kind, &name).map_err(err)?),
        "OperationDefaults" => Object::OperationDefaults(typed(doc, &kind, &name).map_err(err)?),
        "Tag" => Object::Tag(typed(doc, &kind, &name).map_err(err)?),
        "FencingTopology" => Object::FencingTopology(typed(doc, &kind, &name).map_err(err)?),
        "Alert" => Object::Alert(typed(doc, &kind, &name).map_err(err)?),
        "ClusterNode" => Object::ClusterNode(typed(doc, &kind, &name).map_err(err)?),
        "NodeState" => Object::NodeState(typed(doc, &kind, &name).map_err(err)?),
        "TicketState" => Object::TicketState(typed(doc, &kind, &name).map_err(err)?),
        other => return Err(err(format!("unknown pacer kind {other:?}"))),
    };
    out.push(o);
    Ok(())
}

fn typed<T: DeserializeOwned>(doc: Value, kind: &str, name: &str) -> Result<T, String> {
    serde_json::from_value(doc).map_err(|e| format!("{kind} {name}: {e}"))
}
