//! A whole pacer cluster on one machine: the control plane (a [`TestEnv`]), namespace hosts
//! ([`Hosts`]) each running a real `pacer-agent` inside its network namespace, and
//! `pacer-operator` replicas (DC candidates) in the root namespace.
//!
//! In: [`ClusterOptions`] and a control plane (shared or owned). Out: a [`Cluster`] with a
//! kube client for its namespace (one namespace = one HA cluster), node faults (clean stop,
//! kill -9, SIGSTOP, link cut, host "reboot") and wait helpers. Every process runs in its own
//! process group and is SIGKILLed on drop (also on panic); the hosts' namespaces go with
//! [`Hosts`]' drop.
//!
//! Agents reach the API server through a [`Forwarder`] at `10.0.0.1:<port>` in the bridge
//! namespace (a SAN of pacer-testenv's certificate), with their own client certificates
//! (`pacer:agent:<node>`); the operators use the `operator` identity; RBAC and admission
//! policies from `deploy/rbac` are applied first. Each agent gets a private tmpfs at
//! `/run` (a mount namespace per host), so resource agents' state files (Dummy's in `/run`,
//! IPaddr2's in `/run/resource-agents`) are per host, as on real machines; tests reach
//! them through `/proc/<agent pid>/root/run` ([`Cluster::host_run_dir`]).

use std::{
    collections::BTreeMap,
    fs,
    net::SocketAddr,
    ops::Deref,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use kube::{Api, Client, api::PostParams};
use nix::{
    sys::signal::{Signal, kill, killpg},
    unistd::Pid,
};
use pacer_crds::{ClusterNode, ClusterNodeSpec, NodeState};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::{
    TestEnv,
    forward::Forwarder,
    hosts::{API_ADDRESS, Hosts, HostsSpec},
    kubectl::{self, KubectlOutput},
};

/// One cluster at a time per process: scenario tests measure timings on 2 shared cores.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
static BINARIES: OnceCell<Result<Binaries, String>> = OnceCell::const_new();

#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub hosts: usize,
    pub operators: usize,
    /// Agent `--lease-interval`.
    pub lease_interval: Duration,
    /// Agent `--lease-duration` (whole seconds: the Lease carries seconds).
    pub lease_duration_s: u64,
    /// Extra `pacer-operator` flags (e.g. `--tick-ms=100`).
    pub operator_args: Vec<String>,
    /// Agent `--shutdown-timeout`.
    pub shutdown_timeout: String,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self {
            hosts: 3,
            operators: 2,
            lease_interval: Duration::from_millis(500),
            lease_duration_s: 2,
            operator_args: vec!["--tick-ms=200".into()],
            shutdown_timeout: "60s".into(),
        }
    }
}

/// The pacer-agent and pacer-operator binaries.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub agent: PathBuf,
    pub operator: PathBuf,
}

/// `PACER_AGENT_BIN` / `PACER_OPERATOR_BIN` when set; else builds both once per process
/// with `cargo build -p pacer-agent -p pacer-operator` (release unless
/// `PACER_E2E_PROFILE=debug`), so a test never runs stale binaries.
pub async fn binaries() -> Result<Binaries> {
    let r = BINARIES
        .get_or_init(|| async {
            tokio::task::spawn_blocking(find_or_build)
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| format!("{e:#}")))
        })
        .await;
    r.clone().map_err(|e| anyhow!("{e}"))
}

