//! Where a registry is reached, in the order tried, as dockerd's `lookupV2Endpoints`: Docker Hub's
//! mirrors (pulls only) then `https://registry-1.docker.io`; any other registry over verified HTTPS,
//! or, when it is insecure, HTTPS without verification then plain HTTP.

use super::config::INDEX_NAME;
use super::Access;

/// Docker Hub's registry API.
pub(crate) const DOCKER_HUB: &str = "https://registry-1.docker.io";

/// One way to reach a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `scheme://host[:port]`, no trailing slash.
    pub base: String,
    /// Whether the server's certificate is verified (false for plain HTTP too).
    pub verify: bool,
    /// The `host[:port]` whose `certs.d` directory applies.
    pub tls_host: String,
    /// A Docker Hub mirror (a miss there falls through to the next endpoint).
    pub mirror: bool,
}

/// A mirror with whether its host is insecure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mirror {
    /// The URL as configured (`https://m.example/`).
    pub url: String,
    pub insecure: bool,
}

/// The endpoints of registry `index` (`host[:port]`, `docker.io` for Docker Hub), in order.
pub(crate) fn endpoints(
    index: &str,
    insecure: bool,
    mirrors: &[Mirror],
    access: Access,
) -> Vec<Endpoint> {
    if index == INDEX_NAME {
        let mut out = Vec::new();
        if access == Access::Pull {
            for m in mirrors {
                let base = m.url.trim_end_matches('/').to_owned();
                let tls_host = base
                    .split_once("://")
                    .map_or(base.as_str(), |(_, h)| h)
                    .to_owned();
                out.push(Endpoint {
                    verify: base.starts_with("https://") && !m.insecure,
                    base,
                    tls_host,
                    mirror: true,
                });
            }
        }
        out.push(Endpoint {
            base: DOCKER_HUB.to_owned(),
            verify: true,
            tls_host: "registry-1.docker.io".to_owned(),
            mirror: false,
        });
        return out;
    }
    let mut out = vec![Endpoint {
        base: format!("https://{index}"),
        verify: !insecure,
        tls_host: index.to_owned(),
        mirror: false,
    }];
    if insecure {
        out.push(Endpoint {
            base: format!("http://{index}"),
            verify: false,
            tls_host: index.to_owned(),
            mirror: false,
        });
    }
    out
}

/// The registry a `docker login` server address names, as dockerd's `ConvertToHostname` and index
/// normalisation: the scheme and any path dropped; Docker Hub's names (and nothing) are `docker.io`.
pub(crate) fn index_of(server_address: &str) -> String {
    let s = server_address.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default();
    match host {
        "" | "index.docker.io" | "registry-1.docker.io" | "docker.io" => INDEX_NAME.to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_tries_mirrors_first_for_pulls_only() {
        let mirrors = [
            Mirror {
                url: "https://m.example/".into(),
                insecure: false,
            },
            Mirror {
                url: "https://10.0.0.1:5000/".into(),
                insecure: true,
            },
        ];
        let pull = endpoints("docker.io", false, &mirrors, Access::Pull);
        let bases: Vec<_> = pull
            .iter()
            .map(|e| (e.base.as_str(), e.verify, e.mirror))
            .collect();
        assert_eq!(
            bases,
            [
                ("https://m.example", true, true),
                ("https://10.0.0.1:5000", false, true),
                ("https://registry-1.docker.io", true, false)
            ]
        );
        assert_eq!(pull[1].tls_host, "10.0.0.1:5000");
        let push = endpoints("docker.io", false, &mirrors, Access::Push);
        assert_eq!(push.len(), 1);
        assert_eq!(push[0].base, DOCKER_HUB);
    }

    #[test]
    fn insecure_registries_fall_back_to_unverified_then_plain_http() {
        let secure = endpoints("reg:5000", false, &[], Access::Pull);
        assert_eq!(secure.len(), 1);
        assert_eq!(
            (secure[0].base.as_str(), secure[0].verify),
            ("https://reg:5000", true)
        );
        let insecure = endpoints("reg:5000", true, &[], Access::Push);
        let bases: Vec<_> = insecure
            .iter()
            .map(|e| (e.base.as_str(), e.verify))
            .collect();
        assert_eq!(
            bases,
            [("https://reg:5000", false), ("http://reg:5000", false)]
        );
        // Mirrors are Docker Hub's only.
        let m = [Mirror {
            url: "https://m/".into(),
            insecure: false,
        }];
        assert_eq!(endpoints("reg:5000", false, &m, Access::Pull).len(), 1);
    }

    #[test]
    fn login_addresses_name_their_registry() {
        assert_eq!(index_of("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(index_of(""), "docker.io");
        assert_eq!(index_of("https://127.0.0.1:5443/v2/"), "127.0.0.1:5443");
        assert_eq!(index_of("reg.example:5000"), "reg.example:5000");
        assert_eq!(index_of("http://reg"), "reg");
    }
}
