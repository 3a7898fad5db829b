//! One consistent scheduler input: the [`Index`] (configuration objects, NodeStates, node
//! Leases, fencing history) and "now" in, CIB XML out, with the membership the operator
//! decided (never what a node wrote about itself), `have-quorum` and `execution-date` set,
//! and the list of inputs (resourceVersions) a Transition records.
//!
//! This is the only place that calls the CIB bridge ([`crate::cib::export::export_cib`]).
//! The operator never reads Secrets: each Secret-backed parameter is exported as a
//! placeholder naming the Secret and key (agents resolve it when they run the action).
//!
//! Also here: the gzip+base64 copy of the input stored in a Transition, and
//! [`load_transition_input`] to get it back (`pacer simulate --transition`).

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{Read, Write},
    sync::Arc,
};

use base64::Engine as _;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{ResourceExt, api::ObjectMeta};
use pacer_crds::{ClusterProperties, ClusterPropertiesSpec, NodeState, NodeStateSpec, Transition};

use crate::{
    cib::{self, Object},
    index::Index,
    membership::{self, Membership},
};

/// Prefix of the value a Secret-backed parameter has in the scheduler input.
pub const SECRET_PLACEHOLDER: &str = "pacer-secret:";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("exporting the configuration to CIB XML: {0}")]
    Export(#[from] cib::Error),
    #[error("transition {name} has no stored scheduler input (spec.inputCib)")]
    NoInput { name: String },
    #[error("transition {name}: spec.inputCib is not gzip+base64 CIB XML: {reason}")]
    BadInput { name: String, reason: String },
    #[error("compressing the scheduler input: {0}")]
    Compress(std::io::Error),
}

/// What the scheduler gets, and what the Transition records about it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub xml: String,
    /// `Kind/name` → `"<resourceVersion> g<generation>"`, plus `membership` and
    /// `attributes` digests.
    pub inputs: BTreeMap<String, String>,
    /// Node name → membership, for every configured node.
    pub membership: BTreeMap<String, Membership>,
    pub quorum: bool,
    pub now_s: i64,
}

/// Rendered `<node_state>` elements by NodeState name, valid while the NodeState's
/// resourceVersion and the membership the DC decided for it stay the same. The status
/// section is most of a large CIB and changes one node at a time, so the DC keeps one
/// cache across runs and re-renders only what changed.
#[derive(Default)]
pub struct StatusCache {
    entries: BTreeMap<String, (String, Arc<str>)>,
}

impl StatusCache {
    /// The element for `ns` as it will be exported with membership `m`.
    fn render(
        &mut self,
        ns: &NodeState,
        m: Option<Membership>,
        seen: &mut BTreeSet<String>,
    ) -> Result<Arc<str>, Error> {
        let name = ns.name_any();
        // Objects never stored (imported, built in memory) have no version to key on.
        let key = ns
            .resource_version()
            .map(|rv| format!("{rv}/{}", m.map(|m| m.name()).unwrap_or("-")));
        seen.insert(name.clone());
        if let (Some(k), Some((ck, xml))) = (&key, self.entries.get(&name))
            && k == ck
        {
            return Ok(xml.clone());
        }
        let mut ns = ns.clone();
        if let Some(m) = m {
            membership::apply(&mut ns, m);
        }
        let xml: Arc<str> = cib::export::node_state_xml(&ns)?.into();
        match key {
            Some(k) => {
                self.entries.insert(name, (k, xml.clone()));
            }
            None => {
                self.entries.remove(&name);
            }
        }
        Ok(xml)
    }
}

/// Builds the scheduler input from the index at `now_ms`.
pub fn build(index: &Index, now_ms: i64, lease_duration_s: i64) -> Result<Snapshot, Error> {
    build_cached(index, now_ms, lease_duration_s, &mut StatusCache::default())
}

