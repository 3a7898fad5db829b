//! `pacer simulate`: crm_simulate-style text (cluster status, Transition Summary,
//! optional scores and dot graph) for a CIB given as XML.

use crate::{Schedule, schedule, status_text};

/// What `pacer simulate` was asked to print.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Evaluate rules at this time ("YYYY-MM-DD HH:MM:SS", crm_simulate's `-t`);
    /// `None` means the CIB's own `execution-date` or the epoch.
    pub now: Option<String>,
    /// Print allocation scores (crm_simulate `-s`).
    pub show_scores: bool,
    /// Append the action graph in Graphviz dot syntax.
    pub graph_dot: bool,
}

/// Parse crm_simulate's date forms: `YYYY-MM-DD[ T]HH:MM[:SS]`, `YYYY-DDD[THH:MM]`
/// (ordinal day), or a plain epoch number.
pub fn parse_now(s: &str) -> Result<i64, crate::Error> {
    let err = |reason: &str| crate::Error::Date {
        value: s.to_string(),
        reason: reason.to_string(),
    };
    let t = s.trim();
    if let Ok(d) = crate::rules::DateTime::parse(t)
        && !(t.chars().all(|c| c.is_ascii_digit()) && t.len() > 4)
    {
        return Ok(d.epoch());
    }
    if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) && t.len() > 4 {
        return t.parse().map_err(|_| err("not a number"));
    }
    let (date, time) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let parts: Vec<&str> = date.split('-').collect();
    let days = match parts.as_slice() {
        [y, d] if d.len() == 3 => {
            let y: i64 = y.parse().map_err(|_| err("bad year"))?;
            let d: i64 = d.parse().map_err(|_| err("bad day of year"))?;
            crate::unpack::rule_eval::days_from_civil(y, 1, 1) + d - 1
        }
        [y, m, d] => {
            let y: i64 = y.parse().map_err(|_| err("bad year"))?;
            let m: i64 = m.parse().map_err(|_| err("bad month"))?;
            let d: i64 = d.parse().map_err(|_| err("bad day"))?;
            crate::unpack::rule_eval::days_from_civil(y, m, d)
        }
        _ => return Err(err("unrecognised date")),
    };
    let mut secs = 0;
    if !time.is_empty() {
        let tp: Vec<&str> = time.trim_end_matches('Z').split(':').collect();
        let mult = [3600, 60, 1];
        for (i, p) in tp.iter().enumerate().take(3) {
            let v: i64 = p
                .split('.')
                .next()
                .unwrap_or("0")
                .parse()
                .map_err(|_| err("bad time"))?;
            secs += v * mult[i];
        }
    }
    Ok(days * 86400 + secs)
}

/// Run the scheduler on a CIB and render crm_simulate-compatible output.
pub fn simulate_xml(xml: &str, opts: &Options) -> Result<String, crate::Error> {
    let now = match &opts.now {
        Some(s) => Some(parse_now(s)?),
        None => None,
    };
    let sched: Schedule = schedule(xml, now)?;
    let mut out = String::new();
    for w in &sched.cluster.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str("Current cluster status:\n");
    out.push_str(&status_text::render(&sched.cluster));
    out.push('\n');
    if opts.show_scores {
        out.push_str(&crate::scores::render(&sched));
        out.push('\n');
    }
    out.push_str("Transition Summary:\n");
    for l in &sched.summary {
        out.push_str(l);
        out.push('\n');
    }
    out.push('\n');
    out.push_str("Executing Cluster Transition:\n");
    for a in &sched.graph.actions {
        out.push_str(&format!("  * {}\n", crate::scores::describe_action(a)));
    }
    if opts.graph_dot {
        out.push_str("\ndigraph \"g\" {\n");
        for a in &sched.graph.actions {
            out.push_str(&format!(
                "\"{}\" [ style=bold ]\n",
                crate::scores::describe_action(a)
            ));
        }
        for e in &sched.graph.edges {
            out.push_str(&format!(
                "\"{}\" -> \"{}\"\n",
                crate::scores::describe_action(&sched.graph.actions[e.before]),
                crate::scores::describe_action(&sched.graph.actions[e.after])
            ));
        }
        out.push_str("}\n");
    }
    Ok(out)
}
