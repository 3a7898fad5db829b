//! Recurring monitors: a recurring [`ActionRequest`] in, a timer task that runs it at
//! its interval through the [`Executor`] (so it queues behind other operations on the
//! same resource) out. Results are recorded and reported by the executor: only
//! changes and failures produce events, at once, without waiting for a poll.
//!
//! Cancelling aborts the task; a run in flight is killed with its process group (the
//! executor's guard) and its record removed, as a cancelled op is in Pacemaker.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};
use tokio::task::JoinHandle;

use crate::{executor::Executor, op::ActionRequest};

struct Armed {
    resource: String,
    task: JoinHandle<()>,
}

pub struct Monitors {
    executor: Arc<Executor>,
    armed: Mutex<HashMap<String, Armed>>,
}

impl Monitors {
    pub fn new(executor: Arc<Executor>) -> Monitors {
        Monitors {
            executor,
            armed: Mutex::new(HashMap::new()),
        }
    }

    fn armed(&self) -> std::sync::MutexGuard<'_, HashMap<String, Armed>> {
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms `req` (a recurring monitor), replacing one with the same op key. With
    /// `run_now` the first run happens immediately, else after one interval.
    pub fn arm(&self, req: ActionRequest, run_now: bool) {
        let key = req.op_key();
        let exec = self.executor.clone();
        let resource = req.resource.clone();
        let task = tokio::spawn(async move {
            let interval = req.interval.max(std::time::Duration::from_millis(100));
            if !run_now {
                tokio::time::sleep(interval).await;
            }
            loop {
                exec.execute(&req).await;
                tokio::time::sleep(interval).await;
            }
        });
        if let Some(old) = self.armed().insert(key, Armed { resource, task }) {
            old.task.abort();
        }
    }

    /// Cancels one monitor by op key; true if it was armed.
    pub fn cancel(&self, op_key: &str) -> bool {
        match self.armed().remove(op_key) {
            Some(a) => {
                a.task.abort();
                true
            }
            None => false,
        }
    }

    /// Cancels every monitor of `resource`; returns how many there were.
    pub fn cancel_resource(&self, resource: &str) -> usize {
        let mut armed = self.armed();
        let keys: Vec<String> = armed
            .iter()
            .filter(|(_, a)| a.resource == resource)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            if let Some(a) = armed.remove(k) {
                a.task.abort();
            }
        }
        drop(armed);
        for k in &keys {
            self.executor
                .update_history(|h| h.cancel_recurring(resource, k));
        }
        keys.len()
    }

    /// Op keys of the armed monitors.
    pub fn armed_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.armed().keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl Drop for Monitors {
    fn drop(&mut self) {
        for (_, a) in self.armed().drain() {
            a.task.abort();
        }
    }
}
