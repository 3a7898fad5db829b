//! One read of a cluster (namespace): every pacer kind, NodeStates, node Leases,
//! Transitions and FencingHistory, into the operator's own [`Index`], and from there the
//! [`StatusInput`] `status` renders — with the membership the operator decides from the
//! agents' Leases (not what a node last wrote about itself).

use anyhow::{Context, Result};
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, Client, Resource, api::ListParams};
use pacer_crds::*;
use serde::de::DeserializeOwned;

use crate::{
    cib::Object,
    cli::status::StatusInput,
    index::Index,
    membership::{self, Membership},
};

/// Lease duration assumed when a Lease does not say (the agent's default).
pub const DEFAULT_LEASE_S: i64 = 4;

async fn list<K>(client: &Client, ns: &str) -> Result<Vec<K>>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + std::clone::Clone
        + DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let kind = K::kind(&Default::default()).to_string();
    Ok(api
        .list(&ListParams::default())
        .await
        .with_context(|| format!("listing {kind} in namespace {ns} (are the pacer CRDs installed? `pacer crds | kubectl apply -f -`)"))?
        .items)
}

macro_rules! config_kinds {
    ($idx:ident, $client:ident, $ns:ident, $($ty:ident),*) => {
        $(
            let items: Vec<$ty> = list($client, $ns).await?;
            $idx.replace_config(stringify!($ty), items.into_iter().map(Object::$ty).collect());
        )*
    };
}

/// Everything of one namespace, as the operator indexes it.
pub async fn index(client: &Client, ns: &str) -> Result<Index> {
    let mut idx = Index::default();
    config_kinds!(
        idx,
        client,
        ns,
        Primitive,
        ResourceTemplate,
        Group,
        Clone,
        Bundle,
        Location,
        Colocation,
        Order,
        Ticket,
        ClusterProperties,
        ResourceDefaults,
        OperationDefaults,
        Tag,
        FencingTopology,
        Alert,
        ClusterNode,
        TicketState
    );
    for n in list::<NodeState>(client, ns).await? {
        idx.apply_node_state(n);
    }
    for l in list::<Lease>(client, ns).await? {
        idx.apply_lease(&l);
    }
    for t in list::<Transition>(client, ns).await? {
        idx.transitions
            .insert(t.metadata.name.clone().unwrap_or_default(), t);
    }
    for f in list::<FencingHistory>(client, ns).await? {
        idx.apply_fencing(f);
    }
    Ok(idx)
}

/// What `status` shows for an index read at `now_ms`.
pub fn status_input(idx: &Index, now_ms: i64) -> StatusInput {
    let members = idx.membership(now_ms, DEFAULT_LEASE_S);
    let mut objects: Vec<Object> = idx.config.values().cloned().collect();
    for (name, ns) in &idx.node_states {
        let uname = ns.spec.uname.clone().unwrap_or_else(|| name.clone());
        let mut ns = ns.clone();
        if let Some(m) = members.get(&uname) {
            membership::apply(&mut ns, *m);
        }
        objects.push(Object::NodeState(ns));
    }
    // A node whose agent holds a Lease but has not written its NodeState yet.
    for (node, m) in &members {
        if *m == Membership::Online
            && !idx.node_states.values().any(|s| {
                s.spec
                    .uname
                    .as_deref()
                    .unwrap_or(s.metadata.name.as_deref().unwrap_or(""))
                    == node
            })
        {
            let mut ns = NodeState::new(
                node,
                NodeStateSpec {
                    id: Some(idx.node_id(node)),
                    uname: Some(node.clone()),
                    ..Default::default()
                },
            );
            membership::apply(&mut ns, *m);
            objects.push(Object::NodeState(ns));
        }
    }
    StatusInput {
        objects,
        transitions: idx.transitions.values().cloned().collect(),
        now_s: Some(now_ms.div_euclid(1000)),
    }
}

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
