//! The DC loop of one cluster namespace.
//!
//! In: the watched [`Index`], the leader state, the clock. Out (only while DC): Transition
//! objects and their status, resource and cluster status, Events, metrics.
//!
//! Each wake-up (a watch event, rate-limited by the debounce, or the tick that notices Lease expiry):
//! 1. a running transition folds in results; it is aborted when its inputs changed
//!    (spec of a configuration object, node membership, transient node attributes);
//!    ready actions are dispatched;
//! 2. with no transition running and something changed since the last run, the scheduler
//!    runs on a fresh snapshot; a non-empty graph is stored as `t-<seq+1>` and started;
//! 3. status is derived and written where it changed.
//!
//! A new DC starts from the stored Transition (see [`Engine::from_stored`]).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use k8s_openapi::{
    api::{coordination::v1::Lease, core::v1::ConfigMap},
    apimachinery::pkg::apis::meta::v1::Time,
};
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use pacer_crds::{ClusterStatus, Transition, TransitionSpec, TransitionStatus};
use pacer_scheduler::{actions::ChangeKind, model::Cluster};
use serde_json::json;
use tokio::{sync::Notify, task::JoinHandle};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::{
    cib::Object,
    cleanup,
    dc_fencing::{self, DcFencer},
    events::{self, Events},
    index::Index,
    leader::{self, LeaderState, Timing},
    membership::Membership,
    metrics::{ActionLabels, Metrics},
    plan,
    settle::Settle,
    snapshot, status,
    status_writer::StatusWriter,
    transition::{ActionSink, Change, Engine, Phase, State},
    watch::{self, Shared},
};

/// Field manager of every write.
pub const FIELD_MANAGER: &str = "pacer-operator";

#[derive(Clone, Debug)]
pub struct Config {
    pub namespace: String,
    /// This instance (pod name).
    pub identity: String,
    /// Lease duration of node agents when their Lease does not say.
    pub node_lease_seconds: i64,
    pub dc: Timing,
    /// Transitions kept (older ones are deleted).
    pub keep_transitions: usize,
    /// Changes within this long of the last run wait for the rest of it (they come in
    /// bursts); a change after a quiet spell is acted on at once.
    pub debounce: Duration,
    /// Plan a configuration change once the configuration was quiet this long
    /// (`kubectl apply -f dir/` writes objects one by one: settle.rs)...
    pub config_quiet: Duration,
    /// ...but no later than this after the first change not yet planned.
    pub config_max_wait: Duration,
    /// Run the fences the DC runs itself inside this network namespace (tests reach
    /// their simulated BMCs' management network this way).
    pub fence_netns: Option<String>,
    /// Re-evaluate at least this often (Lease expiry and timeouts have no event).
    pub tick: Duration,
    /// Extra wait past an action's timeout before the DC counts it as timed out.
    pub action_grace: Duration,
    /// Run the scheduler at least this often even when no input changed: time-based
    /// decisions (failure-timeout expiry, date rules) have no event (Pacemaker's recheck).
    pub recheck: Duration,
}

impl Config {
    pub fn new(namespace: &str, identity: &str) -> Config {
        Config {
            namespace: namespace.into(),
            identity: identity.into(),
            node_lease_seconds: 4,
            dc: Timing::default(),
            keep_transitions: 50,
            debounce: Duration::from_millis(5),
            config_quiet: Duration::from_millis(300),
            config_max_wait: Duration::from_secs(2),
            fence_netns: None,
            tick: Duration::from_millis(500),
            action_grace: Duration::from_secs(5),
            recheck: Duration::from_secs(5),
        }
    }
}

