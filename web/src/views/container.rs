//! A container's page, `#/containers/<id>/<tab>`: a header (name, state, image and the actions its state
//! and the user's role allow), tabs, and the tab's view: info (the inspect, readable and raw), logs
//! (`logs.rs`), stats (`stats.rs`), processes (`top`) and a terminal (`terminal.rs`).
//!
//! The header stays current from `/events` filtered to this container (no polling): each event that
//! may change its state re-reads the inspect. The page's guard owns a [`Canceller`], so leaving the page
//! ends the events stream at once, and the tab's own guard, which stops its streams or its terminal.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::Value;
use web_sys::Element;
use wharf_client_core::api::containers::{self, RemoveOptions, StopOptions};
use wharf_client_core::api::system::EventsOptions;
use wharf_client_core::models::EventMessage;
use wharf_client_core::Filters;

use crate::api::{Api, ApiError};
use crate::app::{self, Mounted};
use crate::dom::{self, el, Listeners};
use crate::views::cancel::{or_cancel, Cancel, Canceller};
use crate::views::{files, inspect, logs, stats, terminal};

/// The tabs: (route segment, label).
pub const TABS: [(&str, &str); 6] = [
    ("info", "Info"),
    ("logs", "Logs"),
    ("stats", "Stats"),
    ("top", "Processes"),
    ("terminal", "Terminal"),
    ("files", "Files"),
];

struct Page {
    api: Api,
    /// As in the route, then the full ID once inspected.
    id: String,
    tab: String,
    inspect: Option<Value>,
    title: Element,
    status: Element,
    image: Element,
    actions: Element,
    body: Element,
    tab_view: Option<Mounted>,
    /// Whether the raw JSON of the info tab is open.
    raw_open: bool,
    action_listeners: Listeners,
    tab_listeners: Listeners,
}

/// The page's guard: dropping it ends the events stream and the tab's view.
struct Guard {
    _page: Rc<RefCell<Page>>,
    _cancel: Canceller,
}

pub fn mount(api: &Api, main: &Element, id: String, tab: String) -> Mounted {
    let tab = if TABS.iter().any(|(t, _)| *t == tab) {
        tab
    } else {
        "info".to_owned()
    };
    let title = el("h1").class("name").text(&id);
    let status = el("span").class("state").text("…");
    let image = el("span").class("image mono");
    let actions = el("div")
        .class("actions")
        .attr("role", "group")
        .attr("aria-label", "Container actions");
    let head = el("div")
        .class("page-head")
        .child(
            el("div")
                .class("title")
                .child(&title)
                .child(el("div").class("meta").child(&status).child(&image)),
        )
        .child(&actions);
    let tabs = el("nav").class("tabs").attr("aria-label", "Container");
    for (t, label) in TABS {
        let link = el("a")
            .attr("href", &app::container_href(&id, t))
            .attr("data-tab", t)
            .text(label);
        let link = if t == tab {
            link.attr("aria-current", "page")
        } else {
            link
        };
        let _ = tabs.0.append_child(&link.0);
    }
    let body = el("div").class("tab-body").attr("data-tab", &tab);
    let section = el("section")
        .class("page container-page")
        .child(
            el("a")
                .class("back")
                .attr("href", "#/containers")
                .text("← Containers"),
        )
        .child(head)
        .child(tabs)
        .child(&body);
    let _ = main.append_child(&section.0);

    let page = Rc::new(RefCell::new(Page {
        api: api.clone(),
        id,
        tab,
        inspect: None,
        title: title.0,
        status: status.0,
        image: image.0,
        actions: actions.0,
        body: body.0,
        tab_view: None,
        raw_open: false,
        action_listeners: Listeners::default(),
        tab_listeners: Listeners::default(),
    }));
    let cancel = Canceller::default();
    let (weak, token) = (Rc::downgrade(&page), cancel.token());
    wasm_bindgen_futures::spawn_local(async move {
        // Events from a second before the inspect: a change between the two is replayed, not missed.
        let mut since = (js_sys::Date::now() / 1000.0) as i64 - 1;
        if !refresh(&weak, &token, true).await {
            return;
        }
        // A stream that breaks (the daemon restarting) is opened again, from when it broke.
        while follow_events(weak.clone(), token.clone(), since).await {
            since = (js_sys::Date::now() / 1000.0) as i64 - 1;
            if or_cancel(&token, dom::sleep(2000)).await.is_none() || weak.upgrade().is_none() {
                return;
            }
            refresh(&weak, &token, false).await;
        }
    });
    Box::new(Guard {
        _page: page,
        _cancel: cancel,
    })
}

