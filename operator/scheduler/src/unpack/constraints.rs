//! `<constraints>` → locations (rules evaluated per node), colocations, orderings and
//! ticket dependencies; resource sets, tags and templates expanded into pairs.

use super::{IdIndex, child, options::is_true, rule_eval};
use crate::{
    model::{Cluster, Colocation, Discovery, Location, OrderKind, Ordering, Role, TicketDep},
    score,
};
use roxmltree::Node as XNode;

/// Resources an id names: a resource, a tag (its members) or a template (its users).
fn resolve_ids(cl: &Cluster, cfg: XNode, id: &str) -> Vec<usize> {
    if let Some(r) = cl
        .resources
        .iter()
        .position(|r| r.id == id && r.instance.is_none() && !r.orphan)
    {
        return vec![r];
    }
    // The primitive/group inside a clone stands for the clone.
    if let Some(r) = cl
        .resources
        .iter()
        .position(|r| r.config_id == id && r.instance.is_some() && !r.orphan)
        && let Some(c) = cl.resources[r].parent.and_then(|p| cl.clone_of(p))
    {
        return vec![c];
    }
    if let Some(tags) = child(cfg, "tags")
        && let Some(t) = tags
            .children()
            .find(|t| t.has_tag_name("tag") && t.attribute("id") == Some(id))
    {
        return t
            .children()
            .filter(|o| o.has_tag_name("obj_ref"))
            .filter_map(|o| o.attribute("id"))
            .flat_map(|oid| resolve_ids(cl, cfg, oid))
            .collect();
    }
    // A template: every primitive built from it.
    if let Some(res) = child(cfg, "resources") {
        let users: Vec<&str> = res
            .descendants()
            .filter(|p| p.has_tag_name("primitive") && p.attribute("template") == Some(id))
            .filter_map(|p| p.attribute("id"))
            .collect();
        if !users.is_empty() {
            return users
                .into_iter()
                .filter_map(|u| {
                    cl.resources
                        .iter()
                        .position(|r| r.id == u && r.instance.is_none())
                })
                .collect();
        }
    }
    Vec::new()
}

fn role_attr(x: XNode, name: &str) -> Option<Role> {
    x.attribute(name)
        .and_then(Role::parse)
        .filter(|r| *r != Role::Started && *r != Role::Stopped)
}

struct Set {
    id: String,
    members: Vec<usize>,
    sequential: bool,
    require_all: bool,
    role: Option<Role>,
    action: Option<String>,
}

fn sets(cl: &Cluster, cfg: XNode, c: XNode, idx: &IdIndex) -> Vec<Set> {
    c.children()
        .filter(|s| s.has_tag_name("resource_set"))
        .map(|s| {
            let s = idx.resolve(s);
            Set {
                id: s.attribute("id").unwrap_or_default().to_string(),
                members: s
                    .children()
                    .filter(|r| r.has_tag_name("resource_ref"))
                    .filter_map(|r| r.attribute("id"))
                    .flat_map(|id| resolve_ids(cl, cfg, id))
                    .collect(),
                sequential: s.attribute("sequential").is_none_or(is_true),
                require_all: s.attribute("require-all").is_none_or(is_true),
                role: role_attr(s, "role"),
                action: s.attribute("action").map(|a| a.to_string()),
            }
        })
        .collect()
}

pub fn unpack_constraints(cl: &mut Cluster, cfg: XNode, idx: &IdIndex, ctx: &rule_eval::Ctx) {
    let Some(cons) = child(cfg, "constraints") else {
        return;
    };
    for c in cons.children().filter(|c| c.is_element()) {
        let c = idx.resolve(c);
        let id = c.attribute("id").unwrap_or("?").to_string();
        match c.tag_name().name() {
            "rsc_location" => location(cl, cfg, c, &id, idx, ctx),
            "rsc_colocation" => colocation(cl, cfg, c, &id, idx),
            "rsc_order" => ordering(cl, cfg, c, &id, idx),
            "rsc_ticket" => ticket(cl, cfg, c, &id, idx),
            _ => {}
        }
    }
}

