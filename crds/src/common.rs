//! Building blocks shared by every kind: Pacemaker scores and intervals (validated strings),
//! attribute sets (`instance_attributes`, `meta_attributes`, `utilization`,
//! `cluster_property_set`) and rules with their expressions.
//!
//! Every optional `id` keeps the CIB id of the element it came from, so a CIB survives an
//! import/export round trip; when absent, the exporter derives the id Pacemaker tools would
//! have chosen.

use std::{borrow::Cow, collections::BTreeMap, fmt};

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Regular expression (RE2 syntax, used by CEL `matches`) for a Pacemaker score.
pub const SCORE_PATTERN: &str = "^[-+]?([0-9]+|(?i:inf|infinity))$";

/// Regular expression (RE2) for a Pacemaker interval or timeout: plain seconds, a number
/// with a unit (ms, msec, us, usec, s, sec, m, min, h, hr) or an ISO 8601 duration.
pub const INTERVAL_PATTERN: &str = "^([0-9]+ *(ms|msec|us|usec|s|sec|m|min|h|hr)?|P([0-9]+[YMWD])*(T?([0-9]+(\\.[0-9]+)?[HMS])+)?)$";

/// Accepts a YAML/JSON integer or string and keeps its text, so `score: 100` and
/// `score: INFINITY` both work while the exact CIB spelling is kept.
macro_rules! text_scalar {
    ($name:ident, $pattern:expr, $message:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// Whether the text matches the syntax Pacemaker accepts.
            pub fn is_valid(&self) -> bool {
                crate::common::matches_pattern(stringify!($name), &self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_string())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(TextVisitor).map($name)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }
            fn inline_schema() -> bool {
                true
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                // A pattern, not a CEL rule: CEL's `matches` is costed per character and
                // per enclosing list item, which blows the apiserver's CRD cost budget
                // once scores sit in rules inside attribute sets inside lists.
                json_schema!({
                    "x-kubernetes-int-or-string": true,
                    "description": concat!($doc, " ", $message, "."),
                    "pattern": $pattern,
                    "maxLength": 32,
                })
            }
        }
    };
}

text_scalar!(
    Score,
    SCORE_PATTERN,
    "must be an integer or INFINITY, +INFINITY, -INFINITY (Pacemaker score)",
    "A Pacemaker score: an integer, or INFINITY / +INFINITY / -INFINITY (also `inf`)."
);
text_scalar!(
    Interval,
    INTERVAL_PATTERN,
    "must be a Pacemaker interval such as 10, 10s, 500ms, 5min, 1h or PT10S",
    "A Pacemaker interval or timeout: seconds (10), with a unit (10s, 500ms, 5min, 1h) or ISO 8601 (PT10S)."
);

/// Minimal matcher for the two patterns above (the `regex` crate is not a dependency):
/// used by import to refuse values an apiserver would reject.
pub(crate) fn matches_pattern(which: &str, s: &str) -> bool {
    match which {
        "Score" => {
            let t = s.strip_prefix(['+', '-']).unwrap_or(s);
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                || t.eq_ignore_ascii_case("inf")
                || t.eq_ignore_ascii_case("infinity")
        }
        _ => is_interval(s),
    }
}

fn is_interval(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix('P') {
        // ISO 8601: designators with digits before each, optional T.
        let (mut digits, mut designators) = (false, 0);
        for c in rest.chars() {
            match c {
                '0'..='9' | '.' => digits = true,
                'Y' | 'M' | 'W' | 'D' | 'H' | 'S' if digits => {
                    digits = false;
                    designators += 1;
                }
                'T' if !digits => {}
                _ => return false,
            }
        }
        return !digits && designators > 0;
    }
    let num_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if num_end == 0 {
        return false;
    }
    let unit = s[num_end..].trim_start_matches(' ');
    matches!(
        unit,
        "" | "ms" | "msec" | "us" | "usec" | "s" | "sec" | "m" | "min" | "h" | "hr"
    )
}

struct TextVisitor;

impl de::Visitor<'_> for TextVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

/// One `nvpair`: a name/value, or a reference (`idRef`) to an nvpair defined elsewhere.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NvPair {
    /// CIB id; defaults to `<set id>-<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `id-ref`: reuse the nvpair with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Absent means "defined without a value" (Pacemaker treats it as unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Take the value from a Secret instead (credentials never live in a spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ValueFrom>,
}

/// Where a secret value comes from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ValueFrom {
    pub secret_key_ref: SecretKeyRef,
}

/// A key in a Secret of the same namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    pub name: String,
    pub key: String,
}

/// An attribute set (`instance_attributes`, `meta_attributes`, `utilization`,
/// `cluster_property_set`): ordered name/value pairs, optionally conditioned by a rule and
/// ordered against other sets by a score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeSet {
    /// CIB id of the set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `id-ref`: reuse the set with this id (then nothing else may be given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_ref: Option<String>,
    /// Sets with a higher score are evaluated first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// The set applies only while this rule is true (e.g. a `date_spec` schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
    /// Name/value pairs in CIB order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<NvPair>,
}