/// Reads the inspect again and shows it; the first time, mounts the tab. False when the page went or
/// the container is not there.
async fn refresh(weak: &Weak<RefCell<Page>>, cancel: &Cancel, first: bool) -> bool {
    let Some(page) = weak.upgrade() else {
        return false;
    };
    let (api, id) = {
        let p = page.borrow();
        (p.api.clone(), p.id.clone())
    };
    drop(page);
    let answer = or_cancel(
        cancel,
        api.call(|f| containers::inspect_request(f, &id, false).map(|r| r.expecting::<Value>())),
    )
    .await;
    let (Some(answer), Some(page)) = (answer, weak.upgrade()) else {
        return false;
    };
    match answer {
        Ok(v) => {
            {
                let mut p = page.borrow_mut();
                if let Some(full) = v.get("Id").and_then(Value::as_str) {
                    p.id = full.to_owned();
                }
                p.inspect = Some(v);
            }
            render_header(&page);
            let tab = page.borrow().tab.clone();
            if first {
                mount_tab(&page);
            } else if tab == "info" {
                render_info(&page);
            }
            true
        }
        Err(err) => {
            let p = page.borrow();
            if first {
                p.status.set_text_content(Some("not found"));
                dom::replace(
                    &p.body,
                    el("p")
                        .class("error")
                        .attr("role", "alert")
                        .text(&err.message),
                );
            } else if err.status == Some(404) {
                gone(&p);
            }
            false
        }
    }
}

/// The container was removed while the page was open.
fn gone(p: &Page) {
    p.status.set_text_content(Some("removed"));
    let _ = p.status.set_attribute("class", "state removed");
    dom::clear(&p.actions);
}

/// Follows the container's events (from `since`, seconds) until the page or the container goes (false)
/// or the stream ends or fails (true: open it again).
async fn follow_events(weak: Weak<RefCell<Page>>, cancel: Cancel, since: i64) -> bool {
    let Some((api, id)) = weak.upgrade().map(|p| {
        let p = p.borrow();
        (p.api.clone(), p.id.clone())
    }) else {
        return false;
    };
    let mut filters = Filters::new();
    filters.add("type", "container").add("container", id);
    let options = EventsOptions {
        since: Some(since.to_string()),
        until: None,
        filters,
    };
    let mut stream = match or_cancel(&cancel, api.client.events::<EventMessage>(&options)).await {
        None => return false,
        Some(Ok(stream)) => stream,
        Some(Err(_)) => return true,
    };
    loop {
        let event = match or_cancel(&cancel, stream.next()).await {
            None => return false,
            Some(Some(Ok(event))) => event,
            Some(_) => return true,
        };
        if !changes_state(&event.action) {
            continue;
        }
        if event.action == "destroy" {
            if let Some(page) = weak.upgrade() {
                gone(&page.borrow());
            }
            return false;
        }
        if weak.upgrade().is_none() {
            return false;
        }
        refresh(&weak, &cancel, false).await;
    }
}

/// Whether an event's action may change what the header shows (exec and attach ones do not).
fn changes_state(action: &str) -> bool {
    !(action.starts_with("exec_")
        || matches!(
            action,
            "attach"
                | "detach"
                | "resize"
                | "top"
                | "archive-path"
                | "extract-to-dir"
                | "export"
                | "commit"
                | "copy"
        ))
}