fn location(cl: &mut Cluster, cfg: XNode, c: XNode, id: &str, idx: &IdIndex, ctx: &rule_eval::Ctx) {
    let mut targets: Vec<(usize, Option<Role>)> = Vec::new();
    if let Some(r) = c.attribute("rsc") {
        let role = role_attr(c, "role");
        targets.extend(resolve_ids(cl, cfg, r).into_iter().map(|x| (x, role)));
    } else if let Some(pat) = c.attribute("rsc-pattern") {
        let role = role_attr(c, "role");
        for (i, r) in cl.resources.iter().enumerate() {
            // A leading "!" inverts the pattern.
            let matched = match pat.strip_prefix('!') {
                Some(p) => !simple_regex_match(p, &r.id),
                None => simple_regex_match(pat, &r.id),
            };
            if r.parent.is_none() && !r.orphan && matched {
                targets.push((i, role));
            }
        }
    }
    for s in sets(cl, cfg, c, idx) {
        let role = s.role.or(role_attr(c, "role"));
        targets.extend(s.members.into_iter().map(|m| (m, role)));
    }
    if targets.is_empty() {
        cl.warnings
            .push(format!("rsc_location {id:?}: no such resource; ignored"));
        return;
    }
    let discovery = match c.attribute("resource-discovery") {
        Some("never") => Discovery::Never,
        Some("exclusive") => Discovery::Exclusive,
        _ => Discovery::Always,
    };
    // Scores per target resource: rules may read each resource's own parameters and
    // meta attributes (value-source), so they are evaluated once per target.
    let rules: Vec<XNode> = c.children().filter(|r| r.has_tag_name("rule")).collect();
    let fixed: Option<(usize, i64)> = match c.attribute("node") {
        Some(node) => match cl.node_by_name(node) {
            Some(n) => Some((n, c.attribute("score").and_then(score::parse).unwrap_or(0))),
            None => return,
        },
        None => None,
    };
    let mut rule_role: Option<Role> = None;
    for &rule in &rules {
        let rule = idx.resolve(rule);
        if let Some(role) = crate::rules::rule_role(rule).and_then(Role::parse)
            && role != Role::Started
            && role != Role::Stopped
        {
            rule_role = Some(role);
        }
    }
    let mut out: Vec<Location> = Vec::new();
    for &(rsc, role) in &targets {
        let role = rule_role.or(role);
        let mut scores: Vec<(usize, i64)> = fixed.into_iter().collect();
        if fixed.is_none() {
            let params = &cl.resources[rsc].params;
            let meta = &cl.resources[rsc].meta;
            // Parameters may themselves depend on the node (rules in instance_attributes).
            let uses_params = rules.iter().any(|r| {
                r.descendants()
                    .any(|e| e.attribute("value-source") == Some("param"))
            });
            let xml = idx.get(&cl.resources[rsc].config_id);
            for &rule in &rules {
                let rule = idx.resolve(rule);
                for n in 0..cl.nodes.len() {
                    let node_params = match (uses_params, xml) {
                        (true, Some(x)) => Some(super::attr_sets(
                            x,
                            super::AttrSetKind::Instance,
                            idx,
                            ctx,
                            Some(&cl.nodes[n].attrs),
                        )),
                        _ => None,
                    };
                    let rc = ctx
                        .rule_context()
                        .with_node(&cl.nodes[n].attrs)
                        .with_params(node_params.as_ref().unwrap_or(params))
                        .with_meta(meta);
                    if let Some(sc) = crate::rules::location_rule(rule, &rc) {
                        scores.push((n, i64::from(sc.value())));
                    }
                }
            }
        }
        for (node, sc) in scores {
            out.push(Location {
                id: id.to_string(),
                rsc,
                node,
                score: sc,
                role,
                discovery,
            });
        }
    }
    cl.locations.extend(out);
}

/// `rsc-pattern` is a POSIX extended regular expression matched anywhere in the id;
/// this supports literals, `.`, bracket classes (ranges, `^` negation), the `*`, `+`
/// and `?` quantifiers and the `^`/`$` anchors.
fn simple_regex_match(pat: &str, s: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let t: Vec<char> = s.chars().collect();
    if p.first() == Some(&'^') {
        return match_here(&p[1..], &t);
    }
    (0..=t.len()).any(|i| match_here(&p, &t[i..]))
}

