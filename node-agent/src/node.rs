//! The API-facing node agent (docs/protocol.md): a kube `Client`, this node's name and
//! namespace in; out, through the API server only:
//! - the Lease `pacer-node-<node>` renewed every interval (membership, and the health
//!   input of the watchdog);
//! - `NodeState/<node>` server-side applied from the executor's history whenever an
//!   operation is recorded (field manager `pacer-agent`);
//! - the `Dispatched` actions of `Transition`s for this node run exactly once (keyed by
//!   transition key), fence actions this node executes recorded as `FencingHistory`.
//!
//! On start it reloads its last published NodeState, so call ids continue, fail counts
//! survive, and recurring monitors are re-armed from the Transitions that started them.

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use k8s_openapi::{
    api::{
        coordination::v1::{Lease, LeaseSpec},
        core::v1::{ObjectReference, Secret},
    },
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, Patch, PatchParams},
    runtime::{
        WatchStreamExt,
        events::{Event, EventType, Recorder, Reporter},
        watcher,
    },
};
use pacer_crds::{NodeState, ParamFromSecret, Transition};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::watch;

use crate::{
    Error,
    dispatch::{self, Work},
    executor::ExecutorConfig,
    fencing,
    history::{self, NodeHistory},
    lrm::LocalResourceManager,
    op::{ActionRequest, ActionResult, OcfRc, OpStatus},
    report,
    stonith::FenceAction,
    watchdog::{self, LeaseHealth, WatchdogConfig, WatchdogStats},
};

pub const FIELD_MANAGER: &str = "pacer-agent";

#[derive(Clone, Debug)]
pub struct NodeOptions {
    pub node: String,
    pub namespace: String,
    pub lease_interval: Duration,
    pub lease_duration: Duration,
    pub watchdog: Option<WatchdogConfig>,
    pub executor: ExecutorConfig,
    /// On a clean shutdown, how long to wait for the DC to move resources away before
    /// leaving anyway.
    pub shutdown_timeout: Duration,
}

/// Where the node is in its life, as published in NodeState.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Running,
    /// Asked to shut down: the `shutdown` attribute tells the DC to move resources off.
    Draining(Timestamp),
    /// Left the cluster cleanly.
    Down,
}

/// Aborts the loop's background tasks when `run` returns or is cancelled.
struct Tasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

pub fn lease_name(node: &str) -> String {
    format!("pacer-node-{node}")
}

fn kube_err(what: &str, e: kube::Error) -> Error {
    Error::Api(format!("{what}: {e}"))
}

/// Everything the loop's tasks share.
struct Shared {
    opts: NodeOptions,
    client: Client,
    lrm: LocalResourceManager,
    /// Keys running now, and keys this process already ran for the current transition
    /// (a record can be overwritten in the history by a later operation).
    in_flight: Mutex<BTreeSet<String>>,
    /// Highest transition seq seen: only the current transition is acted on; older ones
    /// are history (their in-flight actions finished before the DC made a new one).
    current: Mutex<(i64, BTreeSet<String>)>,
    publish: tokio::sync::Notify,
    phase: Mutex<Phase>,
}

impl Shared {
    fn phase(&self) -> Phase {
        self.phase.lock().map_or(Phase::Running, |p| *p)
    }

    fn set_phase(&self, phase: Phase) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }

    /// The NodeState spec for the current history and phase.
    fn node_state(&self) -> pacer_crds::NodeStateSpec {
        let mut others = BTreeMap::new();
        let phase = self.phase();
        if let Phase::Draining(since) = phase {
            others.insert("shutdown".to_string(), since.as_second().to_string());
        }
        let mut spec = report::node_state_spec(&self.lrm.history(), &self.opts.node, None, &others);
        if phase == Phase::Down {
            spec.in_ccm = Some("false".into());
            spec.crmd = Some("offline".into());
            spec.join = Some("down".into());
            spec.expected = Some("down".into());
        }
        spec
    }
}

/// Runs the agent until SIGTERM/SIGINT (then leaves cleanly) or an unrecoverable error.
/// Watchdog petting (when configured) stops by itself once the Lease cannot be renewed.
pub async fn run(client: Client, opts: NodeOptions) -> Result<(), Error> {
    let signal = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    run_until(client, opts, signal).await
}

