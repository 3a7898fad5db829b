//! Untyped access to pacer kinds for tests: apply JSON manifests with server-side apply and
//! read them back, so a test can send exactly the (possibly invalid) YAML a user would.
//!
//! In: a client, namespace, kind and manifest. Out: the stored object, or the API error.

use anyhow::{Result, anyhow};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams},
    core::Status,
};
use serde_json::{Value, json};

use crate::crds::FIELD_MANAGER;

/// The API resource of a pacer kind, its plural taken from the CRD definitions in
/// pacer-crds (`Primitive` → `primitives`, `FencingHistory` → `fencinghistories`).
/// Kinds pacer does not serve get a guessed plural (tests send them on purpose).
pub fn pacer_resource(kind: &str) -> ApiResource {
    pacer_crds::api_resource(kind).unwrap_or_else(|| {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(pacer_crds::GROUP, pacer_crds::VERSION, kind),
            &format!("{}s", kind.to_ascii_lowercase()),
        )
    })
}

pub fn pacer_api(client: &Client, ns: &str, kind: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &pacer_resource(kind))
}

/// A manifest of a pacer kind.
pub fn manifest(kind: &str, name: &str, spec: Value) -> Value {
    json!({
        "apiVersion": pacer_crds::API_VERSION,
        "kind": kind,
        "metadata": { "name": name },
        "spec": spec,
    })
}

/// Server-side apply of a pacer manifest (as `kubectl apply --server-side` does).
pub async fn apply(
    client: &Client,
    ns: &str,
    kind: &str,
    name: &str,
    spec: Value,
) -> kube::Result<DynamicObject> {
    let api = pacer_api(client, ns, kind);
    api.patch(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(manifest(kind, name, spec)),
    )
    .await
}

/// The API server's rejection of a request, or an error if it was accepted.
pub fn rejection<T: std::fmt::Debug>(result: kube::Result<T>) -> Result<Status> {
    match result {
        Err(kube::Error::Api(status)) => Ok(*status),
        Err(other) => Err(anyhow!(
            "expected the API server to reject the request, got a transport error: {other}"
        )),
        Ok(obj) => Err(anyhow!(
            "expected the API server to reject the request, but it was accepted: {obj:?}"
        )),
    }
}