/// One pattern atom: its length in the pattern and whether it matches `c`.
fn atom(p: &[char], c: char) -> (usize, bool) {
    match p[0] {
        '.' => (1, true),
        '\\' if p.len() > 1 => (2, p[1] == c),
        '[' => {
            let mut i = 1;
            let negate = p.get(1) == Some(&'^');
            if negate {
                i += 1;
            }
            let mut hit = false;
            let start = i;
            while i < p.len() && (p[i] != ']' || i == start) {
                if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                    hit |= p[i] <= c && c <= p[i + 2];
                    i += 3;
                } else {
                    hit |= p[i] == c;
                    i += 1;
                }
            }
            (i + 1, hit != negate)
        }
        x => (1, x == c),
    }
}

fn match_here(p: &[char], t: &[char]) -> bool {
    if p.is_empty() {
        return true;
    }
    if p == ['$'] {
        return t.is_empty();
    }
    let (len, _) = atom(p, '\0');
    let len = len.min(p.len());
    let quant = p.get(len).copied();
    match quant {
        Some('*') | Some('+') | Some('?') => {
            let rest = &p[len + 1..];
            let min = usize::from(quant == Some('+'));
            let max = if quant == Some('?') { 1 } else { usize::MAX };
            let mut n = 0;
            while n < t.len() && n < max && atom(p, t[n]).1 {
                n += 1;
            }
            (min..=n).rev().any(|k| match_here(rest, &t[k..]))
        }
        _ => !t.is_empty() && atom(p, t[0]).1 && match_here(&p[len..], &t[1..]),
    }
}

fn colocation(cl: &mut Cluster, cfg: XNode, c: XNode, id: &str, idx: &IdIndex) {
    let sc = c.attribute("score").and_then(score::parse).unwrap_or(0);
    let node_attribute = c
        .attribute("node-attribute")
        .unwrap_or("#uname")
        .to_string();
    let influence = c.attribute("influence").is_none_or(is_true);
    let push =
        |cl: &mut Cluster, d: usize, p: usize, dr: Option<Role>, pr: Option<Role>, s: i64| {
            if d != p {
                cl.colocations.push(Colocation {
                    id: id.to_string(),
                    dependent: d,
                    primary: p,
                    score: s,
                    dependent_role: dr,
                    primary_role: pr,
                    node_attribute: node_attribute.clone(),
                    influence,
                });
            }
        };
    if let (Some(r), Some(w)) = (c.attribute("rsc"), c.attribute("with-rsc")) {
        let ds = resolve_ids(cl, cfg, r);
        let ps = resolve_ids(cl, cfg, w);
        if ds.is_empty() || ps.is_empty() {
            cl.warnings
                .push(format!("rsc_colocation {id:?}: unknown resource; ignored"));
            return;
        }
        for &d in &ds {
            for &p in &ps {
                push(
                    cl,
                    d,
                    p,
                    role_attr(c, "rsc-role"),
                    role_attr(c, "with-rsc-role"),
                    sc,
                );
            }
        }
        return;
    }
    let ss = sets(cl, cfg, c, idx);
    for s in &ss {
        if s.sequential {
            for w in s.members.windows(2) {
                push(cl, w[1], w[0], s.role, s.role, sc);
            }
        }
    }
    for pair in ss.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        // Members of an earlier set depend on the members of the next set.
        let primaries: Vec<usize> = if b.sequential {
            b.members.last().copied().into_iter().collect()
        } else {
            b.members.clone()
        };
        let dependents: Vec<usize> = if a.sequential {
            a.members.first().copied().into_iter().collect()
        } else {
            a.members.clone()
        };
        for &d in &dependents {
            for &p in &primaries {
                push(cl, d, p, a.role, b.role, sc);
            }
        }
    }
}

