//! The transition engine: one stored [`Transition`] and the results found so far in,
//! dispatch decisions and a new `status` out. One engine, two sinks: [`ActionSink`] is
//! "make these actions happen" — the real sink writes the Transition status through the
//! API (agents watch it), [`SimSink`] answers every action itself (tests and
//! `pacer simulate`).
//!
//! Rules (docs/protocol.md): an action is dispatched once every action in its `after`
//! list is Confirmed; its result is the history entry carrying its transition key; a
//! result that differs from `expectedRc`, a timeout, or an outside change aborts the
//! transition: nothing new is dispatched, in-flight actions are waited for, then the DC
//! computes a new transition. All state lives in the object, so a new DC resumes from the
//! stored status and never dispatches an action twice.

use std::collections::BTreeMap;

use pacer_crds::{Transition, TransitionAction, TransitionActionStatus, TransitionStatus};

/// Per-action state, as stored in `status.actions[id].state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Pending,
    Dispatched,
    Confirmed,
    Failed,
    TimedOut,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "Pending",
            State::Dispatched => "Dispatched",
            State::Confirmed => "Confirmed",
            State::Failed => "Failed",
            State::TimedOut => "TimedOut",
        }
    }
    pub fn parse(s: &str) -> State {
        match s {
            "Dispatched" => State::Dispatched,
            "Confirmed" => State::Confirmed,
            "Failed" => State::Failed,
            "TimedOut" => State::TimedOut,
            _ => State::Pending,
        }
    }
    fn finished(self) -> bool {
        matches!(self, State::Confirmed | State::Failed | State::TimedOut)
    }
}

/// Whole-transition phase, as stored in `status.phase`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Running,
    /// Every action confirmed.
    Complete,
    /// Aborted and nothing is in flight any more: time to compute a new transition.
    Aborted,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Running => "Running",
            Phase::Complete => "Complete",
            Phase::Aborted => "Aborted",
        }
    }
}

/// The result of one action as a node recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub rc: i64,
    /// Execution status: 0 done; anything else (timed out, error, cancelled) is a failure
    /// whatever the rc.
    pub op_status: i64,
    pub message: Option<String>,
}

/// Where results come from: NodeState histories and FencingHistory objects (real), or
/// the simulated sink's own record.
pub trait Results {
    /// The result recorded under `key` (`"<transition>:<id>"`), if any.
    fn result(&self, key: &str, action: &TransitionAction) -> Option<Outcome>;
    /// Whether the node that would report this action's result can still do so.
    fn reachable(&self, action: &TransitionAction) -> bool;
}

/// "Run these actions": called once per step with the newly dispatched actions and the
/// status to persist. An error means nothing was dispatched (the engine keeps its old
/// state and retries on the next step).
#[allow(async_fn_in_trait)]
pub trait ActionSink {
    type Error: std::fmt::Display;
    async fn dispatch(
        &mut self,
        transition: &str,
        actions: &[&TransitionAction],
        status: &TransitionStatus,
    ) -> Result<(), Self::Error>;
}

#[derive(Clone, Debug, PartialEq)]
pub struct ActionRun {
    pub state: State,
    pub dispatched_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub rc: Option<i64>,
    pub message: Option<String>,
}

/// Something that happened to an action in one step (for events, metrics and logs).
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub id: usize,
    pub state: State,
}

/// One transition being executed.
#[derive(Clone, Debug)]
pub struct Engine {
    pub name: String,
    pub actions: Vec<TransitionAction>,
    pub runs: Vec<ActionRun>,
    /// Position of each action id in `actions`.
    index: BTreeMap<i64, usize>,
    pub abort_reason: Option<String>,
    /// Extra time past an action's own timeout before the DC gives up on its result
    /// (agents need time to write the timeout result themselves).
    pub grace_ms: i64,
}

