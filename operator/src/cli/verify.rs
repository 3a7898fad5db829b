//! `kubectl pacer verify [-f manifests]` — crm_verify for pacer objects.
//!
//! In: the configuration objects (from files or the live namespace). Out: findings,
//! each naming the object, the field, the problem and the fix; errors make the cluster
//! refuse or misbehave (unknown resource in a constraint, no fencing device while
//! stonith-enabled, invalid scores), warnings are what pcs warns about (fencing
//! disabled, a primitive without a monitor). Exit codes: 0 clean, 1 warnings, 2 errors.
//! The scheduler's own configuration warnings (from unpacking the exported CIB) are
//! included, so `verify` says what the DC would log.

use std::collections::{BTreeMap, BTreeSet};

use pacer_crds::Score;
use serde_json::Value;

use crate::cib::{Object, export::export_cib};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// `Kind/name`, or `cluster` for cluster-wide findings.
    pub object: String,
    /// The field (`spec.resource`), if one is to blame.
    pub field: Option<String>,
    pub message: String,
    pub fix: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}: {}", self.object)?;
        if let Some(field) = &self.field {
            write!(f, " {field}")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.fix.is_empty() {
            write!(f, " — {}", self.fix)?;
        }
        Ok(())
    }
}

/// 0 clean, 1 warnings only, 2 errors.
pub fn exit_code(findings: &[Finding]) -> i32 {
    match findings.iter().map(|f| f.severity).max() {
        None => 0,
        Some(Severity::Warning) => 1,
        Some(Severity::Error) => 2,
    }
}

fn cib_id(o: &Object) -> String {
    o.to_json()
        .ok()
        .and_then(|v| {
            v.pointer("/spec/id")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| o.name())
}

fn is_false(v: Option<&String>) -> bool {
    v.is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0" | "n"
        )
    })
}

