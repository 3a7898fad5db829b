//! Operation history of one node, shaped like Pacemaker's lrm history: finished
//! operations ([`ActionRequest`] + [`ActionResult`] + clock) in, per-resource records
//! and fail-count transient attributes out.
//!
//! Per resource it keeps only what the scheduler needs (as Pacemaker does):
//! - `RSC_last_0`: the last one-shot operation (start, stop, probe, promote...);
//! - `RSC_last_failure_0`: the last failed operation, until failures are cleared;
//! - `RSC_monitor_INTERVAL`: one record per recurring monitor, dropped when it is
//!   cancelled (stop) — so the size is bounded by the configuration, not by uptime.
//!
//! Call ids increase across the whole node; a pending operation (record-pending) shows
//! call id -1. `rebuild` restores the history after an agent restart from a stored
//! snapshot plus fresh probes: a pure function so its rules are testable.
//!
//! A reload (`reload-agent`, or a legacy agent's `reload`) is recorded as the resource's
//! start when it succeeds and as a failed one-shot monitor when it fails, as Pacemaker
//! records them; operations that put a definition in place carry `op-force-restart` /
//! `op-restart-digest` for agents that can reload.

use jiff::Timestamp;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::op::{ActionRequest, ActionResult, Agent, OcfRc, OpStatus, Params};

/// rc Pacemaker shows for an operation that has not finished.
pub const RC_PENDING: i32 = 193;
/// Upper bound on recurring records per resource (several monitors of different depth
/// or role are normal; hundreds are a bug elsewhere).
pub const MAX_RECURRING_PER_RESOURCE: usize = 16;

/// One `lrm_rsc_op`-like record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpRecord {
    /// `RSC_last_0`, `RSC_last_failure_0` or `RSC_monitor_10000`.
    pub id: String,
    pub operation: String,
    /// `RSC_ACTION_INTERVALMS`.
    pub op_key: String,
    pub interval_ms: u64,
    /// Node-wide increasing id; -1 while pending.
    pub call_id: i64,
    pub rc: i32,
    pub status: OpStatus,
    pub expected_rc: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    pub last_run: Timestamp,
    /// When this record's rc last changed (a monitor that keeps answering 0 keeps it).
    pub last_rc_change: Timestamp,
    pub exec_time_ms: u64,
    pub queue_time_ms: u64,
    /// [`op_digest`] of the parameters the operation ran with.
    pub op_digest: String,
    /// Pacemaker's `op-secure-params`: the parameters read from Secrets (" a b "), whose
    /// values never reach the history...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_params: Option<String>,
    /// ...and `op-secure-digest`: the digest without them (and without the fencer's
    /// `pcmk_*` options), which the scheduler compares instead of `op_digest`: the DC only
    /// knows a placeholder for a Secret's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secure_digest: Option<String>,
    /// Pacemaker's `op-force-restart`: the agent's parameters that cannot be reloaded
    /// (" a b "); absent for agents that cannot reload, so any change restarts them...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_restart: Option<String>,
    /// ...and `op-restart-digest`: [`op_digest`] of only those parameters. While it still
    /// matches the configuration, a changed `op_digest` means a reload, not a restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_key: Option<String>,
}

impl OpRecord {
    /// Pacemaker's `transition-magic`: `OPSTATUS:RC;TRANSITION_KEY`.
    pub fn transition_magic(&self) -> Option<String> {
        self.transition_key
            .as_ref()
            .map(|k| format!("{}:{};{k}", self.status.code(), self.rc))
    }

