//! A TCP forwarder from a network namespace to the root namespace's loopback: how agents
//! inside namespace hosts reach the API server, which listens on 127.0.0.1 only.
//!
//! In: the namespace, the address to listen on there, the root-namespace target port.
//! Out: a running forwarder (threads: one accept loop, two copiers per connection),
//! stopped on drop. The listening socket is created by a thread that joined the namespace;
//! outgoing connections are made from threads in the root namespace.

use std::{
    io::{Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use anyhow::{Context, Result};

use crate::hosts::in_netns;

pub struct Forwarder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pub listen: SocketAddr,
}

impl Forwarder {
    /// Listens on `listen` inside `ns` and forwards every connection to `target` (root
    /// namespace).
    pub fn start(ns: &str, listen: SocketAddr, target: SocketAddr) -> Result<Forwarder> {
        let listener = in_netns(ns, move || TcpListener::bind(listen))?
            .with_context(|| format!("binding {listen} in {ns}"))?;
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("api-forward".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((inbound, _)) => {
                            let _ = inbound.set_nonblocking(false);
                            let _ = inbound.set_nodelay(true);
                            std::thread::spawn(move || {
                                if let Ok(out) =
                                    TcpStream::connect_timeout(&target, Duration::from_secs(5))
                                {
                                    let _ = out.set_nodelay(true);
                                    pipe(inbound, out);
                                }
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })?;
        Ok(Forwarder {
            stop,
            thread: Some(thread),
            listen,
        })
    }
}

/// Copies both ways until either side closes.
fn pipe(a: TcpStream, b: TcpStream) {
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    let t = std::thread::spawn(move || copy(a2, b2));
    copy(b, a);
    let _ = t.join();
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
