//! Who is asking, and what they may do: the identities a request can carry (the unix socket, a client
//! certificate, a bearer token), the three roles, the token store, the per-route policy, WebSocket tickets,
//! the failed-login limiter and the audit log.
//!
//! Why it exists: a browser cannot reasonably present a client certificate, so TCP clients may instead
//! present a token that an admin created (`wharf token create`). Why it is here and not in `api/`: none of
//! it knows HTTP. The API's middleware (`api/auth.rs`) asks this module who a connection and a token are
//! and whether a role may take an action, and answers with statuses itself.

pub(crate) mod audit;
pub(crate) mod audit_read;
pub(crate) mod cert;
pub(crate) mod limiter;
pub(crate) mod policy;
pub(crate) mod secret;
pub(crate) mod tickets;
pub(crate) mod tokens;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// What a role may do; each includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    /// Reads: inspect, list, logs, events, stats, version, info.
    Viewer,
    /// Also runs, stops, creates and removes containers, execs, attaches and manages images.
    Operator,
    /// Everything, tokens included.
    Admin,
}

impl Role {
    /// `viewer`, `operator` or `admin`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    /// The role named `s`.
    pub(crate) fn parse(s: &str) -> Result<Self, Error> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            other => Err(Error::invalid(format!(
                "invalid role {other:?}: use viewer, operator or admin"
            ))),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a connection is, as the listener saw it: set once per connection by `serve`, read on every request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// The unix socket: whoever can open it is root-equivalent, as with dockerd.
    Unix,
    /// A TLS client whose certificate the CA verified; `label` is `cert:<subject CN>`.
    Cert { cn: Arc<str>, label: Arc<str> },
    /// TLS without a certificate: every request needs a token, and failures are counted against `ip`.
    Anonymous { ip: IpAddr },
    /// Plain HTTP on loopback (`--tls=false`): as [`Peer::Anonymous`], except that `/_ping` is answered
    /// without a token, as a liveness probe on this host.
    Plain { ip: IpAddr },
}

impl Peer {
    /// A verified client certificate whose subject's common name is `cn`.
    pub(crate) fn cert(cn: &str) -> Self {
        Self::Cert {
            cn: cn.into(),
            label: format!("cert:{cn}").into(),
        }
    }
}

/// The identity a request acts as: what the audit log names, and its role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Identity {
    /// `unix`, `cert:<CN>` or `token:<name>`.
    pub label: Arc<str>,
    pub role: Role,
}

impl Identity {
    /// The unix socket's identity.
    pub(crate) fn unix() -> Self {
        static LABEL: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| "unix".into());
        Self {
            label: LABEL.clone(),
            role: Role::Admin,
        }
    }
}

/// Why a request has no identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No certificate and no token.
    Missing,
    /// A token that is unknown, expired or removed.
    Invalid,
    /// Too many failures from this address lately.
    Limited,
}

/// Everything authentication and authorization keep, shared by all requests.
#[derive(Debug)]
pub(crate) struct Auth {
    pub tokens: tokens::TokenStore,
    /// daemon.json's `client-cert-roles`: subject CN → role; unmapped certificates are admin.
    cert_roles: HashMap<String, Role>,
    pub limiter: limiter::FailureLimiter,
    pub tickets: tickets::Tickets,
    pub audit: audit::AuditLog,
}

impl Auth {
    /// Loads the tokens under `<data_root>/auth/` and starts the audit writer there.
    pub(crate) fn open(
        data_root: &Path,
        cert_roles: HashMap<String, Role>,
    ) -> Result<Self, tokens::StoreError> {
        let dir = data_root.join("auth");
        tokens::make_private_dir(&dir)?;
        Ok(Self {
            tokens: tokens::TokenStore::open(dir.join("tokens.json"))?,
            cert_roles,
            limiter: limiter::FailureLimiter::default(),
            tickets: tickets::Tickets::default(),
            audit: audit::AuditLog::start(dir.join("audit.log")),
        })
    }

    /// In memory only, auditing nothing: for tests that serve without a data root.
    #[cfg(test)]
    pub(crate) fn in_memory(cert_roles: HashMap<String, Role>) -> Self {
        Self {
            tokens: tokens::TokenStore::in_memory(),
            cert_roles,
            limiter: limiter::FailureLimiter::default(),
            tickets: tickets::Tickets::default(),
            audit: audit::AuditLog::disabled(),
        }
    }

    /// Who a request on a connection from `peer` is, bearing `bearer` (the token of an `Authorization:
    /// Bearer` header) or, on a WebSocket upgrade route only, `ticket` (its `ticket=` query). The
    /// connection's own identity (unix socket, certificate) comes first: a token changes nothing there.
    pub(crate) fn identify(
        &self,
        peer: &Peer,
        bearer: Option<&str>,
        ticket: Option<&str>,
    ) -> Result<Identity, Refusal> {
        let ip = match peer {
            Peer::Unix => return Ok(Identity::unix()),
            Peer::Cert { cn, label } => {
                return Ok(Identity {
                    label: label.clone(),
                    role: self.cert_roles.get(&**cn).copied().unwrap_or(Role::Admin),
                })
            }
            Peer::Anonymous { ip } | Peer::Plain { ip } => *ip,
        };
        let now = std::time::Instant::now();
        if self.limiter.is_limited(ip, now) {
            return Err(Refusal::Limited);
        }
        let found = match (bearer, ticket) {
            (Some(token), _) => self.tokens.verify(token, tokens::unix_now()),
            (None, Some(ticket)) => self.tickets.redeem(ticket, now),
            (None, None) => return Err(Refusal::Missing),
        };
        found.ok_or_else(|| {
            self.limiter.fail(ip, now);
            Refusal::Invalid
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn connections_identify_before_tokens() {
        let roles = HashMap::from([("ro".to_owned(), Role::Viewer)]);
        let auth = Auth::in_memory(roles);
        assert_eq!(
            auth.identify(&Peer::Unix, None, None).unwrap().role,
            Role::Admin
        );
        let ro = auth.identify(&Peer::cert("ro"), None, None).unwrap();
        assert_eq!((&*ro.label, ro.role), ("cert:ro", Role::Viewer));
        let other = auth.identify(&Peer::cert("client"), None, None).unwrap();
        assert_eq!(other.role, Role::Admin);
        let anon = Peer::Anonymous {
            ip: [127, 0, 0, 1].into(),
        };
        assert_eq!(auth.identify(&anon, None, None), Err(Refusal::Missing));
        assert_eq!(
            auth.identify(&anon, Some("nope"), None),
            Err(Refusal::Invalid)
        );
        let created = auth.tokens.create("ci", Role::Operator, None).unwrap();
        let id = auth.identify(&anon, Some(&created.token), None).unwrap();
        assert_eq!((&*id.label, id.role), ("token:ci", Role::Operator));
        let ticket = auth
            .tickets
            .issue(id.clone(), std::time::Instant::now())
            .unwrap();
        assert_eq!(auth.identify(&anon, None, Some(&ticket)), Ok(id));
        assert_eq!(
            auth.identify(&anon, None, Some(&ticket)),
            Err(Refusal::Invalid),
            "a ticket is good once"
        );
    }
}
