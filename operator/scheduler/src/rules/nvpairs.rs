//! Attribute-set selection: the `instance_attributes` / `meta_attributes` /
//! `utilization` / `cluster_property_set` elements of one object plus a
//! [`RuleContext`] in, the resulting name → value pairs out.
//!
//! What crm_simulate 2.1.5 does (checked through the parameters it puts on a start
//! action in the transition graph):
//! - sets are taken by `score`, highest first; sets with **equal** scores are taken
//!   in **reverse** document order (the last listed wins — the opposite of what
//!   Pacemaker Explained says); a missing or bad score is 0;
//! - a set with `<rule>` children is used when any of them matches;
//! - the first value seen for a name wins, also inside one set;
//! - an nvpair without `value` is skipped; `value="#default"` removes a value taken
//!   from an earlier (higher) set, so the name falls back to a later set or to the
//!   built-in default;
//! - `id-ref` works on sets, rules and nvpairs.
//!
//! Callers handle the one ordering exception themselves by naming it: the
//! `cib-bootstrap-options` cluster_property_set always comes first.

use super::{
    DateTime, RuleContext, RuleProblem, Score,
    expression::{evaluate_rule, resolve},
};
use roxmltree::Node;

/// Result of [`select_nvpairs`]: pairs in the order they were chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NvPairs {
    pub pairs: Vec<(String, String)>,
    /// Earliest re-check time from the sets' rules (see
    /// [`super::RuleOutcome::next_change`]).
    pub next_change: Option<DateTime>,
    pub problems: Vec<RuleProblem>,
}

impl NvPairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn into_map(self) -> std::collections::BTreeMap<String, String> {
        self.pairs.into_iter().collect()
    }
}

/// Resolves the sets (following `id-ref`), orders them, evaluates their rules in
/// `ctx` and merges their nvpairs. `first_id` names a set that goes before all
/// others regardless of score (`Some("cib-bootstrap-options")` for cluster options).
pub fn select_nvpairs<'a, 'i: 'a>(
    sets: impl IntoIterator<Item = Node<'a, 'i>>,
    ctx: &RuleContext<'_>,
    first_id: Option<&str>,
) -> NvPairs {
    let mut out = NvPairs::default();
    let mut ordered: Vec<(bool, Score, usize, Node<'a, 'i>)> = Vec::new();
    for (i, reference) in sets.into_iter().enumerate() {
        let Some(set) = resolve(reference) else {
            out.problems.push(problem(
                reference,
                "id-ref names no set of this kind; it is ignored",
            ));
            continue;
        };
        // The referring element may carry its own score.
        let score = reference
            .attribute("score")
            .or(set.attribute("score"))
            .map(Score::parse)
            .unwrap_or_default();
        let first = first_id.is_some_and(|f| set.attribute("id") == Some(f));
        ordered.push((first, score, i, set));
    }
    ordered.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));

    for (_, _, _, set) in ordered {
        if !set_applies(set, ctx, &mut out) {
            continue;
        }
        let mut seen_here: Vec<&str> = Vec::new();
        for pair in set
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "nvpair")
        {
            let Some(pair) = resolve(pair) else {
                out.problems
                    .push(problem(pair, "id-ref names no nvpair; it is ignored"));
                continue;
            };
            let (Some(name), Some(value)) = (pair.attribute("name"), pair.attribute("value"))
            else {
                continue;
            };
            // Inside one set the first occurrence counts.
            if seen_here.contains(&name) {
                continue;
            }
            seen_here.push(name);
            if value == "#default" {
                out.pairs.retain(|(k, _)| k != name);
            } else if out.get(name).is_none() {
                out.pairs.push((name.to_string(), value.to_string()));
            }
        }
    }
    out
}

/// Whether a set's rules let it apply (no rule: always; otherwise any matching).
fn set_applies(set: Node<'_, '_>, ctx: &RuleContext<'_>, out: &mut NvPairs) -> bool {
    let mut has_rule = false;
    let mut any = false;
    for rule in set
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "rule")
    {
        has_rule = true;
        let r = evaluate_rule(rule, ctx);
        any |= r.matched;
        if let Some(t) = r.next_change
            && out.next_change.is_none_or(|c| t < c)
        {
            out.next_change = Some(t);
        }
        out.problems.extend(r.problems);
    }
    !has_rule || any
}

fn problem(node: Node<'_, '_>, message: &str) -> RuleProblem {
    RuleProblem {
        element: node.tag_name().name().to_string(),
        id: node
            .attribute("id")
            .or(node.attribute("id-ref"))
            .unwrap_or("")
            .to_string(),
        message: message.to_string(),
    }
}