/// [`build`], re-using the `<node_state>` elements in `cache` that are still valid.
pub fn build_cached(
    index: &Index,
    now_ms: i64,
    lease_duration_s: i64,
    cache: &mut StatusCache,
) -> Result<Snapshot, Error> {
    let (inputs, membership, quorum) = inputs(index, now_ms, lease_duration_s);
    let mut objects: Vec<Object> = Vec::new();
    // Every ClusterProperties object is a cluster_property_set (properties split over
    // GitOps files); the DC's <cib> attributes (quorum, execution date) go on the one the
    // export puts first: the one with `spec.cib`, else the first by name.
    let mut props: Vec<ClusterProperties> = Vec::new();
    for o in index.config.values() {
        match o {
            Object::ClusterProperties(p) => props.push(p.clone()),
            _ => objects.push(o.clone()),
        }
    }
    props.sort_by_key(cib::export::property_sets_order);
    // Node states: membership from Leases overrides what nodes wrote.
    let mut unames = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut status = Vec::new();
    for (name, ns) in &index.node_states {
        let uname = ns.spec.uname.clone().unwrap_or_else(|| name.clone());
        status.push(cache.render(ns, membership.get(&uname).copied(), &mut names)?);
        unames.insert(uname);
    }
    cache.entries.retain(|name, _| names.contains(name));
    for (node, m) in &membership {
        if unames.contains(node) || *m == Membership::Down {
            continue;
        }
        // A node that holds a Lease but has not written its NodeState yet.
        let id = index.node_id(node);
        let mut ns = NodeState::new(
            node,
            NodeStateSpec {
                id: Some(id),
                uname: Some(node.clone()),
                ..Default::default()
            },
        );
        membership::apply(&mut ns, *m);
        status.push(cib::export::node_state_xml(&ns)?.into());
    }
    let now_s = now_ms.div_euclid(1000);
    if props.is_empty() {
        props.push(ClusterProperties::new(
            "cluster",
            ClusterPropertiesSpec::default(),
        ));
    }
    let cib = props[0].spec.cib.get_or_insert_with(Default::default);
    cib.have_quorum = Some(if quorum { "1" } else { "0" }.into());
    cib.execution_date = Some(now_s.to_string());
    for (i, p) in props.into_iter().enumerate() {
        objects.insert(i, Object::ClusterProperties(p));
    }
    objects.extend(placeholder_secrets(&objects));

    let xml = cib::export::export_cib_with_status(&objects, status)?;
    Ok(Snapshot {
        xml,
        inputs,
        membership,
        quorum,
        now_s,
    })
}

/// What a Transition records about its inputs, the membership and the quorum verdict,
/// without exporting anything (cheap enough to compare on every tick).
pub fn inputs(
    index: &Index,
    now_ms: i64,
    lease_duration_s: i64,
) -> (BTreeMap<String, String>, BTreeMap<String, Membership>, bool) {
    let mut inputs: BTreeMap<String, String> = index
        .config
        .iter()
        .map(|((kind, name), o)| (format!("{kind}/{name}"), input_version(o)))
        .collect();
    let membership = index.membership(now_ms, lease_duration_s);
    let configured = index.configured_nodes();
    let online = configured
        .iter()
        .filter(|n| membership.get(n.as_str()) == Some(&Membership::Online))
        .count();
    let quorum = membership::has_quorum(configured.len(), online);
    inputs.insert(
        "membership".into(),
        membership
            .iter()
            .map(|(n, m)| format!("{n}={}", m.name()))
            .collect::<Vec<_>>()
            .join(","),
    );
    inputs.insert(
        "attributes".into(),
        format!("{:016x}", index.attributes_digest()),
    );
    (inputs, membership, quorum)
}

/// `"<resourceVersion> g<generation>"`: the resourceVersion read, and the generation
/// that decides whether the spec changed since (status writes bump only the former).
fn input_version(o: &Object) -> String {
    let v = o.to_json().unwrap_or_default();
    let rv = v
        .pointer("/metadata/resourceVersion")
        .and_then(|x| x.as_str())
        .unwrap_or("");
    let g = v
        .pointer("/metadata/generation")
        .and_then(|x| x.as_i64())
        .unwrap_or(0);
    format!("{rv} g{g}")
}

/// Whether two recorded input versions differ in spec (generation), not only in status.
pub fn spec_changed(a: &str, b: &str) -> bool {
    a.rsplit(' ').next() != b.rsplit(' ').next()
}

