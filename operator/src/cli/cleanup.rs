//! `kubectl pacer resource cleanup [RSC] [--node NODE]` (crm_resource --cleanup): asks
//! the DC to forget RSC's failures (every resource with failures when RSC is omitted) by
//! annotating its object, then waits until the object's `status.lastCleanup` shows the
//! request and its cleanup Transition has finished, and prints what was cleaned where.
//! The protocol is in operator/src/cleanup.rs.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::{
    Api, Client,
    api::{DynamicObject, Patch, PatchParams},
    discovery::ApiResource,
};
use pacer_crds::CleanupStatus;
use serde_json::json;

use crate::{
    cleanup::{self, ANNOTATION},
    cli::{fetch, resource::resource_object},
    index::Index,
    membership::Membership,
};

const FIELD_MANAGER: &str = "kubectl-pacer";

pub async fn run(
    client: &Client,
    ns: &str,
    idx: &Index,
    rsc: Option<&str>,
    node: Option<&str>,
    timeout: Duration,
) -> Result<String> {
    if let Some(n) = node
        && crate::cli::node::node_object(idx, n).is_none()
    {
        bail!("no ClusterNode {n:?} in namespace {ns}");
    }
    let value =
        cleanup::request_value(&format!("{}-{}", fetch::now_ms(), std::process::id()), node);
    let online: std::collections::BTreeMap<String, Membership> = idx
        .configured_nodes()
        .into_iter()
        .map(|n| (n, Membership::Online))
        .collect();
    let targets: Vec<(&'static str, String)> = match rsc {
        Some(r) => vec![resource_object(idx, r).with_context(|| {
            format!("no resource {r:?} (Primitive, Group or Clone) in namespace {ns}")
        })?],
        // Every resource with failures somewhere (crm_resource --cleanup without -r).
        None => idx
            .config
            .values()
            .filter_map(|o| cleanup::request(idx, o, &value))
            .filter(|req| !cleanup::actions(idx, std::slice::from_ref(req), &online).is_empty())
            .map(|req| (req.kind, req.name))
            .collect(),
    };
    if targets.is_empty() {
        return Ok("no resource has failures: nothing to clean up".into());
    }
    if let Some((kind, _)) = targets.iter().find(|(k, _)| *k == "Bundle") {
        bail!("{kind}s cannot be cleaned up yet; clean up the bundled primitive instead");
    }
    for (kind, name) in &targets {
        annotate(client, ns, kind, name, &value).await?;
    }
    wait(client, ns, &targets, &value, timeout).await
}

fn api_resource(kind: &str) -> Result<ApiResource> {
    match kind {
        "Primitive" | "Group" | "Clone" => pacer_crds::api_resource(kind)
            .ok_or_else(|| anyhow::anyhow!("{kind} is not a pacer kind")),
        other => bail!("{other} objects have no cleanup"),
    }
}

/// The request is metadata, not configuration: a merge patch, so GitOps owners of the
/// spec are not disturbed and the DC can remove it when handled.
async fn annotate(client: &Client, ns: &str, kind: &str, name: &str, value: &str) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &api_resource(kind)?);
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER),
        &Patch::Merge(json!({"metadata": {"annotations": {ANNOTATION: value}}})),
    )
    .await
    .with_context(|| format!("requesting the cleanup of {kind} {name}"))?;
    Ok(())
}

/// Waits until the DC took every request and its cleanup Transition finished.
async fn wait(
    client: &Client,
    ns: &str,
    targets: &[(&'static str, String)],
    value: &str,
    timeout: Duration,
) -> Result<String> {
    let deadline = Instant::now() + timeout;
    loop {
        let idx = fetch::index(client, ns).await?;
        let taken: Option<Vec<(String, CleanupStatus)>> = targets
            .iter()
            .map(|(kind, name)| {
                let o = idx.config.get(&(*kind, name.clone()))?;
                let c = crate::status::current(o)?.last_cleanup?;
                let id = crate::status::cib_id(o).unwrap_or_else(|| name.clone());
                (c.request == value).then_some((id, c))
            })
            .collect();
        if let Some(done) = taken {
            let running = done
                .iter()
                .filter_map(|(_, c)| c.transition.as_ref())
                .any(|t| {
                    idx.transitions.get(t).is_some_and(|t| {
                        t.status
                            .as_ref()
                            .and_then(|s| s.phase.as_deref())
                            .is_none_or(|p| p == "Running")
                    })
                });
            if !running {
                return Ok(report(&done, &idx));
            }
        }
        if Instant::now() > deadline {
            bail!(
                "the DC has not carried out the cleanup within {}s (is an operator running in namespace {ns}? `kubectl pacer status` names the DC); the request stays on the object as annotation {ANNOTATION}={value}",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// One line per cleaned (resource, node), as crm_resource prints them.
fn report(done: &[(String, CleanupStatus)], idx: &Index) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (id, c) in done {
        let Some(t) = c.transition.as_ref().and_then(|t| idx.transitions.get(t)) else {
            lines.push(format!(
                "{id}: no failures on online nodes, nothing to clean up"
            ));
            continue;
        };
        let name = t.metadata.name.as_deref().unwrap_or("?");
        let status = t.status.clone().unwrap_or_default();
        for a in &t.spec.actions {
            let rsc = a.resource.as_deref().unwrap_or("");
            if !seen.insert((name.to_string(), a.id))
                || !crate::cleanup::is_instance_of(rsc, id) && !c.nodes.contains(&a.node)
            {
                continue;
            }
            let st = status.actions.get(&a.id.to_string());
            lines.push(match st.map_or("Pending", |s| s.state.as_str()) {
                "Confirmed" => format!("Cleaned up {rsc} on {} ({name})", a.node),
                other => format!(
                    "Cleanup of {rsc} on {} {other} ({name}) {}",
                    a.node,
                    st.and_then(|s| s.message.clone()).unwrap_or_default()
                ),
            });
        }
    }
    lines.join("\n")
}
