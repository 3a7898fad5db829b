//! Fencing a node from this host: the stonith `Primitive`s, the `FencingTopology` and a
//! target in; the devices run in order (with their retries and timeouts) and one
//! `FencingHistory` record (who, what, when, result) out.
//!
//! Device parameters follow Pacemaker Explained ("Fencing" chapter):
//! - `pcmk_host_list` (nodes the device can fence) and `pcmk_host_map` (`node:plug;...`,
//!   which also names the plug to pass);
//! - `pcmk_host_check`: `static-list` (the default when either of the two is set),
//!   `dynamic-list` (ask the device with `list`), `status` (ask it with `status` for the
//!   plug), `none` (any node). Without a list the default is `dynamic-list`, falling
//!   back to `status` when the device cannot list (fence_ipmilan answers `list` with
//!   nothing);
//! - `pcmk_host_argument` (`plug` by default; `none` passes no plug);
//! - `pcmk_<action>_timeout` and `pcmk_<action>_retries` (default 2): an action is
//!   retried on the same device while the fence action's own timeout allows;
//! - `priority` (meta): without a topology, devices are tried highest priority first,
//!   then by id, until one succeeds.
//!
//! With a `FencingTopology`, its levels for the target (by `target`, `targetPattern` or
//! `targetAttribute`/`targetValue`) are tried in index order; a level succeeds when every
//! one of its devices succeeds. A `reboot` through a level of several devices is "off all,
//! then on all" (the node must not get power back from one device while another is off).
//!
//! Credentials: devices reference Secrets (`paramsFrom`); values are read right before the
//! run, reach the fence agent on stdin only, and are redacted from every message.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Time};
use kube::{
    Api, Client, ResourceExt,
    api::{ListParams, Patch, PatchParams},
};
use pacer_crds::{
    ClusterNode, FencingHistory, FencingHistorySpec, FencingTopology, ParamFromSecret, Primitive,
};

use crate::{
    executor::Executor,
    op::{ActionResult, OcfRc, OpStatus, Params},
    stonith::FenceAction,
};

/// Retries of a fence action on one device unless `pcmk_<action>_retries` says otherwise.
pub const DEFAULT_RETRIES: u32 = 2;
/// Longest wait before a fence that follows failed ones (a failing BMC is not hammered).
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// How a device decides whether it can fence a node (`pcmk_host_check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostCheck {
    StaticList,
    DynamicList,
    Status,
    None,
}

impl HostCheck {
    fn parse(v: &str) -> Option<HostCheck> {
        Some(match v.trim() {
            "static-list" => HostCheck::StaticList,
            "dynamic-list" => HostCheck::DynamicList,
            "status" => HostCheck::Status,
            "none" => HostCheck::None,
            _ => return None,
        })
    }
}

/// A fencing device prepared for one target.
#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    /// CIB id of the stonith primitive.
    pub id: String,
    /// Fence agent, e.g. `fence_ipmilan` (or the native `redfish`).
    pub agent: String,
    pub params: Params,
    pub params_from: Vec<ParamFromSecret>,
    /// What to pass as `plug=` (None with `pcmk_host_argument=none`).
    pub plug: Option<String>,
    pub check: HostCheck,
    /// Meta `priority` (higher first).
    pub priority: i64,
}

fn split_list(v: &str) -> impl Iterator<Item = &str> {
    v.split([' ', ',', ';', '\t', '\n']).filter(|s| !s.is_empty())
}

/// The plug for `target` in a `pcmk_host_map` value (`n1:1;n2=2` forms both accepted).
fn map_plug(map: &str, target: &str) -> Option<String> {
    split_list(map).find_map(|entry| {
        let (node, plug) = entry.split_once([':', '='])?;
        (node == target).then(|| plug.to_string())
    })
}

fn primitive_id(p: &Primitive) -> String {
    p.spec.id.clone().unwrap_or_else(|| p.name_any())
}

