//! The vocabulary shared by every agent class: what to run ([`ActionRequest`] naming an
//! [`Agent`]) and what came back ([`ActionResult`]: OCF return code, execution status,
//! exit reason, timings). Pure data; no I/O.
//!
//! Return codes are always expressed in OCF terms, whatever the class: LSB, systemd and
//! fence-agent results are mapped into them by their modules, so history, monitors and
//! the operator only ever see one scale ([`OcfRc`]).

use serde::{Deserialize, Serialize};
use std::{collections::BTreeMap, fmt, time::Duration};

use crate::Error;

/// Which agent implements a resource: Pacemaker's `class:provider:type` triple.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "class", rename_all = "lowercase")]
pub enum Agent {
    /// `/usr/lib/ocf/resource.d/PROVIDER/TYPE`.
    Ocf {
        provider: String,
        #[serde(rename = "type")]
        kind: String,
    },
    /// `/etc/init.d/TYPE`.
    Lsb {
        #[serde(rename = "type")]
        kind: String,
    },
    /// A systemd unit; `.service` is appended when the name has no unit suffix.
    Systemd {
        #[serde(rename = "type")]
        kind: String,
    },
    /// A fence agent such as `fence_ipmilan`.
    Stonith {
        #[serde(rename = "type")]
        kind: String,
    },
    /// Built into the agent (`pacer:IPaddr2`), no process is forked.
    Pacer {
        #[serde(rename = "type")]
        kind: String,
    },
}

impl Agent {
    /// Builds an agent from the three strings a user writes (`ocf`, `heartbeat`, `Dummy`),
    /// refusing names that could escape the agent directories.
    pub fn parse(class: &str, provider: Option<&str>, kind: &str) -> Result<Agent, Error> {
        check_name("type", kind)?;
        if let Some(p) = provider {
            check_name("provider", p)?;
        }
        let kind = kind.to_string();
        match class {
            "ocf" => match provider {
                Some(p) => Ok(Agent::Ocf {
                    provider: p.to_string(),
                    kind,
                }),
                None => Err(Error::InvalidAgent(format!(
                    "class ocf needs a provider (e.g. heartbeat) for type '{kind}'"
                ))),
            },
            "lsb" => Ok(Agent::Lsb { kind }),
            "systemd" | "service" => Ok(Agent::Systemd { kind }),
            "stonith" => Ok(Agent::Stonith { kind }),
            "pacer" => Ok(Agent::Pacer { kind }),
            other => Err(Error::InvalidAgent(format!(
                "unknown class '{other}'; use ocf, lsb, systemd, stonith or pacer"
            ))),
        }
    }

    /// `ocf:heartbeat:Dummy`, `lsb:foo`, ... as Pacemaker prints it.
    pub fn standard_name(&self) -> String {
        match self {
            Agent::Ocf { provider, kind } => format!("ocf:{provider}:{kind}"),
            Agent::Lsb { kind } => format!("lsb:{kind}"),
            Agent::Systemd { kind } => format!("systemd:{kind}"),
            Agent::Stonith { kind } => format!("stonith:{kind}"),
            Agent::Pacer { kind } => format!("pacer:{kind}"),
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.standard_name())
    }
}

fn check_name(field: &str, value: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidAgent(format!(
            "agent {field} '{value}' must be non-empty and use only letters, digits, '-', '_', '.', '@', ':'"
        )))
    }
}

