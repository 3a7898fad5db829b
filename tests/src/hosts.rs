//! Hosts as network namespaces: N hosts and a `client` on one bridge, all addresses inside
//! namespaces this module creates (nothing is configured in the root namespace).
//!
//! In: a [`HostsSpec`] (name prefix, host count, subnet). Out: [`Hosts`] with, per host, its
//! namespace, address and MAC; helpers to run commands inside a namespace, cut and heal a
//! host's link (at the bridge port, like a pulled cable), read addresses and the client's
//! neighbour table, a per-host TCP "who am I" listener and TCP probes from the client.
//!
//! Layout (`P` = the unique prefix, e.g. `pcr4242a`):
//! ```text
//!   P-br   bridge br0  10.213.0.254/24 + 10.0.0.1/32 (API server forwarder, see forward.rs)
//!   P-h1   eth0 10.213.0.1/24 ── port p1 ─┐
//!   P-h2   eth0 10.213.0.2/24 ── port p2 ─┤ br0
//!   P-client eth0 10.213.0.200/24 ─ pc ───┘
//! ```
//! Every namespace is private to this run, so the same subnet is reused by concurrent runs.
//! Drop deletes every namespace (processes inside must be stopped first: `ip netns del`
//! only unmounts). [`sweep_stale`] removes namespaces left by runs whose process died.

use std::{
    fs::File,
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    process::{Command, Output},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU32, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context, Result, anyhow, bail};
use nix::sched::{CloneFlags, setns};

/// Port of the per-host "who am I" listener (answers the host's name and a newline).
pub const WHOAMI_PORT: u16 = 8080;
/// The address the hosts reach the API server at (a SAN of pacer-testenv's certificate).
pub const API_ADDRESS: &str = "10.0.0.1";

static COUNTER: AtomicU32 = AtomicU32::new(0);

#[derive(Clone, Debug)]
pub struct HostsSpec {
    /// Namespace name prefix; must be unique on the machine while the hosts exist.
    pub prefix: String,
    /// Host names (also the cluster node names), e.g. `n1`, `n2`, `n3`.
    pub names: Vec<String>,
    /// First three octets of the /24 the hosts live in.
    pub subnet: String,
}

