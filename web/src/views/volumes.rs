//! Volumes: the list (filter, create with labels and the local driver's options, remove, prune unused
//! ones) and a volume's page (its settings and raw JSON).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::Value;
use web_sys::Element;
use wharf_client_core::api::volumes;
use wharf_client_core::models::VolumeCreateOptions;
use wharf_client_core::Filters;

use crate::api::Api;
use crate::app::{self, Mounted, Tone};
use crate::dom::{self, el, Listeners};
use crate::views::resources::{self, parse_pairs, VolumeRow};
use crate::views::{format, listing};

struct State {
    api: Api,
    volumes: Vec<VolumeRow>,
    filter: String,
    rows: Element,
    listeners: Listeners,
    row_listeners: Listeners,
}

/// The list at `#/volumes`.
pub fn mount(api: &Api, main: &Element) -> Mounted {
    let rows = el("div").class("rows").attr("role", "rowgroup");
    let state = Rc::new(RefCell::new(State {
        api: api.clone(),
        volumes: Vec::new(),
        filter: String::new(),
        rows: rows.0.clone(),
        listeners: Listeners::default(),
        row_listeners: Listeners::default(),
    }));
    let mut listeners = Listeners::default();
    let weak = Rc::downgrade(&state);
    let filter = listing::filter(
        &mut listeners,
        "Filter by name, driver or label  (/)",
        "Filter volumes",
        move |text| {
            if let Some(state) = weak.upgrade() {
                state.borrow_mut().filter = text;
                render(&state);
            }
        },
    );
    let mut page = app::page("Volumes").child(el("div").class("toolbar").child(filter));
    if api.role.can_operate() {
        page = page.child(create_form(&state, &mut listeners));
    }
    let table = listing::table(
        "Volumes",
        "volumes-grid",
        &["Name", "Driver", "Labels", "Created", ""],
        &[1, 3],
        &rows.0,
    );
    let _ = main.append_child(&page.child(table).0);
    state.borrow_mut().listeners = listeners;
    reload(Rc::downgrade(&state));
    Box::new(state)
}

fn create_form(state: &Rc<RefCell<State>>, listeners: &mut Listeners) -> dom::El {
    let field = |id: &str, label: &str, placeholder: &str| {
        let input = el("input").attr("id", id).attr("placeholder", placeholder);
        (el("label").attr("for", id).text(label), input)
    };
    let (name_label, name) = field("volume-name", "Name (empty: a random one)", "data");
    let (labels_label, labels) = field("volume-labels", "Labels (optional)", "app=shop, tier=db");
    let (options_label, options) = field(
        "volume-options",
        "Driver options (optional)",
        "type=tmpfs, device=tmpfs, o=size=64m",
    );
    let inputs = (name.input(), labels.input(), options.input());
    let weak = Rc::downgrade(state);
    let form = el("form")
        .class("form-grid")
        .child(el("div").child(name_label).child(name))
        .child(el("div").child(labels_label).child(labels))
        .child(el("div").child(options_label).child(options))
        .child(
            el("div").class("actions").child(
                el("button")
                    .class("primary")
                    .attr("type", "submit")
                    .attr("data-action", "create-volume")
                    .text("Create"),
            ),
        )
        .on(listeners, "submit", move |event| {
            event.prevent_default();
            let (name, labels, options) = &inputs;
            let labels = match parse_pairs(&labels.value()) {
                Ok(l) => l,
                Err(e) => return app::toast(&format!("Labels: {e}"), Tone::Error),
            };
            // Options hold `o=size=64m`: only the first `=` splits, and commas inside `o=` values
            // would split it, so options are one per comma-separated entry as the CLI's `--opt`s.
            let options = match parse_pairs(&options.value()) {
                Ok(o) => o,
                Err(e) => return app::toast(&format!("Options: {e}"), Tone::Error),
            };
            let name_value = name.value().trim().to_owned();
            let body = VolumeCreateOptions {
                name: (!name_value.is_empty()).then_some(name_value),
                driver: Some("local".to_owned()),
                driver_opts: (!options.is_empty()).then_some(options),
                labels: (!labels.is_empty()).then_some(labels),
                ..VolumeCreateOptions::default()
            };
            create(weak.clone(), body, name.clone());
        });
    let weak = Rc::downgrade(state);
    let prune = el("button")
        .class("danger")
        .attr("type", "button")
        .attr("data-action", "prune-volumes")
        .text("Prune unused volumes")
        .on(listeners, "click", move |_| prune_volumes(weak.clone()));
    el("details")
        .class("card")
        .child(el("summary").text("Create a volume, prune"))
        .child(form)
        .child(el("div").class("actions").child(prune))
}

fn create(state: Weak<RefCell<State>>, body: VolumeCreateOptions, name: web_sys::HtmlInputElement) {
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        match api.call(|f| volumes::create_request(f, &body)).await {
            Ok(volume) => {
                app::toast(&format!("Created volume {}", volume.name), Tone::Info);
                name.set_value("");
                reload(state);
            }
            Err(err) => app::toast_error("Create volume", &err),
        }
    });
}

