//! Attribute sets both ways. The first set is written as a plain map (`params:`, `meta:`)
//! when it carries nothing a map cannot say (default ids, no rule/score/id-ref, values
//! present, no duplicate names); everything else stays a list of [`AttributeSet`]s with
//! its ids, so the CIB comes back unchanged.

use pacer_crds::{AttributeSet, Attributes, NvPair};

/// The default nvpair id Pacemaker tools generate inside a set.
pub(crate) fn nvpair_id(set_id: &str, name: &str) -> String {
    format!("{set_id}-{name}")
}

/// Splits imported sets into (map form of the first set, remaining sets).
pub(crate) fn split_sets(
    mut sets: Vec<AttributeSet>,
    default_id: &str,
) -> (Option<Attributes>, Vec<AttributeSet>) {
    let Some(first) = sets.first() else {
        return (None, sets);
    };
    if !is_simple(first, default_id) {
        return (None, sets);
    }
    let first = sets.remove(0);
    let map = first
        .values
        .into_iter()
        .filter_map(|nv| Some((nv.name?, nv.value?)))
        .collect();
    (Some(map), sets)
}

fn is_simple(set: &AttributeSet, default_id: &str) -> bool {
    if set.id.as_deref() != Some(default_id)
        || set.id_ref.is_some()
        || set.score.is_some()
        || set.rule.is_some()
    {
        return false;
    }
    let mut seen = std::collections::HashSet::new();
    set.values.iter().all(|nv| {
        nv.id.is_none()
            && nv.id_ref.is_none()
            && nv.value.is_some()
            && nv.value_from.is_none()
            && nv.name.as_ref().is_some_and(|n| seen.insert(n.clone()))
    })
}

/// Joins the map form and the listed sets back into sets with explicit ids.
pub(crate) fn join_sets(
    map: Option<&Attributes>,
    sets: &[AttributeSet],
    default_id: &str,
) -> Vec<AttributeSet> {
    let mut out = Vec::with_capacity(sets.len() + 1);
    if let Some(map) = map {
        out.push(AttributeSet {
            id: Some(default_id.to_string()),
            values: map
                .iter()
                .map(|(k, v)| NvPair {
                    id: None,
                    id_ref: None,
                    name: Some(k.clone()),
                    value: Some(v.clone()),
                    value_from: None,
                })
                .collect(),
            ..Default::default()
        });
    }
    for (i, s) in sets.iter().enumerate() {
        let mut s = s.clone();
        if s.id.is_none() && s.id_ref.is_none() {
            s.id = Some(if i == 0 && map.is_none() {
                default_id.to_string()
            } else {
                format!("{default_id}-{}", i + 1)
            });
        }
        out.push(s);
    }
    out
}
