//! `kubectl pacer resource move|ban|clear|meta|stop|start|manage|unmanage|promote|demote|
//! restart|cleanup|locate` (crm resource / crm_resource / pcs resource): each change a
//! server-side apply under the field manager `kubectl-pacer`.
//!
//! stop/start/promote/demote set `target-role` and manage/unmanage `is-managed`, as crm
//! resource does; `--wait` then follows the cluster until the resource got there.
//!
//! move/ban create the temporary Location constraints crm_resource does, with the same
//! CIB ids (`cli-prefer-RSC`, `cli-ban-RSC-on-NODE`), optionally limited by a lifetime
//! (a rule with `#uname eq NODE` and `date lt END`, as `crm_resource --lifetime`);
//! `clear` deletes them.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use kube::Client;
use pacer_crds::{Clone as CloneRsc, Group, Location, Primitive};
use serde_json::{Value, json};

use crate::{
    cib::{Object, names::dns_name},
    cli::{
        apply::{apply, delete},
        fetch, status,
    },
    index::Index,
};

#[derive(clap::Subcommand, Clone, Debug)]
pub enum ResourceCmd {
    /// Prefer NODE for RSC (Location cli-prefer-RSC, score INFINITY); without NODE, ban RSC
    /// from the node it runs on now.
    Move {
        rsc: String,
        node: Option<String>,
        /// Only for this long: ISO 8601 (PT1H, P1D) or 30m / 2h / 1d.
        #[arg(long)]
        lifetime: Option<String>,
        /// Move only the promoted role (promotable clones).
        #[arg(long)]
        promoted: bool,
    },
    /// Keep RSC off NODE (Location cli-ban-RSC-on-NODE, score -INFINITY); NODE defaults to
    /// where it runs now.
    Ban {
        rsc: String,
        node: Option<String>,
        #[arg(long)]
        lifetime: Option<String>,
        #[arg(long)]
        promoted: bool,
    },
    /// Remove the constraints move/ban created for RSC (all nodes, or only NODE's ban).
    Clear { rsc: String, node: Option<String> },
    /// Meta attributes: `meta RSC set K V`, `meta RSC unset K`.
    Meta {
        rsc: String,
        #[command(subcommand)]
        op: MetaOp,
    },
    /// Stop RSC and keep it stopped: target-role Stopped (crm resource stop, pcs resource
    /// disable).
    #[command(visible_alias = "disable")]
    Stop {
        rsc: String,
        /// Wait until it stopped everywhere (default 60 s; `--wait=SECONDS`).
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "60")]
        wait: Option<u64>,
    },
    /// Let RSC run again: target-role Started (crm resource start, pcs resource enable).
    #[command(visible_alias = "enable")]
    Start {
        rsc: String,
        /// Wait until it runs somewhere (default 60 s; `--wait=SECONDS`).
        #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "60")]
        wait: Option<u64>,
    },
    /// Let a promotable clone be promoted: target-role Promoted (crm resource promote).
    Promote { rsc: String },
    /// Keep a promotable clone's instances unpromoted: target-role Unpromoted (crm
    /// resource demote).
    Demote { rsc: String },
    /// Manage RSC again: is-managed true (crm resource manage, pcs resource manage).
    Manage { rsc: String },
    /// Leave RSC alone (no start, stop or recovery; monitors go on): is-managed false (crm
    /// resource unmanage, pcs resource unmanage).
    Unmanage { rsc: String },
    /// Where RSC runs, and in which role (crm_resource --locate, crm resource locate).
    Locate { rsc: String },
    /// Stop RSC and start it again (target-role Stopped, wait, back to the previous value).
    Restart {
        rsc: String,
        /// How long to wait for the stop, in seconds.
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Forget RSC's failures (crm_resource --cleanup): its history and fail counts on
    /// the nodes where it failed (or only NODE); the DC probes it again. Without RSC,
    /// every resource with failures.
    Cleanup {
        rsc: Option<String>,
        #[arg(long)]
        node: Option<String>,
        /// How long to wait for the DC, in seconds.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

#[derive(clap::Subcommand, Clone, Debug)]
pub enum MetaOp {
    Set { key: String, value: String },
    Unset { key: String },
    Get { key: String },
}

/// A resource's object: (kind, metadata.name), found by CIB id or object name.
pub fn resource_object(idx: &Index, rsc: &str) -> Option<(&'static str, String)> {
    let mut by_name = None;
    for o in idx.config.values() {
        if !matches!(
            o,
            Object::Primitive(_) | Object::Group(_) | Object::Clone(_) | Object::Bundle(_)
        ) {
            continue;
        }
        let v = o.to_json().ok()?;
        let id = v.pointer("/spec/id").and_then(Value::as_str);
        if id == Some(rsc) || (id.is_none() && o.name() == rsc) {
            return Some((o.kind(), o.name()));
        }
        if o.name() == rsc {
            by_name = Some((o.kind(), o.name()));
        }
    }
    by_name
}

/// The CIB id of a resource object.
fn cib_id(idx: &Index, kind: &'static str, name: &str) -> String {
    idx.config
        .get(&(kind, name.to_string()))
        .and_then(|o| o.to_json().ok())
        .and_then(|v| {
            v.pointer("/spec/id")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .unwrap_or_else(|| name.to_string())
}

/// Seconds of an ISO 8601 duration (PnDTnHnMnS, PnW) or `30s` / `30m` / `2h` / `1d`.
pub fn parse_lifetime(s: &str) -> Result<i64> {
    let t = s.trim();
    let bad = || {
        anyhow::anyhow!("--lifetime {s:?}: give an ISO 8601 duration (PT1H, P1D) or 30m / 2h / 1d")
    };
    if let Some(rest) = t.strip_prefix('P') {
        let (mut total, mut num, mut in_time) = (0i64, String::new(), false);
        for c in rest.chars() {
            match c {
                '0'..='9' => num.push(c),
                'T' => in_time = true,
                _ => {
                    let n: i64 = num.parse().map_err(|_| bad())?;
                    num.clear();
                    total += n * match (c, in_time) {
                        ('Y', false) => 365 * 86400,
                        ('M', false) => 30 * 86400,
                        ('W', false) => 7 * 86400,
                        ('D', false) => 86400,
                        ('H', true) => 3600,
                        ('M', true) => 60,
                        ('S', true) => 1,
                        _ => return Err(bad()),
                    };
                }
            }
        }
        if !num.is_empty() || total == 0 {
            return Err(bad());
        }
        return Ok(total);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: i64 = t[..split].parse().map_err(|_| bad())?;
    let mult = match &t[split..] {
        "" | "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return Err(bad()),
    };
    Ok(n * mult)
}

/// A Pacemaker date ("YYYY-MM-DD HH:MM:SSZ") for seconds since the epoch.
pub fn cib_date(epoch: i64) -> String {
    jiff::Timestamp::from_second(epoch)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// The Location body crm_resource would create: `id` on `node` with `score`, or, with a
/// lifetime, the same as a rule that stops matching at `until` (epoch seconds).
pub fn constraint_spec(
    id: &str,
    rsc: &str,
    node: &str,
    score: &str,
    role: Option<&str>,
    until: Option<i64>,
) -> Value {
    // Nulls drop what an earlier move/ban of the same id set (node+score vs. rules).
    let mut spec = json!({"id": id, "resource": rsc, "node": null, "score": null,
                          "role": null, "rules": null});
    match until {
        None => {
            spec["node"] = json!(node);
            spec["score"] = json!(score);
            if let Some(r) = role {
                spec["role"] = json!(r);
            }
        }
        Some(end) => {
            let mut rule = json!({
                "id": format!("{id}-rule"),
                "score": score,
                "booleanOp": "and",
                "expressions": [
                    {"attribute": {"id": format!("{id}-expr"), "attribute": "#uname",
                                   "operation": "eq", "value": node}},
                    {"date": {"id": format!("{id}-lifetime"), "operation": "lt",
                              "end": cib_date(end)}}
                ]
            });
            if let Some(r) = role {
                rule["role"] = json!(r);
            }
            spec["rules"] = json!([rule]);
        }
    }
    spec
}

fn is_cli_constraint(l: &Location, rsc: &str, node: Option<&str>) -> bool {
    let id = l
        .spec
        .id
        .clone()
        .or_else(|| l.metadata.name.clone())
        .unwrap_or_default();
    let prefer = id == format!("cli-prefer-{rsc}");
    let ban = match node {
        Some(n) => id == format!("cli-ban-{rsc}-on-{n}"),
        None => id.starts_with(&format!("cli-ban-{rsc}-on-")),
    };
    (prefer && node.is_none()) || ban || (prefer && l.spec.node.as_deref() == node)
}

/// Where a resource (its instances or members) is active now, with the role, from the
/// cluster's status; a node appears once, with its highest role.
fn active_roles(idx: &Index, rsc: &str) -> Result<Vec<(String, String)>> {
    let doc = status::document(&fetch::status_input(idx, fetch::now_ms()))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for r in doc.resources.iter().filter(|r| {
        r.id == rsc || r.id.split(':').next() == Some(rsc) || r.parent.as_deref() == Some(rsc)
    }) {
        for (n, role) in &r.active {
            match out.iter_mut().find(|(m, _)| m == n) {
                Some((_, r)) if role == "Promoted" => *r = role.clone(),
                Some(_) => {}
                None => out.push((n.clone(), role.clone())),
            }
        }
    }
    Ok(out)
}

/// Where a resource is active now (only where promoted, with `promoted_only`).
fn active_nodes(idx: &Index, rsc: &str, promoted_only: bool) -> Result<Vec<String>> {
    Ok(active_roles(idx, rsc)?
        .into_iter()
        .filter(|(_, role)| !promoted_only || role == "Promoted")
        .map(|(n, _)| n)
        .collect())
}

/// crm_resource --locate's lines.
fn locate_lines(id: &str, roles: &[(String, String)]) -> String {
    if roles.is_empty() {
        return format!("resource {id} is NOT running");
    }
    roles
        .iter()
        .map(|(n, role)| match role.as_str() {
            "Promoted" => format!("resource {id} is running on: {n} Promoted"),
            _ => format!("resource {id} is running on: {n}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Re-reads the cluster until `id` is active somewhere (`active`) or nowhere, for at most
/// `timeout`; the nodes it is active on then.
async fn wait_for(
    client: &Client,
    ns: &str,
    id: &str,
    active: bool,
    timeout: Duration,
) -> Result<Option<Vec<(String, String)>>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let now = fetch::index(client, ns).await?;
        let roles = active_roles(&now, id)?;
        if roles.is_empty() != active {
            return Ok(Some(roles));
        }
        if std::time::Instant::now() > deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn locate(client: &Client, ns: &str, id: &str, spec: Value) -> Result<String> {
    let name = dns_name(id);
    apply::<Location>(client, ns, &name, json!({"spec": spec}), true).await?;
    Ok(name)
}

pub async fn run(client: &Client, ns: &str, idx: &Index, cmd: &ResourceCmd) -> Result<String> {
    let find = |rsc: &str| {
        resource_object(idx, rsc).with_context(|| {
            format!("no resource {rsc:?} (Primitive, Group, Clone or Bundle) in namespace {ns}")
        })
    };
    match cmd {
        ResourceCmd::Move {
            rsc,
            node,
            lifetime,
            promoted,
        }
        | ResourceCmd::Ban {
            rsc,
            node,
            lifetime,
            promoted,
        } => {
            let is_move = matches!(cmd, ResourceCmd::Move { .. });
            let (kind, name) = find(rsc)?;
            let id = cib_id(idx, kind, &name);
            let until = match lifetime {
                Some(l) => Some(fetch::now_ms() / 1000 + parse_lifetime(l)?),
                None => None,
            };
            let role = promoted.then_some("Promoted");
            if let (true, Some(node)) = (is_move, node) {
                if crate::cli::node::node_object(idx, node).is_none() {
                    bail!("no ClusterNode {node:?} in namespace {ns}");
                }
                let cid = format!("cli-prefer-{id}");
                let spec =
                    constraint_spec(&cid, &id, node, "INFINITY", role.or(Some("Started")), until);
                let obj = locate(client, ns, &cid, spec).await?;
                return Ok(format!(
                    "{id} prefers {node}: Location/{obj} ({cid}, score INFINITY)"
                ));
            }
            let targets = match node {
                Some(n) => vec![n.clone()],
                None => {
                    let active = active_nodes(idx, &id, *promoted)?;
                    if active.is_empty() {
                        bail!("{id} is not active anywhere: give the NODE to ban it from");
                    }
                    if active.len() > 1 && is_move {
                        bail!(
                            "{id} is active on {}: give the NODE to move it to",
                            active.join(", ")
                        );
                    }
                    active
                }
            };
            let mut out = Vec::new();
            for n in targets {
                let cid = format!("cli-ban-{id}-on-{n}");
                let spec = constraint_spec(&cid, &id, &n, "-INFINITY", role, until);
                let obj = locate(client, ns, &cid, spec).await?;
                out.push(format!(
                    "{id} banned from {n}: Location/{obj} ({cid}, score -INFINITY)"
                ));
            }
            Ok(out.join("\n"))
        }
        ResourceCmd::Clear { rsc, node } => {
            let (kind, name) = find(rsc)?;
            let id = cib_id(idx, kind, &name);
            let mut removed = Vec::new();
            for o in idx.config.values() {
                if let Object::Location(l) = o
                    && l.spec.resource.as_deref() == Some(id.as_str())
                    && is_cli_constraint(l, &id, node.as_deref())
                {
                    let n = l.metadata.name.clone().unwrap_or_default();
                    if delete::<Location>(client, ns, &n).await? {
                        removed.push(format!("Location/{n}"));
                    }
                }
            }
            Ok(if removed.is_empty() {
                format!("no move/ban constraints for {id}")
            } else {
                format!("removed {}", removed.join(", "))
            })
        }
        ResourceCmd::Meta { rsc, op } => {
            let (kind, name) = find(rsc)?;
            let current = |key: &str| {
                idx.config
                    .get(&(kind, name.clone()))
                    .and_then(|o| o.to_json().ok())
                    .and_then(|v| v.pointer("/spec/meta").and_then(|m| m.get(key)).cloned())
            };
            let (key, value) = match op {
                MetaOp::Set { key, value } => (key, json!(value)),
                MetaOp::Unset { key } => {
                    // Set from a manifest, the key belongs to another field manager: an
                    // apply without it would leave it. Taking it over first lets it go.
                    if let Some(v) = current(key) {
                        set_meta(client, ns, kind, &name, key, v).await?;
                    }
                    (key, Value::Null)
                }
                MetaOp::Get { key } => {
                    return Ok(match current(key) {
                        Some(Value::String(s)) => s,
                        Some(other) => other.to_string(),
                        None => format!("{rsc}: meta {key} is not set"),
                    });
                }
            };
            set_meta(client, ns, kind, &name, key, value.clone()).await?;
            Ok(match value {
                Value::Null => format!("{kind}/{name}: meta {key} removed"),
                v => format!(
                    "{kind}/{name}: meta {key}={}",
                    v.as_str().unwrap_or_default()
                ),
            })
        }
        ResourceCmd::Stop { rsc, wait } | ResourceCmd::Start { rsc, wait } => {
            let start = matches!(cmd, ResourceCmd::Start { .. });
            let (kind, name) = find(rsc)?;
            let id = cib_id(idx, kind, &name);
            let role = if start { "Started" } else { "Stopped" };
            set_meta(client, ns, kind, &name, "target-role", json!(role)).await?;
            let set = format!("{kind}/{name}: target-role={role}");
            let Some(secs) = wait else {
                return Ok(set);
            };
            match wait_for(client, ns, &id, start, Duration::from_secs(*secs)).await? {
                Some(roles) => Ok(format!("{set}\n{}", locate_lines(&id, &roles))),
                None if start => bail!(
                    "{set}, but {id} is not running after {secs}s (`kubectl pacer status` and `kubectl pacer verify` say why)"
                ),
                None => bail!("{set}, but {id} is still active after {secs}s"),
            }
        }
        ResourceCmd::Promote { rsc } | ResourceCmd::Demote { rsc } => {
            let (kind, name) = find(rsc)?;
            let promotable = matches!(
                idx.config.get(&(kind, name.clone())),
                Some(Object::Clone(c)) if c.spec.promotable == Some(true) || c.spec.legacy_master == Some(true)
            );
            if !promotable {
                bail!("{rsc} is not a promotable Clone: only those have a promoted role");
            }
            let role = match cmd {
                ResourceCmd::Promote { .. } => "Promoted",
                _ => "Unpromoted",
            };
            set_meta(client, ns, kind, &name, "target-role", json!(role)).await?;
            Ok(format!("{kind}/{name}: target-role={role}"))
        }
        ResourceCmd::Manage { rsc } | ResourceCmd::Unmanage { rsc } => {
            let (kind, name) = find(rsc)?;
            let managed = matches!(cmd, ResourceCmd::Manage { .. });
            set_meta(
                client,
                ns,
                kind,
                &name,
                "is-managed",
                json!(managed.to_string()),
            )
            .await?;
            Ok(format!("{kind}/{name}: is-managed={managed}"))
        }
        ResourceCmd::Locate { rsc } => {
            let (kind, name) = find(rsc)?;
            let id = cib_id(idx, kind, &name);
            Ok(locate_lines(&id, &active_roles(idx, &id)?))
        }
        ResourceCmd::Restart { rsc, timeout } => {
            let (kind, name) = find(rsc)?;
            let id = cib_id(idx, kind, &name);
            if active_nodes(idx, &id, false)?.is_empty() {
                bail!("{id} is not running: nothing to restart");
            }
            set_meta(client, ns, kind, &name, "target-role", json!("Stopped")).await?;
            if wait_for(client, ns, &id, false, Duration::from_secs(*timeout))
                .await?
                .is_none()
            {
                bail!(
                    "{id} did not stop within {timeout}s; it stays target-role=Stopped (`kubectl pacer resource start {id}` to start it)"
                );
            }
            set_meta(client, ns, kind, &name, "target-role", Value::Null).await?;
            Ok(format!("{id} stopped and released to start again"))
        }
        ResourceCmd::Cleanup { rsc, node, timeout } => {
            crate::cli::cleanup::run(
                client,
                ns,
                idx,
                rsc.as_deref(),
                node.as_deref(),
                Duration::from_secs(*timeout),
            )
            .await
        }
    }
}

async fn set_meta(
    client: &Client,
    ns: &str,
    kind: &str,
    name: &str,
    key: &str,
    value: Value,
) -> Result<()> {
    let change = json!({"spec": {"meta": {key: value}}});
    match kind {
        "Primitive" => drop(apply::<Primitive>(client, ns, name, change, false).await?),
        "Group" => drop(apply::<Group>(client, ns, name, change, false).await?),
        "Clone" => drop(apply::<CloneRsc>(client, ns, name, change, false).await?),
        "Bundle" => drop(apply::<pacer_crds::Bundle>(client, ns, name, change, false).await?),
        other => bail!("{other} has no meta attributes"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_says_where_and_in_which_role() {
        assert_eq!(locate_lines("ip", &[]), "resource ip is NOT running");
        let roles = vec![
            ("a".to_string(), "Promoted".to_string()),
            ("b".to_string(), "Unpromoted".to_string()),
        ];
        assert_eq!(
            locate_lines("db", &roles),
            "resource db is running on: a Promoted\nresource db is running on: b"
        );
    }

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("PT1H").unwrap(), 3600);
        assert_eq!(parse_lifetime("P1DT30M").unwrap(), 86400 + 1800);
        assert_eq!(parse_lifetime("30m").unwrap(), 1800);
        assert!(parse_lifetime("soon").is_err());
        assert_eq!(cib_date(0), "1970-01-01 00:00:00Z");
    }
}