/// All findings for a configuration.
pub fn verify(objects: &[Object]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |severity, object: String, field: Option<&str>, message: String, fix: &str| {
        out.push(Finding {
            severity,
            object,
            field: field.map(String::from),
            message,
            fix: fix.to_string(),
        })
    };
    let label = |o: &Object| format!("{}/{}", o.kind(), o.name());

    // Resource ids (and tags, which constraints may name).
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let mut referable: BTreeSet<String> = BTreeSet::new();
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    for o in objects {
        match o {
            Object::Primitive(_)
            | Object::Group(_)
            | Object::Clone(_)
            | Object::Bundle(_)
            | Object::ResourceTemplate(_) => {
                let id = cib_id(o);
                if let Some(prev) = ids.insert(id.clone(), label(o)) {
                    add(
                        Severity::Error,
                        label(o),
                        Some("spec.id"),
                        format!("resource id {id:?} is also used by {prev}"),
                        "give every resource a unique id",
                    );
                }
                referable.insert(id);
            }
            Object::Tag(_) => {
                referable.insert(cib_id(o));
            }
            Object::ClusterNode(n) => {
                nodes.insert(n.spec.uname.clone().unwrap_or_else(|| o.name()));
            }
            _ => {}
        }
    }
    let unknown = |r: &str| !referable.contains(r);
    let known_list = || ids.keys().cloned().collect::<Vec<_>>().join(", ");
    let score_check = |o: &Object, field: &str, s: &Option<Score>, out: &mut Vec<Finding>| {
        if let Some(s) = s
            && !s.is_valid()
        {
            out.push(Finding {
                severity: Severity::Error,
                object: label(o),
                field: Some(field.into()),
                message: format!("score {:?} is not a Pacemaker score", s.as_str()),
                fix: "use an integer, INFINITY or -INFINITY".into(),
            });
        }
    };
    let mut refs: Vec<(String, &'static str, String)> = Vec::new();
    let mut stonith_devices = 0;
    let mut props: BTreeMap<String, String> = BTreeMap::new();
    let mut location_scores: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut more = Vec::new();
    for o in objects {
        match o {
            Object::Primitive(p) => {
                let s = &p.spec;
                if s.class.as_deref() == Some("stonith") {
                    stonith_devices += 1;
                }
                if s.template.is_none() && (s.class.is_none() || s.type_.is_none()) {
                    more.push(Finding {
                        severity: Severity::Error,
                        object: label(o),
                        field: Some("spec.class/spec.type".into()),
                        message: "no resource agent".into(),
                        fix: "set class (ocf, lsb, systemd, stonith), provider and type, or a template".into(),
                    });
                }
                if s.template.is_none()
                    && s.operations_ref.is_none()
                    && !s.operations.iter().any(|op| op.name == "monitor")
                {
                    more.push(Finding {
                        severity: Severity::Warning,
                        object: label(o),
                        field: Some("spec.operations".into()),
                        message: "no monitor operation: a failure of this resource goes unnoticed"
                            .into(),
                        fix: "add `- {name: monitor, interval: 10s}`".into(),
                    });
                }
                for (i, op) in s.operations.iter().enumerate() {
                    if !op.interval.is_valid() {
                        more.push(Finding {
                            severity: Severity::Error,
                            object: label(o),
                            field: Some(format!("spec.operations[{i}].interval")),
                            message: format!("{:?} is not an interval", op.interval.as_str()),
                            fix: "use e.g. 10s, 500ms, 5min or PT10S".into(),
                        });
                    }
                }
            }
            Object::Group(g) => {
                for m in &g.spec.members {
                    refs.push((label(o), "spec.members", m.clone()));
                }
            }
            Object::Clone(c) => refs.push((label(o), "spec.resource", c.spec.resource.clone())),
            Object::Location(l) => {
                score_check(o, "spec.score", &l.spec.score, &mut more);
                if let Some(r) = &l.spec.resource {
                    refs.push((label(o), "spec.resource", r.clone()));
                }
                for set in &l.spec.resource_sets {
                    for r in &set.resources {
                        refs.push((label(o), "spec.resourceSets[].resources", r.clone()));
                    }
                }
                if let Some(n) = &l.spec.node {
                    if !nodes.is_empty() && !nodes.contains(n) {
                        more.push(Finding {
                            severity: Severity::Warning,
                            object: label(o),
                            field: Some("spec.node".into()),
                            message: format!("node {n:?} is not a ClusterNode"),
                            fix: format!(
                                "use one of {}",
                                nodes.iter().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        });
                    }
                    if let (Some(r), Some(s)) = (&l.spec.resource, &l.spec.score) {
                        location_scores
                            .entry((r.clone(), n.clone()))
                            .or_default()
                            .push(
                                s.as_str()
                                    .to_ascii_uppercase()
                                    .trim_start_matches('+')
                                    .to_string(),
                            );
                    }
                }
            }
            Object::Colocation(c) => {
                score_check(o, "spec.score", &c.spec.score, &mut more);
                for (f, r) in [
                    ("spec.resource", &c.spec.resource),
                    ("spec.withResource", &c.spec.with_resource),
                ] {
                    if let Some(r) = r {
                        refs.push((label(o), f, r.clone()));
                    }
                }
                if c.spec.resource.is_some() && c.spec.resource == c.spec.with_resource {
                    more.push(Finding {
                        severity: Severity::Error,
                        object: label(o),
                        field: Some("spec.withResource".into()),
                        message: "a resource cannot be colocated with itself".into(),
                        fix: "name two different resources".into(),
                    });
                }
                for set in &c.spec.resource_sets {
                    for r in &set.resources {
                        refs.push((label(o), "spec.resourceSets[].resources", r.clone()));
                    }
                }
            }
            Object::Order(c) => {
                score_check(o, "spec.score", &c.spec.score, &mut more);
                for (f, r) in [("spec.first", &c.spec.first), ("spec.then", &c.spec.then)] {
                    if let Some(r) = r {
                        refs.push((label(o), f, r.clone()));
                    }
                }
                if c.spec.first.is_some()
                    && c.spec.first == c.spec.then
                    && c.spec.first_action == c.spec.then_action
                {
                    more.push(Finding {
                        severity: Severity::Error,
                        object: label(o),
                        field: Some("spec.then".into()),
                        message: "an action cannot be ordered after itself".into(),
                        fix: "name two different resources or actions".into(),
                    });
                }
                for set in &c.spec.resource_sets {
                    for r in &set.resources {
                        refs.push((label(o), "spec.resourceSets[].resources", r.clone()));
                    }
                }
            }
            Object::ClusterProperties(p) => {
                props.extend(p.spec.properties.clone().unwrap_or_default());
            }
            _ => {}
        }
    }
    out.extend(more);
    for (obj, field, r) in refs {
        if unknown(&r) {
            out.push(Finding {
                severity: Severity::Error,
                object: obj,
                field: Some(field.into()),
                message: format!("names unknown resource {r:?}"),
                fix: format!("create it or use one of: {}", known_list()),
            });
        }
    }
    for ((r, n), scores) in location_scores {
        if scores.iter().any(|s| s == "INFINITY") && scores.iter().any(|s| s == "-INFINITY") {
            out.push(Finding {
                severity: Severity::Warning,
                object: format!("resource {r}"),
                field: None,
                message: format!("both required (INFINITY) and banned (-INFINITY) on {n}; the ban wins"),
                fix: "remove one of the Locations (`kubectl pacer resource clear` removes move/ban constraints)".into(),
            });
        }
    }
    if is_false(props.get("stonith-enabled")) {
        out.push(Finding {
            severity: Severity::Warning,
            object: "ClusterProperties".into(),
            field: Some("spec.properties.stonith-enabled".into()),
            message: "fencing is disabled: a lost node's resources may run twice".into(),
            fix: "configure a stonith Primitive and set stonith-enabled to true".into(),
        });
    } else if stonith_devices == 0
        && props
            .get("stonith-watchdog-timeout")
            .is_none_or(|t| t.trim_start_matches('0').is_empty() || t.starts_with('-'))
    {
        // Watchdog self-fencing (sbd-style) needs no device.
        out.push(Finding {
            severity: Severity::Error,
            object: "cluster".into(),
            field: None,
            message: "stonith-enabled is true (the default) but no fencing device is defined: resources will not start".into(),
            fix: "add a Primitive with class: stonith, or set stonith-enabled: \"false\" in ClusterProperties".into(),
        });
    }
    // What the scheduler itself says about the configuration.
    match export_cib(objects) {
        Err(e) => out.push(Finding {
            severity: Severity::Error,
            object: "configuration".into(),
            field: None,
            message: e.to_string(),
            fix: String::new(),
        }),
        Ok(xml) => match pacer_scheduler::unpack::unpack(&xml, Some(0)) {
            Ok(cl) => {
                for w in cl.warnings {
                    out.push(Finding {
                        severity: Severity::Warning,
                        object: "scheduler".into(),
                        field: None,
                        message: w,
                        fix: String::new(),
                    });
                }
            }
            Err(e) => out.push(Finding {
                severity: Severity::Error,
                object: "configuration".into(),
                field: None,
                message: e.to_string(),
                fix: String::new(),
            }),
        },
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}
