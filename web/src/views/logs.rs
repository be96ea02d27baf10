//! The logs tab: the container's log, followed live, with a tail size, timestamps, stdout and stderr
//! told apart, ANSI colours (`ansi.rs`), search and download.
//!
//! Sized for 100 000 lines and more (see `logmodel.rs`): lines from the stream wait in a queue and are
//! added once per animation frame; only the lines in view exist in the DOM (18 px each, as style.css's
//! `.log .line`, under a spacer as tall as the whole log); the view follows new lines only while the
//! user is at the bottom; search scans a few milliseconds' worth of lines per frame and keeps up with
//! new ones. The viewport's `data-lines`, `data-state`, `data-matches` and `data-searching` say where
//! it is, for tests and benchmarks.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, KeyboardEvent};
use wharf_client_core::api::containers::LogsOptions;
use wharf_client_core::stdcopy::StdStream;

use crate::api::Api;
use crate::app::Mounted;
use crate::dom::{self, el, Listeners};
use crate::views::ansi;
use crate::views::cancel::{or_cancel, Cancel, Canceller};
use crate::views::logmodel::{self, Line, LogModel, Search, Splitter, Stream};

/// A line's height in px: style.css's `.log .line`.
const LINE_HEIGHT: f64 = 18.0;
/// Lines drawn beyond each edge of the viewport.
const OVERSCAN: usize = 20;
/// Lines added to the model per frame at most.
const LINES_PER_FRAME: usize = 20_000;
/// Frames read from the stream between two yields to the browser: a chunk the daemon sent at once can
/// hold tens of thousands, all decoded without an `await` that waits.
const FRAMES_PER_YIELD: usize = 2_000;
/// Time search may take per frame, in ms.
const SEARCH_BUDGET_MS: f64 = 8.0;
/// Lines searched between two looks at the clock.
const SEARCH_SLICE: usize = 2_000;
/// The tail sizes offered; the first is the default.
const TAILS: [(&str, &str); 4] = [
    ("1000", "Last 1 000 lines"),
    ("100", "Last 100 lines"),
    ("10000", "Last 10 000 lines"),
    ("all", "All lines"),
];
/// Lines waiting for a frame at most: a stream that outruns the page for long loses its oldest
/// waiting lines rather than memory (the model itself is bounded too).
const MAX_PENDING: usize = logmodel::MAX_LINES;

struct Logs {
    api: Api,
    id: String,
    name: String,
    tty: bool,
    model: LogModel,
    splitter: Splitter,
    pending: Vec<(Stream, String)>,
    search: Search,
    show_ts: bool,
    /// Keep the newest line in view.
    stick: bool,
    viewport: HtmlElement,
    spacer: HtmlElement,
    rows: HtmlElement,
    count: Element,
    status: Element,
    /// The drawn window and whether it must be drawn again anyway.
    drawn: (usize, usize),
    dirty: bool,
    /// Scroll to this line on the next frame (a search result).
    reveal: Option<usize>,
    frame: Option<i32>,
    on_frame: Option<Closure<dyn FnMut()>>,
    /// The current stream's: a new tail size ends it.
    stream_cancel: Option<Canceller>,
    ended: bool,
    /// The daemon answered: an empty queue then means the log so far is shown.
    opened: bool,
    started_ms: f64,
    listeners: Listeners,
}

impl Drop for Logs {
    fn drop(&mut self) {
        if let Some(id) = self.frame.take() {
            let _ = dom::window().cancel_animation_frame(id);
        }
    }
}

/// The tab's guard.
struct Guard {
    _state: Rc<RefCell<Logs>>,
}

