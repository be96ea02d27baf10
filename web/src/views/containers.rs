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

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlElement, HtmlInputElement, ReadableStreamDefaultReader};
use wharf_client_core::api::containers::{self, ListOptions, RemoveOptions, StopOptions};
use wharf_client_core::api::system::EventsOptions;
use wharf_client_core::models::{ContainerSummary, EventMessage};
use wharf_client_core::Filters;

use crate::api::{Api, ApiError};
use crate::app::{self, Mounted};
use crate::dom::{self, el, El, Listeners};
use crate::views::format;
use crate::views::table_model::{
    actions_for, event_effect, remove_needs_force, Action, Filter, Model, Pending, Row, SortKey,
};
use crate::views::window;

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
    /// The events stream's reader, cancelled when the view goes (a quiet stream would never wake the
    /// task that holds it).
    reader: Option<ReadableStreamDefaultReader>,
    listeners: Listeners,
}

/// The mounted view; dropping it stops the stream and removes the listeners.
struct Guard(Rc<RefCell<State>>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.try_borrow_mut() {
            if let Some(reader) = state.reader.take() {
                let _ = reader.cancel();
            }
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
            reader: None,
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

/// Resolves after `ms` milliseconds.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = dom::window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
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

/// What the row of a container holds.
fn row_of(c: ContainerSummary) -> Option<Row> {
    let id = c.id?;
    let name = c
        .names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    let ports = c
        .ports
        .unwrap_or_default()
        .iter()
        .map(|p| {
            let typ = p
                .typ
                .map(|t| t.to_string())
                .unwrap_or_else(|| "tcp".to_owned());
            match p.public_port {
                Some(public) => format!(
                    "{}:{public}->{}/{typ}",
                    p.ip.as_deref().unwrap_or("0.0.0.0"),
                    p.private_port
                ),
                None => format!("{}/{typ}", p.private_port),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut labels: Vec<(String, String)> = c.labels.unwrap_or_default().into_iter().collect();
    labels.sort();
    Some(Row {
        id,
        name,
        image: c.image.unwrap_or_default(),
        state: c.state.map(|s| s.to_string()).unwrap_or_default(),
        status: c.status.unwrap_or_default(),
        created: c.created.unwrap_or_default(),
        ports,
        labels,
    })
}

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
    let list = api.client.list_containers(&options).await?;
    Ok(list.into_iter().filter_map(row_of).collect())
}

/// Follows `/events` for the view's life: opens the stream, (re)loads the list, applies events; on an
/// end or failure, waits and starts again.
async fn follow(weak: Weak<RefCell<State>>) {
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
                state.borrow_mut().reader = stream.body_mut().reader();
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
            s.reader = None;
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
                // The events stream is likely broken too: its reconnection reloads everything.
                Err(_) => {}
            }
            render(s);
            schedule_flush(s);
        });
    });
}

fn set_px(element: &HtmlElement, property: &str, value: f64) {
    let _ = element
        .style()
        // Whole pixels, as integers: formatting an f64 would bring core's float printing (~10 KiB).
        .set_property(property, &format!("{}px", value.round() as i64));
}