impl Engine {
    pub fn new(name: &str, actions: Vec<TransitionAction>) -> Engine {
        let index = actions.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
        let runs = actions
            .iter()
            .map(|_| ActionRun {
                state: State::Pending,
                dispatched_ms: None,
                finished_ms: None,
                rc: None,
                message: None,
            })
            .collect();
        Engine {
            name: name.to_string(),
            actions,
            runs,
            index,
            abort_reason: None,
            grace_ms: 5_000,
        }
    }

    /// Rebuilds the engine from a stored Transition (a new DC taking over).
    pub fn from_stored(t: &Transition) -> Engine {
        let name = kube::ResourceExt::name_any(t);
        let mut e = Engine::new(&name, t.spec.actions.clone());
        if let Some(st) = &t.status {
            for (i, a) in e.actions.iter().enumerate() {
                if let Some(s) = st.actions.get(&a.id.to_string()) {
                    e.runs[i] = ActionRun {
                        state: State::parse(&s.state),
                        dispatched_ms: s.dispatched.as_ref().map(|t| t.0.as_millisecond()),
                        finished_ms: s.finished.as_ref().map(|t| t.0.as_millisecond()),
                        rc: s.rc,
                        message: s.message.clone(),
                    };
                }
            }
            if st.phase.as_deref() == Some("Aborted")
                || st.reason.is_some() && st.phase.as_deref() != Some("Complete")
            {
                e.abort_reason = Some(
                    st.reason
                        .clone()
                        .unwrap_or_else(|| "aborted by a previous DC".into()),
                );
            }
        }
        e
    }

    pub fn key(&self, pos: usize) -> String {
        format!("{}:{}", self.name, self.actions[pos].id)
    }

    pub fn state(&self, pos: usize) -> State {
        self.runs[pos].state
    }

    pub fn abort(&mut self, reason: impl Into<String>) {
        if self.abort_reason.is_none() && self.phase() != Phase::Complete {
            self.abort_reason = Some(reason.into());
        }
    }

    pub fn aborted(&self) -> bool {
        self.abort_reason.is_some()
    }

    fn finish(
        &mut self,
        pos: usize,
        state: State,
        now_ms: i64,
        rc: Option<i64>,
        message: Option<String>,
    ) {
        let r = &mut self.runs[pos];
        r.state = state;
        r.finished_ms = Some(now_ms);
        r.rc = rc;
        r.message = message;
    }

    /// Folds in the results that arrived. Pending actions whose result already exists are
    /// finished too (a DC that died after the agent ran but before it saw the result must
    /// not dispatch again).
    pub fn observe(&mut self, results: &impl Results, now_ms: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        for pos in 0..self.actions.len() {
            let st = self.runs[pos].state;
            if st.finished() {
                continue;
            }
            let key = self.key(pos);
            let a = self.actions[pos].clone();
            let a = &a;
            if let Some(o) = results.result(&key, a) {
                let ok = o.op_status == 0 && o.rc == a.expected_rc;
                let state = if ok { State::Confirmed } else { State::Failed };
                let msg = if ok {
                    o.message.clone()
                } else {
                    Some(match &o.message {
                        Some(m) => format!(
                            "rc {} (expected {}), op-status {}: {m}",
                            o.rc, a.expected_rc, o.op_status
                        ),
                        None => format!(
                            "rc {} (expected {}), op-status {}",
                            o.rc, a.expected_rc, o.op_status
                        ),
                    })
                };
                self.finish(pos, state, now_ms, Some(o.rc), msg);
                if !ok {
                    let reason = format!(
                        "{} {} on {} failed",
                        a.task,
                        a.resource.as_deref().unwrap_or(""),
                        a.node
                    );
                    self.abort(reason);
                }
                changes.push(Change { id: pos, state });
                continue;
            }
            if st != State::Dispatched {
                continue;
            }
            if !results.reachable(a) {
                let msg = format!("node {} left the cluster before reporting", a.node);
                self.finish(pos, State::TimedOut, now_ms, None, Some(msg.clone()));
                self.abort(msg);
                changes.push(Change {
                    id: pos,
                    state: State::TimedOut,
                });
            } else if let Some(d) = self.runs[pos].dispatched_ms
                && now_ms > d + a.timeout_ms + self.grace_ms
            {
                let msg = format!("no result after {} ms", now_ms - d);
                self.finish(pos, State::TimedOut, now_ms, None, Some(msg));
                let reason = format!(
                    "{} {} on {} timed out",
                    a.task,
                    a.resource.as_deref().unwrap_or(""),
                    a.node
                );
                self.abort(reason);
                changes.push(Change {
                    id: pos,
                    state: State::TimedOut,
                });
            }
        }
        changes
    }

