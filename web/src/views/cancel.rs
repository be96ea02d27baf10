//! Stopping a view's streams when the view goes, without waiting for their next item.
//!
//! A task that follows a stream (events filtered to one container, a quiet log) may wait for minutes
//! for its next item; checking a `Weak` only after it arrives would keep the fetch open meanwhile, and
//! a browser allows only six connections to one origin. So each view holds a [`Canceller`]; dropping
//! it wakes every [`or_cancel`] wait of its [`Cancel`] tokens, which return `None`, and the task drops
//! its stream (which aborts the fetch).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};

#[derive(Debug, Default)]
struct Shared {
    cancelled: bool,
    wakers: Vec<Waker>,
}

/// Held by a view: dropping it cancels its tasks' waits.
#[derive(Debug, Default)]
pub struct Canceller(Rc<RefCell<Shared>>);

/// Given to a task: its waits end when the view's [`Canceller`] is dropped.
#[derive(Clone, Debug)]
pub struct Cancel(Rc<RefCell<Shared>>);

impl Canceller {
    pub fn token(&self) -> Cancel {
        Cancel(self.0.clone())
    }

    /// Cancels now (as dropping does).
    pub fn cancel(&self) {
        let wakers = {
            let mut shared = self.0.borrow_mut();
            shared.cancelled = true;
            std::mem::take(&mut shared.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

impl Drop for Canceller {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl Cancel {
    pub fn is_cancelled(&self) -> bool {
        self.0.borrow().cancelled
    }
}

/// `future`'s output, or `None` once `cancel` is cancelled (then `future` is dropped unfinished).
pub async fn or_cancel<F: Future>(cancel: &Cancel, future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    poll_fn(|cx| {
        if cancel.is_cancelled() {
            return Poll::Ready(None);
        }
        if let Poll::Ready(value) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(value));
        }
        let mut shared = cancel.0.borrow_mut();
        if !shared.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            // Bounded: one waker per task waiting, and a view runs a handful of tasks.
            shared.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context, Poll};

    #[test]
    fn dropping_the_canceller_ends_a_pending_wait() {
        let canceller = Canceller::default();
        let token = canceller.token();
        let mut wait = Box::pin(or_cancel(&token, std::future::pending::<u8>()));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(wait.as_mut().poll(&mut cx), Poll::Pending);
        drop(canceller);
        assert_eq!(wait.as_mut().poll(&mut cx), Poll::Ready(None));
        assert!(token.is_cancelled());
    }

    #[test]
    fn a_ready_future_passes_through() {
        let canceller = Canceller::default();
        let token = canceller.token();
        let mut wait = Box::pin(or_cancel(&token, std::future::ready(7)));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(wait.as_mut().poll(&mut cx), Poll::Ready(Some(7)));
    }
}
