//! CIB ids to Kubernetes object names. CIB ids are XML ids (uppercase, `_`, `.`, `:` are
//! common); object names must be DNS-1123 subdomains. The original id is kept in
//! `spec.id` whenever the derived name differs, so nothing is lost.

use std::collections::HashSet;

/// Derives a DNS-1123 name: lowercase, runs of other characters become `-`, trimmed,
/// at most 253 characters; empty results become `x`.
pub fn dns_name(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s = out.trim_matches('-').to_string();
    s.truncate(240);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() { "x".to_string() } else { s }
}

/// Whether `s` is already a valid name as [`dns_name`] would produce it.
pub fn is_dns_name(s: &str) -> bool {
    dns_name(s) == s
}

/// Hands out unique names per kind.
#[derive(Default)]
pub struct NameAllocator {
    used: HashSet<(&'static str, String)>,
}

impl NameAllocator {
    /// A unique name for `basis` among objects of `kind`; suffixes `-2`, `-3`, ... on clashes.
    pub fn allocate(&mut self, kind: &'static str, basis: &str) -> String {
        let base = dns_name(basis);
        let mut name = base.clone();
        let mut n = 2;
        while !self.used.insert((kind, name.clone())) {
            name = format!("{base}-{n}");
            n += 1;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cib_ids_become_dns_names() {
        assert_eq!(dns_name("rsc1"), "rsc1");
        assert_eq!(dns_name("Stateful_Master.1"), "stateful-master-1");
        assert_eq!(dns_name("__x__"), "x");
        assert_eq!(dns_name("::"), "x");
        let mut a = NameAllocator::default();
        assert_eq!(a.allocate("Primitive", "A_b"), "a-b");
        assert_eq!(a.allocate("Primitive", "a.b"), "a-b-2");
        assert_eq!(a.allocate("Group", "a-b"), "a-b");
    }
}
