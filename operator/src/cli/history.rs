//! `kubectl pacer history`: the cluster's Transitions (Pacemaker's pe-input/transition
//! log), newest last: sequence, phase, action counts and results; `-v` lists every action
//! with its state and rc, and the crm_simulate-style summary the DC recorded.
//!
//! Pure: [`render`] turns Transition objects into text.

use pacer_crds::Transition;

/// Text for `history` (`verbose` adds actions and summaries; `limit` keeps the newest).
pub fn render(transitions: &[Transition], verbose: bool, limit: Option<usize>) -> String {
    let mut ts: Vec<&Transition> = transitions.iter().collect();
    ts.sort_by_key(|t| t.spec.seq);
    if let Some(n) = limit {
        let skip = ts.len().saturating_sub(n);
        ts.drain(..skip);
    }
    if ts.is_empty() {
        return "No transitions.\n".into();
    }
    let mut out = format!(
        "{:<6} {:<10} {:<9} {:>7} {:>9} {:>6}  {}\n",
        "SEQ", "NAME", "PHASE", "ACTIONS", "CONFIRMED", "FAILED", "FINISHED / REASON"
    );
    for t in ts {
        let st = t.status.clone().unwrap_or_default();
        let failed = st
            .actions
            .values()
            .filter(|a| matches!(a.state.as_str(), "Failed" | "TimedOut"))
            .count();
        let confirmed = st.confirmed.unwrap_or_else(|| {
            st.actions
                .values()
                .filter(|a| a.state == "Confirmed")
                .count() as i64
        });
        let when = st
            .finished
            .as_ref()
            .map(|f| f.0.strftime("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let reason = st
            .reason
            .clone()
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:<6} {:<10} {:<9} {:>7} {:>9} {:>6}  {when}{reason}\n",
            t.spec.seq,
            t.metadata.name.clone().unwrap_or_default(),
            st.phase.clone().unwrap_or_else(|| "Running".into()),
            t.spec.actions.len(),
            confirmed,
            failed,
        ));
        if verbose {
            for l in &t.spec.summary {
                out.push_str(&format!("       {}\n", l.trim_start()));
            }
            for a in &t.spec.actions {
                let s = st.actions.get(&a.id.to_string());
                let state = s.map_or("Pending", |s| s.state.as_str());
                let what = match (&a.resource, a.task.as_str()) {
                    (Some(r), task) if a.interval_ms > 0 => format!("{r}_{task}_{}", a.interval_ms),
                    (Some(r), task) => format!("{r} {task}"),
                    (None, task) => {
                        format!("{task} {}", a.fence_action.as_deref().unwrap_or_default())
                    }
                };
                let rc = s
                    .and_then(|s| s.rc)
                    .map(|rc| format!(" rc={rc}"))
                    .unwrap_or_default();
                let msg = s
                    .and_then(|s| s.message.clone())
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "       {:>3} {what} on {}: {state}{rc}{msg}\n",
                    a.id, a.node
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pacer_crds::{TransitionAction, TransitionActionStatus, TransitionSpec, TransitionStatus};

    #[test]
    fn lists_transitions_in_sequence_with_results() {
        let mk = |seq: i64, phase: &str| {
            let mut t = Transition::new(
                &format!("t-{seq}"),
                TransitionSpec {
                    seq,
                    actions: vec![TransitionAction {
                        id: 0,
                        task: "start".into(),
                        resource: Some("ip".into()),
                        node: "n1".into(),
                        ..Default::default()
                    }],
                    summary: vec!["  * Start      ip      ( n1 )".into()],
                    ..Default::default()
                },
            );
            let mut st = TransitionStatus {
                phase: Some(phase.into()),
                ..Default::default()
            };
            st.actions.insert(
                "0".into(),
                TransitionActionStatus {
                    state: if phase == "Complete" {
                        "Confirmed"
                    } else {
                        "Failed"
                    }
                    .into(),
                    rc: Some(if phase == "Complete" { 0 } else { 1 }),
                    ..Default::default()
                },
            );
            t.status = Some(st);
            t
        };
        let text = render(&[mk(2, "Aborted"), mk(1, "Complete")], true, None);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("1      t-1        Complete"), "{text}");
        assert!(text.contains("0 ip start on n1: Confirmed rc=0"), "{text}");
        assert!(text.contains("0 ip start on n1: Failed rc=1"), "{text}");
        assert!(text.contains("Start      ip      ( n1 )"), "{text}");
        let last = render(&[mk(2, "Aborted"), mk(1, "Complete")], false, Some(1));
        assert_eq!(last.lines().count(), 2, "{last}");
        assert!(last.contains("t-2"));
    }
}