/// Like [`run`], with the shutdown request given as a future. A clean shutdown sets the
/// `shutdown` node attribute (the DC then moves resources away), waits until nothing
/// is active here (or `shutdown_timeout`), publishes `join: down, expected: down`,
/// disarms the watchdog and deletes the Lease.
pub async fn run_until(
    client: Client,
    opts: NodeOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    tokio::pin!(shutdown);
    let states: Api<NodeState> = Api::namespaced(client.clone(), &opts.namespace);
    // Right after a boot the API server may not be reachable yet: keep trying (the Lease,
    // and so membership, starts only once the node knows its own history).
    let Some(previous) = retry_startup(
        &format!("reading NodeState/{}", opts.node),
        &mut shutdown,
        || states.get_opt(&opts.node),
    )
    .await
    else {
        return Ok(());
    };
    let snapshot = previous.map(|s| report::from_node_state(&s.spec));
    let rebuilt = history::rebuild(snapshot, &[], Timestamp::now());
    let (lrm, mut events) =
        LocalResourceManager::with_history(opts.executor.clone(), rebuilt.history);
    let shared = Arc::new(Shared {
        opts: opts.clone(),
        client: client.clone(),
        lrm,
        in_flight: Mutex::new(BTreeSet::new()),
        current: Mutex::new((i64::MIN, BTreeSet::new())),
        publish: tokio::sync::Notify::new(),
        phase: Mutex::new(Phase::Running),
    });
    resume_monitors(&shared).await;

    let mut tasks = Tasks(Vec::new());
    let (lease_tx, lease_rx) = watch::channel(None::<Instant>);
    let (api_tx, api_rx) = watch::channel(false);
    let (stop_watchdog, watchdog_stop_rx) = watch::channel(false);
    let mut watchdog_task = None;
    tasks
        .0
        .push(tokio::spawn(lease_loop(shared.clone(), lease_tx, api_tx)));
    if let Some(cfg) = opts.watchdog.clone() {
        let health = LeaseHealth {
            lease_renewed: lease_rx,
            api_reachable: api_rx,
            max_lease_age: opts.lease_duration,
        };
        watchdog_task = Some(tokio::spawn(async move {
            let stats = Arc::new(WatchdogStats::default());
            let healthy = move || health.is_healthy();
            if let Err(e) = watchdog::run(cfg, healthy, stats, watchdog_stop_rx).await {
                tracing::error!(error = %e, "watchdog failed");
            }
        }));
    }
    // Every recorded operation triggers a publish; bursts coalesce in the publisher.
    // Failures also become Events on the NodeState (`kubectl describe nodestate`).
    let notifier = shared.clone();
    let recorder = Recorder::new(
        shared.client.clone(),
        Reporter {
            controller: FIELD_MANAGER.into(),
            instance: Some(opts.node.clone()),
        },
    );
    tasks.0.push(tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            notifier.publish.notify_one();
            if ev.failed && !ev.record.is_pending() {
                let (recorder, shared) = (recorder.clone(), notifier.clone());
                tokio::spawn(async move { report_failure(&recorder, &shared, &ev).await });
            }
        }
    }));
    tasks.0.push(tokio::spawn(publish_loop(shared.clone())));
    shared.publish.notify_one();

    let transitions: Api<Transition> = Api::namespaced(client, &opts.namespace);
    // Learn the current seq before acting, so an old transition listed first by the
    // watch cannot run anything.
    let lp = kube::api::ListParams::default();
    let Some(existing) = retry_startup("listing Transitions", &mut shutdown, || {
        transitions.list(&lp)
    })
    .await
    else {
        return Ok(());
    };
    if let (Some(max), Ok(mut cur)) = (
        existing.items.iter().map(|t| t.spec.seq).max(),
        shared.current.lock(),
    ) {
        cur.0 = max;
    }
    let mut stream = watcher(transitions, watcher::Config::default())
        .applied_objects()
        .boxed();
    let mut draining: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = &mut shutdown, if draining.is_none() => {
                tracing::info!(node = %opts.node, "shutting down: asking the DC to move resources away");
                draining = Some(Instant::now());
                shared.set_phase(Phase::Draining(Timestamp::now()));
                shared.publish.notify_one();
            }
            item = stream.try_next() => match item {
                Ok(Some(t)) => start_due_work(&shared, &t),
                Ok(None) => return Err(Error::Api("the Transition watch ended".into())),
                Err(e) => {
                    // The watcher recovers by itself on the next poll; keep going.
                    tracing::warn!(error = %e, "Transition watch error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            _ = tokio::time::sleep(Duration::from_millis(200)), if draining.is_some() => {}
        }
        if let Some(since) = draining {
            let busy = shared.in_flight.lock().map_or(true, |f| !f.is_empty());
            let active = shared
                .lrm
                .history()
                .resources
                .values()
                .any(|r| r.is_active());
            let gave_up = since.elapsed() > opts.shutdown_timeout;
            if gave_up || (!busy && !active) {
                if gave_up {
                    tracing::warn!(node = %opts.node, "shutdown timeout: leaving with resources still active");
                }
                let _ = stop_watchdog.send(true);
                if let Some(w) = watchdog_task.take() {
                    let _ = w.await;
                }
                // Stop renewing before the Lease is deleted, or a renewal in flight
                // could re-create it.
                drop(tasks);
                return leave(&shared).await;
            }
        }
    }
}

