//! Fence agents (`/usr/sbin/fence_*`) over their stdin protocol: device parameters and
//! an action in, the `key=value` lines for stdin and the OCF-mapped result out.
//!
//! Credentials reach the agent only through stdin: never argv (visible in `ps`), never
//! the environment (visible in `/proc/PID/environ`), never our logs (`Params` hides
//! values from `Debug`). Pacemaker-only parameters (`pcmk_*`) are not passed on.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use crate::{
    Error,
    op::{OcfRc, Params},
    process::ProcessSpec,
};

pub const DEFAULT_FENCE_DIR: &str = "/usr/sbin";

/// What a fence agent can be asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FenceAction {
    Off,
    On,
    Reboot,
    Status,
    Monitor,
    List,
    ListStatus,
    Metadata,
    ValidateAll,
}

impl FenceAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FenceAction::Off => "off",
            FenceAction::On => "on",
            FenceAction::Reboot => "reboot",
            FenceAction::Status => "status",
            FenceAction::Monitor => "monitor",
            FenceAction::List => "list",
            FenceAction::ListStatus => "list-status",
            FenceAction::Metadata => "metadata",
            FenceAction::ValidateAll => "validate-all",
        }
    }

    pub fn parse(text: &str) -> Option<FenceAction> {
        Some(match text {
            "off" => FenceAction::Off,
            "on" => FenceAction::On,
            "reboot" => FenceAction::Reboot,
            "status" => FenceAction::Status,
            "monitor" => FenceAction::Monitor,
            "list" => FenceAction::List,
            "list-status" => FenceAction::ListStatus,
            "metadata" | "meta-data" => FenceAction::Metadata,
            "validate-all" => FenceAction::ValidateAll,
            _ => return None,
        })
    }
}

/// The fence action behind a resource action on a stonith device. `start` checks the
/// device is reachable (Pacemaker registers the device and monitors it); `stop` only
/// unregisters, so nothing runs (`None`).
pub fn device_action(action: &str) -> Option<FenceAction> {
    match action {
        "start" | "monitor" | "status" => Some(FenceAction::Monitor),
        "meta-data" => Some(FenceAction::Metadata),
        "validate-all" => Some(FenceAction::ValidateAll),
        _ => None,
    }
}

/// Devices started on this node (Pacemaker: registered with the local fencer). A probe
/// of a device not started here answers "not running" without asking the BMC, so a
/// device does not look active on every node that can reach its BMC.
static REGISTERED: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

pub fn register(device: &str) {
    if let Ok(mut r) = REGISTERED.lock() {
        r.insert(device.to_string());
    }
}

pub fn unregister(device: &str) {
    if let Ok(mut r) = REGISTERED.lock() {
        r.remove(device);
    }
}

pub fn registered(device: &str) -> bool {
    REGISTERED.lock().is_ok_and(|r| r.contains(device))
}

pub fn agent_path(dir: &Path, kind: &str) -> PathBuf {
    dir.join(kind)
}

/// The stdin document: one `key=value` line per device parameter, then `action=` and
/// `plug=`. A value containing a line break could smuggle extra keys and is refused.
pub fn stdin_payload(
    device: &str,
    params: &Params,
    action: FenceAction,
    plug: Option<&str>,
) -> Result<Vec<u8>, Error> {
    let mut text = String::new();
    let mut line = |key: &str, value: &str| -> Result<(), Error> {
        if key.contains(['\n', '\r', '=']) || value.contains(['\n', '\r']) {
            return Err(Error::InvalidParam {
                resource: device.to_string(),
                param: key.to_string(),
                why: "fence device parameters must not contain line breaks (or '=' in names)"
                    .into(),
            });
        }
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push('\n');
        Ok(())
    };
    for (key, value) in params.iter() {
        if key.starts_with("pcmk_") || key == "action" || key == "plug" || key == "port" {
            continue;
        }
        line(key, value)?;
    }
    line("action", action.as_str())?;
    if let Some(plug) = plug {
        line("plug", plug)?;
    }
    Ok(text.into_bytes())
}

pub fn process_spec(dir: &Path, kind: &str, timeout: Duration, stdin: Vec<u8>) -> ProcessSpec {
    let mut spec = ProcessSpec::new(agent_path(dir, kind), timeout)
        .env("PYTHONWARNINGS", "ignore")
        .env("LANG", "C.UTF-8");
    spec.stdin = Some(stdin);
    spec
}

/// Whether a parameter holds a credential (`password`, `passwd`, `passwd_script`,
/// `community`, `secret`, `key`...).
pub fn is_secret(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "secret", "community", "token", "key"]
        .iter()
        .any(|w| n.contains(w))
}

/// Replaces every secret parameter value found in `text` by `****`.
pub fn redact(text: &str, params: &Params) -> String {
    let mut out = text.to_string();
    for (k, v) in params.iter() {
        if is_secret(k) && v.len() >= 3 {
            out = out.replace(v.as_str(), "****");
        }
    }
    out
}

/// Maps a fence agent's exit code: `status` answers 0 for powered on and 2 for off;
/// everything else is 0 for success.
pub fn map_exit(action: FenceAction, code: i32) -> i32 {
    match (action, code) {
        (_, 0) => OcfRc::SUCCESS,
        (FenceAction::Status, 2) => OcfRc::NOT_RUNNING,
        _ => OcfRc::GENERIC_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_has_params_action_and_plug_but_no_pacemaker_keys() {
        let params = Params::new()
            .with("ip", "127.0.0.1")
            .with("password", "s3cret")
            .with("pcmk_host_list", "n1 n2");
        let text = String::from_utf8(
            stdin_payload("fence1", &params, FenceAction::Off, Some("n1")).unwrap_or_default(),
        )
        .unwrap_or_default();
        assert_eq!(text, "ip=127.0.0.1\npassword=s3cret\naction=off\nplug=n1\n");
    }

    #[test]
    fn line_breaks_cannot_inject_keys() {
        let params = Params::new().with("password", "x\naction=reboot");
        let err = stdin_payload("fence1", &params, FenceAction::Status, None);
        assert!(matches!(err, Err(Error::InvalidParam { ref param, .. }) if param == "password"));
    }

    #[test]
    fn secrets_are_redacted() {
        let p = Params::new()
            .with("password", "hunter2")
            .with("ip", "10.0.0.1");
        assert_eq!(
            redact("ipmitool -P hunter2 -H 10.0.0.1", &p),
            "ipmitool -P **** -H 10.0.0.1"
        );
    }

    #[test]
    fn status_off_is_not_running() {
        assert_eq!(map_exit(FenceAction::Status, 2), 7);
        assert_eq!(map_exit(FenceAction::Off, 2), 1);
        assert_eq!(map_exit(FenceAction::Monitor, 0), 0);
        assert_eq!(device_action("stop"), None);
    }
}
