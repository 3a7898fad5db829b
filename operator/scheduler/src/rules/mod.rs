//! Pacemaker 2.1.5 rules: a `<rule>` element plus a [`RuleContext`] (node attributes,
//! "now", resource agent, operation, resource params/meta, role) in; whether it
//! matches, when a date in it may flip the answer, and configuration problems out.
//! Also: location-rule scores, attribute-set (`instance_attributes`,
//! `meta_attributes`, `cluster_property_set`, `utilization`) selection, dates,
//! durations and scores.
//!
//! Semantics come from "Pacemaker Explained" (chapter Rules) and were checked against
//! crm_simulate / crm_rule / iso8601 from pacemaker-cli-utils 2.1.5; each module's
//! tests hold the measured vectors. Nothing here reads a clock: "now" is an input.
//!
//! # Evaluating a location rule
//! ```
//! use std::collections::BTreeMap;
//! use pacer_scheduler::rules::{location_rule, DateTime, RuleContext, Score};
//!
//! let xml = r#"<rsc_location id="l" rsc="web">
//!   <rule id="r" score-attribute="pingd" boolean-op="and">
//!     <expression id="e1" attribute="pingd" operation="gt" value="0"/>
//!     <date_expression id="d1" operation="date_spec">
//!       <date_spec id="s1" hours="9-16" weekdays="1-5"/>
//!     </date_expression>
//!   </rule></rsc_location>"#;
//! let doc = roxmltree::Document::parse(xml).unwrap();
//! let rule = doc.descendants().find(|n| n.has_tag_name("rule")).unwrap();
//!
//! let mut node = BTreeMap::new();
//! node.insert("#uname".to_string(), "node1".to_string());
//! node.insert("pingd".to_string(), "200".to_string());
//! let ctx = RuleContext::new()
//!     .with_node(&node)
//!     .at(DateTime::parse("2005-01-20 10:00:00").unwrap()); // a Thursday
//! assert_eq!(location_rule(rule, &ctx), Some(Score::new(200)));
//!
//! let saturday = ctx.at(DateTime::parse("2005-01-22 10:00:00").unwrap());
//! assert_eq!(location_rule(rule, &saturday), None);
//! ```
//!
//! # Evaluating with dates and re-check times
//! ```
//! use pacer_scheduler::rules::{evaluate_rule, DateTime, RuleContext};
//! let doc = roxmltree::Document::parse(
//!     r#"<rule id="r" score="0"><date_expression id="d" operation="in_range"
//!          start="2019-09-20 21:00:00 -05:00" end="2019-09-20 23:00:00 -05:00"/></rule>"#,
//! ).unwrap();
//! let ctx = RuleContext::new().at(DateTime::parse("2019-09-21 03:00:00").unwrap());
//! let out = evaluate_rule(doc.root_element(), &ctx);
//! assert!(out.matched);
//! // `end` is inclusive, so the answer changes one second after it.
//! assert_eq!(out.next_change.unwrap().epoch(), DateTime::parse("2019-09-21 04:00:01").unwrap().epoch());
//! ```
//!
//! # Choosing attribute values
//! ```
//! use std::collections::BTreeMap;
//! use pacer_scheduler::rules::{select_nvpairs, RuleContext};
//! let doc = roxmltree::Document::parse(r##"<primitive id="p">
//!   <instance_attributes id="node1-only" score="3">
//!     <rule id="r1" score="0"><expression id="e" attribute="#uname" operation="eq" value="node1"/></rule>
//!     <nvpair id="n1" name="interface" value="eth1"/>
//!   </instance_attributes>
//!   <instance_attributes id="defaults" score="1">
//!     <nvpair id="n2" name="interface" value="eth0"/>
//!     <nvpair id="n3" name="port" value="9999"/>
//!   </instance_attributes></primitive>"##).unwrap();
//! let sets = doc.root_element().children().filter(|n| n.has_tag_name("instance_attributes"));
//! let node: BTreeMap<String, String> = [("#uname".to_string(), "node1".to_string())].into();
//! let got = select_nvpairs(sets, &RuleContext::new().with_node(&node), None);
//! assert_eq!(got.get("interface"), Some("eth1"));
//! assert_eq!(got.get("port"), Some("9999"));
//! ```
//!
//! # Where each condition works (what the caller puts in the context)
//! | context                                  | node attrs | now | rsc | op | params/meta |
//! |------------------------------------------|-----------|-----|-----|----|-------------|
//! | `rsc_location` rules                     | yes       | yes | –   | –  | yes         |
//! | node `instance_attributes`/`utilization` | yes       | yes | –   | –  | –           |
//! | resource instance attrs / utilization    | yes (the node it runs on) | yes | – | – | – |
//! | resource meta, `rsc_defaults`            | –         | yes | `rsc_defaults` only | – | – |
//! | `op` meta, `op_defaults`                 | yes       | yes | `op_defaults` | `op_defaults` | – |
//! | `cluster_property_set`                   | –         | yes | –   | –  | –           |
//!
//! A condition whose input is missing from the context is false, as in Pacemaker
//! (crm_simulate: even `not_defined` is false in `rsc_defaults`; `rsc_expression` in a
//! location rule is false), and a [`RuleProblem`] says why.

