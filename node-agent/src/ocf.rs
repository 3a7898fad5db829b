//! OCF resource agents: an [`ActionRequest`] in, a [`ProcessSpec`] (agent path plus the
//! OCF environment) out, and back from a [`ProcessOutput`] to an [`ActionResult`]. Also
//! parses an agent's `meta-data` XML into [`MetaData`] (required parameters, defaults,
//! supported actions, which parameters can be reloaded) so a start can be refused with a
//! clear message before it runs and a definition change can be reloaded in place.
//!
//! The environment follows the OCF standard and what Pacemaker passes:
//! `OCF_ROOT`, `OCF_RA_VERSION_*`, `OCF_RESOURCE_INSTANCE/TYPE/PROVIDER`,
//! `OCF_RESKEY_<param>`, `OCF_RESKEY_CRM_meta_<meta>` (dashes become underscores;
//! `timeout` in ms, `interval` in ms) and `OCF_CHECK_LEVEL`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    Error,
    op::{ActionRequest, ActionResult, OcfRc, OpStatus, parse_duration},
    process::{Exit, ProcessOutput, ProcessSpec},
};

pub const DEFAULT_OCF_ROOT: &str = "/usr/lib/ocf";
/// Longest exit reason kept; agents sometimes print whole command outputs there.
pub const EXIT_REASON_MAX: usize = 128;
const EXIT_REASON_PREFIX: &str = "ocf-exit-reason:";

pub fn agent_path(ocf_root: &Path, provider: &str, kind: &str) -> PathBuf {
    ocf_root.join("resource.d").join(provider).join(kind)
}

/// Turns a meta attribute name into its environment form (`clone-max` → `clone_max`).
fn env_key(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The environment for running `req` with an OCF agent.
pub fn environment(
    req: &ActionRequest,
    ocf_root: &Path,
    provider: &str,
    kind: &str,
    node_name: Option<&str>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    env.insert("OCF_ROOT".into(), ocf_root.display().to_string());
    env.insert("OCF_RA_VERSION_MAJOR".into(), "1".into());
    env.insert("OCF_RA_VERSION_MINOR".into(), "1".into());
    env.insert("OCF_RESOURCE_INSTANCE".into(), req.resource.clone());
    env.insert("OCF_RESOURCE_TYPE".into(), kind.into());
    env.insert("OCF_RESOURCE_PROVIDER".into(), provider.into());
    for (name, value) in req.params.iter() {
        env.insert(format!("OCF_RESKEY_{}", env_key(name)), value.clone());
    }
    for (name, value) in &req.meta {
        env.insert(
            format!("OCF_RESKEY_CRM_meta_{}", env_key(name)),
            value.clone(),
        );
    }
    env.insert(
        "OCF_RESKEY_CRM_meta_timeout".into(),
        req.timeout.as_millis().to_string(),
    );
    env.insert(
        "OCF_RESKEY_CRM_meta_interval".into(),
        req.interval.as_millis().to_string(),
    );
    if let Some(node) = node_name {
        env.entry("OCF_RESKEY_CRM_meta_on_node".into())
            .or_insert_with(|| node.to_string());
    }
    if let Some(level) = req.check_level {
        env.insert("OCF_CHECK_LEVEL".into(), level.to_string());
    }
    env.into_iter().collect()
}

/// The process to run for `req`.
pub fn process_spec(
    req: &ActionRequest,
    ocf_root: &Path,
    provider: &str,
    kind: &str,
    node_name: Option<&str>,
) -> ProcessSpec {
    let mut spec = ProcessSpec::new(agent_path(ocf_root, provider, kind), req.timeout)
        .arg(req.action.as_str());
    for (k, v) in environment(req, ocf_root, provider, kind, node_name) {
        spec = spec.env(k, v);
    }
    spec
}

/// The last `ocf-exit-reason:` line of stderr, trimmed and bounded.
pub fn exit_reason(stderr: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(stderr);
    let reason = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix(EXIT_REASON_PREFIX))
        .next_back()?
        .trim();
    if reason.is_empty() {
        return None;
    }
    Some(bound(reason, EXIT_REASON_MAX))
}