pub fn mount(api: &Api, body: &Element, id: &str, name: &str, tty: bool) -> Mounted {
    let mut listeners = Listeners::default();
    let tail = el("select")
        .attr("aria-label", "Tail size")
        .attr("data-control", "tail");
    for (value, label) in TAILS {
        let _ = tail
            .0
            .append_child(&el("option").attr("value", value).text(label).0);
    }
    let ts = el("input")
        .attr("type", "checkbox")
        .attr("id", "log-ts")
        .attr("data-control", "timestamps");
    let search = el("input")
        .attr("type", "search")
        .attr("placeholder", "Search")
        .attr("aria-label", "Search the log")
        .attr("data-filter", "");
    let prev = el("button")
        .attr("type", "button")
        .class("small")
        .attr("aria-label", "Previous match")
        .attr("data-action", "prev")
        .text("↑");
    let next = el("button")
        .attr("type", "button")
        .class("small")
        .attr("aria-label", "Next match")
        .attr("data-action", "next")
        .text("↓");
    let count = el("span")
        .class("match-count muted")
        .attr("aria-live", "polite");
    let download = el("button")
        .attr("type", "button")
        .attr("data-action", "download")
        .text("Download");
    let toolbar = el("div")
        .class("toolbar log-toolbar")
        .child(&tail)
        .child(
            el("label")
                .class("check")
                .child(&ts)
                .child(dom::text("Timestamps")),
        )
        .child(
            el("div")
                .class("search")
                .child(&search)
                .child(&prev)
                .child(&next)
                .child(&count),
        )
        .child(&download);
    let spacer = el("div").class("log-spacer");
    let rows = el("div").class("log-rows");
    let viewport = el("div")
        .class("log")
        .attr("tabindex", "0")
        .attr("role", "log")
        .attr("aria-label", "Log")
        .attr("data-lines", "0")
        .attr("data-state", "loading")
        .child(&spacer)
        .child(&rows);
    let status = el("p")
        .class("log-status muted")
        .attr("aria-live", "polite");
    let _ = body.append_child(&toolbar.0);
    let _ = body.append_child(&viewport.0);
    let _ = body.append_child(&status.0);

    let state = Rc::new(RefCell::new(Logs {
        api: api.clone(),
        id: id.to_owned(),
        name: name.to_owned(),
        tty,
        model: LogModel::default(),
        splitter: Splitter::default(),
        pending: Vec::new(),
        search: Search::default(),
        show_ts: false,
        stick: true,
        viewport: viewport.html(),
        spacer: spacer.html(),
        rows: rows.html(),
        count: count.0.clone(),
        status: status.0.clone(),
        drawn: (0, 0),
        dirty: true,
        reveal: None,
        frame: None,
        on_frame: None,
        stream_cancel: None,
        ended: false,
        opened: false,
        started_ms: dom::now_ms(),
        listeners: Listeners::default(),
    }));
    let weak = Rc::downgrade(&state);
    let frame_weak = weak.clone();
    state.borrow_mut().on_frame = Some(Closure::new(move || on_frame(&frame_weak)));

    let w = weak.clone();
    listeners.on(&viewport.0, "scroll", move |_| {
        if let Some(s) = w.upgrade() {
            if let Ok(mut s) = s.try_borrow_mut() {
                let v = &s.viewport;
                s.stick = logmodel::at_bottom(
                    f64::from(v.scroll_top()),
                    f64::from(v.client_height()),
                    f64::from(v.scroll_height()),
                    LINE_HEIGHT,
                );
                schedule(&mut s, &w);
            }
        }
    });
    let (w, select) = (weak.clone(), tail.0.clone());
    listeners.on(&tail.0, "change", move |_| {
        if let Some(s) = w.upgrade() {
            start(&s, &dom::value(&select));
        }
    });
    let (w, checkbox) = (weak.clone(), ts.input());
    listeners.on(&ts.0, "change", move |_| {
        if let Some(s) = w.upgrade() {
            let mut s = s.borrow_mut();
            s.show_ts = checkbox.checked();
            s.dirty = true;
            schedule(&mut s, &w);
        }
    });
    let (w, input) = (weak.clone(), search.input());
    listeners.on(&search.0, "input", move |_| {
        if let Some(s) = w.upgrade() {
            let mut s = s.borrow_mut();
            s.search = Search::new(input.value().trim());
            s.dirty = true;
            show_count(&s);
            schedule(&mut s, &w);
        }
    });
    let w = weak.clone();
    listeners.on(&search.0, "keydown", move |e| {
        if let Some(key) = e.dyn_ref::<KeyboardEvent>() {
            if key.key() == "Enter" {
                key.prevent_default();
                step_match(&w, !key.shift_key());
            }
        }
    });
    let w = weak.clone();
    listeners.on(&next.0, "click", move |_| step_match(&w, true));
    let w = weak.clone();
    listeners.on(&prev.0, "click", move |_| step_match(&w, false));
    let w = weak.clone();
    listeners.on(&download.0, "click", move |_| {
        if let Some(s) = w.upgrade() {
            save(&s.borrow());
        }
    });
    state.borrow_mut().listeners = listeners;
    start(&state, TAILS[0].0);
    Box::new(Guard { _state: state })
}

/// (Re)starts following the log with `tail`: the model starts empty.
fn start(state: &Rc<RefCell<Logs>>, tail: &str) {
    let weak = Rc::downgrade(state);
    let cancel = Canceller::default();
    let token = cancel.token();
    let (api, id, tty) = {
        let mut s = state.borrow_mut();
        s.stream_cancel = Some(cancel);
        s.model.clear();
        s.splitter = Splitter::default();
        s.pending.clear();
        s.search = Search::new(s.search.query());
        s.stick = true;
        s.ended = false;
        s.opened = false;
        let _ = s.spacer.style().set_property("height", "0px");
        s.dirty = true;
        s.started_ms = dom::now_ms();
        s.status.set_text_content(Some("Loading…"));
        let _ = s.viewport.set_attribute("data-state", "loading");
        schedule(&mut s, &weak);
        (s.api.clone(), s.id.clone(), s.tty)
    };
    let options = LogsOptions {
        stdout: true,
        stderr: true,
        since: None,
        until: None,
        timestamps: true,
        tail: Some(tail.to_owned()),
        follow: true,
    };
    wasm_bindgen_futures::spawn_local(async move {
        follow(weak, api, id, tty, options, token).await;
    });
}

