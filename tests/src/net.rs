//! Free loopback TCP ports.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{Context, Result};

/// A 127.0.0.1 address whose port was free a moment ago: bind port 0, read the port, close.
pub fn free_loopback_addr() -> Result<SocketAddr> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .context("binding 127.0.0.1:0 to find a port")?;
    listener.local_addr().context("reading the bound address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_free_port_is_loopback_and_bindable() {
        let addr = free_loopback_addr().unwrap();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);
        TcpListener::bind(addr).unwrap();
    }
}
