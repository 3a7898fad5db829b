//! Rule evaluation: a `<rule>` element and a [`RuleContext`] in, a [`RuleOutcome`]
//! out (matched?, when a date may flip it, problems found).
//!
//! Pacemaker 2.1.5 behaviour kept here (measured with crm_simulate/crm_rule):
//! - `boolean-op` is `or` (any case) or else `and`; a rule without conditions
//!   matches; nested rules' scores are ignored.
//! - A condition that cannot be evaluated (bad date, unknown operation, missing
//!   input) is false; in an `or` the others still count.
//! - `date_expression`: `gt` is now > start, `lt` is now < end, `in_range` is
//!   start <= now <= end (both inclusive; `end` defaults to start + `<duration>`,
//!   open when neither is given). A `date_spec` operation without a `<date_spec>`
//!   element matches.
//! - `rsc_expression`: omitted `class`/`type` match anything, but an omitted
//!   `provider` only matches agents without one (so `class="ocf" type="Dummy"` does
//!   not match ocf:heartbeat:Dummy); comparison is case-sensitive.
//! - An unknown expression `type` makes every comparison "equal" (eq true, ne false).
//! - Location scores: `score` wins over `score-attribute`; a node lacking the
//!   `score-attribute` gets -INFINITY; a non-numeric value reads as 0.

use super::{
    DateTime, Duration, RuleContext, Score, date_spec,
    value::{Op, ValueType, compare},
};
use roxmltree::Node;

/// A configuration problem found while evaluating; the rule still gets an answer
/// (Pacemaker logs and carries on), the scheduler may show these as warnings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("<{element} id={id:?}>: {message}")]
pub struct RuleProblem {
    pub element: String,
    pub id: String,
    pub message: String,
}

impl RuleProblem {
    fn at(node: Node<'_, '_>, message: impl Into<String>) -> RuleProblem {
        RuleProblem {
            element: node.tag_name().name().to_string(),
            id: node
                .attribute("id")
                .or(node.attribute("id-ref"))
                .unwrap_or("")
                .to_string(),
            message: message.into(),
        }
    }
}

/// Result of [`evaluate_rule`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RuleOutcome {
    pub matched: bool,
    /// The earliest time after "now" at which a `gt`/`lt`/`in_range` date expression
    /// in the rule changes its answer — when Pacemaker schedules a re-check. `None`
    /// when no such date lies ahead (`date_spec` never sets it, as in Pacemaker).
    pub next_change: Option<DateTime>,
    pub problems: Vec<RuleProblem>,
}

impl RuleOutcome {
    fn note_change(&mut self, at: DateTime) {
        if self.next_change.is_none_or(|c| at < c) {
            self.next_change = Some(at);
        }
    }
}

/// Follows `id-ref="…"` to the element of the same kind with that `id` (searching
/// the whole document); returns the node itself when there is no reference.
pub(crate) fn resolve<'a, 'i>(node: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    let Some(target) = node.attribute("id-ref") else {
        return Some(node);
    };
    node.document().descendants().find(|n| {
        n.is_element()
            && n.tag_name().name() == node.tag_name().name()
            && n.attribute("id") == Some(target)
            && n.attribute("id-ref").is_none()
    })
}

/// Evaluates a `<rule>` (following `id-ref`) in `ctx`.
pub fn evaluate_rule(rule: Node<'_, '_>, ctx: &RuleContext<'_>) -> RuleOutcome {
    let mut out = RuleOutcome::default();
    out.matched = eval_rule(rule, ctx, &mut out);
    out
}

/// Normalises a rule's `role` (Master/Slave are the old names of
/// Promoted/Unpromoted); `None` when the rule has none.
pub fn rule_role<'a>(rule: Node<'a, '_>) -> Option<&'a str> {
    let rule = resolve(rule).unwrap_or(rule);
    rule.attribute("role").map(normalize_role)
}

fn normalize_role(role: &str) -> &str {
    match role {
        "Master" => "Promoted",
        "Slave" => "Unpromoted",
        other => other,
    }
}

/// The score a matching location rule contributes on the context's node: `score`,
/// else the node's value of `score-attribute` (-INFINITY when the node lacks it),
/// else 0. Health colours are read with `ctx.health`.
pub fn location_score(rule: Node<'_, '_>, ctx: &RuleContext<'_>) -> Score {
    let rule = resolve(rule).unwrap_or(rule);
    if let Some(s) = rule.attribute("score") {
        return Score::parse_with_health(s, &ctx.health);
    }
    match rule.attribute("score-attribute") {
        Some(name) => match ctx.node.and_then(|n| n.attr(name)) {
            Some(v) => Score::parse_with_health(v, &ctx.health),
            None => Score::NEG_INFINITY,
        },
        None => Score::ZERO,
    }
}