/// A running DC candidate; dropping it stops every task at once (the way a killed pod
/// stops), which is what the failover tests rely on.
pub struct Handle {
    tasks: Vec<JoinHandle<()>>,
    pub leader: Arc<LeaderState>,
    pub index: Shared,
    pub metrics: Metrics,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.leader.step_down();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts watches, the election and the DC loop for one namespace.
pub fn start(client: Client, cfg: Config, metrics: Metrics) -> Handle {
    let shared: Shared = Arc::new(Mutex::new(Index::default()));
    let notify = Arc::new(Notify::new());
    let dropped = metrics.dropped_writes.clone();
    let leader = Arc::new(LeaderState::new(&cfg.identity).with_drop_hook(move || {
        dropped.inc();
    }));
    let mut tasks = watch::spawn_all(&client, &cfg.namespace, &shared, &notify);
    let leases: Api<Lease> = Api::namespaced(client.clone(), &cfg.namespace);
    tasks.push(tokio::spawn(leader::run(leases, leader.clone(), cfg.dc)));
    let (writer, task) = StatusWriter::spawn(client.clone(), &cfg.namespace, leader.clone());
    tasks.push(task);
    let dc = Dc::new(
        client,
        writer,
        cfg.clone(),
        shared.clone(),
        leader.clone(),
        metrics.clone(),
    );
    let span = info_span!("dc", namespace = %cfg.namespace, identity = %cfg.identity);
    tasks.push(tokio::spawn(dc.run(notify).instrument(span)));
    Handle {
        tasks,
        leader,
        index: shared,
        metrics,
    }
}

/// Writes the Transition status through the API (the real sink); fence actions no node
/// can run are started here, once dispatched (dc_fencing.rs).
struct ApiSink {
    api: Api<Transition>,
    leader: Arc<LeaderState>,
    fencer: Arc<DcFencer>,
    seq: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    NotLeader(#[from] leader::NotLeader),
    #[error("API: {0}")]
    Api(#[from] kube::Error),
}

impl ActionSink for ApiSink {
    type Error = WriteError;
    async fn dispatch(
        &mut self,
        transition: &str,
        actions: &[&pacer_crds::TransitionAction],
        status: &TransitionStatus,
    ) -> Result<(), WriteError> {
        self.leader.gate("transition status")?;
        patch_transition_status(&self.api, transition, status).await?;
        for a in actions.iter().filter(|a| dc_fencing::runs_on_dc(a)) {
            self.fencer.spawn(transition, self.seq, a);
        }
        Ok(())
    }
}

async fn patch_transition_status(
    api: &Api<Transition>,
    name: &str,
    status: &TransitionStatus,
) -> Result<(), WriteError> {
    let body =
        json!({"apiVersion": pacer_crds::API_VERSION, "kind": "Transition", "status": status});
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(body),
    )
    .await?;
    Ok(())
}

struct Dc {
    client: Client,
    cfg: Config,
    index: Shared,
    leader: Arc<LeaderState>,
    metrics: Metrics,
    events: Events,
    transitions: Api<Transition>,
    engine: Option<Engine>,
    /// Inputs of the running transition (spec.inputs).
    engine_inputs: BTreeMap<String, String>,
    /// (config version, status version, membership) at the last scheduler run.
    planned: Option<(u64, u64, String, i64)>,
    /// The cluster as the last scheduler run saw it (for status), and how many runs
    /// there were (status derived before the first run must be derived again after it,
    /// even when nothing else changed).
    cluster: Option<Cluster>,
    scheduler_runs: u64,
    /// Where the last scheduler run's time went (logged with the transition it stores).
    plan_timing: String,
    /// Last configuration error, shown in ClusterProperties.status.
    config_error: Option<String>,
    last_seq: i64,
    /// Writes status in the background (status_writer.rs).
    writer: StatusWriter,
    /// Rendered `<node_state>` elements kept between scheduler runs.
    status_cache: snapshot::StatusCache,
    /// What the last status handed to the writer was derived from.
    status_key: Option<String>,
    was_leader: bool,
    /// Cleanup requests this DC carried out, shown in status until the watch has them.
    handled: BTreeMap<(&'static str, String), pacer_crds::CleanupStatus>,
    /// Holds planning back while configuration writes keep coming.
    settle: Settle,
    /// Runs the fences no node can run.
    fencer: Arc<DcFencer>,
    /// Wake up then even without an event (the configuration will have settled).
    wake_at: Option<Instant>,
}

impl Dc {
    fn new(
        client: Client,
        writer: StatusWriter,
        cfg: Config,
        index: Shared,
        leader: Arc<LeaderState>,
        metrics: Metrics,
    ) -> Dc {
        let settle = Settle::new(cfg.config_quiet, cfg.config_max_wait);
        let fencer = Arc::new(DcFencer::new(
            client.clone(),
            &cfg.namespace,
            &cfg.identity,
            cfg.fence_netns.clone(),
        ));
        Dc {
            events: Events::new(client.clone(), leader.clone()),
            transitions: Api::namespaced(client.clone(), &cfg.namespace),
            client,
            cfg,
            index,
            leader,
            metrics,
            engine: None,
            engine_inputs: BTreeMap::new(),
            planned: None,
            cluster: None,
            scheduler_runs: 0,
            plan_timing: String::new(),
            config_error: None,
            last_seq: 0,
            writer,
            status_cache: snapshot::StatusCache::default(),
            status_key: None,
            was_leader: false,
            handled: BTreeMap::new(),
            settle,
            fencer,
            wake_at: None,
        }
    }

