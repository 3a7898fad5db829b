//! Typed objects in, CIB XML out (what crm_simulate / crm_verify / pacer's scheduler read).
//!
//! Containers are nested back (a Group's members, a Clone's resource, a Bundle's
//! primitive); objects keep their input order within each CIB section; ids left out of a
//! manifest are derived the way pcs/crmsh name them. Secret-backed parameters are resolved
//! from Secrets given in the same input.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use kube::ResourceExt;
use pacer_crds::*;

use super::{
    Error, Object,
    sets::{join_sets, nvpair_id},
    xml::El,
};

type R<T> = Result<T, Error>;

/// Renders objects as one CIB document.
pub fn export_cib(objects: &[Object]) -> R<String> {
    Ok(CibTemplate::new(objects)?.write(&[], &[]))
}

/// A CIB rendered once and written again with other `<cib>` attribute values and other
/// node states: the DC renders its configuration once per configuration change, not on
/// every status change (at 500 resources that is most of a snapshot's time).
#[derive(Debug, Clone)]
pub struct CibTemplate {
    root: El,
    /// `<configuration>`, rendered at its depth.
    configuration: String,
    /// `<node_state>`s of NodeState objects among the objects, rendered.
    node_states: String,
    /// `<tickets>`, rendered, or empty.
    tickets: String,
}

impl CibTemplate {
    pub fn new<'a>(objects: impl IntoIterator<Item = &'a Object>) -> R<Self> {
        let cib = Exporter::new(objects)?.cib()?;
        let mut root = El::new("cib");
        root.attrs = cib.attrs;
        let mut t = CibTemplate {
            root,
            configuration: String::new(),
            node_states: String::new(),
            tickets: String::new(),
        };
        for c in cib.children {
            if c.name == "status" {
                for s in c.children {
                    let out = if s.name == "tickets" {
                        &mut t.tickets
                    } else {
                        &mut t.node_states
                    };
                    s.write(out, 2);
                }
            } else {
                c.write(&mut t.configuration, 1);
            }
        }
        Ok(t)
    }

    /// The CIB with `attrs` replacing the values of those `<cib>` attributes (appended
    /// when absent) and `node_states` (from [`node_state_xml`]) added to its status.
    pub fn write(&self, attrs: &[(&str, &str)], node_states: &[Arc<str>]) -> String {
        let mut root = self.root.clone();
        for (k, v) in attrs {
            match root.attrs.iter_mut().find(|(n, _)| n == k) {
                Some(a) => a.1 = v.to_string(),
                None => root.attrs.push((k.to_string(), v.to_string())),
            }
        }
        let size = node_states.iter().map(|n| n.len()).sum::<usize>();
        let mut out = String::with_capacity(self.configuration.len() + size + 4096);
        root.write_open(&mut out, 0);
        out.push_str(&self.configuration);
        if self.node_states.is_empty() && node_states.is_empty() && self.tickets.is_empty() {
            out.push_str("  <status/>\n");
        } else {
            out.push_str("  <status>\n");
            out.push_str(&self.node_states);
            for n in node_states {
                out.push_str(n);
            }
            out.push_str(&self.tickets);
            out.push_str("  </status>\n");
        }
        root.write_close(&mut out, 0);
        out
    }
}

/// One NodeState as its `<node_state>` element, indented for its place in a CIB.
pub fn node_state_xml(n: &NodeState) -> R<String> {
    let ex = Exporter::new([])?;
    let mut out = String::new();
    ex.node_state_el(n).write(&mut out, 2);
    Ok(out)
}

fn oerr(kind: &'static str, name: &str, message: impl Into<String>) -> Error {
    Error::Object {
        kind,
        name: name.to_string(),
        message: message.into(),
    }
}

struct Exporter<'a> {
    objects: Vec<&'a Object>,
    resources: HashMap<String, &'a Object>,
    contained: HashSet<String>,
    secrets: HashMap<String, BTreeMap<String, String>>,
}

/// The CIB id of an object: `spec.id`, else metadata.name.
fn cib_id(o: &Object) -> String {
    let id = match o {
        Object::Primitive(x) => x.spec.id.clone(),
        Object::ResourceTemplate(x) => x.spec.id.clone(),
        Object::Group(x) => x.spec.id.clone(),
        Object::Clone(x) => x.spec.id.clone(),
        Object::Bundle(x) => x.spec.id.clone(),
        Object::Location(x) => x.spec.id.clone(),
        Object::Colocation(x) => x.spec.id.clone(),
        Object::Order(x) => x.spec.id.clone(),
        Object::Ticket(x) => x.spec.id.clone(),
        Object::Tag(x) => x.spec.id.clone(),
        Object::Alert(x) => x.spec.id.clone(),
        Object::ClusterNode(x) => x.spec.id.clone(),
        Object::NodeState(x) => x.spec.id.clone(),
        Object::TicketState(x) => x.spec.id.clone(),
        _ => None,
    };
    id.unwrap_or_else(|| o.name())
}

/// The order of several ClusterProperties objects as cluster_property_sets: the one with
/// `spec.cib` first (it carries the <cib> attributes and the default set id), then by
/// name. The DC's snapshot puts its quorum verdict on the first by the same rule.
pub fn property_sets_order(p: &ClusterProperties) -> (bool, String) {
    (p.spec.cib.is_none(), p.name_any())
}