impl Device {
    /// The device behind a stonith Primitive, prepared for `target` (None for other
    /// classes).
    pub fn from_primitive(p: &Primitive, target: &str) -> Option<Device> {
        if p.spec.class.as_deref() != Some("stonith") {
            return None;
        }
        let agent = p.spec.type_.clone()?;
        let params: Params = p
            .spec
            .params
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let host_list = params.get("pcmk_host_list");
        let host_map = params.get("pcmk_host_map");
        let check = params
            .get("pcmk_host_check")
            .and_then(HostCheck::parse)
            .unwrap_or(if host_list.is_some() || host_map.is_some() {
                HostCheck::StaticList
            } else {
                HostCheck::DynamicList
            });
        let plug = match params.get("pcmk_host_argument").map(str::trim) {
            Some("none") => None,
            _ => Some(
                host_map
                    .and_then(|m| map_plug(m, target))
                    .unwrap_or_else(|| target.to_string()),
            ),
        };
        let priority = p
            .spec
            .meta
            .as_ref()
            .and_then(|m| m.get("priority"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        Some(Device {
            id: primitive_id(p),
            agent,
            plug,
            check,
            priority,
            params_from: p.spec.params_from.clone(),
            params,
        })
    }

    /// Whether the configuration alone says this device fences `target`: `Some(false)`
    /// excludes it, `None` means "ask the device" (dynamic-list / status).
    pub fn statically_fences(&self, target: &str) -> Option<bool> {
        match self.check {
            HostCheck::None => Some(true),
            HostCheck::StaticList => {
                let listed = self
                    .params
                    .get("pcmk_host_list")
                    .is_some_and(|l| split_list(l).any(|n| n == target));
                let mapped = self
                    .params
                    .get("pcmk_host_map")
                    .is_some_and(|m| map_plug(m, target).is_some());
                Some(listed || mapped)
            }
            HostCheck::DynamicList | HostCheck::Status => None,
        }
    }

    fn pcmk(&self, action: FenceAction, what: &str) -> Option<&str> {
        self.params.get(&format!("pcmk_{}_{what}", action.as_str()))
    }

    /// `pcmk_<action>_retries`.
    pub fn retries(&self, action: FenceAction) -> u32 {
        self.pcmk(action, "retries")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_RETRIES)
    }

    /// `pcmk_<action>_timeout` (a Pacemaker duration: `60`, `60s`, `2min`, `500ms`).
    pub fn timeout(&self, action: FenceAction) -> Option<Duration> {
        self.pcmk(action, "timeout").and_then(parse_duration)
    }
}

/// Pacemaker durations: a number of seconds, or with `ms`, `s`, `m`/`min`, `h`.
pub fn parse_duration(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "" | "s" | "sec" => n * 1000,
        "ms" | "msec" => n,
        "m" | "min" => n * 60_000,
        "h" | "hr" => n * 3_600_000,
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

/// Every stonith device, prepared for `target`, that is not statically excluded; ordered
/// by priority (highest first), then id.
pub fn devices_for(primitives: &[Primitive], target: &str) -> Vec<Device> {
    let mut out: Vec<Device> = primitives
        .iter()
        .filter_map(|p| Device::from_primitive(p, target))
        .filter(|d| d.statically_fences(target) != Some(false))
        .collect();
    out.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
    out
}

/// One fencing level: its index (None without a topology) and devices, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    pub index: Option<i64>,
    pub devices: Vec<Device>,
    /// Device ids the level names that are not configured (the level cannot succeed).
    pub missing: Vec<String>,
}

/// The levels to try for `target`: the topology's levels matching it (by index), else one
/// level per capable device. `attrs` are the target's node attributes.
pub fn plan(
    primitives: &[Primitive],
    topologies: &[FencingTopology],
    target: &str,
    attrs: &BTreeMap<String, String>,
) -> Vec<Level> {
    let mut levels: Vec<(i64, Vec<String>)> = topologies
        .iter()
        .flat_map(|t| &t.spec.levels)
        .filter(|l| {
            if let Some(t) = &l.target {
                t == target
            } else if let Some(p) = &l.target_pattern {
                regex::Regex::new(&format!("^(?:{p})$")).is_ok_and(|r| r.is_match(target))
            } else if let (Some(a), Some(v)) = (&l.target_attribute, &l.target_value) {
                attrs.get(a) == Some(v)
            } else {
                false
            }
        })
        .map(|l| (l.index, l.devices.clone()))
        .collect();
    levels.sort_by_key(|(i, _)| *i);
    if levels.is_empty() {
        return devices_for(primitives, target)
            .into_iter()
            .map(|d| Level {
                index: None,
                devices: vec![d],
                missing: Vec::new(),
            })
            .collect();
    }
    levels
        .into_iter()
        .map(|(index, ids)| {
            let mut devices = Vec::new();
            let mut missing = Vec::new();
            for id in ids.iter().flat_map(|s| split_list(s)) {
                match primitives
                    .iter()
                    .find(|p| primitive_id(p) == id)
                    .and_then(|p| Device::from_primitive(p, target))
                {
                    Some(d) => devices.push(d),
                    None => missing.push(id.to_string()),
                }
            }
            Level {
                index: Some(index),
                devices,
                missing,
            }
        })
        .collect()
}

/// Runs one fence-agent action on a device (the real one: [`AgentRunner`]).
#[allow(async_fn_in_trait)]
pub trait Runner {
    async fn run(
        &self,
        device: &Device,
        action: FenceAction,
        plug: Option<&str>,
        timeout: Duration,
    ) -> ActionResult;
}

/// One try of one action on one device.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub level: Option<i64>,
    pub device: String,
    pub action: FenceAction,
    pub rc: i32,
    pub elapsed: Duration,
    pub reason: Option<String>,
}