    /// Pending actions whose predecessors are all confirmed (none while aborted).
    pub fn ready(&self) -> Vec<usize> {
        if self.aborted() {
            return Vec::new();
        }
        (0..self.actions.len())
            .filter(|&p| self.runs[p].state == State::Pending)
            .filter(|&p| {
                self.actions[p].after.iter().all(|id| {
                    self.index
                        .get(id)
                        .is_some_and(|&q| self.runs[q].state == State::Confirmed)
                })
            })
            .collect()
    }

    pub fn in_flight(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.state == State::Dispatched)
            .count()
    }

    pub fn confirmed(&self) -> usize {
        self.runs
            .iter()
            .filter(|r| r.state == State::Confirmed)
            .count()
    }

    pub fn phase(&self) -> Phase {
        if self.runs.iter().all(|r| r.state == State::Confirmed) {
            Phase::Complete
        } else if self.aborted() && self.in_flight() == 0 {
            Phase::Aborted
        } else if !self.aborted() && self.in_flight() == 0 && self.ready().is_empty() {
            // Nothing can make progress (a predecessor failed without aborting, or the
            // graph has a cycle): treat as aborted so a new plan is made.
            Phase::Aborted
        } else {
            Phase::Running
        }
    }

    /// The status to store.
    pub fn status(&self) -> TransitionStatus {
        let t = |ms: Option<i64>| {
            ms.and_then(|m| jiff::Timestamp::from_millisecond(m).ok())
                .map(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time)
        };
        let mut actions = BTreeMap::new();
        for (a, r) in self.actions.iter().zip(&self.runs) {
            if r.state == State::Pending {
                continue;
            }
            actions.insert(
                a.id.to_string(),
                TransitionActionStatus {
                    state: r.state.name().into(),
                    dispatched: t(r.dispatched_ms),
                    finished: t(r.finished_ms),
                    rc: r.rc,
                    message: r.message.clone(),
                },
            );
        }
        let phase = self.phase();
        let finished = match phase {
            Phase::Running => None,
            _ => t(self.runs.iter().filter_map(|r| r.finished_ms).max()),
        };
        TransitionStatus {
            phase: Some(phase.name().into()),
            reason: self.abort_reason.clone(),
            actions,
            total: Some(self.actions.len() as i64),
            confirmed: Some(self.confirmed() as i64),
            finished,
        }
    }

    /// One step: fold in results, dispatch what became ready through the sink. Returns
    /// what changed (results and dispatches). On a sink error the dispatches are undone.
    pub async fn step<S: ActionSink>(
        &mut self,
        results: &impl Results,
        sink: &mut S,
        now_ms: i64,
    ) -> Result<Vec<Change>, S::Error> {
        let changes = self.observe(results, now_ms);
        self.dispatch_ready(sink, now_ms, changes, false).await
    }

    /// The second half of [`Engine::step`], for callers that observe under a lock and
    /// dispatch after releasing it: marks ready actions Dispatched and writes the status
    /// through the sink when anything changed (or `force_write`, e.g. after an abort).
    pub async fn dispatch_ready<S: ActionSink>(
        &mut self,
        sink: &mut S,
        now_ms: i64,
        mut changes: Vec<Change>,
        force_write: bool,
    ) -> Result<Vec<Change>, S::Error> {
        let before = self.runs.clone();
        let ready = self.ready();
        for &p in &ready {
            self.runs[p].state = State::Dispatched;
            self.runs[p].dispatched_ms = Some(now_ms);
            changes.push(Change {
                id: p,
                state: State::Dispatched,
            });
        }
        if changes.is_empty() && !force_write {
            return Ok(changes);
        }
        let dispatched: Vec<&TransitionAction> = ready.iter().map(|&p| &self.actions[p]).collect();
        let status = self.status();
        if let Err(e) = sink.dispatch(&self.name, &dispatched, &status).await {
            // Results stay folded in (they are facts); only the dispatches are undone.
            for &p in &ready {
                self.runs[p] = before[p].clone();
            }
            return Err(e);
        }
        Ok(changes)
    }
}

