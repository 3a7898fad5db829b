//! `kubectl pacer node standby|online|maintenance|ready NODE` (crm node standby/online,
//! crm_attribute -n maintenance) and `node attribute|utilization NODE set|unset|get K [V]`
//! (crm node attribute / utilization, crm_attribute -N): server-side apply of
//! `ClusterNode.spec.standby` / `spec.maintenance` / `spec.attributes` / `spec.utilization`
//! under the field manager `kubectl-pacer`.

use anyhow::{Result, bail};
use kube::Client;
use pacer_crds::ClusterNode;
use serde_json::{Value, json};

use crate::{
    cib::Object,
    cli::{apply::apply, resource::MetaOp},
    index::Index,
};

#[derive(clap::Subcommand, Clone, Debug)]
pub enum NodeCmd {
    /// Move every resource off the node (crm node standby).
    Standby { node: String },
    /// Allow resources on the node again (crm node online); clears standby.
    Online { node: String },
    /// Stop managing and monitoring the resources on the node.
    Maintenance { node: String },
    /// Leave node maintenance (crm node ready).
    Ready { node: String },
    /// Node attributes, as location rules read them: `attribute NODE set K V`, `unset K`,
    /// `get K` (crm node attribute NODE set/delete/show, crm_attribute -N NODE -n K).
    Attribute {
        node: String,
        #[command(subcommand)]
        op: MetaOp,
    },
    /// Node capacity for placement-strategy: `utilization NODE set cpu 8` … (crm node
    /// utilization).
    Utilization {
        node: String,
        #[command(subcommand)]
        op: MetaOp,
    },
}

/// The ClusterNode object for a node name (metadata.name or spec.uname).
pub fn node_object(idx: &Index, node: &str) -> Option<String> {
    idx.config.values().find_map(|o| match o {
        Object::ClusterNode(n)
            if n.metadata.name.as_deref() == Some(node)
                || n.spec.uname.as_deref() == Some(node) =>
        {
            n.metadata.name.clone()
        }
        _ => None,
    })
}

pub async fn run(client: &Client, ns: &str, idx: &Index, cmd: &NodeCmd) -> Result<String> {
    let (node, field, value, words) = match cmd {
        NodeCmd::Standby { node } => (node, "standby", true, "in standby"),
        NodeCmd::Online { node } => (node, "standby", false, "online"),
        NodeCmd::Maintenance { node } => (node, "maintenance", true, "in maintenance"),
        NodeCmd::Ready { node } => (node, "maintenance", false, "out of maintenance"),
        NodeCmd::Attribute { node, op } => {
            return attribute(client, ns, idx, node, "attributes", op).await;
        }
        NodeCmd::Utilization { node, op } => {
            return attribute(client, ns, idx, node, "utilization", op).await;
        }
    };
    let name = known_node(idx, ns, node)?;
    apply::<ClusterNode>(client, ns, &name, json!({"spec": {field: value}}), false).await?;
    Ok(format!(
        "node {node} is now {words} (ClusterNode/{name} spec.{field}={value})"
    ))
}

fn known_node(idx: &Index, ns: &str, node: &str) -> Result<String> {
    match node_object(idx, node) {
        Some(name) => Ok(name),
        None => bail!(
            "no ClusterNode {node:?} in namespace {ns} (known: {}); declare it with a ClusterNode manifest first",
            idx.configured_nodes().join(", ")
        ),
    }
}

/// One key of a ClusterNode's `spec.<field>` map (attributes or utilization).
async fn attribute(
    client: &Client,
    ns: &str,
    idx: &Index,
    node: &str,
    field: &str,
    op: &MetaOp,
) -> Result<String> {
    let name = known_node(idx, ns, node)?;
    let current = |key: &str| {
        idx.config.values().find_map(|o| match o {
            Object::ClusterNode(n) if n.metadata.name.as_deref() == Some(name.as_str()) => {
                let map = match field {
                    "utilization" => n.spec.utilization.as_ref(),
                    _ => n.spec.attributes.as_ref(),
                };
                map.and_then(|m| m.get(key)).cloned()
            }
            _ => None,
        })
    };
    let set = |key: &str, v: Value| {
        apply::<ClusterNode>(client, ns, &name, json!({"spec": {field: {key: v}}}), false)
    };
    match op {
        MetaOp::Get { key } => {
            Ok(current(key).unwrap_or_else(|| format!("node {node}: {field} {key} is not set")))
        }
        MetaOp::Set { key, value } => {
            set(key, json!(value)).await?;
            Ok(format!(
                "node {node}: {field} {key}={value} (ClusterNode/{name})"
            ))
        }
        MetaOp::Unset { key } => {
            // A key from a manifest belongs to another field manager: take it over first,
            // or an apply without it would leave it in place.
            if let Some(v) = current(key) {
                set(key, json!(v)).await?;
            }
            set(key, Value::Null).await?;
            Ok(format!(
                "node {node}: {field} {key} removed (ClusterNode/{name})"
            ))
        }
    }
}