//!
//! # Surprises measured with the 2.1.5 tools (each pinned by a test)
//! - Attribute sets with **equal scores**: the **last** listed wins (docs say the
//!   first); `value="#default"` in a later set removes a value taken earlier.
//! - A set with several `<rule>`s applies when any of them matches.
//! - `score-attribute` naming an attribute the node lacks gives **-INFINITY**.
//! - `rsc_expression` without `provider` does not match agents that have one.
//! - Node expressions in resource meta / `rsc_defaults` are false, even `not_defined`.
//! - String comparison ignores case; `eq`/`ne` without `value` compare with "absent"
//!   (`eq` is true on nodes lacking the attribute); unknown `type` compares "equal".
//! - Scores: `inf`/`infinity` are 0 (only `INFINITY`, `+INFINITY`, `-INFINITY`
//!   are infinite); `red`/`yellow`/`green` follow `node-health-strategy`.
//! - Dates: a date alone is UTC, a date with a time but no offset is local; an offset
//!   glued to the time (`12:00:00+01:00`) is ignored; `in_range` includes both ends;
//!   adding years keeps the day of the year (2004-03-01 + 1 year = 2005-03-02).
//! - date_spec fields that are not a number or range (`"1,2"`, `"9 "`) are ignored,
//!   i.e. match everything; `yearsdays` (the schema's spelling) is ignored.

mod calendar;
pub mod date;
pub mod date_spec;
pub mod duration;
mod expression;
mod nvpairs;
pub mod score;
pub mod value;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

pub use date::{DateError, DateTime};
pub use duration::Duration;
pub use expression::{
    RuleOutcome, RuleProblem, evaluate_rule, location_rule, location_score, parse_interval_ms,
    rule_role,
};
pub use nvpairs::{NvPairs, select_nvpairs};
pub use score::{HealthScores, Score};

/// Read access to a name → value map (node attributes, resource params or meta).
/// Implemented for the usual maps so the scheduler can keep whatever it has.
pub trait Attrs {
    fn attr(&self, name: &str) -> Option<&str>;
}