/// Resource parameters. `Debug` prints only the names: values may be credentials.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    pub fn new() -> Params {
        Params::default()
    }
    pub fn with(mut self, name: &str, value: &str) -> Params {
        self.0.insert(name.to_string(), value.to_string());
        self
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl FromIterator<(String, String)> for Params {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Params {
        Params(iter.into_iter().collect())
    }
}

/// One operation to run on one resource.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// Resource id (for clones the instance id, e.g. `db:1`).
    pub resource: String,
    pub agent: Agent,
    /// `start`, `stop`, `monitor`, `promote`, `demote`, `notify`, `reload`, `migrate_to`,
    /// `migrate_from`, `validate-all`, `meta-data`.
    pub action: String,
    /// 0 for one-shot actions (and probes); > 0 makes a monitor recurring.
    #[serde(with = "duration_ms")]
    pub interval: Duration,
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
    pub params: Params,
    /// Extra meta attributes passed as `OCF_RESKEY_CRM_meta_<name>` (clone and notify
    /// variables...). `timeout` and `interval` are added from the fields above.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// `OCF_CHECK_LEVEL` (monitor depth).
    #[serde(default)]
    pub check_level: Option<u32>,
    /// The rc the transition expects (`target-rc`); a different rc is a failure. `None`
    /// uses the usual expectation (see [`ActionRequest::expected_rc`]).
    #[serde(default)]
    pub expected_rc: Option<i32>,
    /// The transition action this runs for (Pacemaker's `transition-key`,
    /// `ACTION:GRAPH:TARGET_RC:UUID`), echoed in the history so the operator can match
    /// results to its graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition_key: Option<String>,
    /// Names of parameters read from Secrets: passed to the agent, but left out of the
    /// recorded digest (the scheduler never sees their values).
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub secret_params: std::collections::BTreeSet<String>,
}

impl ActionRequest {
    pub fn new(resource: &str, agent: Agent, action: &str) -> ActionRequest {
        ActionRequest {
            resource: resource.to_string(),
            agent,
            action: action.to_string(),
            interval: Duration::ZERO,
            timeout: Duration::from_secs(20),
            params: Params::new(),
            meta: BTreeMap::new(),
            check_level: None,
            expected_rc: None,
            transition_key: None,
            secret_params: Default::default(),
        }
    }
    pub fn param(mut self, name: &str, value: &str) -> ActionRequest {
        self.params.0.insert(name.to_string(), value.to_string());
        self
    }
    pub fn interval(mut self, interval: Duration) -> ActionRequest {
        self.interval = interval;
        self
    }
    pub fn timeout(mut self, timeout: Duration) -> ActionRequest {
        self.timeout = timeout;
        self
    }
    pub fn meta(mut self, name: &str, value: &str) -> ActionRequest {
        self.meta.insert(name.to_string(), value.to_string());
        self
    }

    /// A probe is a one-shot monitor: it asks "is it running here?", so 0, 7 and 8 are
    /// all answers rather than failures.
    pub fn is_probe(&self) -> bool {
        self.action == "monitor" && self.interval.is_zero()
    }

    pub fn is_recurring(&self) -> bool {
        !self.interval.is_zero()
    }

    /// The rc that counts as success: the transition's `target-rc` if given, else 0.
    pub fn expected_rc(&self) -> i32 {
        self.expected_rc.unwrap_or(0)
    }

    /// Pacemaker's operation key: `RSC_ACTION_INTERVALMS`.
    /// The parameters that define the resource: all but those read from Secrets.
    pub fn defining_params(&self) -> Params {
        self.params
            .iter()
            .filter(|(k, _)| !self.secret_params.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn op_key(&self) -> String {
        format!(
            "{}_{}_{}",
            self.resource,
            self.action,
            self.interval.as_millis()
        )
    }
}

/// Execution status of an operation (`op-status` in Pacemaker's lrm history; the numeric
/// codes are the ones stored there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OpStatus {
    /// Running now (record-pending); the history shows call id -1.
    Pending,
    /// The agent ran to completion; the rc tells the outcome.
    Done,
    /// Cancelled before completion (recurring monitor stopped).
    Cancelled,
    /// Did not finish within its timeout; its process group was killed.
    Timeout,
    /// The class or action is not supported here.
    NotSupported,
    /// Completed with an unexpected rc, or died on a signal.
    Error,
    /// Failed in a way that will not go away on retry on this node.
    ErrorHard,
    /// Failed in a way that will not go away on any node (configuration).
    ErrorFatal,
    /// The agent program is not installed on this node.
    NotInstalled,
}

impl OpStatus {
    /// The number Pacemaker stores as `op-status`.
    pub fn code(self) -> i32 {
        match self {
            OpStatus::Pending => -1,
            OpStatus::Done => 0,
            OpStatus::Cancelled => 1,
            OpStatus::Timeout => 2,
            OpStatus::NotSupported => 3,
            OpStatus::Error => 4,
            OpStatus::ErrorHard => 5,
            OpStatus::ErrorFatal => 6,
            OpStatus::NotInstalled => 7,
        }
    }
}

/// OCF return codes and what Pacemaker makes of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OcfRc {
    Success,
    GenericError,
    InvalidArgs,
    Unimplemented,
    InsufficientPrivileges,
    NotInstalled,
    NotConfigured,
    NotRunning,
    RunningPromoted,
    FailedPromoted,
    Degraded,
    DegradedPromoted,
    Other(i32),
}

