//! CIB XML in, typed objects out (configuration and status).
//!
//! Every element and attribute is either mapped to a field or refused with an error naming
//! the element and its line: nothing is dropped silently. Comments and whitespace are the
//! only things skipped. Passwords in agent parameters move into a Secret that the
//! parameter references, so no credential lands in a spec.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use pacer_crds::*;
use roxmltree::{Document, Node};

use super::{
    Error, Object,
    names::NameAllocator,
    sets::{nvpair_id, split_sets},
};

/// Parameter names treated as credentials: password, passwd, RI_PASSWORD, ...
pub(crate) fn is_secret_param(name: &str) -> bool {
    name.to_ascii_lowercase().contains("passw")
}

/// Parses a CIB and returns its objects in document order.
pub fn import_cib(xml: &str) -> Result<Vec<Object>, Error> {
    let doc = Document::parse(xml).map_err(|e| Error::Xml(e.to_string()))?;
    let mut im = Importer {
        doc: &doc,
        names: NameAllocator::default(),
        out: Vec::new(),
    };
    im.cib(doc.root_element())?;
    Ok(im.out)
}

struct Importer<'d, 'i> {
    doc: &'d Document<'i>,
    names: NameAllocator,
    out: Vec<Object>,
}

type R<T> = Result<T, Error>;

fn meta(name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        ..Default::default()
    }
}

fn s(n: Node, a: &str) -> Option<String> {
    n.attribute(a).map(str::to_string)
}

impl<'d, 'i> Importer<'d, 'i> {
    fn err(&self, n: Node, message: impl Into<String>) -> Error {
        let pos = self.doc.text_pos_at(n.range().start);
        Error::Unsupported {
            element: n.tag_name().name().to_string(),
            line: pos.row,
            message: message.into(),
        }
    }

