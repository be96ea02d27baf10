//! The containers table: every container, kept up to date from `/events` without polling, fast with
//! thousands of them.
//!
//! - Loaded once with `GET /containers/json?all=1`, then each container event is shown at the next frame
//!   from what it says (a new row for a create, a new state for a start, pause or die), and marks its
//!   container for a refresh; once per animation frame the marked ones are fetched again in one `list` filtered by their
//!   IDs (one request, one in flight at a time, so that answers cannot overtake each other) and patched
//!   into the model (`table_model.rs`).
//! - Only the rows on screen exist (`window.rs`): a spacer as tall as all rows, rows placed at their
//!   index, rebuilt only when their revision changes; scrolling and updates re-render at most once a
//!   frame. Rows stay in DOM order, so Tab walks them in the shown order (the overscan rows below the
//!   view let it go on, the browser scrolling each focused row into view).
//! - When the events stream ends or fails, it is opened again with a backoff and the whole list
//!   reloaded after it (so no change made meanwhile is missed), with a note saying so.
//! - Actions (per row and for a selection) go to the daemon; their effect shows when its event comes
//!   back, and a refusal shows the daemon's message.
//!
//! Here the view's state and skeleton; `live.rs` the list and the events, `rows.rs` the rendering,
//! `actions.rs` what the user does in it.

mod actions;
mod live;
mod rows;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlElement, HtmlInputElement};

use self::actions::{on_bulk, on_change, on_click};
use self::live::follow;
use self::rows::render;
use crate::api::{Api, StreamGuard};
use crate::app::{self, Mounted};
use crate::dom::{self, el, El, Listeners};
use crate::views::table_model::{Action, Filter, Model, Pending, SortKey};

/// Every row's height in pixels, as `.containers .row` in the stylesheet.
const ROW_HEIGHT: f64 = 40.0;
/// Rows rendered beyond each edge of the view.
const OVERSCAN: usize = 8;
/// More containers than this changed in one frame: reload the whole list rather than name them all.
const BATCH_LIMIT: usize = 40;
/// The longest wait before opening the events stream again, in milliseconds.
const MAX_BACKOFF_MS: i32 = 10_000;

/// The view's elements that change.
struct Dom {
    scroller: HtmlElement,
    spacer: HtmlElement,
    table: Element,
    message: Element,
    count: Element,
    note: Element,
    bulk: Element,
    bulk_count: Element,
    select_all: Option<HtmlInputElement>,
    heads: Vec<(SortKey, Element)>,
}

/// A row on screen.
struct Rendered {
    element: HtmlElement,
    revision: u64,
    selected: bool,
    index: usize,
    minute: i64,
}

struct State {
    me: Weak<RefCell<State>>,
    api: Api,
    operate: bool,
    model: Model,
    loaded: bool,
    failure: Option<String>,
    pending: Pending,
    flush_scheduled: bool,
    fetching: bool,
    render_scheduled: bool,
    rendered: HashMap<String, Rendered>,
    dom: Dom,
    /// The events stream, cancelled when the view goes (a quiet stream would never wake the task that
    /// holds it).
    stream: Option<StreamGuard>,
    listeners: Listeners,
}

/// The mounted view; dropping it stops the stream and removes the listeners.
struct Guard(Rc<RefCell<State>>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.try_borrow_mut() {
            state.stream = None;
        }
    }
}

