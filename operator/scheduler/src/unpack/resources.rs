//! `<resources>` → the resource tree: primitives, groups, clones (expanded into
//! instances `id:N`), promotable clones, templates; meta attributes are inherited
//! from parents and `rsc_defaults`.

use super::{AttrSetKind, IdIndex, attr_sets, child, options::is_true, rule_eval::Ctx};
use crate::{
    model::{CloneCfg, Cluster, Kind, NoQuorumPolicy, OnFail, OpDef, Resource, Role},
    score::{self, INFINITY},
};
use roxmltree::Node as XNode;
use std::collections::BTreeMap;

/// Parse an interval ("10s", "2m", "1h", "PT10S", "5000ms", "10") into milliseconds.
pub fn parse_interval_ms(s: &str) -> Option<u64> {
    let t = s.trim();
    if t.is_empty() {
        return Some(0);
    }
    if let Some(iso) = t.strip_prefix("PT").or_else(|| t.strip_prefix("P")) {
        let mut total = 0u64;
        let mut num = String::new();
        for c in iso.chars() {
            if c.is_ascii_digit() {
                num.push(c);
            } else {
                let v: u64 = num.parse().ok()?;
                num.clear();
                total += v * match c {
                    'H' => 3_600_000,
                    'M' => 60_000,
                    'S' => 1000,
                    'D' => 86_400_000,
                    'T' => 0,
                    _ => return None,
                };
            }
        }
        return Some(total);
    }
    let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = t[digits.len()..].trim().to_ascii_lowercase();
    let v: u64 = digits.parse().ok()?;
    let mult = match unit.as_str() {
        "" | "s" | "sec" | "secs" => 1000,
        "ms" | "msec" => 1,
        "m" | "min" | "mins" => 60_000,
        "h" | "hr" | "hrs" => 3_600_000,
        "us" | "usec" => return Some(v / 1000),
        _ => return None,
    };
    Some(v * mult)
}

pub(super) struct Unpacker<'c, 'a, 'i> {
    pub(super) cl: &'c mut Cluster,
    pub(super) idx: &'c IdIndex<'a, 'i>,
    pub(super) ctx: &'c Ctx,
    node_count: usize,
    /// `<rsc_defaults>` and `<op_defaults>`: evaluated per resource (and operation), as
    /// their rules may test the agent (`rsc_expression`) and the operation
    /// (`op_expression`).
    rsc_defaults: Option<XNode<'a, 'i>>,
    op_defaults: Option<XNode<'a, 'i>>,
}

/// A primitive's agent, for `rsc_expression`.
type AgentOf<'s> = (&'s str, Option<&'s str>, &'s str);