/// Reads the stream into the state's queue until it ends or is cancelled.
async fn follow(
    weak: Weak<RefCell<Logs>>,
    api: Api,
    id: String,
    tty: bool,
    options: LogsOptions,
    cancel: Cancel,
) {
    let opened = match or_cancel(&cancel, api.client.logs_stream(&id, &options, tty)).await {
        None => return,
        Some(opened) => opened,
    };
    let mut stream = match opened {
        Ok(stream) => stream,
        Err(err) => {
            if let Some(s) = weak.upgrade() {
                let s = s.borrow();
                s.status
                    .set_text_content(Some(&crate::api::ApiError::from(err).message));
                let _ = s.status.set_attribute("class", "log-status error");
            }
            return;
        }
    };
    if let Some(s) = weak.upgrade() {
        let mut s = s.borrow_mut();
        s.opened = true;
        schedule(&mut s, &weak);
    }
    let mut lines = Vec::new();
    let mut since_yield = 0;
    loop {
        since_yield += 1;
        if since_yield == FRAMES_PER_YIELD {
            since_yield = 0;
            if or_cancel(&cancel, dom::sleep(0)).await.is_none() {
                return;
            }
        }
        let item = match or_cancel(&cancel, stream.next()).await {
            None => return,
            Some(item) => item,
        };
        let Some(state) = weak.upgrade() else { return };
        let mut s = state.borrow_mut();
        match item {
            Some(Ok(frame)) => {
                let kind = if frame.stream == StdStream::Stderr {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                };
                s.splitter.push(kind, &frame.payload, &mut lines);
                s.pending.append(&mut lines);
                if s.pending.len() > MAX_PENDING {
                    let extra = s.pending.len() - MAX_PENDING;
                    s.pending.drain(..extra);
                }
                schedule(&mut s, &weak);
            }
            end => {
                s.splitter.finish(&mut lines);
                s.pending.append(&mut lines);
                s.ended = true;
                let message = match end {
                    Some(Err(err)) => crate::api::ApiError::from(err).message,
                    _ => String::new(),
                };
                if !message.is_empty() {
                    s.status.set_text_content(Some(&message));
                    let _ = s.status.set_attribute("class", "log-status error");
                }
                schedule(&mut s, &weak);
                return;
            }
        }
    }
}

/// Asks for a frame, unless one is coming.
fn schedule(s: &mut Logs, _weak: &Weak<RefCell<Logs>>) {
    if s.frame.is_some() {
        return;
    }
    if let Some(callback) = &s.on_frame {
        s.frame = dom::window()
            .request_animation_frame(callback.as_ref().unchecked_ref())
            .ok();
    }
}

/// One frame: add waiting lines, search a slice, follow the end, draw the window.
fn on_frame(weak: &Weak<RefCell<Logs>>) {
    let Some(state) = weak.upgrade() else { return };
    let mut s = state.borrow_mut();
    s.frame = None;
    let t0 = dom::now_ms();
    let mut more = false;

    // New lines, in a bounded batch.
    if !s.pending.is_empty() {
        let n = s.pending.len().min(LINES_PER_FRAME);
        let batch: Vec<_> = s.pending.drain(..n).collect();
        let mut dropped = 0;
        for (stream, text) in batch {
            dropped += s.model.push(Line::new(text, stream, true));
        }
        if dropped > 0 {
            s.search.shift(dropped);
            s.dirty = true;
        }
        more |= !s.pending.is_empty();
        let total = s.model.len() as f64 * LINE_HEIGHT;
        let _ = s
            .spacer
            .style()
            .set_property("height", &format!("{total}px"));
        let _ = s
            .viewport
            .set_attribute("data-lines", &s.model.len().to_string());
        s.dirty = true;
    }
    if s.pending.is_empty() && (s.opened || s.ended) {
        let done_state = if s.ended { "ended" } else { "following" };
        if s.viewport.get_attribute("data-state").as_deref() != Some(done_state) {
            let _ = s.viewport.set_attribute("data-state", done_state);
            let took = dom::now_ms() - s.started_ms;
            let text = format!(
                "{} lines{} ({:.0} ms)",
                s.model.len(),
                if s.ended {
                    ", the container's output ended"
                } else {
                    ", following"
                },
                took
            );
            s.status.set_text_content(Some(&text));
        } else if s.ended || s.dirty {
            let text = format!(
                "{} lines{}",
                s.model.len(),
                if s.ended {
                    ", the container's output ended"
                } else {
                    ", following"
                }
            );
            if s.status.get_attribute("class").as_deref() != Some("log-status error") {
                s.status.set_text_content(Some(&text));
            }
        }
    }

    // Search, within its budget.
    if s.search.is_active() && !s.search.done(&s.model) {
        let before = s.search.count();
        loop {
            let Logs { search, model, .. } = &mut *s;
            if search.step(model, SEARCH_SLICE) || dom::now_ms() - t0 > SEARCH_BUDGET_MS {
                break;
            }
        }
        let first = before == 0 && s.search.count() > 0;
        if first {
            s.reveal = s.search.current().map(|(_, line)| line);
        }
        if s.search.count() != before {
            s.dirty = true;
        }
        more |= !s.search.done(&s.model);
        show_count(&s);
    }

    // Where to look.
    if let Some(line) = s.reveal.take() {
        s.stick = false;
        let height = f64::from(s.viewport.client_height());
        let top = (line as f64 * LINE_HEIGHT - height / 2.0).max(0.0);
        s.viewport.set_scroll_top(top as i32);
        s.dirty = true;
    } else if s.stick && s.dirty {
        let bottom = s.viewport.scroll_height();
        s.viewport.set_scroll_top(bottom);
    }
    draw(&mut s);
    if more {
        schedule(&mut s, weak);
    }
}

