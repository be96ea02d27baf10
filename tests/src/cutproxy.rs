//! A TCP proxy in front of a registry that can cut every connection once a given number of bytes has
//! gone to the client: "the registry died in the middle of a layer", at a point a test chooses, whatever
//! the speed of loopback. While cut it accepts and at once closes connections (a registry that is gone);
//! [`CutProxy::restore`] forwards again.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};

/// What runs when the proxy cuts (e.g. killing the registry behind it).
type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct State {
    down_bytes: AtomicU64,
    limit: AtomicU64,
    cut: AtomicBool,
    stopped: AtomicBool,
    live: Mutex<Vec<TcpStream>>,
    on_cut: Mutex<Option<Hook>>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("down_bytes", &self.down_bytes)
            .field("cut", &self.cut)
            .finish_non_exhaustive()
    }
}

impl State {
    fn cut_all(&self) {
        let hook = self
            .on_cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(hook) = hook {
            hook();
        }
        self.cut.store(true, Ordering::SeqCst);
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        for s in live.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// A running proxy; stopped on drop.
#[derive(Debug)]
pub struct CutProxy {
    addr: SocketAddr,
    state: Arc<State>,
}

impl CutProxy {
    /// Listens on `listen` (port 0 for any) and forwards to `target`.
    pub fn start(listen: SocketAddr, target: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind(listen).with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            limit: AtomicU64::new(u64::MAX),
            ..State::default()
        });
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if shared.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if shared.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
                    continue;
                };
                forward(&shared, client, server);
            }
        });
        Ok(Self { addr, state })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every connection once `bytes` more have gone to clients.
    pub fn cut_after(&self, bytes: u64) {
        let sent = self.state.down_bytes.load(Ordering::SeqCst);
        self.state
            .limit
            .store(sent.saturating_add(bytes), Ordering::SeqCst);
    }

    /// [`Self::cut_after`], running `hook` at the cut, before the connections close.
    pub fn cut_after_then(&self, bytes: u64, hook: impl FnOnce() + Send + 'static) {
        *self
            .state
            .on_cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
        self.cut_after(bytes);
    }

    /// Whether it has cut.
    pub fn is_cut(&self) -> bool {
        self.state.cut.load(Ordering::SeqCst)
    }

    /// Forwards again, with no limit.
    pub fn restore(&self) {
        self.state.limit.store(u64::MAX, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.state.stopped.store(true, Ordering::SeqCst);
        self.state
            .on_cut
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.state.cut_all();
        // Wake the accept loop so that it sees `stopped`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn forward(state: &Arc<State>, client: TcpStream, server: TcpStream) {
    let clones = (client.try_clone(), server.try_clone());
    let (Ok(client2), Ok(server2)) = clones else {
        return;
    };
    {
        let mut live = state.live.lock().unwrap_or_else(PoisonError::into_inner);
        if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
            live.push(a);
            live.push(b);
        }
    }
    let up = state.clone();
    std::thread::spawn(move || pump(&up, client, server2, false));
    let down = state.clone();
    std::thread::spawn(move || pump(&down, server, client2, true));
}

/// Copies `from` to `to`; counts (and may cut) what goes to the client when `downstream`.
fn pump(state: &State, mut from: TcpStream, mut to: TcpStream, downstream: bool) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if downstream {
            let sent = state.down_bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
            if sent >= state.limit.load(Ordering::SeqCst) {
                state.cut_all();
                break;
            }
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}
