//! Fencing run by the DC itself when no node can.
//!
//! A fence runs on a healthy node other than the target (Pacemaker's fencer on a peer).
//! When there is none — every other node is lost, unclean or not yet joined — the plan
//! names [`DC_EXECUTOR`] and the DC that dispatches the action runs the devices itself,
//! with the node agent's own fencing code (devices, topology levels, retries, Secrets)
//! and the same record: a `FencingHistory` carrying the action's transition key, with
//! `executor: dc/<identity>`. The DC then confirms the action from that record like any
//! other. The operator's pod needs the fence agents (Debian `fence-agents`) and a route
//! to the BMCs for this; without them the fence fails visibly and is retried.

use std::sync::Arc;

use kube::Client;
use pacer_agent::{
    dispatch::{Work, request_for},
    executor::{Executor, ExecutorConfig},
    fencing,
};
use pacer_crds::TransitionAction;
use tracing::{info, warn};

/// `executor` of a fence action no node can run: the DC runs it.
pub const DC_EXECUTOR: &str = "@dc";

/// Whether the DC (rather than a node agent) runs this action.
pub fn runs_on_dc(a: &TransitionAction) -> bool {
    a.task == "fence" && a.executor.as_deref() == Some(DC_EXECUTOR)
}

pub struct DcFencer {
    client: Client,
    namespace: String,
    /// `dc/<identity>`: who fenced, in the FencingHistory.
    me: String,
    executor: Arc<Executor>,
}

impl DcFencer {
    /// `netns`: run fence agents inside this network namespace (`/run/netns/NAME`), for a
    /// management network the operator's own namespace cannot reach (tests).
    pub fn new(client: Client, namespace: &str, identity: &str, netns: Option<String>) -> DcFencer {
        let me = format!("dc/{identity}");
        let (executor, _events) = Executor::new(ExecutorConfig {
            node_name: Some(me.clone()),
            netns,
            ..Default::default()
        });
        DcFencer {
            client,
            namespace: namespace.into(),
            me,
            executor,
        }
    }

    /// Starts fence action `a` of transition `name` (sequence `seq`) in the background;
    /// its outcome arrives as the FencingHistory record.
    pub fn spawn(&self, name: &str, seq: i64, a: &TransitionAction) {
        let work = match request_for(name, a) {
            Ok(Work::Fence {
                target,
                action,
                transition_key,
                timeout,
            }) => (target, action, transition_key, timeout),
            Ok(other) => {
                warn!(?other, "not a fence action: the DC runs only fencing");
                return;
            }
            Err(e) => {
                warn!(transition = name, id = a.id, error = %e, "bad fence action");
                return;
            }
        };
        let (target, action, key, timeout) = work;
        let (client, ns, me, executor) = (
            self.client.clone(),
            self.namespace.clone(),
            self.me.clone(),
            self.executor.clone(),
        );
        info!(target_node = %target, transition_key = %key, "no node can fence: the DC runs the fence itself");
        tokio::spawn(async move {
            fencing::fence_node(fencing::FenceRequest {
                client: &client,
                namespace: &ns,
                me: &me,
                executor: &executor,
                target: &target,
                action,
                transition_key: &key,
                timeout,
                seq,
            })
            .await;
        });
    }
}
