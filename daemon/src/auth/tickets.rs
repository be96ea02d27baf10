//! One-use tickets for WebSocket upgrades. A browser cannot put an `Authorization` header on a WebSocket,
//! and a long-lived token must never go into a URL (URLs end up in logs and histories), so an
//! authenticated client first asks for a ticket (`POST /wharf/v1/ws-ticket`) and puts it in the upgrade's
//! query as `ticket=`: valid for [`TICKET_TTL`], once, as the identity that asked for it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::{secret, Identity};
use crate::error::Error;

/// How long a ticket may wait for its upgrade.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(30);

/// What a ticket's text starts with.
pub(crate) const TICKET_PREFIX: &str = "wharft_";

/// Tickets outstanding at once; a newcomer beyond pushes out the oldest.
const MAX_TICKETS: usize = 1024;

/// Tickets one identity may have outstanding; its newcomer beyond pushes out its own oldest, so that one
/// identity asking in a loop cannot push out everyone else's.
const MAX_PER_IDENTITY: usize = 32;

/// The outstanding tickets, by hash.
#[derive(Debug, Default)]
pub(crate) struct Tickets {
    table: Mutex<HashMap<[u8; 32], (Identity, Instant)>>,
}

impl Tickets {
    /// A new ticket for `identity`, valid from `now` for [`TICKET_TTL`].
    pub(crate) fn issue(&self, identity: Identity, now: Instant) -> Result<String, Error> {
        let ticket = secret::generate(TICKET_PREFIX)?;
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.retain(|_, (_, expires)| *expires > now);
        let oldest = |mine: bool| {
            table
                .iter()
                .filter(|(_, (who, _))| !mine || who.label == identity.label)
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| *k)
        };
        let mine = table
            .values()
            .filter(|(who, _)| who.label == identity.label)
            .count();
        let full = if mine >= MAX_PER_IDENTITY {
            oldest(true)
        } else if table.len() >= MAX_TICKETS {
            oldest(false)
        } else {
            None
        };
        if let Some(k) = full {
            table.remove(&k);
        }
        table.insert(secret::hash(&ticket), (identity, now + TICKET_TTL));
        Ok(ticket)
    }

    /// The identity `ticket` was issued to, if it is outstanding and unexpired at `now`; it is used up
    /// either way.
    pub(crate) fn redeem(&self, ticket: &str, now: Instant) -> Option<Identity> {
        if !ticket.starts_with(TICKET_PREFIX) || ticket.len() > 128 {
            return None;
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let (identity, expires) = table.remove(&secret::hash(ticket))?;
        (now < expires).then_some(identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn viewer() -> Identity {
        Identity {
            label: "token:web".into(),
            role: Role::Viewer,
        }
    }

    #[test]
    fn a_ticket_is_good_once_for_its_identity() {
        let tickets = Tickets::default();
        let t0 = Instant::now();
        let t = tickets.issue(viewer(), t0).unwrap();
        assert!(t.starts_with(TICKET_PREFIX));
        assert_eq!(tickets.redeem(&t, t0), Some(viewer()));
        assert_eq!(tickets.redeem(&t, t0), None, "used up");
        assert_eq!(tickets.redeem("wharft_forged", t0), None);
    }

    #[test]
    fn one_identity_asking_in_a_loop_pushes_out_only_its_own_tickets() {
        let tickets = Tickets::default();
        let t0 = Instant::now();
        let other = Identity {
            label: "token:ops".into(),
            role: Role::Operator,
        };
        let kept = tickets.issue(other.clone(), t0).unwrap();
        let first = tickets.issue(viewer(), t0).unwrap();
        for i in 0..MAX_TICKETS * 2 {
            tickets
                .issue(viewer(), t0 + Duration::from_millis(i as u64 + 1))
                .unwrap();
        }
        assert_eq!(tickets.redeem(&kept, t0), Some(other));
        assert_eq!(tickets.redeem(&first, t0), None, "its own oldest went");
    }

    #[test]
    fn a_ticket_expires_after_thirty_seconds() {
        let tickets = Tickets::default();
        let t0 = Instant::now();
        let t = tickets.issue(viewer(), t0).unwrap();
        assert_eq!(tickets.redeem(&t, t0 + TICKET_TTL), None);
        let u = tickets.issue(viewer(), t0).unwrap();
        assert!(tickets
            .redeem(&u, t0 + TICKET_TTL - Duration::from_secs(1))
            .is_some());
    }

    #[test]
    fn outstanding_tickets_are_bounded() {
        let tickets = Tickets::default();
        let t0 = Instant::now();
        let first = tickets.issue(viewer(), t0).unwrap();
        // Many identities, a ticket each: the table's own bound.
        for i in 0..MAX_TICKETS {
            let someone = Identity {
                label: format!("token:t{i}").into(),
                role: Role::Viewer,
            };
            tickets
                .issue(someone, t0 + Duration::from_millis(i as u64 + 1))
                .unwrap();
        }
        assert_eq!(tickets.table.lock().unwrap().len(), MAX_TICKETS);
        assert_eq!(
            tickets.redeem(&first, t0),
            None,
            "the oldest was pushed out"
        );
    }
}
