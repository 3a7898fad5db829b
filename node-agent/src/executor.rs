//! The executor: [`ActionRequest`]s in, recorded results ([`Recorded`], history
//! updates and [`OpEvent`]s on a channel) out.
//!
//! Like Pacemaker's executor (lrmd) it runs at most one operation per resource at a
//! time (later ones queue behind it, which is what queue-time measures) and runs
//! different resources in parallel up to a configurable limit. It dispatches to the
//! agent classes, checks OCF meta-data before a resource's first start (missing
//! required parameters, then the agent's own `validate-all`), and never fails: every
//! problem becomes a result with an rc, an op-status and an exit reason.
//!
//! Reload: the DC's `reload-agent` runs as such for agents advertising it and as `reload`
//! for legacy (OCF 1.0) agents; starts, migrations and reloads of OCF agents that can
//! reload record which parameters force a restart (from the agent's meta-data), so the
//! DC reloads rather than restarts when only the others changed.

use jiff::Timestamp;
use std::{
    collections::{HashMap, HashSet},
    ffi::OsString,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant},
};
use tokio::sync::{Semaphore, mpsc};

use crate::{
    Error,
    history::{self, NodeHistory, OpRecord, Recorded, op_digest},
    ipaddr, lsb,
    ocf::{self, MetaData},
    op::{ActionRequest, ActionResult, Agent, OcfRc, OpStatus, Params},
    process::{self, ProcessSpec},
    stonith::{self, FenceAction},
    systemd,
};

/// Longest wait for an agent's meta-data (a well-behaved agent prints it instantly).
const META_DATA_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Debug)]
pub struct ExecutorConfig {
    /// Passed to agents as `OCF_RESKEY_CRM_meta_on_node`.
    pub node_name: Option<String>,
    pub ocf_root: PathBuf,
    pub init_dir: PathBuf,
    pub systemctl: PathBuf,
    pub fence_dir: PathBuf,
    /// Operations running at once across all resources.
    pub max_parallel: usize,
    /// Between SIGTERM and SIGKILL when an agent times out.
    pub kill_grace: Duration,
    /// Cap on captured stdout and on stderr, each, per run.
    pub output_limit: usize,
    /// Run every agent inside this network namespace (`/run/netns/NAME`): forked
    /// agents through `ip netns exec`, native ones on a thread that joined it. Used to
    /// treat namespaces as hosts in tests.
    pub netns: Option<String>,
    /// Show running operations in the history (call id -1) and emit events for them.
    pub record_pending: bool,
    /// Check meta-data and run `validate-all` before a resource's first start.
    pub validate_before_start: bool,
}

impl Default for ExecutorConfig {
    fn default() -> ExecutorConfig {
        ExecutorConfig {
            node_name: None,
            ocf_root: ocf::DEFAULT_OCF_ROOT.into(),
            init_dir: lsb::DEFAULT_INIT_DIR.into(),
            systemctl: systemd::DEFAULT_SYSTEMCTL.into(),
            fence_dir: stonith::DEFAULT_FENCE_DIR.into(),
            max_parallel: 4,
            kill_grace: Duration::from_secs(2),
            output_limit: process::DEFAULT_OUTPUT_LIMIT,
            netns: None,
            record_pending: true,
            validate_before_start: true,
        }
    }
}

/// Something the API-facing part should publish: a new or changed history record.
#[derive(Clone, Debug, PartialEq)]
pub struct OpEvent {
    pub resource: String,
    pub record: OpRecord,
    /// The operation failed (unexpected rc or bad status); fail counts changed.
    pub failed: bool,
}

pub struct Executor {
    cfg: ExecutorConfig,
    slots: Semaphore,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    history: Mutex<NodeHistory>,
    meta_cache: Mutex<HashMap<Agent, Arc<MetaData>>>,
    validated: Mutex<HashSet<(String, String)>>,
    events: mpsc::UnboundedSender<OpEvent>,
    /// Work that outlives its operation (gratuitous ARPs after a start).
    background: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// Locks a std mutex even if a panicking thread poisoned it: the data are plain maps
/// that stay consistent between statements.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Executor {
    pub fn new(cfg: ExecutorConfig) -> (Arc<Executor>, mpsc::UnboundedReceiver<OpEvent>) {
        Self::with_history(cfg, NodeHistory::default())
    }

