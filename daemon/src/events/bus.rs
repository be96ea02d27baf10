//! The events bus: publishing never blocks, history is bounded, each subscriber's queue is bounded.
//!
//! Events go to a tokio broadcast channel of [`SUBSCRIBER_QUEUE`] slots and into a history of the last
//! [`HISTORY_LIMIT`] events (dockerd keeps 256) that `since` replays. A subscriber that falls more than
//! [`SUBSCRIBER_QUEUE`] events behind is **dropped**: its [`Subscription`] ends, so an `/events` client sees
//! the stream end rather than silently miss events (dockerd drops events for slow subscribers without a
//! word); it can reconnect with `since` set to the last event it saw and replay from the history.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::{EventActor, EventFilter, EventMessage};
use crate::timefmt;

/// Events kept for `since` (dockerd's `eventsLimit`).
pub(crate) const HISTORY_LIMIT: usize = 256;
/// Events a subscriber may fall behind before it is dropped (dockerd's per-subscriber buffer).
pub(crate) const SUBSCRIBER_QUEUE: usize = 1024;

/// The bus, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct EventBus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    tx: broadcast::Sender<Arc<EventMessage>>,
    history: Mutex<VecDeque<Arc<EventMessage>>>,
    history_limit: usize,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(HISTORY_LIMIT, SUBSCRIBER_QUEUE)
    }
}

impl EventBus {
    /// A bus keeping `history_limit` events, with `queue` slots per subscriber (both at least 1).
    pub(crate) fn new(history_limit: usize, queue: usize) -> Self {
        let (tx, _) = broadcast::channel(queue.max(1));
        Self {
            inner: Arc::new(Inner {
                tx,
                history: Mutex::new(VecDeque::with_capacity(history_limit.max(1))),
                history_limit: history_limit.max(1),
            }),
        }
    }

    /// Publishes an event of `typ` now, filling `status`, `id` and `from` for container and image events as
    /// dockerd does. Returns what was published.
    pub(crate) fn log(&self, typ: &str, action: &str, actor: EventActor) -> EventMessage {
        self.log_at(typ, action, actor, SystemTime::now())
    }

    /// [`EventBus::log`] at a given time (tests, replays).
    pub(crate) fn log_at(
        &self,
        typ: &str,
        action: &str,
        actor: EventActor,
        time: SystemTime,
    ) -> EventMessage {
        let nanos = timefmt::unix_nanos(time);
        let mut ev = EventMessage {
            typ: typ.to_owned(),
            action: action.to_owned(),
            scope: "local".to_owned(),
            time: nanos.div_euclid(1_000_000_000),
            time_nano: nanos,
            ..EventMessage::default()
        };
        match typ {
            super::kind::CONTAINER => {
                ev.id = actor.id.clone();
                ev.status = action.to_owned();
                ev.from = actor.attributes.get("image").cloned().unwrap_or_default();
            }
            super::kind::IMAGE => {
                ev.id = actor.id.clone();
                ev.status = action.to_owned();
            }
            _ => {}
        }
        ev.actor = actor;
        self.publish(ev.clone());
        ev
    }

    /// Publishes `ev` as it is. Never blocks on subscribers.
    pub(crate) fn publish(&self, ev: EventMessage) {
        let ev = Arc::new(ev);
        let mut history = self.history();
        if history.len() >= self.inner.history_limit {
            history.pop_front();
        }
        history.push_back(ev.clone());
        // Sent under the history lock, so that a subscriber sees each event either in its replay or live,
        // never both and never neither. No receiver is not an error.
        let _ = self.inner.tx.send(ev);
    }