/// The header from the inspect: name, state, image, actions.
fn render_header(page: &Rc<RefCell<Page>>) {
    let weak = Rc::downgrade(page);
    let mut p = page.borrow_mut();
    let Some(v) = p.inspect.as_ref() else { return };
    let (name, status, image) = (inspect::name(v), inspect::status(v), inspect::image(v));
    p.title.set_text_content(Some(&name));
    p.status.set_text_content(Some(&status));
    let _ = p.status.set_attribute("class", &format!("state {status}"));
    p.image.set_text_content(Some(&image));
    dom::clear(&p.actions);
    let mut listeners = Listeners::default();
    if p.api.role.can_operate() {
        for &action in inspect::actions(&status) {
            let weak = weak.clone();
            let button = el("button")
                .attr("type", "button")
                .attr("data-action", action)
                .class_if("danger", matches!(action, "kill" | "remove"))
                .text(label(action))
                .on(&mut listeners, "click", move |_| act(&weak, action));
            let _ = p.actions.append_child(&button.0);
        }
    }
    p.action_listeners = listeners;
}

fn label(action: &str) -> &'static str {
    match action {
        "start" => "Start",
        "stop" => "Stop",
        "restart" => "Restart",
        "kill" => "Kill",
        "pause" => "Pause",
        "unpause" => "Resume",
        _ => "Remove",
    }
}

/// Runs `action` on the container; a refusal shows the daemon's message.
fn act(weak: &Weak<RefCell<Page>>, action: &'static str) {
    let Some(page) = weak.upgrade() else { return };
    let (api, id, name, running) = {
        let p = page.borrow();
        let v = p.inspect.as_ref();
        (
            p.api.clone(),
            p.id.clone(),
            v.map(inspect::name).unwrap_or_default(),
            v.is_some_and(|v| {
                matches!(
                    inspect::status(v).as_str(),
                    "running" | "paused" | "restarting"
                )
            }),
        )
    };
    if action == "remove" {
        let question = if running {
            format!("Remove the running container {name}? It will be killed first.")
        } else {
            format!("Remove the container {name}?")
        };
        if !dom::window()
            .confirm_with_message(&question)
            .unwrap_or(false)
        {
            return;
        }
    }
    let buttons = page.borrow().actions.clone();
    let _ = buttons.set_attribute("aria-busy", "true");
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result: Result<(), ApiError> = match action {
            "start" => api.call(|f| containers::start_request(f, &id)).await,
            "stop" => {
                api.call(|f| containers::stop_request(f, &id, &StopOptions::default()))
                    .await
            }
            "restart" => {
                api.call(|f| containers::restart_request(f, &id, &StopOptions::default()))
                    .await
            }
            "kill" => api.call(|f| containers::kill_request(f, &id, None)).await,
            "pause" => api.call(|f| containers::pause_request(f, &id)).await,
            "unpause" => api.call(|f| containers::unpause_request(f, &id)).await,
            _ => {
                let options = RemoveOptions {
                    force: running,
                    volumes: false,
                };
                api.call(|f| containers::remove_request(f, &id, &options))
                    .await
            }
        };
        let _ = buttons.remove_attribute("aria-busy");
        match result {
            Ok(()) if action == "remove" => {
                app::toast(&format!("Removed {name}"), app::Tone::Info);
                app::navigate("#/containers");
            }
            Ok(()) => {
                // The events stream updates the header too; this makes it immediate.
                let cancel = Canceller::default();
                refresh(&weak, &cancel.token(), false).await;
            }
            Err(err) => app::toast_error(&format!("{} {name}", label(action)), &err),
        }
    });
}

/// Mounts the current tab's view into the body.
fn mount_tab(page: &Rc<RefCell<Page>>) {
    let (api, id, tab, body, v) = {
        let p = page.borrow();
        (
            p.api.clone(),
            p.id.clone(),
            p.tab.clone(),
            p.body.clone(),
            p.inspect.clone().unwrap_or(Value::Null),
        )
    };
    dom::clear(&body);
    let view: Option<Mounted> = match tab.as_str() {
        "logs" => Some(logs::mount(
            &api,
            &body,
            &id,
            &inspect::name(&v),
            inspect::tty(&v),
        )),
        "stats" => Some(stats::mount(&api, &body, &id, &inspect::status(&v))),
        "top" => Some(mount_top(&api, &body, &id)),
        "terminal" => Some(terminal::mount(&api, &body, &id, &inspect::status(&v))),
        "files" => Some(files::mount(&api, &body, &id)),
        _ => None,
    };
    page.borrow_mut().tab_view = view;
    if tab == "info" {
        render_info(page);
    }
}