    /// Starts from a restored history (see [`crate::history::rebuild`]).
    pub fn with_history(
        cfg: ExecutorConfig,
        history: NodeHistory,
    ) -> (Arc<Executor>, mpsc::UnboundedReceiver<OpEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let exec = Executor {
            slots: Semaphore::new(cfg.max_parallel.max(1)),
            cfg,
            locks: Mutex::new(HashMap::new()),
            history: Mutex::new(history),
            meta_cache: Mutex::new(HashMap::new()),
            validated: Mutex::new(HashSet::new()),
            events: tx,
            background: Mutex::new(Vec::new()),
        };
        (Arc::new(exec), rx)
    }

    pub fn config(&self) -> &ExecutorConfig {
        &self.cfg
    }

    /// A copy of the node's history.
    pub fn history(&self) -> NodeHistory {
        lock(&self.history).clone()
    }

    /// Runs `f` on the history (clear failures, cancel a record...).
    pub fn update_history<R>(&self, f: impl FnOnce(&mut NodeHistory) -> R) -> R {
        f(&mut lock(&self.history))
    }

    /// Forgets everything about a resource (deleted or refreshed).
    pub fn forget(&self, resource: &str) {
        lock(&self.history).forget(resource);
        lock(&self.locks).remove(resource);
        lock(&self.validated).retain(|(r, _)| r != resource);
    }

    /// Waits for background work (pending gratuitous ARPs) — for one-shot use before
    /// the process exits.
    pub async fn drain_background(&self) {
        let handles: Vec<_> = lock(&self.background).drain(..).collect();
        for h in handles {
            let _ = h.await;
        }
    }

    fn resource_lock(&self, resource: &str) -> Arc<tokio::sync::Mutex<()>> {
        lock(&self.locks)
            .entry(resource.to_string())
            .or_default()
            .clone()
    }

    /// Runs `req` after any operation already queued on the same resource, records it
    /// and emits an event when there is something to publish.
    pub async fn execute(&self, req: &ActionRequest) -> Recorded {
        let queued = Instant::now();
        let resource_lock = self.resource_lock(&req.resource);
        let _one_per_resource = resource_lock.lock().await;
        let _slot = self.slots.acquire().await;
        let queue_time = queued.elapsed();

        if self.cfg.record_pending {
            let pending = lock(&self.history).begin(req, Timestamp::now());
            if pending.is_pending() {
                let _ = self.events.send(OpEvent {
                    resource: req.resource.clone(),
                    record: pending,
                    failed: false,
                });
            }
        }
        let mut result = self.dispatch(req).await;
        result.queue_time = queue_time;
        let force_restart = self.force_restart(req, &result).await;
        let recorded = lock(&self.history).complete_with(
            req,
            &result,
            Timestamp::now(),
            force_restart.as_deref(),
        );
        tracing::debug!(
            resource = %req.resource,
            op = %req.op_key(),
            rc = result.rc,
            status = ?result.status,
            exec_ms = result.exec_time.as_millis() as u64,
            "operation finished"
        );
        if recorded.changed {
            let _ = self.events.send(OpEvent {
                resource: req.resource.clone(),
                record: recorded.record.clone(),
                failed: recorded.failed,
            });
        }
        recorded
    }

    /// The parameters whose change needs a restart (`op-force-restart`), for the
    /// successful operations that put a resource's definition in place — start,
    /// migrate_from, a reload — of an OCF agent that can reload; `None` otherwise (any
    /// change restarts). Failures are reported without waiting for meta-data: the DC
    /// reads these only from successful starts.
    async fn force_restart(
        &self,
        req: &ActionRequest,
        result: &ActionResult,
    ) -> Option<Vec<String>> {
        let puts_definition = matches!(req.action.as_str(), "start" | "migrate_from")
            || history::is_reload(&req.action);
        if !matches!(req.agent, Agent::Ocf { .. })
            || req.is_recurring()
            || !puts_definition
            || history::is_failure(req, result)
        {
            return None;
        }
        // Cached: the start's checks or the reload itself read it already.
        self.meta_data(&req.agent)
            .await
            .ok()?
            .force_restart_params()
    }

    /// Records a result the executor did not run for (e.g. a credential could not be
    /// resolved), as if the operation had produced it.
    pub fn record(&self, req: &ActionRequest, result: &ActionResult) -> Recorded {
        let recorded = lock(&self.history).complete(req, result, Timestamp::now());
        let _ = self.events.send(OpEvent {
            resource: req.resource.clone(),
            record: recorded.record.clone(),
            failed: recorded.failed,
        });
        recorded
    }