    /// Refuses attributes outside `allowed`.
    fn attrs(&self, n: Node, allowed: &[&str]) -> R<()> {
        for a in n.attributes() {
            if !allowed.contains(&a.name()) || a.namespace().is_some() {
                return Err(self.err(
                    n,
                    format!(
                        "attribute {:?} is not supported by pacer's CIB model",
                        a.name()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Element children; text content is refused.
    fn kids(&self, n: Node<'d, 'i>) -> R<Vec<Node<'d, 'i>>> {
        let mut v = Vec::new();
        for c in n.children() {
            if c.is_element() {
                v.push(c);
            } else if c.is_text() && !c.text().unwrap_or("").trim().is_empty() {
                return Err(self.err(n, "text content is not supported"));
            }
        }
        Ok(v)
    }

    fn unexpected(&self, c: Node) -> Error {
        let parent = c
            .parent_element()
            .map(|p| p.tag_name().name())
            .unwrap_or("");
        self.err(c, format!("element not supported inside <{parent}>"))
    }

    fn req(&self, n: Node, a: &str) -> R<String> {
        s(n, a).ok_or_else(|| self.err(n, format!("attribute {a:?} is required")))
    }

    fn bool_attr(&self, n: Node, a: &str) -> R<Option<bool>> {
        match n.attribute(a) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(self.err(n, format!("{a}={v:?}: pacer needs true or false"))),
        }
    }

    fn score_attr(&self, n: Node, a: &str) -> R<Option<Score>> {
        let Some(v) = n.attribute(a) else {
            return Ok(None);
        };
        let sc = Score(v.to_string());
        if !sc.is_valid() {
            return Err(self.err(n, format!("{a}={v:?} is not a Pacemaker score")));
        }
        Ok(Some(sc))
    }

    fn interval_attr(&self, n: Node, a: &str) -> R<Option<Interval>> {
        let Some(v) = n.attribute(a) else {
            return Ok(None);
        };
        let iv = Interval(v.to_string());
        if !iv.is_valid() {
            return Err(self.err(n, format!("{a}={v:?} is not a Pacemaker interval")));
        }
        Ok(Some(iv))
    }

    // ---- document -------------------------------------------------------------------

    fn cib(&mut self, n: Node<'d, 'i>) -> R<()> {
        if n.tag_name().name() != "cib" {
            return Err(self.err(n, "the document element must be <cib>"));
        }
        self.attrs(
            n,
            &[
                "validate-with",
                "admin_epoch",
                "epoch",
                "num_updates",
                "crm_feature_set",
                "have-quorum",
                "dc-uuid",
                "execution-date",
                "cib-last-written",
                "update-origin",
                "update-client",
                "update-user",
                "remote-tls-port",
                "remote-clear-port",
                "no-quorum-panic",
            ],
        )?;
        let cib = CibDocument {
            validate_with: s(n, "validate-with"),
            admin_epoch: s(n, "admin_epoch"),
            epoch: s(n, "epoch"),
            num_updates: s(n, "num_updates"),
            crm_feature_set: s(n, "crm_feature_set"),
            have_quorum: s(n, "have-quorum"),
            dc_uuid: s(n, "dc-uuid"),
            execution_date: s(n, "execution-date"),
            cib_last_written: s(n, "cib-last-written"),
            update_origin: s(n, "update-origin"),
            update_client: s(n, "update-client"),
            update_user: s(n, "update-user"),
            remote_tls_port: s(n, "remote-tls-port"),
            remote_clear_port: s(n, "remote-clear-port"),
            no_quorum_panic: s(n, "no-quorum-panic"),
        };
        let mut props = ClusterPropertiesSpec {
            cib: Some(cib),
            ..Default::default()
        };
        let props_pos = self.out.len();
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "configuration" => self.configuration(c, &mut props)?,
                "status" => self.status(c)?,
                _ => return Err(self.unexpected(c)),
            }
        }
        let name = self.names.allocate("ClusterProperties", "cluster");
        self.out.insert(
            props_pos,
            Object::ClusterProperties(ClusterProperties {
                metadata: meta(name),
                spec: props,
                ..ClusterProperties::new("", Default::default())
            }),
        );
        Ok(())
    }

    fn configuration(&mut self, n: Node<'d, 'i>, props: &mut ClusterPropertiesSpec) -> R<()> {
        self.attrs(n, &[])?;
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "crm_config" => {
                    self.attrs(c, &[])?;
                    let mut sets = Vec::new();
                    for k in self.kids(c)? {
                        if k.tag_name().name() != "cluster_property_set" {
                            return Err(self.unexpected(k));
                        }
                        sets.push(self.set(k)?);
                    }
                    let (m, rest) = split_sets(sets, "cib-bootstrap-options");
                    props.properties = m;
                    props.property_sets = rest;
                }
                "nodes" => {
                    self.attrs(c, &[])?;
                    for k in self.kids(c)? {
                        if k.tag_name().name() != "node" {
                            return Err(self.unexpected(k));
                        }
                        self.node(k)?;
                    }
                }
                "resources" => {
                    self.attrs(c, &[])?;
                    for k in self.kids(c)? {
                        self.resource(k)?;
                    }
                }
                "constraints" => {
                    self.attrs(c, &[])?;
                    for k in self.kids(c)? {
                        self.constraint(k)?;
                    }
                }
                "rsc_defaults" | "op_defaults" => self.defaults(c)?,
                "fencing-topology" => self.fencing_topology(c)?,
                "tags" => {
                    self.attrs(c, &[])?;
                    for k in self.kids(c)? {
                        self.tag(k)?;
                    }
                }
                "alerts" => {
                    self.attrs(c, &[])?;
                    for k in self.kids(c)? {
                        self.alert(k)?;
                    }
                }
                "acls" => {
                    self.attrs(c, &[])?;
                    if let Some(k) = self.kids(c)?.first() {
                        return Err(self.err(
                            *k,
                            "CIB ACLs are not supported: use Kubernetes RBAC on the pacer kinds",
                        ));
                    }
                }
                _ => return Err(self.unexpected(c)),
            }
        }
        Ok(())
    }

    // ---- attribute sets and rules ---------------------------------------------------

    fn set(&self, n: Node) -> R<AttributeSet> {
        self.attrs(n, &["id", "id-ref", "score"])?;
        let id = s(n, "id");
        let mut set = AttributeSet {
            id: id.clone(),
            id_ref: s(n, "id-ref"),
            score: self.score_attr(n, "score")?,
            ..Default::default()
        };
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "nvpair" => {
                    self.attrs(c, &["id", "id-ref", "name", "value"])?;
                    let name = s(c, "name");
                    let mut nv_id = s(c, "id");
                    if let (Some(sid), Some(nm), Some(i)) = (&id, &name, &nv_id)
                        && *i == nvpair_id(sid, nm)
                    {
                        nv_id = None;
                    }
                    set.values.push(NvPair {
                        id: nv_id,
                        id_ref: s(c, "id-ref"),
                        name,
                        value: s(c, "value"),
                        value_from: None,
                    });
                }
                "rule" if set.rule.is_none() => set.rule = Some(self.rule(c, 0)?),
                _ => return Err(self.unexpected(c)),
            }
        }
        Ok(set)
    }

    /// Collects the attribute sets named `tag` among `n`'s children.
    fn sets_of(&self, n: Node, tag: &str) -> R<Vec<AttributeSet>> {
        let mut v = Vec::new();
        for c in self.kids(n)? {
            if c.tag_name().name() == tag {
                v.push(self.set(c)?);
            }
        }
        Ok(v)
    }

    fn rule(&self, n: Node, depth: usize) -> R<Rule> {
        self.attrs(
            n,
            &[
                "id",
                "id-ref",
                "score",
                "score-attribute",
                "boolean-op",
                "role",
            ],
        )?;
        let mut r = Rule {
            id: s(n, "id"),
            id_ref: s(n, "id-ref"),
            score: self.score_attr(n, "score")?,
            score_attribute: s(n, "score-attribute"),
            boolean_op: s(n, "boolean-op"),
            role: s(n, "role"),
            expressions: Vec::new(),
        };
        for c in self.kids(n)? {
            let mut cond = Condition::default();
            match c.tag_name().name() {
                "expression" => cond.attribute = Some(self.expression(c)?),
                "date_expression" => cond.date = Some(self.date_expression(c)?),
                "rsc_expression" => {
                    self.attrs(c, &["id", "class", "provider", "type"])?;
                    cond.resource = Some(ResourceExpression {
                        id: s(c, "id"),
                        class: s(c, "class"),
                        provider: s(c, "provider"),
                        type_: s(c, "type"),
                    });
                }
                "op_expression" => {
                    self.attrs(c, &["id", "name", "interval"])?;
                    cond.operation = Some(OperationExpression {
                        id: s(c, "id"),
                        name: self.req(c, "name")?,
                        interval: self.interval_attr(c, "interval")?,
                    });
                }
                "rule" if depth == 0 => {
                    let inner = self.rule(c, 1)?;
                    cond.rule = Some(NestedRule {
                        id: inner.id,
                        id_ref: inner.id_ref,
                        score: inner.score,
                        score_attribute: inner.score_attribute,
                        boolean_op: inner.boolean_op,
                        role: inner.role,
                        expressions: inner
                            .expressions
                            .into_iter()
                            .map(|e| NestedCondition {
                                attribute: e.attribute,
                                date: e.date,
                                resource: e.resource,
                                operation: e.operation,
                            })
                            .collect(),
                    });
                }
                "rule" => {
                    return Err(self.err(c, "rules nested more than two deep are not supported"));
                }
                _ => return Err(self.unexpected(c)),
            }
            r.expressions.push(cond);
        }
        Ok(r)
    }

    fn expression(&self, c: Node) -> R<Expression> {
        self.attrs(
            c,
            &[
                "id",
                "attribute",
                "operation",
                "value",
                "type",
                "value-source",
            ],
        )?;
        self.kids(c)?
            .first()
            .map_or(Ok(()), |k| Err(self.unexpected(*k)))?;
        Ok(Expression {
            id: s(c, "id"),
            attribute: self.req(c, "attribute")?,
            operation: self.req(c, "operation")?,
            value: s(c, "value"),
            type_: s(c, "type"),
            value_source: s(c, "value-source"),
        })
    }

    fn date_expression(&self, c: Node) -> R<DateExpression> {
        self.attrs(c, &["id", "operation", "start", "end"])?;
        let mut d = DateExpression {
            id: s(c, "id"),
            operation: self.req(c, "operation")?,
            start: s(c, "start"),
            end: s(c, "end"),
            ..Default::default()
        };
        for k in self.kids(c)? {
            let f = self.date_fields(k)?;
            match k.tag_name().name() {
                "date_spec" => d.date_spec = Some(f),
                "duration" => d.duration = Some(f),
                _ => return Err(self.unexpected(k)),
            }
        }
        Ok(d)
    }

    fn date_fields(&self, n: Node) -> R<DateFields> {
        self.attrs(
            n,
            &[
                "id",
                "years",
                "months",
                "weeks",
                "days",
                "monthdays",
                "weekdays",
                "yeardays",
                "weekyears",
                "hours",
                "minutes",
                "seconds",
                "moon",
            ],
        )?;
        Ok(DateFields {
            id: s(n, "id"),
            years: s(n, "years"),
            months: s(n, "months"),
            weeks: s(n, "weeks"),
            days: s(n, "days"),
            monthdays: s(n, "monthdays"),
            weekdays: s(n, "weekdays"),
            yeardays: s(n, "yeardays"),
            weekyears: s(n, "weekyears"),
            hours: s(n, "hours"),
            minutes: s(n, "minutes"),
            seconds: s(n, "seconds"),
            moon: s(n, "moon"),
        })
    }

    // ---- nodes ----------------------------------------------------------------------

    fn node(&mut self, n: Node) -> R<()> {
        self.attrs(n, &["id", "uname", "type", "description", "score"])?;
        let id = self.req(n, "id")?;
        let uname = s(n, "uname");
        let name = self
            .names
            .allocate("ClusterNode", uname.as_deref().unwrap_or(&id));
        for c in self.kids(n)? {
            if !matches!(c.tag_name().name(), "instance_attributes" | "utilization") {
                return Err(self.unexpected(c));
            }
        }
        let (mut attributes, attribute_sets) = split_sets(
            self.sets_of(n, "instance_attributes")?,
            &format!("nodes-{id}"),
        );
        let (utilization, utilization_sets) = split_sets(
            self.sets_of(n, "utilization")?,
            &format!("nodes-{id}-utilization"),
        );
        let mut onoff = |key: &str| -> Option<bool> {
            let m = attributes.as_mut()?;
            let v = match m.get(key)?.as_str() {
                "on" => true,
                "off" => false,
                _ => return None,
            };
            m.remove(key);
            Some(v)
        };
        let standby = onoff("standby");
        let maintenance = onoff("maintenance");
        // Export recreates the set from the typed fields, so an emptied map says nothing.
        if (standby.is_some() || maintenance.is_some())
            && attributes.as_ref().is_some_and(|m| m.is_empty())
        {
            attributes = None;
        }
        let spec = ClusterNodeSpec {
            id: (id != name).then_some(id),
            uname: uname.filter(|u| *u != name),
            type_: s(n, "type"),
            description: s(n, "description"),
            score: self.score_attr(n, "score")?,
            standby,
            maintenance,
            attributes,
            attribute_sets,
            utilization,
            utilization_sets,
        };
        self.out.push(Object::ClusterNode(ClusterNode {
            metadata: meta(name),
            ..ClusterNode::new("", spec)
        }));
        Ok(())
    }

    // ---- resources ------------------------------------------------------------------

    fn resource(&mut self, n: Node<'d, 'i>) -> R<String> {
        match n.tag_name().name() {
            "primitive" => self.primitive(n),
            "template" => self.template(n),
            "group" => self.group(n),
            "clone" | "master" => self.clone(n),
            "bundle" => self.bundle(n),
            _ => Err(self.unexpected(n)),
        }
    }

    fn id_and_name(&mut self, kind: &'static str, n: Node) -> R<(String, String, Option<String>)> {
        let id = self.req(n, "id")?;
        let name = self.names.allocate(kind, &id);
        let keep = (id != name).then(|| id.clone());
        Ok((id, name, keep))
    }

    fn operations(
        &self,
        rsc: &str,
        n: Node,
    ) -> R<(Vec<Operation>, Option<String>, Option<String>)> {
        let ops_nodes: Vec<_> = self
            .kids(n)?
            .into_iter()
            .filter(|c| c.tag_name().name() == "operations")
            .collect();
        if ops_nodes.len() > 1 {
            return Err(self.err(ops_nodes[1], "only one <operations> element is supported"));
        }
        let Some(ops) = ops_nodes.first() else {
            return Ok((Vec::new(), None, None));
        };
        self.attrs(*ops, &["id", "id-ref"])?;
        let mut v = Vec::new();
        for c in self.kids(*ops)? {
            if c.tag_name().name() != "op" {
                return Err(self.unexpected(c));
            }
            self.attrs(
                c,
                &[
                    "id",
                    "name",
                    "interval",
                    "timeout",
                    "role",
                    "on-fail",
                    "start-delay",
                    "interval-origin",
                    "record-pending",
                    "enabled",
                    "description",
                ],
            )?;
            for k in self.kids(c)? {
                if !matches!(
                    k.tag_name().name(),
                    "instance_attributes" | "meta_attributes"
                ) {
                    return Err(self.unexpected(k));
                }
            }
            let name = self.req(c, "name")?;
            let interval = self
                .interval_attr(c, "interval")?
                .ok_or_else(|| self.err(c, "attribute \"interval\" is required"))?;
            let id = self.req(c, "id")?;
            let default_id = format!("{rsc}-{name}-{}", interval.0);
            let (params, param_sets) = split_sets(
                self.sets_of(c, "instance_attributes")?,
                &format!("{id}-instance_attributes"),
            );
            let (meta, meta_sets) = split_sets(
                self.sets_of(c, "meta_attributes")?,
                &format!("{id}-meta_attributes"),
            );
            v.push(Operation {
                id: (id != default_id).then_some(id),
                name,
                interval,
                timeout: self.interval_attr(c, "timeout")?,
                role: s(c, "role"),
                on_fail: s(c, "on-fail"),
                start_delay: self.interval_attr(c, "start-delay")?,
                interval_origin: s(c, "interval-origin"),
                record_pending: self.bool_attr(c, "record-pending")?,
                enabled: self.bool_attr(c, "enabled")?,
                description: s(c, "description"),
                params,
                param_sets,
                meta,
                meta_sets,
            });
        }
        Ok((v, s(*ops, "id"), s(*ops, "id-ref")))
    }

    /// Moves credential parameters into a Secret named after the resource.
    fn secrets(
        &mut self,
        name: &str,
        params: &mut Option<Attributes>,
        param_sets: &mut [AttributeSet],
    ) -> Vec<ParamFromSecret> {
        let secret_name = format!("{name}-credentials");
        let mut data = BTreeMap::new();
        let mut from = Vec::new();
        if let Some(m) = params.as_mut() {
            let keys: Vec<String> = m.keys().filter(|k| is_secret_param(k)).cloned().collect();
            for k in keys {
                if let Some(v) = m.remove(&k) {
                    data.insert(k.clone(), v);
                    from.push(ParamFromSecret {
                        name: k.clone(),
                        secret_key_ref: SecretKeyRef {
                            name: secret_name.clone(),
                            key: k,
                        },
                    });
                }
            }
        }
        for set in param_sets.iter_mut() {
            for nv in &mut set.values {
                if nv.name.as_deref().is_some_and(is_secret_param) && nv.value.is_some() {
                    let mut key = nv.name.clone().unwrap_or_default();
                    let mut i = 2;
                    while data.contains_key(&key) {
                        key = format!("{}-{i}", nv.name.as_deref().unwrap_or(""));
                        i += 1;
                    }
                    data.insert(key.clone(), nv.value.take().unwrap_or_default());
                    nv.value_from = Some(ValueFrom {
                        secret_key_ref: SecretKeyRef {
                            name: secret_name.clone(),
                            key,
                        },
                    });
                }
            }
        }
        if !data.is_empty() {
            self.out.push(Object::Secret(Secret {
                metadata: meta(self.names.allocate("Secret", &secret_name)),
                string_data: Some(data),
                type_: Some("Opaque".to_string()),
                ..Default::default()
            }));
        }
        from
    }

    fn primitive(&mut self, n: Node<'d, 'i>) -> R<String> {
        self.attrs(
            n,
            &["id", "class", "provider", "type", "template", "description"],
        )?;
        let (id, name, keep) = self.id_and_name("Primitive", n)?;
        for c in self.kids(n)? {
            if !matches!(
                c.tag_name().name(),
                "instance_attributes" | "meta_attributes" | "utilization" | "operations"
            ) {
                return Err(self.unexpected(c));
            }
        }
        let (mut params, mut param_sets) = split_sets(
            self.sets_of(n, "instance_attributes")?,
            &format!("{id}-instance_attributes"),
        );
        let (meta_m, meta_sets) = split_sets(
            self.sets_of(n, "meta_attributes")?,
            &format!("{id}-meta_attributes"),
        );
        let (utilization, utilization_sets) = split_sets(
            self.sets_of(n, "utilization")?,
            &format!("{id}-utilization"),
        );
        let (operations, operations_id, operations_ref) = self.operations(&id, n)?;
        let pos = self.out.len();
        let params_from = self.secrets(&name, &mut params, &mut param_sets);
        let spec = PrimitiveSpec {
            id: keep,
            class: s(n, "class"),
            provider: s(n, "provider"),
            type_: s(n, "type"),
            template: s(n, "template"),
            description: s(n, "description"),
            params,
            param_sets,
            params_from,
            meta: meta_m,
            meta_sets,
            utilization,
            utilization_sets,
            operations,
            operations_id,
            operations_ref,
        };
        self.out.insert(
            pos,
            Object::Primitive(Primitive {
                metadata: meta(name),
                ..Primitive::new("", spec)
            }),
        );
        Ok(id)
    }

    fn template(&mut self, n: Node<'d, 'i>) -> R<String> {
        self.attrs(n, &["id", "class", "provider", "type", "description"])?;
        let (id, name, keep) = self.id_and_name("ResourceTemplate", n)?;
        for c in self.kids(n)? {
            if !matches!(
                c.tag_name().name(),
                "instance_attributes" | "meta_attributes" | "utilization" | "operations"
            ) {
                return Err(self.unexpected(c));
            }
        }
        let (params, param_sets) = split_sets(
            self.sets_of(n, "instance_attributes")?,
            &format!("{id}-instance_attributes"),
        );
        if params
            .as_ref()
            .is_some_and(|m| m.keys().any(|k| is_secret_param(k)))
        {
            return Err(self.err(
                n,
                "credentials in a template are not supported; put them on the primitives",
            ));
        }
        let (meta_m, meta_sets) = split_sets(
            self.sets_of(n, "meta_attributes")?,
            &format!("{id}-meta_attributes"),
        );
        let (utilization, utilization_sets) = split_sets(
            self.sets_of(n, "utilization")?,
            &format!("{id}-utilization"),
        );
        let (operations, operations_id, operations_ref) = self.operations(&id, n)?;
        let spec = ResourceTemplateSpec {
            id: keep,
            class: self.req(n, "class")?,
            provider: s(n, "provider"),
            type_: self.req(n, "type")?,
            description: s(n, "description"),
            params,
            param_sets,
            meta: meta_m,
            meta_sets,
            utilization,
            utilization_sets,
            operations,
            operations_id,
            operations_ref,
        };
        self.out.push(Object::ResourceTemplate(ResourceTemplate {
            metadata: meta(name),
            ..ResourceTemplate::new("", spec)
        }));
        Ok(id)
    }

    fn group(&mut self, n: Node<'d, 'i>) -> R<String> {
        self.attrs(n, &["id", "description"])?;
        let (id, name, keep) = self.id_and_name("Group", n)?;
        let pos = self.out.len();
        let mut members = Vec::new();
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "primitive" => members.push(self.primitive(c)?),
                "meta_attributes" | "instance_attributes" => {}
                _ => return Err(self.unexpected(c)),
            }
        }
        let (meta_m, meta_sets) = split_sets(
            self.sets_of(n, "meta_attributes")?,
            &format!("{id}-meta_attributes"),
        );
        let (params, param_sets) = split_sets(
            self.sets_of(n, "instance_attributes")?,
            &format!("{id}-instance_attributes"),
        );
        let spec = GroupSpec {
            id: keep,
            description: s(n, "description"),
            members,
            meta: meta_m,
            meta_sets,
            params,
            param_sets,
        };
        self.out.insert(
            pos,
            Object::Group(Group {
                metadata: meta(name),
                ..Group::new("", spec)
            }),
        );
        Ok(id)
    }

    fn clone(&mut self, n: Node<'d, 'i>) -> R<String> {
        self.attrs(n, &["id", "description"])?;
        let (id, name, keep) = self.id_and_name("Clone", n)?;
        let pos = self.out.len();
        let mut resource = None;
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "primitive" | "group" if resource.is_none() => resource = Some(self.resource(c)?),
                "meta_attributes" | "instance_attributes" => {}
                _ => return Err(self.unexpected(c)),
            }
        }
        let resource =
            resource.ok_or_else(|| self.err(n, "a clone needs a primitive or group inside"))?;
        let (mut meta_m, meta_sets) = split_sets(
            self.sets_of(n, "meta_attributes")?,
            &format!("{id}-meta_attributes"),
        );
        let (params, param_sets) = split_sets(
            self.sets_of(n, "instance_attributes")?,
            &format!("{id}-instance_attributes"),
        );
        let mut spec = CloneSpec {
            id: keep,
            description: s(n, "description"),
            resource,
            legacy_master: (n.tag_name().name() == "master").then_some(true),
            meta_sets,
            params,
            param_sets,
            ..Default::default()
        };
        if let Some(m) = meta_m.as_mut() {
            let mut int = |k: &str| -> Option<i64> {
                let v: i64 = m.get(k)?.parse().ok()?;
                (m.get(k)? == &v.to_string() && v >= 0).then(|| {
                    m.remove(k);
                    v
                })
            };
            spec.clone_max = int("clone-max");
            spec.clone_node_max = int("clone-node-max");
            spec.promoted_max = int("promoted-max");
            spec.promoted_node_max = int("promoted-node-max");
            let mut flag = |k: &str| -> Option<bool> {
                let v = match m.get(k)?.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return None,
                };
                m.remove(k);
                Some(v)
            };
            // A legacy <master> is promotable by its element name, not by meta.
            if spec.legacy_master.is_none() {
                spec.promotable = flag("promotable");
            }
            spec.interleave = flag("interleave");
            spec.ordered = flag("ordered");
            spec.globally_unique = flag("globally-unique");
            spec.notify = flag("notify");
        }
        let typed = [
            spec.promotable,
            spec.interleave,
            spec.ordered,
            spec.globally_unique,
            spec.notify,
        ]
        .iter()
        .any(Option::is_some)
            || [
                spec.clone_max,
                spec.clone_node_max,
                spec.promoted_max,
                spec.promoted_node_max,
            ]
            .iter()
            .any(Option::is_some);
        // Export recreates the set from the typed fields, so an emptied map says nothing.
        if typed && meta_m.as_ref().is_some_and(|m| m.is_empty()) {
            meta_m = None;
        }
        spec.meta = meta_m;
        if spec.legacy_master == Some(true) {
            spec.promotable = Some(true);
        }
        self.out.insert(
            pos,
            Object::Clone(Clone {
                metadata: meta(name),
                ..Clone::new("", spec)
            }),
        );
        Ok(id)
    }

    fn bundle(&mut self, n: Node<'d, 'i>) -> R<String> {
        self.attrs(n, &["id", "description"])?;
        let (id, name, keep) = self.id_and_name("Bundle", n)?;
        let pos = self.out.len();
        let mut container = None;
        let mut network = None;
        let mut storage = None;
        let mut primitive = None;
        for c in self.kids(n)? {
            match c.tag_name().name() {
                rt @ ("docker" | "podman" | "rkt") if container.is_none() => {
                    self.attrs(
                        c,
                        &[
                            "image",
                            "replicas",
                            "replicas-per-host",
                            "promoted-max",
                            "network",
                            "options",
                            "run-command",
                        ],
                    )?;
                    container = Some(BundleContainer {
                        runtime: rt.to_string(),
                        image: self.req(c, "image")?,
                        replicas: s(c, "replicas"),
                        replicas_per_host: s(c, "replicas-per-host"),
                        promoted_max: s(c, "promoted-max"),
                        network: s(c, "network"),
                        options: s(c, "options"),
                        run_command: s(c, "run-command"),
                    });
                }
                "network" if network.is_none() => {
                    self.attrs(
                        c,
                        &[
                            "ip-range-start",
                            "control-port",
                            "host-interface",
                            "host-netmask",
                            "add-host",
                        ],
                    )?;
                    let mut port_mappings = Vec::new();
                    for k in self.kids(c)? {
                        if k.tag_name().name() != "port-mapping" {
                            return Err(self.unexpected(k));
                        }
                        self.attrs(k, &["id", "port", "internal-port", "range"])?;
                        port_mappings.push(BundlePortMapping {
                            id: self.req(k, "id")?,
                            port: s(k, "port"),
                            internal_port: s(k, "internal-port"),
                            range: s(k, "range"),
                        });
                    }
                    network = Some(BundleNetwork {
                        ip_range_start: s(c, "ip-range-start"),
                        control_port: s(c, "control-port"),
                        host_interface: s(c, "host-interface"),
                        host_netmask: s(c, "host-netmask"),
                        add_host: s(c, "add-host"),
                        port_mappings,
                    });
                }
                "storage" if storage.is_none() => {
                    self.attrs(c, &[])?;
                    let mut v = Vec::new();
                    for k in self.kids(c)? {
                        if k.tag_name().name() != "storage-mapping" {
                            return Err(self.unexpected(k));
                        }
                        self.attrs(
                            k,
                            &[
                                "id",
                                "source-dir",
                                "source-dir-root",
                                "target-dir",
                                "options",
                            ],
                        )?;
                        v.push(BundleStorageMapping {
                            id: self.req(k, "id")?,
                            source_dir: s(k, "source-dir"),
                            source_dir_root: s(k, "source-dir-root"),
                            target_dir: self.req(k, "target-dir")?,
                            options: s(k, "options"),
                        });
                    }
                    storage = Some(v);
                }
                "primitive" if primitive.is_none() => primitive = Some(self.primitive(c)?),
                "meta_attributes" => {}
                _ => return Err(self.unexpected(c)),
            }
        }
        let container = container
            .ok_or_else(|| self.err(n, "a bundle needs a docker, podman or rkt element"))?;
        let (meta_m, meta_sets) = split_sets(
            self.sets_of(n, "meta_attributes")?,
            &format!("{id}-meta_attributes"),
        );
        let spec = BundleSpec {
            id: keep,
            description: s(n, "description"),
            container,
            network,
            storage,
            primitive,
            meta: meta_m,
            meta_sets,
        };
        self.out.insert(
            pos,
            Object::Bundle(Bundle {
                metadata: meta(name),
                ..Bundle::new("", spec)
            }),
        );
        Ok(id)
    }

    // ---- constraints ----------------------------------------------------------------

    fn resource_sets(&self, n: Node) -> R<Vec<ResourceSet>> {
        let mut v = Vec::new();
        for c in self.kids(n)? {
            if c.tag_name().name() != "resource_set" {
                continue;
            }
            self.attrs(
                c,
                &[
                    "id",
                    "id-ref",
                    "sequential",
                    "require-all",
                    "ordering",
                    "action",
                    "role",
                    "score",
                    "kind",
                ],
            )?;
            let mut resources = Vec::new();
            for k in self.kids(c)? {
                if k.tag_name().name() != "resource_ref" {
                    return Err(self.unexpected(k));
                }
                self.attrs(k, &["id"])?;
                resources.push(self.req(k, "id")?);
            }
            v.push(ResourceSet {
                id: s(c, "id"),
                id_ref: s(c, "id-ref"),
                sequential: self.bool_attr(c, "sequential")?,
                require_all: self.bool_attr(c, "require-all")?,
                ordering: s(c, "ordering"),
                action: s(c, "action"),
                role: s(c, "role"),
                score: self.score_attr(c, "score")?,
                kind: s(c, "kind"),
                resources,
            });
        }
        Ok(v)
    }

    fn only_children(&self, n: Node, allowed: &[&str]) -> R<()> {
        for c in self.kids(n)? {
            if !allowed.contains(&c.tag_name().name()) {
                return Err(self.unexpected(c));
            }
        }
        Ok(())
    }

    fn constraint(&mut self, n: Node) -> R<()> {
        match n.tag_name().name() {
            "rsc_location" => {
                self.attrs(
                    n,
                    &[
                        "id",
                        "rsc",
                        "rsc-pattern",
                        "role",
                        "node",
                        "score",
                        "resource-discovery",
                    ],
                )?;
                self.only_children(n, &["rule", "resource_set"])?;
                let (_, name, keep) = self.id_and_name("Location", n)?;
                let mut rules = Vec::new();
                for c in self.kids(n)? {
                    if c.tag_name().name() == "rule" {
                        rules.push(self.rule(c, 0)?);
                    }
                }
                let spec = LocationSpec {
                    id: keep,
                    resource: s(n, "rsc"),
                    resource_pattern: s(n, "rsc-pattern"),
                    role: s(n, "role"),
                    node: s(n, "node"),
                    score: self.score_attr(n, "score")?,
                    rules,
                    resource_discovery: s(n, "resource-discovery"),
                    resource_sets: self.resource_sets(n)?,
                };
                self.out.push(Object::Location(Location {
                    metadata: meta(name),
                    ..Location::new("", spec)
                }));
            }
            "rsc_colocation" => {
                self.attrs(
                    n,
                    &[
                        "id",
                        "rsc",
                        "with-rsc",
                        "rsc-role",
                        "with-rsc-role",
                        "rsc-instance",
                        "with-rsc-instance",
                        "score",
                        "influence",
                        "node-attribute",
                    ],
                )?;
                self.only_children(n, &["resource_set"])?;
                let (_, name, keep) = self.id_and_name("Colocation", n)?;
                let spec = ColocationSpec {
                    id: keep,
                    resource: s(n, "rsc"),
                    with_resource: s(n, "with-rsc"),
                    resource_role: s(n, "rsc-role"),
                    with_resource_role: s(n, "with-rsc-role"),
                    resource_instance: s(n, "rsc-instance"),
                    with_resource_instance: s(n, "with-rsc-instance"),
                    score: self.score_attr(n, "score")?,
                    influence: s(n, "influence"),
                    node_attribute: s(n, "node-attribute"),
                    resource_sets: self.resource_sets(n)?,
                };
                self.out.push(Object::Colocation(Colocation {
                    metadata: meta(name),
                    ..Colocation::new("", spec)
                }));
            }
            "rsc_order" => {
                self.attrs(
                    n,
                    &[
                        "id",
                        "first",
                        "then",
                        "first-action",
                        "then-action",
                        "first-instance",
                        "then-instance",
                        "kind",
                        "score",
                        "symmetrical",
                        "require-all",
                    ],
                )?;
                self.only_children(n, &["resource_set"])?;
                let (_, name, keep) = self.id_and_name("Order", n)?;
                let spec = OrderSpec {
                    id: keep,
                    first: s(n, "first"),
                    then: s(n, "then"),
                    first_action: s(n, "first-action"),
                    then_action: s(n, "then-action"),
                    first_instance: s(n, "first-instance"),
                    then_instance: s(n, "then-instance"),
                    kind: s(n, "kind"),
                    score: self.score_attr(n, "score")?,
                    symmetrical: self.bool_attr(n, "symmetrical")?,
                    require_all: self.bool_attr(n, "require-all")?,
                    resource_sets: self.resource_sets(n)?,
                };
                self.out.push(Object::Order(Order {
                    metadata: meta(name),
                    ..Order::new("", spec)
                }));
            }
            "rsc_ticket" => {
                self.attrs(n, &["id", "ticket", "rsc", "rsc-role", "loss-policy"])?;
                self.only_children(n, &["resource_set"])?;
                let (_, name, keep) = self.id_and_name("Ticket", n)?;
                let spec = TicketSpec {
                    id: keep,
                    ticket: self.req(n, "ticket")?,
                    resource: s(n, "rsc"),
                    resource_role: s(n, "rsc-role"),
                    loss_policy: s(n, "loss-policy"),
                    resource_sets: self.resource_sets(n)?,
                };
                self.out.push(Object::Ticket(Ticket {
                    metadata: meta(name),
                    ..Ticket::new("", spec)
                }));
            }
            _ => return Err(self.unexpected(n)),
        }
        Ok(())
    }

    // ---- other configuration sections ------------------------------------------------

    fn defaults(&mut self, n: Node) -> R<()> {
        self.attrs(n, &[])?;
        self.only_children(n, &["meta_attributes"])?;
        let sets = self.sets_of(n, "meta_attributes")?;
        if n.tag_name().name() == "rsc_defaults" {
            let (meta_m, meta_sets) = split_sets(sets, "rsc-options");
            let name = self.names.allocate("ResourceDefaults", "resource-defaults");
            let spec = ResourceDefaultsSpec {
                meta: meta_m,
                meta_sets,
            };
            self.out.push(Object::ResourceDefaults(ResourceDefaults {
                metadata: meta(name),
                ..ResourceDefaults::new("", spec)
            }));
        } else {
            let (meta_m, meta_sets) = split_sets(sets, "op-options");
            let name = self
                .names
                .allocate("OperationDefaults", "operation-defaults");
            let spec = OperationDefaultsSpec {
                meta: meta_m,
                meta_sets,
            };
            self.out.push(Object::OperationDefaults(OperationDefaults {
                metadata: meta(name),
                ..OperationDefaults::new("", spec)
            }));
        }
        Ok(())
    }

    fn fencing_topology(&mut self, n: Node) -> R<()> {
        self.attrs(n, &[])?;
        let mut levels = Vec::new();
        for c in self.kids(n)? {
            if c.tag_name().name() != "fencing-level" {
                return Err(self.unexpected(c));
            }
            self.attrs(
                c,
                &[
                    "id",
                    "index",
                    "target",
                    "target-pattern",
                    "target-attribute",
                    "target-value",
                    "devices",
                ],
            )?;
            let index = self.req(c, "index")?;
            let idx: i64 = index
                .parse()
                .ok()
                .filter(|i: &i64| i.to_string() == index)
                .ok_or_else(|| self.err(c, format!("index={index:?} is not an integer")))?;
            let devices = self.req(c, "devices")?;
            levels.push(FencingLevel {
                id: s(c, "id"),
                index: idx,
                target: s(c, "target"),
                target_pattern: s(c, "target-pattern"),
                target_attribute: s(c, "target-attribute"),
                target_value: s(c, "target-value"),
                devices: devices.split(',').map(str::to_string).collect(),
            });
        }
        let name = self.names.allocate("FencingTopology", "fencing-topology");
        self.out.push(Object::FencingTopology(FencingTopology {
            metadata: meta(name),
            ..FencingTopology::new("", FencingTopologySpec { levels })
        }));
        Ok(())
    }

    fn tag(&mut self, n: Node) -> R<()> {
        if n.tag_name().name() != "tag" {
            return Err(self.unexpected(n));
        }
        self.attrs(n, &["id"])?;
        let (_, name, keep) = self.id_and_name("Tag", n)?;
        let mut references = Vec::new();
        for c in self.kids(n)? {
            if c.tag_name().name() != "obj_ref" {
                return Err(self.unexpected(c));
            }
            self.attrs(c, &["id"])?;
            references.push(self.req(c, "id")?);
        }
        self.out.push(Object::Tag(Tag {
            metadata: meta(name),
            ..Tag::new(
                "",
                TagSpec {
                    id: keep,
                    references,
                },
            )
        }));
        Ok(())
    }

    fn alert(&mut self, n: Node) -> R<()> {
        if n.tag_name().name() != "alert" {
            return Err(self.unexpected(n));
        }
        self.attrs(n, &["id", "path", "description"])?;
        let (_, name, keep) = self.id_and_name("Alert", n)?;
        let mut recipients = Vec::new();
        for c in self.kids(n)? {
            if c.tag_name().name() != "recipient" {
                return Err(self.unexpected(c));
            }
            self.attrs(c, &["id", "value", "description"])?;
            self.only_children(c, &[])?;
            recipients.push(AlertRecipient {
                id: s(c, "id"),
                value: self.req(c, "value")?,
                description: s(c, "description"),
            });
        }
        let spec = AlertSpec {
            id: keep,
            path: self.req(n, "path")?,
            description: s(n, "description"),
            recipients,
        };
        self.out.push(Object::Alert(Alert {
            metadata: meta(name),
            ..Alert::new("", spec)
        }));
        Ok(())
    }

    // ---- status ---------------------------------------------------------------------

    fn status(&mut self, n: Node) -> R<()> {
        self.attrs(n, &[])?;
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "node_state" => self.node_state(c)?,
                "tickets" => {
                    self.attrs(c, &[])?;
                    for k in self.kids(c)? {
                        if k.tag_name().name() != "ticket_state" {
                            return Err(self.unexpected(k));
                        }
                        self.attrs(k, &["id", "granted", "standby", "last-granted"])?;
                        let (_, name, keep) = self.id_and_name("TicketState", k)?;
                        let spec = TicketStateSpec {
                            id: keep,
                            granted: s(k, "granted"),
                            standby: s(k, "standby"),
                            last_granted: s(k, "last-granted"),
                        };
                        self.out.push(Object::TicketState(TicketState {
                            metadata: meta(name),
                            ..TicketState::new("", spec)
                        }));
                    }
                }
                _ => return Err(self.unexpected(c)),
            }
        }
        Ok(())
    }

    fn node_state(&mut self, n: Node) -> R<()> {
        self.attrs(
            n,
            &[
                "id",
                "uname",
                "ha",
                "in_ccm",
                "crmd",
                "join",
                "expected",
                "crm-debug-origin",
                "shutdown",
                "clear_shutdown",
                "remote_node",
                "node_fenced",
                "node_in_maintenance",
            ],
        )?;
        let id = self.req(n, "id")?;
        let uname = s(n, "uname");
        let name = self
            .names
            .allocate("NodeState", uname.as_deref().unwrap_or(&id));
        let mut spec = NodeStateSpec {
            id: (id != name).then(|| id.clone()),
            uname: match uname {
                None => Some(String::new()),
                Some(u) => (u != name).then_some(u),
            },
            ha: s(n, "ha"),
            in_ccm: s(n, "in_ccm"),
            crmd: s(n, "crmd"),
            join: s(n, "join"),
            expected: s(n, "expected"),
            crm_debug_origin: s(n, "crm-debug-origin"),
            shutdown: s(n, "shutdown"),
            clear_shutdown: s(n, "clear_shutdown"),
            remote_node: s(n, "remote_node"),
            node_fenced: s(n, "node_fenced"),
            node_in_maintenance: s(n, "node_in_maintenance"),
            ..Default::default()
        };
        for c in self.kids(n)? {
            match c.tag_name().name() {
                "lrm" if spec.lrm.is_none() => spec.lrm = Some(self.lrm(c)?),
                "transient_attributes" if spec.transient_attributes.is_none() => {
                    self.attrs(c, &["id"])?;
                    self.only_children(c, &["instance_attributes"])?;
                    let (attributes, attribute_sets) = split_sets(
                        self.sets_of(c, "instance_attributes")?,
                        &format!("status-{id}"),
                    );
                    spec.transient_attributes = Some(TransientAttributes {
                        id: s(c, "id").filter(|t| *t != id),
                        attributes,
                        attribute_sets,
                    });
                }
                _ => return Err(self.unexpected(c)),
            }
        }
        self.out.push(Object::NodeState(NodeState {
            metadata: meta(name),
            ..NodeState::new("", spec)
        }));
        Ok(())
    }

    fn lrm(&self, n: Node) -> R<Lrm> {
        self.attrs(n, &["id"])?;
        let mut lrm = Lrm {
            id: s(n, "id"),
            ..Default::default()
        };
        let mut seen = false;
        for c in self.kids(n)? {
            if c.tag_name().name() != "lrm_resources" || seen {
                return Err(self.unexpected(c));
            }
            seen = true;
            self.attrs(c, &["id"])?;
            lrm.resources_id = s(c, "id");
            for r in self.kids(c)? {
                if r.tag_name().name() != "lrm_resource" {
                    return Err(self.unexpected(r));
                }
                self.attrs(
                    r,
                    &[
                        "id",
                        "class",
                        "provider",
                        "type",
                        "container",
                        "shutdown-lock",
                    ],
                )?;
                let mut res = LrmResource {
                    id: self.req(r, "id")?,
                    class: s(r, "class"),
                    provider: s(r, "provider"),
                    type_: s(r, "type"),
                    container: s(r, "container"),
                    shutdown_lock: s(r, "shutdown-lock"),
                    operations: Vec::new(),
                };
                for o in self.kids(r)? {
                    if o.tag_name().name() != "lrm_rsc_op" {
                        return Err(self.unexpected(o));
                    }
                    res.operations.push(self.lrm_op(o)?);
                }
                lrm.resources.push(res);
            }
        }
        if !seen {
            lrm.has_resources = Some(false);
        }
        Ok(lrm)
    }

    fn lrm_op(&self, o: Node) -> R<LrmOperation> {
        self.attrs(o, LRM_OP_ATTRS)?;
        self.only_children(o, &[])?;
        Ok(LrmOperation {
            id: self.req(o, "id")?,
            operation: self.req(o, "operation")?,
            operation_key: s(o, "operation_key"),
            interval: s(o, "interval"),
            call_id: s(o, "call-id"),
            rc_code: s(o, "rc-code"),
            op_status: s(o, "op-status"),
            exit_reason: s(o, "exit-reason"),
            last_run: s(o, "last-run"),
            last_rc_change: s(o, "last-rc-change"),
            exec_time: s(o, "exec-time"),
            queue_time: s(o, "queue-time"),
            transition_key: s(o, "transition-key"),
            transition_magic: s(o, "transition-magic"),
            op_digest: s(o, "op-digest"),
            op_force_restart: s(o, "op-force-restart"),
            op_restart_digest: s(o, "op-restart-digest"),
            op_secure_params: s(o, "op-secure-params"),
            op_secure_digest: s(o, "op-secure-digest"),
            crm_feature_set: s(o, "crm_feature_set"),
            crm_debug_origin: s(o, "crm-debug-origin"),
            on_node: s(o, "on_node"),
            migrate_source: s(o, "migrate_source"),
            migrate_target: s(o, "migrate_target"),
            migrate_from: s(o, "migrate_from"),
            legacy_last_run: s(o, "last_run"),
            legacy_last_rc_change: s(o, "last_rc_change"),
            legacy_exec_time: s(o, "exec_time"),
            legacy_queue_time: s(o, "queue_time"),
        })
    }
}

pub(crate) const LRM_OP_ATTRS: &[&str] = &[
    "id",
    "operation",
    "operation_key",
    "interval",
    "call-id",
    "rc-code",
    "op-status",
    "exit-reason",
    "last-run",
    "last-rc-change",
    "exec-time",
    "queue-time",
    "transition-key",
    "transition-magic",
    "op-digest",
    "op-force-restart",
    "op-restart-digest",
    "op-secure-params",
    "op-secure-digest",
    "crm_feature_set",
    "crm-debug-origin",
    "on_node",
    "migrate_source",
    "migrate_target",
    "migrate_from",
    "last_run",
    "last_rc_change",
    "exec_time",
    "queue_time",
];