/// Renders the rows in view (building only those that changed) and the counts around the table.
fn render(s: &mut State) {
    s.model.refresh();
    let total = s.model.shown().len();
    set_px(
        &s.dom.spacer,
        "height",
        window::spacer_height(total, ROW_HEIGHT),
    );
    let offset = f64::from(s.dom.spacer.offset_top());
    let scroll_top = f64::from(s.dom.scroller.scroll_top()) - offset;
    let viewport = f64::from(s.dom.scroller.client_height());
    let range = window::visible(scroll_top, viewport, ROW_HEIGHT, total, OVERSCAN);
    let wanted: Vec<String> = s.model.shown()[range.clone()].to_vec();
    let keep: HashSet<&str> = wanted.iter().map(String::as_str).collect();
    s.rendered.retain(|id, r| {
        let kept = keep.contains(id.as_str());
        if !kept {
            r.element.remove();
        }
        kept
    });

    let now = now_secs();
    let minute = now / 60;
    let active = dom::document().active_element();
    let mut cursor: Option<Element> = s.dom.spacer.first_element_child();
    for (i, id) in wanted.iter().enumerate() {
        let index = range.start + i;
        let Some((row, revision)) = s.model.row_revision(id) else {
            continue;
        };
        let selected = s.model.is_selected(id);
        let current = s
            .rendered
            .get(id)
            .filter(|r| r.revision == revision && r.selected == selected && r.minute == minute);
        let element = match current {
            Some(r) => {
                if r.index != index {
                    set_px(&r.element, "top", window::row_top(index, ROW_HEIGHT));
                    let _ = r
                        .element
                        .set_attribute("aria-rowindex", &(index + 2).to_string());
                }
                r.element.clone()
            }
            None => {
                let fresh = build_row(row, index, selected, s.operate, now);
                if let Some(old) = s.rendered.get(id) {
                    let focus = focused_key(&old.element, active.as_ref());
                    let _ = old.element.replace_with_with_node_1(&fresh);
                    if cursor.as_ref() == Some(old.element.as_ref()) {
                        cursor = Some(fresh.clone().into());
                    }
                    if let Some(key) = focus {
                        refocus(&fresh, &key);
                    }
                }
                fresh
            }
        };
        // Keep the DOM in the shown order, moving only what is out of place.
        if cursor.as_ref() == Some(element.as_ref()) {
            cursor = element.next_element_sibling();
        } else {
            let _ = s
                .dom
                .spacer
                .insert_before(&element, cursor.as_ref().map(|c| c.as_ref()));
        }
        s.rendered.insert(
            id.clone(),
            Rendered {
                element,
                revision,
                selected,
                index,
                minute,
            },
        );
    }
    render_chrome(s, total);
}