/// For a top-level rule of an `rsc_location`: the score to apply on the context's
/// node when the rule matches, `None` when it does not.
pub fn location_rule(rule: Node<'_, '_>, ctx: &RuleContext<'_>) -> Option<Score> {
    evaluate_rule(rule, ctx)
        .matched
        .then(|| location_score(rule, ctx))
}

fn eval_rule(rule: Node<'_, '_>, ctx: &RuleContext<'_>, out: &mut RuleOutcome) -> bool {
    let Some(rule) = resolve(rule) else {
        out.problems.push(RuleProblem::at(
            rule,
            "id-ref names no rule in the CIB; the rule is false",
        ));
        return false;
    };
    let any = match rule.attribute("boolean-op") {
        None => false,
        Some(op) if op.eq_ignore_ascii_case("or") => true,
        Some(op) if op.eq_ignore_ascii_case("and") => false,
        Some(op) => {
            out.problems.push(RuleProblem::at(
                rule,
                format!("boolean-op {op:?} is neither \"and\" nor \"or\"; using \"and\""),
            ));
            false
        }
    };
    let mut result = !any;
    let mut conditions = 0;
    for child in rule.children().filter(Node::is_element) {
        conditions += 1;
        // Evaluate every condition (no short cut) so all re-check times are seen.
        let v = match child.tag_name().name() {
            "rule" => eval_rule(child, ctx, out),
            "expression" => eval_expression(child, ctx, out),
            "date_expression" => eval_date(child, ctx, out),
            "rsc_expression" => eval_rsc(child, ctx, out),
            "op_expression" => eval_op(child, ctx, out),
            other => {
                out.problems.push(RuleProblem::at(
                    child,
                    format!("<{other}> is not a rule condition; it is false"),
                ));
                false
            }
        };
        result = if any { result || v } else { result && v };
    }
    if conditions == 0 {
        result = true;
    }
    if let (Some(want), Some(have)) = (rule.attribute("role"), ctx.role)
        && normalize_role(want) != normalize_role(have)
    {
        return false;
    }
    result
}

fn eval_expression(e: Node<'_, '_>, ctx: &RuleContext<'_>, out: &mut RuleOutcome) -> bool {
    let Some(e) = resolve(e) else {
        out.problems.push(RuleProblem::at(
            e,
            "id-ref names no expression; it is false",
        ));
        return false;
    };
    let Some(attribute) = e.attribute("attribute") else {
        out.problems.push(RuleProblem::at(
            e,
            "attribute is required; the expression is false",
        ));
        return false;
    };
    let Some(op) = e.attribute("operation").and_then(Op::parse) else {
        out.problems.push(RuleProblem::at(
            e,
            format!(
                "operation {:?} is not one of lt, gt, lte, gte, eq, ne, defined, not_defined; the expression is false",
                e.attribute("operation").unwrap_or("")
            ),
        ));
        return false;
    };
    let ty = match e.attribute("type") {
        None => None,
        Some(t) => match ValueType::parse(t) {
            Some(t) => Some(t),
            None => {
                out.problems.push(RuleProblem::at(e, format!("type {t:?} is not string, integer, number or version; Pacemaker then treats the values as equal")));
                Some(ValueType::Unknown)
            }
        },
    };
    let Some(node) = ctx.node else {
        out.problems.push(RuleProblem::at(
            e,
            "node attribute expressions only work in location rules and in sets evaluated for a node (not in resource meta-attributes, rsc_defaults or cluster options); it is false",
        ));
        return false;
    };
    let literal = e.attribute("value");
    let expected = match e.attribute("value-source").unwrap_or("literal") {
        "literal" => literal,
        "param" => literal.and_then(|name| ctx.params.and_then(|p| p.attr(name))),
        "meta" => literal.and_then(|name| ctx.meta.and_then(|m| m.attr(name))),
        other => {
            out.problems.push(RuleProblem::at(
                e,
                format!("value-source {other:?} is not literal, param or meta; using literal"),
            ));
            literal
        }
    };
    compare(op, ty, node.attr(attribute), expected)
}

fn parse_date_attr(
    e: Node<'_, '_>,
    name: &str,
    out: &mut RuleOutcome,
) -> Result<Option<DateTime>, ()> {
    match e.attribute(name) {
        None => Ok(None),
        Some(text) => DateTime::parse(text).map(Some).map_err(|err| {
            out.problems.push(RuleProblem::at(
                e,
                format!("{name}: {err}; the expression is false"),
            ));
        }),
    }
}

