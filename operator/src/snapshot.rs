//! One consistent scheduler input: the [`Index`] (configuration objects, NodeStates, node
//! Leases, fencing history) and "now" in, CIB XML out, with the membership the operator
//! decided (never what a node wrote about itself), `have-quorum` and `execution-date` set,
//! and the list of inputs (resourceVersions) a Transition records.
//!
//! This is the only place that calls the CIB bridge ([`crate::cib::export::export_cib`]).
//! The operator never reads Secrets: each Secret-backed parameter is exported as a
//! placeholder naming the Secret and key (agents resolve it when they run the action).
//!
//! Also here: the gzip copy of the input kept next to each Transition (ConfigMap
//! `<transition>-input`, [`input_configmap`]) and [`load_transition_input`] to get it
//! back (`pacer simulate --transition`).

use std::{
    collections::{BTreeMap, BTreeSet},
    io::{Read, Write},
    sync::Arc,
};

use k8s_openapi::{
    ByteString,
    api::core::v1::{ConfigMap, Secret},
    apimachinery::pkg::apis::meta::v1::OwnerReference,
};
use kube::{ResourceExt, api::ObjectMeta};
use pacer_crds::{ClusterProperties, ClusterPropertiesSpec, NodeState, NodeStateSpec, Transition};

use crate::{
    cib::{self, Object, export::CibTemplate},
    index::Index,
    membership::{self, Membership},
};

/// Prefix of the value a Secret-backed parameter has in the scheduler input.
pub const SECRET_PLACEHOLDER: &str = "pacer-secret:";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("exporting the configuration to CIB XML: {0}")]
    Export(#[from] cib::Error),
    #[error(
        "transition {name} has no stored scheduler input (ConfigMap {name}{INPUT_SUFFIX} \
         key {INPUT_KEY} missing: pruned, or the DC could not write it)"
    )]
    NoInput { name: String },
    #[error("transition {name}: the stored input is not gzip-compressed CIB XML: {reason}")]
    BadInput { name: String, reason: String },
    #[error("a rendered <node_state> does not parse: {0}")]
    Render(String),
    #[error("compressing the scheduler input: {0}")]
    Compress(std::io::Error),
}

