//! Runs in-process agent code (native `pacer:` classes) inside a named network
//! namespace: a namespace name and a future-producing closure in, its output out.
//!
//! A thread's network namespace decides where its new sockets live, so the work runs
//! on a dedicated OS thread that first joins `/run/netns/NAME` (as `ip netns exec`
//! does for forked agents) and drives the future on its own small runtime. Production
//! agents run in the host namespace and take the direct path.

use std::future::Future;

use nix::sched::CloneFlags;

use crate::Error;

pub const NETNS_DIR: &str = "/run/netns";

pub async fn run_in<F, Fut, T>(netns: Option<&str>, work: F) -> Result<T, Error>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let Some(name) = netns else {
        return Ok(work().await);
    };
    let name = name.to_string();
    let err = |name: &str, why: String| Error::Netns {
        name: name.to_string(),
        why,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let thread_name = name.clone();
    std::thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || {
            let outcome = (|| {
                let path = format!("{NETNS_DIR}/{thread_name}");
                let file = std::fs::File::open(&path).map_err(|e| {
                    format!("cannot open {path}: {e}; create it with `ip netns add`")
                })?;
                nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| format!("setns failed: {e}"))?;
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot build a runtime: {e}"))?;
                Ok(rt.block_on(work()))
            })();
            let _ = tx.send(outcome);
        })
        .map_err(|e| err(&name, format!("cannot start a thread: {e}")))?;
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(why)) => Err(err(&name, why)),
        Err(_) => Err(err(&name, "the namespace thread died".into())),
    }
}