fn prune_volumes(state: Weak<RefCell<State>>) {
    if !dom::confirm("Remove every volume no container uses? Their data is lost.") {
        return;
    }
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        // `all`: named volumes too, as the button says (API 1.42's filter; 1.41 daemons prune all).
        let mut filters = Filters::new();
        filters.add("all", "true");
        match api.call(|f| Ok(volumes::prune_request(f, &filters))).await {
            Ok(pruned) => {
                let n = pruned.volumes_deleted.map_or(0, |d| d.len());
                let space = format::bytes(pruned.space_reclaimed.unwrap_or(0));
                app::toast(
                    &format!("Pruned {n} volumes, {space} reclaimed"),
                    Tone::Info,
                );
                reload(state);
            }
            Err(err) => app::toast_error("Prune volumes", &err),
        }
    });
}

fn reload(state: Weak<RefCell<State>>) {
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let result = api
            .call(|f| Ok(volumes::list_request(f, &Filters::new()).expecting::<Value>()))
            .await;
        let Some(state) = state.upgrade() else { return };
        match result {
            Ok(list) => {
                state.borrow_mut().volumes = resources::volumes(&list);
                render(&state);
            }
            Err(err) => {
                let rows = state.borrow().rows.clone();
                dom::replace(&rows, el("p").class("error").text(&err.message));
            }
        }
    });
}

fn render(state: &Rc<RefCell<State>>) {
    let mut listeners = Listeners::default();
    let (rows, api, shown) = {
        let s = state.borrow();
        let shown: Vec<VolumeRow> = s
            .volumes
            .iter()
            .filter(|v| v.matches(&s.filter))
            .cloned()
            .collect();
        (s.rows.clone(), s.api.clone(), shown)
    };
    dom::clear(&rows);
    if shown.is_empty() {
        let _ = rows.append_child(&el("p").class("empty").text("No volumes.").0);
    }
    for volume in shown {
        let actions = el("div").class("cell actions-cell");
        if api.role.can_operate() {
            let weak = Rc::downgrade(state);
            let name = volume.name.clone();
            let remove = el("button")
                .class("small danger")
                .attr("type", "button")
                .attr("data-action", "remove-volume")
                .attr("aria-label", &format!("Remove volume {name}"))
                .text("Remove")
                .on(&mut listeners, "click", move |_| {
                    remove(weak.clone(), &name)
                });
            let _ = actions.0.append_child(&remove.0);
        }
        let href = format!("#/volumes/{}", app::encode(&volume.name));
        let labels = volume.labels.join(", ");
        let row = el("div")
            .class("row volumes-grid")
            .attr("role", "row")
            .attr("data-volume", &volume.name)
            .child(
                el("div").class("cell mono").child(
                    el("a")
                        .attr("href", &href)
                        .attr("title", &volume.name)
                        .text(&volume.name),
                ),
            )
            .child(el("div").class("cell hide-narrow").text(&volume.driver))
            .child(el("div").class("cell").attr("title", &labels).text(&labels))
            .child(el("div").class("cell hide-narrow").text(&volume.created))
            .child(actions);
        let _ = rows.append_child(&row.0);
    }
    state.borrow_mut().row_listeners = listeners;
}

fn remove(state: Weak<RefCell<State>>, name: &str) {
    if !dom::confirm(&format!("Remove volume {name}? Its data is lost.")) {
        return;
    }
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    let name = name.to_owned();
    wasm_bindgen_futures::spawn_local(async move {
        match api.call(|f| volumes::remove_request(f, &name, false)).await {
            Ok(()) => {
                app::toast(&format!("Removed volume {name}"), Tone::Info);
                reload(state);
            }
            Err(err) => app::toast_error("Remove volume", &err),
        }
    });
}

/// A volume's page at `#/volumes/<name>`.
pub fn mount_one(api: &Api, main: &Element, name: &str) -> Mounted {
    let body = el("div").attr("aria-busy", "true");
    let _ = main.append_child(&app::page("Volume").child(body.clone()).0);
    let (api, name, target) = (api.clone(), name.to_owned(), body.0.clone());
    let alive = Rc::new(());
    let weak = Rc::downgrade(&alive);
    wasm_bindgen_futures::spawn_local(async move {
        let result = api
            .call(|f| volumes::inspect_request(f, &name).map(|r| r.expecting::<Value>()))
            .await;
        if weak.upgrade().is_none() {
            return;
        }
        let _ = target.remove_attribute("aria-busy");
        let volume = match result {
            Ok(v) => v,
            Err(err) => {
                dom::replace(&target, el("p").class("error").text(&err.message));
                return;
            }
        };
        let row = VolumeRow::of(&volume);
        let list = el("dl");
        for (label, value) in [
            ("Name", row.name.clone()),
            ("Driver", row.driver.clone()),
            ("Mount point", row.mountpoint.clone()),
            ("Created", row.created.clone()),
            ("Labels", row.labels.join("\n")),
            ("Options", row.options.join("\n")),
        ] {
            let _ = list.0.append_child(&el("dt").text(label).0);
            let _ = list
                .0
                .append_child(&el("dd").class("pre-line").text(&value).0);
        }
        let raw = serde_json::to_string_pretty(&volume).unwrap_or_default();
        dom::clear(&target);
        let _ = target.append_child(&el("article").class("card").child(list).0);
        let _ = target.append_child(
            &el("details")
                .child(el("summary").text("Raw JSON"))
                .child(el("pre").text(&raw))
                .0,
        );
    });
    Box::new(alive)
}