async fn report_failure(recorder: &Recorder, shared: &Shared, ev: &crate::executor::OpEvent) {
    let rec = &ev.record;
    let mut note = format!(
        "{} on {}: {} (rc {}, op-status {:?})",
        rec.op_key,
        shared.opts.node,
        OcfRc::from_code(rec.rc).description(),
        rec.rc,
        rec.status
    );
    if let Some(reason) = &rec.exit_reason {
        note.push_str(": ");
        note.push_str(reason);
    }
    let reference = ObjectReference {
        api_version: Some("ha.pacer.dev/v1alpha1".into()),
        kind: Some("NodeState".into()),
        name: Some(shared.opts.node.clone()),
        namespace: Some(shared.opts.namespace.clone()),
        ..ObjectReference::default()
    };
    let event = Event {
        type_: EventType::Warning,
        reason: "OperationFailed".into(),
        note: Some(crate::ocf::bound(&note, 1000)),
        action: "Execute".into(),
        secondary: None,
    };
    if let Err(e) = recorder.publish(&event, &reference).await {
        tracing::warn!(error = %e, "cannot publish an Event");
    }
}

/// Runs a start-up API call until it succeeds, retrying every second with a warning;
/// `None` when the shutdown request came first.
async fn retry_startup<T, F, Fut>(
    what: &str,
    shutdown: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    mut call: F,
) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, kube::Error>>,
{
    let mut attempts = 0u32;
    loop {
        match call().await {
            Ok(v) => {
                if attempts > 0 {
                    tracing::info!(attempts, "{what}: API server reachable again");
                }
                return Some(v);
            }
            Err(e) => {
                attempts += 1;
                tracing::warn!(error = %e, attempts, "{what} failed; retrying");
            }
        }
        tokio::select! {
            _ = shutdown.as_mut() => return None,
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// The last step of a clean shutdown: monitors cancelled, NodeState says down, Lease
/// deleted.
async fn leave(shared: &Arc<Shared>) -> Result<(), Error> {
    let node = &shared.opts.node;
    for rsc in shared.lrm.history().resources.keys() {
        shared.lrm.monitors().cancel_resource(rsc);
    }
    shared.set_phase(Phase::Down);
    let states: Api<NodeState> = Api::namespaced(shared.client.clone(), &shared.opts.namespace);
    states
        .patch(
            node,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&NodeState::new(node, shared.node_state())),
        )
        .await
        .map_err(|e| kube_err(&format!("writing NodeState/{node}"), e))?;
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), &shared.opts.namespace);
    // A renewal sent just before the loop stopped may still land after a first delete.
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        match leases.delete(&lease_name(node), &Default::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(e) => return Err(kube_err(&format!("deleting Lease/{}", lease_name(node)), e)),
        }
    }
    Ok(())
}