fn ordering(cl: &mut Cluster, cfg: XNode, c: XNode, id: &str, idx: &IdIndex) {
    let kind = match c.attribute("kind").map(|k| k.to_ascii_lowercase()) {
        Some(k) if k == "optional" => OrderKind::Optional,
        Some(k) if k == "serialize" => OrderKind::Serialize,
        Some(_) => OrderKind::Mandatory,
        None => match c.attribute("score").and_then(score::parse) {
            Some(0) => OrderKind::Optional,
            Some(s) if s < 0 => OrderKind::Optional,
            _ => OrderKind::Mandatory,
        },
    };
    let symmetrical = c
        .attribute("symmetrical")
        .map(is_true)
        .unwrap_or(kind != OrderKind::Serialize);
    let first_action = c.attribute("first-action").unwrap_or("start").to_string();
    let then_action = c
        .attribute("then-action")
        .map(|s| s.to_string())
        .unwrap_or_else(|| first_action.clone());
    let push = |cl: &mut Cluster,
                f: usize,
                fa: &str,
                t: usize,
                ta: &str,
                require_all: bool,
                first_set: Option<String>| {
        if f != t {
            cl.orderings.push(Ordering {
                id: id.to_string(),
                first: f,
                first_action: fa.to_string(),
                then: t,
                then_action: ta.to_string(),
                kind,
                symmetrical,
                require_all,
                first_set,
            });
        }
    };
    if let (Some(f), Some(t)) = (c.attribute("first"), c.attribute("then")) {
        let fs = resolve_ids(cl, cfg, f);
        let ts = resolve_ids(cl, cfg, t);
        if fs.is_empty() || ts.is_empty() {
            cl.warnings
                .push(format!("rsc_order {id:?}: unknown resource; ignored"));
            return;
        }
        let require_all = c.attribute("require-all").is_none_or(is_true);
        for &a in &fs {
            for &b in &ts {
                push(cl, a, &first_action, b, &then_action, require_all, None);
            }
        }
        return;
    }
    let ss = sets(cl, cfg, c, idx);
    let act = |s: &Set| s.action.clone().unwrap_or_else(|| first_action.clone());
    for s in &ss {
        if s.sequential {
            for w in s.members.windows(2) {
                push(cl, w[0], &act(s), w[1], &act(s), true, None);
            }
        }
    }
    for pair in ss.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let firsts: Vec<usize> = if a.sequential {
            a.members.last().copied().into_iter().collect()
        } else {
            a.members.clone()
        };
        let thens: Vec<usize> = if b.sequential {
            b.members.first().copied().into_iter().collect()
        } else {
            b.members.clone()
        };
        for &f in &firsts {
            for &t in &thens {
                let set = (!a.require_all).then(|| a.id.clone());
                push(cl, f, &act(a), t, &act(b), a.require_all, set);
            }
        }
    }
}

fn ticket(cl: &mut Cluster, cfg: XNode, c: XNode, id: &str, idx: &IdIndex) {
    let Some(t) = c.attribute("ticket") else {
        return;
    };
    let loss = c.attribute("loss-policy").unwrap_or("stop").to_string();
    let mut targets: Vec<(usize, Option<Role>)> = Vec::new();
    if let Some(r) = c.attribute("rsc") {
        let role = role_attr(c, "rsc-role");
        targets.extend(resolve_ids(cl, cfg, r).into_iter().map(|x| (x, role)));
    }
    for s in sets(cl, cfg, c, idx) {
        targets.extend(s.members.into_iter().map(|m| (m, s.role)));
    }
    for (rsc, role) in targets {
        cl.ticket_deps.push(TicketDep {
            id: id.to_string(),
            rsc,
            ticket: t.to_string(),
            role,
            loss_policy: loss.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::simple_regex_match as m;

    #[test]
    fn rsc_patterns() {
        assert!(m("^rsc[0-9]$", "rsc1"));
        assert!(!m("^rsc[0-9]$", "rsc10"));
        assert!(m("meta-", "meta-rsc"));
        assert!(m("^ip-.*", "ip-192"));
        assert!(!m("^ip-.*", "vip-1"));
        assert!(m("a[^b]c", "axc"));
        assert!(!m("a[^b]c", "abc"));
    }
}
