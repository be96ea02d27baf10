//! What the user does in the table: sort, select, and act on a row or on the selection. An action's
//! effect shows when its event comes back; a refusal shows the daemon's message.

use std::cell::RefCell;
use std::rc::Weak;

use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlInputElement};
use wharf_client_core::api::containers::{self, RemoveOptions, StopOptions};

use super::{schedule_render, with, State};
use crate::api::{Api, ApiError};
use crate::app;
use crate::dom;
use crate::views::table_model::{actions_for, remove_needs_force, Action, Row, SortKey};

fn target_element(event: &Event) -> Option<Element> {
    event.target()?.dyn_into::<Element>().ok()
}

pub(super) fn on_click(weak: &Weak<RefCell<State>>, event: &Event) {
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
        if !dom::confirm(&question) {
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

pub(super) fn on_change(weak: &Weak<RefCell<State>>, event: &Event) {
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

pub(super) fn on_bulk(weak: &Weak<RefCell<State>>, event: &Event) {
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
        if !dom::confirm(&question) {
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
