//! LSB init scripts (`/etc/init.d/NAME`): an [`ActionRequest`] in, a [`ProcessSpec`] out,
//! and the script's exit code mapped to OCF terms.
//!
//! `monitor` runs `status`, whose LSB codes differ from the other actions': 0 running,
//! 1–3 dead or stopped (all "not running" to Pacemaker), 4 unknown. Other actions use
//! the LSB codes 0–7, which share their meaning with OCF's.

use std::path::{Path, PathBuf};

use crate::{
    op::{ActionRequest, OcfRc},
    process::ProcessSpec,
};

pub const DEFAULT_INIT_DIR: &str = "/etc/init.d";

pub fn script_path(init_dir: &Path, name: &str) -> PathBuf {
    init_dir.join(name)
}

/// The script verb for a Pacemaker action; `None` when LSB has no such action.
pub fn verb(action: &str) -> Option<&'static str> {
    match action {
        "start" => Some("start"),
        "stop" => Some("stop"),
        "monitor" | "status" => Some("status"),
        "restart" => Some("restart"),
        "reload" | "force-reload" => Some("force-reload"),
        _ => None,
    }
}

pub fn process_spec(req: &ActionRequest, init_dir: &Path, name: &str, verb: &str) -> ProcessSpec {
    ProcessSpec::new(script_path(init_dir, name), req.timeout).arg(verb)
}

/// Maps an init script's exit code for `verb` to an OCF code.
pub fn map_exit(verb: &str, code: i32) -> i32 {
    if verb == "status" {
        return match code {
            0 => OcfRc::SUCCESS,
            1..=3 => OcfRc::NOT_RUNNING,
            _ => OcfRc::GENERIC_ERROR,
        };
    }
    match code {
        0..=7 => code,
        _ => OcfRc::GENERIC_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_running_or_not() {
        assert_eq!(map_exit("status", 0), 0);
        for dead in [1, 2, 3] {
            assert_eq!(map_exit("status", dead), 7);
        }
        assert_eq!(map_exit("status", 4), 1);
        assert_eq!(map_exit("start", 5), 5);
        assert_eq!(map_exit("stop", 150), 1);
        assert_eq!(verb("monitor"), Some("status"));
        assert_eq!(verb("promote"), None);
    }
}