/// What a fence came to.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub ok: bool,
    /// Devices of the level that succeeded (or of every level tried, on failure).
    pub devices: Vec<String>,
    pub attempts: Vec<Attempt>,
    /// One line for people: which level/device did it, or why every level failed.
    pub message: String,
}

/// fence-agents prefix their stderr lines with a log time (`2026-11-23 09:29:06,791 `):
/// noise in a status message.
fn without_log_time(line: &str) -> String {
    let b = line.as_bytes();
    let stamped = b.len() > 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[19] == b','
        && b[..4].iter().all(u8::is_ascii_digit);
    if stamped {
        line[23..].trim_start().to_string()
    } else {
        line.to_string()
    }
}

fn remaining(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// Whether `device` can fence `target` when the configuration leaves it to the device.
async fn device_fences(
    runner: &impl Runner,
    device: &Device,
    target: &str,
    deadline: Instant,
) -> Result<(), String> {
    let probe = remaining(deadline).min(Duration::from_secs(20));
    if device.check == HostCheck::DynamicList {
        let r = runner.run(device, FenceAction::List, None, probe).await;
        let plugs: Vec<&str> = r
            .output
            .lines()
            .filter_map(|l| l.split(',').next())
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if r.rc == OcfRc::SUCCESS && !plugs.is_empty() {
            let plug = device.plug.as_deref().unwrap_or(target);
            return if plugs.contains(&plug) {
                Ok(())
            } else {
                Err(format!("{} does not list {plug}", device.id))
            };
        }
        // Cannot list: fall back to asking for the plug's status.
    }
    let r = runner
        .run(device, FenceAction::Status, device.plug.as_deref(), probe)
        .await;
    if r.rc == OcfRc::SUCCESS || r.rc == OcfRc::NOT_RUNNING {
        Ok(())
    } else {
        Err(format!(
            "{} cannot tell the status of {target}: {}",
            device.id,
            r.exit_reason.unwrap_or_else(|| format!("rc {}", r.rc))
        ))
    }
}

/// Runs `action` on one device with its retries, until success or `deadline`.
async fn run_with_retries(
    runner: &impl Runner,
    level: Option<i64>,
    device: &Device,
    action: FenceAction,
    deadline: Instant,
    attempts: &mut Vec<Attempt>,
) -> bool {
    let tries = device.retries(action).saturating_add(1);
    for n in 0..tries {
        let left = remaining(deadline);
        if left < Duration::from_millis(100) {
            return false;
        }
        if n > 0 {
            tokio::time::sleep(Duration::from_millis(250).min(left / 4)).await;
        }
        let timeout = device.timeout(action).unwrap_or(left).min(remaining(deadline));
        let started = Instant::now();
        let r = runner
            .run(device, action, device.plug.as_deref(), timeout)
            .await;
        let ok = r.rc == OcfRc::SUCCESS;
        tracing::info!(
            device = %device.id, action = action.as_str(), attempt = n + 1, rc = r.rc,
            reason = r.exit_reason.as_deref().unwrap_or(""), ms = started.elapsed().as_millis() as u64,
            "fence device ran"
        );
        attempts.push(Attempt {
            level,
            device: device.id.clone(),
            action,
            rc: r.rc,
            elapsed: started.elapsed(),
            reason: r.exit_reason.clone(),
        });
        if ok {
            return true;
        }
        // A hard configuration error does not get better by retrying.
        if matches!(
            r.status,
            OpStatus::ErrorHard | OpStatus::ErrorFatal | OpStatus::NotInstalled
        ) {
            return false;
        }
    }
    false
}

/// Fences `target` with `action` through `levels`, until one level succeeds or the
/// deadline passes.
pub async fn execute(
    runner: &impl Runner,
    levels: &[Level],
    target: &str,
    action: FenceAction,
    deadline: Instant,
) -> Outcome {
    let started = Instant::now();
    let mut attempts = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut tried: Vec<String> = Vec::new();
    let name = |l: &Level| match l.index {
        Some(i) => format!("level {i}"),
        None => l
            .devices
            .first()
            .map_or_else(|| "device".to_string(), |d| d.id.clone()),
    };
    // "level 2: " in front of a device's failure; nothing without a topology (the device
    // names itself).
    let prefix = |l: &Level| l.index.map(|i| format!("level {i}: ")).unwrap_or_default();
    for level in levels {
        if remaining(deadline).is_zero() {
            failures.push("timed out".into());
            break;
        }
        if !level.missing.is_empty() {
            failures.push(format!(
                "{}: no such device {}",
                name(level),
                level.missing.join(", ")
            ));
            continue;
        }
        if level.devices.is_empty() {
            continue;
        }
        let mut checked = Ok(());
        for d in &level.devices {
            tried.push(d.id.clone());
            if d.statically_fences(target).is_none() {
                checked = device_fences(runner, d, target, deadline).await;
                if checked.is_err() {
                    break;
                }
            }
        }
        if let Err(why) = checked {
            failures.push(format!("{}{why}", prefix(level)));
            continue;
        }
        // Reboot through several devices: everything off first, then everything on.
        let steps: Vec<FenceAction> = if action == FenceAction::Reboot && level.devices.len() > 1 {
            vec![FenceAction::Off, FenceAction::On]
        } else {
            vec![action]
        };
        let mut level_ok = true;
        for step in steps {
            for d in &level.devices {
                let ok = run_with_retries(runner, level.index, d, step, deadline, &mut attempts)
                    .await;
                // Power coming back is not what fencing promises: "on" failures are
                // logged, not fatal.
                if !ok && step != FenceAction::On {
                    level_ok = false;
                    let last = attempts
                        .iter()
                        .rev()
                        .find(|a| a.device == d.id)
                        .and_then(|a| a.reason.as_deref().map(without_log_time))
                        .unwrap_or_else(|| "no attempt fit in the timeout".into());
                    let n = attempts.iter().filter(|a| a.device == d.id).count();
                    failures.push(format!(
                        "{}{} {} failed ({n} attempt{}): {last}",
                        prefix(level),
                        d.id,
                        step.as_str(),
                        if n == 1 { "" } else { "s" }
                    ));
                    break;
                }
            }
            if !level_ok {
                break;
            }
        }
        if level_ok {
            let ids: Vec<String> = level.devices.iter().map(|d| d.id.clone()).collect();
            return Outcome {
                ok: true,
                message: format!(
                    "{} {target} via {} ({}) in {} ms",
                    action.as_str(),
                    ids.join("+"),
                    name(level),
                    started.elapsed().as_millis()
                ),
                devices: ids,
                attempts,
            };
        }
    }
    tried.dedup();
    let message = if levels.is_empty() {
        format!("no fencing device can fence node '{target}'")
    } else if failures.is_empty() {
        format!("no fencing level could fence '{target}'")
    } else {
        failures.join("; ")
    };
    Outcome {
        ok: false,
        devices: tried,
        attempts,
        message,
    }
}

/// The real runner: the executor runs fence agents (and the native Redfish client) with
/// each device's Secret values merged into its parameters.
pub struct AgentRunner<'a> {
    pub executor: &'a Executor,
    /// `(secret, key)` → value.
    pub secrets: BTreeMap<(String, String), String>,
}