/// What the scheduler gets, and what the Transition records about it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The configuration, rendered once per configuration version.
    template: Arc<CibTemplate>,
    /// `have-quorum` and `execution-date` of this run.
    attrs: [(&'static str, String); 2],
    /// The CIB without node states (its `<status>` holds only tickets), and every
    /// `<node_state>` already parsed: what [`Snapshot::schedule`] runs on, so only the
    /// nodes whose state changed since the last run are parsed again.
    pub config_xml: String,
    pub node_states: Vec<Arc<ParsedXml>>,
    /// `Kind/name` → `"<resourceVersion> g<generation>"`, plus `membership` and
    /// `attributes` digests.
    pub inputs: BTreeMap<String, String>,
    /// Node name → membership, for every configured node.
    pub membership: BTreeMap<String, Membership>,
    pub quorum: bool,
    pub now_s: i64,
}

/// The whole CIB of a [`Snapshot`], to be written later (off the DC loop: it is only
/// stored, and at 16 nodes / 500 resources it is 3 MB).
pub struct WholeCib {
    template: Arc<CibTemplate>,
    attrs: [(&'static str, String); 2],
    node_states: Vec<Arc<str>>,
}

impl WholeCib {
    pub fn write(&self) -> String {
        self.template.write(&borrowed(&self.attrs), &self.node_states)
    }
}

self_cell::self_cell!(
    /// An XML fragment and its parsed form, kept together.
    pub struct ParsedXml {
        owner: Arc<str>,
        #[covariant]
        dependent: Document,
    }
    impl {Debug}
);

type Document<'a> = roxmltree::Document<'a>;

impl ParsedXml {
    pub fn parse(xml: Arc<str>) -> Result<ParsedXml, Error> {
        ParsedXml::try_new(xml, |x| roxmltree::Document::parse(x))
            .map_err(|e| Error::Render(e.to_string()))
    }
    pub fn text(&self) -> &Arc<str> {
        self.borrow_owner()
    }
}

impl Snapshot {
    /// The whole CIB (stored with a Transition, replayed by `pacer simulate`).
    pub fn whole(&self) -> String {
        self.whole_later().write()
    }

    pub fn whole_later(&self) -> WholeCib {
        WholeCib {
            template: self.template.clone(),
            attrs: self.attrs.clone(),
            node_states: self.node_states.iter().map(|p| p.text().clone()).collect(),
        }
    }

    /// Runs the scheduler on this input.
    pub fn schedule(&self) -> Result<pacer_scheduler::Schedule, pacer_scheduler::Error> {
        let roots: Vec<roxmltree::Node> = self
            .node_states
            .iter()
            .map(|p| p.borrow_dependent().root_element())
            .collect();
        pacer_scheduler::schedule_with_status(&self.config_xml, &roots, Some(self.now_s))
    }
}

/// `<node_state>` elements by NodeState name, rendered and parsed, valid while the
/// NodeState's resourceVersion and the membership the DC decided for it stay the same.
/// The status section is most of a large CIB and changes one node at a time, so the DC
/// keeps one cache across runs and renders and parses only what changed.
///
/// It also keeps the configuration objects to export, by [`Index::config_version`]:
/// objects as watched carry managedFields and the status the DC writes, and copying and
/// walking hundreds of them (for Secret references) on every run cost more than the
/// scheduler itself.
#[derive(Default)]
pub struct StatusCache {
    entries: BTreeMap<String, (String, Arc<ParsedXml>)>,
    config: Option<(u64, Arc<CibTemplate>)>,
}

/// The configuration of one configuration version, rendered: objects as watched carry
/// managedFields and the status the DC writes, and copying, walking (for Secret
/// references) and rendering hundreds of them on every run cost more than the scheduler.
struct RenderedConfig {
    template: Arc<CibTemplate>,
}

impl RenderedConfig {
    fn of(index: &Index) -> Result<RenderedConfig, Error> {
        let mut props: Vec<ClusterProperties> = Vec::new();
        let mut others: Vec<Object> = Vec::new();
        for o in index.config.values() {
            match o {
                Object::ClusterProperties(p) => props.push(without_status(p.clone())),
                _ => others.push(o.clone()),
            }
        }
        // Every ClusterProperties object is a cluster_property_set (properties split over
        // GitOps files); the DC's <cib> attributes (quorum, execution date) go on the one
        // the export puts first: the one with `spec.cib`, else the first by name.
        props.sort_by_key(cib::export::property_sets_order);
        if props.is_empty() {
            props.push(ClusterProperties::new(
                "cluster",
                ClusterPropertiesSpec::default(),
            ));
        }
        // Placeholders keep their place among the attributes; each run writes its own.
        let root = props[0].spec.cib.get_or_insert_with(Default::default);
        root.have_quorum = Some("0".into());
        root.execution_date = Some("0".into());
        let mut objects: Vec<Object> = props.into_iter().map(Object::ClusterProperties).collect();
        objects.extend(others);
        let secrets = placeholder_secrets(&objects);
        objects.extend(secrets);
        Ok(RenderedConfig {
            template: Arc::new(CibTemplate::new(&objects)?),
        })
    }
}

fn without_status(mut p: ClusterProperties) -> ClusterProperties {
    p.status = None;
    p.metadata.managed_fields = None;
    p
}

impl StatusCache {
    /// The element for `ns` as it will be exported with membership `m`.
    fn render(
        &mut self,
        ns: &NodeState,
        m: Option<Membership>,
        seen: &mut BTreeSet<String>,
    ) -> Result<Arc<ParsedXml>, Error> {
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
        let xml = Arc::new(ParsedXml::parse(cib::export::node_state_xml(&ns)?.into())?);
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
    let template = match &cache.config {
        Some((v, t)) if *v == index.config_version => t.clone(),
        _ => {
            let t = RenderedConfig::of(index)?.template;
            cache.config = Some((index.config_version, t.clone()));
            t
        }
    };
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
        status.push(Arc::new(ParsedXml::parse(
            cib::export::node_state_xml(&ns)?.into(),
        )?));
    }
    let now_s = now_ms.div_euclid(1000);
    let attrs = [
        ("have-quorum", if quorum { "1" } else { "0" }.to_string()),
        ("execution-date", now_s.to_string()),
    ];
    let config_xml = template.write(&borrowed(&attrs), &[]);
    Ok(Snapshot {
        template,
        attrs,
        config_xml,
        node_states: status,
        inputs,
        membership,
        quorum,
        now_s,
    })
}

fn borrowed<'a>(attrs: &'a [(&'static str, String); 2]) -> [(&'static str, &'a str); 2] {
    [(attrs[0].0, &attrs[0].1), (attrs[1].0, &attrs[1].1)]
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
    let m = o.meta();
    format!(
        "{} g{}",
        m.resource_version.as_deref().unwrap_or(""),
        m.generation.unwrap_or(0)
    )
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

/// Name suffix of the ConfigMap holding a Transition's input (`t-7-input`).
pub const INPUT_SUFFIX: &str = "-input";
/// Its key: gzip-compressed CIB XML.
pub const INPUT_KEY: &str = "cib.xml.gz";
/// Label naming the Transition on its input ConfigMap.
pub const TRANSITION_LABEL: &str = "ha.pacer.dev/transition";

/// The ConfigMap that keeps `transition`'s scheduler input. Not in the Transition itself:
/// a Transition is read by every agent on every status change, and the input is most of
/// its size (hundreds of KiB at a few hundred resources), so it would slow down storing a
/// decision and be sent to every node again on every action result. Owned by the
/// Transition, so Kubernetes deletes it with it (the DC also deletes it when pruning).
pub fn input_configmap(transition: &Transition, xml: &str) -> Result<ConfigMap, Error> {
    let name = transition.name_any();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(xml.as_bytes()).map_err(Error::Compress)?;
    let bytes = enc.finish().map_err(Error::Compress)?;
    let owner = transition.uid().map(|uid| OwnerReference {
        api_version: pacer_crds::API_VERSION.into(),
        kind: "Transition".into(),
        name: name.clone(),
        uid,
        ..Default::default()
    });
    Ok(ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("{name}{INPUT_SUFFIX}")),
            labels: Some([(TRANSITION_LABEL.to_string(), name)].into()),
            owner_references: owner.map(|o| vec![o]),
            ..Default::default()
        },
        binary_data: Some([(INPUT_KEY.to_string(), ByteString(bytes))].into()),
        ..Default::default()
    })
}

/// The scheduler input a Transition was computed from (for `pacer simulate --transition`),
/// from its input ConfigMap (`None` when there is none).
pub fn load_transition_input(t: &Transition, input: Option<&ConfigMap>) -> Result<String, Error> {
    let name = t.name_any();
    let bytes = input
        .and_then(|c| c.binary_data.as_ref())
        .and_then(|d| d.get(INPUT_KEY))
        .ok_or_else(|| Error::NoInput { name: name.clone() })?;
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes.0.as_slice())
        .read_to_string(&mut out)
        .map_err(|e| Error::BadInput {
            name: name.clone(),
            reason: e.to_string(),
        })?;
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
        t.metadata.uid = Some("u-3".into());
        let cm = input_configmap(&t, &xml).ok();
        let stored = cm
            .as_ref()
            .and_then(|c| c.binary_data.as_ref())
            .and_then(|d| d.get(INPUT_KEY))
            .map_or(usize::MAX, |b| b.0.len());
        assert!(stored < xml.len() / 10, "compressed: {stored} bytes");
        assert_eq!(
            cm.as_ref().and_then(|c| c.metadata.name.as_deref()),
            Some("t-3-input")
        );
        assert_eq!(
            cm.as_ref()
                .and_then(|c| c.metadata.owner_references.as_ref())
                .map(|o| (o[0].kind.as_str(), o[0].uid.as_str())),
            Some(("Transition", "u-3")),
            "owned by the Transition: deleted with it"
        );
        assert_eq!(
            load_transition_input(&t, cm.as_ref()).ok().as_deref(),
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
        let snap = build(&idx, 0, 60).map(|s| s.whole()).unwrap_or_default();
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
        let t = Transition::new(
            "t-4",
            TransitionSpec {
                seq: 4,
                ..Default::default()
            },
        );
        assert!(
            load_transition_input(&t, None).is_err_and(|e| e.to_string().contains("t-4-input"))
        );
        let garbled = ConfigMap {
            binary_data: Some([(INPUT_KEY.to_string(), ByteString(b"not gzip".to_vec()))].into()),
            ..Default::default()
        };
        assert!(
            load_transition_input(&t, Some(&garbled)).is_err_and(|e| e.to_string().contains("t-4"))
        );
    }
}
