//! The audit log (admins): who changed what, newest first, filtered on the daemon by identity, method,
//! path and status (`/wharf/v1/audit`).

use std::cell::RefCell;
use std::rc::Rc;

use web_sys::Element;
use wharf_client_core::api::wharf::{audit_request, AuditQuery, AuditRecord};

use crate::api::Api;
use crate::app::{self, Mounted};
use crate::dom::{self, el, Listeners};

struct State {
    api: Api,
    rows: Element,
    status: Element,
    fields: Vec<(&'static str, Element)>,
    /// Bumped by each load: an older answer arriving late is dropped.
    generation: u32,
    _listeners: Listeners,
}

pub fn mount(api: &Api, main: &Element) -> Mounted {
    let mut listeners = Listeners::default();
    let field = |name: &'static str, placeholder: &str| {
        el("input")
            .attr("name", name)
            .attr("aria-label", name)
            .attr("placeholder", placeholder)
    };
    let identity = field("identity", "identity (token:alice)");
    let method = field("method", "method");
    let path = field("path", "path contains… (/)").attr("data-filter", "");
    let status = field("status", "status (403, 4xx)");
    let note = el("span").class("muted").attr("role", "status");
    let rows = el("div").attr("role", "rowgroup");
    let form = el("form")
        .class("toolbar")
        .child(&identity)
        .child(&method)
        .child(&path)
        .child(&status)
        .child(el("button").attr("type", "submit").text("Filter"))
        .child(&note);
    let state = Rc::new(RefCell::new(State {
        api: api.clone(),
        rows: rows.0.clone(),
        status: note.0.clone(),
        fields: vec![
            ("identity", identity.0.clone()),
            ("method", method.0.clone()),
            ("path", path.0.clone()),
            ("status", status.0.clone()),
        ],
        generation: 0,
        _listeners: Listeners::default(),
    }));
    let weak = Rc::downgrade(&state);
    let form = form.on(&mut listeners, "submit", move |event| {
        event.prevent_default();
        if let Some(state) = weak.upgrade() {
            load(&state);
        }
    });
    let table = el("div")
        .class("table")
        .attr("role", "table")
        .attr("aria-label", "Audit log")
        .child(
            el("div")
                .class("head audit-grid")
                .attr("role", "row")
                .children(
                    ["Time", "Identity", "Request", "Status"]
                        .iter()
                        .map(|h| el("div").class("cell").attr("role", "columnheader").text(h)),
                ),
        )
        .child(el("div").class("scroll").child(&rows));
    let page = app::page("Audit log").child(form).child(table);
    let _ = main.append_child(&page.0);
    state.borrow_mut()._listeners = listeners;
    load(&state);
    Box::new(state)
}

fn load(state: &Rc<RefCell<State>>) {
    let (api, query, generation) = {
        let mut s = state.borrow_mut();
        s.generation += 1;
        let get = |name: &str| {
            s.fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, e)| dom::value(e).trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let query = AuditQuery {
            identity: get("identity"),
            method: get("method"),
            path: get("path"),
            status: get("status"),
            limit: Some(500),
            ..AuditQuery::default()
        };
        s.status.set_text_content(Some("Loading…"));
        (s.api.clone(), query, s.generation)
    };
    let weak = Rc::downgrade(state);
    wasm_bindgen_futures::spawn_local(async move {
        let result = api.call(|f| Ok(audit_request(f, &query))).await;
        let Some(state) = weak.upgrade() else { return };
        let s = state.borrow();
        if s.generation != generation {
            return;
        }
        dom::clear(&s.rows);
        match result {
            Ok(records) => {
                s.status
                    .set_text_content(Some(&format!("{} records", records.len())));
                for record in &records {
                    let _ = s.rows.append_child(&row(record).0);
                }
            }
            Err(err) => s.status.set_text_content(Some(&err.message)),
        }
    });
}

fn row(record: &AuditRecord) -> dom::El {
    let who = match &record.role {
        Some(role) => format!("{} ({role})", record.identity),
        None => record.identity.clone(),
    };
    el("div")
        .class("row audit-grid")
        .class_if("refused", record.status >= 400)
        .attr("role", "row")
        .child(
            el("div")
                .class("cell mono")
                .attr("title", &record.time)
                .text(&record.time),
        )
        .child(el("div").class("cell").attr("title", &who).text(&who))
        .child(
            el("div")
                .class("cell mono")
                .attr("title", &record.path)
                .text(&format!("{} {}", record.method, record.path)),
        )
        .child(el("div").class("cell").text(&record.status.to_string()))
}