impl AgentRunner<'_> {
    /// The device's parameters with its Secret references resolved.
    pub fn params(&self, device: &Device) -> Result<Params, String> {
        let mut params = device.params.clone();
        for r in &device.params_from {
            let key = (r.secret_key_ref.name.clone(), r.secret_key_ref.key.clone());
            let value = self.secrets.get(&key).ok_or_else(|| {
                format!(
                    "Secret '{}' has no key '{}' (or the agent may not read it)",
                    r.secret_key_ref.name, r.secret_key_ref.key
                )
            })?;
            params.0.insert(r.name.clone(), value.clone());
        }
        Ok(params)
    }
}

impl Runner for AgentRunner<'_> {
    async fn run(
        &self,
        device: &Device,
        action: FenceAction,
        plug: Option<&str>,
        timeout: Duration,
    ) -> ActionResult {
        let params = match self.params(device) {
            Ok(p) => p,
            Err(e) => {
                return ActionResult::synthetic(OcfRc::NOT_CONFIGURED, OpStatus::ErrorHard, e);
            }
        };
        self.executor
            .fence_agent(&device.id, &device.agent, &params, action, plug, timeout)
            .await
    }
}

/// Reads every key of the Secrets `refs` name.
pub async fn read_secrets(
    client: &Client,
    namespace: &str,
    refs: impl IntoIterator<Item = &ParamFromSecret>,
) -> BTreeMap<(String, String), String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let mut names: Vec<&str> = refs
        .into_iter()
        .map(|r| r.secret_key_ref.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = BTreeMap::new();
    for name in names {
        match api.get_opt(name).await {
            Ok(Some(s)) => {
                for (k, v) in s.data.unwrap_or_default() {
                    if let Ok(text) = String::from_utf8(v.0) {
                        out.insert((name.to_string(), k), text);
                    }
                }
                for (k, v) in s.string_data.unwrap_or_default() {
                    out.insert((name.to_string(), k), v);
                }
            }
            Ok(None) => tracing::warn!(secret = name, "fencing Secret not found"),
            Err(e) => tracing::warn!(secret = name, error = %e, "cannot read fencing Secret"),
        }
    }
    out
}

