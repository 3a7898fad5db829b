//! The local resource manager: the one entry point the API-facing part calls. An
//! [`ActionRequest`] from the transition in, a [`Recorded`] result out, with recurring
//! monitors armed and cancelled as the actions imply; [`OpEvent`]s flow out on the
//! channel returned by [`LocalResourceManager::new`].

use std::sync::Arc;
use tokio::sync::mpsc;

use crate::{
    executor::{Executor, ExecutorConfig, OpEvent},
    history::{NodeHistory, Recorded},
    monitors::Monitors,
    op::ActionRequest,
};

pub struct LocalResourceManager {
    executor: Arc<Executor>,
    monitors: Monitors,
}

impl LocalResourceManager {
    pub fn new(cfg: ExecutorConfig) -> (LocalResourceManager, mpsc::UnboundedReceiver<OpEvent>) {
        Self::with_history(cfg, NodeHistory::default())
    }

    /// Starts from a history restored with [`crate::history::rebuild`].
    pub fn with_history(
        cfg: ExecutorConfig,
        history: NodeHistory,
    ) -> (LocalResourceManager, mpsc::UnboundedReceiver<OpEvent>) {
        let (executor, events) = Executor::with_history(cfg, history);
        let monitors = Monitors::new(executor.clone());
        (LocalResourceManager { executor, monitors }, events)
    }

    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    pub fn monitors(&self) -> &Monitors {
        &self.monitors
    }

    /// Performs one transition action. A recurring monitor runs once now (its result is
    /// returned) and then keeps running at its interval until cancelled; `stop` and
    /// `migrate_to` cancel the resource's monitors first, as leaving them running would
    /// report the intended stop as a failure.
    pub async fn perform(&self, req: ActionRequest) -> Recorded {
        if matches!(
            req.action.as_str(),
            "stop" | "migrate_to" | "demote" | "promote"
        ) {
            // Role changes invalidate role-specific monitors; the transition re-arms
            // the right ones afterwards.
            self.monitors.cancel_resource(&req.resource);
        }
        if req.is_recurring() && req.action == "monitor" {
            let first = self.executor.execute(&req).await;
            self.monitors.arm(req, false);
            return first;
        }
        self.executor.execute(&req).await
    }

    /// Cancels one recurring operation by key (`RSC_monitor_10000`).
    pub fn cancel(&self, resource: &str, op_key: &str) -> bool {
        let found = self.monitors.cancel(op_key);
        self.executor
            .update_history(|h| h.cancel_recurring(resource, op_key));
        found
    }

    /// `crm_resource --cleanup`: clears fail counts and the last failure.
    pub fn clear_failures(&self, resource: &str, op: Option<&str>) {
        self.executor
            .update_history(|h| h.clear_failures(resource, op));
    }

    /// Forgets a resource (deleted, or refreshed before re-probing).
    pub fn forget(&self, resource: &str) {
        self.monitors.cancel_resource(resource);
        self.executor.forget(resource);
    }

    pub fn history(&self) -> NodeHistory {
        self.executor.history()
    }
}
