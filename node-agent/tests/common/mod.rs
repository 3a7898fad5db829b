//! Test helpers: throw-away OCF roots with scripted agents, process-group inspection,
//! and network-namespace "hosts" cleaned up by a Drop guard.
#![allow(dead_code)]

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
};

/// A temporary OCF root with agents under `resource.d/test/`.
pub struct OcfRoot {
    pub dir: tempfile::TempDir,
}

impl OcfRoot {
    pub fn new() -> OcfRoot {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("resource.d/test")).expect("mkdir");
        OcfRoot { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    /// Writes an executable agent `resource.d/test/NAME` with `body` (a shell script).
    pub fn agent(&self, name: &str, body: &str) -> PathBuf {
        let p = self.dir.path().join("resource.d/test").join(name);
        write_exec(&p, body);
        p
    }
}

pub fn write_exec(path: &Path, body: &str) {
    std::fs::write(path, body).expect("write agent");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Pids of live (non-zombie) processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string() {
            out.push(pid);
        }
    }
    out
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Network namespaces forming a LAN: one bridge namespace and hosts attached to it by
/// veth pairs (`eth0` inside each host). Everything is deleted on drop, also when the
/// test panics.
pub struct Lan {
    pub bridge: String,
    pub hosts: Vec<String>,
}

impl Lan {
    /// Hosts get `10.213.0.(10+i)/24` on `eth0`; names are unique per process and call.
    pub fn new(tag: &str, host_count: usize) -> Lan {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let base = format!("pacer-t-{}-{tag}{n}", std::process::id());
        let mut lan = Lan {
            bridge: format!("{base}-br"),
            hosts: Vec::new(),
        };
        sh(&["ip", "netns", "add", &lan.bridge]);
        sh(&[
            "ip",
            "-n",
            &lan.bridge,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
        ]);
        sh(&["ip", "-n", &lan.bridge, "link", "set", "br0", "up"]);
        for i in 0..host_count {
            let host = format!("{base}-h{i}");
            sh(&["ip", "netns", "add", &host]);
            lan.hosts.push(host.clone());
            let port = format!("p{i}");
            sh(&[
                "ip",
                "-n",
                &lan.bridge,
                "link",
                "add",
                &port,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &host,
            ]);
            sh(&[
                "ip",
                "-n",
                &lan.bridge,
                "link",
                "set",
                &port,
                "master",
                "br0",
                "up",
            ]);
            sh(&["ip", "-n", &host, "link", "set", "lo", "up"]);
            sh(&["ip", "-n", &host, "link", "set", "eth0", "up"]);
            let addr = format!("10.213.0.{}/24", 10 + i);
            sh(&["ip", "-n", &host, "addr", "add", &addr, "dev", "eth0"]);
        }
        lan
    }

    pub fn mac(&self, host: &str) -> String {
        let json = sh(&["ip", "-n", host, "-j", "link", "show", "eth0"]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("ip -j output");
        v[0]["address"].as_str().expect("mac").to_string()
    }

    /// `inet` addresses (with prefix) on `eth0` of `host`.
    pub fn addrs(&self, host: &str) -> Vec<String> {
        let json = sh(&["ip", "-n", host, "-j", "-4", "addr", "show", "dev", "eth0"]);
        let v: serde_json::Value = serde_json::from_str(&json).expect("ip -j output");
        v[0]["addr_info"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| format!("{}/{}", i["local"].as_str().unwrap_or(""), i["prefixlen"]))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The MAC `host` has in its neighbour table for `ip`, if any.
    pub fn neighbour(&self, host: &str, ip: &str) -> Option<String> {
        let json = sh(&["ip", "-n", host, "-j", "neigh", "show", ip, "dev", "eth0"]);
        let v: serde_json::Value = serde_json::from_str(&json).ok()?;
        v.get(0)?.get("lladdr")?.as_str().map(String::from)
    }

    pub fn ping(&self, host: &str, ip: &str) -> bool {
        Command::new("ip")
            .args(["netns", "exec", host, "ping", "-c", "1", "-W", "1", ip])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.hosts.iter().chain(std::iter::once(&self.bridge)) {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
