//! Runs one agent program: a [`ProcessSpec`] (program, args, environment, stdin, timeout,
//! output cap, optional launcher prefix such as `ip netns exec NS`) in, a [`ProcessOutput`]
//! (how it ended, bounded stdout/stderr, wall time) out.
//!
//! Why each guard exists:
//! - The child leads its own process group, so a timeout kills everything the agent
//!   forked (SIGTERM, a grace period, then SIGKILL to the whole group); agents that
//!   background helpers (`sleep`, `send_arp`) would otherwise outlive their timeout.
//! - stdout/stderr are read concurrently and capped: an agent printing garbage forever
//!   must neither block on a full pipe nor grow our memory.
//! - Once the agent exits we only wait a moment for its pipes to close: daemons it
//!   started in the background may keep them open forever.
//! - Nothing here panics; a missing program is a [`Exit::NotFound`], not an error.

use nix::{sys::signal::Signal, unistd::Pid};
use std::{
    ffi::OsString,
    os::unix::{fs::PermissionsExt, process::ExitStatusExt},
    path::PathBuf,
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::Command,
};

/// Default cap on captured stdout and on captured stderr, each.
pub const DEFAULT_OUTPUT_LIMIT: usize = 64 * 1024;
/// How long pipes may stay open after the agent itself exited.
const PIPE_LINGER: Duration = Duration::from_millis(200);

#[derive(Clone, Debug)]
pub struct ProcessSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The complete environment: the parent's is never inherited, so secrets and
    /// unrelated settings of the agent daemon do not leak into resource agents.
    pub env: Vec<(OsString, OsString)>,
    /// Written to the child's stdin, which is then closed (fence agents read
    /// credentials here). `None` gives `/dev/null`.
    pub stdin: Option<Vec<u8>>,
    pub timeout: Duration,
    /// Between SIGTERM and SIGKILL after a timeout.
    pub kill_grace: Duration,
    pub output_limit: usize,
    /// Command prefix run instead of the program itself, which is appended with its
    /// args (e.g. `["ip", "netns", "exec", "h1"]` to run inside a network namespace).
    pub launcher: Vec<OsString>,
}

impl ProcessSpec {
    pub fn new(program: impl Into<PathBuf>, timeout: Duration) -> ProcessSpec {
        ProcessSpec {
            program: program.into(),
            args: Vec::new(),
            env: vec![(
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            )],
            stdin: None,
            timeout,
            kill_grace: Duration::from_secs(2),
            output_limit: DEFAULT_OUTPUT_LIMIT,
            launcher: Vec::new(),
        }
    }
    pub fn arg(mut self, arg: impl Into<OsString>) -> ProcessSpec {
        self.args.push(arg.into());
        self
    }
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> ProcessSpec {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// How the process ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by a signal it did not ask for (crash, OOM killer...).
    Signal(i32),
    /// Ran past its timeout; its whole process group was killed.
    TimedOut,
    /// The program does not exist.
    NotFound,
    /// The program exists but is not executable.
    NotExecutable,
    /// fork/exec failed for another reason (the text says which).
    SpawnFailed(String),
}

#[derive(Clone, Debug)]
pub struct ProcessOutput {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub elapsed: Duration,
}

impl ProcessOutput {
    fn without_run(exit: Exit) -> ProcessOutput {
        ProcessOutput {
            exit,
            stdout: Vec::new(),
            stderr: Vec::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            elapsed: Duration::ZERO,
        }
    }
    pub fn stdout_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    pub fn stderr_lossy(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Kills the child's process group if the run is abandoned (future dropped, e.g. a
/// cancelled monitor) before the child was reaped.
struct GroupGuard {
    pgid: Option<Pid>,
}

impl GroupGuard {
    fn signal(&self, sig: Signal) {
        if let Some(pgid) = self.pgid {
            // ESRCH just means the group is already gone.
            let _ = nix::sys::signal::killpg(pgid, sig);
        }
    }
    fn disarm(&mut self) {
        self.pgid = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

/// Runs the process described by `spec` to completion or timeout.
pub async fn run(spec: &ProcessSpec) -> ProcessOutput {
    if let Some(exit) = check_program(spec) {
        return ProcessOutput::without_run(exit);
    }
    let mut cmd = match spec.launcher.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(&spec.program);
            c
        }
        None => Command::new(&spec.program),
    };
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spec.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);

    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let exit = match e.kind() {
                std::io::ErrorKind::NotFound => Exit::NotFound,
                std::io::ErrorKind::PermissionDenied => Exit::NotExecutable,
                _ => Exit::SpawnFailed(e.to_string()),
            };
            return ProcessOutput::without_run(exit);
        }
    };
    let mut guard = GroupGuard {
        pgid: child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    };

