//! `kubectl pacer node standby|online|maintenance|ready NODE` (crm node standby/online,
//! crm_attribute -n maintenance): server-side apply of `ClusterNode.spec.standby` /
//! `spec.maintenance` under the field manager `kubectl-pacer`.

use anyhow::{Result, bail};
use kube::Client;
use pacer_crds::ClusterNode;
use serde_json::json;

use crate::{cib::Object, cli::apply::apply, index::Index};

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
    };
    let Some(name) = node_object(idx, node) else {
        bail!(
            "no ClusterNode {node:?} in namespace {ns} (known: {}); declare it with a ClusterNode manifest first",
            idx.configured_nodes().join(", ")
        );
    };
    apply::<ClusterNode>(client, ns, &name, json!({"spec": {field: value}}), false).await?;
    Ok(format!(
        "node {node} is now {words} (ClusterNode/{name} spec.{field}={value})"
    ))
}
