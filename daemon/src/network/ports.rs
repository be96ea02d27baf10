//! Published ports: what a container asks for (`PortBindings`, `-P` with its `ExposedPorts`) turned into
//! concrete host ports, each one held by a bound socket while the container runs.
//!
//! The traffic itself goes through the kernel (portmap's DNAT), so nothing listens on a published port;
//! the bound socket reserves it, as dockerd's proxy does, so that no other container (or host process)
//! gets the same port and a random port stays the container's until it stops.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use serde::{Deserialize, Serialize};
use wharf_client_core::models::{PortBinding, PortMap};

use crate::error::Error;

/// One published port, as kept in the container's record and handed to the portmap plugin.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct PortMapping {
    /// The host address (`0.0.0.0`: all of them).
    pub host_ip: String,
    pub host_port: u16,
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// A port the container wants published: the container's port and protocol, the host address and the
/// host ports it may take (`None`: any free one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub container_port: u16,
    pub protocol: String,
    pub host_ip: String,
    pub host_ports: Option<(u16, u16)>,
}

/// Splits `80/tcp` into the port and protocol (tcp when absent).
pub(crate) fn split_port(key: &str) -> Option<(u16, String)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = if proto.is_empty() { "tcp" } else { proto };
    Some((port.parse().ok()?, proto.to_ascii_lowercase()))
}

fn host_range(text: &str) -> Result<Option<(u16, u16)>, Error> {
    let bad = || Error::invalid(format!("invalid port specification: {text:?}"));
    if text.is_empty() || text == "0" {
        return Ok(None);
    }
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b): (u16, u16) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

