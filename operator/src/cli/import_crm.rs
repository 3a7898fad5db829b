//! `pacer import-crm FILE` — crm shell configuration syntax (what `crm configure show`
//! prints and the seed documents use) to pacer manifests.
//!
//! In: `node`, `primitive`, `group`, `clone`, `ms`, `location` (score or rules),
//! `colocation`, `order`, `property`, `rsc_defaults`, `op_defaults` statements
//! (continuation lines with `\`, `#` comments). Out: CIB XML with the ids crmsh would
//! give, which the CIB bridge ([`crate::cib::import::import_cib`]) turns into manifests —
//! so a crm configuration and its CIB become the same objects.

use std::collections::{BTreeMap, BTreeSet};

use crate::cib::{Object, import::import_cib};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("the generated CIB does not import: {0}")]
    Import(#[from] crate::cib::Error),
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Splits a statement into words; `"…"` quotes are removed (`k="a b"` is one word).
fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Statements with their first line number.
fn statements(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if buf.is_empty() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }
        if buf.is_empty() {
            start = i + 1;
        }
        if let Some(l) = line.strip_suffix('\\') {
            buf.push_str(l);
            buf.push(' ');
            continue;
        }
        buf.push_str(line);
        out.push((start, words(&buf)));
        buf.clear();
    }
    if !buf.is_empty() {
        out.push((start, words(&buf)));
    }
    out
}

fn score(s: &str) -> String {
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" | "mandatory" => "INFINITY".into(),
        "-inf" | "-infinity" => "-INFINITY".into(),
        "optional" => "0".into(),
        _ => s.to_string(),
    }
}

fn kv(w: &str) -> Option<(&str, &str)> {
    w.split_once('=')
}