async fn lease_loop(
    shared: Arc<Shared>,
    renewed: watch::Sender<Option<Instant>>,
    api_ok: watch::Sender<bool>,
) {
    let opts = &shared.opts;
    let leases: Api<Lease> = Api::namespaced(shared.client.clone(), &opts.namespace);
    let name = lease_name(&opts.node);
    let mut tick = tokio::time::interval(opts.lease_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                // Watchdog self-fencing: how long we keep petting after losing the
                // cluster, for the DC's stonith-watchdog-timeout check.
                annotations: opts.watchdog.as_ref().map(|w| {
                    [(
                        "ha.pacer.dev/watchdog-timeout-ms".to_string(),
                        w.timeout.as_millis().to_string(),
                    )]
                    .into()
                }),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(opts.node.clone()),
                lease_duration_seconds: i32::try_from(opts.lease_duration.as_secs()).ok(),
                renew_time: Some(MicroTime(Timestamp::now())),
                ..LeaseSpec::default()
            }),
        };
        let attempt = tokio::time::timeout(
            opts.lease_interval.max(Duration::from_millis(500)),
            leases.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&lease),
            ),
        )
        .await;
        match attempt {
            Ok(Ok(_)) => {
                let _ = renewed.send(Some(Instant::now()));
                let _ = api_ok.send(true);
            }
            Ok(Err(e)) => {
                tracing::warn!(lease = %name, error = %e, "Lease renewal failed");
                let _ = api_ok.send(false);
            }
            Err(_) => {
                tracing::warn!(lease = %name, "Lease renewal timed out");
                let _ = api_ok.send(false);
            }
        }
    }
}

async fn publish_loop(shared: Arc<Shared>) {
    let states: Api<NodeState> = Api::namespaced(shared.client.clone(), &shared.opts.namespace);
    let node = shared.opts.node.clone();
    loop {
        // Publish on a change, and every 30 s regardless (heals a lost write).
        let _ = tokio::time::timeout(Duration::from_secs(30), shared.publish.notified()).await;
        // Let a burst of results land in one write.
        tokio::time::sleep(Duration::from_millis(20)).await;
        if shared.phase() == Phase::Down {
            return;
        }
        let object = NodeState::new(&node, shared.node_state());
        if let Err(e) = states
            .patch(
                &node,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&object),
            )
            .await
        {
            tracing::warn!(node = %node, error = %e, "NodeState write failed; retrying");
            tokio::time::sleep(Duration::from_millis(500)).await;
            shared.publish.notify_one();
        }
    }
}

/// Re-arms recurring monitors found in the reloaded history from the Transition
/// actions that started them; records whose Transition is gone are dropped, so the DC
/// schedules the monitor again.
async fn resume_monitors(shared: &Arc<Shared>) {
    let transitions: Api<Transition> =
        Api::namespaced(shared.client.clone(), &shared.opts.namespace);
    let recurring: Vec<(String, String, Option<String>)> = shared
        .lrm
        .history()
        .resources
        .iter()
        .flat_map(|(rsc, r)| {
            r.recurring
                .values()
                .map(move |rec| (rsc.clone(), rec.op_key.clone(), rec.transition_key.clone()))
        })
        .collect();
    for (rsc, op_key, key) in recurring {
        let found = match key.as_deref().and_then(|k| k.rsplit_once(':')) {
            Some((tname, id)) => match transitions.get_opt(tname).await {
                Ok(Some(t)) => t
                    .spec
                    .actions
                    .iter()
                    .find(|a| a.id.to_string() == id)
                    .map(|a| dispatch::request_for(tname, a)),
                _ => None,
            },
            None => None,
        };
        match found {
            Some(Ok(Work::Resource {
                mut request,
                secret_params,
            })) => match resolve(shared, &mut request, &secret_params).await {
                Ok(()) => shared.lrm.monitors().arm(request, true),
                Err(e) => tracing::warn!(op = %op_key, error = %e, "cannot resume monitor"),
            },
            _ => {
                tracing::info!(op = %op_key, "recurring monitor not resumable; dropping its record");
                shared.lrm.cancel(&rsc, &op_key);
            }
        }
    }
}