/// The counts, messages, selection bar and sort marks.
fn render_chrome(s: &State, shown: usize) {
    let all = s.model.total();
    let _ = s
        .dom
        .table
        .set_attribute("aria-rowcount", &(shown + 1).to_string());
    let count = if shown == all {
        format!("{all} containers")
    } else {
        format!("{shown} of {all} containers")
    };
    s.dom.count.set_text_content(Some(&count));
    let message = match (&s.failure, s.loaded, all, shown) {
        (Some(failure), false, _, _) => Some(format!("Cannot list containers: {failure}")),
        (None, false, _, _) => Some("Loading containers…".to_owned()),
        (_, true, 0, _) => Some("No containers yet.".to_owned()),
        (_, true, _, 0) => Some("No container matches the filters.".to_owned()),
        _ => None,
    };
    match message {
        Some(text) => {
            s.dom.message.set_text_content(Some(&text));
            s.dom.message.class_list().remove_1("hidden").ok();
        }
        None => {
            s.dom.message.class_list().add_1("hidden").ok();
        }
    }
    if s.loaded {
        let _ = s.dom.table.set_attribute("aria-busy", "false");
    }
    let selected = s.model.selected().len();
    if selected > 0 {
        s.dom.bulk.class_list().remove_1("hidden").ok();
        s.dom
            .bulk_count
            .set_text_content(Some(&format!("{selected} selected")));
    } else {
        s.dom.bulk.class_list().add_1("hidden").ok();
    }
    if let Some(select_all) = &s.dom.select_all {
        let all_selected = s.model.all_shown_selected();
        select_all.set_checked(all_selected);
        select_all.set_indeterminate(selected > 0 && !all_selected);
    }
    let sort = s.model.sort();
    for (key, cell) in &s.dom.heads {
        let value = match (*key == sort.key, sort.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        let _ = cell.set_attribute("aria-sort", value);
    }
}

fn build_row(row: &Row, index: usize, selected: bool, operate: bool, now: i64) -> HtmlElement {
    let cell = |class: &str| el("div").class("cell").class(class).attr("role", "cell");
    let mut element = el("div")
        .class("row")
        .class_if("selected", selected)
        .attr("role", "row")
        .attr("data-id", &row.id)
        .attr("aria-rowindex", &(index + 2).to_string());
    if operate {
        let mut check = el("input")
            .attr("type", "checkbox")
            .attr("data-select", "")
            .attr("aria-label", &format!("Select {}", row.name));
        if selected {
            check = check.attr("checked", "");
        }
        element = element.child(cell("select").child(check));
    }
    let short = format::short_id(&row.id);
    let ports = if row.ports.is_empty() {
        short.to_owned()
    } else {
        format!("{short} · {}", row.ports)
    };
    element = element
        .child(
            cell("name").child(
                el("a")
                    .attr("href", &app::container_href(&row.id, "info"))
                    .attr("title", &row.name)
                    .text(&row.name),
            ),
        )
        .child(
            cell("image hide-narrow")
                .attr("title", &row.image)
                .text(&row.image),
        )
        .child(
            cell("state-col").child(
                el("span")
                    .class("state")
                    .class(&row.state)
                    .class_if("failed", row.failed())
                    .text(&row.state),
            ),
        )
        .child(
            cell("status hide-medium")
                .attr("title", &row.status)
                .text(&row.status),
        )
        .child(cell("created hide-narrow").text(&format::ago(now, row.created)))
        .child(
            cell("ports mono hide-medium")
                .attr("title", &ports)
                .text(&ports),
        );
    if operate {
        let actions = cell("actions-col");
        for (i, action) in actions_for(&row.state).iter().enumerate() {
            let button = el("button")
                .attr("type", "button")
                .class("small")
                .class_if("danger", *action == Action::Remove)
                .class_if("hide-medium", i > 0)
                .attr("data-action", action.as_str())
                .attr("aria-label", &format!("{} {}", action.label(), row.name))
                .text(action.label());
            let _ = actions.0.append_child(&button.0);
        }
        element = element.child(actions);
    }
    let html = element.html();
    set_px(&html, "top", window::row_top(index, ROW_HEIGHT));
    html
}

/// What in `row` has the focus: its `data-action`, or `link`, or `select`.
fn focused_key(row: &HtmlElement, active: Option<&Element>) -> Option<String> {
    let active = active?;
    if !row.contains(Some(active)) {
        return None;
    }
    if let Some(action) = active.get_attribute("data-action") {
        return Some(action);
    }
    Some(
        if active.tag_name() == "A" {
            "link"
        } else {
            "select"
        }
        .to_owned(),
    )
}

/// Gives the focus back to the same control in a rebuilt row, or to its first action, or its link.
fn refocus(row: &HtmlElement, key: &str) {
    let selector = match key {
        "link" => "a".to_owned(),
        "select" => "[data-select]".to_owned(),
        action => format!("[data-action=\"{action}\"]"),
    };
    let target = row
        .query_selector(&selector)
        .ok()
        .flatten()
        .or_else(|| row.query_selector("[data-action]").ok().flatten())
        .or_else(|| row.query_selector("a").ok().flatten());
    if let Some(target) = target.and_then(|t| t.dyn_into::<HtmlElement>().ok()) {
        let _ = target.focus();
    }
}

fn target_element(event: &Event) -> Option<Element> {
    event.target()?.dyn_into::<Element>().ok()
}

fn on_click(weak: &Weak<RefCell<State>>, event: &Event) {
    let Some(target) = target_element(event) else {
        return;
    };
    if let Ok(Some(button)) = target.closest("[data-sort]") {
        let key = match button.get_attribute("data-sort").as_deref() {
            Some("name") => SortKey::Name,
            Some("image") => SortKey::Image,
            Some("state") => SortKey::State,
            _ => SortKey::Created,
        };
        with(weak, |s| {
            s.model.sort_by(key);
            schedule_render(s);
        });
        return;
    }
    let Ok(Some(button)) = target.closest("[data-action]") else {
        return;
    };
    if button.has_attribute("data-busy") {
        return;
    }
    let Some(action) = button
        .get_attribute("data-action")
        .and_then(|a| Action::parse(&a))
    else {
        return;
    };
    let id = button
        .closest("[data-id]")
        .ok()
        .flatten()
        .and_then(|r| r.get_attribute("data-id"));
    let Some(state) = weak.upgrade() else { return };
    let (api, row) = {
        let s = state.borrow();
        let Some(row) = id.and_then(|id| s.model.row(&id).cloned()) else {
            return;
        };
        (s.api.clone(), row)
    };
    if action == Action::Remove {
        let question = if remove_needs_force(&row.state) {
            format!(
                "Remove {}? It is {}: it will be killed first.",
                row.name, row.state
            )
        } else {
            format!("Remove {}?", row.name)
        };
        if !confirm(&question) {
            return;
        }
    }
    // Busy rather than disabled: disabling the focused button would drop the focus to the page.
    let _ = button.set_attribute("data-busy", "");
    let _ = button.set_attribute("aria-disabled", "true");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(err) = perform(&api, action, &row).await {
            app::toast_error(&format!("{} {}", action.doing(), row.name), &err);
        }
        // The row may have been rebuilt by now; if not, its button works again.
        let _ = button.remove_attribute("data-busy");
        let _ = button.remove_attribute("aria-disabled");
    });
}