    async fn run(mut self, notify: Arc<Notify>) {
        let mut last_run: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = notify.notified() => {
                    // The first change after a quiet spell is acted on at once (a node's
                    // result must not wait); changes that follow a run within the debounce
                    // are taken together.
                    let since = last_run.map_or(self.cfg.debounce, |t| t.elapsed());
                    if let Some(left) = self.cfg.debounce.checked_sub(since) {
                        tokio::time::sleep(left).await;
                    }
                }
                _ = tokio::time::sleep(self.next_tick()) => {}
            }
            self.reconcile().await;
            last_run = Some(Instant::now());
        }
    }

    /// The regular tick, or sooner when a settled configuration is due.
    fn next_tick(&mut self) -> Duration {
        match self.wake_at.take() {
            Some(at) => at
                .saturating_duration_since(Instant::now())
                .min(self.cfg.tick),
            None => self.cfg.tick,
        }
    }

    fn now_ms() -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }

    async fn reconcile(&mut self) {
        if !self.leader.may_write() {
            if self.was_leader {
                // Forget everything cached: whoever is DC next owns the stored state.
                self.engine = None;
                self.planned = None;
                self.writer.forget();
                self.status_key = None;
                self.handled.clear();
                self.was_leader = false;
            }
            return;
        }
        let synced = self
            .index
            .lock()
            .map(|i| watch::synced(&i))
            .unwrap_or(false);
        if !synced {
            return;
        }
        if !self.was_leader {
            self.was_leader = true;
            info!("acting as DC");
        }
        let now_ms = Self::now_ms();
        let changes = self.observe(now_ms);
        self.drive(now_ms, changes).await;
        if self
            .engine
            .as_ref()
            .is_none_or(|e| e.phase() != Phase::Running)
            && !self.cleanup(now_ms).await
        {
            self.plan(now_ms).await;
        }
        self.write_status();
        self.prune().await;
    }