pub fn unpack_resources<'a, 'i>(
    cl: &mut Cluster,
    cfg: XNode<'a, 'i>,
    idx: &IdIndex<'a, 'i>,
    ctx: &Ctx,
) {
    let Some(rs) = child(cfg, "resources") else {
        return;
    };
    // clone-max defaults to the number of nodes, remote and guest nodes included.
    let mut extra: Vec<String> = Vec::new();
    for n in rs.descendants().filter(|n| n.is_element() && n.tag_name().name() == "primitive") {
        let name = if n.attribute("class") == Some("ocf")
            && n.attribute("provider") == Some("pacemaker")
            && n.attribute("type") == Some("remote")
        {
            n.attribute("id").map(str::to_string)
        } else {
            guest_name(n, idx, ctx)
        };
        if let Some(name) = name
            && !cl.nodes.iter().any(|x| x.name == name)
            && !extra.contains(&name)
        {
            extra.push(name);
        }
    }
    let node_count = cl.nodes.len() + extra.len();
    let mut u = Unpacker {
        cl,
        idx,
        ctx,
        node_count,
        rsc_defaults: child(cfg, "rsc_defaults"),
        op_defaults: child(cfg, "op_defaults"),
    };
    // Meta attributes given to the top-level resources (each adds rsc_defaults itself).
    let defaults = BTreeMap::new();
    for e in rs.children().filter(|c| c.is_element()) {
        let tag = e.tag_name().name();
        match tag {
            "primitive" | "group" | "clone" | "master" => {
                if let Some(r) = u.element(e, None, &defaults, None) {
                    u.cl.top.push(r);
                }
            }
            "template" => {}
            "bundle" => super::bundle::expand(&mut u, e),
            other => u.cl.warnings.push(format!(
                "resource {:?}: <{other}> is not supported; ignored",
                e.attribute("id").unwrap_or("?")
            )),
        }
    }
    // A primitive with the `remote-node` meta attribute is the container of a guest
    // node: Pacemaker adds an implicit connection resource (ocf:pacemaker:remote, named
    // after the guest node) that runs with the container and starts after it.
    let containers: Vec<usize> = (0..u.cl.resources.len())
        .filter(|&r| {
            let res = &u.cl.resources[r];
            res.is_primitive() && res.instance.is_none() && res.meta.contains_key("remote-node")
        })
        .collect();
    for c in containers {
        let (name, cid, meta) = {
            let res = &u.cl.resources[c];
            (res.meta["remote-node"].clone(), res.id.clone(), res.meta.clone())
        };
        if u.cl.resources.iter().any(|r| r.id == name) {
            u.cl.warnings.push(format!(
                "guest node {name:?} of {cid:?}: a resource has that id; no connection added"
            ));
            continue;
        }
        let mon = meta
            .get("remote-connect-timeout")
            .cloned()
            .unwrap_or_else(|| "60s".into());
        // Parameters only for what is set (the recorded digests are of exactly these).
        let mut params = String::new();
        for (meta_name, param) in [("remote-addr", "addr"), ("remote-port", "port")] {
            if let Some(v) = meta.get(meta_name) {
                params.push_str(&format!(
                    "<nvpair id=\"{name}-{param}\" name=\"{param}\" value=\"{v}\"/>",
                    name = xml_escape(&name),
                    v = xml_escape(v)
                ));
            }
        }
        let xml = format!(
            "<primitive id=\"{name}\" class=\"ocf\" provider=\"pacemaker\" type=\"remote\">\
             <instance_attributes id=\"{name}-ia\">{params}</instance_attributes>\
             <operations><op id=\"{name}-monitor-interval-30s\" name=\"monitor\" interval=\"30s\" timeout=\"30s\"/>\
             <op id=\"{name}-start-interval-0\" name=\"start\" interval=\"0\" timeout=\"{mon}\"/></operations></primitive>",
            name = xml_escape(&name),
            mon = xml_escape(&mon),
        );
        let Ok(doc) = roxmltree::Document::parse(&xml) else {
            continue;
        };
        let mut inherited = BTreeMap::new();
        inherited.insert("container".into(), cid);
        if let Some(v) = meta.get("is-managed") {
            inherited.insert("is-managed".into(), v.clone());
        }
        // The connection migrates together with a migratable container only.
        inherited.insert(
            "allow-migrate".into(),
            meta.get("allow-migrate").cloned().unwrap_or_else(|| "false".into()),
        );
        if let Some(r) = u.element(doc.root_element(), None, &inherited, None) {
            u.cl.top.push(r);
            u.cl.guest_connections.push((r, c));
        }
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
}

fn meta_sets<'a, 'i>(d: XNode<'a, 'i>) -> impl Iterator<Item = XNode<'a, 'i>> {
    d.children()
        .filter(|c| c.is_element() && c.tag_name().name() == AttrSetKind::Meta.tag())
}

/// The guest node a primitive's `remote-node` meta attribute names, if any.
fn guest_name(n: XNode, idx: &IdIndex, ctx: &Ctx) -> Option<String> {
    attr_sets(n, AttrSetKind::Meta, idx, ctx, None).remove("remote-node")
}

impl Unpacker<'_, '_, '_> {
    pub(super) fn element(
        &mut self,
        e: XNode,
        parent: Option<usize>,
        inherited: &BTreeMap<String, String>,
        instance: Option<usize>,
    ) -> Option<usize> {
        let id = e.attribute("id")?.to_string();
        let tag = e.tag_name().name();
        // What is set on the resource, its template and its parents; children inherit
        // this, and each adds the rsc_defaults that apply to itself.
        let mut explicit = inherited.clone();
        let template = e.attribute("template").and_then(|t| self.idx.get(t));
        if let Some(t) = template {
            for (k, v) in attr_sets(t, AttrSetKind::Meta, self.idx, self.ctx, None) {
                explicit.insert(k, v);
            }
        }
        for (k, v) in attr_sets(e, AttrSetKind::Meta, self.idx, self.ctx, None) {
            explicit.insert(k, v);
        }
        let src = |a: &str| {
            e.attribute(a)
                .or_else(|| template.and_then(|t| t.attribute(a)))
                .map(|s| s.to_string())
        };
        let agent = (tag == "primitive").then(|| {
            (
                src("class").unwrap_or_else(|| "ocf".into()),
                src("provider"),
                src("type").unwrap_or_default(),
            )
        });
        let mut meta = self.rsc_defaults_for(
            agent
                .as_ref()
                .map(|(c, p, t)| (c.as_str(), p.as_deref(), t.as_str())),
        );
        meta.extend(explicit.iter().map(|(k, v)| (k.clone(), v.clone())));
        let shown = match instance {
            Some(i) => format!("{id}:{i}"),
            None => id.clone(),
        };
        match tag {
            "primitive" => {
                let (class, provider, agent) = agent.unwrap_or_default();
                let spec = (class.as_str(), provider.as_deref(), agent.as_str());
                let mut params = BTreeMap::new();
                if let Some(t) = template {
                    params = attr_sets(t, AttrSetKind::Instance, self.idx, self.ctx, None);
                }
                for (k, v) in attr_sets(e, AttrSetKind::Instance, self.idx, self.ctx, None) {
                    params.insert(k, v);
                }
                // Instance attributes set on an enclosing group or clone are inherited
                // (the primitive's own, and the nearer parent's, win).
                let parents = e
                    .ancestors()
                    .skip(1)
                    .take_while(|a| matches!(a.tag_name().name(), "group" | "clone" | "master"));
                for a in parents {
                    for (k, v) in attr_sets(a, AttrSetKind::Instance, self.idx, self.ctx, None) {
                        params.entry(k).or_insert(v);
                    }
                }
                let mut ops = Vec::new();
                if let Some(t) = template {
                    self.ops(t, spec, &mut ops);
                }
                self.ops(e, spec, &mut ops);
                let mut utilization: BTreeMap<String, i64> = BTreeMap::new();
                for src in template.into_iter().chain(std::iter::once(e)) {
                    for (k, v) in attr_sets(src, AttrSetKind::Utilization, self.idx, self.ctx, None)
                    {
                        if let Ok(v) = v.parse() {
                            utilization.insert(k, v);
                        }
                    }
                }
                // Remote connections migrate unless told otherwise.
                let remote_conn = spec == ("ocf", Some("pacemaker"), "remote");
                let kind = Kind::Primitive {
                    class,
                    provider,
                    agent,
                };
                let explicit_migrate = meta.contains_key("allow-migrate");
                let r = self.new_resource(shown, id, kind, parent, meta, instance);
                let res = &mut self.cl.resources[r];
                if remote_conn && !explicit_migrate {
                    res.allow_migrate = true;
                }
                res.ops = ops;
                res.params = params;
                res.utilization = utilization;
                if res.is_stonith() {
                    res.requires_fencing = false;
                }
                Some(r)
            }
            "group" => {
                let r = self.new_resource(shown, id, Kind::Group, parent, meta.clone(), instance);
                // Children inherit the group's meta attributes, not its own id-specific ones.
                for c in e
                    .children()
                    .filter(|c| c.is_element() && c.tag_name().name() == "primitive")
                {
                    if let Some(ch) = self.element(c, Some(r), &explicit, instance) {
                        self.cl.resources[r].children.push(ch);
                    }
                }
                Some(r)
            }
            "clone" | "master" => {
                let g = |k: &str| meta.get(k).map(|s| s.as_str());
                let num = |v: Option<&str>, d: usize| {
                    v.and_then(|s| s.trim().parse::<i64>().ok())
                        .map(|x| x.max(0) as usize)
                        .unwrap_or(d)
                };
                let promotable = tag == "master" || g("promotable").is_some_and(is_true);
                let cfg = CloneCfg {
                    max: num(g("clone-max"), self.node_count),
                    node_max: num(g("clone-node-max"), 1),
                    promotable,
                    promoted_max: num(g("promoted-max").or(g("master-max")), 1),
                    promoted_node_max: num(g("promoted-node-max").or(g("master-node-max")), 1),
                    interleave: g("interleave").is_some_and(is_true),
                    ordered: g("ordered").is_some_and(is_true),
                    unique: g("globally-unique").is_some_and(is_true),
                    notify: g("notify").is_some_and(is_true),
                };
                let max = cfg.max;
                let r = self.new_resource(shown, id, Kind::Clone, parent, meta.clone(), instance);
                self.cl.resources[r].clone = Some(cfg);
                let Some(tmpl) = e.children().find(|c| {
                    c.is_element() && matches!(c.tag_name().name(), "primitive" | "group")
                }) else {
                    self.cl.warnings.push(format!(
                        "clone {:?} has no primitive or group; ignored",
                        self.cl.resources[r].id
                    ));
                    return Some(r);
                };
                // Only OCF agents (and fencing devices) can run distinct instances: a
                // clone of anything else is anonymous whatever globally-unique says.
                let unique_capable = tmpl
                    .descendants()
                    .filter(|c| c.is_element() && c.tag_name().name() == "primitive")
                    .all(|p| {
                        let class = p.attribute("class").or_else(|| {
                            let t = p.attribute("template").and_then(|t| self.idx.get(t));
                            t.and_then(|t| t.attribute("class"))
                        });
                        matches!(class, Some("ocf" | "stonith"))
                    });
                if !unique_capable && let Some(c) = self.cl.resources[r].clone.as_mut() {
                    c.unique = false;
                }
                // Clone-level meta is inherited by instances, except the clone's own knobs.
                let mut child_meta = explicit.clone();
                for k in [
                    "clone-max",
                    "clone-node-max",
                    "promotable",
                    "promoted-max",
                    "master-max",
                    "promoted-node-max",
                    "master-node-max",
                    "globally-unique",
                ] {
                    child_meta.remove(k);
                }
                for i in 0..max {
                    if let Some(ch) = self.element(tmpl, Some(r), &child_meta, Some(i)) {
                        self.cl.resources[r].children.push(ch);
                    }
                }
                Some(r)
            }
            _ => None,
        }
    }

    /// rsc_defaults as they apply to a resource (`agent` None: not a primitive).
    pub(super) fn rsc_defaults_for(&self, agent: Option<AgentOf>) -> BTreeMap<String, String> {
        let Some(d) = self.rsc_defaults else {
            return BTreeMap::new();
        };
        let mut rc = self.ctx.rule_context();
        if let Some((class, provider, agent)) = agent {
            rc = rc.with_rsc(class, provider, agent);
        }
        crate::rules::select_nvpairs(meta_sets(d), &rc, None).into_map()
    }

    /// op_defaults as they apply to operation `name`/`interval_ms` of a resource.
    fn op_defaults_for(&self, agent: AgentOf, name: &str, interval_ms: u64) -> BTreeMap<String, String> {
        let Some(d) = self.op_defaults else {
            return BTreeMap::new();
        };
        let (class, provider, agent) = agent;
        let rc = self
            .ctx
            .rule_context()
            .with_rsc(class, provider, agent)
            .with_op(name, interval_ms);
        crate::rules::select_nvpairs(meta_sets(d), &rc, None).into_map()
    }

    fn ops(&mut self, e: XNode, agent: AgentOf, ops: &mut Vec<OpDef>) {
        let Some(list) = child(e, "operations") else {
            return;
        };
        let list = self.idx.resolve(list);
        for op in list
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "op")
        {
            let op = self.idx.resolve(op);
            let name = op.attribute("name").unwrap_or_default().to_string();
            let interval = op.attribute("interval").unwrap_or("0");
            let Some(interval_ms) = parse_interval_ms(interval) else {
                self.cl.warnings.push(format!(
                    "op {:?}: interval {interval:?} is not a duration; ignored",
                    op.attribute("id").unwrap_or("?")
                ));
                continue;
            };
            let mut meta = self.op_defaults_for(agent, &name, interval_ms);
            meta.extend(attr_sets(op, AttrSetKind::Meta, self.idx, self.ctx, None));
            for a in op.attributes() {
                meta.insert(a.name().to_string(), a.value().to_string());
            }
            let on_fail = meta.get("on-fail").and_then(|v| parse_on_fail(v));
            ops.retain(|o: &OpDef| !(o.name == name && o.interval_ms == interval_ms));
            ops.push(OpDef {
                name,
                interval_ms,
                role: meta.get("role").and_then(|r| Role::parse(r)),
                on_fail,
                enabled: meta.get("enabled").is_none_or(|v| is_true(v)),
            });
        }
    }

    pub(super) fn new_resource(
        &mut self,
        id: String,
        config_id: String,
        kind: Kind,
        parent: Option<usize>,
        meta: BTreeMap<String, String>,
        instance: Option<usize>,
    ) -> usize {
        let g = |k: &str| meta.get(k).map(|s| s.as_str());
        let in_clone = instance.is_some();
        let stickiness = g("resource-stickiness")
            .or(g("default-resource-stickiness"))
            .and_then(score::parse)
            .unwrap_or(if in_clone && kind != Kind::Clone {
                1
            } else {
                self.cl.options.default_stickiness
            });
        // Fence devices need quorum; without fencing, no-quorum-policy=ignore means
        // other resources need nothing.
        let stonith_class = matches!(&kind, Kind::Primitive { class, .. } if class == "stonith");
        let requires = g("requires").unwrap_or(if self.cl.options.stonith_enabled {
            "fencing"
        } else if !stonith_class && self.cl.options.no_quorum_policy == NoQuorumPolicy::Ignore {
            "nothing"
        } else {
            "quorum"
        });
        let res = Resource {
            id,
            config_id,
            kind,
            parent,
            children: Vec::new(),
            priority: g("priority").and_then(score::parse).unwrap_or(0),
            stickiness,
            migration_threshold: g("migration-threshold")
                .and_then(score::parse)
                .map(|v| if v <= 0 { INFINITY } else { v })
                .unwrap_or(INFINITY),
            failure_timeout_s: g("failure-timeout")
                .and_then(parse_interval_ms)
                .map(|v| (v / 1000) as i64)
                .unwrap_or(0),
            managed: g("is-managed").is_none_or(is_true) && !g("maintenance").is_some_and(is_true),
            target_role: g("target-role").and_then(Role::parse),
            allow_migrate: g("allow-migrate").is_some_and(is_true),
            requires_fencing: requires == "fencing" || requires == "unfencing",
            requires_quorum: requires != "nothing",
            ops: Vec::new(),
            clone: None,
            instance,
            status: Vec::new(),
            orphan: false,
            definition_changed: Vec::new(),
            known_on: Vec::new(),
            history_id: None,
            utilization: BTreeMap::new(),
            blocked: false,
            meta,
            params: BTreeMap::new(),
        };
        self.cl.resources.push(res);
        self.cl.resources.len() - 1
    }
}

pub fn parse_on_fail(v: &str) -> Option<OnFail> {
    Some(match v {
        "ignore" => OnFail::Ignore,
        "block" => OnFail::Block,
        "stop" => OnFail::Stop,
        "restart" => OnFail::Restart,
        "fence" => OnFail::Fence,
        "standby" => OnFail::Standby,
        "demote" => OnFail::Demote,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval_ms("10s"), Some(10_000));
        assert_eq!(parse_interval_ms("10"), Some(10_000));
        assert_eq!(parse_interval_ms("2m"), Some(120_000));
        assert_eq!(parse_interval_ms("PT1M30S"), Some(90_000));
        assert_eq!(parse_interval_ms("abc"), None);
    }
}
