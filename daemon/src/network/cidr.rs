//! IPv4 subnets: parsing `a.b.c.d/n`, overlap with the host's routes, and the choice of a free subnet
//! from address pools as dockerd makes it for its default bridge (`172.17.0.0/16` first when free).

use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 address with a prefix length (`172.17.0.1/16` keeps its host part).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` (n from 0 to 32).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (addr, prefix) = text.trim().split_once('/')?;
        let prefix: u8 = prefix.parse().ok()?;
        (prefix <= 32).then_some(())?;
        Some(Self {
            addr: addr.parse().ok()?,
            prefix,
        })
    }

    fn mask(self) -> u32 {
        match self.prefix {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p)),
        }
    }

    /// The subnet itself (host bits cleared).
    pub(crate) fn network(self) -> Self {
        Self {
            addr: Ipv4Addr::from(u32::from(self.addr) & self.mask()),
            prefix: self.prefix,
        }
    }

    /// Whether `ip` is inside.
    pub(crate) fn contains(self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// Whether the two share an address.
    pub(crate) fn overlaps(self, other: Self) -> bool {
        self.contains(other.addr) || other.contains(self.addr)
    }

    /// The `n`th address of the subnet (1 is dockerd's gateway).
    pub(crate) fn nth(self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from((u32::from(self.addr) & self.mask()).wrapping_add(n))
    }

    /// Splits into subnets of `size` bits (none when `size` is shorter than the prefix or over 30).
    pub(crate) fn split(self, size: u8) -> impl Iterator<Item = Cidr> {
        let base = u32::from(self.network().addr);
        let count: u64 = if size < self.prefix || size > 30 {
            0
        } else {
            1u64 << (size - self.prefix)
        };
        let step: u64 = 1u64 << (32 - u32::from(size));
        (0..count).map(move |i| Cidr {
            addr: Ipv4Addr::from(base.wrapping_add((i * step) as u32)),
            prefix: size,
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An address pool as `default-address-pools` gives it: a base subnet cut into subnets of `size` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Pool {
    pub base: Cidr,
    pub size: u8,
}

/// dockerd's default pools (`172.17.0.0/16` … `172.31.0.0/16`, then `192.168.0.0/16` cut into /20s).
pub(crate) fn default_pools() -> Vec<Pool> {
    vec![
        Pool {
            base: Cidr {
                addr: Ipv4Addr::new(172, 17, 0, 0),
                prefix: 16,
            },
            size: 16,
        },
        Pool {
            base: Cidr {
                addr: Ipv4Addr::new(172, 18, 0, 0),
                prefix: 15,
            },
            size: 16,
        },
        Pool {
            base: Cidr {
                addr: Ipv4Addr::new(172, 20, 0, 0),
                prefix: 14,
            },
            size: 16,
        },
        Pool {
            base: Cidr {
                addr: Ipv4Addr::new(172, 24, 0, 0),
                prefix: 14,
            },
            size: 16,
        },
        Pool {
            base: Cidr {
                addr: Ipv4Addr::new(172, 28, 0, 0),
                prefix: 14,
            },
            size: 16,
        },
        Pool {
            base: Cidr {
                addr: Ipv4Addr::new(192, 168, 0, 0),
                prefix: 16,
            },
            size: 20,
        },
    ]
}

/// The first subnet of `pools` that overlaps none of `used`.
pub(crate) fn pick_subnet(pools: &[Pool], used: &[Cidr]) -> Option<Cidr> {
    pools
        .iter()
        .flat_map(|p| p.base.split(p.size))
        .find(|c| !used.iter().any(|u| u.overlaps(*c)))
}

/// The subnets of the host's routes (`/proc/net/route`), default routes and those through `skip` (our own
/// bridge, whose subnet stays ours) left out.
pub(crate) fn host_routes(route_table: &str, skip: &str) -> Vec<Cidr> {
    route_table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, mask) = (f.first()?, f.get(1)?, f.get(7)?);
            if *iface == skip {
                return None;
            }
            let dest = u32::from_str_radix(dest, 16).ok()?.swap_bytes();
            let mask = u32::from_str_radix(mask, 16).ok()?.swap_bytes();
            (mask != 0).then(|| Cidr {
                addr: Ipv4Addr::from(dest),
                prefix: mask.count_ones() as u8,
            })
        })
        .collect()
}

/// Parses `default-address-pools` entries as dockerd's flag takes them: `base=10.10.0.0/16,size=24`.
pub(crate) fn parse_pool_flag(text: &str) -> Result<Pool, String> {
    let mut base = None;
    let mut size = None;
    for part in text.split(',') {
        match part.split_once('=') {
            Some(("base", v)) => base = Some(v),
            Some(("size", v)) => size = Some(v),
            _ => return Err(format!("invalid field {part:?} must be a key=value pair")),
        }
    }
    pool(
        base.ok_or("address pool requires base and size")?,
        size.ok_or("address pool requires base and size")?
            .parse::<i64>()
            .map_err(|e| e.to_string())?,
    )
}

/// One pool from its base and size, checked.
pub(crate) fn pool(base: &str, size: i64) -> Result<Pool, String> {
    let base = Cidr::parse(base).ok_or_else(|| format!("invalid CIDR address: {base}"))?;
    match u8::try_from(size) {
        Ok(size) if size >= base.prefix && size <= 30 => Ok(Pool {
            base: base.network(),
            size,
        }),
        _ => Err(format!(
            "invalid pools size: {size} (it must be between the base's prefix and 30)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        Cidr::parse(s).unwrap()
    }

    #[test]
    fn subnets_parse_and_overlap() {
        assert_eq!(c("172.17.0.1/16").network(), c("172.17.0.0/16"));
        assert_eq!(c("172.17.0.0/16").nth(1), Ipv4Addr::new(172, 17, 0, 1));
        assert!(c("10.0.0.0/8").overlaps(c("10.3.0.0/16")));
        assert!(!c("10.0.0.0/16").overlaps(c("10.1.0.0/16")));
        assert_eq!(Cidr::parse("10.0.0.0/33"), None);
        assert_eq!(Cidr::parse("10.0.0.0"), None);
        assert_eq!(c("10.0.0.0/16").split(17).count(), 2);
        assert_eq!(c("10.0.0.0/16").split(15).count(), 0);
    }

    #[test]
    fn the_first_free_default_subnet_is_dockerds() {
        let pools = default_pools();
        assert_eq!(pick_subnet(&pools, &[]), Some(c("172.17.0.0/16")));
        let used = [c("172.17.0.0/16"), c("172.18.5.0/24")];
        assert_eq!(pick_subnet(&pools, &used), Some(c("172.19.0.0/16")));
        let mut all: Vec<Cidr> = (16..32).map(|b| c(&format!("172.{b}.0.0/16"))).collect();
        all.push(c("192.168.0.0/24"));
        assert_eq!(pick_subnet(&pools, &all), Some(c("192.168.16.0/20")));
    }

    #[test]
    fn host_routes_come_from_proc_net_route() {
        let table =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
wharf0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        assert_eq!(host_routes(table, "wharf0"), vec![c("192.0.2.0/24")]);
        assert_eq!(host_routes(table, "x").len(), 2);
    }

    #[test]
    fn pool_flags_parse_as_dockerds() {
        assert_eq!(
            parse_pool_flag("base=10.10.0.0/16,size=24"),
            Ok(Pool {
                base: c("10.10.0.0/16"),
                size: 24
            })
        );
        assert!(parse_pool_flag("base=10.10.0.0/16").is_err());
        assert!(parse_pool_flag("base=10.10.0.0/16,size=8").is_err());
    }
}