fn start_due_work(shared: &Arc<Shared>, transition: &Transition) {
    let seq = transition.spec.seq;
    let executed = {
        let Ok(mut cur) = shared.current.lock() else {
            return;
        };
        if seq < cur.0 {
            return;
        }
        if seq > cur.0 {
            *cur = (seq, BTreeSet::new());
        }
        cur.1.clone()
    };
    let history = shared.lrm.history();
    let mut in_flight = shared
        .in_flight
        .lock()
        .map(|g| g.clone())
        .unwrap_or_default();
    in_flight.extend(executed);
    for work in dispatch::due_work(transition, &shared.opts.node, &history, &in_flight) {
        let work = match work {
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "cannot run transition action");
                continue;
            }
        };
        let key = match &work {
            Work::Resource { request, .. } => request.transition_key.clone().unwrap_or_default(),
            Work::ClearFailcount { transition_key, .. }
            | Work::Forget { transition_key, .. }
            | Work::Cancel { transition_key, .. }
            | Work::Fence { transition_key, .. } => transition_key.clone(),
        };
        if let Ok(mut g) = shared.in_flight.lock() {
            g.insert(key.clone());
        }
        let shared = shared.clone();
        tokio::spawn(async move {
            run_work(&shared, work, seq).await;
            if let Ok(mut cur) = shared.current.lock()
                && cur.0 == seq
            {
                cur.1.insert(key.clone());
            }
            if let Ok(mut g) = shared.in_flight.lock() {
                g.remove(&key);
            }
        });
    }
}

async fn run_work(shared: &Arc<Shared>, work: Work, seq: i64) {
    match work {
        Work::Resource {
            mut request,
            secret_params,
        } => {
            // Stopping a fencing device, or probing one, needs no credentials.
            let stonith_without_secrets = matches!(request.agent, crate::op::Agent::Stonith { .. })
                && (request.action == "stop"
                    || (request.action == "monitor" && request.interval.is_zero()));
            if let Err(e) = resolve(shared, &mut request, &secret_params).await
                && !stonith_without_secrets
            {
                let result = ActionResult::synthetic(
                    OcfRc::NOT_CONFIGURED,
                    OpStatus::Error,
                    crate::ocf::bound(&e.to_string(), crate::ocf::EXIT_REASON_MAX),
                );
                shared.lrm.executor().record(&request, &result);
                return;
            }
            shared.lrm.perform(request).await;
        }
        Work::Cancel {
            resource, op_key, ..
        } => {
            shared.lrm.cancel(&resource, &op_key);
            shared.publish.notify_one();
        }
        Work::ClearFailcount { resource, .. } => {
            shared.lrm.clear_failures(&resource, None);
            shared.publish.notify_one();
        }
        Work::Forget { resource, .. } => {
            tracing::info!(resource = %resource, "cleanup: forgetting history and fail counts");
            shared.lrm.forget(&resource);
            shared.publish.notify_one();
        }
        Work::Fence {
            target,
            action,
            transition_key,
            timeout,
        } => fence(shared, &target, action, &transition_key, timeout, seq).await,
    }
}

async fn secret_values(
    shared: &Arc<Shared>,
    refs: &[ParamFromSecret],
) -> BTreeMap<(String, String), String> {
    let secrets: Api<Secret> = Api::namespaced(shared.client.clone(), &shared.opts.namespace);
    let mut out = BTreeMap::new();
    for r in refs {
        let name = &r.secret_key_ref.name;
        if let Ok(Some(s)) = secrets.get_opt(name).await {
            for (k, v) in s.data.unwrap_or_default() {
                if let Ok(text) = String::from_utf8(v.0) {
                    out.insert((name.clone(), k), text);
                }
            }
            for (k, v) in s.string_data.unwrap_or_default() {
                out.insert((name.clone(), k), v);
            }
        }
    }
    out
}

async fn resolve(
    shared: &Arc<Shared>,
    request: &mut ActionRequest,
    refs: &[ParamFromSecret],
) -> Result<(), Error> {
    if refs.is_empty() {
        return Ok(());
    }
    let values = secret_values(shared, refs).await;
    dispatch::resolve_secrets(request, refs, |s, k| {
        values.get(&(s.to_string(), k.to_string())).cloned()
    })
}

async fn fence(
    shared: &Arc<Shared>,
    target: &str,
    action: FenceAction,
    transition_key: &str,
    timeout: Duration,
    seq: i64,
) {
    // Devices, topology, retries, Secrets and the FencingHistory record: fencing.rs.
    fencing::fence_node(fencing::FenceRequest {
        client: &shared.client,
        namespace: &shared.opts.namespace,
        me: &shared.opts.node,
        executor: shared.lrm.executor(),
        target,
        action,
        transition_key,
        timeout,
        seq,
    })
    .await;
}

/// Reloaded history helper for tests and tools: what `run` starts from.
pub fn restored(spec: &pacer_crds::NodeStateSpec) -> NodeHistory {
    history::rebuild(Some(report::from_node_state(spec)), &[], Timestamp::now()).history
}
