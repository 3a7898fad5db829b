//! systemd units through `systemctl`: an [`ActionRequest`] in, the `systemctl` calls to
//! make and their mapping to OCF codes out.
//!
//! Start and stop block until systemd has finished the job (no `--no-block`), which
//! is what Pacemaker's start/stop semantics need. `monitor` reads `is-active`'s state
//! word. A unit systemd does not know (`LoadState=not-found`) is "not installed" for
//! start, already stopped for stop, and not running for a monitor. A later version
//! should talk D-Bus directly instead of forking systemctl.

use crate::op::OcfRc;

pub const DEFAULT_SYSTEMCTL: &str = "/usr/bin/systemctl";

/// `name` with `.service` appended when it has no unit-type suffix.
pub fn unit_name(name: &str) -> String {
    const SUFFIXES: [&str; 11] = [
        ".service",
        ".socket",
        ".target",
        ".mount",
        ".timer",
        ".path",
        ".slice",
        ".scope",
        ".swap",
        ".device",
        ".automount",
    ];
    if SUFFIXES.iter().any(|s| name.ends_with(s)) {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

/// The systemctl verb for a Pacemaker action.
pub fn verb(action: &str) -> Option<&'static str> {
    match action {
        "start" => Some("start"),
        "stop" => Some("stop"),
        "monitor" | "status" => Some("is-active"),
        "reload" => Some("reload-or-restart"),
        "restart" => Some("restart"),
        _ => None,
    }
}

/// Maps `systemctl is-active`'s printed state to an OCF code.
pub fn map_active_state(state: &str) -> i32 {
    match state.trim() {
        "active" | "reloading" | "refreshing" => OcfRc::SUCCESS,
        "inactive" | "failed" | "dead" => OcfRc::NOT_RUNNING,
        // activating/deactivating: a job is in flight; not a settled "running".
        _ => OcfRc::GENERIC_ERROR,
    }
}

/// Maps `systemctl start|stop|restart` exit codes.
pub fn map_job_exit(code: i32) -> i32 {
    if code == 0 {
        OcfRc::SUCCESS
    } else {
        OcfRc::GENERIC_ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_and_states() {
        assert_eq!(unit_name("nginx"), "nginx.service");
        assert_eq!(unit_name("x.socket"), "x.socket");
        assert_eq!(map_active_state("active\n"), 0);
        assert_eq!(map_active_state("failed"), 7);
        assert_eq!(map_active_state("inactive"), 7);
        assert_eq!(map_active_state("activating"), 1);
        assert_eq!(map_job_exit(5), 1);
        assert_eq!(verb("monitor"), Some("is-active"));
    }
}