    /// Runs `req` without serialization or history: the `exec` debugging command,
    /// meta-data queries.
    pub async fn dispatch(&self, req: &ActionRequest) -> ActionResult {
        match &req.agent {
            Agent::Ocf { provider, kind } => self.run_ocf(req, provider, kind).await,
            Agent::Lsb { kind } => self.run_lsb(req, kind).await,
            Agent::Systemd { kind } => self.run_systemd(req, kind).await,
            Agent::Stonith { kind } => self.run_stonith_device(req, kind).await,
            Agent::Pacer { kind } => self.run_native(req, kind).await,
        }
    }

    fn launch(&self, mut spec: ProcessSpec) -> ProcessSpec {
        spec.kill_grace = self.cfg.kill_grace;
        spec.output_limit = self.cfg.output_limit;
        if let Some(ns) = &self.cfg.netns {
            spec.launcher = ["ip", "netns", "exec", ns.as_str()]
                .iter()
                .map(OsString::from)
                .collect();
        }
        spec
    }

    async fn run_ocf(&self, req: &ActionRequest, provider: &str, kind: &str) -> ActionResult {
        let started = Instant::now();
        let mut req = std::borrow::Cow::Borrowed(req);
        if req.action == "reload-agent"
            && let Ok(md) = self
                .meta_data_within(&req.agent, META_DATA_TIMEOUT.min(req.timeout))
                .await
            && let Some(kind) = md.reload_kind()
        {
            // A legacy agent reloads its parameters with `reload`.
            req.to_mut().action = kind.action().into();
        }
        if matches!(req.action.as_str(), "start" | "reload-agent" | "reload")
            && self.cfg.validate_before_start
        {
            if let Some(refused) = self.validate_first_start(&req).await {
                return ActionResult {
                    exec_time: started.elapsed(),
                    ..refused
                };
            }
            // Checks count against the start's own timeout.
            let left = req.timeout.saturating_sub(started.elapsed());
            req.to_mut().timeout = left.max(Duration::from_millis(1));
        }
        let spec = self.launch(ocf::process_spec(
            &req,
            &self.cfg.ocf_root,
            provider,
            kind,
            self.cfg.node_name.as_deref(),
        ));
        let mut result = ocf::interpret(&process::run(&spec).await, |c| c);
        result.exec_time = started.elapsed();
        result
    }

    /// Refuses a resource's first start or reload (per parameter set) when its meta-data
    /// names a required parameter it lacks or its `validate-all` fails.
    async fn validate_first_start(&self, req: &ActionRequest) -> Option<ActionResult> {
        let begun = Instant::now();
        let key = (req.resource.clone(), op_digest(&req.params));
        if lock(&self.validated).contains(&key) {
            return None;
        }
        // Without meta-data (agent missing or broken) the start itself reports why.
        let md = self
            .meta_data_within(&req.agent, META_DATA_TIMEOUT.min(req.timeout))
            .await
            .ok()?;
        let missing = md.missing_required(&req.params);
        if let Some(first) = missing.first() {
            return Some(ActionResult::synthetic(
                OcfRc::NOT_CONFIGURED,
                OpStatus::Done,
                ocf::bound(
                    &format!(
                        "required parameter '{first}' of {} is not set for resource '{}'; add it to the resource's params",
                        req.agent, req.resource
                    ),
                    ocf::EXIT_REASON_MAX,
                ),
            ));
        }
        if md.supports("validate-all") {
            let mut check = req.clone();
            check.action = "validate-all".into();
            check.interval = Duration::ZERO;
            let left = req.timeout.saturating_sub(begun.elapsed());
            check.timeout = md
                .default_timeout("validate-all")
                .map_or(left, |t| t.min(left))
                .max(Duration::from_millis(1));
            let Agent::Ocf { provider, kind } = &req.agent else {
                return None;
            };
            let spec = self.launch(ocf::process_spec(
                &check,
                &self.cfg.ocf_root,
                provider,
                kind,
                self.cfg.node_name.as_deref(),
            ));
            let result = ocf::interpret(&process::run(&spec).await, |c| c);
            if result.status != OpStatus::Done || result.rc != OcfRc::SUCCESS {
                let reason = result
                    .exit_reason
                    .clone()
                    .unwrap_or_else(|| OcfRc::from_code(result.rc).description().into());
                return Some(ActionResult {
                    exit_reason: Some(ocf::bound(
                        &format!("validate-all failed: {reason}"),
                        ocf::EXIT_REASON_MAX,
                    )),
                    ..result
                });
            }
        }
        lock(&self.validated).insert(key);
        None
    }