fn eval_date(e: Node<'_, '_>, ctx: &RuleContext<'_>, out: &mut RuleOutcome) -> bool {
    let Some(e) = resolve(e) else {
        out.problems.push(RuleProblem::at(
            e,
            "id-ref names no date_expression; it is false",
        ));
        return false;
    };
    let Some(now) = ctx.now else {
        out.problems.push(RuleProblem::at(
            e,
            "no current time was given to the rule evaluation; the expression is false",
        ));
        return false;
    };
    let operation = e.attribute("operation").unwrap_or("");
    let child = |tag: &str| {
        e.children()
            .find(|c| c.is_element() && c.tag_name().name() == tag)
    };
    let (Ok(start), Ok(end)) = (
        parse_date_attr(e, "start", out),
        parse_date_attr(e, "end", out),
    ) else {
        return false;
    };
    match operation {
        "gt" => {
            let Some(start) = start else {
                out.problems.push(RuleProblem::at(
                    e,
                    "operation gt needs start; the expression is false",
                ));
                return false;
            };
            if now <= start {
                out.note_change(start.add_seconds(1));
            }
            now > start
        }
        "lt" => {
            let Some(end) = end else {
                out.problems.push(RuleProblem::at(
                    e,
                    "operation lt needs end; the expression is false",
                ));
                return false;
            };
            if now < end {
                out.note_change(end);
            }
            now < end
        }
        "in_range" => {
            let end = end.or_else(|| {
                let d = child("duration")?;
                Some(start?.add(&Duration::from_element(d)))
            });
            if start.is_none() && end.is_none() {
                out.problems.push(RuleProblem::at(
                    e,
                    "operation in_range needs start or end; the expression is false",
                ));
                return false;
            }
            if let Some(s) = start.filter(|s| now < *s) {
                out.note_change(s);
                return false;
            }
            match end {
                Some(end) if now <= end => {
                    out.note_change(end.add_seconds(1));
                    true
                }
                Some(_) => false,
                None => true,
            }
        }
        "date_spec" => {
            let Some(spec) = child("date_spec") else {
                out.problems.push(RuleProblem::at(
                    e,
                    "operation date_spec without a <date_spec> element matches always",
                ));
                return true;
            };
            let m = date_spec::matches(spec, &now);
            for (field, value) in &m.ignored {
                out.problems.push(RuleProblem::at(
                    spec,
                    format!("{field}={value:?} is not a number or range like \"9-16\"; Pacemaker ignores this field"),
                ));
            }
            m.matched
        }
        other => {
            out.problems.push(RuleProblem::at(
                e,
                format!("operation {other:?} is not in_range, gt, lt or date_spec; the expression is false"),
            ));
            false
        }
    }
}

fn eval_rsc(e: Node<'_, '_>, ctx: &RuleContext<'_>, out: &mut RuleOutcome) -> bool {
    let Some(rsc) = ctx.rsc else {
        out.problems.push(RuleProblem::at(
            e,
            "rsc_expression only works in rsc_defaults and op_defaults; it is false",
        ));
        return false;
    };
    e.attribute("class").is_none_or(|c| c == rsc.class)
        && e.attribute("provider") == rsc.provider
        && e.attribute("type").is_none_or(|t| t == rsc.agent)
}

fn eval_op(e: Node<'_, '_>, ctx: &RuleContext<'_>, out: &mut RuleOutcome) -> bool {
    let Some(op) = ctx.op else {
        out.problems.push(RuleProblem::at(
            e,
            "op_expression only works in op_defaults; it is false",
        ));
        return false;
    };
    let Some(name) = e.attribute("name") else {
        out.problems.push(RuleProblem::at(
            e,
            "name is required; the expression is false",
        ));
        return false;
    };
    if name != op.name {
        return false;
    }
    match e.attribute("interval") {
        None => true,
        Some(text) => match parse_interval_ms(text) {
            Some(ms) => ms == op.interval_ms,
            None => {
                out.problems.push(RuleProblem::at(e, format!("interval {text:?} is not a duration like \"10s\" or \"PT10S\"; the expression is false")));
                false
            }
        },
    }
}

/// Reads an operation interval (`"10"`, `"10s"`, `"500ms"`, `"5min"`, `"1h"`,
/// `"PT10S"`) into milliseconds.
pub fn parse_interval_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.starts_with('P') {
        let d = Duration::parse(t).ok()?;
        // Months and years have no fixed length; Pacemaker counts 30 and 365 days.
        let secs = d.seconds + d.days * 86_400 + d.months * 30 * 86_400 + d.years * 365 * 86_400;
        return u64::try_from(secs).ok()?.checked_mul(1000);
    }
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let n: u64 = t[..digits].parse().ok()?;
    let factor_ms: f64 = match t[digits..].trim() {
        "" | "s" | "sec" => 1000.0,
        "ms" | "msec" => 1.0,
        "us" | "usec" => 0.001,
        "m" | "min" => 60_000.0,
        "h" | "hr" => 3_600_000.0,
        _ => return None,
    };
    Some((n as f64 * factor_ms) as u64)
}