impl HostsSpec {
    /// `count` hosts named `n1..`, a prefix unique to this process and call.
    pub fn new(count: usize) -> HostsSpec {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        HostsSpec {
            prefix: format!("pcr{}x{n}", std::process::id()),
            names: (1..=count).map(|i| format!("n{i}")).collect(),
            subnet: "10.213.0".into(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Host {
    /// Cluster node name.
    pub name: String,
    /// Network namespace name.
    pub netns: String,
    pub ip: String,
    pub mac: String,
    /// The host's port on the bridge (in the bridge namespace).
    port: String,
}

/// The hosts, the client and the bridge; deleted on drop.
pub struct Hosts {
    pub spec: HostsSpec,
    pub hosts: Vec<Host>,
    pub client: Host,
    pub bridge_ns: String,
    listeners: Vec<Listener>,
    deleted: bool,
}

/// Runs `ip ARGS`, failing with its stderr.
pub fn ip(args: &[&str]) -> Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .with_context(|| format!("running ip {}", args.join(" ")))?;
    check(&format!("ip {}", args.join(" ")), out)
}

fn check(what: &str, out: Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command inside a network namespace (`ip netns exec NS CMD...`).
pub fn netns_exec(ns: &str, cmd: &[&str]) -> Result<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .output()
        .with_context(|| format!("running {} in {ns}", cmd.join(" ")))?;
    check(&format!("{} (in {ns})", cmd.join(" ")), out)
}

/// Runs `f` on a thread that joined network namespace `ns`: sockets it creates live in
/// that namespace (and keep working when used from other threads).
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    let path = format!("/run/netns/{ns}");
    let handle = std::thread::Builder::new()
        .name(format!("netns-{ns}"))
        .spawn(move || -> Result<T> {
            let fd = File::open(&path).with_context(|| format!("opening {path}"))?;
            setns(&fd, CloneFlags::CLONE_NEWNET).with_context(|| format!("setns({path})"))?;
            Ok(f())
        })?;
    handle
        .join()
        .map_err(|_| anyhow!("thread in netns {ns} panicked"))?
}

/// Deletes namespaces named `pcr<PID>x...` whose process no longer exists (left by a
/// killed test run), and any whose name starts with `exact_prefix` (a demo's fixed name).
pub fn sweep_stale(exact_prefix: Option<&str>) -> Result<Vec<String>> {
    let list = ip(&["netns", "list"])?;
    let mut removed = Vec::new();
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let stale = if exact_prefix.is_some_and(|p| name.starts_with(p)) {
            true
        } else if let Some(rest) = name.strip_prefix("pcr") {
            let pid: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            rest[pid.len()..].starts_with('x')
                && pid
                    .parse::<u32>()
                    .is_ok_and(|p| !std::path::Path::new(&format!("/proc/{p}")).exists())
        } else {
            false
        };
        if stale {
            kill_netns_processes(name);
            if ip(&["netns", "del", name]).is_ok() {
                removed.push(name.to_string());
            }
        }
    }
    Ok(removed)
}

/// SIGKILLs every process whose network namespace is `ns` (`ip netns pids`).
pub fn kill_netns_processes(ns: &str) {
    if let Ok(pids) = ip(&["netns", "pids", ns]) {
        for pid in pids.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

impl Hosts {
    /// Creates the bridge, the hosts and the client. On error, what was created is removed.
    pub fn create(spec: HostsSpec) -> Result<Hosts> {
        let _ = sweep_stale(None);
        let bridge_ns = format!("{}-br", spec.prefix);
        let mut hosts = Hosts {
            hosts: Vec::new(),
            client: Host {
                name: "client".into(),
                netns: format!("{}-client", spec.prefix),
                ip: format!("{}.200", spec.subnet),
                mac: String::new(),
                port: "pc".into(),
            },
            bridge_ns: bridge_ns.clone(),
            spec: spec.clone(),
            listeners: Vec::new(),
            deleted: false,
        };
        ip(&["netns", "add", &bridge_ns])?;
        let br = bridge_ns.as_str();
        ip(&["-n", br, "link", "set", "lo", "up"])?;
        ip(&["-n", br, "link", "add", "br0", "type", "bridge"])?;
        // No STP: ports forward at once; learning still on.
        ip(&["-n", br, "link", "set", "br0", "up"])?;
        ip(&[
            "-n",
            br,
            "addr",
            "add",
            &format!("{}.254/24", spec.subnet),
            "dev",
            "br0",
        ])?;
        ip(&[
            "-n",
            br,
            "addr",
            "add",
            &format!("{API_ADDRESS}/32"),
            "dev",
            "br0",
        ])?;
        for (i, name) in spec.names.iter().enumerate() {
            let h = Host {
                name: name.clone(),
                netns: format!("{}-{name}", spec.prefix),
                ip: format!("{}.{}", spec.subnet, i + 1),
                mac: String::new(),
                port: format!("p{}", i + 1),
            };
            hosts.hosts.push(h);
        }
        let mut all: Vec<Host> = hosts.hosts.clone();
        all.push(hosts.client.clone());
        for h in &mut all {
            ip(&["netns", "add", &h.netns])?;
            let ns = h.netns.as_str();
            ip(&[
                "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", &h.port,
                "netns", br,
            ])?;
            ip(&["-n", br, "link", "set", &h.port, "master", "br0"])?;
            ip(&["-n", br, "link", "set", &h.port, "up"])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
            ip(&[
                "-n",
                ns,
                "addr",
                "add",
                &format!("{}/24", h.ip),
                "dev",
                "eth0",
            ])?;
            ip(&[
                "-n",
                ns,
                "route",
                "add",
                &format!("{API_ADDRESS}/32"),
                "dev",
                "eth0",
            ])?;
            h.mac = mac_of(ns, "eth0")?;
        }
        hosts.client = all.pop().ok_or_else(|| anyhow!("no client"))?;
        hosts.hosts = all;
        Ok(hosts)
    }

    pub fn host(&self, name: &str) -> Result<&Host> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| anyhow!("no host named {name}"))
    }

    /// The host whose MAC is `mac`.
    pub fn host_by_mac(&self, mac: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.mac.eq_ignore_ascii_case(mac))
    }

    /// Pulls the host's cable: its bridge port goes down (the host keeps its addresses).
    pub fn cut_link(&self, name: &str) -> Result<()> {
        let h = self.host(name)?;
        ip(&["-n", &self.bridge_ns, "link", "set", &h.port, "down"])?;
        Ok(())
    }

    pub fn heal_link(&self, name: &str) -> Result<()> {
        let h = self.host(name)?;
        ip(&["-n", &self.bridge_ns, "link", "set", &h.port, "up"])?;
        Ok(())
    }

