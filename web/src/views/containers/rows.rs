//! Rendering: only the rows in view, each rebuilt only when its revision, selection or minute changed,
//! kept in DOM order (so that Tab walks them as shown) with the focus carried over a rebuild; and the
//! counts, messages, selection bar and sort marks around them.

use std::collections::HashSet;

use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

use super::{now_secs, Rendered, State, OVERSCAN, ROW_HEIGHT};
use crate::app;
use crate::dom::{self, el};
use crate::views::format;
use crate::views::table_model::{actions_for, Action, Row};
use crate::views::window;

fn set_px(element: &HtmlElement, property: &str, value: f64) {
    let _ = element
        .style()
        // Whole pixels, as integers: formatting an f64 would bring core's float printing (~10 KiB).
        .set_property(property, &format!("{}px", value.round() as i64));
}

/// Renders the rows in view (building only those that changed) and the counts around the table.
pub(super) fn render(s: &mut State) {
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