/// Consecutive failed fences of `target` since its last success (newest first order is
/// not assumed).
pub fn consecutive_failures(history: &[FencingHistory], target: &str) -> u32 {
    let mut own: Vec<&FencingHistory> = history
        .iter()
        .filter(|f| f.spec.target == target && f.spec.result != "pending")
        .collect();
    own.sort_by_key(|f| {
        (
            f.metadata.creation_timestamp.as_ref().map(|t| t.0),
            seq_of(&f.name_any()),
        )
    });
    own.iter()
        .rev()
        .take_while(|f| f.spec.result != "success")
        .count() as u32
}

fn seq_of(name: &str) -> i64 {
    name.rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// How long to wait before fencing again after `failures` failed fences: 0, then 0.5 s
/// doubling up to [`MAX_BACKOFF`].
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let ms = 500u64.saturating_mul(1 << failures.saturating_sub(1).min(10));
    Duration::from_millis(ms).min(MAX_BACKOFF)
}

/// What this node needs to fence `target` (from the API).
pub struct FenceRequest<'a> {
    pub client: &'a Client,
    pub namespace: &'a str,
    /// This node (the executor).
    pub me: &'a str,
    pub executor: &'a Executor,
    pub target: &'a str,
    pub action: FenceAction,
    pub transition_key: &'a str,
    pub timeout: Duration,
    pub seq: i64,
}

async fn write_record(
    api: &Api<FencingHistory>,
    name: &str,
    spec: FencingHistorySpec,
) -> Result<(), kube::Error> {
    let record = FencingHistory::new(name, spec);
    api.patch(
        name,
        &PatchParams::apply(crate::node::FIELD_MANAGER).force(),
        &Patch::Apply(&record),
    )
    .await
    .map(|_| ())
}

