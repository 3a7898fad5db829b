//! Allocation scores as crm_simulate `-s` prints them, and action labels.

use crate::{
    Schedule,
    graph::{Action, Task},
    model::Kind,
    score,
};

pub fn render(s: &Schedule) -> String {
    let cl = &s.cluster;
    let mut out = String::from("Allocation scores:\n");
    for (label, r, w) in &s.placement.scores {
        let f = match cl.resources[*r].kind {
            Kind::Clone => "pcmk__clone_assign",
            Kind::Group => "pcmk__group_assign",
            Kind::Primitive { .. } => "pcmk__primitive_assign",
        };
        for (n, v) in w.iter().enumerate() {
            out.push_str(&format!(
                "{f}: {label} allocation score on {}: {}\n",
                cl.nodes[n].name,
                score::render(*v)
            ));
        }
    }
    out
}

pub fn describe_action(a: &Action) -> String {
    let rsc = a.resource.as_deref().unwrap_or("");
    match &a.task {
        Task::Fence { action } => format!("Fencing {} ({action})", a.node),
        Task::Start => format!("Resource action: {rsc:<15} start on {}", a.node),
        Task::Stop => format!("Resource action: {rsc:<15} stop on {}", a.node),
        Task::Promote => format!("Resource action: {rsc:<15} promote on {}", a.node),
        Task::Demote => format!("Resource action: {rsc:<15} demote on {}", a.node),
        Task::MigrateTo => format!("Resource action: {rsc:<15} migrate_to on {}", a.node),
        Task::MigrateFrom => format!("Resource action: {rsc:<15} migrate_from on {}", a.node),
        Task::Reload => format!("Resource action: {rsc:<15} reload-agent on {}", a.node),
        Task::Monitor { interval_ms } => {
            if *interval_ms == 0 {
                format!("Resource action: {rsc:<15} monitor on {}", a.node)
            } else {
                format!(
                    "Resource action: {rsc:<15} monitor={interval_ms} on {}",
                    a.node
                )
            }
        }
        Task::ClearFailcount => format!("Cluster action:  clear_failcount for {rsc} on {}", a.node),
    }
}
