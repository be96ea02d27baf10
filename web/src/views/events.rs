//! Events: the daemon's feed, live (the last hour, then as they happen), filtered by type on the daemon
//! and by any text (action, name, image, attributes) in the page. The newest are on top; the page keeps
//! the last [`KEEP`].

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::{Rc, Weak};

use web_sys::Element;
use wharf_client_core::api::system::EventsOptions;
use wharf_client_core::models::EventMessage;
use wharf_client_core::Filters;

use crate::api::{Api, ApiError, StreamGuard};
use crate::app::{self, Mounted};
use crate::dom::{self, el, Listeners};

/// Events kept in the page.
const KEEP: usize = 1000;
/// Rows drawn at once (the newest of those that match).
const SHOWN: usize = 300;

struct State {
    api: Api,
    events: VecDeque<EventMessage>,
    kind: String,
    text: String,
    rows: Element,
    status: Element,
    stream: Option<StreamGuard>,
    /// Bumped when the stream is replaced, so that the old task stops.
    generation: u32,
    _listeners: Listeners,
}

pub fn mount(api: &Api, main: &Element) -> Mounted {
    let mut listeners = Listeners::default();
    let kind = el("select").attr("aria-label", "Type").children(
        ["", "container", "image", "network", "volume", "daemon"].map(|k| {
            el("option")
                .attr("value", k)
                .text(if k.is_empty() { "All types" } else { k })
        }),
    );
    let text = el("input")
        .attr("type", "search")
        .attr("placeholder", "Filter: action, name, image…  (/)")
        .attr("aria-label", "Filter events")
        .attr("data-filter", "");
    let status = el("span").class("muted").attr("role", "status");
    let rows = el("div").attr("role", "rowgroup");
    let table = el("div")
        .class("table")
        .attr("role", "table")
        .attr("aria-label", "Events")
        .child(
            el("div")
                .class("head feed-grid")
                .attr("role", "row")
                .children(
                    ["Time", "Type", "Action", "Object"]
                        .iter()
                        .map(|h| el("div").class("cell").attr("role", "columnheader").text(h)),
                ),
        )
        .child(el("div").class("scroll").child(&rows));
    let state = Rc::new(RefCell::new(State {
        api: api.clone(),
        events: VecDeque::new(),
        kind: String::new(),
        text: String::new(),
        rows: rows.0.clone(),
        status: status.0.clone(),
        stream: None,
        generation: 0,
        _listeners: Listeners::default(),
    }));
    let weak = Rc::downgrade(&state);
    let select = kind.0.clone();
    let kind = kind.on(&mut listeners, "change", move |_| {
        if let Some(state) = weak.upgrade() {
            state.borrow_mut().kind = dom::value(&select);
            follow(&state);
        }
    });
    let weak = Rc::downgrade(&state);
    let input = text.input();
    let text = text.on(&mut listeners, "input", move |_| {
        if let Some(state) = weak.upgrade() {
            state.borrow_mut().text = input.value().to_lowercase();
            render(&state);
        }
    });
    let page = app::page("Events")
        .child(
            el("div")
                .class("toolbar")
                .child(kind)
                .child(text)
                .child(status),
        )
        .child(table);
    let _ = main.append_child(&page.0);
    state.borrow_mut()._listeners = listeners;
    follow(&state);
    Box::new(state)
}

/// (Re)starts the feed with the chosen type: the last hour, then live.
fn follow(state: &Rc<RefCell<State>>) {
    let (api, options, generation) = {
        let mut s = state.borrow_mut();
        s.generation += 1;
        s.stream = None;
        s.events.clear();
        let mut filters = Filters::new();
        if !s.kind.is_empty() {
            filters.add("type", s.kind.clone());
        }
        let since = (js_sys::Date::now() / 1000.0) as i64 - 3600;
        let options = EventsOptions {
            since: Some(since.to_string()),
            until: None,
            filters,
        };
        s.status.set_text_content(Some("Connecting…"));
        (s.api.clone(), options, s.generation)
    };
    render(state);
    let weak = Rc::downgrade(state);
    wasm_bindgen_futures::spawn_local(async move {
        let mut stream = match api.client.events::<EventMessage>(&options).await {
            Ok(stream) => stream,
            Err(err) => {
                status(&weak, generation, &ApiError::from(err).message);
                return;
            }
        };
        match weak.upgrade() {
            Some(state) if state.borrow().generation == generation => {
                state.borrow_mut().stream = Some(StreamGuard::of(&mut stream));
            }
            _ => return,
        }
        status(&weak, generation, "Live");
        while let Some(event) = stream.next().await {
            let Some(state) = weak.upgrade() else { return };
            if state.borrow().generation != generation {
                return;
            }
            match event {
                Ok(event) => {
                    {
                        let mut s = state.borrow_mut();
                        s.events.push_front(event);
                        s.events.truncate(KEEP);
                    }
                    render(&state);
                }
                Err(err) => {
                    status(&weak, generation, &ApiError::from(err).message);
                    return;
                }
            }
        }
        status(
            &weak,
            generation,
            "The feed ended: reload the page to follow again.",
        );
    });
}

fn status(state: &Weak<RefCell<State>>, generation: u32, text: &str) {
    if let Some(state) = state.upgrade() {
        let s = state.borrow();
        if s.generation == generation {
            s.status.set_text_content(Some(text));
        }
    }
}

/// What a row says about the object: its name (or ID) and the interesting attributes.
fn object(event: &EventMessage) -> String {
    let attrs = &event.actor.attributes;
    let name = attrs
        .get("name")
        .cloned()
        .unwrap_or_else(|| crate::views::format::short_id(&event.actor.id).to_owned());
    let extra: Vec<String> = ["image", "exitCode", "signal"]
        .iter()
        .filter_map(|k| attrs.get(*k).map(|v| format!("{k}={v}")))
        .collect();
    if extra.is_empty() {
        name
    } else {
        format!("{name} ({})", extra.join(", "))
    }
}

fn render(state: &Rc<RefCell<State>>) {
    let s = state.borrow();
    dom::clear(&s.rows);
    let matching = s.events.iter().filter(|e| {
        s.text.is_empty()
            || e.action.to_lowercase().contains(&s.text)
            || e.typ.contains(&s.text)
            || e.actor.id.contains(&s.text)
            || e.actor
                .attributes
                .values()
                .any(|v| v.to_lowercase().contains(&s.text))
    });
    let mut any = false;
    for event in matching.take(SHOWN) {
        any = true;
        let time = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(event.time as f64 * 1000.0));
        let when: String = time.to_locale_time_string("en-GB").into();
        let href = (event.typ == "container").then(|| app::container_href(&event.actor.id, "info"));
        let what = match href {
            Some(href) => el("a").attr("href", &href).text(&object(event)),
            None => el("span").text(&object(event)),
        };
        let row = el("div")
            .class("row feed-grid")
            .attr("role", "row")
            .child(el("div").class("cell mono").text(&when))
            .child(el("div").class("cell hide-narrow").text(&event.typ))
            .child(el("div").class("cell").text(&event.action))
            .child(el("div").class("cell").child(what));
        let _ = s.rows.append_child(&row.0);
    }
    if !any {
        let _ = s
            .rows
            .append_child(&el("p").class("empty").text("No events yet.").0);
    }
}