fn find_or_build() -> Result<Binaries> {
    if let (Some(a), Some(o)) = (
        std::env::var_os("PACER_AGENT_BIN"),
        std::env::var_os("PACER_OPERATOR_BIN"),
    ) {
        return Ok(Binaries {
            agent: a.into(),
            operator: o.into(),
        });
    }
    let profile = std::env::var("PACER_E2E_PROFILE").unwrap_or_else(|_| "release".into());
    let root = crate::repo_root();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&root)
        .args(["build", "-q", "-p", "pacer-agent", "-p", "pacer-operator"]);
    if profile == "release" {
        cmd.arg("--release");
    }
    let out = cmd.output().context("running cargo build")?;
    if !out.status.success() {
        bail!(
            "cargo build -p pacer-agent -p pacer-operator failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join(&profile);
    Ok(Binaries {
        agent: target.join("pacer-agent"),
        operator: target.join("pacer-operator"),
    })
}

/// A process in its own process group, SIGKILLed (whole group) on drop.
pub struct Proc {
    child: Child,
    pub started: Instant,
}

impl Proc {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn kill_group(&mut self) {
        let _ = killpg(Pid::from_raw(self.pid()), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_group();
    }
}

fn spawn(mut cmd: Command, log: &Path) -> Result<Proc> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {:?}", cmd.get_program()))?;
    Ok(Proc {
        child,
        started: Instant::now(),
    })
}

/// The control plane a cluster runs on.
pub enum Env {
    Shared(&'static TestEnv),
    Owned(Box<TestEnv>),
}

impl Deref for Env {
    type Target = TestEnv;
    fn deref(&self) -> &TestEnv {
        match self {
            Env::Shared(e) => e,
            Env::Owned(e) => e,
        }
    }
}

pub struct Cluster {
    /// Declared first: dropped (processes killed) before the hosts and the control plane.
    agents: Mutex<BTreeMap<String, Proc>>,
    operators: Mutex<Vec<Proc>>,
    pub hosts: Hosts,
    _forwarder: Forwarder,
    pub ns: String,
    pub client: Client,
    pub opts: ClusterOptions,
    pub bins: Binaries,
    pub dir: tempfile::TempDir,
    pub env: Env,
    _serial: Option<tokio::sync::MutexGuard<'static, ()>>,
}

impl Cluster {
    /// A cluster on the test binary's shared control plane, in a fresh namespace. Holds a
    /// process-wide lock: scenario tests of one binary run one after the other.
    pub async fn start(prefix: &str, opts: ClusterOptions) -> Result<Cluster> {
        let serial = SERIAL.lock().await;
        let env = TestEnv::shared().await?;
        Self::start_on(Env::Shared(env), prefix, opts, Some(serial)).await
    }

    /// A cluster on its own control plane (benchmarks, the demo).
    pub async fn start_owned(prefix: &str, opts: ClusterOptions) -> Result<Cluster> {
        let names: Vec<String> = (1..=opts.hosts).map(|i| format!("n{i}")).collect();
        let env = TestEnv::start_with(crate::Options {
            agents: names,
            ..Default::default()
        })
        .await?;
        Self::start_on(Env::Owned(Box::new(env)), prefix, opts, None).await
    }

    async fn start_on(
        env: Env,
        prefix: &str,
        opts: ClusterOptions,
        serial: Option<tokio::sync::MutexGuard<'static, ()>>,
    ) -> Result<Cluster> {
        let bins = binaries().await?;
        apply_rbac(&env).await?;
        let ns = env.temp_ns(prefix).await?;
        let client = env.client().await?;
        let dir = tempfile::Builder::new()
            .prefix("pacer-cluster-")
            .tempdir()?;
        let spec = HostsSpec::new(opts.hosts);
        // Every host answers its name on WHOAMI_PORT: how the client (and the tests) tell
        // which host holds a VIP.
        let hosts = tokio::task::spawn_blocking(move || -> Result<Hosts> {
            let mut hosts = Hosts::create(spec)?;
            hosts.start_whoami()?;
            Ok(hosts)
        })
        .await??;
        let port = api_port(&env.ready().server)?;
        let forwarder = Forwarder::start(
            &hosts.bridge_ns,
            SocketAddr::new(API_ADDRESS.parse()?, port),
            SocketAddr::new([127, 0, 0, 1].into(), port),
        )?;
        let nodes: Api<ClusterNode> = Api::namespaced(client.clone(), &ns);
        for h in &hosts.hosts {
            let identity = format!("agent-{}", h.name);
            if env.kubeconfig(&identity).is_err() {
                env.add_identity(
                    &identity,
                    &format!("pacer:agent:{}", h.name),
                    &["pacer:agents"],
                )?;
            }
            let text = fs::read_to_string(env.kubeconfig(&identity)?)?;
            let from = format!("https://127.0.0.1:{port}");
            if !text.contains(&from) {
                bail!("kubeconfig of {identity} does not name {from}");
            }
            let to = format!("https://{API_ADDRESS}:{port}");
            fs::write(
                dir.path().join(format!("{identity}.kubeconfig")),
                text.replace(&from, &to),
            )?;
            let node = ClusterNode::new(
                &h.name,
                ClusterNodeSpec {
                    id: Some(h.name.clone()),
                    ..Default::default()
                },
            );
            nodes
                .create(&PostParams::default(), &node)
                .await
                .with_context(|| format!("creating ClusterNode {}", h.name))?;
        }
        let cluster = Cluster {
            agents: Mutex::new(BTreeMap::new()),
            operators: Mutex::new(Vec::new()),
            hosts,
            _forwarder: forwarder,
            ns,
            client,
            opts,
            bins,
            dir,
            env,
            _serial: serial,
        };
        for h in cluster.host_names() {
            cluster.start_agent(&h)?;
        }
        for i in 0..cluster.opts.operators {
            cluster.start_operator(i)?;
        }
        let names = cluster.host_names();
        cluster
            .wait_for("every agent's Lease", Duration::from_secs(60), || async {
                let mut all = true;
                for n in &names {
                    all &= cluster.lease_fresh(n).await;
                }
                all
            })
            .await?;
        Ok(cluster)
    }

    pub fn host_names(&self) -> Vec<String> {
        self.hosts.hosts.iter().map(|h| h.name.clone()).collect()
    }

    pub fn log_path(&self, component: &str) -> PathBuf {
        self.dir.path().join(format!("{component}.log"))
    }

    /// A component's log (`agent-n1`, `operator-0`), for failure messages.
    pub fn log(&self, component: &str) -> String {
        fs::read_to_string(self.log_path(component)).unwrap_or_default()
    }

    /// The last `lines` lines of every log, for a failing test's message.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        let mut names: Vec<String> = self
            .host_names()
            .iter()
            .map(|h| format!("agent-{h}"))
            .collect();
        names.extend((0..self.opts.operators).map(|i| format!("operator-{i}")));
        for n in names {
            let log = self.log(&n);
            let all: Vec<&str> = log.lines().collect();
            out.push_str(&format!("==== {n} ====\n"));
            for l in &all[all.len().saturating_sub(lines)..] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// Starts (or restarts) the agent of host `name` inside its namespace.
    pub fn start_agent(&self, name: &str) -> Result<()> {
        let host = self.hosts.host(name)?;
        let kubeconfig = self.dir.path().join(format!("agent-{name}.kubeconfig"));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &host.netns, "unshare", "-m", "--propagation", "private"])
            .args([
                "sh",
                "-c",
                // A private /run: ocf:pacemaker:Dummy keeps its state in /run itself,
                // heartbeat agents in /run/resource-agents.
                "mount -t tmpfs pacer-host /run && mkdir -p /run/resource-agents /run/lock && exec \"$0\" \"$@\"",
            ])
            .arg(&self.bins.agent)
            .args(["--node-name", name, "run", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(["--namespace", &self.ns])
            .arg(format!(
                "--lease-interval={}ms",
                self.opts.lease_interval.as_millis()
            ))
            .arg(format!("--lease-duration={}s", self.opts.lease_duration_s))
            .arg(format!("--shutdown-timeout={}", self.opts.shutdown_timeout))
            .env(
                "RUST_LOG",
                std::env::var("PACER_E2E_LOG").unwrap_or_else(|_| "info,kube=warn".into()),
            );
        let p = spawn(cmd, &self.log_path(&format!("agent-{name}")))?;
        let mut agents = self.agents.lock().map_err(|_| anyhow!("poisoned"))?;
        agents.insert(name.to_string(), p);
        Ok(())
    }

    pub fn start_operator(&self, index: usize) -> Result<()> {
        let mut cmd = Command::new(&self.bins.operator);
        cmd.env("KUBECONFIG", self.env.kubeconfig("operator")?)
            .env(
                "RUST_LOG",
                std::env::var("PACER_E2E_LOG").unwrap_or_else(|_| "info,kube=warn".into()),
            )
            .args(["--namespace", &self.ns])
            .arg(format!("--identity=op-{index}"))
            .arg("--metrics-addr=127.0.0.1:0")
            // Fences the DC runs itself (no node can) reach the BMCs' management network,
            // as an operator pod with a route to the BMCs would.
            .arg(format!("--fence-netns={}", self.hosts.bridge_ns))
            .args(&self.opts.operator_args);
        let p = spawn(cmd, &self.log_path(&format!("operator-{index}")))?;
        let mut ops = self.operators.lock().map_err(|_| anyhow!("poisoned"))?;
        if index < ops.len() {
            ops[index] = p;
        } else {
            ops.push(p);
        }
        Ok(())
    }

    fn agent_pid(&self, name: &str) -> Result<i32> {
        let mut agents = self.agents.lock().map_err(|_| anyhow!("poisoned"))?;
        let p = agents
            .get_mut(name)
            .ok_or_else(|| anyhow!("no agent for host {name}"))?;
        Ok(p.pid())
    }

    /// Process groups of every agent and operator, and of the control plane when this
    /// cluster owns it: what a supervisor must kill if this process dies without
    /// tearing down (`demo.sh` reads them from `pacer-lab`'s `lab.env`).
    pub fn process_groups(&self) -> Vec<i32> {
        let mut v = Vec::new();
        if let Ok(a) = self.agents.lock() {
            v.extend(a.values().map(Proc::pid));
        }
        if let Ok(o) = self.operators.lock() {
            v.extend(o.iter().map(Proc::pid));
        }
        if let Env::Owned(e) = &self.env {
            v.push(e.process_group());
        }
        v
    }

    /// The host's private `/run` (seen through its agent's mount namespace): where
    /// resource agents keep their state files (`Dummy-RSC.state`, `resource-agents/`).
    pub fn host_run_dir(&self, name: &str) -> Result<PathBuf> {
        Ok(PathBuf::from(format!(
            "/proc/{}/root/run",
            self.agent_pid(name)?
        )))
    }

    /// The agent's PID (changes when it is restarted).
    pub fn agent_process(&self, name: &str) -> Result<i32> {
        self.agent_pid(name)
    }

    /// Sends `signal` to the agent process only (resource agents it started keep running,
    /// as when the daemon crashes): SIGKILL = crash, SIGSTOP/SIGCONT = freeze/thaw.
    pub fn signal_agent(&self, name: &str, signal: Signal) -> Result<()> {
        kill(Pid::from_raw(self.agent_pid(name)?), signal)
            .with_context(|| format!("sending {signal} to the agent of {name}"))?;
        Ok(())
    }

    /// Stops the agent cleanly (SIGTERM: it asks the DC to move its resources away, waits
    /// until they stopped, says `expected: down` and deletes its Lease) and waits for it.
    pub async fn stop_agent(&self, name: &str, timeout: Duration) -> Result<Duration> {
        let t = Instant::now();
        self.signal_agent(name, Signal::SIGTERM)?;
        loop {
            let done = {
                let mut agents = self.agents.lock().map_err(|_| anyhow!("poisoned"))?;
                agents.get_mut(name).is_none_or(|p| !p.running())
            };
            if done {
                return Ok(t.elapsed());
            }
            if t.elapsed() > timeout {
                bail!(
                    "the agent of {name} did not exit within {timeout:?} after SIGTERM\n{}",
                    self.log_tails(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Hard host failure: kill -9 the agent and cut the host's link.
    pub fn crash_host(&self, name: &str) -> Result<()> {
        self.signal_agent(name, Signal::SIGKILL)?;
        self.hosts.cut_link(name)
    }

    /// Brings a crashed host back as after a reboot: its resource agents' leftovers
    /// killed, addresses other than its own removed, its NodeState deleted (a rebooted
    /// node starts with an empty history), link up, agent started.
    pub async fn reboot_host(&self, name: &str) -> Result<()> {
        {
            let mut agents = self.agents.lock().map_err(|_| anyhow!("poisoned"))?;
            if let Some(mut p) = agents.remove(name) {
                p.kill_group();
            }
        }
        let host = self.hosts.host(name)?.clone();
        crate::hosts::kill_netns_processes(&host.netns);
        for a in self.hosts.addresses(name)? {
            if a != host.ip {
                crate::hosts::ip(&[
                    "-n",
                    &host.netns,
                    "addr",
                    "del",
                    &format!("{a}/24"),
                    "dev",
                    "eth0",
                ])
                .or_else(|_| {
                    crate::hosts::ip(&[
                        "-n",
                        &host.netns,
                        "addr",
                        "del",
                        &format!("{a}/32"),
                        "dev",
                        "eth0",
                    ])
                })?;
            }
        }
        let states: Api<NodeState> = Api::namespaced(self.client.clone(), &self.ns);
        let _ = states.delete(name, &Default::default()).await;
        self.hosts.heal_link(name)?;
        self.start_agent(name)?;
        self.wait_for(&format!("{name}'s Lease"), Duration::from_secs(30), || {
            self.lease_fresh(name)
        })
        .await
    }

    /// Whether the node's Lease was renewed within its duration (by our clock).
    pub async fn lease_fresh(&self, name: &str) -> bool {
        let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
            Api::namespaced(self.client.clone(), &self.ns);
        let Ok(Some(l)) = leases.get_opt(&format!("pacer-node-{name}")).await else {
            return false;
        };
        let Some(spec) = l.spec else { return false };
        let (Some(renew), Some(dur)) = (spec.renew_time, spec.lease_duration_seconds) else {
            return false;
        };
        let age = jiff::Timestamp::now().as_millisecond() - renew.0.as_millisecond();
        age < i64::from(dur) * 1000
    }

    pub async fn wait_for<F, Fut>(&self, what: &str, timeout: Duration, mut f: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let t = Instant::now();
        loop {
            if f().await {
                return Ok(());
            }
            if t.elapsed() > timeout {
                bail!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.log_tails(25)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every NodeState (each node's published operation history), for a failing test's
    /// message: what the DC decided from.
    pub async fn node_states_yaml(&self) -> String {
        match self.kubectl(&["get", "nodestates", "-o", "yaml"]).await {
            Ok(out) => out.stdout,
            Err(e) => format!("(kubectl get nodestates failed: {e})"),
        }
    }

    /// kubectl as admin in the cluster's namespace.
    pub async fn kubectl(&self, args: &[&str]) -> Result<KubectlOutput> {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        self.env.kubectl(&all).await
    }

    /// `pacer ARGS` (the `kubectl pacer` plugin, built next to pacer-operator) as admin in
    /// the cluster's namespace.
    pub async fn pacer(&self, args: &[&str]) -> Result<KubectlOutput> {
        let bin = self.bins.operator.with_file_name("pacer");
        let out = tokio::process::Command::new(&bin)
            .arg("--kubeconfig")
            .arg(self.env.admin_kubeconfig()?)
            .args(["-n", self.ns.as_str()])
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .with_context(|| format!("running {}", bin.display()))?;
        Ok(KubectlOutput {
            args: args.iter().map(|a| a.to_string()).collect(),
            success: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `kubectl apply -f -` of a manifest text in the cluster's namespace.
    pub async fn apply_yaml(&self, yaml: &str) -> Result<()> {
        kubectl::run_with_stdin(
            self.env.binary(),
            &self.env.admin_kubeconfig()?,
            &[
                "-n",
                &self.ns,
                "apply",
                "--server-side",
                "--field-manager=pacer-e2e",
                "-f",
                "-",
            ],
            Some(yaml),
        )
        .await?
        .ok()?;
        Ok(())
    }

    /// A NodeState's lrm resource entries as JSON (empty when there is none).
    pub async fn node_state(&self, node: &str) -> Option<NodeState> {
        let states: Api<NodeState> = Api::namespaced(self.client.clone(), &self.ns);
        states.get_opt(node).await.ok().flatten()
    }

    /// The `status` of a pacer object (`Primitive`, `Group`, `Clone`) as JSON.
    pub async fn status_of(&self, kind: &str, name: &str) -> Value {
        let api = crate::objects::pacer_api(&self.client, &self.ns, kind);
        match api.get_opt(name).await {
            Ok(Some(o)) => o.data.get("status").cloned().unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

/// Reads an example's manifests, drops its `ClusterNode`s (the cluster has its own hosts)
/// and applies textual substitutions (addresses, NIC names) for the hosts' subnet.
pub fn example_manifests(dir: &str, substitutions: &[(&str, &str)]) -> Result<String> {
    let path = crate::repo_root()
        .join("examples")
        .join(dir)
        .join("manifests.yaml");
    let mut text =
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    for (from, to) in substitutions {
        text = text.replace(from, to);
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text)
        .with_context(|| format!("parsing {}", path.display()))?;
    let kept: Vec<String> = docs
        .into_iter()
        .filter(|d| !d.is_null() && d["kind"] != "ClusterNode")
        .map(|d| serde_json::to_string(&d))
        .collect::<Result<_, _>>()?;
    // JSON is YAML: one document per object.
    Ok(kept.join("\n---\n"))
}

fn api_port(server: &str) -> Result<u16> {
    server
        .rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .ok_or_else(|| anyhow!("no port in API server URL {server:?}"))
}

/// The namespace `pacer-system` and `deploy/rbac` (roles, bindings, admission policies).
async fn apply_rbac(env: &TestEnv) -> Result<()> {
    let deploy = crate::repo_root().join("deploy");
    for (flag, path) in [
        ("-f", deploy.join("namespace.yaml")),
        ("-k", deploy.join("rbac")),
    ] {
        env.kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=pacer-e2e",
            flag,
            &path.to_string_lossy(),
        ])
        .await?
        .ok()?;
    }
    Ok(())
}