/// One stand-in Secret per referenced Secret, whose values name the Secret and key.
fn placeholder_secrets(objects: &[Object]) -> Vec<Object> {
    let mut refs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    fn walk(v: &serde_json::Value, refs: &mut BTreeMap<String, BTreeSet<String>>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("secretKeyRef")
                    && let (Some(n), Some(k)) = (
                        r.get("name").and_then(|x| x.as_str()),
                        r.get("key").and_then(|x| x.as_str()),
                    )
                {
                    refs.entry(n.to_string()).or_default().insert(k.to_string());
                }
                m.values().for_each(|x| walk(x, refs));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, refs)),
            _ => {}
        }
    }
    for o in objects {
        if matches!(o, Object::NodeState(_)) {
            continue;
        }
        if let Ok(v) = o.to_json() {
            walk(&v, &mut refs);
        }
    }
    refs.into_iter()
        .map(|(name, keys)| {
            let data = keys
                .into_iter()
                .map(|k| {
                    let v = format!("{SECRET_PLACEHOLDER}{name}/{k}");
                    (k, ByteString(v.into_bytes()))
                })
                .collect();
            Object::Secret(Secret {
                metadata: ObjectMeta {
                    name: Some(name),
                    ..Default::default()
                },
                data: Some(data),
                ..Default::default()
            })
        })
        .collect()
}

/// gzip + base64, as stored in `Transition.spec.inputCib`.
pub fn compress(xml: &str) -> Result<String, Error> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(xml.as_bytes()).map_err(Error::Compress)?;
    let bytes = enc.finish().map_err(Error::Compress)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The scheduler input a Transition was computed from (for `pacer simulate --transition`).
pub fn load_transition_input(t: &Transition) -> Result<String, Error> {
    let name = t.name_any();
    let text = t
        .spec
        .input_cib
        .as_deref()
        .ok_or_else(|| Error::NoInput { name: name.clone() })?;
    let bad = |reason: String| Error::BadInput {
        name: name.clone(),
        reason,
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| bad(e.to_string()))?;
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .read_to_string(&mut out)
        .map_err(|e| bad(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::TransitionSpec;

    #[test]
    fn stored_input_round_trips() {
        let xml = "<cib><configuration/><status/></cib>".repeat(50);
        let mut t = Transition::new(
            "t-3",
            TransitionSpec {
                seq: 3,
                ..Default::default()
            },
        );
        t.spec.input_cib = Some(compress(&xml).unwrap_or_default());
        assert!(
            t.spec
                .input_cib
                .as_ref()
                .is_some_and(|s| s.len() < xml.len())
        );
        assert_eq!(
            load_transition_input(&t).ok().as_deref(),
            Some(xml.as_str())
        );
    }

    #[test]
    fn every_cluster_properties_object_reaches_the_scheduler() {
        // Properties split over two objects (e.g. two GitOps files): both sets count, and
        // the DC's quorum verdict goes on the first.
        let mut idx = Index::default();
        let yaml = r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: cluster}
spec: {properties: {stonith-action: "off"}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: two-node}
spec: {properties: {no-quorum-policy: ignore}}
"#;
        for o in crate::cib::manifest::parse_manifests(yaml).unwrap_or_default() {
            idx.apply_config(o);
        }
        let snap = build(&idx, 0, 60).map(|s| s.xml).unwrap_or_default();
        assert!(
            snap.contains(r#"name="stonith-action" value="off""#),
            "{snap}"
        );
        assert!(
            snap.contains(r#"name="no-quorum-policy" value="ignore""#),
            "{snap}"
        );
        assert_eq!(snap.matches("have-quorum=").count(), 1, "{snap}");
    }

    #[test]
    fn missing_or_garbled_input_names_the_transition() {
        let mut t = Transition::new(
            "t-4",
            TransitionSpec {
                seq: 4,
                ..Default::default()
            },
        );
        assert!(load_transition_input(&t).is_err_and(|e| e.to_string().contains("t-4")));
        t.spec.input_cib = Some("not base64!".into());
        assert!(load_transition_input(&t).is_err_and(|e| e.to_string().contains("t-4")));
    }
}