/// A simple attribute map, as written in `params:`/`meta:` (the first, unconditional set).
pub type Attributes = BTreeMap<String, String>;

/// A rule: expressions combined with `booleanOp`, yielding `score` (or the node attribute
/// named by `scoreAttribute`) where it is true.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `id-ref`: reuse the rule with this id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// Use the value of this node attribute as the score (e.g. `pingd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_attribute: Option<String>,
    /// `and` (default) or `or`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["and", "or"]))]
    pub boolean_op: Option<String>,
    /// Only for this role (location rules), e.g. `Promoted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The expressions, in CIB order; each item sets exactly one kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expressions: Vec<Condition>,
}

/// One term of a rule: exactly one of the fields is set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "[has(self.attribute), has(self.date), has(self.resource), has(self.operation), has(self.rule)].filter(x, x).size() == 1",
    "message": "set exactly one of attribute, date, resource, operation, rule",
}]))]
pub struct Condition {
    /// Node attribute test (`expression`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<Expression>,
    /// Time test (`date_expression`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateExpression>,
    /// Resource agent test (`rsc_expression`, rsc_defaults/op_defaults only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceExpression>,
    /// Operation test (`op_expression`, op_defaults only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationExpression>,
    /// A nested rule (one level deep).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<NestedRule>,
}

/// A rule inside a rule; it may not nest further.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NestedRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_attribute: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["and", "or"]))]
    pub boolean_op: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expressions: Vec<NestedCondition>,
}

/// One term of a nested rule: exactly one field set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "[has(self.attribute), has(self.date), has(self.resource), has(self.operation)].filter(x, x).size() == 1",
    "message": "set exactly one of attribute, date, resource, operation",
}]))]
pub struct NestedCondition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<Expression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<DateExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceExpression>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<OperationExpression>,
}

/// `expression`: compare a node attribute (or `#uname`, `#id`, `#kind`, a resource
/// parameter with `valueSource: param`) with a value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "self.operation in ['defined', 'not_defined'] || has(self.value)",
    "message": "value is required unless operation is defined or not_defined",
}]))]
pub struct Expression {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Node attribute name, or `#uname`, `#id`, `#kind`, `#cluster-name`, `#role`.
    pub attribute: String,
    #[schemars(extend("enum" = ["lt", "gt", "lte", "gte", "eq", "ne", "defined", "not_defined"]))]
    pub operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How to compare: `string`, `integer`, `number` or `version`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["string", "integer", "number", "version"]))]
    pub type_: Option<String>,
    /// `literal` (default), `param` or `meta`: where `value` is looked up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["literal", "param", "meta"]))]
    pub value_source: Option<String>,
}

/// `date_expression`: `in_range` (start/end or duration), `gt`, `lt` or `date_spec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DateExpression {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[schemars(extend("enum" = ["in_range", "gt", "lt", "date_spec"]))]
    pub operation: String,
    /// ISO 8601 date/time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// `in_range` length instead of `end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<DateFields>,
    /// Recurring calendar match for `date_spec` (e.g. weekdays 1-5, hours 9-17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_spec: Option<DateFields>,
}

/// `date_spec` / `duration` fields; each is a number or a range like `1-5`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DateFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub years: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub months: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weeks: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthdays: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekdays: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yeardays: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekyears: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moon: Option<String>,
}

/// `rsc_expression`: match resources by agent (class/provider/type).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceExpression {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// `op_expression`: match operations by name and interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationExpression {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_intervals_follow_pacemaker_syntax() {
        for ok in [
            "0",
            "-100",
            "+5",
            "INFINITY",
            "-INFINITY",
            "+INFINITY",
            "inf",
            "-inf",
        ] {
            assert!(Score::from(ok).is_valid(), "{ok}");
        }
        for bad in ["", "1.5", "INF1", "high", "--1"] {
            assert!(!Score::from(bad).is_valid(), "{bad}");
        }
        for ok in [
            "0", "10", "10s", "500ms", "5min", "1h", "PT10S", "P10S", "P1DT2H",
        ] {
            assert!(Interval::from(ok).is_valid(), "{ok}");
        }
        for bad in ["", "ten", "10 parsecs", "P", "PT", "-1"] {
            assert!(!Interval::from(bad).is_valid(), "{bad}");
        }
    }

    #[test]
    fn score_accepts_integers_in_yaml() {
        let s: Score = serde_json::from_value(serde_json::json!(100)).unwrap();
        assert_eq!(s.as_str(), "100");
        let s: Score = serde_json::from_value(serde_json::json!("-INFINITY")).unwrap();
        assert_eq!(s.as_str(), "-INFINITY");
    }
}
