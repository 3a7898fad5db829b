//! `crm_config` → [`ClusterOptions`].

use super::{AttrSetKind, IdIndex, attr_sets, child, rule_eval::Ctx};
use crate::model::{Cluster, NoQuorumPolicy};
use roxmltree::Node as XNode;

pub fn is_true(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "on" | "yes" | "y" | "1"
    )
}

pub fn unpack_options(cl: &mut Cluster, cfg: XNode, idx: &IdIndex, ctx: &Ctx) {
    if let Some(cc) = child(cfg, "crm_config") {
        let o = attr_sets(cc, AttrSetKind::ClusterProperty, idx, ctx, None);
        let opt = &mut cl.options;
        let b = |k: &str, d: bool| o.get(k).map(|v| is_true(v)).unwrap_or(d);
        opt.stonith_enabled = b("stonith-enabled", true);
        opt.symmetric = b("symmetric-cluster", true);
        opt.maintenance_mode = b("maintenance-mode", false);
        opt.stop_all_resources = b("stop-all-resources", false);
        opt.start_failure_is_fatal = b("start-failure-is-fatal", true);
        opt.startup_fencing = b("startup-fencing", true);
        opt.stop_orphan_resources = b("stop-orphan-resources", true);
        opt.shutdown_lock = b("shutdown-lock", false);
        if let Some(v) = o.get("stonith-action") {
            opt.stonith_action = if v == "poweroff" {
                "off".into()
            } else {
                v.clone()
            };
        }
        if let Some(v) = o.get("placement-strategy") {
            opt.placement_strategy = v.clone();
        }
        if let Some(v) = o.get("node-health-strategy") {
            opt.node_health_strategy = v.clone();
        }
        let sc = |k: &str| o.get(k).and_then(|v| crate::score::parse(v));
        if let Some(v) = sc("node-health-red") {
            opt.node_health_red = v;
        }
        if let Some(v) = sc("node-health-yellow") {
            opt.node_health_yellow = v;
        }
        if let Some(v) = sc("node-health-green") {
            opt.node_health_green = v;
        }
        if let Some(v) = sc("default-resource-stickiness") {
            opt.default_stickiness = v;
        }
        opt.no_quorum_policy = match o.get("no-quorum-policy").map(|s| s.as_str()) {
            Some("ignore") => NoQuorumPolicy::Ignore,
            Some("freeze") => NoQuorumPolicy::Freeze,
            Some("suicide") => NoQuorumPolicy::Suicide,
            Some("demote") => NoQuorumPolicy::Demote,
            _ => NoQuorumPolicy::Stop,
        };
        if opt.no_quorum_policy == NoQuorumPolicy::Suicide && !opt.stonith_enabled {
            opt.no_quorum_policy = NoQuorumPolicy::Stop;
        }
    }
    // rsc_defaults and op_defaults: per resource and operation (resources.rs).
}