/// A sink that runs nothing: it answers every dispatched action itself with the expected
/// rc, or with an override set by the test (`fail`). Used by unit tests and simulation.
#[derive(Debug, Default)]
pub struct SimSink {
    /// transition key → outcome, filled as actions are dispatched.
    pub history: BTreeMap<String, Outcome>,
    /// (task, resource, node) → rc to answer instead of the expected one.
    pub overrides: BTreeMap<(String, String, String), i64>,
    /// Every dispatch, in order (transition key).
    pub log: Vec<String>,
    /// Nodes that do not answer at all.
    pub silent: Vec<String>,
    /// Nodes considered gone (their in-flight actions are lost).
    pub lost: Vec<String>,
    /// The last status written.
    pub stored: Option<TransitionStatus>,
}

impl SimSink {
    pub fn fail(mut self, task: &str, resource: &str, node: &str, rc: i64) -> SimSink {
        self.overrides
            .insert((task.into(), resource.into(), node.into()), rc);
        self
    }
}

impl ActionSink for SimSink {
    type Error = std::convert::Infallible;
    async fn dispatch(
        &mut self,
        transition: &str,
        actions: &[&TransitionAction],
        status: &TransitionStatus,
    ) -> Result<(), Self::Error> {
        for a in actions {
            let key = format!("{transition}:{}", a.id);
            self.log.push(key.clone());
            if self.silent.contains(&a.node) {
                continue;
            }
            let k = (
                a.task.clone(),
                a.resource.clone().unwrap_or_default(),
                a.node.clone(),
            );
            let rc = self.overrides.get(&k).copied().unwrap_or(a.expected_rc);
            self.history.insert(
                key,
                Outcome {
                    rc,
                    op_status: 0,
                    message: None,
                },
            );
        }
        self.stored = Some(status.clone());
        Ok(())
    }
}

impl Results for SimSink {
    fn result(&self, key: &str, _: &TransitionAction) -> Option<Outcome> {
        self.history.get(key).cloned()
    }
    fn reachable(&self, a: &TransitionAction) -> bool {
        !self.lost.contains(&a.node)
    }
}

/// Runs a transition on a sink that answers synchronously until it completes or aborts
/// (`pacer simulate`). Returns the dispatch order.
pub async fn run_to_end(engine: &mut Engine, sink: &mut SimSink, now_ms: i64) -> Vec<String> {
    let start = sink.log.len();
    let mut now = now_ms;
    while engine.phase() == Phase::Running {
        let results = std::mem::take(&mut sink.history);
        let lost = sink.lost.clone();
        let probe = SimResults(&results, &lost);
        let r = engine.step(&probe, sink, now).await;
        sink.history.extend(results);
        if matches!(r, Ok(ref c) if c.is_empty()) {
            // Nothing moves (silent nodes): advance the clock to the next timeout.
            now += 1_000;
        }
    }
    sink.log[start..].to_vec()
}

struct SimResults<'a>(&'a BTreeMap<String, Outcome>, &'a [String]);