    pub fn is_pending(&self) -> bool {
        self.status == OpStatus::Pending
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceHistory {
    pub agent: Agent,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<OpRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<OpRecord>,
    /// Keyed by op key.
    #[serde(default)]
    pub recurring: BTreeMap<String, OpRecord>,
}

impl ResourceHistory {
    fn new(agent: Agent) -> ResourceHistory {
        ResourceHistory {
            agent,
            last: None,
            last_failure: None,
            recurring: BTreeMap::new(),
        }
    }

    /// Whether the last one-shot operation left the resource running here (probes and
    /// successful starts/promotes say yes; stops say no; failed starts may have left
    /// something behind, so they count as active as Pacemaker assumes).
    pub fn is_active(&self) -> bool {
        let Some(last) = &self.last else {
            return false;
        };
        match (last.operation.as_str(), last.status, last.rc) {
            (_, OpStatus::Pending, _) => last.operation != "stop",
            ("stop", OpStatus::Done, 0) => false,
            ("stop", _, _) => true,
            ("monitor", OpStatus::Done, rc) => rc != OcfRc::NOT_RUNNING,
            ("monitor", _, _) => true,
            (_, OpStatus::Done, rc) => rc != OcfRc::NOT_RUNNING,
            _ => true,
        }
    }
}

/// Failures of one resource operation (`fail-count-RSC#OP_INTERVAL`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailCount {
    pub count: u32,
    pub last_failure: Timestamp,
}

/// What the history says about one completed operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub record: OpRecord,
    /// The result is a failure (unexpected rc or bad status).
    pub failed: bool,
    /// Worth reporting: always for one-shot operations, only on a change of rc or
    /// status for recurring monitors (as Pacemaker reports them).
    pub changed: bool,
    /// The agent's stdout (not part of the history; `meta-data`, `list`).
    pub output: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeHistory {
    pub resources: BTreeMap<String, ResourceHistory>,
    /// Keyed by `RSC#OP_INTERVAL`.
    #[serde(default)]
    pub fail_counts: BTreeMap<String, FailCount>,
    /// Highest call id handed out.
    #[serde(default)]
    pub last_call_id: i64,
}

/// Digest of the parameters an operation ran with (`op-digest`); a changed digest
/// tells the scheduler the resource must be restarted. Same rendering as Pacemaker's
/// recorded digests and the scheduler's `digest.rs`: MD5 (hex) of
/// ` <parameters k="v" .../>\n` with names sorted and values XML-escaped.
pub fn op_digest(params: &Params) -> String {
    let mut text = String::from(" <parameters");
    for (k, v) in params.iter() {
        text.push(' ');
        text.push_str(k);
        text.push_str("=\"");
        text.push_str(
            &v.replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        );
        text.push('"');
    }
    text.push_str("/>\n");
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `op-secure-params` of `req`: its Secret-backed parameter names, " a b ".
fn secure_params(req: &ActionRequest) -> Option<String> {
    (!req.secret_params.is_empty()).then(|| {
        let names: Vec<&str> = req.secret_params.iter().map(String::as_str).collect();
        format!(" {} ", names.join(" "))
    })
}

/// Whether `result` is a failure of `req`.
pub fn is_failure(req: &ActionRequest, result: &ActionResult) -> bool {
    match result.status {
        OpStatus::Done => {}
        OpStatus::Pending | OpStatus::Cancelled => return false,
        _ => return true,
    }
    if req.is_probe() {
        // A probe only asks the state; any state is an answer, even one the transition
        // did not expect (the DC reacts to the rc, but nothing failed here).
        return !matches!(
            result.rc,
            OcfRc::SUCCESS
                | OcfRc::NOT_RUNNING
                | OcfRc::RUNNING_PROMOTED
                | OcfRc::DEGRADED
                | OcfRc::DEGRADED_PROMOTED
        );
    }
    let expected = req.expected_rc();
    let degraded_ok = (expected == OcfRc::SUCCESS && result.rc == OcfRc::DEGRADED)
        || (expected == OcfRc::RUNNING_PROMOTED && result.rc == OcfRc::DEGRADED_PROMOTED);
    result.rc != expected && !degraded_ok
}

fn fail_key(req: &ActionRequest, operation: &str) -> String {
    format!(
        "{}#{}_{}",
        req.resource,
        operation,
        req.interval.as_millis()
    )
}

/// Whether `action` reloads a changed definition (the DC's `reload-agent`; `reload` is
/// what a legacy agent runs for it).
pub fn is_reload(action: &str) -> bool {
    matches!(action, "reload-agent" | "reload")
}

/// The operation name `req` is recorded under: a reload that succeeded (or is still
/// running) put the new definition in place as a start would, so it is the resource's
/// start; one that failed left the resource in an unknown state, recorded as a failed
/// one-shot monitor so the scheduler recovers it. Everything else under its own name.
fn recorded_operation(req: &ActionRequest, failed: bool) -> &str {
    if req.is_recurring() || !is_reload(&req.action) {
        req.action.as_str()
    } else if failed {
        "monitor"
    } else {
        "start"
    }
}

/// `op-force-restart` (" a b ") and `op-restart-digest` of `req` for an agent whose
/// non-reloadable parameters are `names`. Parameters read from Secrets are left out of
/// both: the DC only knows placeholders for them, as for `op-secure-digest`.
pub fn restart_digest(req: &ActionRequest, names: &[String]) -> (String, String) {
    let listed: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| !req.secret_params.contains(*n))
        .collect();
    let mut list = String::from(" ");
    for n in &listed {
        list.push_str(n);
        list.push(' ');
    }
    let mut params = req.defining_params();
    params.0.retain(|k, _| listed.contains(&k.as_str()));
    (list, op_digest(&params))
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl NodeHistory {
    pub fn resource(&self, id: &str) -> Option<&ResourceHistory> {
        self.resources.get(id)
    }

    fn entry(&mut self, req: &ActionRequest) -> &mut ResourceHistory {
        self.resources
            .entry(req.resource.clone())
            .or_insert_with(|| ResourceHistory::new(req.agent.clone()))
    }

    fn base_record(
        req: &ActionRequest,
        now: Timestamp,
        operation: &str,
        force_restart: Option<&[String]>,
    ) -> OpRecord {
        let secure_params = secure_params(req);
        let secure_digest = secure_params.as_ref().map(|_| {
            let mut p = req.defining_params();
            p.0.retain(|k, _| !k.starts_with("pcmk_"));
            op_digest(&p)
        });
        let id = if req.is_recurring() {
            req.op_key()
        } else {
            format!("{}_last_0", req.resource)
        };
        let (force_restart, restart_digest) = force_restart
            .filter(|_| !req.is_recurring())
            .map(|names| restart_digest(req, names))
            .unzip();
        OpRecord {
            id,
            operation: operation.to_string(),
            op_key: format!("{}_{operation}_{}", req.resource, req.interval.as_millis()),
            interval_ms: millis(req.interval),
            call_id: -1,
            rc: RC_PENDING,
            status: OpStatus::Pending,
            expected_rc: req.expected_rc(),
            exit_reason: None,
            last_run: now,
            last_rc_change: now,
            exec_time_ms: 0,
            queue_time_ms: 0,
            op_digest: op_digest(&req.defining_params()),
            secure_params,
            secure_digest,
            force_restart,
            restart_digest,
            transition_key: req.transition_key.clone(),
        }
    }

    /// Shows `req` as running (call id -1) until [`NodeHistory::complete`] replaces it.
    pub fn begin(&mut self, req: &ActionRequest, now: Timestamp) -> OpRecord {
        let record = Self::base_record(req, now, recorded_operation(req, false), None);
        let rsc = self.entry(req);
        if req.is_recurring() {
            // Only a monitor's first run shows as pending; later runs keep showing the
            // previous result until a new one arrives (Pacemaker does the same).
            match rsc.recurring.get(&record.op_key) {
                Some(prev) => return prev.clone(),
                None => {
                    rsc.recurring.insert(record.op_key.clone(), record.clone());
                }
            }
        } else {
            rsc.last = Some(record.clone());
        }
        record
    }

    /// Records the result of `req`, assigning the next call id.
    pub fn complete(
        &mut self,
        req: &ActionRequest,
        result: &ActionResult,
        now: Timestamp,
    ) -> Recorded {
        self.complete_with(req, result, now, None)
    }

    /// [`NodeHistory::complete`] for an agent that can reload: `force_restart` names its
    /// parameters that cannot be (see [`crate::ocf::MetaData::force_restart_params`]);
    /// they go on one-shot records as `op-force-restart` / `op-restart-digest`.
    pub fn complete_with(
        &mut self,
        req: &ActionRequest,
        result: &ActionResult,
        now: Timestamp,
        force_restart: Option<&[String]>,
    ) -> Recorded {
        self.last_call_id += 1;
        let failed = is_failure(req, result);
        let operation = recorded_operation(req, failed);
        let mut record = Self::base_record(req, now, operation, force_restart);
        record.call_id = self.last_call_id;
        record.rc = result.rc;
        record.status = match (result.status, failed) {
            // The controller marks a completed-but-unexpected result as an error.
            (OpStatus::Done, true) => OpStatus::Error,
            (s, _) => s,
        };
        record.exit_reason = result.exit_reason.clone();
        record.exec_time_ms = millis(result.exec_time);
        record.queue_time_ms = millis(result.queue_time);

        let rsc = self.entry(req);
        let previous = if req.is_recurring() {
            rsc.recurring.get(&record.op_key)
        } else {
            rsc.last.as_ref()
        };
        let same_outcome = previous.is_some_and(|p| {
            p.rc == record.rc && (p.status == record.status || p.status == OpStatus::Pending)
        });
        if let Some(p) = previous.filter(|_| same_outcome && req.is_recurring()) {
            record.last_rc_change = p.last_rc_change;
        }
        // A monitor armed again by a new transition action (after a reload, say) is
        // reported even when its rc did not change: the DC waits for that result.
        let rearmed = previous.is_some_and(|p| p.transition_key != record.transition_key);
        let changed = !req.is_recurring() || !same_outcome || rearmed;

        if req.is_recurring() {
            rsc.recurring.insert(record.op_key.clone(), record.clone());
            if rsc.recurring.len() > MAX_RECURRING_PER_RESOURCE {
                let oldest = rsc
                    .recurring
                    .iter()
                    .filter(|(k, _)| **k != record.op_key)
                    .min_by_key(|(_, r)| r.last_run)
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    rsc.recurring.remove(&k);
                }
            }
        } else {
            rsc.last = Some(record.clone());
        }
        if req.action == "stop" && !failed && record.status == OpStatus::Done {
            // Stopping cancels the resource's recurring monitors.
            rsc.recurring.clear();
        }
        // A recurring monitor that keeps failing the same way is one failure, not one
        // per interval (only changes are reported, as in Pacemaker).
        if failed && changed {
            let mut failure = record.clone();
            failure.id = format!("{}_last_failure_0", req.resource);
            rsc.last_failure = Some(failure);
            let fc = self
                .fail_counts
                .entry(fail_key(req, operation))
                .or_insert(FailCount {
                    count: 0,
                    last_failure: now,
                });
            fc.count = fc.count.saturating_add(1);
            fc.last_failure = now;
        }
        Recorded {
            record,
            failed,
            changed,
            output: result.output.clone(),
        }
    }

    /// Drops a recurring monitor's record (cancelled without a stop).
    pub fn cancel_recurring(&mut self, resource: &str, op_key: &str) {
        if let Some(r) = self.resources.get_mut(resource) {
            r.recurring.remove(op_key);
        }
    }

    /// Clears fail counts (all, or those of one operation key like `monitor_10000`) and
    /// the last-failure record: what `crm_resource --cleanup` does.
    pub fn clear_failures(&mut self, resource: &str, op: Option<&str>) {
        let prefix = format!("{resource}#");
        self.fail_counts
            .retain(|k, _| match k.strip_prefix(&prefix) {
                Some(rest) => op.is_some_and(|o| o != rest),
                None => true,
            });
        if let Some(r) = self.resources.get_mut(resource) {
            r.last_failure = None;
        }
    }

    /// Forgets a resource entirely (deleted from the configuration, or refreshed).
    pub fn forget(&mut self, resource: &str) {
        self.resources.remove(resource);
        self.clear_failures(resource, None);
    }

    /// The node's transient attributes derived from failures:
    /// `fail-count-RSC#OP_INTERVAL` and `last-failure-RSC#OP_INTERVAL` (epoch seconds).
    pub fn transient_attributes(&self) -> BTreeMap<String, String> {
        let mut attrs = BTreeMap::new();
        for (key, fc) in &self.fail_counts {
            attrs.insert(format!("fail-count-{key}"), fc.count.to_string());
            attrs.insert(
                format!("last-failure-{key}"),
                fc.last_failure.as_second().to_string(),
            );
        }
        attrs
    }
}

/// The history after an agent restart and what the caller must do next.
#[derive(Clone, Debug, PartialEq)]
pub struct Rebuilt {
    pub history: NodeHistory,
    /// Recurring monitors of resources the probes found still running: re-arm them.
    pub resume_monitors: Vec<(String, String)>,
    /// Resources the snapshot knew but no probe answered for: probe them.
    pub unprobed: Vec<String>,
}

/// Restores a node's history after the agent restarted: a stored `snapshot` (may be
/// absent or stale) plus the probes just run on every configured resource.
///
/// Rules: probes are the truth about what runs now and are recorded as new operations
/// (call ids continue after the snapshot's); operations left pending in the snapshot
/// died with the old agent and are replaced; failures and fail counts survive (the
/// operator decides when they expire); recurring monitors survive only for resources
/// the probe found running and are returned for re-arming.
pub fn rebuild(
    snapshot: Option<NodeHistory>,
    probes: &[(ActionRequest, ActionResult)],
    now: Timestamp,
) -> Rebuilt {
    let mut history = snapshot.unwrap_or_default();
    let max_seen = history
        .resources
        .values()
        .flat_map(|r| {
            r.last
                .iter()
                .chain(&r.last_failure)
                .chain(r.recurring.values())
        })
        .map(|r| r.call_id)
        .max()
        .unwrap_or(0);
    history.last_call_id = history.last_call_id.max(max_seen);

    for r in history.resources.values_mut() {
        if r.last.as_ref().is_some_and(OpRecord::is_pending) {
            r.last = None;
        }
        r.recurring.retain(|_, rec| !rec.is_pending());
    }

    let mut resume = Vec::new();
    for (req, result) in probes {
        let recorded = history.complete(req, result, now);
        let running = !recorded.failed
            && matches!(
                result.rc,
                OcfRc::SUCCESS
                    | OcfRc::RUNNING_PROMOTED
                    | OcfRc::DEGRADED
                    | OcfRc::DEGRADED_PROMOTED
            );
        if let Some(r) = history.resources.get_mut(&req.resource) {
            if running {
                resume.extend(
                    r.recurring
                        .keys()
                        .map(|k| (req.resource.clone(), k.clone())),
                );
            } else {
                r.recurring.clear();
            }
        }
    }
    let probed: std::collections::BTreeSet<&str> =
        probes.iter().map(|(r, _)| r.resource.as_str()).collect();
    let unprobed = history
        .resources
        .keys()
        .filter(|k| !probed.contains(k.as_str()))
        .cloned()
        .collect();
    Rebuilt {
        history,
        resume_monitors: resume,
        unprobed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn dummy() -> Agent {
        Agent::Ocf {
            provider: "heartbeat".into(),
            kind: "Dummy".into(),
        }
    }
    fn req(rsc: &str, action: &str, interval_s: u64) -> ActionRequest {
        ActionRequest::new(rsc, dummy(), action)
            .interval(Duration::from_secs(interval_s))
            .param("state", "/tmp/s")
    }
    fn rc(rc: i32) -> ActionResult {
        ActionResult {
            rc,
            ..ActionResult::ok()
        }
    }
    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn call_ids_increase_and_pending_shows_minus_one() {
        let mut h = NodeHistory::default();
        let pending = h.begin(&req("a", "start", 0), t(0));
        assert_eq!(pending.call_id, -1);
        assert_eq!(pending.rc, RC_PENDING);
        assert!(
            h.resource("a")
                .is_some_and(|r| r.last.as_ref().is_some_and(OpRecord::is_pending))
        );
        let one = h.complete(&req("a", "start", 0), &rc(0), t(1));
        let two = h.complete(&req("b", "start", 0), &rc(0), t(1));
        assert_eq!((one.record.call_id, two.record.call_id), (1, 2));
        assert_eq!(one.record.id, "a_last_0");
        assert!(h.resource("a").is_some_and(ResourceHistory::is_active));
    }

    #[test]
    fn history_stays_bounded_over_many_monitor_runs() {
        let mut h = NodeHistory::default();
        h.complete(&req("a", "start", 0), &rc(0), t(0));
        for i in 0..1000 {
            h.complete(&req("a", "monitor", 10), &rc(0), t(i));
        }
        let r = h
            .resource("a")
            .map(|r| (r.recurring.len(), r.last.is_some()));
        assert_eq!(r, Some((1, true)));
        let rec = &h.resources["a"].recurring["a_monitor_10000"];
        assert_eq!(rec.call_id, 1001);
        // rc never changed, so neither did last-rc-change.
        assert_eq!(rec.last_rc_change, t(0));
    }

    #[test]
    fn recurring_monitor_reports_only_changes_and_failures_count() {
        let mut h = NodeHistory::default();
        let mon = req("a", "monitor", 10);
        assert!(h.complete(&mon, &rc(0), t(0)).changed);
        assert!(!h.complete(&mon, &rc(0), t(10)).changed);
        let failed = h.complete(&mon, &rc(7), t(20));
        assert!(failed.changed && failed.failed);
        assert_eq!(failed.record.status, OpStatus::Error);
        assert_eq!(failed.record.last_rc_change, t(20));
        let again = h.complete(&mon, &rc(7), t(30));
        assert!(!again.changed && again.failed);
        let attrs = h.transient_attributes();
        assert_eq!(
            attrs.get("fail-count-a#monitor_10000").map(String::as_str),
            Some("1")
        );
        assert_eq!(
            attrs.get("last-failure-a#monitor_10000"),
            Some(&t(20).as_second().to_string())
        );
        // recovering and failing again is a second failure
        h.complete(&mon, &rc(0), t(40));
        h.complete(&mon, &rc(7), t(50));
        let attrs = h.transient_attributes();
        assert_eq!(
            attrs.get("fail-count-a#monitor_10000").map(String::as_str),
            Some("2")
        );
        assert_eq!(
            h.resources["a"]
                .last_failure
                .as_ref()
                .map(|f| f.id.as_str()),
            Some("a_last_failure_0")
        );
        h.clear_failures("a", None);
        assert!(h.transient_attributes().is_empty());
        assert!(h.resources["a"].last_failure.is_none());
    }

    #[test]
    fn a_monitor_armed_again_by_a_new_action_is_reported() {
        let mut h = NodeHistory::default();
        let mut mon = req("a", "monitor", 10);
        mon.transition_key = Some("t-1:2".into());
        assert!(h.complete(&mon, &rc(0), t(0)).changed);
        assert!(!h.complete(&mon, &rc(0), t(10)).changed);
        mon.transition_key = Some("t-2:5".into());
        let again = h.complete(&mon, &rc(0), t(20));
        assert!(again.changed, "the DC waits for t-2:5");
        assert_eq!(again.record.transition_key.as_deref(), Some("t-2:5"));
        assert_eq!(again.record.last_rc_change, t(0));
        assert!(!h.complete(&mon, &rc(0), t(30)).changed);
    }

    #[test]
    fn probes_accept_any_state_and_stop_cancels_monitors() {
        let mut h = NodeHistory::default();
        assert!(!h.complete(&req("a", "monitor", 0), &rc(7), t(0)).failed);
        let mut expecting_stopped = req("a", "monitor", 0);
        expecting_stopped.expected_rc = Some(7);
        let found_running = h.complete(&expecting_stopped, &rc(0), t(0));
        assert!(!found_running.failed);
        assert_eq!(found_running.record.status, OpStatus::Done);
        assert!(h.complete(&req("a", "monitor", 0), &rc(1), t(0)).failed);
        h.complete(&req("a", "start", 0), &rc(0), t(1));
        h.complete(&req("a", "monitor", 10), &rc(0), t(2));
        h.complete(&req("a", "stop", 0), &rc(0), t(3));
        assert!(h.resources["a"].recurring.is_empty());
        assert!(!h.resources["a"].is_active());
        let timeout = ActionResult {
            status: OpStatus::Timeout,
            ..rc(1)
        };
        assert!(h.complete(&req("a", "start", 0), &timeout, t(4)).failed);
        assert!(
            h.resources["a"].is_active(),
            "a timed-out start may have left it running"
        );
    }

    #[test]
    fn digest_matches_pacemaker_recorded_digests() {
        // Digests recorded by Pacemaker in its regression CIBs (594.xml: rsc_hadev3).
        assert_eq!(
            op_digest(&Params::new()),
            "f2317cad3d54cec5d7d7aa7d0bf35cf8"
        );
        assert_eq!(
            op_digest(&Params::new().with("ip", "127.0.0.21")),
            "3a22d030a9e3ca76e31ac20cba1fc707"
        );
    }

    #[test]
    fn digest_changes_with_params_only() {
        let a = op_digest(&Params::new().with("ip", "10.0.0.1"));
        let b = op_digest(&Params::new().with("ip", "10.0.0.2"));
        assert_ne!(a, b);
        assert_eq!(a, op_digest(&Params::new().with("ip", "10.0.0.1")));
        assert_eq!(a.len(), 32);
    }

    /// The meta-data of Debian's `ocf:heartbeat:Dummy` (OCF 1.0, legacy `reload`).
    const LEGACY_DUMMY: &str = r#"<?xml version="1.0"?>
        <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
        <resource-agent name="Dummy" version="1.0">
        <version>1.0</version>
        <parameters>
        <parameter name="state" unique="1"><content type="string" default="/run/x"/></parameter>
        <parameter name="fake" unique="0"><content type="string" default="dummy"/></parameter>
        </parameters>
        <actions>
        <action name="start" timeout="20s"/><action name="stop" timeout="20s"/>
        <action name="monitor" timeout="20s" interval="10s" depth="0"/>
        <action name="reload" timeout="20s"/><action name="migrate_to" timeout="20s"/>
        <action name="migrate_from" timeout="20s"/><action name="meta-data" timeout="5s"/>
        </actions>
        </resource-agent>"#;

    fn force_restart_of(xml: &str) -> Option<Vec<String>> {
        crate::ocf::parse_meta_data("ocf:heartbeat:Dummy", xml)
            .unwrap_or_else(|e| panic!("{e}"))
            .force_restart_params()
    }

    #[test]
    fn a_start_of_a_reloadable_agent_records_what_forces_a_restart() {
        let names = force_restart_of(LEGACY_DUMMY);
        assert_eq!(names.as_deref(), Some(&["state".to_string()][..]));
        let mut h = NodeHistory::default();
        let start = req("a", "start", 0).param("fake", "x");
        let rec = h
            .complete_with(&start, &rc(0), t(0), names.as_deref())
            .record;
        assert_eq!(rec.force_restart.as_deref(), Some(" state "));
        assert_eq!(
            rec.restart_digest,
            Some(op_digest(&Params::new().with("state", "/tmp/s")))
        );
        assert_eq!(
            rec.op_digest,
            op_digest(&Params::new().with("state", "/tmp/s").with("fake", "x"))
        );
        // A reloadable change leaves the restart digest as it was.
        let changed = req("a", "start", 0).param("fake", "y");
        let again = h.complete_with(&changed, &rc(0), t(1), names.as_deref());
        assert_eq!(again.record.restart_digest, rec.restart_digest);
        assert_ne!(again.record.op_digest, rec.op_digest);
        // Recurring monitors never carry them.
        let mon = h.complete_with(&req("a", "monitor", 10), &rc(0), t(2), names.as_deref());
        assert_eq!(
            (mon.record.force_restart, mon.record.restart_digest),
            (None, None)
        );
    }

    #[test]
    fn an_agent_without_reload_records_no_restart_digest() {
        let no_reload = LEGACY_DUMMY.replace(r#"<action name="reload" timeout="20s"/>"#, "");
        let names = force_restart_of(&no_reload);
        assert_eq!(names, None);
        let mut h = NodeHistory::default();
        let rec = h
            .complete_with(&req("a", "start", 0), &rc(0), t(0), names.as_deref())
            .record;
        assert_eq!((rec.force_restart, rec.restart_digest), (None, None));
        let plain = h.complete(&req("a", "start", 0), &rc(0), t(1)).record;
        assert_eq!((plain.force_restart, plain.restart_digest), (None, None));
    }

    #[test]
    fn secret_parameters_stay_out_of_the_restart_digest() {
        let names = vec!["state".to_string(), "password".to_string()];
        let mut start = req("a", "start", 0).param("password", "hunter2");
        start.secret_params.insert("password".into());
        let (list, digest) = restart_digest(&start, &names);
        assert_eq!(list, " state ");
        assert_eq!(digest, op_digest(&Params::new().with("state", "/tmp/s")));
        // An agent whose every parameter is reloadable: an empty list.
        assert_eq!(
            restart_digest(&start, &[]),
            (" ".to_string(), op_digest(&Params::new()))
        );
    }

    #[test]
    fn a_reload_is_recorded_as_the_start_or_a_failed_monitor() {
        let names = vec!["state".to_string()];
        let mut h = NodeHistory::default();
        h.complete_with(&req("a", "start", 0), &rc(0), t(0), Some(&names));
        h.complete(&req("a", "monitor", 10), &rc(0), t(1));
        for action in ["reload-agent", "reload"] {
            let mut reload = req("a", action, 0).param("fake", "new");
            reload.transition_key = Some("t-3:1".into());
            let pending = h.begin(&reload, t(2));
            assert_eq!(
                (pending.operation.as_str(), pending.op_key.as_str()),
                ("start", "a_start_0")
            );
            let done = h.complete_with(&reload, &rc(0), t(3), Some(&names)).record;
            assert_eq!(
                (done.id.as_str(), done.operation.as_str()),
                ("a_last_0", "start")
            );
            assert_eq!(done.op_key, "a_start_0");
            assert_eq!(done.transition_key.as_deref(), Some("t-3:1"));
            assert_eq!(
                done.op_digest,
                op_digest(&Params::new().with("state", "/tmp/s").with("fake", "new"))
            );
            assert_eq!(done.force_restart.as_deref(), Some(" state "));
            assert!(h.resources["a"].is_active());
            // A reload does not cancel the resource's monitors.
            assert_eq!(h.resources["a"].recurring.len(), 1);
        }
        let reload = req("a", "reload-agent", 0).param("fake", "bad");
        let failed = h.complete_with(&reload, &rc(1), t(4), Some(&names));
        assert!(failed.failed);
        assert_eq!(
            (
                failed.record.operation.as_str(),
                failed.record.op_key.as_str()
            ),
            ("monitor", "a_monitor_0")
        );
        assert_eq!(failed.record.status, OpStatus::Error);
        assert!(
            h.resources["a"].is_active(),
            "a failed reload may have left it running"
        );
        assert_eq!(
            h.transient_attributes()
                .get("fail-count-a#monitor_0")
                .map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn rebuild_after_restart_trusts_probes_and_continues_call_ids() {
        let mut before = NodeHistory::default();
        before.complete(&req("up", "start", 0), &rc(0), t(0));
        before.complete(&req("up", "monitor", 10), &rc(0), t(1));
        before.complete(&req("gone", "start", 0), &rc(0), t(0));
        before.complete(&req("gone", "monitor", 10), &rc(0), t(1));
        before.complete(&req("flaky", "start", 0), &rc(1), t(2));
        before.begin(&req("mid", "start", 0), t(3));
        let snapshot: NodeHistory =
            serde_json::from_str(&serde_json::to_string(&before).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(
            snapshot, before,
            "the snapshot must round-trip through JSON"
        );

        let probes = vec![
            (req("up", "monitor", 0), rc(0)),
            (req("gone", "monitor", 0), rc(7)),
            (req("mid", "monitor", 0), rc(7)),
        ];
        let out = rebuild(Some(snapshot), &probes, t(100));
        let h = &out.history;
        assert_eq!(
            out.resume_monitors,
            vec![("up".into(), "up_monitor_10000".into())]
        );
        assert!(h.resources["gone"].recurring.is_empty());
        assert!(!h.resources["gone"].is_active());
        assert!(h.resources["up"].is_active());
        assert!(!h.resources["mid"].is_active());
        assert_eq!(out.unprobed, vec!["flaky".to_string()]);
        // fail counts survive the restart
        assert_eq!(
            h.transient_attributes()
                .get("fail-count-flaky#start_0")
                .map(String::as_str),
            Some("1")
        );
        let ids: Vec<i64> = ["up", "gone", "mid"]
            .iter()
            .filter_map(|r| h.resources[*r].last.as_ref().map(|l| l.call_id))
            .collect();
        assert_eq!(ids, vec![6, 7, 8]);
        assert!(rebuild(None, &[], t(0)).history.resources.is_empty());
    }
}