/// How far a failure reaches: retry here, ban from this node, or ban everywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Not an error in itself (whether it is *expected* depends on the action).
    None,
    /// Recoverable: may be retried on this node (rc 1, 7 or 9 when unexpected).
    Soft,
    /// The resource cannot run on this node (rc 2, 3, 4, 5).
    Hard,
    /// The resource cannot run anywhere until the configuration is fixed (rc 6).
    Fatal,
}

impl OcfRc {
    pub const SUCCESS: i32 = 0;
    pub const GENERIC_ERROR: i32 = 1;
    pub const INVALID_ARGS: i32 = 2;
    pub const UNIMPLEMENTED: i32 = 3;
    pub const INSUFFICIENT_PRIVILEGES: i32 = 4;
    pub const NOT_INSTALLED: i32 = 5;
    pub const NOT_CONFIGURED: i32 = 6;
    pub const NOT_RUNNING: i32 = 7;
    pub const RUNNING_PROMOTED: i32 = 8;
    pub const FAILED_PROMOTED: i32 = 9;
    pub const DEGRADED: i32 = 190;
    pub const DEGRADED_PROMOTED: i32 = 191;

    pub fn from_code(rc: i32) -> OcfRc {
        match rc {
            0 => OcfRc::Success,
            1 => OcfRc::GenericError,
            2 => OcfRc::InvalidArgs,
            3 => OcfRc::Unimplemented,
            4 => OcfRc::InsufficientPrivileges,
            5 => OcfRc::NotInstalled,
            6 => OcfRc::NotConfigured,
            7 => OcfRc::NotRunning,
            8 => OcfRc::RunningPromoted,
            9 => OcfRc::FailedPromoted,
            190 => OcfRc::Degraded,
            191 => OcfRc::DegradedPromoted,
            other => OcfRc::Other(other),
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            OcfRc::Success
            | OcfRc::RunningPromoted
            | OcfRc::Degraded
            | OcfRc::DegradedPromoted
            | OcfRc::NotRunning => Severity::None,
            OcfRc::GenericError | OcfRc::FailedPromoted | OcfRc::Other(_) => Severity::Soft,
            OcfRc::InvalidArgs
            | OcfRc::Unimplemented
            | OcfRc::InsufficientPrivileges
            | OcfRc::NotInstalled => Severity::Hard,
            OcfRc::NotConfigured => Severity::Fatal,
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            OcfRc::Success => "ok",
            OcfRc::GenericError => "error",
            OcfRc::InvalidArgs => "invalid parameter",
            OcfRc::Unimplemented => "unimplemented feature",
            OcfRc::InsufficientPrivileges => "insufficient privileges",
            OcfRc::NotInstalled => "not installed",
            OcfRc::NotConfigured => "not configured",
            OcfRc::NotRunning => "not running",
            OcfRc::RunningPromoted => "promoted",
            OcfRc::FailedPromoted => "promoted (failed)",
            OcfRc::Degraded => "degraded",
            OcfRc::DegradedPromoted => "promoted (degraded)",
            OcfRc::Other(_) => "unknown",
        }
    }
}

