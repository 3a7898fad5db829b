//! Watches of one namespace feeding the [`Index`]: every pacer configuration kind,
//! NodeStates, node Leases, Transitions and FencingHistory.
//!
//! In: a client and the namespace. Out: background tasks that apply each watch event to
//! the shared index and wake the controller (a (re)list replaces the kind's objects, so a
//! missed delete cannot linger).

use std::{
    fmt::Debug,
    sync::{Arc, Mutex},
};

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{WatchStreamExt, watcher},
};
use pacer_crds::*;
use serde::de::DeserializeOwned;
use tokio::{sync::Notify, task::JoinHandle};
use tracing::warn;

use crate::{cib::Object, index::Index};

/// The index shared between watches and the controller.
pub type Shared = Arc<Mutex<Index>>;

enum Ev<K> {
    Apply(K),
    Delete(K),
    Replace(Vec<K>),
}

fn spawn<K, F>(api: Api<K>, shared: Shared, notify: Arc<Notify>, on: F) -> JoinHandle<()>
where
    K: Resource + std::clone::Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
    F: Fn(&mut Index, Ev<K>) + Send + 'static,
{
    tokio::spawn(async move {
        let mut buf: Vec<K> = Vec::new();
        let mut stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(ev) = stream.next().await {
            let ev = match ev {
                Ok(watcher::Event::Init) => {
                    buf.clear();
                    continue;
                }
                Ok(watcher::Event::InitApply(o)) => {
                    buf.push(o);
                    continue;
                }
                Ok(watcher::Event::InitDone) => Ev::Replace(std::mem::take(&mut buf)),
                Ok(watcher::Event::Apply(o)) => Ev::Apply(o),
                Ok(watcher::Event::Delete(o)) => Ev::Delete(o),
                Err(e) => {
                    warn!(kind = %K::kind(&Default::default()), error = %e, "watch failed; retrying");
                    // "Too old resource version": the watcher relists after a backoff, and
                    // until then this kind's view is stale (objects created meanwhile are
                    // missing). The DC must not schedule on it: not synced until the relist.
                    if matches!(&e, watcher::Error::WatchError(s) if s.code == 410)
                        && let Ok(mut idx) = shared.lock()
                    {
                        idx.synced.remove(K::kind(&Default::default()).as_ref());
                    }
                    continue;
                }
            };
            if let Ok(mut idx) = shared.lock() {
                if matches!(ev, Ev::Replace(_)) {
                    idx.synced.insert(K::kind(&Default::default()).to_string());
                }
                on(&mut idx, ev);
            }
            notify.notify_one();
        }
    })
}

macro_rules! config_kind {
    ($tasks:ident, $client:ident, $ns:ident, $shared:ident, $notify:ident, $ty:ident) => {
        $tasks.push(spawn(
            Api::<$ty>::namespaced($client.clone(), $ns),
            $shared.clone(),
            $notify.clone(),
            |idx: &mut Index, ev: Ev<$ty>| match ev {
                Ev::Apply(o) => idx.apply_config(Object::$ty(o)),
                Ev::Delete(o) => idx.delete_config(stringify!($ty), &o.name_any()),
                Ev::Replace(v) => {
                    idx.replace_config(stringify!($ty), v.into_iter().map(Object::$ty).collect())
                }
            },
        ));
    };
}

/// Starts every watch of `ns`.
pub fn spawn_all(
    client: &Client,
    ns: &str,
    shared: &Shared,
    notify: &Arc<Notify>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    config_kind!(tasks, client, ns, shared, notify, Primitive);
    config_kind!(tasks, client, ns, shared, notify, ResourceTemplate);
    config_kind!(tasks, client, ns, shared, notify, Group);
    config_kind!(tasks, client, ns, shared, notify, Clone);
    config_kind!(tasks, client, ns, shared, notify, Bundle);
    config_kind!(tasks, client, ns, shared, notify, Location);
    config_kind!(tasks, client, ns, shared, notify, Colocation);
    config_kind!(tasks, client, ns, shared, notify, Order);
    config_kind!(tasks, client, ns, shared, notify, Ticket);
    config_kind!(tasks, client, ns, shared, notify, ClusterProperties);
    config_kind!(tasks, client, ns, shared, notify, ResourceDefaults);
    config_kind!(tasks, client, ns, shared, notify, OperationDefaults);
    config_kind!(tasks, client, ns, shared, notify, Tag);
    config_kind!(tasks, client, ns, shared, notify, FencingTopology);
    config_kind!(tasks, client, ns, shared, notify, Alert);
    config_kind!(tasks, client, ns, shared, notify, ClusterNode);
    config_kind!(tasks, client, ns, shared, notify, TicketState);
    tasks.push(spawn(
        Api::<NodeState>::namespaced(client.clone(), ns),
        shared.clone(),
        notify.clone(),
        |idx, ev| match ev {
            Ev::Apply(o) => idx.apply_node_state(o),
            Ev::Delete(o) => idx.delete_node_state(&o.name_any()),
            Ev::Replace(v) => {
                idx.node_states.clear();
                v.into_iter().for_each(|o| idx.apply_node_state(o));
            }
        },
    ));
    tasks.push(spawn(
        Api::<Lease>::namespaced(client.clone(), ns),
        shared.clone(),
        notify.clone(),
        |idx, ev| match ev {
            Ev::Apply(o) => idx.apply_lease(&o),
            Ev::Delete(o) => idx.delete_lease(&o.name_any()),
            Ev::Replace(v) => {
                idx.leases.clear();
                v.iter().for_each(|o| idx.apply_lease(o));
            }
        },
    ));
    tasks.push(spawn(
        Api::<Transition>::namespaced(client.clone(), ns),
        shared.clone(),
        notify.clone(),
        |idx, ev| match ev {
            Ev::Apply(o) => {
                idx.transitions.insert(o.name_any(), o);
            }
            Ev::Delete(o) => {
                idx.transitions.remove(&o.name_any());
            }
            Ev::Replace(v) => idx.transitions = v.into_iter().map(|o| (o.name_any(), o)).collect(),
        },
    ));
    tasks.push(spawn(
        Api::<FencingHistory>::namespaced(client.clone(), ns),
        shared.clone(),
        notify.clone(),
        |idx, ev| match ev {
            Ev::Apply(o) => idx.apply_fencing(o),
            Ev::Delete(o) => {
                idx.fencing.remove(&o.name_any());
            }
            Ev::Replace(v) => {
                idx.fencing.clear();
                v.into_iter().for_each(|o| idx.apply_fencing(o));
            }
        },
    ));
    tasks
}

/// Whether every watch has delivered its initial list (the controller must not plan on
/// a half-filled index: a missing ClusterNode would look like a lost node).
pub fn synced(idx: &Index) -> bool {
    idx.synced.len() >= WATCHED_KINDS
}

/// Number of watches [`spawn_all`] starts.
pub const WATCHED_KINDS: usize = 21;
