//! Writes resource, node and cluster `.status` in the background.
//!
//! The DC loop derives the status it wants and hands the whole set over; this task
//! writes what differs from what it last wrote, a few at a time, and retries failures.
//! Status is what users read, never what the DC decides from, so it must not hold up the
//! loop: a new DC writes the status of every resource (hundreds of writes, seconds), and
//! a node failure touches many; meanwhile the DC must react to the next NodeState change
//! within milliseconds. Only the newest wanted set matters (a `watch` channel keeps one).

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use futures::StreamExt;
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use serde_json::{Value, json};
use tokio::{sync::watch, task::JoinHandle};
use tracing::debug;

use crate::{controller::FIELD_MANAGER, leader::LeaderState};

/// (kind, metadata.name) of the object whose status is meant.
pub type Key = (&'static str, String);

/// Writes in flight at once: enough to catch up quickly after a takeover, few enough that
/// the API server still answers the DC's Transition writes promptly.
const CONCURRENCY: usize = 4;
/// Pause before writing again what failed (unless something newer is wanted sooner).
const RETRY: Duration = Duration::from_secs(1);

#[derive(Clone, Default)]
struct Wanted {
    /// Bumped when the DC loses leadership: what was written before may have been
    /// overwritten by another DC since, so nothing counts as written any more.
    epoch: u64,
    items: Arc<BTreeMap<Owned, Value>>,
}

/// [`Key`] with an owned kind: futures holding a `&'static str` trip a rustc limitation
/// (higher-ranked lifetimes in `Send` checks) once spawned.
type Owned = (String, String);

/// The DC loop's end of the writer.
pub struct StatusWriter {
    tx: watch::Sender<Wanted>,
}

impl StatusWriter {
    /// Starts the writer task for one namespace; it stops when the returned handle is
    /// aborted or the `StatusWriter` is dropped.
    pub fn spawn(
        client: Client,
        namespace: &str,
        leader: Arc<LeaderState>,
    ) -> (StatusWriter, JoinHandle<()>) {
        let (tx, rx) = watch::channel(Wanted::default());
        let task = tokio::spawn(run(rx, client, namespace.into(), leader));
        (StatusWriter { tx }, task)
    }

    /// The status every object should have now (objects left out keep theirs).
    pub fn want(&self, items: BTreeMap<Key, Value>) {
        let items: BTreeMap<Owned, Value> = items
            .into_iter()
            .map(|((kind, name), v)| ((kind.to_string(), name), v))
            .collect();
        self.tx.send_modify(|w| w.items = Arc::new(items));
    }

    /// Leadership lost: write nothing more, and rewrite everything after a comeback.
    pub fn forget(&self) {
        self.tx.send_modify(|w| {
            w.epoch += 1;
            w.items = Arc::default();
        });
    }
}

async fn run(
    mut rx: watch::Receiver<Wanted>,
    client: Client,
    namespace: Arc<str>,
    leader: Arc<LeaderState>,
) {
    let mut written: BTreeMap<Owned, Value> = BTreeMap::new();
    let mut epoch = 0;
    while rx.changed().await.is_ok() {
        loop {
            let wanted = rx.borrow_and_update().clone();
            if wanted.epoch != epoch {
                written.clear();
                epoch = wanted.epoch;
            }
            let todo: Vec<(Owned, Value)> = wanted
                .items
                .iter()
                .filter(|(k, v)| written.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let writes = todo
                .into_iter()
                .map(|(k, v)| write_one(client.clone(), namespace.clone(), leader.clone(), k, v));
            let results: Vec<(Owned, Value, bool)> = futures::stream::iter(writes)
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut failed = false;
            for (k, v, ok) in results {
                if ok {
                    written.insert(k, v);
                } else {
                    failed = true;
                }
            }
            if !failed {
                break;
            }
            // Retry after a pause, or at once with a newer set if one comes sooner.
            tokio::select! {
                r = rx.changed() => if r.is_err() { return },
                _ = tokio::time::sleep(RETRY) => {}
            }
        }
    }
}

async fn write_one(
    client: Client,
    namespace: Arc<str>,
    leader: Arc<LeaderState>,
    key: Owned,
    status: Value,
) -> (Owned, Value, bool) {
    let ok = write(&client, &namespace, &leader, &key, &status).await;
    (key, status, ok)
}

async fn write(
    client: &Client,
    namespace: &str,
    leader: &LeaderState,
    (kind, name): &Owned,
    status: &Value,
) -> bool {
    if leader.gate("status").is_err() {
        return false;
    }
    let Some(ar) = pacer_crds::api_resource(kind) else {
        return true;
    };
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), namespace, &ar);
    let body = json!({"apiVersion": pacer_crds::API_VERSION, "kind": kind, "status": status});
    match api
        .patch_status(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await
    {
        Ok(_) => true,
        Err(e) => {
            debug!(kind, name, error = %e, "status write failed");
            false
        }
    }
}
