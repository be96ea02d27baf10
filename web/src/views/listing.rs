//! The frame the list pages share (images, networks, volumes, a container's files): the filter box that
//! `/` focuses, and the table with its head, whose columns `hide-narrow` drops on a phone.

use web_sys::Element;

use crate::dom::{el, El, Listeners};

/// A search box calling `changed` with its text, trimmed and lower-cased, as the user types.
pub fn filter(
    listeners: &mut Listeners,
    placeholder: &str,
    label: &str,
    changed: impl Fn(String) + 'static,
) -> El {
    let input = el("input")
        .attr("type", "search")
        .attr("placeholder", placeholder)
        .attr("aria-label", label)
        .attr("data-filter", "");
    let field = input.input();
    input.on(listeners, "input", move |_| {
        changed(field.value().trim().to_lowercase());
    })
}

/// A table named `label` whose rows use the grid class `grid`: its head of `headers` (those at the
/// indexes in `narrow` hidden on a phone), then `rows`.
pub fn table(label: &str, grid: &str, headers: &[&str], narrow: &[usize], rows: &Element) -> El {
    let head = el("div")
        .class(&format!("head {grid}"))
        .attr("role", "row")
        .children(headers.iter().enumerate().map(|(i, h)| {
            el("div")
                .class("cell")
                .class_if("hide-narrow", narrow.contains(&i))
                .attr("role", "columnheader")
                .text(h)
        }));
    el("div")
        .class("table")
        .attr("role", "table")
        .attr("aria-label", label)
        .child(head)
        .child(rows)
}