    /// The agent's parsed meta-data, cached per agent.
    pub async fn meta_data(&self, agent: &Agent) -> Result<Arc<MetaData>, Error> {
        self.meta_data_within(agent, META_DATA_TIMEOUT).await
    }

    async fn meta_data_within(
        &self,
        agent: &Agent,
        timeout: Duration,
    ) -> Result<Arc<MetaData>, Error> {
        if let Some(md) = lock(&self.meta_cache).get(agent) {
            return Ok(md.clone());
        }
        let xml = match agent {
            Agent::Ocf { provider, kind } => {
                let mut req = ActionRequest::new("meta-data", agent.clone(), "meta-data");
                req.timeout = timeout;
                let mut spec = self.launch(ocf::process_spec(
                    &req,
                    &self.cfg.ocf_root,
                    provider,
                    kind,
                    self.cfg.node_name.as_deref(),
                ));
                spec.output_limit = 1024 * 1024;
                let out = process::run(&spec).await;
                if out.exit != process::Exit::Code(0) {
                    return Err(Error::MetaData {
                        agent: agent.to_string(),
                        why: format!("meta-data action ended with {:?}", out.exit),
                    });
                }
                out.stdout_lossy()
            }
            Agent::Pacer { kind } => ipaddr::meta_data(kind).ok_or_else(|| Error::MetaData {
                agent: agent.to_string(),
                why: "no such native agent; available: IPaddr2".into(),
            })?,
            other => {
                return Err(Error::MetaData {
                    agent: other.to_string(),
                    why: "only ocf and pacer agents publish meta-data here".into(),
                });
            }
        };
        let md = Arc::new(ocf::parse_meta_data(&agent.to_string(), &xml)?);
        lock(&self.meta_cache).insert(agent.clone(), md.clone());
        Ok(md)
    }

    async fn run_lsb(&self, req: &ActionRequest, name: &str) -> ActionResult {
        let Some(verb) = lsb::verb(&req.action) else {
            return unsupported(req);
        };
        let spec = self.launch(lsb::process_spec(req, &self.cfg.init_dir, name, verb));
        ocf::interpret(&process::run(&spec).await, |c| lsb::map_exit(verb, c))
    }

    async fn run_systemd(&self, req: &ActionRequest, name: &str) -> ActionResult {
        let Some(verb) = systemd::verb(&req.action) else {
            return unsupported(req);
        };
        let unit = systemd::unit_name(name);
        let started = Instant::now();
        let show = self.launch(
            ProcessSpec::new(&self.cfg.systemctl, req.timeout)
                .arg("show")
                .arg("--property=LoadState")
                .arg("--value")
                .arg(&unit),
        );
        let shown = process::run(&show).await;
        if shown.exit == process::Exit::NotFound {
            return ActionResult::synthetic(
                OcfRc::NOT_INSTALLED,
                OpStatus::NotInstalled,
                format!(
                    "{} not found; systemd is required for systemd: resources",
                    self.cfg.systemctl.display()
                ),
            );
        }
        if shown.stdout_lossy().trim() == "not-found" {
            return match req.action.as_str() {
                "stop" => ActionResult::ok(),
                "monitor" | "status" => ActionResult::synthetic(
                    OcfRc::NOT_RUNNING,
                    OpStatus::Done,
                    format!("unit {unit} is not installed"),
                ),
                _ => ActionResult::synthetic(
                    OcfRc::NOT_INSTALLED,
                    OpStatus::NotInstalled,
                    format!("unit {unit} is not installed on this node"),
                ),
            };
        }
        let remaining = req.timeout.saturating_sub(started.elapsed());
        let spec = self.launch(
            ProcessSpec::new(&self.cfg.systemctl, remaining)
                .arg(verb)
                .arg(&unit),
        );
        let out = process::run(&spec).await;
        let mut result = if verb == "is-active" {
            let state = out.stdout_lossy();
            ocf::interpret(&out, |_| systemd::map_active_state(&state))
        } else {
            ocf::interpret(&out, systemd::map_job_exit)
        };
        if result.rc != OcfRc::SUCCESS && result.exit_reason.is_none() {
            let err = out.stderr_lossy();
            let err = err.trim();
            if !err.is_empty() {
                result.exit_reason = Some(ocf::bound(err, ocf::EXIT_REASON_MAX));
            }
        }
        result.exec_time = started.elapsed();
        result
    }