    /// Whether the host's bridge port is up.
    pub fn link_up(&self, name: &str) -> Result<bool> {
        let h = self.host(name)?;
        let out = ip(&["-n", &self.bridge_ns, "-o", "link", "show", &h.port])?;
        Ok(!out.contains("state DOWN") && out.contains(",UP"))
    }

    /// IPv4 addresses configured on the host's eth0.
    pub fn addresses(&self, name: &str) -> Result<Vec<String>> {
        let h = self.host(name)?;
        addresses(&h.netns)
    }

    /// Hosts that have `address` configured (whether or not their link is up).
    pub fn holders(&self, address: &str) -> Result<Vec<String>> {
        let mut v = Vec::new();
        for h in &self.hosts {
            if addresses(&h.netns)?.iter().any(|a| a == address) {
                v.push(h.name.clone());
            }
        }
        Ok(v)
    }

    /// Hosts with a working link that have `address` configured (a crashed host keeps
    /// its addresses behind its cut link; nobody can reach them there).
    pub fn reachable_holders(&self, address: &str) -> Result<Vec<String>> {
        let mut v = Vec::new();
        for name in self.holders(address)? {
            if self.link_up(&name)? {
                v.push(name);
            }
        }
        Ok(v)
    }

    /// The MAC the client's neighbour table has for `address`, if any (any state but
    /// FAILED/INCOMPLETE).
    pub fn client_neighbour(&self, address: &str) -> Result<Option<String>> {
        let out = ip(&["-n", &self.client.netns, "neigh", "show", address])?;
        Ok(out.split_whitespace().collect::<Vec<_>>().windows(2).find_map(|w| {
            (w[0] == "lladdr").then(|| w[1].to_string())
        }))
    }

    /// Starts a listener on 0.0.0.0:[`WHOAMI_PORT`] in every host that answers the host's
    /// name: a TCP connect to a VIP tells which host holds it.
    pub fn start_whoami(&mut self) -> Result<()> {
        for h in self.hosts.clone() {
            self.listeners.push(Listener::start(&h.netns, &h.name)?);
        }
        Ok(())
    }

    /// Connects from the client to `address:WHOAMI_PORT` and returns the answering host.
    pub fn probe(&self, address: &str, timeout: Duration) -> Result<String> {
        probe_from(&self.client.netns, address, timeout)
    }

    /// Deletes every namespace (also done on drop).
    pub fn delete(&mut self) {
        if self.deleted {
            return;
        }
        self.deleted = true;
        for l in &mut self.listeners {
            l.stop();
        }
        let mut names: Vec<String> = self.hosts.iter().map(|h| h.netns.clone()).collect();
        names.push(self.client.netns.clone());
        names.push(self.bridge_ns.clone());
        for n in names {
            kill_netns_processes(&n);
            let _ = ip(&["netns", "del", &n]);
        }
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        self.delete();
    }
}

/// Connects from namespace `ns` to `address:WHOAMI_PORT` and reads the answer.
pub fn probe_from(ns: &str, address: &str, timeout: Duration) -> Result<String> {
    let addr: SocketAddr = format!("{address}:{WHOAMI_PORT}")
        .parse()
        .with_context(|| format!("bad address {address}"))?;
    in_netns(ns, move || -> Result<String> {
        let mut s = TcpStream::connect_timeout(&addr, timeout)?;
        s.set_read_timeout(Some(timeout))?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        Ok(buf.trim().to_string())
    })?
}

fn addresses(ns: &str) -> Result<Vec<String>> {
    let out = ip(&["-n", ns, "-j", "addr", "show", "dev", "eth0"])?;
    let v: serde_json::Value = serde_json::from_str(&out).context("parsing ip -j addr")?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["family"] == "inet")
        .filter_map(|a| a["local"].as_str().map(String::from))
        .collect())
}

fn mac_of(ns: &str, dev: &str) -> Result<String> {
    let out = ip(&["-n", ns, "-j", "link", "show", "dev", dev])?;
    let v: serde_json::Value = serde_json::from_str(&out).context("parsing ip -j link")?;
    v[0]["address"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow!("no MAC for {dev} in {ns}"))
}

/// A listener thread in a host namespace answering the host's name.
struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Listener {
    fn start(ns: &str, answer: &str) -> Result<Listener> {
        let listener = in_netns(ns, || TcpListener::bind(("0.0.0.0", WHOAMI_PORT)))??;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let answer = format!("{answer}\n");
        let thread = std::thread::Builder::new()
            .name(format!("whoami-{ns}"))
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((mut s, _)) => {
                            let _ = s.set_nonblocking(false);
                            let _ = s.write_all(answer.as_bytes());
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