/// What to publish: every binding of `PortBindings`, and with `PublishAllPorts` every exposed port not
/// bound already on a random host port. Sorted by container port, so that random ports go in order.
pub(crate) fn wanted(
    bindings: Option<&PortMap>,
    exposed: Option<&HashMap<String, HashMap<(), ()>>>,
    publish_all: bool,
) -> Result<Vec<Wanted>, Error> {
    let mut keys: BTreeMap<(u16, String), Vec<PortBinding>> = BTreeMap::new();
    for (key, list) in bindings.into_iter().flatten() {
        let port = split_port(key)
            .ok_or_else(|| Error::invalid(format!("invalid port specification: {key:?}")))?;
        keys.entry(port)
            .or_default()
            .extend(list.iter().flatten().cloned());
    }
    if publish_all {
        for key in exposed.into_iter().flat_map(HashMap::keys) {
            if let Some(port) = split_port(key) {
                let list = keys.entry(port).or_default();
                if list.is_empty() {
                    list.push(PortBinding::default());
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((container_port, protocol), list) in keys {
        for b in list {
            let host_ip = b.host_ip.clone().filter(|h| !h.is_empty());
            if let Some(ip) = &host_ip {
                ip.parse::<IpAddr>()
                    .map_err(|_| Error::invalid(format!("invalid IP address: {ip}")))?;
            }
            out.push(Wanted {
                container_port,
                protocol: protocol.clone(),
                host_ip: host_ip.unwrap_or_else(|| "0.0.0.0".to_owned()),
                host_ports: host_range(b.host_port.as_deref().unwrap_or(""))?,
            });
        }
    }
    Ok(out)
}

/// A bound socket holding a host port (never listening: the DNAT rule takes the connections).
#[derive(Debug)]
pub(crate) struct Reservation(#[allow(dead_code)] OwnedFd);

fn bind(ip: Ipv4Addr, port: u16, protocol: &str) -> nix::Result<(Reservation, u16)> {
    use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrIn};
    let typ = if protocol == "udp" {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let fd = socket::socket(AddressFamily::Inet, typ, SockFlag::SOCK_CLOEXEC, None)?;
    socket::bind(
        fd.as_raw_fd(),
        &SockaddrIn::from(SocketAddrV4::new(ip, port)),
    )?;
    let bound: SockaddrIn = socket::getsockname(fd.as_raw_fd())?;
    Ok((Reservation(fd), bound.port()))
}

/// Takes host ports for `wanted`: a given port, the first free one of a range, or a free one the kernel
/// picks. dockerd's words when a port is taken.
pub(crate) fn reserve(wanted: &[Wanted]) -> Result<(Vec<PortMapping>, Vec<Reservation>), Error> {
    let mut mappings = Vec::new();
    let mut held = Vec::new();
    for w in wanted {
        let ip: IpAddr = w
            .host_ip
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let IpAddr::V4(ip) = ip else {
            // Kernel DNAT here is IPv4 only: an IPv6 binding publishes nothing, as dockerd without
            // `ip6tables` does.
            continue;
        };
        let taken = match w.host_ports {
            None => bind(ip, 0, &w.protocol).ok(),
            Some((a, b)) => (a..=b).find_map(|p| bind(ip, p, &w.protocol).ok()),
        };
        let Some((reservation, port)) = taken else {
            let shown = match w.host_ports {
                Some((a, b)) if a != b => format!("{a}-{b}"),
                Some((a, _)) => a.to_string(),
                None => "0".into(),
            };
            return Err(Error::system(format!(
                "Bind for {}:{shown} failed: port is already allocated",
                w.host_ip
            )));
        };
        held.push(reservation);
        mappings.push(PortMapping {
            host_ip: w.host_ip.clone(),
            host_port: port,
            container_port: w.container_port,
            protocol: w.protocol.clone(),
        });
    }
    Ok((mappings, held))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(ip: &str, port: &str) -> PortBinding {
        PortBinding {
            host_ip: Some(ip.into()),
            host_port: Some(port.into()),
        }
    }

    #[test]
    fn bindings_and_exposed_ports_become_wanted_ports() {
        let bindings = PortMap::from([
            ("80/tcp".into(), Some(vec![binding("", "8080")])),
            ("53/udp".into(), Some(vec![binding("127.0.0.1", "")])),
            ("90".into(), Some(vec![binding("", "9000-9010")])),
        ]);
        let exposed = HashMap::from([
            ("80/tcp".to_owned(), HashMap::new()),
            ("443/tcp".to_owned(), HashMap::new()),
        ]);
        let w = wanted(Some(&bindings), Some(&exposed), true).unwrap();
        let short: Vec<_> = w
            .iter()
            .map(|w| {
                (
                    w.container_port,
                    w.protocol.as_str(),
                    w.host_ip.as_str(),
                    w.host_ports,
                )
            })
            .collect();
        assert_eq!(
            short,
            [
                (53, "udp", "127.0.0.1", None),
                (80, "tcp", "0.0.0.0", Some((8080, 8080))),
                (90, "tcp", "0.0.0.0", Some((9000, 9010))),
                (443, "tcp", "0.0.0.0", None),
            ]
        );
        // Without -P the exposed ports stay unpublished.
        assert_eq!(
            wanted(Some(&bindings), Some(&exposed), false)
                .unwrap()
                .len(),
            3
        );
        assert!(wanted(
            Some(&PortMap::from([(
                "80".into(),
                Some(vec![binding("", "9-1")])
            )])),
            None,
            false
        )
        .is_err());
        assert!(wanted(
            Some(&PortMap::from([(
                "80".into(),
                Some(vec![binding("x", "1")])
            )])),
            None,
            false
        )
        .is_err());
    }

    #[test]
    fn reserved_ports_are_held_and_refused_twice() {
        let any = Wanted {
            container_port: 80,
            protocol: "tcp".into(),
            host_ip: "127.0.0.1".into(),
            host_ports: None,
        };
        let (first, held) = reserve(std::slice::from_ref(&any)).unwrap();
        assert_ne!(first[0].host_port, 0);
        let again = Wanted {
            host_ports: Some((first[0].host_port, first[0].host_port)),
            ..any.clone()
        };
        let err = reserve(std::slice::from_ref(&again)).unwrap_err();
        assert_eq!(
            err.message,
            format!(
                "Bind for 127.0.0.1:{} failed: port is already allocated",
                first[0].host_port
            )
        );
        // A range skips the taken port.
        let range = Wanted {
            host_ports: Some((first[0].host_port, first[0].host_port.saturating_add(20))),
            ..any
        };
        let (next, _held2) = reserve(&[range]).unwrap();
        assert_ne!(next[0].host_port, first[0].host_port);
        drop(held);
        assert!(reserve(&[again]).is_ok());
    }
}