/// Fences `req.target` and records the result as `FencingHistory/<target>-<seq>` (first
/// `pending`, then `success` or `failed`).
pub async fn fence_node(req: FenceRequest<'_>) -> Outcome {
    let deadline = Instant::now() + req.timeout.saturating_sub(Duration::from_millis(500));
    let ns = req.namespace;
    let prims: Api<Primitive> = Api::namespaced(req.client.clone(), ns);
    let topo: Api<FencingTopology> = Api::namespaced(req.client.clone(), ns);
    let nodes: Api<ClusterNode> = Api::namespaced(req.client.clone(), ns);
    let history: Api<FencingHistory> = Api::namespaced(req.client.clone(), ns);
    let lp = ListParams::default();
    let primitives = prims.list(&lp).await.map(|l| l.items);
    let topologies = topo.list(&lp).await.map(|l| l.items).unwrap_or_default();
    let attrs = nodes
        .list(&lp)
        .await
        .ok()
        .and_then(|l| {
            l.items.into_iter().find(|n| {
                n.spec.uname.clone().unwrap_or_else(|| n.name_any()) == req.target
            })
        })
        .and_then(|n| n.spec.attributes)
        .unwrap_or_default();
    let past = history.list(&lp).await.map(|l| l.items).unwrap_or_default();
    let name = format!("{}-{}", req.target, req.seq);
    let spec = |result: &str, devices: Vec<String>, message: String, ok: bool| FencingHistorySpec {
        target: req.target.to_string(),
        action: req.action.as_str().to_string(),
        executor: req.me.to_string(),
        transition_key: Some(req.transition_key.to_string()),
        devices,
        result: result.into(),
        message: Some(message),
        completed: ok.then(|| Time(Timestamp::now())),
    };

    let failures = consecutive_failures(&past, req.target);
    let wait = backoff(failures).min(req.timeout / 4);
    let outcome = match primitives {
        Err(e) => Outcome {
            ok: false,
            devices: Vec::new(),
            attempts: Vec::new(),
            message: format!("cannot list fencing devices: {e}"),
        },
        Ok(primitives) => {
            let levels = plan(&primitives, &topologies, req.target, &attrs);
            let pending = format!(
                "{} {} by {}: trying {} level(s){}",
                req.action.as_str(),
                req.target,
                req.me,
                levels.len(),
                if failures > 0 {
                    format!(" (retry after {failures} failure(s), waiting {} ms)", wait.as_millis())
                } else {
                    String::new()
                }
            );
            if let Err(e) = write_record(&history, &name, spec("pending", Vec::new(), pending, false)).await {
                tracing::warn!(fencing = %name, error = %e, "cannot record the pending fence");
            }
            if !wait.is_zero() {
                tracing::info!(target_node = req.target, failures, wait_ms = wait.as_millis() as u64, "backing off before fencing again");
                tokio::time::sleep(wait).await;
            }
            let refs: Vec<ParamFromSecret> = levels
                .iter()
                .flat_map(|l| &l.devices)
                .flat_map(|d| d.params_from.clone())
                .collect();
            let runner = AgentRunner {
                executor: req.executor,
                secrets: read_secrets(req.client, ns, &refs).await,
            };
            let mut out = execute(&runner, &levels, req.target, req.action, deadline).await;
            // Belt and braces: no Secret value in anything we store.
            for v in runner.secrets.values() {
                if v.len() >= 3 {
                    out.message = out.message.replace(v.as_str(), "****");
                }
            }
            out
        }
    };
    tracing::info!(
        target_node = req.target, action = req.action.as_str(), ok = outcome.ok,
        message = %outcome.message, "fencing finished"
    );
    let result = if outcome.ok { "success" } else { "failed" };
    if let Err(e) = write_record(
        &history,
        &name,
        spec(result, outcome.devices.clone(), outcome.message.clone(), outcome.ok),
    )
    .await
    {
        tracing::error!(fencing = %name, error = %e, "cannot record the fencing result");
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::{FencingLevel, FencingTopologySpec, PrimitiveSpec};
    use std::sync::Mutex;

    fn stonith(name: &str, params: &[(&str, &str)]) -> Primitive {
        Primitive::new(
            name,
            PrimitiveSpec {
                class: Some("stonith".into()),
                type_: Some("fence_ipmilan".into()),
                params: Some(
                    params
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
                ..PrimitiveSpec::default()
            },
        )
    }

    #[test]
    fn host_list_map_and_unrestricted_devices() {
        let prims = vec![
            stonith("f-n1", &[("pcmk_host_list", "n1"), ("ip", "10.0.0.1")]),
            stonith("f-map", &[("pcmk_host_map", "n1:blade1;n2:blade2")]),
            stonith("f-any", &[]),
            stonith("f-none", &[("pcmk_host_list", "n9"), ("pcmk_host_check", "none")]),
            Primitive::new("web", PrimitiveSpec::default()),
        ];
        let n1: Vec<(String, Option<String>)> = devices_for(&prims, "n1")
            .into_iter()
            .map(|d| (d.id, d.plug))
            .collect();
        assert_eq!(
            n1,
            [
                ("f-any".to_string(), Some("n1".to_string())),
                ("f-map".into(), Some("blade1".into())),
                ("f-n1".into(), Some("n1".into())),
                ("f-none".into(), Some("n1".into())),
            ]
        );
        let n3: Vec<String> = devices_for(&prims, "n3").into_iter().map(|d| d.id).collect();
        assert_eq!(n3, ["f-any", "f-none"]);
        let d = Device::from_primitive(&prims[2], "n3").unwrap_or_else(|| panic!("device"));
        assert_eq!(d.check, HostCheck::DynamicList);
        assert_eq!(d.statically_fences("n3"), None);
    }

    #[test]
    fn priority_host_argument_retries_and_timeouts() {
        let mut hi = stonith(
            "z-hi",
            &[("pcmk_host_argument", "none"), ("pcmk_off_retries", "0"), ("pcmk_off_timeout", "5s")],
        );
        hi.spec.meta = Some([("priority".to_string(), "10".to_string())].into());
        let prims = vec![stonith("a-lo", &[]), hi];
        let d = devices_for(&prims, "n1");
        assert_eq!(d[0].id, "z-hi");
        assert_eq!(d[0].plug, None);
        assert_eq!(d[0].retries(FenceAction::Off), 0);
        assert_eq!(d[0].timeout(FenceAction::Off), Some(Duration::from_secs(5)));
        assert_eq!(d[1].retries(FenceAction::Off), DEFAULT_RETRIES);
        assert_eq!(parse_duration("2min"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("750ms"), Some(Duration::from_millis(750)));
        assert_eq!(parse_duration("x"), None);
    }

    fn topology(levels: Vec<FencingLevel>) -> FencingTopology {
        FencingTopology::new("t", FencingTopologySpec { levels })
    }

    #[test]
    fn topology_levels_by_target_pattern_and_attribute() {
        let prims = vec![stonith("ipmi", &[]), stonith("pdu1", &[]), stonith("pdu2", &[])];
        let t = topology(vec![
            FencingLevel {
                index: 2,
                target_pattern: Some("n[0-9]+".into()),
                devices: vec!["pdu1".into(), "pdu2".into()],
                ..Default::default()
            },
            FencingLevel {
                index: 1,
                target: Some("n1".into()),
                devices: vec!["ipmi".into()],
                ..Default::default()
            },
            FencingLevel {
                index: 3,
                target_attribute: Some("rack".into()),
                target_value: Some("r1".into()),
                devices: vec!["gone".into()],
                ..Default::default()
            },
        ]);
        let attrs: BTreeMap<String, String> = [("rack".to_string(), "r1".to_string())].into();
        let l = plan(&prims, std::slice::from_ref(&t), "n1", &attrs);
        let shape: Vec<(Option<i64>, Vec<String>, Vec<String>)> = l
            .iter()
            .map(|l| {
                (
                    l.index,
                    l.devices.iter().map(|d| d.id.clone()).collect(),
                    l.missing.clone(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                (Some(1), vec!["ipmi".to_string()], vec![]),
                (Some(2), vec!["pdu1".into(), "pdu2".into()], vec![]),
                (Some(3), vec![], vec!["gone".to_string()]),
            ]
        );
        // A node no level matches: every capable device on its own.
        let other = plan(&prims, &[t], "db1", &BTreeMap::new());
        assert_eq!(other.len(), 3);
        assert!(other.iter().all(|l| l.index.is_none() && l.devices.len() == 1));
    }

    /// Answers from a script: device id → rc per call, in order (the last repeats).
    struct Scripted {
        rcs: BTreeMap<String, Vec<i32>>,
        calls: Mutex<Vec<(String, FenceAction)>>,
    }

    impl Runner for Scripted {
        async fn run(
            &self,
            device: &Device,
            action: FenceAction,
            _plug: Option<&str>,
            _timeout: Duration,
        ) -> ActionResult {
            let n = {
                let mut c = self.calls.lock().unwrap_or_else(|e| e.into_inner());
                c.push((device.id.clone(), action));
                c.iter().filter(|(d, _)| *d == device.id).count()
            };
            let rcs = self.rcs.get(&device.id).cloned().unwrap_or_default();
            let rc = rcs.get(n - 1).or(rcs.last()).copied().unwrap_or(0);
            if rc == 0 {
                ActionResult::ok()
            } else {
                ActionResult::synthetic(rc, OpStatus::Error, format!("{} says no", device.id))
            }
        }
    }

    #[tokio::test]
    async fn levels_in_order_retries_then_next_level() {
        let prims = vec![
            stonith("ipmi", &[("pcmk_host_list", "n1")]),
            stonith("pdu1", &[("pcmk_host_list", "n1")]),
            stonith("pdu2", &[("pcmk_host_list", "n1"), ("pcmk_off_retries", "0")]),
        ];
        let t = topology(vec![
            FencingLevel {
                index: 1,
                target: Some("n1".into()),
                devices: vec!["ipmi".into()],
                ..Default::default()
            },
            FencingLevel {
                index: 2,
                target: Some("n1".into()),
                devices: vec!["pdu1".into(), "pdu2".into()],
                ..Default::default()
            },
        ]);
        let levels = plan(&prims, &[t], "n1", &BTreeMap::new());
        let runner = Scripted {
            rcs: [("ipmi".to_string(), vec![1])].into(),
            calls: Mutex::default(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        let out = execute(&runner, &levels, "n1", FenceAction::Off, deadline).await;
        assert!(out.ok, "{out:?}");
        assert_eq!(out.devices, ["pdu1", "pdu2"]);
        let calls: Vec<String> = runner
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(d, a)| format!("{d}:{}", a.as_str()))
            .collect();
        // ipmi: 1 try + 2 retries, then the whole second level.
        assert_eq!(calls, ["ipmi:off", "ipmi:off", "ipmi:off", "pdu1:off", "pdu2:off"]);
        assert!(out.message.contains("level 2"), "{}", out.message);

        // Everything fails: the message names every level and the last reason.
        let runner = Scripted {
            rcs: [("ipmi".to_string(), vec![1]), ("pdu2".to_string(), vec![1])].into(),
            calls: Mutex::default(),
        };
        let out = execute(&runner, &levels, "n1", FenceAction::Off, deadline).await;
        assert!(!out.ok);
        assert!(
            out.message.contains("level 1: ipmi off failed (3 attempts): ipmi says no")
                && out.message.contains("level 2: pdu2 off failed (1 attempt)"),
            "{}",
            out.message
        );
    }

    #[tokio::test]
    async fn reboot_through_several_devices_is_all_off_then_all_on() {
        let prims = vec![stonith("pdu1", &[]), stonith("pdu2", &[])];
        let t = topology(vec![FencingLevel {
            index: 1,
            target: Some("n1".into()),
            devices: vec!["pdu1".into(), "pdu2".into()],
            ..Default::default()
        }]);
        let levels = plan(&prims, &[t], "n1", &BTreeMap::new());
        let runner = Scripted {
            rcs: BTreeMap::new(),
            calls: Mutex::default(),
        };
        let out = execute(
            &runner,
            &levels,
            "n1",
            FenceAction::Reboot,
            Instant::now() + Duration::from_secs(5),
        )
        .await;
        assert!(out.ok);
        let calls: Vec<String> = runner
            .calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(d, a)| format!("{d}:{}", a.as_str()))
            .collect();
        // Unrestricted devices are asked first (list, then status: they cannot list).
        assert_eq!(
            calls,
            [
                "pdu1:list", "pdu1:status", "pdu2:list", "pdu2:status", "pdu1:off", "pdu2:off",
                "pdu1:on", "pdu2:on"
            ]
        );
    }

    #[test]
    fn agent_log_times_are_dropped_from_reasons() {
        assert_eq!(
            without_log_time("2026-11-23 09:29:06,791 ERROR: Failed: Unable to obtain correct plug status"),
            "ERROR: Failed: Unable to obtain correct plug status"
        );
        assert_eq!(without_log_time("Failed: x"), "Failed: x");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::ZERO);
        assert_eq!(backoff(1), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(2));
        assert_eq!(backoff(30), MAX_BACKOFF);
        let rec = |name: &str, result: &str| {
            FencingHistory::new(
                name,
                FencingHistorySpec {
                    target: "n1".into(),
                    result: result.into(),
                    ..Default::default()
                },
            )
        };
        let h = vec![
            rec("n1-3", "failed"),
            rec("n1-1", "success"),
            rec("n1-2", "failed"),
            rec("n1-4", "pending"),
        ];
        assert_eq!(consecutive_failures(&h, "n1"), 2);
        assert_eq!(consecutive_failures(&h, "n2"), 0);
    }
}