    fn history(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<EventMessage>>> {
        // The lock guards plain pushes and clones: a poisoned lock still holds a usable queue.
        self.inner
            .history
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Subscribes as dockerd's `/events` does: when `since` or `until` is given, the history from `since`
    /// (or the beginning) up to `until` that passes `filter`; then, unless `until` is already past, live
    /// events until `until`.
    pub(crate) fn subscribe(
        &self,
        since: Option<SystemTime>,
        until: Option<SystemTime>,
        filter: EventFilter,
    ) -> Subscription {
        let now = SystemTime::now();
        let since_nanos = since.map_or(0, timefmt::unix_nanos);
        let until_nanos = until.map(timefmt::unix_nanos);
        let history = self.history();
        let backlog = if since.is_none() && until.is_none() {
            VecDeque::new()
        } else {
            history
                .iter()
                .filter(|ev| ev.time_nano >= since_nanos)
                .filter(|ev| until_nanos.is_none_or(|u| ev.time_nano <= u))
                .filter(|ev| filter.matches(ev))
                .cloned()
                .collect()
        };
        let live = match until {
            Some(until) if until < now => None,
            _ => Some(self.inner.tx.subscribe()),
        };
        drop(history);
        let deadline = until.and_then(|u| u.duration_since(now).ok()).map(|d| {
            // Far-future `until`s saturate rather than overflow the timer.
            tokio::time::Instant::now() + d.min(std::time::Duration::from_secs(100 * 365 * 86_400))
        });
        Subscription {
            backlog,
            live,
            filter,
            deadline,
        }
    }

    /// Subscribers listening now (`/info`'s `NEventsListener`).
    pub(crate) fn listeners(&self) -> usize {
        self.inner.tx.receiver_count()
    }
}

/// One subscriber: the replay, then live events, until `until`, a lag or the bus's end.
#[derive(Debug)]
pub(crate) struct Subscription {
    backlog: VecDeque<Arc<EventMessage>>,
    live: Option<broadcast::Receiver<Arc<EventMessage>>>,
    filter: EventFilter,
    deadline: Option<tokio::time::Instant>,
}

enum Next {
    Event(Arc<EventMessage>),
    Skip,
    End,
}

impl Subscription {
    /// The next event, or `None` at the end.
    pub(crate) async fn next(&mut self) -> Option<Arc<EventMessage>> {
        if let Some(ev) = self.backlog.pop_front() {
            return Some(ev);
        }
        loop {
            let rx = self.live.as_mut()?;
            let received = match self.deadline {
                Some(deadline) => tokio::select! {
                    r = rx.recv() => r,
                    _ = tokio::time::sleep_until(deadline) => Err(RecvError::Closed),
                },
                None => rx.recv().await,
            };
            let next = match received {
                Ok(ev) if self.filter.matches(&ev) => Next::Event(ev),
                Ok(_) => Next::Skip,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!("events subscriber fell {missed} events behind; dropping it");
                    Next::End
                }
                Err(RecvError::Closed) => Next::End,
            };
            match next {
                Next::Event(ev) => return Some(ev),
                Next::Skip => continue,
                Next::End => {
                    self.live = None;
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn actor(id: &str) -> EventActor {
        EventActor {
            id: id.to_owned(),
            ..EventActor::default()
        }
    }

    #[test]
    fn log_fills_deprecated_fields_for_containers_and_images_only() {
        let bus = EventBus::default();
        let c = super::super::container_actor("c1", "/web", "bb:1", &Default::default());
        let ev = bus.log_at("container", "start", c, at(1_700_000_000));
        let json = serde_json::to_string(&ev).unwrap();
        assert_eq!(
            json,
            r#"{"status":"start","id":"c1","from":"bb:1","Type":"container","Action":"start","Actor":{"ID":"c1","Attributes":{"image":"bb:1","name":"web"}},"scope":"local","time":1700000000,"timeNano":1700000000000000000}"#
        );
        let ev = bus.log("image", "tag", actor("sha256:x"));
        assert_eq!((ev.status.as_str(), ev.id.as_str()), ("tag", "sha256:x"));
        assert!(ev.from.is_empty());
        let ev = bus.log("network", "create", actor("n"));
        assert!(ev.status.is_empty() && ev.id.is_empty());
    }

    #[test]
    fn history_is_bounded_and_replays_between_since_and_until() {
        let bus = EventBus::new(3, 8);
        for i in 1..=5 {
            bus.log_at("volume", "create", actor(&i.to_string()), at(i));
        }
        let ids = |s: Subscription| -> Vec<String> {
            s.backlog.iter().map(|e| e.actor.id.clone()).collect()
        };
        let all = bus.subscribe(Some(at(0)), Some(at(1)), EventFilter::default());
        assert!(ids(all).is_empty(), "1 and 2 fell out of the history");
        let s = bus.subscribe(Some(at(0)), Some(at(10)), EventFilter::default());
        assert_eq!(ids(s), ["3", "4", "5"]);
        let s = bus.subscribe(Some(at(4)), Some(at(4)), EventFilter::default());
        assert_eq!(ids(s), ["4"]);
        let s = bus.subscribe(None, Some(at(4)), EventFilter::default());
        assert_eq!(ids(s), ["3", "4"]);
        let s = bus.subscribe(None, None, EventFilter::default());
        assert!(ids(s).is_empty(), "no since and no until: live only");
    }

    #[tokio::test]
    async fn past_until_ends_after_the_replay_and_live_events_arrive() {
        let bus = EventBus::default();
        bus.log_at("volume", "create", actor("old"), at(5));
        let mut past = bus.subscribe(Some(at(0)), Some(at(6)), EventFilter::default());
        assert_eq!(past.next().await.unwrap().actor.id, "old");
        assert!(past.next().await.is_none());
        assert_eq!(bus.listeners(), 0);

        let mut live = bus.subscribe(None, None, EventFilter::default());
        assert_eq!(bus.listeners(), 1);
        bus.log("volume", "create", actor("new"));
        assert_eq!(live.next().await.unwrap().actor.id, "new");
        drop(live);
        assert_eq!(bus.listeners(), 0);
    }

    #[tokio::test]
    async fn a_lagging_subscriber_is_dropped_and_publishing_never_blocks() {
        let bus = EventBus::new(4, 2);
        let mut slow = bus.subscribe(None, None, EventFilter::default());
        for i in 0..10 {
            bus.log("volume", "create", actor(&i.to_string()));
        }
        assert!(slow.next().await.is_none());
        assert!(slow.next().await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn future_until_ends_the_live_stream_at_that_time() {
        let bus = EventBus::default();
        let until = SystemTime::now() + Duration::from_secs(30);
        let mut s = bus.subscribe(None, Some(until), EventFilter::default());
        // Paused time: the sleep auto-advances to the deadline.
        assert!(s.next().await.is_none());
    }
}
