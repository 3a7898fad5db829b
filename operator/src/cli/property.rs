//! `kubectl pacer property set K V` / `property unset K` / `maintenance on|off`
//! (crm configure property, crm_attribute --type crm_config): server-side apply of one
//! key of `ClusterProperties.spec.properties`.

use anyhow::Result;
use kube::Client;
use pacer_crds::ClusterProperties;
use serde_json::{Value, json};

use crate::{cib::Object, cli::apply::apply, index::Index};

/// Name of the ClusterProperties object created when the cluster has none.
pub const DEFAULT_NAME: &str = "cluster";

/// The ClusterProperties object to change: the existing one (the first by name), or
/// [`DEFAULT_NAME`].
pub fn properties_object(idx: &Index) -> String {
    idx.config
        .values()
        .find_map(|o| match o {
            Object::ClusterProperties(p) => p.metadata.name.clone(),
            _ => None,
        })
        .unwrap_or_else(|| DEFAULT_NAME.to_string())
}

/// Sets (`Some`) or removes (`None`) a cluster property.
pub async fn set(
    client: &Client,
    ns: &str,
    idx: &Index,
    key: &str,
    value: Option<&str>,
) -> Result<String> {
    let name = properties_object(idx);
    let v = value.map_or(Value::Null, |v| json!(v));
    apply::<ClusterProperties>(
        client,
        ns,
        &name,
        json!({"spec": {"properties": {key: v}}}),
        true,
    )
    .await?;
    Ok(match value {
        Some(v) => format!("property {key}={v} (ClusterProperties/{name})"),
        None => format!("property {key} removed (ClusterProperties/{name})"),
    })
}