impl<S: std::hash::BuildHasher> Attrs for HashMap<String, String, S> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Attrs for BTreeMap<String, String> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Attrs for [(String, String)] {
    fn attr(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Attrs for Vec<(String, String)> {
    fn attr(&self, name: &str) -> Option<&str> {
        self.as_slice().attr(name)
    }
}

impl Attrs for NvPairs {
    fn attr(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

/// A resource agent as `rsc_expression` sees it (`ocf:heartbeat:IPaddr2` is class
/// `ocf`, provider `heartbeat`, agent `IPaddr2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentSpec<'a> {
    pub class: &'a str,
    pub provider: Option<&'a str>,
    pub agent: &'a str,
}

/// An operation as `op_expression` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSpec<'a> {
    pub name: &'a str,
    pub interval_ms: u64,
}

/// Everything a rule may look at. Build with [`RuleContext::new`] and the `with_*`
/// methods; leave out what the place the rule sits in does not provide (see the
/// table in the module docs).
#[derive(Clone, Copy, Default)]
pub struct RuleContext<'a> {
    /// The node's attributes, including the built-ins `#uname`, `#id`, `#kind`,
    /// `#is_dc`, `#cluster-name`, `#site-name` and, for promotable clones, `#role`
    /// (see [`builtin_node_attributes`]).
    pub node: Option<&'a dyn Attrs>,
    /// The cluster's "now" (crm_simulate `-t`, the CIB's `execution-date`, or the
    /// operator's clock read once per scheduler run).
    pub now: Option<DateTime>,
    /// For `rsc_expression` (rsc_defaults, op_defaults).
    pub rsc: Option<AgentSpec<'a>>,
    /// For `op_expression` (op_defaults).
    pub op: Option<OpSpec<'a>>,
    /// The resource's parameters, for `value-source="param"` (location rules).
    pub params: Option<&'a dyn Attrs>,
    /// The resource's meta-attributes, for `value-source="meta"` (location rules).
    pub meta: Option<&'a dyn Attrs>,
    /// The role being placed; when set, rules with a different `role` do not match.
    /// Leave unset to ignore `role` (location constraints read it with [`rule_role`]).
    pub role: Option<&'a str>,
    /// What `red`/`yellow`/`green` scores mean (cluster options); zeros by default.
    pub health: HealthScores,
}

impl<'a> RuleContext<'a> {
    pub fn new() -> RuleContext<'a> {
        RuleContext::default()
    }
    pub fn with_node(mut self, attrs: &'a dyn Attrs) -> Self {
        self.node = Some(attrs);
        self
    }
    pub fn at(mut self, now: DateTime) -> Self {
        self.now = Some(now);
        self
    }
    pub fn with_rsc(mut self, class: &'a str, provider: Option<&'a str>, agent: &'a str) -> Self {
        self.rsc = Some(AgentSpec {
            class,
            provider,
            agent,
        });
        self
    }
    pub fn with_op(mut self, name: &'a str, interval_ms: u64) -> Self {
        self.op = Some(OpSpec { name, interval_ms });
        self
    }
    pub fn with_params(mut self, params: &'a dyn Attrs) -> Self {
        self.params = Some(params);
        self
    }
    pub fn with_meta(mut self, meta: &'a dyn Attrs) -> Self {
        self.meta = Some(meta);
        self
    }
    pub fn with_role(mut self, role: &'a str) -> Self {
        self.role = Some(role);
        self
    }
    pub fn with_health(mut self, health: HealthScores) -> Self {
        self.health = health;
        self
    }
}

impl std::fmt::Debug for RuleContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleContext")
            .field("node", &self.node.is_some())
            .field("now", &self.now)
            .field("rsc", &self.rsc)
            .field("op", &self.op)
            .field("params", &self.params.is_some())
            .field("meta", &self.meta.is_some())
            .field("role", &self.role)
            .field("health", &self.health)
            .finish()
    }
}

/// The built-in node attributes Pacemaker defines, merged over the node's own
/// attributes (crm_simulate: `#kind` is `cluster` for cluster nodes, `remote` for
/// ocf:pacemaker:remote nodes, `container` for guest/bundle nodes; `#is_dc` is `false`
/// in simulations; `#site-name` is the node's `site-name` attribute or else the
/// cluster name).
pub fn builtin_node_attributes(
    own: impl IntoIterator<Item = (String, String)>,
    uname: &str,
    id: &str,
    kind: &str,
    is_dc: bool,
    cluster_name: Option<&str>,
) -> BTreeMap<String, String> {
    let mut m: BTreeMap<String, String> = own.into_iter().collect();
    m.insert("#uname".into(), uname.into());
    m.insert("#id".into(), id.into());
    m.insert("#kind".into(), kind.into());
    m.insert("#is_dc".into(), if is_dc { "true" } else { "false" }.into());
    if let Some(c) = cluster_name {
        m.insert("#cluster-name".into(), c.into());
    }
    let site = m
        .get("site-name")
        .cloned()
        .or_else(|| cluster_name.map(str::to_string));
    if let Some(s) = site {
        m.insert("#site-name".into(), s);
    }
    m
}