/// Cuts `text` to at most `max` bytes on a character boundary.
pub fn bound(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// Maps a finished process to an OCF result. `exit_code_map` translates a class's own
/// exit codes (LSB status...) into OCF codes; OCF agents use the identity.
pub fn interpret(out: &ProcessOutput, exit_code_map: impl Fn(i32) -> i32) -> ActionResult {
    let reason = exit_reason(&out.stderr);
    let (rc, status, fallback) = match &out.exit {
        Exit::Code(code) => (exit_code_map(*code), OpStatus::Done, None),
        Exit::Signal(sig) => (
            OcfRc::GENERIC_ERROR,
            OpStatus::Error,
            Some(format!("agent was killed by signal {sig}")),
        ),
        Exit::TimedOut => (
            OcfRc::GENERIC_ERROR,
            OpStatus::Timeout,
            Some("agent did not finish within its timeout and was killed".into()),
        ),
        Exit::NotFound => (
            OcfRc::NOT_INSTALLED,
            OpStatus::NotInstalled,
            Some("agent program is not installed on this node".into()),
        ),
        Exit::NotExecutable => (
            OcfRc::INSUFFICIENT_PRIVILEGES,
            OpStatus::NotInstalled,
            Some("agent program is not executable".into()),
        ),
        Exit::SpawnFailed(why) => (
            OcfRc::GENERIC_ERROR,
            OpStatus::Error,
            Some(bound(
                &format!("could not run agent: {why}"),
                EXIT_REASON_MAX,
            )),
        ),
    };
    ActionResult {
        rc,
        status,
        exit_reason: reason.or(fallback),
        output: bound(&out.stdout_lossy(), crate::process::DEFAULT_OUTPUT_LIMIT),
        exec_time: out.elapsed,
        queue_time: Duration::ZERO,
    }
}

/// One `<parameter>` of an agent's meta-data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: String,
    pub required: bool,
    pub unique: bool,
    /// `reloadable="1"` (OCF 1.1): a change can be taken by `reload-agent`.
    pub reloadable: bool,
    pub content_type: Option<String>,
    pub default: Option<String>,
    pub shortdesc: Option<String>,
}

/// One `<action>` of an agent's meta-data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionSpec {
    pub name: String,
    pub timeout: Option<Duration>,
    pub interval: Option<Duration>,
    pub depth: Option<u32>,
    pub role: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaData {
    pub name: String,
    /// The agent's own version (`<resource-agent version=...>`).
    pub version: Option<String>,
    /// The OCF standard the agent follows (`<version>` element; absent means 1.0).
    pub ocf_version: Option<String>,
    pub parameters: Vec<ParamSpec>,
    pub actions: Vec<ActionSpec>,
}

/// How an agent takes a changed definition without a stop and a start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadKind {
    /// It advertises `reload-agent` (OCF 1.1): parameters marked `reloadable="1"` can
    /// change in place, every other one needs a restart.
    Agent,
    /// An OCF 1.0 agent advertising `reload`: parameters not marked `unique="1"` can
    /// change in place; the DC's `reload-agent` runs as the agent's `reload`.
    Legacy,
}

impl ReloadKind {
    /// The action to run for the DC's `reload-agent`.
    pub fn action(self) -> &'static str {
        match self {
            ReloadKind::Agent => "reload-agent",
            ReloadKind::Legacy => "reload",
        }
    }
}