/// What an agent run produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActionResult {
    /// OCF return code (mapped for non-OCF classes).
    pub rc: i32,
    pub status: OpStatus,
    /// The last `ocf-exit-reason:` line, or the executor's own explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_reason: Option<String>,
    /// Agent stdout (bounded; `meta-data` and `list` need it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    #[serde(with = "duration_ms")]
    pub exec_time: Duration,
    #[serde(with = "duration_ms")]
    pub queue_time: Duration,
}

impl ActionResult {
    /// A result the executor decides on without running anything.
    pub fn synthetic(rc: i32, status: OpStatus, reason: impl Into<String>) -> ActionResult {
        ActionResult {
            rc,
            status,
            exit_reason: Some(reason.into()),
            output: String::new(),
            exec_time: Duration::ZERO,
            queue_time: Duration::ZERO,
        }
    }

    pub fn ok() -> ActionResult {
        ActionResult {
            rc: 0,
            status: OpStatus::Done,
            exit_reason: None,
            output: String::new(),
            exec_time: Duration::ZERO,
            queue_time: Duration::ZERO,
        }
    }

    pub fn severity(&self) -> Severity {
        match self.status {
            OpStatus::Done | OpStatus::Pending | OpStatus::Cancelled => {
                OcfRc::from_code(self.rc).severity()
            }
            OpStatus::Timeout | OpStatus::Error => Severity::Soft,
            OpStatus::NotSupported | OpStatus::ErrorHard | OpStatus::NotInstalled => Severity::Hard,
            OpStatus::ErrorFatal => Severity::Fatal,
        }
    }
}

/// Parses a Pacemaker interval/timeout: a bare number is seconds; suffixes `ms`/`msec`,
/// `s`/`sec`, `m`/`min`, `h`/`hr` are accepted (`20s`, `500ms`, `1m`).
pub fn parse_duration(text: &str) -> Result<Duration, Error> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        Error::InvalidDuration(format!(
            "'{text}' is not a duration; write e.g. 20s, 500ms, 2m or a number of seconds"
        ))
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let ms = match unit.trim() {
        "" | "s" | "sec" => n.checked_mul(1000),
        "ms" | "msec" => Some(n),
        "m" | "min" => n.checked_mul(60_000),
        "h" | "hr" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Duration::from_millis(ms))
}

/// `Duration` as integer milliseconds, the unit Pacemaker uses for op timings.
pub mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_names_cannot_escape_directories() {
        assert!(Agent::parse("ocf", Some("heartbeat"), "Dummy").is_ok());
        assert!(Agent::parse("ocf", Some(".."), "Dummy").is_err());
        assert!(Agent::parse("ocf", Some("heartbeat"), "../../bin/sh").is_err());
        assert!(Agent::parse("ocf", None, "Dummy").is_err());
        assert!(Agent::parse("nope", None, "x").is_err());
    }

    #[test]
    fn rc_severity_follows_pacemaker() {
        assert_eq!(OcfRc::from_code(1).severity(), Severity::Soft);
        for hard in [2, 3, 4, 5] {
            assert_eq!(
                OcfRc::from_code(hard).severity(),
                Severity::Hard,
                "rc {hard}"
            );
        }
        assert_eq!(OcfRc::from_code(6).severity(), Severity::Fatal);
        assert_eq!(OcfRc::from_code(190).severity(), Severity::None);
        assert_eq!(OcfRc::from_code(191), OcfRc::DegradedPromoted);
    }

    #[test]
    fn durations_in_pacemaker_forms() {
        assert_eq!(parse_duration("20s").ok(), Some(Duration::from_secs(20)));
        assert_eq!(parse_duration("20").ok(), Some(Duration::from_secs(20)));
        assert_eq!(
            parse_duration("500ms").ok(),
            Some(Duration::from_millis(500))
        );
        assert_eq!(parse_duration("2min").ok(), Some(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn params_debug_hides_values() {
        let p = Params::new().with("password", "hunter2");
        let shown = format!("{p:?}");
        assert!(shown.contains("password"));
        assert!(!shown.contains("hunter2"));
    }
}
