//! One control plane process tree: `pacer-testenv up` and its etcd and kube-apiserver
//! children, in their own process group.
//!
//! In: the binary (env `PACER_TESTENV` or `tests/testenv/bin/pacer-testenv`) and
//! [`Options`]. Out: a ready environment (CRDs established), clients and kubeconfig paths per
//! identity, control actions (restart the API server, ...). Nothing outlives the test: an
//! owned [`TestEnv`] kills its process group on drop (also on panic), and the supervisor
//! shuts down by itself when the test binary exits (it watches its parent pid), which is what
//! cleans up the [`TestEnv::shared`] one.

use std::{
    collections::BTreeMap,
    fs,
    io::{BufRead, BufReader, Write},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client, Config,
    api::{ObjectMeta, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use serde::Deserialize;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt},
    net::UnixStream,
    sync::OnceCell,
};

use crate::{crds, kubectl::KubectlOutput};

/// How long start-up may take before the test fails (cold page cache on a loaded CI box).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// What `pacer-testenv up` wrote to `DIR/ready.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    pub dir: PathBuf,
    pub server: String,
    pub kubeconfigs: BTreeMap<String, PathBuf>,
    pub control_socket: PathBuf,
    pub supervisor_pid: i32,
    pub etcd_pid: i32,
    pub apiserver_pid: i32,
    pub startup_millis: u64,
}

/// What to start.
#[derive(Clone, Debug)]
pub struct Options {
    /// Nodes that get an agent identity (`pacer:agent:NODE`, kubeconfig `agent-NODE`).
    pub agents: Vec<String>,
    /// Apply every CRD in `deploy/crds/` and wait until each is Established.
    pub install_crds: bool,
    /// Extra `--apiserver-arg` values.
    pub apiserver_args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            agents: vec!["n1".into(), "n2".into(), "n3".into()],
            install_crds: true,
            apiserver_args: Vec::new(),
        }
    }
}

/// A running control plane. See the module docs.
pub struct TestEnv {
    ready: Ready,
    binary: PathBuf,
    child: Mutex<Option<Child>>,
    /// Kept for its Drop (removes etcd data, certificates, kubeconfigs).
    _dir: tempfile::TempDir,
    /// From spawning `pacer-testenv up` until its READY line.
    pub control_plane_startup: Duration,
    /// Applying the CRDs until all were Established.
    pub crds_established: Duration,
}

/// The shared environment, or why it failed to start (kept, so the other tests of the
/// binary fail at once with the same reason instead of each retrying for minutes).
static SHARED: OnceCell<Result<TestEnv, String>> = OnceCell::const_new();
static NS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The pacer-testenv binary, or an error saying how to build it.
pub fn testenv_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("PACER_TESTENV") {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "PACER_TESTENV={} does not exist: unset it or build with tests/testenv/build.sh",
            p.display()
        );
    }
    let p = crate::repo_root().join("tests/testenv/bin/pacer-testenv");
    if p.is_file() {
        return Ok(p);
    }
    bail!(
        "{} is missing: run tests/testenv/build.sh first (it builds kube-apiserver, etcd and kubectl \
         v1.37 from Go modules; the first build takes several minutes), or set PACER_TESTENV",
        p.display()
    )
}