    async fn run_stonith_device(&self, req: &ActionRequest, kind: &str) -> ActionResult {
        match stonith::device_action(&req.action) {
            // A probe asks whether the device is started *here* (registered with this
            // node's fencer), not whether the BMC answers.
            Some(_)
                if req.action == "monitor"
                    && req.interval.is_zero()
                    && !stonith::registered(&req.resource) =>
            {
                let mut r = ActionResult::ok();
                r.rc = OcfRc::NOT_RUNNING;
                r
            }
            Some(action) => {
                let r = self
                    .fence_agent(&req.resource, kind, &req.params, action, None, req.timeout)
                    .await;
                if req.action == "start" && r.rc == OcfRc::SUCCESS {
                    stonith::register(&req.resource);
                }
                r
            }
            None if req.action == "stop" => {
                stonith::unregister(&req.resource);
                ActionResult::ok()
            }
            None => unsupported(req),
        }
    }

    /// Runs a fence agent action (`off`, `reboot`, `status`...) for `plug`. Credentials
    /// in `params` go to the agent's stdin only.
    pub async fn fence_agent(
        &self,
        device: &str,
        kind: &str,
        params: &Params,
        action: FenceAction,
        plug: Option<&str>,
        timeout: Duration,
    ) -> ActionResult {
        if kind == crate::redfish::AGENT {
            let mut r = crate::redfish::run(params, action, plug, timeout).await;
            r.exit_reason = r.exit_reason.map(|x| stonith::redact(&x, params));
            return r;
        }
        let stdin = match stonith::stdin_payload(device, params, action, plug) {
            Ok(s) => s,
            Err(e) => {
                return ActionResult::synthetic(
                    OcfRc::INVALID_ARGS,
                    OpStatus::ErrorHard,
                    e.to_string(),
                );
            }
        };
        let spec = self.launch(stonith::process_spec(
            &self.cfg.fence_dir,
            kind,
            timeout,
            stdin,
        ));
        let out = process::run(&spec).await;
        let mut result = ocf::interpret(&out, |c| stonith::map_exit(action, c));
        if result.rc != OcfRc::SUCCESS && result.exit_reason.is_none() {
            // Fence agents explain failures on stderr ("ERROR: ..."), never with secrets.
            let err = out.stderr_lossy();
            if let Some(line) = err.lines().rev().find(|l| !l.trim().is_empty()) {
                result.exit_reason = Some(ocf::bound(line.trim(), ocf::EXIT_REASON_MAX));
            }
        }
        // Agents sometimes echo their command lines; never let a credential through.
        result.exit_reason = result.exit_reason.map(|r| stonith::redact(&r, params));
        result.output = stonith::redact(&result.output, params);
        result
    }

    async fn run_native(&self, req: &ActionRequest, kind: &str) -> ActionResult {
        if kind != "IPaddr2" {
            return ActionResult::synthetic(
                OcfRc::NOT_INSTALLED,
                OpStatus::NotInstalled,
                format!("no native agent pacer:{kind}; available: pacer:IPaddr2"),
            );
        }
        let started = Instant::now();
        let req2 = req.clone();
        let work = move || async move { ipaddr::run(&req2).await };
        let outcome = tokio::time::timeout(
            req.timeout,
            crate::netns::run_in(self.cfg.netns.as_deref(), work),
        )
        .await;
        let mut result = match outcome {
            Ok(Ok((r, arp))) => {
                if let Some(job) = arp {
                    // The packet socket already lives in the right namespace, so the
                    // remaining announcements can run on our runtime.
                    let mut bg = lock(&self.background);
                    bg.retain(|h| !h.is_finished());
                    bg.push(tokio::spawn(job.finish()));
                }
                r
            }
            Ok(Err(e)) => ActionResult::synthetic(
                OcfRc::GENERIC_ERROR,
                OpStatus::Error,
                ocf::bound(&e.to_string(), ocf::EXIT_REASON_MAX),
            ),
            Err(_) => ActionResult::synthetic(
                OcfRc::GENERIC_ERROR,
                OpStatus::Timeout,
                "native IPaddr2 did not finish within its timeout",
            ),
        };
        result.exec_time = started.elapsed();
        result
    }
}

fn unsupported(req: &ActionRequest) -> ActionResult {
    ActionResult::synthetic(
        OcfRc::UNIMPLEMENTED,
        OpStatus::NotSupported,
        format!(
            "{} agents do not support action '{}'",
            req.agent, req.action
        ),
    )
}
