//! Kubernetes Events (events.k8s.io) for what a person wants in `kubectl describe`: a
//! resource being started, stopped, moved, recovered, promoted or demoted, a node fenced,
//! an action failing, a transition aborted, a configuration error.
//!
//! In: the scheduler's decisions and the engine's action results, plus the object each
//! concerns (from the index). Out: Events published in the background, only while this
//! instance is the DC (the leader gate drops and counts the rest).

use std::sync::Arc;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::{
    Client,
    runtime::events::{Event, EventType, Recorder, Reporter},
};
use tracing::debug;

use crate::{cib::Object, leader::LeaderState};

#[derive(Clone)]
pub struct Events {
    recorder: Recorder,
    leader: Arc<LeaderState>,
}

impl Events {
    pub fn new(client: Client, leader: Arc<LeaderState>) -> Events {
        let reporter = Reporter {
            controller: "pacer-operator".into(),
            instance: Some(leader.identity.clone()),
        };
        Events {
            recorder: Recorder::new(client, reporter),
            leader,
        }
    }

    /// Publishes in the background; failures are logged at debug (events are best effort).
    pub fn publish(
        &self,
        regarding: ObjectReference,
        warning: bool,
        reason: &str,
        action: &str,
        note: String,
    ) {
        if self.leader.gate("event").is_err() {
            return;
        }
        let ev = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: truncate(reason, 128),
            note: Some(truncate(&note, 1000)),
            action: truncate(action, 128),
            secondary: None,
        };
        let rec = self.recorder.clone();
        tokio::spawn(async move {
            if let Err(e) = rec.publish(&ev, &regarding).await {
                debug!(error = %e, "publishing event");
            }
        });
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// The object reference of an indexed object (for `regarding`).
pub fn reference(o: &Object, namespace: &str) -> ObjectReference {
    let json = o.to_json().unwrap_or_default();
    let meta = |k: &str| {
        json.pointer(&format!("/metadata/{k}"))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    ObjectReference {
        api_version: Some(pacer_crds::API_VERSION.into()),
        kind: Some(o.kind().into()),
        name: Some(o.name()),
        namespace: Some(namespace.into()),
        uid: meta("uid"),
        resource_version: meta("resourceVersion"),
        ..Default::default()
    }
}

/// Event reason and verb for an action result (`Started`, `StartFailed`, `Fenced`, ...).
pub fn action_reason(task: &str, ok: bool) -> String {
    let verb = match task {
        "start" => "Start",
        "stop" => "Stop",
        "promote" => "Promote",
        "demote" => "Demote",
        "migrate_to" | "migrate_from" => "Migrate",
        "fence" => "Fence",
        "monitor" => "Monitor",
        _ => "Action",
    };
    if ok {
        match verb {
            "Stop" => "Stopped".into(),
            "Fence" => "Fenced".into(),
            "Monitor" => "Monitored".into(),
            v => format!("{v}ed").replace("eed", "ed"),
        }
    } else {
        format!("{verb}Failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_well() {
        assert_eq!(action_reason("start", true), "Started");
        assert_eq!(action_reason("stop", true), "Stopped");
        assert_eq!(action_reason("promote", true), "Promoted");
        assert_eq!(action_reason("migrate_to", true), "Migrated");
        assert_eq!(action_reason("fence", true), "Fenced");
        assert_eq!(action_reason("start", false), "StartFailed");
        assert_eq!(truncate("ééé", 3), "é");
    }
}