/// `"1.1"` → (1, 1); anything unparsable counts as 0.
fn version_tuple(v: &str) -> (u32, u32) {
    let mut parts = v.trim().split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

impl MetaData {
    /// Required parameters that `params` does not set (empty values count as unset).
    pub fn missing_required<'a>(&'a self, params: &crate::op::Params) -> Vec<&'a str> {
        self.parameters
            .iter()
            .filter(|p| p.required && params.get(&p.name).is_none_or(str::is_empty))
            .map(|p| p.name.as_str())
            .collect()
    }

    pub fn supports(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }

    /// Whether (and how) the agent can reload a changed definition. In OCF 1.1 `reload`
    /// means "reload the service's own configuration", so only older agents' `reload`
    /// counts.
    pub fn reload_kind(&self) -> Option<ReloadKind> {
        let ocf = self.ocf_version.as_deref().map_or((1, 0), version_tuple);
        if self.supports("reload-agent") {
            Some(ReloadKind::Agent)
        } else if ocf < (1, 1) && self.supports("reload") {
            Some(ReloadKind::Legacy)
        } else {
            None
        }
    }

    /// The parameters a change of which needs a restart (Pacemaker's `op-force-restart`),
    /// in meta-data order; `None` when the agent cannot reload at all (then every change
    /// restarts).
    pub fn force_restart_params(&self) -> Option<Vec<String>> {
        let kind = self.reload_kind()?;
        Some(
            self.parameters
                .iter()
                .filter(|p| match kind {
                    ReloadKind::Agent => !p.reloadable,
                    ReloadKind::Legacy => p.unique,
                })
                .map(|p| p.name.clone())
                .collect(),
        )
    }

    /// The timeout the agent recommends for `action` (first matching entry).
    pub fn default_timeout(&self, action: &str) -> Option<Duration> {
        self.actions
            .iter()
            .find(|a| a.name == action)
            .and_then(|a| a.timeout)
    }
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// Parses OCF meta-data XML (`<resource-agent>` with `<parameters>` and `<actions>`).
pub fn parse_meta_data(agent: &str, xml: &str) -> Result<MetaData, Error> {
    let bad = |why: String| Error::MetaData {
        agent: agent.to_string(),
        why,
    };
    // Agents declare `<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">`; the DTD is
    // external, so allowing it fetches nothing.
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, opts)
        .map_err(|e| bad(format!("not XML: {e}")))?;
    let root = doc.root_element();
    if root.tag_name().name() != "resource-agent" {
        return Err(bad(format!(
            "root element is <{}>, expected <resource-agent>",
            root.tag_name().name()
        )));
    }
    let flag = |v: Option<&str>| matches!(v, Some("1" | "true" | "yes"));
    let mut parameters = Vec::new();
    if let Some(params) = child(root, "parameters") {
        for p in params
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "parameter")
        {
            let Some(name) = p.attribute("name") else {
                return Err(bad("a <parameter> has no name attribute".into()));
            };
            let content = child(p, "content");
            parameters.push(ParamSpec {
                name: name.to_string(),
                required: flag(p.attribute("required")),
                unique: flag(p.attribute("unique")),
                reloadable: flag(p.attribute("reloadable")),
                content_type: content.and_then(|c| c.attribute("type")).map(String::from),
                default: content
                    .and_then(|c| c.attribute("default"))
                    .map(String::from),
                shortdesc: child(p, "shortdesc")
                    .and_then(|s| s.text())
                    .map(|t| t.trim().to_string()),
            });
        }
    }
    let mut actions = Vec::new();
    if let Some(list) = child(root, "actions") {
        for a in list
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "action")
        {
            let Some(name) = a.attribute("name") else {
                return Err(bad("an <action> has no name attribute".into()));
            };
            let dur = |attr: &str| a.attribute(attr).and_then(|v| parse_duration(v).ok());
            actions.push(ActionSpec {
                name: name.to_string(),
                timeout: dur("timeout"),
                interval: dur("interval"),
                depth: a.attribute("depth").and_then(|d| d.parse().ok()),
                role: a.attribute("role").map(String::from),
            });
        }
    }
    Ok(MetaData {
        name: root.attribute("name").unwrap_or(agent).to_string(),
        version: root.attribute("version").map(String::from),
        ocf_version: child(root, "version")
            .and_then(|v| v.text())
            .map(|t| t.trim().to_string()),
        parameters,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{Agent, Params};

    #[test]
    fn environment_carries_params_meta_and_levels() {
        let agent = Agent::parse("ocf", Some("heartbeat"), "Stateful").unwrap_or_else(|e| {
            panic!("{e}");
        });
        let mut req = ActionRequest::new("db:1", agent, "notify")
            .param("state", "/tmp/s")
            .interval(Duration::from_secs(10))
            .timeout(Duration::from_secs(20))
            .meta("clone-max", "3")
            .meta("notify_type", "pre")
            .meta("notify_operation", "start")
            .meta("notify_start_uname", "n1 n2");
        req.check_level = Some(10);
        let env: BTreeMap<_, _> = environment(
            &req,
            Path::new("/usr/lib/ocf"),
            "heartbeat",
            "Stateful",
            Some("n1"),
        )
        .into_iter()
        .collect();
        let get = |k: &str| env.get(k).map(String::as_str);
        assert_eq!(get("OCF_ROOT"), Some("/usr/lib/ocf"));
        assert_eq!(get("OCF_RESOURCE_INSTANCE"), Some("db:1"));
        assert_eq!(get("OCF_RESOURCE_TYPE"), Some("Stateful"));
        assert_eq!(get("OCF_RESOURCE_PROVIDER"), Some("heartbeat"));
        assert_eq!(get("OCF_RESKEY_state"), Some("/tmp/s"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_clone_max"), Some("3"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_notify_type"), Some("pre"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_notify_operation"), Some("start"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_notify_start_uname"), Some("n1 n2"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_timeout"), Some("20000"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_interval"), Some("10000"));
        assert_eq!(get("OCF_RESKEY_CRM_meta_on_node"), Some("n1"));
        assert_eq!(get("OCF_CHECK_LEVEL"), Some("10"));
        let _ = Params::new();
    }

    #[test]
    fn last_exit_reason_wins_and_is_bounded() {
        let stderr = b"noise\nocf-exit-reason:first\nmore\nocf-exit-reason:  second one \n";
        assert_eq!(exit_reason(stderr).as_deref(), Some("second one"));
        let long = format!("ocf-exit-reason:{}\n", "é".repeat(200));
        let r = exit_reason(long.as_bytes()).unwrap_or_default();
        assert!(r.len() <= EXIT_REASON_MAX && !r.is_empty());
        assert_eq!(exit_reason(b"\xff\xfe garbage"), None);
    }

    #[test]
    fn meta_data_gives_required_params_defaults_and_actions() {
        let xml = r#"<?xml version="1.0"?>
            <!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
            <resource-agent name="IPaddr2" version="1.0">
              <parameters>
                <parameter name="ip" unique="1" required="1">
                  <shortdesc lang="en">IPv4 or IPv6 address</shortdesc>
                  <content type="string" default="" />
                </parameter>
                <parameter name="arp_count"><content type="integer" default="5"/></parameter>
              </parameters>
              <actions>
                <action name="start" timeout="20s"/>
                <action name="monitor" depth="0" timeout="20s" interval="10s"/>
                <action name="validate-all" timeout="20"/>
              </actions>
            </resource-agent>"#;
        let md = parse_meta_data("ocf:heartbeat:IPaddr2", xml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(md.name, "IPaddr2");
        assert_eq!(md.missing_required(&Params::new()), vec!["ip"]);
        assert!(
            md.missing_required(&Params::new().with("ip", "10.0.0.1"))
                .is_empty()
        );
        assert_eq!(md.parameters[1].default.as_deref(), Some("5"));
        assert!(md.supports("validate-all"));
        assert!(!md.supports("promote"));
        assert_eq!(
            md.default_timeout("validate-all"),
            Some(Duration::from_secs(20))
        );
        assert!(parse_meta_data("x", "<html/>").is_err());
        assert!(parse_meta_data("x", "garbage <<<").is_err());
        // No reload action: every change restarts.
        assert_eq!(md.reload_kind(), None);
        assert_eq!(md.force_restart_params(), None);
    }

    fn with_actions(version: &str, params: &str, actions: &[&str]) -> MetaData {
        let actions: String = actions
            .iter()
            .map(|a| format!(r#"<action name="{a}" timeout="20s"/>"#))
            .collect();
        let xml = format!(
            r#"<resource-agent name="R" version="2.1"><version>{version}</version>
               <parameters>{params}</parameters><actions>{actions}</actions></resource-agent>"#
        );
        parse_meta_data("ocf:test:R", &xml).unwrap_or_else(|e| panic!("{e}"))
    }

    const PARAMS: &str = r#"<parameter name="state" unique="1"><content type="string"/></parameter>
        <parameter name="fake" unique="0" reloadable="1"><content type="string"/></parameter>
        <parameter name="port"><content type="integer"/></parameter>"#;

    #[test]
    fn reload_agent_restarts_for_parameters_not_marked_reloadable() {
        let md = with_actions("1.1", PARAMS, &["start", "reload", "reload-agent"]);
        assert_eq!(md.ocf_version.as_deref(), Some("1.1"));
        assert_eq!(md.version.as_deref(), Some("2.1"));
        assert_eq!(md.reload_kind(), Some(ReloadKind::Agent));
        assert_eq!(
            md.reload_kind().map(ReloadKind::action),
            Some("reload-agent")
        );
        assert_eq!(
            md.force_restart_params(),
            Some(vec!["state".to_string(), "port".to_string()])
        );
    }

    #[test]
    fn legacy_reload_restarts_for_unique_parameters_only() {
        for version in ["1.0", "0.9"] {
            let md = with_actions(version, PARAMS, &["start", "reload"]);
            assert_eq!(md.reload_kind(), Some(ReloadKind::Legacy), "{version}");
            assert_eq!(md.reload_kind().map(ReloadKind::action), Some("reload"));
            assert_eq!(md.force_restart_params(), Some(vec!["state".to_string()]));
        }
        // Without a <version> element an agent is OCF 1.0.
        let xml = r#"<resource-agent name="R"><parameters/><actions>
            <action name="reload"/></actions></resource-agent>"#;
        let md = parse_meta_data("ocf:test:R", xml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(md.reload_kind(), Some(ReloadKind::Legacy));
        assert_eq!(md.force_restart_params(), Some(vec![]));
        // An OCF 1.1 `reload` reloads the service's configuration, not the agent's.
        let md = with_actions("1.1", PARAMS, &["start", "reload"]);
        assert_eq!(md.reload_kind(), None);
        assert_eq!(md.force_restart_params(), None);
    }
}