impl TestEnv {
    /// The environment shared by all tests of this test binary (started on first use).
    /// Do not restart or stop its components: other tests run against it concurrently.
    pub async fn shared() -> Result<&'static TestEnv> {
        let env = SHARED
            .get_or_init(|| async {
                TestEnv::start_with(Options::default())
                    .await
                    .map_err(|e| format!("{e:#}"))
            })
            .await;
        env.as_ref()
            .map_err(|e| anyhow!("the shared test environment failed to start: {e}"))
    }

    /// A private environment with the default options (agents n1, n2, n3; CRDs installed).
    pub async fn start() -> Result<TestEnv> {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(opts: Options) -> Result<TestEnv> {
        let binary = testenv_binary()?;
        let dir = tempfile::Builder::new()
            .prefix("pacer-env-")
            .tempdir()
            .context("creating a temporary directory for the test environment")?;
        let started = Instant::now();
        let mut cmd = Command::new(&binary);
        cmd.arg("up").arg("--dir").arg(dir.path()).arg("--cleanup");
        for a in &opts.agents {
            cmd.arg("--agent").arg(a);
        }
        for a in &opts.apiserver_args {
            cmd.arg(format!("--apiserver-arg={a}"));
        }
        let log = fs::File::create(dir.path().join("supervisor.log"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            // Its own process group, so Drop can kill the whole tree at once.
            .process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout pipe"))?;
        let pid = child.id();
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Read until READY, then keep draining so the supervisor never writes to a closed pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with("READY ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(line);
                }
            }
        });
        let mut env = TestEnv {
            ready: Ready {
                dir: dir.path().to_path_buf(),
                server: String::new(),
                kubeconfigs: BTreeMap::new(),
                control_socket: PathBuf::new(),
                supervisor_pid: pid as i32,
                etcd_pid: 0,
                apiserver_pid: 0,
                startup_millis: 0,
            },
            binary,
            child: Mutex::new(Some(child)),
            _dir: dir,
            control_plane_startup: Duration::ZERO,
            crds_established: Duration::ZERO,
        };
        match tokio::time::timeout(START_TIMEOUT, rx).await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => bail!(
                "pacer-testenv up exited before READY; its log:\n{}",
                env.supervisor_log()
            ),
            Err(_) => bail!(
                "pacer-testenv up not READY after {START_TIMEOUT:?}; its log:\n{}",
                env.supervisor_log()
            ),
        }
        env.control_plane_startup = started.elapsed();
        env.ready = env.read_ready()?;
        if opts.install_crds {
            let t = Instant::now();
            let client = env.client().await?;
            crds::install_all(&client, &crate::crds_dir()).await?;
            env.crds_established = t.elapsed();
        }
        // Straight to stderr (not captured by the test harness): CI logs show start-up time.
        let _ = writeln!(
            std::io::stderr(),
            "pacer-e2e: control plane ready in {} ms (etcd + kube-apiserver {} ms by its own \
             clock), CRDs established in {} ms",
            env.control_plane_startup.as_millis(),
            env.ready.startup_millis,
            env.crds_established.as_millis()
        );
        Ok(env)
    }

    fn read_ready(&self) -> Result<Ready> {
        let path = self.ready.dir.join("ready.json");
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// The supervisor's stderr (start-up times, restarts, errors with child log tails).
    pub fn supervisor_log(&self) -> String {
        fs::read_to_string(self.ready.dir.join("supervisor.log")).unwrap_or_default()
    }

    /// A component's log (`etcd` or `apiserver`).
    pub fn component_log(&self, name: &str) -> String {
        fs::read_to_string(self.ready.dir.join(format!("{name}.log"))).unwrap_or_default()
    }

    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    pub fn dir(&self) -> &Path {
        &self.ready.dir
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// The kubeconfig of an identity: `admin`, `operator`, `agent-NODE`, or one written later
    /// with [`TestEnv::add_identity`].
    pub fn kubeconfig(&self, identity: &str) -> Result<PathBuf> {
        if let Some(p) = self.ready.kubeconfigs.get(identity) {
            return Ok(p.clone());
        }
        let p = self.ready.dir.join(format!("{identity}.kubeconfig"));
        if p.is_file() {
            return Ok(p);
        }
        bail!(
            "no kubeconfig for identity {identity:?}; known: {:?} (add agents with Options::agents \
             or TestEnv::add_identity)",
            self.ready.kubeconfigs.keys().collect::<Vec<_>>()
        )
    }

    pub fn admin_kubeconfig(&self) -> Result<PathBuf> {
        self.kubeconfig("admin")
    }

    pub fn operator_kubeconfig(&self) -> Result<PathBuf> {
        self.kubeconfig("operator")
    }

    pub fn agent_kubeconfig(&self, node: &str) -> Result<PathBuf> {
        self.kubeconfig(&format!("agent-{node}"))
    }

    /// Writes `DIR/NAME.kubeconfig` for a new client-certificate identity.
    pub fn add_identity(&self, name: &str, user: &str, groups: &[&str]) -> Result<PathBuf> {
        let mut cmd = Command::new(&self.binary);
        cmd.args(["kubeconfig", "--dir"]).arg(self.dir());
        cmd.args(["--name", name, "--user", user]);
        for g in groups {
            cmd.args(["--group", g]);
        }
        let out = cmd.output()?;
        if !out.status.success() {
            bail!(
                "pacer-testenv kubeconfig: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(self.dir().join(format!("{name}.kubeconfig")))
    }

    /// An admin client (group system:masters), bound to the calling tokio runtime.
    pub async fn client(&self) -> Result<Client> {
        self.client_as("admin").await
    }

    /// A client authenticating as the given identity.
    pub async fn client_as(&self, identity: &str) -> Result<Client> {
        client_from_kubeconfig(&self.kubeconfig(identity)?).await
    }

    /// Creates a fresh namespace `PREFIX-N-PID` (never reused in this process). Namespaces
    /// are not deleted: no namespace controller runs, and the whole etcd goes with the env.
    pub async fn temp_ns(&self, prefix: &str) -> Result<String> {
        let n = NS_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{n}-{}", std::process::id());
        let api: Api<Namespace> = Api::all(self.client().await?);
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &ns)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        Ok(name)
    }

    /// Runs the built-in kubectl (v1.37) as admin.
    pub async fn kubectl(&self, args: &[&str]) -> Result<KubectlOutput> {
        self.kubectl_as("admin", args).await
    }

    /// Runs the built-in kubectl as the given identity.
    pub async fn kubectl_as(&self, identity: &str, args: &[&str]) -> Result<KubectlOutput> {
        crate::kubectl::run(&self.binary, &self.kubeconfig(identity)?, args).await
    }

    /// Sends a command to the supervisor's control socket (`restart apiserver`, `kill etcd`,
    /// `start etcd`, `status`, ...) and waits until it is done (a started component is
    /// ready again). Returns how long it took.
    pub async fn control(&self, command: &str) -> Result<Duration> {
        let t = Instant::now();
        let mut sock = UnixStream::connect(&self.ready.control_socket)
            .await
            .with_context(|| format!("connecting to {}", self.ready.control_socket.display()))?;
        sock.write_all(format!("{command}\n").as_bytes()).await?;
        let mut line = String::new();
        tokio::io::BufReader::new(sock).read_line(&mut line).await?;
        let reply: serde_json::Value =
            serde_json::from_str(&line).with_context(|| format!("control reply {line:?}"))?;
        if reply["ok"] != serde_json::Value::Bool(true) {
            bail!("pacer-testenv {command:?} failed: {}", reply["error"]);
        }
        Ok(t.elapsed())
    }

    /// Restarts kube-apiserver (SIGTERM, start, wait for /readyz); etcd keeps running and
    /// keeps all data. Returns the time until the API server was ready again.
    pub async fn restart_apiserver(&self) -> Result<Duration> {
        self.control("restart apiserver").await
    }

    /// Kills kube-apiserver with SIGKILL (a crash) without starting it again.
    pub async fn kill_apiserver(&self) -> Result<Duration> {
        self.control("kill apiserver").await
    }

    pub async fn start_apiserver(&self) -> Result<Duration> {
        self.control("start apiserver").await
    }

    pub async fn restart_etcd(&self) -> Result<Duration> {
        self.control("restart etcd").await
    }

    /// Current pids and ports (`status` on the control socket).
    pub async fn status(&self) -> Result<Ready> {
        let mut sock = UnixStream::connect(&self.ready.control_socket).await?;
        sock.write_all(b"status\n").await?;
        let mut line = String::new();
        tokio::io::BufReader::new(sock).read_line(&mut line).await?;
        let v: serde_json::Value = serde_json::from_str(&line)?;
        Ok(serde_json::from_value(v["state"].clone())?)
    }

    /// The process group of the supervisor and its children.
    pub fn process_group(&self) -> i32 {
        self.ready.supervisor_pid
    }
}

/// A client for a kubeconfig file.
pub async fn client_from_kubeconfig(path: &Path) -> Result<Client> {
    let kc = Kubeconfig::read_from(path).with_context(|| format!("reading {}", path.display()))?;
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .with_context(|| format!("loading {}", path.display()))?;
    Client::try_from(config).with_context(|| format!("client for {}", path.display()))
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let Ok(mut guard) = self.child.lock() else {
            return;
        };
        if let Some(mut child) = guard.take() {
            // The supervisor leads its process group: SIGKILL reaches etcd and the API
            // server too, even if the supervisor is stuck.
            let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
            let _ = child.wait();
        }
    }
}