    if let (Some(data), Some(mut stdin)) = (spec.stdin.clone(), child.stdin.take()) {
        // A child that never reads its stdin must not block us: write in the background.
        tokio::spawn(async move {
            let _ = stdin.write_all(&data).await;
            let _ = stdin.shutdown().await;
        });
    }
    let limit = spec.output_limit;
    let out_task = child
        .stdout
        .take()
        .map(|s| tokio::spawn(read_bounded(s, limit)));
    let err_task = child
        .stderr
        .take()
        .map(|s| tokio::spawn(read_bounded(s, limit)));

    let exit = match tokio::time::timeout(spec.timeout, child.wait()).await {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(sig)) => Exit::Signal(sig),
            (None, None) => Exit::SpawnFailed("no exit status".into()),
        },
        Ok(Err(e)) => Exit::SpawnFailed(format!("waiting for the agent failed: {e}")),
        Err(_elapsed) => {
            guard.signal(Signal::SIGTERM);
            if tokio::time::timeout(spec.kill_grace, child.wait())
                .await
                .is_err()
            {
                guard.signal(Signal::SIGKILL);
                let _ = child.wait().await;
            }
            // The leader may have obeyed SIGTERM while helpers ignored it.
            guard.signal(Signal::SIGKILL);
            Exit::TimedOut
        }
    };
    let elapsed = started.elapsed();
    guard.disarm();

    let (stdout, stdout_truncated) = collect(out_task).await;
    let (stderr, stderr_truncated) = collect(err_task).await;
    ProcessOutput {
        exit,
        stdout,
        stderr,
        stdout_truncated,
        stderr_truncated,
        elapsed,
    }
}

fn check_program(spec: &ProcessSpec) -> Option<Exit> {
    // With a launcher the spawn itself succeeds even for a missing program, so look first.
    match std::fs::metadata(&spec.program) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Exit::NotFound),
        Err(e) => Some(Exit::SpawnFailed(format!(
            "cannot inspect {}: {e}",
            spec.program.display()
        ))),
        Ok(m) if !m.is_file() || m.permissions().mode() & 0o111 == 0 => Some(Exit::NotExecutable),
        Ok(_) => None,
    }
}

type Captured = (Vec<u8>, bool);

async fn collect(task: Option<tokio::task::JoinHandle<Captured>>) -> Captured {
    let Some(mut task) = task else {
        return (Vec::new(), false);
    };
    match tokio::time::timeout(PIPE_LINGER, &mut task).await {
        Ok(Ok(captured)) => captured,
        Ok(Err(_join)) => (Vec::new(), false),
        Err(_still_open) => {
            // A background grandchild holds the pipe; what we have is all we get.
            task.abort();
            match task.await {
                Ok(captured) => captured,
                Err(_) => (Vec::new(), true),
            }
        }
    }
}

/// Reads until EOF, keeping at most `limit` bytes and discarding the rest so the writer
/// never blocks on a full pipe.
async fn read_bounded<R: AsyncRead + Unpin>(mut reader: R, limit: usize) -> Captured {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                if n > room {
                    truncated = true;
                }
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    (kept, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exit_code_and_output() {
        let spec = ProcessSpec::new("/bin/sh", Duration::from_secs(5))
            .arg("-c")
            .arg("echo out; echo err >&2; exit 3");
        let out = run(&spec).await;
        assert_eq!(out.exit, Exit::Code(3));
        assert_eq!(out.stdout_lossy(), "out\n");
        assert_eq!(out.stderr_lossy(), "err\n");
    }

    #[tokio::test]
    async fn environment_is_not_inherited() {
        // HOME is set for the test runner; it must not reach the child.
        let spec = ProcessSpec::new("/bin/sh", Duration::from_secs(5))
            .arg("-c")
            .arg("echo \"[$HOME][$FOO]\"")
            .env("FOO", "bar");
        let out = run(&spec).await;
        assert_eq!(out.stdout_lossy(), "[][bar]\n");
    }

    #[tokio::test]
    async fn stdin_is_delivered() {
        let mut spec = ProcessSpec::new("/bin/cat", Duration::from_secs(5));
        spec.stdin = Some(b"a=b\n".to_vec());
        assert_eq!(run(&spec).await.stdout_lossy(), "a=b\n");
    }

    #[tokio::test]
    async fn missing_and_non_executable_programs() {
        let out = run(&ProcessSpec::new(
            "/nonexistent/agent",
            Duration::from_secs(1),
        ))
        .await;
        assert_eq!(out.exit, Exit::NotFound);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let plain = dir.path().join("agent");
        std::fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let out = run(&ProcessSpec::new(&plain, Duration::from_secs(1))).await;
        assert_eq!(out.exit, Exit::NotExecutable);
    }

    #[tokio::test]
    async fn huge_output_is_capped_and_drained() {
        let mut spec = ProcessSpec::new("/bin/sh", Duration::from_secs(20))
            .arg("-c")
            .arg("head -c 50000000 /dev/zero; echo done >&2");
        spec.output_limit = 1000;
        let out = run(&spec).await;
        assert_eq!(out.exit, Exit::Code(0));
        assert_eq!(out.stdout.len(), 1000);
        assert!(out.stdout_truncated);
        assert_eq!(out.stderr_lossy(), "done\n");
    }
}