    /// Step 1a (under the index lock): adopt the stored transition, check inputs, fold in
    /// results.
    fn observe(&mut self, now_ms: i64) -> Vec<Change> {
        let Ok(idx) = self.index.lock() else {
            return Vec::new();
        };
        if let Some(cur) = idx.current_transition() {
            self.last_seq = self.last_seq.max(cur.spec.seq);
            let name = cur.name_any();
            // Never go back to an older transition the watch has not caught up on.
            let stale = self
                .engine
                .as_ref()
                .is_none_or(|e| e.name != name && seq_of(&e.name) < cur.spec.seq);
            let running = cur
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref())
                .is_none_or(|p| p == "Running");
            if stale && running {
                info!(transition = %name, "resuming stored transition");
                let mut e = Engine::from_stored(cur);
                e.grace_ms = self.cfg.action_grace.as_millis() as i64;
                self.engine = Some(e);
                self.engine_inputs = cur.spec.inputs.clone();
            }
        }
        let Some(engine) = self.engine.as_mut() else {
            return Vec::new();
        };
        if engine.phase() != Phase::Running {
            return Vec::new();
        }
        let (inputs, membership, _) = snapshot::inputs(&idx, now_ms, self.cfg.node_lease_seconds);
        if let Some(reason) = input_change(&self.engine_inputs, &inputs) {
            if !engine.aborted() {
                info!(transition = %engine.name, %reason, "aborting transition");
                self.metrics.aborted.inc();
            }
            engine.abort(reason);
        }
        let results = idx.results().with_membership(membership);
        let was_aborted = engine.aborted();
        let changes = engine.observe(&results, now_ms);
        // A failed or timed-out action, or a node leaving, aborts inside the engine.
        if !was_aborted && engine.aborted() {
            self.metrics.aborted.inc();
        }
        changes
    }

    /// Step 1b: dispatch and persist, then events and metrics for what changed.
    async fn drive(&mut self, now_ms: i64, changes: Vec<Change>) {
        let Some(engine) = self.engine.as_mut() else {
            return;
        };
        let was_aborted_stored = engine.aborted();
        let mut sink = ApiSink {
            api: self.transitions.clone(),
            leader: self.leader.clone(),
            fencer: self.fencer.clone(),
            seq: seq_of(&engine.name),
        };
        let force = was_aborted_stored;
        let changes = match engine
            .dispatch_ready(&mut sink, now_ms, changes, force)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                warn!(transition = %engine.name, error = %e, "writing transition status failed");
                return;
            }
        };
        let engine = self
            .engine
            .as_ref()
            .map(|e| (e.name.clone(), e.actions.clone(), e.runs.clone(), e.phase()));
        let Some((name, actions, runs, phase)) = engine else {
            return;
        };
        for c in &changes {
            let a = &actions[c.id];
            let run = &runs[c.id];
            let span = info_span!("action", transition = %name, id = a.id, task = %a.task, resource = a.resource.as_deref().unwrap_or(""), node = %a.node);
            let _g = span.enter();
            match c.state {
                State::Dispatched => debug!("dispatched"),
                State::Confirmed | State::Failed | State::TimedOut => {
                    info!(
                        state = c.state.name(),
                        rc = run.rc,
                        message = run.message.as_deref().unwrap_or(""),
                        "action finished"
                    );
                    self.metrics
                        .actions
                        .get_or_create(&ActionLabels {
                            task: a.task.clone(),
                            result: c.state.name().into(),
                        })
                        .inc();
                    if a.interval_ms == 0 && !(a.task == "monitor" && c.state == State::Confirmed) {
                        self.action_event(a, c.state, run.message.clone());
                    }
                }
                State::Pending => {}
            }
        }
        if phase != Phase::Running && !changes.is_empty() {
            info!(transition = %name, phase = phase.name(), "transition finished");
        }
    }

    fn action_event(
        &self,
        a: &pacer_crds::TransitionAction,
        state: State,
        message: Option<String>,
    ) {
        let ok = state == State::Confirmed;
        let Ok(idx) = self.index.lock() else { return };
        let regarding = if a.task == "fence" {
            node_object(&idx, &a.node)
        } else {
            a.resource.as_deref().and_then(|r| resource_object(&idx, r))
        };
        let Some(o) = regarding else { return };
        let note = match (&a.resource, ok) {
            (Some(r), true) => format!("{} {r} on {}", a.task, a.node),
            (Some(r), false) => format!(
                "{} {r} on {}: {}",
                a.task,
                a.node,
                message.unwrap_or_default()
            ),
            (None, true) => format!(
                "node {} fenced ({}) by {}",
                a.node,
                a.fence_action.as_deref().unwrap_or("off"),
                match a.executor.as_deref() {
                    Some(dc_fencing::DC_EXECUTOR) => "the DC",
                    Some(e) => e,
                    None => "?",
                }
            ),
            (None, false) => format!(
                "fencing node {} failed: {}",
                a.node,
                message.unwrap_or_default()
            ),
        };
        self.events.publish(
            events::reference(o, &self.cfg.namespace),
            !ok,
            &events::action_reason(&a.task, ok),
            &a.task,
            note,
        );
    }

    /// Step 2: run the scheduler when something changed since the last run.
    async fn plan(&mut self, now_ms: i64) {
        let built = {
            let Ok(idx) = self.index.lock() else { return };
            let planned_config = self.planned.as_ref().map(|k| k.0);
            if let Some(left) = self
                .settle
                .wait(idx.config_version, planned_config, Instant::now())
            {
                self.wake_at = Some(Instant::now() + left);
                return;
            }
            let membership = idx
                .membership(now_ms, self.cfg.node_lease_seconds)
                .iter()
                .map(|(n, m)| format!("{n}={}", m.name()))
                .collect::<Vec<_>>()
                .join(",");
            let recheck_ms = (self.cfg.recheck.as_millis() as i64).max(1);
            let key = (
                idx.config_version,
                idx.status_version,
                membership,
                now_ms.div_euclid(recheck_ms),
            );
            let finished_engine = self
                .engine
                .as_ref()
                .is_some_and(|e| e.phase() != Phase::Running);
            if self.planned.as_ref() == Some(&key) && !finished_engine {
                return;
            }
            self.planned = Some(key);
            let t = Instant::now();
            let snap = match snapshot::build_cached(
                &idx,
                now_ms,
                self.cfg.node_lease_seconds,
                &mut self.status_cache,
            ) {
                Ok(s) => s,
                Err(e) => {
                    self.config_error = Some(e.to_string());
                    warn!(error = %e, "cannot build the scheduler input");
                    drop(idx);
                    self.engine = None;
                    return;
                }
            };
            let built_at = t.elapsed();
            let sched = snap.schedule();
            let scheduled_at = t.elapsed();
            self.metrics
                .scheduler_seconds
                .observe(t.elapsed().as_secs_f64());
            match sched {
                Err(e) => {
                    self.config_error = Some(e.to_string());
                    warn!(error = %e, "scheduler rejected the input");
                    drop(idx);
                    self.engine = None;
                    return;
                }
                Ok(s) => {
                    self.config_error = None;
                    let actions = plan::actions(&s, &idx);
                    self.plan_timing = format!(
                        "snapshot {:.1} ms, scheduler {:.1} ms, plan {:.1} ms",
                        built_at.as_secs_f64() * 1e3,
                        (scheduled_at - built_at).as_secs_f64() * 1e3,
                        (t.elapsed() - scheduled_at).as_secs_f64() * 1e3
                    );
                    let moves: Vec<(String, String)> = s
                        .changes
                        .iter()
                        .filter(|c| c.kind != ChangeKind::None && !c.blocked)
                        .map(|c| {
                            let r = &s.cluster.resources[c.rsc];
                            let node = |x: Option<(usize, pacer_scheduler::model::Role)>| {
                                x.map(|(n, role)| {
                                    format!("{} ({})", s.cluster.nodes[n].name, role.name())
                                })
                                .unwrap_or_else(|| "-".into())
                            };
                            let note = format!(
                                "{:?} {}: {} -> {}{}",
                                c.kind,
                                r.id,
                                node(c.from),
                                node(c.to),
                                c.reason
                                    .as_ref()
                                    .map(|x| format!(" ({x})"))
                                    .unwrap_or_default()
                            );
                            (r.id.clone(), note)
                        })
                        .collect();
                    for (rsc, note) in &moves {
                        if let Some(o) = resource_object(&idx, rsc) {
                            let reason = note.split(' ').next().unwrap_or("Change").to_string();
                            self.events.publish(
                                events::reference(o, &self.cfg.namespace),
                                false,
                                &reason,
                                "Schedule",
                                note.clone(),
                            );
                        }
                    }
                    let summary = s.summary.clone();
                    self.cluster = Some(s.cluster);
                    self.scheduler_runs += 1;
                    Some((snap, actions, summary))
                }
            }
        };
        let Some((snap, actions, summary)) = built else {
            return;
        };
        if actions.is_empty() {
            self.engine = None;
            return;
        }
        let input = snap.whole_later();
        let spec = TransitionSpec {
            actions,
            inputs: snap.inputs,
            summary,
            ..Default::default()
        };
        self.start_transition(spec, BTreeMap::new(), snap.membership, Some(input))
            .await;
    }

    /// Stores `spec` as `t-<seq+1>` and starts carrying it out; false when it could not
    /// be stored (retried on a later round). `input`, the scheduler input, is stored
    /// next to it afterwards, off the critical path (snapshot::input_configmap).
    async fn start_transition(
        &mut self,
        mut spec: TransitionSpec,
        annotations: BTreeMap<String, String>,
        membership: BTreeMap<String, Membership>,
        input: Option<snapshot::WholeCib>,
    ) -> bool {
        let seq = self.last_seq + 1;
        let name = format!("t-{seq}");
        spec.seq = seq;
        spec.dc = Some(self.cfg.identity.clone());
        let actions = spec.actions.clone();
        let inputs = spec.inputs.clone();
        let mut t = Transition::new(&name, spec);
        if !annotations.is_empty() {
            t.metadata.annotations = Some(annotations);
        }
        if self.leader.gate("transition").is_err() {
            return false;
        }
        let t0 = Instant::now();
        let stored = match self.transitions.create(&PostParams::default(), &t).await {
            Ok(stored) => stored,
            Err(e) => {
                warn!(transition = %name, error = %e, "storing transition failed");
                if let kube::Error::Api(s) = &e
                    && s.code == 409
                {
                    // Someone stored this number already (a previous DC): read it next round.
                    self.last_seq = seq;
                }
                self.planned = None;
                return false;
            }
        };
        if let Some(input) = input {
            self.store_input(stored, input);
        }
        self.last_seq = seq;
        self.metrics.transitions.inc();
        let timing = format!(
            "{}, store {:.1} ms",
            std::mem::take(&mut self.plan_timing),
            t0.elapsed().as_secs_f64() * 1e3
        );
        info!(transition = %name, actions = actions.len(), %timing, "stored transition");
        // What the scheduler decided, line by line (pacemaker-schedulerd logs the same).
        for line in &t.spec.summary {
            info!(transition = %name, "{}", line.trim());
        }
        let mut e = Engine::new(&name, actions);
        e.grace_ms = self.cfg.action_grace.as_millis() as i64;
        self.engine = Some(e);
        self.engine_inputs = inputs;
        let now = Self::now_ms();
        let changes = {
            let Ok(idx) = self.index.lock() else {
                return true;
            };
            let results = idx.results().with_membership(membership);
            self.engine
                .as_mut()
                .map(|e| e.observe(&results, now))
                .unwrap_or_default()
        };
        self.drive(now, changes).await;
        true
    }

    /// Writes the input ConfigMap of a stored Transition in the background.
    fn store_input(&self, transition: Transition, input: snapshot::WholeCib) {
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.cfg.namespace);
        let leader = self.leader.clone();
        let name = transition.name_any();
        tokio::spawn(
            async move {
                let cm = match tokio::task::spawn_blocking(move || {
                    snapshot::input_configmap(&transition, &input.write())
                })
                .await
                {
                    Ok(Ok(cm)) => cm,
                    Ok(Err(e)) => return warn!(error = %e, "not storing the scheduler input"),
                    Err(e) => return warn!(error = %e, "not storing the scheduler input"),
                };
                if leader.gate("transition input").is_err() {
                    return;
                }
                if let Err(e) = api.create(&PostParams::default(), &cm).await {
                    warn!(error = %e, "storing the scheduler input failed");
                }
            }
            .instrument(info_span!("input", transition = %name)),
        );
    }

    /// Step 2a: `resource cleanup` requests (cleanup.rs) become a Transition of their own,
    /// before the scheduler runs again on the cleaned history. True when it started one
    /// (or must retry), so the scheduler waits.
    async fn cleanup(&mut self, now_ms: i64) -> bool {
        let (requests, actions, inputs, membership) = {
            let Ok(idx) = self.index.lock() else {
                return false;
            };
            let done: BTreeMap<(&'static str, String), String> = self
                .handled
                .iter()
                .map(|(k, c)| (k.clone(), c.request.clone()))
                .collect();
            let requests = cleanup::pending(&idx, &done);
            if requests.is_empty() {
                return false;
            }
            let (mut inputs, membership, _) =
                snapshot::inputs(&idx, now_ms, self.cfg.node_lease_seconds);
            // Forgetting fail counts is what this transition is for, not a reason to abort it.
            inputs.remove("attributes");
            let actions = cleanup::actions(&idx, &requests, &membership);
            (requests, actions, inputs, membership)
        };
        let mut transition = None;
        let now = Time(jiff::Timestamp::now());
        if !actions.is_empty() {
            let spec = TransitionSpec {
                summary: cleanup::summary(&actions),
                actions: actions.clone(),
                inputs,
                ..Default::default()
            };
            let notes = BTreeMap::from([(
                cleanup::TRANSITION_ANNOTATION.to_string(),
                cleanup::served(&requests),
            )]);
            if !self.start_transition(spec, notes, membership, None).await {
                return true;
            }
            transition = Some(format!("t-{}", self.last_seq));
        }
        for r in requests {
            let nodes: std::collections::BTreeSet<String> = actions
                .iter()
                .filter(|a| {
                    a.resource
                        .as_deref()
                        .is_some_and(|x| r.primitives.iter().any(|p| cleanup::is_instance_of(x, p)))
                })
                .map(|a| a.node.clone())
                .collect();
            info!(kind = r.kind, name = %r.name, request = %r.value, ?transition, "cleanup request handled");
            self.handled.insert(
                (r.kind, r.name.clone()),
                pacer_crds::CleanupStatus {
                    request: r.value.clone(),
                    transition: transition.clone(),
                    nodes: nodes.into_iter().collect(),
                    time: Some(now.clone()),
                },
            );
        }
        // The status must show it even if nothing else changed.
        self.status_key = None;
        !self
            .engine
            .as_ref()
            .is_none_or(|e| e.phase() != Phase::Running)
    }

    /// Step 3: resource and cluster status, handed to the writer when its inputs changed.
    fn write_status(&mut self) {
        let now = Time(jiff::Timestamp::now());
        let (derived, node_status, cluster_status, props_name) = {
            let Ok(idx) = self.index.lock() else { return };
            // Deriving every resource's status is the costly part of an idle tick: skip it
            // while nothing it reads has changed (and the last writes all succeeded).
            let membership = idx.membership(Self::now_ms(), self.cfg.node_lease_seconds);
            let key = status_key(
                &idx,
                &membership,
                self.engine.as_ref(),
                self.config_error.as_deref(),
                self.scheduler_runs,
            );
            if self.status_key.as_ref() == Some(&key) {
                return;
            }
            self.status_key = Some(key);
            let derived = match &self.cluster {
                Some(cl) => status::derive(cl, &idx, self.engine.as_ref(), &now),
                None => BTreeMap::new(),
            };
            let node_status = match &self.cluster {
                Some(cl) => crate::node_status::derive(cl, &idx, &membership, &now),
                None => BTreeMap::new(),
            };
            let props = idx.config.values().find_map(|o| match o {
                Object::ClusterProperties(p) => Some(p.clone()),
                _ => None,
            });
            let online = membership
                .values()
                .filter(|m| **m == Membership::Online)
                .count();
            let quorum = crate::membership::has_quorum(membership.len(), online);
            let cur = idx.current_transition();
            let old = props
                .as_ref()
                .and_then(|p| p.status.clone())
                .unwrap_or_default();
            let finished = cur
                .and_then(|t| t.status.as_ref())
                .and_then(|s| s.finished.clone());
            let valid = self.config_error.is_none();
            let cs = ClusterStatus {
                dc: Some(self.cfg.identity.clone()),
                quorum: Some(quorum),
                last_transition: finished.or(old.last_transition.clone()),
                transition_id: cur.map(|t| t.spec.seq),
                config_messages: match (&self.config_error, &self.cluster) {
                    (Some(e), _) => vec![e.clone()],
                    (None, Some(cl)) => cl.warnings.clone(),
                    _ => Vec::new(),
                },
                conditions: vec![
                    status::condition(
                        &old.conditions,
                        "ConfigurationValid",
                        valid,
                        if valid { "Scheduled" } else { "SchedulerError" },
                        self.config_error
                            .as_deref()
                            .unwrap_or("the scheduler accepted the configuration"),
                        &now,
                    ),
                    status::condition(
                        &old.conditions,
                        "Quorum",
                        quorum,
                        if quorum { "Quorate" } else { "NoQuorum" },
                        &format!("{online} of {} configured nodes online", membership.len()),
                        &now,
                    ),
                ],
            };
            (derived, node_status, cs, props.map(|p| p.name_any()))
        };
        let mut wanted = BTreeMap::new();
        for ((kind, name), mut st) in derived {
            if let Some(c) = self.handled.get(&(kind, name.clone())) {
                st.last_cleanup = Some(c.clone());
            }
            wanted.insert((kind, name), serde_json::to_value(&st).unwrap_or_default());
        }
        for (name, st) in node_status {
            let v = serde_json::to_value(&st).unwrap_or_default();
            wanted.insert(("ClusterNode", name), v);
        }
        if let Some(name) = props_name {
            let v = serde_json::to_value(&cluster_status).unwrap_or_default();
            wanted.insert(("ClusterProperties", name), v);
        }
        self.writer.want(wanted);
    }

    /// Deletes the oldest transitions beyond `keep_transitions` (never the current one)
    /// and old fencing records (fencing.rs).
    async fn prune(&mut self) {
        let fencing: Vec<String> = match self.index.lock() {
            Ok(idx) => crate::fencing::prunable(idx.fencing.values()),
            Err(_) => Vec::new(),
        };
        let api: Api<pacer_crds::FencingHistory> =
            Api::namespaced(self.client.clone(), &self.cfg.namespace);
        for name in fencing {
            if self.leader.gate("prune").is_err() {
                return;
            }
            if let Err(e) = api.delete(&name, &DeleteParams::default()).await {
                debug!(fencing = %name, error = %e, "pruning failed");
            } else if let Ok(mut idx) = self.index.lock() {
                idx.fencing.remove(&name);
            }
        }
        let doomed: Vec<String> = {
            let Ok(idx) = self.index.lock() else { return };
            if idx.transitions.len() <= self.cfg.keep_transitions.max(1) {
                return;
            }
            let mut all: Vec<(i64, String)> = idx
                .transitions
                .values()
                .map(|t| (t.spec.seq, t.name_any()))
                .collect();
            all.sort();
            let n = all.len() - self.cfg.keep_transitions.max(1);
            all.into_iter().take(n).map(|(_, name)| name).collect()
        };
        for name in doomed {
            if self.leader.gate("prune").is_err() {
                return;
            }
            if let Err(e) = self
                .transitions
                .delete(&name, &DeleteParams::default())
                .await
            {
                debug!(transition = %name, error = %e, "pruning failed");
                continue;
            }
            if let Ok(mut idx) = self.index.lock() {
                idx.transitions.remove(&name);
            }
            // Its owner reference has the garbage collector delete it too; a control
            // plane without one (or an input written before the Transition was) needs this.
            let inputs: Api<ConfigMap> = Api::namespaced(self.client.clone(), &self.cfg.namespace);
            let input = format!("{name}{}", snapshot::INPUT_SUFFIX);
            if let Err(e) = inputs.delete(&input, &DeleteParams::default()).await {
                debug!(transition = %name, error = %e, "pruning its input failed");
            }
        }
    }
}

