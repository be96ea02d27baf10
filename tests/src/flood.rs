//! A connection flood on a TCP port, for the test and the bench that check a TLS port stays usable under
//! it: idle sockets that never send a byte and reconnect as soon as the server drops them, plus threads
//! that connect and hang up in a loop. Only ever aimed at an IPv4 loopback address, and sent from a loopback
//! address of its own ([`SOURCE`]): a flood comes from the attacker's addresses, not from the client's, and
//! the server's per-address bound on pending handshakes is what keeps other addresses served. (A client
//! sharing the flood's address competes with it: a socket that has not spoken yet cannot be told from a
//! silent one, so the flood's newcomers can push it out before its first bytes arrive.)

use std::io::{ErrorKind, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{bail, Result};

/// The address every flood socket is bound to: loopback, but not the 127.0.0.1 clients use.
pub const SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// How long one connect may take before the flood moves on and retries it later.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A running flood; it stops and closes every socket on drop.
#[derive(Debug)]
pub struct Flood {
    stop: Arc<AtomicBool>,
    reconnects: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Flood {
    /// Opens `idle` sockets to `addr` (spread over `idle_threads` threads that reconnect each one the
    /// server closes) and starts `churn_threads` threads that connect and hang up in a loop. Returns once
    /// every idle socket has been connected once.
    pub fn start(
        addr: SocketAddr,
        idle: usize,
        idle_threads: usize,
        churn_threads: usize,
    ) -> Result<Self> {
        if !(addr.is_ipv4() && addr.ip().is_loopback()) {
            bail!("the flood only targets IPv4 loopback addresses, not {addr}");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let reconnects = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        let idle_threads = idle_threads.max(1);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        for i in 0..idle_threads {
            let share = idle / idle_threads + usize::from(i < idle % idle_threads);
            let (stop, reconnects, ready) = (stop.clone(), reconnects.clone(), ready_tx.clone());
            threads.push(std::thread::spawn(move || {
                idle_sockets(addr, share, &stop, &reconnects, &ready)
            }));
        }
        drop(ready_tx);
        for _ in 0..churn_threads {
            let (stop, reconnects) = (stop.clone(), reconnects.clone());
            threads.push(std::thread::spawn(move || churn(addr, &stop, &reconnects)));
        }
        let flood = Self {
            stop,
            reconnects,
            threads,
        };
        // Each idle thread reports once all its sockets are open (or it gave up because of the stop).
        for _ in 0..idle_threads {
            if ready_rx.recv_timeout(Duration::from_secs(60)).is_err() {
                bail!("the flood's idle sockets did not all connect within 60 s");
            }
        }
        Ok(flood)
    }

    /// Connections opened since the start beyond the first round of idle sockets.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A socket from [`SOURCE`] connected to `addr`.
fn connect_from_source(addr: SocketAddr) -> Option<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    // Without this, bind picks a port of its own that no other socket (TIME_WAIT ones included) holds,
    // and the churn runs out of ports; with it the port is chosen at connect, per destination.
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::IpBindAddressNoPort,
        &true,
    )
    .ok()?;
    socket.bind(&SocketAddr::from((SOURCE, 0)).into()).ok()?;
    socket.connect_timeout(&addr.into(), CONNECT_TIMEOUT).ok()?;
    Some(socket.into())
}

fn connect(addr: SocketAddr) -> Option<TcpStream> {
    let s = connect_from_source(addr)?;
    s.set_nonblocking(true).ok()?;
    Some(s)
}

fn idle_sockets(
    addr: SocketAddr,
    count: usize,
    stop: &AtomicBool,
    reconnects: &AtomicU64,
    ready: &std::sync::mpsc::Sender<()>,
) {
    let mut sockets: Vec<Option<TcpStream>> = Vec::with_capacity(count);
    while sockets.len() < count && !stop.load(Ordering::Relaxed) {
        sockets.push(connect(addr));
    }
    let _ = ready.send(());
    let mut byte = [0u8; 1];
    while !stop.load(Ordering::Relaxed) {
        for slot in &mut sockets {
            let alive = match slot {
                Some(s) => match s.read(&mut byte) {
                    Ok(0) => false,
                    Ok(_) => true,
                    Err(e) => e.kind() == ErrorKind::WouldBlock,
                },
                None => false,
            };
            if !alive {
                *slot = connect(addr);
                reconnects.fetch_add(1, Ordering::Relaxed);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn churn(addr: SocketAddr, stop: &AtomicBool, reconnects: &AtomicU64) {
    while !stop.load(Ordering::Relaxed) {
        drop(connect_from_source(addr));
        reconnects.fetch_add(1, Ordering::Relaxed);
    }
}