fn nvpairs(set: &str, kind: &str, id: &str, pairs: &[(String, String)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let mut s = format!("<{set} id=\"{}\">", esc(id));
    for (k, v) in pairs {
        s.push_str(&format!(
            "<nvpair id=\"{}\" name=\"{}\" value=\"{}\"/>",
            esc(&format!("{id}-{k}")),
            esc(k),
            esc(v)
        ));
    }
    let _ = kind;
    s.push_str(&format!("</{set}>"));
    s
}

#[derive(Default)]
struct Rsc {
    xml_head: String,
    params: Vec<(String, String)>,
    meta: Vec<(String, String)>,
    ops: Vec<(String, Vec<(String, String)>)>,
    kind: &'static str,
    children: Vec<String>,
}

/// Parses the attributes after the head of primitive/group/clone/ms.
fn attrs(line: usize, ws: &[String], r: &mut Rsc, allow_children: bool) -> Result<(), Error> {
    let mut section = if allow_children { "children" } else { "params" };
    let mut i = 0;
    while i < ws.len() {
        let w = &ws[i];
        match w.as_str() {
            "params" => section = "params",
            "meta" => section = "meta",
            "utilization" => section = "skip",
            "op" => {
                let name = ws.get(i + 1).ok_or_else(|| Error::Syntax {
                    line,
                    message: "`op` without an operation name".into(),
                })?;
                r.ops.push((name.clone(), Vec::new()));
                section = "op";
                i += 1;
            }
            _ => match (section, kv(w)) {
                ("children", None) => r.children.push(w.clone()),
                ("params", Some((k, v))) => r.params.push((k.into(), v.into())),
                ("meta", Some((k, v))) => r.meta.push((k.into(), v.into())),
                ("op", Some((k, v))) => {
                    if let Some(op) = r.ops.last_mut() {
                        op.1.push((k.into(), v.into()));
                    }
                }
                ("skip", _) => {}
                (_, _) => {
                    return Err(Error::Syntax {
                        line,
                        message: format!(
                            "unexpected {w:?} (expected key=value, params, meta or op)"
                        ),
                    });
                }
            },
        }
        i += 1;
    }
    Ok(())
}

/// One rule expression list: `#uname eq n1 and defined pingd`, `date gt "2024-01-01"`.
fn rule_xml(line: usize, id: &str, head: &str, ws: &[String]) -> Result<String, Error> {
    let mut exprs = String::new();
    let mut op = "and";
    let mut i = 0;
    let mut n = 0;
    while i < ws.len() {
        let w = ws[i].as_str();
        if w == "and" || w == "or" {
            op = if w == "or" { "or" } else { "and" };
            i += 1;
            continue;
        }
        let eid = format!(
            "{id}-expression{}",
            if n == 0 {
                String::new()
            } else {
                format!("-{n}")
            }
        );
        n += 1;
        if w == "defined" || w == "not_defined" {
            let a = ws.get(i + 1).ok_or_else(|| Error::Syntax {
                line,
                message: format!("{w} needs an attribute"),
            })?;
            exprs.push_str(&format!(
                "<expression id=\"{}\" attribute=\"{}\" operation=\"{w}\"/>",
                esc(&eid),
                esc(a)
            ));
            i += 2;
        } else if w == "date" {
            let (o, v) = (ws.get(i + 1), ws.get(i + 2));
            let (Some(o), Some(v)) = (o, v) else {
                return Err(Error::Syntax {
                    line,
                    message: "date needs an operation and a date".into(),
                });
            };
            let attr = if o == "gt" { "start" } else { "end" };
            exprs.push_str(&format!(
                "<date_expression id=\"{}\" operation=\"{}\" {attr}=\"{}\"/>",
                esc(&eid),
                esc(o),
                esc(v)
            ));
            i += 3;
        } else {
            let (o, v) = (ws.get(i + 1), ws.get(i + 2));
            let (Some(o), Some(v)) = (o, v) else {
                return Err(Error::Syntax {
                    line,
                    message: format!("incomplete expression at {w:?}"),
                });
            };
            let (o, ty) = match o.split_once(':') {
                Some((t, o)) => (o.to_string(), Some(t.to_string())),
                None => (o.clone(), None),
            };
            let ty = ty
                .map(|t| format!(" type=\"{}\"", esc(&t)))
                .unwrap_or_default();
            exprs.push_str(&format!(
                "<expression id=\"{}\" attribute=\"{}\" operation=\"{}\" value=\"{}\"{ty}/>",
                esc(&eid),
                esc(w),
                esc(&o),
                esc(v)
            ));
            i += 3;
        }
    }
    Ok(format!(
        "<rule id=\"{}\" {head} boolean-op=\"{op}\">{exprs}</rule>",
        esc(id)
    ))
}

/// crm configure text to CIB XML (configuration only). `nodes` adds node entries for
/// names no `node` statement declares.
pub fn crm_to_cib(text: &str, nodes: &[String]) -> Result<String, Error> {
    let mut props = Vec::new();
    let mut rsc_defaults = Vec::new();
    let mut op_defaults = Vec::new();
    let mut node_names: Vec<String> = Vec::new();
    let mut node_attrs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut rscs: BTreeMap<String, Rsc> = BTreeMap::new();
    let mut order_of: Vec<String> = Vec::new();
    let mut constraints = String::new();
    for (line, ws) in statements(text) {
        let syntax = |m: &str| Error::Syntax {
            line,
            message: m.to_string(),
        };
        let Some(cmd) = ws.first() else { continue };
        let rest: Vec<String> = ws[1..]
            .iter()
            .filter(|w| !w.starts_with("$id="))
            .cloned()
            .collect();
        match cmd.as_str() {
            "property" | "rsc_defaults" | "op_defaults" => {
                let target = match cmd.as_str() {
                    "property" => &mut props,
                    "rsc_defaults" => &mut rsc_defaults,
                    _ => &mut op_defaults,
                };
                for w in &rest {
                    let (k, v) = kv(w)
                        .ok_or_else(|| syntax(&format!("{cmd}: expected key=value, got {w:?}")))?;
                    target.push((k.to_string(), v.to_string()));
                }
            }
            "node" => {
                let n = rest.first().ok_or_else(|| syntax("node needs a name"))?;
                let name = n.split(':').next().unwrap_or(n).to_string();
                let mut pairs = Vec::new();
                let mut section = "attributes";
                for w in &rest[1..] {
                    match (w.as_str(), kv(w)) {
                        ("attributes", _) => section = "attributes",
                        ("utilization", _) => section = "utilization",
                        (_, Some((k, v))) if section == "attributes" => {
                            pairs.push((k.to_string(), v.to_string()))
                        }
                        (_, Some(_)) => {}
                        (other, None) => {
                            return Err(syntax(&format!("node {name}: unexpected {other:?}")));
                        }
                    }
                }
                node_attrs.insert(name.clone(), pairs);
                node_names.push(name);
            }
            "primitive" => {
                let (id, agent) = match (rest.first(), rest.get(1)) {
                    (Some(i), Some(a)) => (i.clone(), a.clone()),
                    _ => {
                        return Err(syntax(
                            "primitive needs an id and an agent (class:provider:type)",
                        ));
                    }
                };
                let parts: Vec<&str> = agent.split(':').collect();
                let head = match parts.as_slice() {
                    [c, p, t] => format!(
                        "class=\"{}\" provider=\"{}\" type=\"{}\"",
                        esc(c),
                        esc(p),
                        esc(t)
                    ),
                    [c, t] => format!("class=\"{}\" type=\"{}\"", esc(c), esc(t)),
                    [t] => format!("class=\"lsb\" type=\"{}\"", esc(t)),
                    _ => return Err(syntax(&format!("bad agent {agent:?}"))),
                };
                let mut r = Rsc {
                    xml_head: head,
                    kind: "primitive",
                    ..Default::default()
                };
                attrs(line, &rest[2..], &mut r, false)?;
                order_of.push(id.clone());
                rscs.insert(id, r);
            }
            "group" | "clone" | "ms" => {
                let id = rest
                    .first()
                    .ok_or_else(|| syntax(&format!("{cmd} needs an id")))?
                    .clone();
                let mut r = Rsc {
                    kind: match cmd.as_str() {
                        "group" => "group",
                        _ => "clone",
                    },
                    ..Default::default()
                };
                attrs(line, &rest[1..], &mut r, true)?;
                if cmd == "ms" {
                    r.meta.insert(0, ("promotable".into(), "true".into()));
                }
                if r.children.is_empty() {
                    return Err(syntax(&format!("{cmd} {id} names no resources")));
                }
                order_of.push(id.clone());
                rscs.insert(id, r);
            }
            "location" => {
                let (Some(id), Some(rsc)) = (rest.first(), rest.get(1)) else {
                    return Err(syntax("location needs an id and a resource"));
                };
                let mut tail = &rest[2..];
                let mut role = String::new();
                if let Some(r) = tail.first().and_then(|w| w.strip_prefix("role=")) {
                    role = format!(" role=\"{}\"", esc(r));
                    tail = &tail[1..];
                }
                if tail.first().map(String::as_str) == Some("rule") {
                    let mut rules = String::new();
                    // rule [$role=R] SCORE: expr... [rule …]
                    let mut chunks: Vec<Vec<String>> = Vec::new();
                    for w in tail {
                        if w == "rule" {
                            chunks.push(Vec::new());
                        } else if let Some(c) = chunks.last_mut() {
                            c.push(w.clone());
                        }
                    }
                    for (k, c) in chunks.iter().enumerate() {
                        let mut c = c.as_slice();
                        let mut rrole = String::new();
                        if let Some(r) = c.first().and_then(|w| {
                            w.strip_prefix("$role=").or_else(|| w.strip_prefix("role="))
                        }) {
                            rrole = format!(" role=\"{}\"", esc(r));
                            c = &c[1..];
                        }
                        let s = c
                            .first()
                            .and_then(|w| w.strip_suffix(':'))
                            .ok_or_else(|| syntax("rule needs SCORE: before its expressions"))?;
                        let head = match s.parse::<i64>() {
                            Ok(_) => format!("score=\"{}\"{rrole}", esc(&score(s))),
                            Err(_) if matches!(score(s).as_str(), "INFINITY" | "-INFINITY") => {
                                format!("score=\"{}\"{rrole}", score(s))
                            }
                            Err(_) => format!("score-attribute=\"{}\"{rrole}", esc(s)),
                        };
                        let rid = format!(
                            "{id}-rule{}",
                            if k == 0 {
                                String::new()
                            } else {
                                format!("-{k}")
                            }
                        );
                        rules.push_str(&rule_xml(line, &rid, &head, &c[1..])?);
                    }
                    constraints.push_str(&format!(
                        "<rsc_location id=\"{}\" rsc=\"{}\"{role}>{rules}</rsc_location>",
                        esc(id),
                        esc(rsc)
                    ));
                } else {
                    let (Some(s), Some(node)) =
                        (tail.first().and_then(|w| w.strip_suffix(':')), tail.get(1))
                    else {
                        return Err(syntax("location: expected `SCORE: NODE` or `rule …`"));
                    };
                    constraints.push_str(&format!(
                        "<rsc_location id=\"{}\" rsc=\"{}\"{role} node=\"{}\" score=\"{}\"/>",
                        esc(id),
                        esc(rsc),
                        esc(node),
                        esc(&score(s))
                    ));
                }
            }
            "colocation" | "collocation" => {
                let (Some(id), Some(s)) =
                    (rest.first(), rest.get(1).and_then(|w| w.strip_suffix(':')))
                else {
                    return Err(syntax("colocation needs an id and SCORE:"));
                };
                let members: Vec<&String> = rest[2..].iter().filter(|w| !w.contains('=')).collect();
                let [a, b] = members.as_slice() else {
                    return Err(syntax(
                        "colocation with resource sets is not supported by import-crm yet; use two resources",
                    ));
                };
                let split = |w: &str| match w.split_once(':') {
                    Some((r, role)) => (r.to_string(), Some(role.to_string())),
                    None => (w.to_string(), None),
                };
                let (ra, rola) = split(a);
                let (rb, rolb) = split(b);
                let mut x = format!(
                    "<rsc_colocation id=\"{}\" score=\"{}\" rsc=\"{}\" with-rsc=\"{}\"",
                    esc(id),
                    esc(&score(s)),
                    esc(&ra),
                    esc(&rb)
                );
                if let Some(r) = rola {
                    x.push_str(&format!(" rsc-role=\"{}\"", esc(&r)));
                }
                if let Some(r) = rolb {
                    x.push_str(&format!(" with-rsc-role=\"{}\"", esc(&r)));
                }
                x.push_str("/>");
                constraints.push_str(&x);
            }
            "order" => {
                let (Some(id), Some(s)) =
                    (rest.first(), rest.get(1).and_then(|w| w.strip_suffix(':')))
                else {
                    return Err(syntax("order needs an id and SCORE: or KIND:"));
                };
                let opts: Vec<&String> = rest[2..].iter().filter(|w| w.contains('=')).collect();
                let members: Vec<&String> = rest[2..].iter().filter(|w| !w.contains('=')).collect();
                let [a, b] = members.as_slice() else {
                    return Err(syntax(
                        "order with resource sets is not supported by import-crm yet; use two resources",
                    ));
                };
                let split = |w: &str| match w.split_once(':') {
                    Some((r, act)) => (r.to_string(), Some(act.to_string())),
                    None => (w.to_string(), None),
                };
                let (ra, acta) = split(a);
                let (rb, actb) = split(b);
                let kindattr = match s.to_ascii_lowercase().as_str() {
                    "mandatory" | "optional" | "serialize" => {
                        let mut k = s.to_ascii_lowercase();
                        k[..1].make_ascii_uppercase();
                        format!("kind=\"{k}\"")
                    }
                    _ => format!("score=\"{}\"", esc(&score(s))),
                };
                let mut x = format!(
                    "<rsc_order id=\"{}\" {kindattr} first=\"{}\" then=\"{}\"",
                    esc(id),
                    esc(&ra),
                    esc(&rb)
                );
                if let Some(a) = acta {
                    x.push_str(&format!(" first-action=\"{}\"", esc(&a)));
                }
                if let Some(a) = actb {
                    x.push_str(&format!(" then-action=\"{}\"", esc(&a)));
                }
                for o in opts {
                    if let Some((k, v)) = kv(o) {
                        x.push_str(&format!(" {}=\"{}\"", esc(k), esc(v)));
                    }
                }
                x.push_str("/>");
                constraints.push_str(&x);
            }
            other => {
                return Err(syntax(&format!(
                    "{other:?} is not a crm configure statement import-crm knows"
                )));
            }
        }
    }
    // Resources: primitives inside groups, groups/primitives inside clones.
    let mut nested: BTreeSet<String> = BTreeSet::new();
    for r in rscs.values() {
        nested.extend(r.children.iter().cloned());
    }
    fn render(id: &str, rscs: &BTreeMap<String, Rsc>, out: &mut String) -> Result<(), Error> {
        let Some(r) = rscs.get(id) else {
            return Err(Error::Syntax {
                line: 0,
                message: format!("unknown resource {id:?}"),
            });
        };
        match r.kind {
            "primitive" => {
                out.push_str(&format!("<primitive id=\"{}\" {}>", esc(id), r.xml_head));
                out.push_str(&nvpairs(
                    "instance_attributes",
                    "",
                    &format!("{id}-instance_attributes"),
                    &r.params,
                ));
                out.push_str(&nvpairs(
                    "meta_attributes",
                    "",
                    &format!("{id}-meta_attributes"),
                    &r.meta,
                ));
                if !r.ops.is_empty() {
                    out.push_str("<operations>");
                    for (name, a) in &r.ops {
                        let interval = a
                            .iter()
                            .find(|(k, _)| k == "interval")
                            .map_or("0s".to_string(), |(_, v)| v.clone());
                        let norm = if interval.chars().all(|c| c.is_ascii_digit()) {
                            format!("{interval}s")
                        } else {
                            interval.clone()
                        };
                        out.push_str(&format!(
                            "<op id=\"{}\" name=\"{}\" interval=\"{}\"",
                            esc(&format!("{id}-{name}-{norm}")),
                            esc(name),
                            esc(&interval)
                        ));
                        for (k, v) in a.iter().filter(|(k, _)| k != "interval") {
                            out.push_str(&format!(" {}=\"{}\"", esc(k), esc(v)));
                        }
                        out.push_str("/>");
                    }
                    out.push_str("</operations>");
                }
                out.push_str("</primitive>");
            }
            kind => {
                let tag = if kind == "group" { "group" } else { "clone" };
                out.push_str(&format!("<{tag} id=\"{}\">", esc(id)));
                out.push_str(&nvpairs(
                    "meta_attributes",
                    "",
                    &format!("{id}-meta_attributes"),
                    &r.meta,
                ));
                for c in &r.children {
                    render(c, rscs, out)?;
                }
                out.push_str(&format!("</{tag}>"));
            }
        }
        Ok(())
    }
    let mut resources = String::new();
    for id in order_of.iter().filter(|id| !nested.contains(*id)) {
        render(id, &rscs, &mut resources)?;
    }
    for n in nodes {
        if !node_names.contains(n) {
            node_names.push(n.clone());
        }
    }
    let mut nodes_xml = String::new();
    for n in &node_names {
        let attrs = node_attrs.get(n).cloned().unwrap_or_default();
        nodes_xml.push_str(&format!(
            "<node id=\"{}\" uname=\"{}\">{}</node>",
            esc(n),
            esc(n),
            nvpairs("instance_attributes", "", &format!("nodes-{n}"), &attrs)
        ));
    }
    let crm_config = nvpairs("cluster_property_set", "", "cib-bootstrap-options", &props);
    let defaults = |tag: &str, setid: &str, pairs: &[(String, String)]| {
        if pairs.is_empty() {
            String::new()
        } else {
            format!(
                "<{tag}>{}</{tag}>",
                nvpairs("meta_attributes", "", setid, pairs)
            )
        }
    };
    Ok(format!(
        "<cib validate-with=\"pacemaker-3.9\" admin_epoch=\"0\" epoch=\"1\" num_updates=\"0\" crm_feature_set=\"3.16.2\"><configuration><crm_config>{crm_config}</crm_config><nodes>{nodes_xml}</nodes><resources>{resources}</resources><constraints>{constraints}</constraints>{}{}</configuration><status/></cib>",
        defaults("rsc_defaults", "rsc-options", &rsc_defaults),
        defaults("op_defaults", "op-options", &op_defaults),
    ))
}

/// crm configure text to pacer objects.
pub fn import_crm(text: &str, nodes: &[String]) -> Result<Vec<Object>, Error> {
    Ok(import_cib(&crm_to_cib(text, nodes)?)?)
}