/// Why a running transition's inputs no longer hold, if they do not.
pub fn input_change(
    stored: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Option<String> {
    for (k, v) in now {
        match (k.as_str(), stored.get(k)) {
            ("membership", Some(old)) if old != v => {
                return Some(format!("node membership changed ({old} → {v})"));
            }
            ("attributes", Some(old)) if old != v => {
                return Some("transient node attributes changed".into());
            }
            ("membership" | "attributes", _) => {}
            (_, None) => return Some(format!("{k} was created")),
            (_, Some(old)) if snapshot::spec_changed(old, v) => {
                return Some(format!("{k} changed"));
            }
            _ => {}
        }
    }
    stored
        .keys()
        .find(|k| !matches!(k.as_str(), "membership" | "attributes") && !now.contains_key(*k))
        .map(|k| format!("{k} was deleted"))
}

fn seq_of(name: &str) -> i64 {
    name.strip_prefix("t-")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The Primitive (or the Group/Clone) a scheduler resource id belongs to.
fn resource_object<'a>(idx: &'a Index, rsc: &str) -> Option<&'a Object> {
    let base = rsc.split(':').next().unwrap_or(rsc);
    idx.config.values().find(|o| {
        matches!(
            o,
            Object::Primitive(_) | Object::Group(_) | Object::Clone(_)
        ) && status::cib_id(o).as_deref() == Some(base)
    })
}