impl<'a> Exporter<'a> {
    fn new(objects: impl IntoIterator<Item = &'a Object>) -> R<Self> {
        let objects: Vec<&'a Object> = objects.into_iter().collect();
        let mut resources = HashMap::new();
        let mut contained = HashSet::new();
        let mut secrets = HashMap::new();
        for &o in &objects {
            match o {
                Object::Primitive(_)
                | Object::Group(_)
                | Object::Clone(_)
                | Object::Bundle(_)
                | Object::ResourceTemplate(_) => {
                    let id = cib_id(o);
                    if resources.insert(id.clone(), o).is_some() {
                        return Err(oerr(
                            o.kind(),
                            &o.name(),
                            format!("CIB id {id:?} is used by two resources"),
                        ));
                    }
                }
                Object::Secret(s) => {
                    let mut m = BTreeMap::new();
                    for (k, v) in s.data.iter().flatten() {
                        m.insert(k.clone(), String::from_utf8_lossy(&v.0).into_owned());
                    }
                    for (k, v) in s.string_data.iter().flatten() {
                        m.insert(k.clone(), v.clone());
                    }
                    secrets.insert(s.name_any(), m);
                }
                _ => {}
            }
            match o {
                Object::Group(g) => contained.extend(g.spec.members.iter().cloned()),
                Object::Clone(c) => {
                    contained.insert(c.spec.resource.clone());
                }
                Object::Bundle(b) => contained.extend(b.spec.primitive.iter().cloned()),
                _ => {}
            }
        }
        Ok(Exporter {
            objects,
            resources,
            contained,
            secrets,
        })
    }

    fn cib(&self) -> R<El> {
        // Several ClusterProperties objects (properties split over GitOps files) are
        // several cluster_property_sets, as in a CIB; only one may carry the <cib>
        // attributes. The one with them (else the first by name) keeps the default set id.
        let mut all: Vec<&ClusterProperties> = self
            .objects
            .iter()
            .filter_map(|o| match o {
                Object::ClusterProperties(p) => Some(p),
                _ => None,
            })
            .collect();
        all.sort_by_key(|p| property_sets_order(p));
        let with_cib: Vec<String> = all
            .iter()
            .filter(|p| p.spec.cib.is_some())
            .map(|p| p.name_any())
            .collect();
        if with_cib.len() > 1 {
            return Err(oerr(
                "ClusterProperties",
                &with_cib[1],
                format!(
                    "spec.cib is set in {}: only one ClusterProperties may carry the <cib> attributes; remove it from the others",
                    with_cib.join(", ")
                ),
            ));
        }
        let props = all.first().copied();
        let doc = props.and_then(|p| p.spec.cib.clone()).unwrap_or_default();
        let cib = El::new("cib")
            .o("crm_feature_set", doc.crm_feature_set)
            .a(
                "validate-with",
                doc.validate_with.unwrap_or_else(|| "pacemaker-3.7".into()),
            )
            .a("epoch", doc.epoch.unwrap_or_else(|| "1".into()))
            .a("num_updates", doc.num_updates.unwrap_or_else(|| "0".into()))
            .a("admin_epoch", doc.admin_epoch.unwrap_or_else(|| "0".into()))
            .o("have-quorum", doc.have_quorum)
            .o("dc-uuid", doc.dc_uuid)
            .o("execution-date", doc.execution_date)
            .o("cib-last-written", doc.cib_last_written)
            .o("update-origin", doc.update_origin)
            .o("update-client", doc.update_client)
            .o("update-user", doc.update_user)
            .o("remote-tls-port", doc.remote_tls_port)
            .o("remote-clear-port", doc.remote_clear_port)
            .o("no-quorum-panic", doc.no_quorum_panic);

        let mut crm_config = El::new("crm_config");
        for (i, p) in all.iter().enumerate() {
            let default_id = if i == 0 {
                "cib-bootstrap-options".to_string()
            } else {
                format!("{}-options", p.name_any())
            };
            crm_config.extend(
                join_sets(
                    p.spec.properties.as_ref(),
                    &p.spec.property_sets,
                    &default_id,
                )
                .iter()
                .map(|s| self.set_el("cluster_property_set", s, None))
                .collect::<R<Vec<_>>>()?,
            );
        }
        let mut nodes = El::new("nodes");
        let mut resources = El::new("resources");
        let mut constraints = El::new("constraints");
        let mut status = El::new("status");
        let mut tickets = El::new("tickets");
        let mut tags = El::new("tags");
        let mut alerts = El::new("alerts");
        let mut extra = Vec::new();
        for &o in &self.objects {
            match o {
                Object::ClusterNode(n) => nodes.push(self.node_el(n)?),
                Object::Primitive(_)
                | Object::Group(_)
                | Object::Clone(_)
                | Object::Bundle(_)
                | Object::ResourceTemplate(_) => {
                    if !self.contained.contains(&cib_id(o)) {
                        resources.push(self.resource_el(o, &mut Vec::new())?);
                    }
                }
                Object::Location(_)
                | Object::Colocation(_)
                | Object::Order(_)
                | Object::Ticket(_) => constraints.push(self.constraint_el(o)?),
                Object::NodeState(n) => status.push(self.node_state_el(n)),
                Object::TicketState(t) => tickets.push(
                    El::new("ticket_state")
                        .a("id", cib_id(o))
                        .o("granted", t.spec.granted.clone())
                        .o("standby", t.spec.standby.clone())
                        .o("last-granted", t.spec.last_granted.clone()),
                ),
                Object::Tag(t) => tags.push(El::new("tag").a("id", cib_id(o)).tap(|e| {
                    e.extend(
                        t.spec
                            .references
                            .iter()
                            .map(|r| El::new("obj_ref").a("id", r)),
                    )
                })),
                Object::Alert(a) => alerts.push(
                    El::new("alert")
                        .a("id", cib_id(o))
                        .a("path", a.spec.path.clone())
                        .o("description", a.spec.description.clone())
                        .tap(|e| {
                            e.extend(a.spec.recipients.iter().enumerate().map(|(i, r)| {
                                El::new("recipient")
                                    .a(
                                        "id",
                                        r.id.clone().unwrap_or_else(|| {
                                            format!("{}-recipient-{}", cib_id(o), i + 1)
                                        }),
                                    )
                                    .o("description", r.description.clone())
                                    .a("value", r.value.clone())
                            }))
                        }),
                ),
                Object::ResourceDefaults(d) => {
                    let mut e = El::new("rsc_defaults");
                    for s in join_sets(d.spec.meta.as_ref(), &d.spec.meta_sets, "rsc-options") {
                        e.push(self.set_el("meta_attributes", &s, None)?);
                    }
                    extra.push((0, e));
                }
                Object::OperationDefaults(d) => {
                    let mut e = El::new("op_defaults");
                    for s in join_sets(d.spec.meta.as_ref(), &d.spec.meta_sets, "op-options") {
                        e.push(self.set_el("meta_attributes", &s, None)?);
                    }
                    extra.push((1, e));
                }
                Object::FencingTopology(f) => {
                    let mut e = El::new("fencing-topology");
                    for (i, l) in f.spec.levels.iter().enumerate() {
                        e.push(
                            El::new("fencing-level")
                                .a(
                                    "id",
                                    l.id.clone().unwrap_or_else(|| format!("fencing-{}", i + 1)),
                                )
                                .o("target", l.target.clone())
                                .o("target-pattern", l.target_pattern.clone())
                                .o("target-attribute", l.target_attribute.clone())
                                .o("target-value", l.target_value.clone())
                                .a("index", l.index.to_string())
                                .a("devices", l.devices.join(",")),
                        );
                    }
                    extra.push((2, e));
                }
                Object::ClusterProperties(_) | Object::Secret(_) => {}
            }
        }
        let mut configuration = El::new("configuration")
            .child(crm_config)
            .child(nodes)
            .child(resources)
            .child(constraints);
        extra.sort_by_key(|(k, _)| *k);
        for (k, e) in extra {
            if configuration.children.iter().any(|c| c.name == e.name) {
                let what = ["ResourceDefaults", "OperationDefaults", "FencingTopology"][k];
                return Err(oerr(
                    what,
                    "",
                    "more than one object given; a cluster has exactly one",
                ));
            }
            configuration.push(e);
        }
        if !tags.children.is_empty() {
            configuration.push(tags);
        }
        if !alerts.children.is_empty() {
            configuration.push(alerts);
        }
        if !tickets.children.is_empty() {
            status.push(tickets);
        }
        Ok(cib.child(configuration).child(status))
    }