pub fn mount(api: &Api, main: &Element) -> Mounted {
    let operate = api.role.can_operate();
    let mut listeners = Listeners::default();

    let search = el("input")
        .attr("type", "search")
        .attr("data-filter", "")
        .attr("aria-label", "Filter by name, image or ID")
        .attr("placeholder", "Filter by name, image or ID  ( / )");
    let state_select = el("select").attr("aria-label", "State");
    for (value, label) in [
        ("", "All states"),
        ("running", "Running"),
        ("paused", "Paused"),
        ("exited", "Exited"),
        ("created", "Created"),
    ] {
        let _ = state_select
            .0
            .append_child(&el("option").attr("value", value).text(label).0);
    }
    let labels = el("input")
        .attr("type", "search")
        .attr("aria-label", "Label filter: key or key=value")
        .attr("placeholder", "label or label=value")
        .class("labels");
    let count = el("span").class("count muted").attr("aria-live", "polite");
    let note = el("span")
        .class("note hidden")
        .attr("role", "status")
        .text("Reconnecting to wharfd's events…");
    let mut toolbar = el("div")
        .class("toolbar")
        .child(&search)
        .child(&state_select)
        .child(&labels)
        .child(&count)
        .child(&note);
    if operate {
        toolbar = toolbar.child(
            el("a")
                .class("button primary")
                .attr("href", "#/run")
                .text("Run a container"),
        );
    }

    let bulk_count = el("span").class("bulk-count");
    let bulk = el("div")
        .class("actions bulk hidden")
        .attr("role", "group")
        .attr("aria-label", "Actions on the selected containers")
        .child(&bulk_count);
    for action in Action::ALL {
        let button = el("button")
            .attr("type", "button")
            .class("small")
            .class_if("danger", action == Action::Remove)
            .attr("data-bulk", action.as_str())
            .text(action.label());
        let _ = bulk.0.append_child(&button.0);
    }
    let clear = el("button")
        .attr("type", "button")
        .class("small ghost")
        .attr("data-bulk", "clear")
        .text("Clear selection");
    let _ = bulk.0.append_child(&clear.0);

    let (head, select_all, heads) = header(operate);
    let spacer = el("div").class("spacer").attr("role", "rowgroup");
    let message = el("div").class("empty").text("Loading containers…");
    let scroller = el("div")
        .class("scroll")
        .child(&head)
        .child(&message)
        .child(&spacer);
    let table = el("div")
        .class("table containers")
        .class_if("readonly", !operate)
        .attr("role", "table")
        .attr("aria-label", "Containers")
        .attr("aria-busy", "true")
        .child(&scroller);

    let page = app::page("Containers")
        .class("containers-page")
        .child(toolbar)
        .child(&bulk)
        .child(&table);
    let _ = main.append_child(&page.0);

    let dom = Dom {
        scroller: scroller.html(),
        spacer: spacer.html(),
        table: table.0.clone(),
        message: message.0,
        count: count.0,
        note: note.0,
        bulk: bulk.0.clone(),
        bulk_count: bulk_count.0,
        select_all: select_all.clone(),
        heads,
    };
    let state = Rc::new_cyclic(|me| {
        RefCell::new(State {
            me: me.clone(),
            api: api.clone(),
            operate,
            model: Model::new(),
            loaded: false,
            failure: None,
            pending: Pending::default(),
            flush_scheduled: false,
            fetching: false,
            render_scheduled: false,
            rendered: HashMap::new(),
            dom,
            stream: None,
            listeners: Listeners::default(),
        })
    });
    let weak = Rc::downgrade(&state);

    // Filters.
    let (search_input, state_el, labels_input) =
        (search.input(), state_select.0.clone(), labels.input());
    let refilter = {
        let weak = weak.clone();
        move |_: &Event| {
            with(&weak, |s| {
                s.model.set_filter(Filter {
                    text: search_input.value(),
                    state: Some(dom::value(&state_el)).filter(|v| !v.is_empty()),
                    labels: labels_input.value(),
                });
                s.dom.scroller.set_scroll_top(0);
                schedule_render(s);
            })
        }
    };
    listeners.on(&search.0, "input", refilter.clone());
    listeners.on(&labels.0, "input", refilter.clone());
    listeners.on(&state_select.0, "change", refilter);

    // Sorting, selection and actions, delegated to the table.
    let w = weak.clone();
    listeners.on(&table.0, "click", move |event| on_click(&w, event));
    let w = weak.clone();
    listeners.on(&table.0, "change", move |event| on_change(&w, event));
    let w = weak.clone();
    listeners.on(&bulk.0, "click", move |event| on_bulk(&w, event));
    let w = weak.clone();
    listeners.on(&scroller.0, "scroll", move |_| with(&w, schedule_render));
    let w = weak.clone();
    listeners.on(&dom::window(), "resize", move |_| with(&w, schedule_render));
    state.borrow_mut().listeners = listeners;

    wasm_bindgen_futures::spawn_local(follow(weak.clone()));
    tick(weak);
    Box::new(Guard(state))
}

/// The header row: the select-all box and the sortable columns.
fn header(operate: bool) -> (El, Option<HtmlInputElement>, Vec<(SortKey, Element)>) {
    let head = el("div").class("head").attr("role", "row");
    let mut select_all = None;
    if operate {
        let boxed = el("input")
            .attr("type", "checkbox")
            .attr("data-select-all", "")
            .attr("aria-label", "Select all shown");
        select_all = Some(boxed.input());
        let _ = head.0.append_child(
            &el("div")
                .class("cell select")
                .attr("role", "columnheader")
                .child(boxed)
                .0,
        );
    }
    let mut heads = Vec::new();
    let columns: [(&str, Option<SortKey>, &str); 6] = [
        ("Name", Some(SortKey::Name), "name"),
        ("Image", Some(SortKey::Image), "image hide-narrow"),
        ("State", Some(SortKey::State), "state-col"),
        ("Status", None, "status hide-medium"),
        ("Created", Some(SortKey::Created), "created hide-narrow"),
        ("ID / ports", None, "ports hide-medium"),
    ];
    for (label, key, class) in columns {
        let cell = el("div")
            .class("cell")
            .class(class)
            .attr("role", "columnheader");
        let cell = match key {
            Some(key) => {
                let button = el("button")
                    .attr("type", "button")
                    .attr("data-sort", key.as_str())
                    .text(label);
                let cell = cell.attr("aria-sort", "none").child(button);
                heads.push((key, cell.0.clone()));
                cell
            }
            None => cell.text(label),
        };
        let _ = head.0.append_child(&cell.0);
    }
    if operate {
        let _ = head.0.append_child(
            &el("div")
                .class("cell actions-col")
                .attr("role", "columnheader")
                .child(el("span").class("visually-hidden").text("Actions"))
                .0,
        );
    }
    (head, select_all, heads)
}

/// Runs `f` on the state if the view is still there.
fn with(weak: &Weak<RefCell<State>>, f: impl FnOnce(&mut State)) {
    if let Some(state) = weak.upgrade() {
        if let Ok(mut state) = state.try_borrow_mut() {
            f(&mut state);
        }
    }
}

/// Runs `f` at the next animation frame.
fn next_frame(f: impl FnOnce() + 'static) {
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    let _ = dom::window().request_animation_frame(callback.unchecked_ref());
}

fn now_secs() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// Rewrites the rows' ages once a minute (the list itself is not fetched again).
fn tick(weak: Weak<RefCell<State>>) {
    app::gloo_timeout(60_000, move || {
        if weak.upgrade().is_some() {
            with(&weak, schedule_render);
            tick(weak);
        }
    });
}

fn schedule_render(s: &mut State) {
    if s.render_scheduled {
        return;
    }
    s.render_scheduled = true;
    let weak = s.me.clone();
    next_frame(move || {
        with(&weak, |s| {
            s.render_scheduled = false;
            render(s);
        })
    });
}