fn node_object<'a>(idx: &'a Index, node: &str) -> Option<&'a Object> {
    idx.config.values().find(|o| match o {
        Object::ClusterNode(n) => n.spec.uname.clone().unwrap_or_else(|| n.name_any()) == node,
        _ => false,
    })
}

/// Everything resource and cluster status is derived from, as a comparable string.
fn status_key(
    idx: &Index,
    membership: &BTreeMap<String, Membership>,
    engine: Option<&Engine>,
    config_error: Option<&str>,
    scheduler_runs: u64,
) -> String {
    use std::fmt::Write as _;
    let mut k = format!(
        "{scheduler_runs}/{}/{}/",
        idx.config_version, idx.status_version
    );
    for (n, m) in membership {
        let _ = write!(k, "{n}={},", m.name());
    }
    if let Some(t) = idx.current_transition() {
        let phase = t
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("");
        let _ = write!(k, "/{}:{phase}", t.spec.seq);
    }
    if let Some(e) = engine {
        let _ = write!(k, "/{}:{}:", e.name, e.phase().name());
        for r in &e.runs {
            k.push_str(r.state.name());
            k.push(',');
        }
    }
    let _ = write!(k, "/{}", config_error.unwrap_or(""));
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn status_only_writes_do_not_abort_but_spec_changes_do() {
        let stored = m(&[
            ("Primitive/ip", "10 g1"),
            ("membership", "n1=online"),
            ("attributes", "a"),
        ]);
        assert_eq!(
            input_change(
                &stored,
                &m(&[
                    ("Primitive/ip", "12 g1"),
                    ("membership", "n1=online"),
                    ("attributes", "a")
                ])
            ),
            None
        );
        assert!(
            input_change(
                &stored,
                &m(&[
                    ("Primitive/ip", "13 g2"),
                    ("membership", "n1=online"),
                    ("attributes", "a")
                ])
            )
            .is_some_and(|r| r.contains("Primitive/ip changed"))
        );
        assert!(
            input_change(
                &stored,
                &m(&[
                    ("Primitive/ip", "10 g1"),
                    ("membership", "n1=unclean"),
                    ("attributes", "a")
                ])
            )
            .is_some_and(|r| r.contains("membership"))
        );
        assert!(
            input_change(
                &stored,
                &m(&[("membership", "n1=online"), ("attributes", "a")])
            )
            .is_some_and(|r| r.contains("deleted"))
        );
        assert!(
            input_change(
                &stored,
                &m(&[
                    ("Primitive/ip", "10 g1"),
                    ("Primitive/db", "11 g1"),
                    ("membership", "n1=online"),
                    ("attributes", "a")
                ])
            )
            .is_some_and(|r| r.contains("created"))
        );
    }
}