fn on_change(weak: &Weak<RefCell<State>>, event: &Event) {
    let Some(target) = target_element(event) else {
        return;
    };
    let Ok(input) = target.clone().dyn_into::<HtmlInputElement>() else {
        return;
    };
    if target.has_attribute("data-select-all") {
        with(weak, |s| {
            s.model.select_shown(input.checked());
            schedule_render(s);
        });
    } else if target.has_attribute("data-select") {
        let Some(id) = target
            .closest("[data-id]")
            .ok()
            .flatten()
            .and_then(|r| r.get_attribute("data-id"))
        else {
            return;
        };
        with(weak, |s| {
            s.model.set_selected(&id, input.checked());
            schedule_render(s);
        });
    }
}

fn on_bulk(weak: &Weak<RefCell<State>>, event: &Event) {
    let Some(name) = target_element(event)
        .and_then(|t| t.closest("[data-bulk]").ok().flatten())
        .and_then(|b| b.get_attribute("data-bulk"))
    else {
        return;
    };
    if name == "clear" {
        with(weak, |s| {
            s.model.select_shown(false);
            schedule_render(s);
        });
        return;
    }
    let Some(action) = Action::parse(&name) else {
        return;
    };
    let Some(state) = weak.upgrade() else { return };
    let (api, rows) = {
        let s = state.borrow();
        let rows: Vec<Row> = s
            .model
            .selected()
            .into_iter()
            .filter(|r| actions_for(&r.state).contains(&action))
            .cloned()
            .collect();
        (s.api.clone(), rows)
    };
    if rows.is_empty() {
        app::toast(
            &format!(
                "None of the selected containers can be told to {}.",
                action.as_str()
            ),
            app::Tone::Info,
        );
        return;
    }
    if action == Action::Remove {
        let running = rows.iter().filter(|r| remove_needs_force(&r.state)).count();
        let mut question = format!("Remove {} containers?", rows.len());
        if running > 0 {
            question.push_str(&format!(" {running} of them run and will be killed first."));
        }
        if !confirm(&question) {
            return;
        }
    }
    for row in rows {
        let api = api.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(err) = perform(&api, action, &row).await {
                app::toast_error(&format!("{} {}", action.doing(), row.name), &err);
            }
        });
    }
}

fn confirm(question: &str) -> bool {
    dom::window()
        .confirm_with_message(question)
        .unwrap_or(false)
}

async fn perform(api: &Api, action: Action, row: &Row) -> Result<(), ApiError> {
    let id = row.id.as_str();
    let stop = StopOptions::default();
    // One `call` for all seven (each client method is an async state machine of its own in the module).
    api.call(|f| match action {
        Action::Start => containers::start_request(f, id),
        Action::Stop => containers::stop_request(f, id, &stop),
        Action::Restart => containers::restart_request(f, id, &stop),
        Action::Kill => containers::kill_request(f, id, None),
        Action::Pause => containers::pause_request(f, id),
        Action::Unpause => containers::unpause_request(f, id),
        Action::Remove => {
            let options = RemoveOptions {
                force: remove_needs_force(&row.state),
                volumes: false,
            };
            containers::remove_request(f, id, &options)
        }
    })
    .await
}