/// The info tab: the inspect's sections as cards, and the raw JSON behind a toggle.
fn render_info(page: &Rc<RefCell<Page>>) {
    let weak = Rc::downgrade(page);
    let mut p = page.borrow_mut();
    let Some(v) = p.inspect.as_ref() else { return };
    let cards = el("div").class("cards info");
    for section in inspect::sections(v) {
        let card = el("article")
            .class("card")
            .child(el("h2").text(section.title));
        if section.rows.is_empty() {
            let _ = card.0.append_child(&el("p").class("muted").text("None").0);
        } else {
            let list = el("dl");
            for (k, val) in &section.rows {
                let _ = list.0.append_child(&el("dt").text(k).0);
                let _ = list.0.append_child(&el("dd").class("mono").text(val).0);
            }
            let _ = card.0.append_child(&list.0);
        }
        let _ = cards.0.append_child(&card.0);
    }
    let pretty = serde_json::to_string_pretty(v).unwrap_or_default();
    let open = p.raw_open;
    let raw = el("pre")
        .class("raw-json")
        .attr("id", "raw-json")
        .class_if("hidden", !open)
        .text(&pretty);
    let mut listeners = Listeners::default();
    let raw_el = raw.0.clone();
    let toggle = el("button")
        .attr("type", "button")
        .attr("data-action", "raw")
        .attr("aria-controls", "raw-json")
        .attr("aria-expanded", if open { "true" } else { "false" })
        .text("Raw JSON");
    let toggle_el = toggle.0.clone();
    let toggle = toggle.on(&mut listeners, "click", move |_| {
        let open = raw_el
            .class_list()
            .toggle("hidden")
            .is_ok_and(|hidden| !hidden);
        let _ = toggle_el.set_attribute("aria-expanded", if open { "true" } else { "false" });
        if let Some(page) = weak.upgrade() {
            if let Ok(mut p) = page.try_borrow_mut() {
                p.raw_open = open;
            }
        }
    });
    let wrap = el("div")
        .child(cards)
        .child(el("div").class("toolbar raw-toolbar").child(toggle))
        .child(raw);
    dom::replace(&p.body, wrap);
    p.tab_listeners = listeners;
}

/// The processes tab: `docker top`'s table, refreshed on demand.
fn mount_top(api: &Api, body: &Element, id: &str) -> Mounted {
    let mut listeners = Listeners::default();
    let table = el("div").class("top-wrap").attr("aria-live", "polite");
    let target = table.0.clone();
    let (api2, id2) = (api.clone(), id.to_owned());
    let refresh = el("button")
        .attr("type", "button")
        .attr("data-action", "refresh")
        .text("Refresh")
        .on(&mut listeners, "click", move |_| {
            load_top(&api2, &id2, &target)
        });
    let _ = body.append_child(&el("div").class("toolbar").child(refresh).0);
    let _ = body.append_child(&table.0);
    load_top(api, id, &table.0);
    Box::new(listeners)
}

fn load_top(api: &Api, id: &str, target: &Element) {
    let (api, id, target) = (api.clone(), id.to_owned(), target.clone());
    let _ = target.set_attribute("aria-busy", "true");
    wasm_bindgen_futures::spawn_local(async move {
        let answer = api.call(|f| containers::top_request(f, &id, None)).await;
        let _ = target.remove_attribute("aria-busy");
        let top = match answer {
            Ok(top) => top,
            Err(err) => {
                dom::replace(&target, el("p").class("error").text(&err.message));
                return;
            }
        };
        let titles = top.titles.unwrap_or_default();
        let head = el("tr");
        for t in &titles {
            let _ = head
                .0
                .append_child(&el("th").attr("scope", "col").text(t).0);
        }
        let rows = el("tbody");
        for process in top.processes.unwrap_or_default() {
            let row = el("tr");
            for (i, cell) in process.iter().enumerate() {
                let wide = titles.get(i).is_some_and(|t| t == "CMD" || t == "COMMAND");
                let _ = row
                    .0
                    .append_child(&el("td").class_if("cmd", wide).text(cell).0);
            }
            let _ = rows.0.append_child(&row.0);
        }
        let table = el("table")
            .class("top")
            .child(el("thead").child(head))
            .child(rows);
        dom::replace(&target, table);
    });
}