/// Draws the lines in view, when the window moved or something changed.
fn draw(s: &mut Logs) {
    let window = logmodel::window(
        f64::from(s.viewport.scroll_top()),
        f64::from(s.viewport.client_height()),
        LINE_HEIGHT,
        s.model.len(),
        OVERSCAN,
    );
    if window == s.drawn && !s.dirty {
        return;
    }
    s.drawn = window;
    s.dirty = false;
    let (start, end) = window;
    let _ = s
        .rows
        .style()
        .set_property("top", &format!("{}px", start as f64 * LINE_HEIGHT));
    let current = s.search.current().map(|(_, line)| line);
    let document = dom::document();
    let fragment = document.create_document_fragment();
    for index in start..end {
        let Some(line) = s.model.get(index) else {
            break;
        };
        let row = el("div").class("line");
        let row = row
            .class_if("stderr", line.stream == Stream::Stderr)
            .class_if("match", s.search.is_active() && s.search.is_match(index))
            .class_if("current", current == Some(index));
        if s.show_ts {
            if let Some(ts) = line.timestamp() {
                let _ = row.0.append_child(&el("span").class("ts").text(ts).0);
            }
        }
        for span in ansi::spans(line.body()) {
            if span.style.is_plain() {
                let _ = row.0.append_child(&document.create_text_node(&span.text));
            } else {
                let _ = row
                    .0
                    .append_child(&el("span").class(&span.style.classes()).text(&span.text).0);
            }
        }
        let _ = fragment.append_child(&row.0);
    }
    dom::clear(&s.rows);
    let _ = s.rows.append_child(&fragment);
}

/// The match count: `3 / 120`, `120 matches…` while searching, `No matches`.
fn show_count(s: &Logs) {
    let searching = s.search.is_active() && !s.search.done(&s.model);
    let text = if !s.search.is_active() {
        String::new()
    } else if let Some((i, _)) = s.search.current() {
        format!(
            "{} / {}{}",
            i + 1,
            s.search.count(),
            if searching { "…" } else { "" }
        )
    } else if searching {
        "Searching…".to_owned()
    } else {
        "No matches".to_owned()
    };
    s.count.set_text_content(Some(&text));
    let _ = s
        .viewport
        .set_attribute("data-matches", &s.search.count().to_string());
    let _ = s
        .viewport
        .set_attribute("data-searching", if searching { "true" } else { "false" });
}

/// Moves to the next (or previous) match.
fn step_match(weak: &Weak<RefCell<Logs>>, forward: bool) {
    let Some(state) = weak.upgrade() else { return };
    let mut s = state.borrow_mut();
    let line = if forward {
        s.search.next()
    } else {
        s.search.prev()
    };
    if let Some(line) = line {
        s.reveal = Some(line);
        s.dirty = true;
        show_count(&s);
        schedule(&mut s, weak);
    }
}

/// Downloads the loaded lines as `<name>.log`.
fn save(s: &Logs) {
    if s.model.is_empty() {
        crate::app::toast("Nothing to download yet", crate::app::Tone::Info);
        return;
    }
    let text = s.model.export(s.show_ts);
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/plain;charset=utf-8");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let name = if s.name.is_empty() {
        "container"
    } else {
        &s.name
    };
    dom::offer_download(&blob, &format!("{name}.log"));
}