    // ---- sets and rules ---------------------------------------------------------------

    /// One attribute set; `owner` names the object for secret lookups and errors.
    fn set_el(&self, tag: &str, s: &AttributeSet, owner: Option<(&'static str, &str)>) -> R<El> {
        let mut e = El::new(tag)
            .o("id", s.id.clone())
            .o("id-ref", s.id_ref.clone())
            .o("score", s.score.as_ref().map(|x| x.0.clone()));
        if let Some(r) = &s.rule {
            let base = s.id.clone().or(s.id_ref.clone()).unwrap_or_default();
            e.push(rule_el(r, &format!("{base}-rule")));
        }
        for nv in &s.values {
            let id = match (&nv.id, &nv.id_ref, &s.id, &nv.name) {
                (Some(i), _, _, _) => Some(i.clone()),
                (None, None, Some(sid), Some(n)) => Some(nvpair_id(sid, n)),
                _ => None,
            };
            let value = match &nv.value_from {
                Some(vf) => Some(self.secret(
                    &vf.secret_key_ref,
                    owner,
                    nv.name.as_deref().unwrap_or(""),
                )?),
                None => nv.value.clone(),
            };
            e.push(
                El::new("nvpair")
                    .o("id", id)
                    .o("id-ref", nv.id_ref.clone())
                    .o("name", nv.name.clone())
                    .o("value", value),
            );
        }
        Ok(e)
    }

    fn secret(
        &self,
        r: &SecretKeyRef,
        owner: Option<(&'static str, &str)>,
        param: &str,
    ) -> R<String> {
        self.secrets.get(&r.name).and_then(|m| m.get(&r.key)).cloned().ok_or_else(|| {
            let (kind, name) = owner.unwrap_or(("Object", ""));
            oerr(
                kind,
                name,
                format!(
                    "parameter {param:?} reads Secret {:?} key {:?}, which is not in the input; include the Secret manifest",
                    r.name, r.key
                ),
            )
        })
    }

    fn sets(
        &self,
        tag: &str,
        map: Option<&Attributes>,
        sets: &[AttributeSet],
        default_id: &str,
        owner: Option<(&'static str, &str)>,
    ) -> R<Vec<El>> {
        join_sets(map, sets, default_id)
            .iter()
            .map(|s| self.set_el(tag, s, owner))
            .collect()
    }

    // ---- nodes ------------------------------------------------------------------------

    fn node_el(&self, n: &ClusterNode) -> R<El> {
        let name = n.name_any();
        let id = n.spec.id.clone().unwrap_or_else(|| name.clone());
        let uname = n.spec.uname.clone().unwrap_or_else(|| name.clone());
        let mut attrs = n.spec.attributes.clone();
        for (k, v) in [
            ("standby", n.spec.standby),
            ("maintenance", n.spec.maintenance),
        ] {
            if let Some(v) = v {
                attrs
                    .get_or_insert_with(Default::default)
                    .insert(k.into(), if v { "on" } else { "off" }.into());
            }
        }
        let owner = Some(("ClusterNode", name.as_str()));
        let mut e = El::new("node")
            .a("id", id.clone())
            .a("uname", uname)
            .o("type", n.spec.type_.clone())
            .o("description", n.spec.description.clone())
            .o("score", n.spec.score.as_ref().map(|s| s.0.clone()));
        e.extend(self.sets(
            "instance_attributes",
            attrs.as_ref(),
            &n.spec.attribute_sets,
            &format!("nodes-{id}"),
            owner,
        )?);
        e.extend(self.sets(
            "utilization",
            n.spec.utilization.as_ref(),
            &n.spec.utilization_sets,
            &format!("nodes-{id}-utilization"),
            owner,
        )?);
        Ok(e)
    }

    fn node_state_el(&self, n: &NodeState) -> El {
        let name = n.name_any();
        let s = &n.spec;
        let id = s.id.clone().unwrap_or_else(|| name.clone());
        let mut e = El::new("node_state")
            .a("id", id.clone())
            .o(
                "uname",
                match s.uname.as_deref() {
                    None => Some(name.clone()),
                    Some("") => None,
                    Some(u) => Some(u.to_string()),
                },
            )
            .o("ha", s.ha.clone())
            .o("in_ccm", s.in_ccm.clone())
            .o("crmd", s.crmd.clone())
            .o("join", s.join.clone())
            .o("expected", s.expected.clone())
            .o("crm-debug-origin", s.crm_debug_origin.clone())
            .o("shutdown", s.shutdown.clone())
            .o("clear_shutdown", s.clear_shutdown.clone())
            .o("remote_node", s.remote_node.clone())
            .o("node_fenced", s.node_fenced.clone())
            .o("node_in_maintenance", s.node_in_maintenance.clone());
        if let Some(t) = &s.transient_attributes {
            let tid = t.id.clone().unwrap_or_else(|| id.clone());
            let mut te = El::new("transient_attributes").a("id", tid);
            for set in join_sets(
                t.attributes.as_ref(),
                &t.attribute_sets,
                &format!("status-{id}"),
            ) {
                // Transient attributes never hold secrets.
                if let Ok(x) = self.set_el("instance_attributes", &set, None) {
                    te.push(x);
                }
            }
            e.push(te);
        }
        if let Some(l) = &s.lrm {
            let mut le = El::new("lrm").o("id", l.id.clone());
            if l.has_resources != Some(false) {
                let mut rs = El::new("lrm_resources").o("id", l.resources_id.clone());
                for r in &l.resources {
                    let mut re = El::new("lrm_resource")
                        .a("id", r.id.clone())
                        .o("class", r.class.clone())
                        .o("provider", r.provider.clone())
                        .o("type", r.type_.clone())
                        .o("container", r.container.clone())
                        .o("shutdown-lock", r.shutdown_lock.clone());
                    re.extend(r.operations.iter().map(lrm_op_el));
                    rs.push(re);
                }
                le.push(rs);
            }
            e.push(le);
        }
        e
    }

    // ---- resources --------------------------------------------------------------------

    fn resource_el(&self, o: &Object, path: &mut Vec<String>) -> R<El> {
        let id = cib_id(o);
        if path.contains(&id) {
            return Err(oerr(
                o.kind(),
                &o.name(),
                format!("resource {id:?} contains itself"),
            ));
        }
        path.push(id.clone());
        let child = |rid: &str, field: &str, path: &mut Vec<String>| -> R<El> {
            let c = self.resources.get(rid).ok_or_else(|| {
                oerr(
                    o.kind(),
                    &o.name(),
                    format!("{field} names {rid:?}, which is not a resource in the input"),
                )
            })?;
            self.resource_el(c, path)
        };
        let owner = Some((o.kind(), id.as_str()));
        let e = match o {
            Object::Primitive(p) => {
                let s = &p.spec;
                let mut e = El::new("primitive")
                    .a("id", id.clone())
                    .o("class", s.class.clone())
                    .o("provider", s.provider.clone())
                    .o("type", s.type_.clone())
                    .o("template", s.template.clone())
                    .o("description", s.description.clone());
                let mut params = self.sets(
                    "instance_attributes",
                    s.params.as_ref(),
                    &s.param_sets,
                    &format!("{id}-instance_attributes"),
                    owner,
                )?;
                if !s.params_from.is_empty() {
                    if params.is_empty() {
                        params.push(
                            El::new("instance_attributes")
                                .a("id", format!("{id}-instance_attributes")),
                        );
                    }
                    let set_id = params[0]
                        .attrs
                        .iter()
                        .find(|(k, _)| k == "id")
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default();
                    for pf in &s.params_from {
                        let v = self.secret(
                            &pf.secret_key_ref,
                            Some(("Primitive", &o.name())),
                            &pf.name,
                        )?;
                        params[0].push(
                            El::new("nvpair")
                                .a("id", nvpair_id(&set_id, &pf.name))
                                .a("name", pf.name.clone())
                                .a("value", v),
                        );
                    }
                }
                e.extend(params);
                e.extend(self.sets(
                    "meta_attributes",
                    s.meta.as_ref(),
                    &s.meta_sets,
                    &format!("{id}-meta_attributes"),
                    owner,
                )?);
                e.extend(self.sets(
                    "utilization",
                    s.utilization.as_ref(),
                    &s.utilization_sets,
                    &format!("{id}-utilization"),
                    owner,
                )?);
                if let Some(ops) = self.operations_el(
                    &id,
                    &s.operations,
                    &s.operations_id,
                    &s.operations_ref,
                    owner,
                )? {
                    e.push(ops);
                }
                e
            }
            Object::ResourceTemplate(t) => {
                let s = &t.spec;
                let mut e = El::new("template")
                    .a("id", id.clone())
                    .a("class", s.class.clone())
                    .o("provider", s.provider.clone())
                    .a("type", s.type_.clone())
                    .o("description", s.description.clone());
                e.extend(self.sets(
                    "instance_attributes",
                    s.params.as_ref(),
                    &s.param_sets,
                    &format!("{id}-instance_attributes"),
                    owner,
                )?);
                e.extend(self.sets(
                    "meta_attributes",
                    s.meta.as_ref(),
                    &s.meta_sets,
                    &format!("{id}-meta_attributes"),
                    owner,
                )?);
                e.extend(self.sets(
                    "utilization",
                    s.utilization.as_ref(),
                    &s.utilization_sets,
                    &format!("{id}-utilization"),
                    owner,
                )?);
                if let Some(ops) = self.operations_el(
                    &id,
                    &s.operations,
                    &s.operations_id,
                    &s.operations_ref,
                    owner,
                )? {
                    e.push(ops);
                }
                e
            }
            Object::Group(g) => {
                let s = &g.spec;
                let mut e = El::new("group")
                    .a("id", id.clone())
                    .o("description", s.description.clone());
                e.extend(self.sets(
                    "meta_attributes",
                    s.meta.as_ref(),
                    &s.meta_sets,
                    &format!("{id}-meta_attributes"),
                    owner,
                )?);
                e.extend(self.sets(
                    "instance_attributes",
                    s.params.as_ref(),
                    &s.param_sets,
                    &format!("{id}-instance_attributes"),
                    owner,
                )?);
                for m in &s.members {
                    let c = child(m, "spec.members", path)?;
                    if c.name != "primitive" {
                        return Err(oerr(
                            "Group",
                            &g.name_any(),
                            format!("member {m:?} is not a Primitive"),
                        ));
                    }
                    e.push(c);
                }
                e
            }
            Object::Clone(c) => {
                let s = &c.spec;
                let tag = if s.legacy_master == Some(true) {
                    "master"
                } else {
                    "clone"
                };
                let mut e = El::new(tag)
                    .a("id", id.clone())
                    .o("description", s.description.clone());
                let mut meta = s.meta.clone();
                let typed: [(&str, Option<String>); 9] = [
                    (
                        // <master> is promotable by its element name.
                        "promotable",
                        s.promotable
                            .filter(|_| s.legacy_master != Some(true))
                            .map(|b| b.to_string()),
                    ),
                    ("clone-max", s.clone_max.map(|v| v.to_string())),
                    ("clone-node-max", s.clone_node_max.map(|v| v.to_string())),
                    ("promoted-max", s.promoted_max.map(|v| v.to_string())),
                    (
                        "promoted-node-max",
                        s.promoted_node_max.map(|v| v.to_string()),
                    ),
                    ("interleave", s.interleave.map(|b| b.to_string())),
                    ("ordered", s.ordered.map(|b| b.to_string())),
                    ("globally-unique", s.globally_unique.map(|b| b.to_string())),
                    ("notify", s.notify.map(|b| b.to_string())),
                ];
                for (k, v) in typed {
                    if let Some(v) = v {
                        meta.get_or_insert_with(Default::default)
                            .insert(k.to_string(), v);
                    }
                }
                e.extend(self.sets(
                    "meta_attributes",
                    meta.as_ref(),
                    &s.meta_sets,
                    &format!("{id}-meta_attributes"),
                    owner,
                )?);
                e.extend(self.sets(
                    "instance_attributes",
                    s.params.as_ref(),
                    &s.param_sets,
                    &format!("{id}-instance_attributes"),
                    owner,
                )?);
                let inner = child(&s.resource, "spec.resource", path)?;
                if !matches!(inner.name.as_str(), "primitive" | "group") {
                    return Err(oerr(
                        "Clone",
                        &c.name_any(),
                        format!(
                            "spec.resource {:?} must be a Primitive or Group",
                            s.resource
                        ),
                    ));
                }
                e.push(inner);
                e
            }
            Object::Bundle(b) => {
                let s = &b.spec;
                let mut e = El::new("bundle")
                    .a("id", id.clone())
                    .o("description", s.description.clone());
                let c = &s.container;
                e.push(
                    El::new(&c.runtime)
                        .a("image", c.image.clone())
                        .o("replicas", c.replicas.clone())
                        .o("replicas-per-host", c.replicas_per_host.clone())
                        .o("promoted-max", c.promoted_max.clone())
                        .o("network", c.network.clone())
                        .o("options", c.options.clone())
                        .o("run-command", c.run_command.clone()),
                );
                if let Some(n) = &s.network {
                    let mut ne = El::new("network")
                        .o("ip-range-start", n.ip_range_start.clone())
                        .o("control-port", n.control_port.clone())
                        .o("host-interface", n.host_interface.clone())
                        .o("host-netmask", n.host_netmask.clone())
                        .o("add-host", n.add_host.clone());
                    ne.extend(n.port_mappings.iter().map(|p| {
                        El::new("port-mapping")
                            .a("id", p.id.clone())
                            .o("port", p.port.clone())
                            .o("internal-port", p.internal_port.clone())
                            .o("range", p.range.clone())
                    }));
                    e.push(ne);
                }
                if let Some(st) = &s.storage {
                    let mut se = El::new("storage");
                    se.extend(st.iter().map(|m| {
                        El::new("storage-mapping")
                            .a("id", m.id.clone())
                            .o("source-dir", m.source_dir.clone())
                            .o("source-dir-root", m.source_dir_root.clone())
                            .a("target-dir", m.target_dir.clone())
                            .o("options", m.options.clone())
                    }));
                    e.push(se);
                }
                if let Some(p) = &s.primitive {
                    e.push(child(p, "spec.primitive", path)?);
                }
                e.extend(self.sets(
                    "meta_attributes",
                    s.meta.as_ref(),
                    &s.meta_sets,
                    &format!("{id}-meta_attributes"),
                    owner,
                )?);
                e
            }
            _ => unreachable!("resource_el is only called for resource kinds"),
        };
        path.pop();
        Ok(e)
    }

    fn operations_el(
        &self,
        rsc: &str,
        ops: &[Operation],
        ops_id: &Option<String>,
        ops_ref: &Option<String>,
        owner: Option<(&'static str, &str)>,
    ) -> R<Option<El>> {
        if ops.is_empty() && ops_id.is_none() && ops_ref.is_none() {
            return Ok(None);
        }
        let mut e = El::new("operations")
            .o("id", ops_id.clone())
            .o("id-ref", ops_ref.clone());
        for op in ops {
            let id = op
                .id
                .clone()
                .unwrap_or_else(|| format!("{rsc}-{}-{}", op.name, op.interval.0));
            let mut oe = El::new("op")
                .a("id", id.clone())
                .a("name", op.name.clone())
                .a("interval", op.interval.0.clone())
                .o("timeout", op.timeout.as_ref().map(|x| x.0.clone()))
                .o("role", op.role.clone())
                .o("on-fail", op.on_fail.clone())
                .o("start-delay", op.start_delay.as_ref().map(|x| x.0.clone()))
                .o("interval-origin", op.interval_origin.clone())
                .o("record-pending", op.record_pending.map(|b| b.to_string()))
                .o("enabled", op.enabled.map(|b| b.to_string()))
                .o("description", op.description.clone());
            oe.extend(self.sets(
                "instance_attributes",
                op.params.as_ref(),
                &op.param_sets,
                &format!("{id}-instance_attributes"),
                owner,
            )?);
            oe.extend(self.sets(
                "meta_attributes",
                op.meta.as_ref(),
                &op.meta_sets,
                &format!("{id}-meta_attributes"),
                owner,
            )?);
            e.push(oe);
        }
        Ok(Some(e))
    }

    // ---- constraints ------------------------------------------------------------------

    fn constraint_el(&self, o: &Object) -> R<El> {
        let id = cib_id(o);
        let sc = |s: &Option<Score>| s.as_ref().map(|x| x.0.clone());
        let b = |v: Option<bool>| v.map(|x| x.to_string());
        Ok(match o {
            Object::Location(l) => {
                let s = &l.spec;
                let mut e = El::new("rsc_location")
                    .a("id", id.clone())
                    .o("rsc", s.resource.clone())
                    .o("rsc-pattern", s.resource_pattern.clone())
                    .o("role", s.role.clone())
                    .o("node", s.node.clone())
                    .o("score", sc(&s.score))
                    .o("resource-discovery", s.resource_discovery.clone());
                e.extend(sets_el(&id, &s.resource_sets));
                e.extend(
                    s.rules
                        .iter()
                        .enumerate()
                        .map(|(i, r)| rule_el(r, &numbered(&id, "rule", i))),
                );
                e
            }
            Object::Colocation(c) => {
                let s = &c.spec;
                let mut e = El::new("rsc_colocation")
                    .a("id", id.clone())
                    .o("rsc", s.resource.clone())
                    .o("with-rsc", s.with_resource.clone())
                    .o("rsc-role", s.resource_role.clone())
                    .o("with-rsc-role", s.with_resource_role.clone())
                    .o("rsc-instance", s.resource_instance.clone())
                    .o("with-rsc-instance", s.with_resource_instance.clone())
                    .o("score", sc(&s.score))
                    .o("influence", s.influence.clone())
                    .o("node-attribute", s.node_attribute.clone());
                e.extend(sets_el(&id, &s.resource_sets));
                e
            }
            Object::Order(r) => {
                let s = &r.spec;
                let mut e = El::new("rsc_order")
                    .a("id", id.clone())
                    .o("first", s.first.clone())
                    .o("first-action", s.first_action.clone())
                    .o("then", s.then.clone())
                    .o("then-action", s.then_action.clone())
                    .o("first-instance", s.first_instance.clone())
                    .o("then-instance", s.then_instance.clone())
                    .o("kind", s.kind.clone())
                    .o("score", sc(&s.score))
                    .o("symmetrical", b(s.symmetrical))
                    .o("require-all", b(s.require_all));
                e.extend(sets_el(&id, &s.resource_sets));
                e
            }
            Object::Ticket(t) => {
                let s = &t.spec;
                let mut e = El::new("rsc_ticket")
                    .a("id", id.clone())
                    .a("ticket", s.ticket.clone())
                    .o("rsc", s.resource.clone())
                    .o("rsc-role", s.resource_role.clone())
                    .o("loss-policy", s.loss_policy.clone());
                e.extend(sets_el(&id, &s.resource_sets));
                e
            }
            _ => unreachable!("constraint_el is only called for constraint kinds"),
        })
    }
}

/// `base-what` for the first, `base-what-N` after it (ids a person would pick).
fn numbered(base: &str, what: &str, i: usize) -> String {
    if i == 0 {
        format!("{base}-{what}")
    } else {
        format!("{base}-{what}-{i}")
    }
}

fn sets_el(owner: &str, sets: &[ResourceSet]) -> Vec<El> {
    sets.iter()
        .enumerate()
        .map(|(i, s)| resource_set_el(s, &numbered(owner, "set", i)))
        .collect()
}

fn resource_set_el(s: &ResourceSet, default_id: &str) -> El {
    let id = if s.id.is_none() && s.id_ref.is_none() {
        Some(default_id.to_string())
    } else {
        s.id.clone()
    };
    let mut e = El::new("resource_set")
        .o("id", id)
        .o("id-ref", s.id_ref.clone())
        .o("sequential", s.sequential.map(|b| b.to_string()))
        .o("require-all", s.require_all.map(|b| b.to_string()))
        .o("ordering", s.ordering.clone())
        .o("action", s.action.clone())
        .o("role", s.role.clone())
        .o("score", s.score.as_ref().map(|x| x.0.clone()))
        .o("kind", s.kind.clone());
    e.extend(
        s.resources
            .iter()
            .map(|r| El::new("resource_ref").a("id", r)),
    );
    e
}

fn rule_head(
    default_id: &str,
    id: &Option<String>,
    id_ref: &Option<String>,
    score: &Option<Score>,
    score_attribute: &Option<String>,
    boolean_op: &Option<String>,
    role: &Option<String>,
) -> El {
    let id = if id.is_none() && id_ref.is_none() {
        Some(default_id.to_string())
    } else {
        id.clone()
    };
    // The CIB schema wants a score on every rule; it means nothing in attribute sets.
    let score = match (score, score_attribute, id_ref) {
        (None, None, None) => Some("0".to_string()),
        _ => score.as_ref().map(|x| x.0.clone()),
    };
    El::new("rule")
        .o("id", id)
        .o("id-ref", id_ref.clone())
        .o("score", score)
        .o("score-attribute", score_attribute.clone())
        .o("boolean-op", boolean_op.clone())
        .o("role", role.clone())
}

fn rule_el(r: &Rule, default_id: &str) -> El {
    let mut e = rule_head(
        default_id,
        &r.id,
        &r.id_ref,
        &r.score,
        &r.score_attribute,
        &r.boolean_op,
        &r.role,
    );
    let rid = r.id.clone().unwrap_or_else(|| default_id.to_string());
    for (i, c) in r.expressions.iter().enumerate() {
        let eid = numbered(&rid, "expr", i);
        push_condition(
            &mut e,
            &eid,
            &c.attribute,
            &c.date,
            &c.resource,
            &c.operation,
        );
        if let Some(n) = &c.rule {
            let nid = numbered(&rid, "rule", i);
            let mut ne = rule_head(
                &nid,
                &n.id,
                &n.id_ref,
                &n.score,
                &n.score_attribute,
                &n.boolean_op,
                &n.role,
            );
            let nrid = n.id.clone().unwrap_or(nid);
            for (j, c) in n.expressions.iter().enumerate() {
                push_condition(
                    &mut ne,
                    &numbered(&nrid, "expr", j),
                    &c.attribute,
                    &c.date,
                    &c.resource,
                    &c.operation,
                );
            }
            e.push(ne);
        }
    }
    e
}

fn push_condition(
    e: &mut El,
    default_id: &str,
    attribute: &Option<Expression>,
    date: &Option<DateExpression>,
    resource: &Option<ResourceExpression>,
    operation: &Option<OperationExpression>,
) {
    let id = |x: &Option<String>| Some(x.clone().unwrap_or_else(|| default_id.to_string()));
    if let Some(x) = attribute {
        e.push(expression_el(x).with_id(id(&x.id)));
    }
    if let Some(x) = date {
        e.push(
            date_el(x, &x.id.clone().unwrap_or_else(|| default_id.to_string())).with_id(id(&x.id)),
        );
    }
    if let Some(x) = resource {
        e.push(rsc_expr_el(x).with_id(id(&x.id)));
    }
    if let Some(x) = operation {
        e.push(op_expr_el(x).with_id(id(&x.id)));
    }
}

fn expression_el(x: &Expression) -> El {
    El::new("expression")
        .o("id", x.id.clone())
        .a("attribute", x.attribute.clone())
        .a("operation", x.operation.clone())
        .o("value", x.value.clone())
        .o("type", x.type_.clone())
        .o("value-source", x.value_source.clone())
}

fn date_el(x: &DateExpression, did: &str) -> El {
    let mut e = El::new("date_expression")
        .o("id", x.id.clone())
        .a("operation", x.operation.clone())
        .o("start", x.start.clone())
        .o("end", x.end.clone());
    if let Some(d) = &x.date_spec {
        let id = d.id.clone().unwrap_or_else(|| format!("{did}-spec"));
        e.push(date_fields_el("date_spec", d).with_id(Some(id)));
    }
    if let Some(d) = &x.duration {
        let id = d.id.clone().unwrap_or_else(|| format!("{did}-duration"));
        e.push(date_fields_el("duration", d).with_id(Some(id)));
    }
    e
}

fn date_fields_el(tag: &str, d: &DateFields) -> El {
    El::new(tag)
        .o("id", d.id.clone())
        .o("years", d.years.clone())
        .o("months", d.months.clone())
        .o("weeks", d.weeks.clone())
        .o("days", d.days.clone())
        .o("monthdays", d.monthdays.clone())
        .o("weekdays", d.weekdays.clone())
        .o("yeardays", d.yeardays.clone())
        .o("weekyears", d.weekyears.clone())
        .o("hours", d.hours.clone())
        .o("minutes", d.minutes.clone())
        .o("seconds", d.seconds.clone())
        .o("moon", d.moon.clone())
}

fn rsc_expr_el(x: &ResourceExpression) -> El {
    El::new("rsc_expression")
        .o("id", x.id.clone())
        .o("class", x.class.clone())
        .o("provider", x.provider.clone())
        .o("type", x.type_.clone())
}

fn op_expr_el(x: &OperationExpression) -> El {
    El::new("op_expression")
        .o("id", x.id.clone())
        .a("name", x.name.clone())
        .o("interval", x.interval.as_ref().map(|i| i.0.clone()))
}

fn lrm_op_el(o: &LrmOperation) -> El {
    El::new("lrm_rsc_op")
        .a("id", o.id.clone())
        .o("operation_key", o.operation_key.clone())
        .a("operation", o.operation.clone())
        .o("crm-debug-origin", o.crm_debug_origin.clone())
        .o("crm_feature_set", o.crm_feature_set.clone())
        .o("transition-key", o.transition_key.clone())
        .o("transition-magic", o.transition_magic.clone())
        .o("exit-reason", o.exit_reason.clone())
        .o("on_node", o.on_node.clone())
        .o("call-id", o.call_id.clone())
        .o("rc-code", o.rc_code.clone())
        .o("op-status", o.op_status.clone())
        .o("interval", o.interval.clone())
        .o("last-run", o.last_run.clone())
        .o("last-rc-change", o.last_rc_change.clone())
        .o("exec-time", o.exec_time.clone())
        .o("queue-time", o.queue_time.clone())
        .o("op-digest", o.op_digest.clone())
        .o("op-force-restart", o.op_force_restart.clone())
        .o("op-restart-digest", o.op_restart_digest.clone())
        .o("op-secure-params", o.op_secure_params.clone())
        .o("op-secure-digest", o.op_secure_digest.clone())
        .o("migrate_source", o.migrate_source.clone())
        .o("migrate_target", o.migrate_target.clone())
        .o("migrate_from", o.migrate_from.clone())
        .o("last_run", o.legacy_last_run.clone())
        .o("last_rc_change", o.legacy_last_rc_change.clone())
        .o("exec_time", o.legacy_exec_time.clone())
        .o("queue_time", o.legacy_queue_time.clone())
}

impl El {
    /// Sets (or replaces) the `id` attribute, keeping it first.
    fn with_id(mut self, id: Option<String>) -> Self {
        self.attrs.retain(|(k, _)| k != "id");
        if let Some(id) = id {
            self.attrs.insert(0, ("id".to_string(), id));
        }
        self
    }
}

trait Tap: Sized {
    fn tap(self, f: impl FnOnce(&mut Self)) -> Self;
}
impl Tap for El {
    fn tap(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cib::manifest::parse_manifests;

    const TWO: &str = r#"
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: cluster}
spec: {properties: {stonith-enabled: "false"}}
---
apiVersion: ha.pacer.dev/v1alpha1
kind: ClusterProperties
metadata: {name: maintenance}
spec: {properties: {maintenance-mode: "true"}}
"#;

    #[test]
    fn several_cluster_properties_are_several_property_sets() {
        let xml = export_cib(&parse_manifests(TWO).unwrap()).unwrap();
        assert!(
            xml.contains(r#"<cluster_property_set id="cib-bootstrap-options">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<cluster_property_set id="maintenance-options">"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"name="maintenance-mode" value="true""#),
            "{xml}"
        );
        // Only one may carry the <cib> attributes.
        let both = TWO.replace("}}\n", "}, cib: {epoch: \"3\"}}\n");
        let err = export_cib(&parse_manifests(&both).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("only one ClusterProperties"), "{err}");
    }
}