impl Results for SimResults<'_> {
    fn result(&self, key: &str, _: &TransitionAction) -> Option<Outcome> {
        self.0.get(key).cloned()
    }
    fn reachable(&self, a: &TransitionAction) -> bool {
        !self.1.contains(&a.node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::TransitionSpec;

    fn act(id: i64, task: &str, rsc: &str, node: &str, after: &[i64]) -> TransitionAction {
        TransitionAction {
            id,
            task: task.into(),
            resource: Some(rsc.into()),
            node: node.into(),
            timeout_ms: 20_000,
            expected_rc: if task == "monitor" { 7 } else { 0 },
            after: after.to_vec(),
            ..Default::default()
        }
    }

    /// stop ip on n1 → start ip on n2 → start web on n2; probe of web on n3 first.
    fn graph() -> Vec<TransitionAction> {
        vec![
            act(0, "stop", "ip", "n1", &[]),
            act(1, "start", "ip", "n2", &[0]),
            act(2, "monitor", "web", "n3", &[]),
            act(3, "start", "web", "n2", &[1, 2]),
        ]
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map(|rt| rt.block_on(f))
            .unwrap_or_else(|e| panic!("runtime: {e}"))
    }

    #[test]
    fn dispatch_order_respects_edges() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink::default();
        let order = block_on(run_to_end(&mut e, &mut sink, 0));
        assert_eq!(e.phase(), Phase::Complete);
        let pos = |k: &str| order.iter().position(|x| x == k).unwrap_or(usize::MAX);
        assert!(pos("t-1:0") < pos("t-1:1"));
        assert!(pos("t-1:1") < pos("t-1:3"));
        assert!(pos("t-1:2") < pos("t-1:3"));
        assert_eq!(order.len(), 4, "each action exactly once: {order:?}");
    }

    #[test]
    fn first_step_dispatches_only_actions_without_predecessors() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink {
            silent: vec!["n1".into(), "n2".into(), "n3".into()],
            ..Default::default()
        };
        let changes = block_on(e.step(&SimSink::default(), &mut sink, 0)).unwrap_or_default();
        let ids: Vec<usize> = changes.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![0, 2]);
        assert_eq!(e.state(1), State::Pending);
        let st = sink.stored.expect("status written");
        assert_eq!(st.actions["0"].state, "Dispatched");
        assert!(!st.actions.contains_key("1"));
    }

    #[test]
    fn unexpected_result_aborts_and_stops_dispatching() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink::default().fail("start", "ip", "n2", 1);
        block_on(run_to_end(&mut e, &mut sink, 0));
        assert_eq!(e.phase(), Phase::Aborted);
        assert_eq!(e.state(1), State::Failed);
        assert_eq!(
            e.state(3),
            State::Pending,
            "web must not start after ip failed"
        );
        assert!(
            e.abort_reason
                .as_deref()
                .is_some_and(|r| r.contains("start ip on n2"))
        );
        assert!(!sink.log.contains(&"t-1:3".to_string()));
    }

    #[test]
    fn probe_finding_the_resource_running_aborts() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink::default().fail("monitor", "web", "n3", 0);
        block_on(run_to_end(&mut e, &mut sink, 0));
        assert_eq!(e.state(2), State::Failed);
        assert_eq!(e.phase(), Phase::Aborted);
    }

    #[test]
    fn silent_node_times_out_after_timeout_plus_grace() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink {
            silent: vec!["n1".into()],
            ..Default::default()
        };
        block_on(e.step(&SimSink::default(), &mut sink, 0)).ok();
        assert_eq!(e.state(0), State::Dispatched);
        let idle = SimSink::default();
        e.observe(&idle, 24_999);
        assert_eq!(e.state(0), State::Dispatched);
        e.observe(&idle, 25_001);
        assert_eq!(e.state(0), State::TimedOut);
        assert!(e.aborted());
    }

    #[test]
    fn lost_node_fails_its_in_flight_actions_at_once() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink {
            silent: vec!["n1".into()],
            ..Default::default()
        };
        block_on(e.step(&SimSink::default(), &mut sink, 0)).ok();
        let gone = SimSink {
            lost: vec!["n1".into()],
            ..Default::default()
        };
        e.observe(&gone, 10);
        assert_eq!(e.state(0), State::TimedOut);
    }

    #[test]
    fn abort_waits_for_in_flight_actions() {
        let mut e = Engine::new("t-1", graph());
        let mut sink = SimSink {
            silent: vec!["n1".into(), "n3".into()],
            ..Default::default()
        };
        block_on(e.step(&SimSink::default(), &mut sink, 0)).ok();
        e.abort("configuration changed");
        assert_eq!(e.phase(), Phase::Running, "two actions still in flight");
        let mut answers = SimSink::default();
        answers.history.insert(
            "t-1:0".into(),
            Outcome {
                rc: 0,
                op_status: 0,
                message: None,
            },
        );
        answers.history.insert(
            "t-1:2".into(),
            Outcome {
                rc: 7,
                op_status: 0,
                message: None,
            },
        );
        e.observe(&answers, 100);
        assert_eq!(e.phase(), Phase::Aborted);
        assert!(e.ready().is_empty());
    }

    #[test]
    fn resume_from_stored_state_does_not_rerun_confirmed_or_dispatched_actions() {
        // DC 1: runs the first step, the stop is confirmed, the start of ip is dispatched.
        let mut e1 = Engine::new("t-1", graph());
        let mut sink = SimSink {
            silent: vec!["n2".into()],
            ..Default::default()
        };
        block_on(e1.step(&SimSink::default(), &mut sink, 0)).ok();
        let r = SimResults(&sink.history.clone(), &[]);
        block_on(e1.step(&r, &mut sink, 10)).ok();
        assert_eq!(e1.state(1), State::Dispatched);
        let stored = Transition {
            metadata: kube::api::ObjectMeta {
                name: Some("t-1".into()),
                ..Default::default()
            },
            spec: TransitionSpec {
                seq: 1,
                actions: graph(),
                ..Default::default()
            },
            status: sink.stored.clone(),
        };
        // DC 1 dies. n2's agent ran the start meanwhile.
        let mut history = sink.history.clone();
        history.insert(
            "t-1:1".into(),
            Outcome {
                rc: 0,
                op_status: 0,
                message: None,
            },
        );
        let mut e2 = Engine::from_stored(&stored);
        assert_eq!(e2.state(0), State::Confirmed);
        assert_eq!(e2.state(1), State::Dispatched);
        let mut sink2 = SimSink {
            history,
            ..Default::default()
        };
        let order = block_on(run_to_end(&mut e2, &mut sink2, 20));
        assert_eq!(e2.phase(), Phase::Complete);
        assert_eq!(
            order,
            vec!["t-1:3".to_string()],
            "only web's start is left to run"
        );
    }

    #[test]
    fn a_result_for_a_pending_action_is_taken_not_rerun() {
        let mut e = Engine::new("t-1", graph());
        let mut known = SimSink::default();
        known.history.insert(
            "t-1:0".into(),
            Outcome {
                rc: 0,
                op_status: 0,
                message: None,
            },
        );
        e.observe(&known, 0);
        assert_eq!(e.state(0), State::Confirmed);
    }

    #[test]
    fn failed_sink_write_undoes_dispatch() {
        struct Down;
        impl ActionSink for Down {
            type Error = String;
            async fn dispatch(
                &mut self,
                _: &str,
                _: &[&TransitionAction],
                _: &TransitionStatus,
            ) -> Result<(), String> {
                Err("not leader".into())
            }
        }
        let mut e = Engine::new("t-1", graph());
        assert!(block_on(e.step(&SimSink::default(), &mut Down, 0)).is_err());
        assert_eq!(e.state(0), State::Pending);
        assert_eq!(e.ready(), vec![0, 2]);
    }
}
