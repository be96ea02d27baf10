//! The table kept live: the list, loaded when the events stream is open, and each container event
//! shown at once from what it says, then fetched again (batched per frame, one fetch in flight); a
//! broken stream reopened with backoff and the list reloaded after it.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Weak;

use serde_json::Value;
use wharf_client_core::api::containers::{self, ListOptions};
use wharf_client_core::api::system::EventsOptions;
use wharf_client_core::models::EventMessage;
use wharf_client_core::Filters;

use super::rows::render;
use super::{next_frame, schedule_render, with, State, BATCH_LIMIT, MAX_BACKOFF_MS};
use crate::api::{Api, ApiError, StreamGuard};
use crate::dom::sleep;
use crate::views::table_model::{event_effect, Row};

async fn list(api: &Api, ids: &[String]) -> Result<Vec<Row>, ApiError> {
    let mut filters = Filters::new();
    for id in ids {
        filters.add("id", id.as_str());
    }
    let options = ListOptions {
        all: true,
        filters,
        ..ListOptions::default()
    };
    let list = api
        .call(|f| Ok(containers::list_request(f, &options).expecting::<Value>()))
        .await?;
    let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
    Ok(list.iter().filter_map(Row::of).collect())
}

/// Follows `/events` for the view's life: opens the stream, (re)loads the list, applies events; on an
/// end or failure, waits and starts again.
pub(super) async fn follow(weak: Weak<RefCell<State>>) {
    let mut backoff = 500;
    loop {
        let Some(api) = weak.upgrade().map(|s| s.borrow().api.clone()) else {
            return;
        };
        let mut options = EventsOptions::default();
        options.filters.add("type", "container");
        let failure = match api.client.events::<EventMessage>(&options).await {
            Ok(mut stream) => {
                let Some(state) = weak.upgrade() else { return };
                state.borrow_mut().stream = Some(StreamGuard::of(&mut stream));
                drop(state);
                // The stream is open: a change from now on will be heard, so the list can be taken.
                match list(&api, &[]).await {
                    Ok(rows) => {
                        backoff = 500;
                        with(&weak, |s| {
                            s.model.replace_all(rows);
                            s.loaded = true;
                            s.failure = None;
                            s.dom.note.class_list().add_1("hidden").ok();
                            render(s);
                        });
                        loop {
                            let item = stream.next().await;
                            if weak.upgrade().is_none() {
                                return;
                            }
                            match item {
                                Some(Ok(event)) => with(&weak, |s| on_event(s, &event)),
                                Some(Err(err)) => break ApiError::from(err).message,
                                None => break "the events stream ended".to_owned(),
                            }
                        }
                    }
                    Err(err) => err.message,
                }
            }
            Err(err) => ApiError::from(err).message,
        };
        let Some(state) = weak.upgrade() else { return };
        {
            let mut s = state.borrow_mut();
            s.stream = None;
            if !s.loaded {
                s.failure = Some(failure);
            }
            s.dom.note.class_list().remove_1("hidden").ok();
            render(&mut s);
        }
        drop(state);
        sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF_MS);
    }
}

fn on_event(s: &mut State, event: &EventMessage) {
    if event.typ != "container" {
        return;
    }
    let id = if event.actor.id.is_empty() {
        &event.id
    } else {
        &event.actor.id
    };
    // Shown at the next frame from what the event says; the fetch after it brings the rest.
    if s.loaded
        && s.model
            .apply_event(id, &event.action, &event.actor.attributes, event.time)
    {
        schedule_render(s);
    }
    s.pending.add(id, event_effect(&event.action));
    schedule_flush(s);
}

/// Applies the pending changes at the next frame, unless a fetch is in flight (it does when it ends).
fn schedule_flush(s: &mut State) {
    if s.flush_scheduled || s.fetching || s.pending.is_empty() {
        return;
    }
    s.flush_scheduled = true;
    let weak = s.me.clone();
    next_frame(move || flush(weak));
}

fn flush(weak: Weak<RefCell<State>>) {
    let Some(state) = weak.upgrade() else { return };
    let (refresh, api) = {
        let mut s = state.borrow_mut();
        s.flush_scheduled = false;
        if s.fetching {
            return;
        }
        let (refresh, remove) = s.pending.take();
        for id in &remove {
            s.model.remove(id);
        }
        if refresh.is_empty() {
            render(&mut s);
            return;
        }
        s.fetching = true;
        (refresh, s.api.clone())
    };
    drop(state);
    wasm_bindgen_futures::spawn_local(async move {
        let whole = refresh.len() > BATCH_LIMIT;
        let result = list(&api, if whole { &[] } else { &refresh }).await;
        with(&weak, |s| {
            s.fetching = false;
            match result {
                Ok(rows) if whole => s.model.replace_all(rows),
                Ok(rows) => {
                    let found: HashSet<String> = rows.iter().map(|r| r.id.clone()).collect();
                    for row in rows {
                        s.model.upsert(row);
                    }
                    // Asked for but not listed: removed meanwhile.
                    for id in refresh.iter().filter(|id| !found.contains(*id)) {
                        s.model.remove(id);
                    }
                }
                // Fetched again a second later (the events stream may be fine: a timeout, a 500).
                Err(_) => {
                    s.pending.requeue(&refresh);
                    render(s);
                    let weak = weak.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        sleep(1000).await;
                        with(&weak, schedule_flush);
                    });
                    return;
                }
            }
            render(s);
            schedule_flush(s);
        });
    });
}
