//! Networks: the list (filter, create a bridge network with its subnet, gateway and labels, remove,
//! prune), and a network's page (its settings, the containers attached with their addresses, connect and
//! disconnect a container).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use serde_json::Value;
use web_sys::Element;
use wharf_client_core::api::networks;
use wharf_client_core::models::{
    Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest, NetworkDisconnectRequest,
};
use wharf_client_core::Filters;

use crate::api::Api;
use crate::app::{self, Mounted, Tone};
use crate::dom::{self, el, Listeners};
use crate::views::listing;
use crate::views::resources::{attached, parse_pairs, NetworkRow};

struct State {
    api: Api,
    networks: Vec<NetworkRow>,
    filter: String,
    rows: Element,
    listeners: Listeners,
    row_listeners: Listeners,
}

/// The list at `#/networks`.
pub fn mount(api: &Api, main: &Element) -> Mounted {
    let rows = el("div").class("rows").attr("role", "rowgroup");
    let state = Rc::new(RefCell::new(State {
        api: api.clone(),
        networks: Vec::new(),
        filter: String::new(),
        rows: rows.0.clone(),
        listeners: Listeners::default(),
        row_listeners: Listeners::default(),
    }));
    let mut listeners = Listeners::default();
    let weak = Rc::downgrade(&state);
    let filter = listing::filter(
        &mut listeners,
        "Filter by name, ID or subnet  (/)",
        "Filter networks",
        move |text| {
            if let Some(state) = weak.upgrade() {
                state.borrow_mut().filter = text;
                render(&state);
            }
        },
    );
    let mut page = app::page("Networks").child(el("div").class("toolbar").child(filter));
    if api.role.can_operate() {
        page = page.child(create_form(&state, &mut listeners));
    }
    let table = listing::table(
        "Networks",
        "networks-grid",
        &["Name", "Driver", "Subnet", "Gateway", ""],
        &[1, 3],
        &rows.0,
    );
    let _ = main.append_child(&page.child(table).0);
    state.borrow_mut().listeners = listeners;
    reload(Rc::downgrade(&state));
    Box::new(state)
}

/// The create form and the prune button (operators and admins).
fn create_form(state: &Rc<RefCell<State>>, listeners: &mut Listeners) -> dom::El {
    let field = |id: &str, label: &str, placeholder: &str| {
        let input = el("input").attr("id", id).attr("placeholder", placeholder);
        (el("label").attr("for", id).text(label), input)
    };
    let (name_label, name) = field("network-name", "Name", "backend");
    let (subnet_label, subnet) = field("network-subnet", "Subnet (optional)", "10.20.0.0/24");
    let (gateway_label, gateway) = field("network-gateway", "Gateway (optional)", "10.20.0.1");
    let (labels_label, labels) = field("network-labels", "Labels (optional)", "app=shop, tier=db");
    let internal = el("input")
        .attr("type", "checkbox")
        .attr("id", "network-internal");
    let inputs = (
        name.input(),
        subnet.input(),
        gateway.input(),
        labels.input(),
        internal.input(),
    );
    let weak = Rc::downgrade(state);
    let form = el("form")
        .class("form-grid")
        .child(el("div").child(name_label).child(name))
        .child(el("div").child(subnet_label).child(subnet))
        .child(el("div").child(gateway_label).child(gateway))
        .child(el("div").child(labels_label).child(labels))
        .child(
            el("div").child(
                el("label")
                    .class("check")
                    .child(internal)
                    .child(el("span").text("Internal (no way out)")),
            ),
        )
        .child(
            el("div").class("actions").child(
                el("button")
                    .class("primary")
                    .attr("type", "submit")
                    .attr("data-action", "create-network")
                    .text("Create"),
            ),
        )
        .on(listeners, "submit", move |event| {
            event.prevent_default();
            let (name, subnet, gateway, labels, internal) = &inputs;
            let labels = match parse_pairs(&labels.value()) {
                Ok(l) => l,
                Err(e) => return app::toast(&format!("Labels: {e}"), Tone::Error),
            };
            let text = |i: &web_sys::HtmlInputElement| {
                let v = i.value().trim().to_owned();
                (!v.is_empty()).then_some(v)
            };
            let (subnet, gateway) = (text(subnet), text(gateway));
            let ipam = (subnet.is_some() || gateway.is_some()).then(|| Ipam {
                config: Some(vec![IpamConfig {
                    subnet,
                    gateway,
                    ..IpamConfig::default()
                }]),
                ..Ipam::default()
            });
            let body = NetworkCreateRequest {
                name: name.value().trim().to_owned(),
                driver: Some("bridge".to_owned()),
                internal: Some(internal.checked()),
                ipam,
                labels: (!labels.is_empty()).then_some(labels),
                ..NetworkCreateRequest::default()
            };
            create(weak.clone(), body, name.clone());
        });
    let weak = Rc::downgrade(state);
    let prune = el("button")
        .class("danger")
        .attr("type", "button")
        .attr("data-action", "prune-networks")
        .text("Prune unused networks")
        .on(listeners, "click", move |_| prune_networks(weak.clone()));
    el("details")
        .class("card")
        .child(el("summary").text("Create a network, prune"))
        .child(form)
        .child(el("div").class("actions").child(prune))
}

fn create(
    state: Weak<RefCell<State>>,
    body: NetworkCreateRequest,
    name: web_sys::HtmlInputElement,
) {
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        match api.call(|f| networks::create_request(f, &body)).await {
            Ok(created) => {
                let note = if created.warning.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", created.warning)
                };
                app::toast(&format!("Created network {}{note}", body.name), Tone::Info);
                name.set_value("");
                reload(state);
            }
            Err(err) => app::toast_error("Create network", &err),
        }
    });
}

fn prune_networks(state: Weak<RefCell<State>>) {
    if !dom::confirm("Remove every network no container uses?") {
        return;
    }
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        match api
            .call(|f| Ok(networks::prune_request(f, &Filters::new())))
            .await
        {
            Ok(pruned) => {
                let gone = pruned.networks_deleted.unwrap_or_default();
                app::toast(&format!("Pruned {} networks", gone.len()), Tone::Info);
                reload(state);
            }
            Err(err) => app::toast_error("Prune networks", &err),
        }
    });
}

fn reload(state: Weak<RefCell<State>>) {
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let result = api
            .call(|f| Ok(networks::list_request(f, &Filters::new()).expecting::<Value>()))
            .await;
        let Some(state) = state.upgrade() else { return };
        match result {
            Ok(list) => {
                let mut rows: Vec<NetworkRow> = list
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(NetworkRow::of)
                    .collect();
                rows.sort_by(|a, b| a.name.cmp(&b.name));
                state.borrow_mut().networks = rows;
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
        let shown: Vec<NetworkRow> = s
            .networks
            .iter()
            .filter(|n| n.matches(&s.filter))
            .cloned()
            .collect();
        (s.rows.clone(), s.api.clone(), shown)
    };
    dom::clear(&rows);
    if shown.is_empty() {
        let _ = rows.append_child(&el("p").class("empty").text("No networks.").0);
    }
    for network in shown {
        let actions = el("div").class("cell actions-cell");
        if api.role.can_operate() && !network.predefined {
            let weak = Rc::downgrade(state);
            let (id, name) = (network.id.clone(), network.name.clone());
            let remove = el("button")
                .class("small danger")
                .attr("type", "button")
                .attr("data-action", "remove-network")
                .attr("aria-label", &format!("Remove network {name}"))
                .text("Remove")
                .on(&mut listeners, "click", move |_| {
                    remove(weak.clone(), &id, &name);
                });
            let _ = actions.0.append_child(&remove.0);
        }
        let href = format!("#/networks/{}", app::encode(&network.id));
        let name = if network.internal {
            format!("{} (internal)", network.name)
        } else {
            network.name.clone()
        };
        let row = el("div")
            .class("row networks-grid")
            .attr("role", "row")
            .attr("data-network", &network.name)
            .child(
                el("div")
                    .class("cell")
                    .child(el("a").attr("href", &href).text(&name)),
            )
            .child(el("div").class("cell hide-narrow").text(&network.driver))
            .child(el("div").class("cell mono").text(&network.subnet))
            .child(
                el("div")
                    .class("cell mono hide-narrow")
                    .text(&network.gateway),
            )
            .child(actions);
        let _ = rows.append_child(&row.0);
    }
    state.borrow_mut().row_listeners = listeners;
}

fn remove(state: Weak<RefCell<State>>, id: &str, name: &str) {
    if !dom::confirm(&format!("Remove network {name}?")) {
        return;
    }
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    let (id, name) = (id.to_owned(), name.to_owned());
    wasm_bindgen_futures::spawn_local(async move {
        match api.call(|f| networks::remove_request(f, &id)).await {
            Ok(()) => {
                app::toast(&format!("Removed network {name}"), Tone::Info);
                reload(state);
            }
            Err(err) => app::toast_error("Remove network", &err),
        }
    });
}

/// A network's page at `#/networks/<id>`.
struct One {
    api: Api,
    id: String,
    body: Element,
    listeners: Listeners,
}

pub fn mount_one(api: &Api, main: &Element, id: &str) -> Mounted {
    let body = el("div").attr("aria-busy", "true");
    let _ = main.append_child(&app::page("Network").child(body.clone()).0);
    let one = Rc::new(RefCell::new(One {
        api: api.clone(),
        id: id.to_owned(),
        body: body.0,
        listeners: Listeners::default(),
    }));
    load_one(Rc::downgrade(&one));
    Box::new(one)
}

fn load_one(one: Weak<RefCell<One>>) {
    let Some((api, id)) = one.upgrade().map(|o| {
        let o = o.borrow();
        (o.api.clone(), o.id.clone())
    }) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let result = api
            .call(|f| networks::inspect_request(f, &id).map(|r| r.expecting::<Value>()))
            .await;
        let Some(one) = one.upgrade() else { return };
        let body = one.borrow().body.clone();
        let _ = body.remove_attribute("aria-busy");
        match result {
            Ok(network) => show_one(&one, &network),
            Err(err) => dom::replace(&body, el("p").class("error").text(&err.message)),
        }
    });
}

fn show_one(one: &Rc<RefCell<One>>, network: &Value) {
    let mut listeners = Listeners::default();
    let row = NetworkRow::of(network);
    let (api, body) = {
        let o = one.borrow();
        (o.api.clone(), o.body.clone())
    };
    let list = el("dl");
    let labels = network["Labels"]
        .as_object()
        .map(|m| {
            let mut l: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            l.sort();
            l.join("\n")
        })
        .unwrap_or_default();
    for (label, value) in [
        ("Name", row.name.clone()),
        ("ID", row.id.clone()),
        ("Driver", row.driver.clone()),
        ("Subnet", row.subnet.clone()),
        ("Gateway", row.gateway.clone()),
        (
            "Internal",
            if row.internal { "yes" } else { "no" }.to_owned(),
        ),
        ("Created", row.created.clone()),
        ("Labels", labels),
    ] {
        let _ = list.0.append_child(&el("dt").text(label).0);
        let _ = list
            .0
            .append_child(&el("dd").class("pre-line").text(&value).0);
    }
    let table = el("div")
        .class("table")
        .attr("role", "table")
        .attr("aria-label", "Attached containers")
        .child(
            el("div")
                .class("head attached-grid")
                .attr("role", "row")
                .children(
                    ["Container", "IPv4", "MAC", ""]
                        .map(|h| el("div").class("cell").attr("role", "columnheader").text(h)),
                ),
        );
    let containers = attached(network);
    if containers.is_empty() {
        let _ = table
            .0
            .append_child(&el("p").class("empty").text("No containers attached.").0);
    }
    let can_operate = api.role.can_operate() && !row.predefined;
    for c in &containers {
        let actions = el("div").class("cell actions-cell");
        if can_operate {
            let weak = Rc::downgrade(one);
            let container = c.id.clone();
            let button = el("button")
                .class("small")
                .attr("type", "button")
                .attr("data-action", "disconnect")
                .attr("aria-label", &format!("Disconnect {}", c.name))
                .text("Disconnect")
                .on(&mut listeners, "click", move |_| {
                    attach(weak.clone(), &container, false);
                });
            let _ = actions.0.append_child(&button.0);
        }
        let line = el("div")
            .class("row attached-grid")
            .attr("role", "row")
            .child(
                el("div").class("cell").child(
                    el("a")
                        .attr("href", &app::container_href(&c.id, "info"))
                        .text(&c.name),
                ),
            )
            .child(el("div").class("cell mono").text(&c.ipv4))
            .child(el("div").class("cell mono").text(&c.mac))
            .child(actions);
        let _ = table.0.append_child(&line.0);
    }
    dom::clear(&body);
    let _ = body.append_child(&el("article").class("card").child(list).0);
    let _ = body.append_child(&el("h2").text("Containers").0);
    let _ = body.append_child(&table.0);
    if can_operate {
        let input = el("input")
            .attr("id", "connect-container")
            .attr("placeholder", "container name or ID");
        let field = input.input();
        let weak = Rc::downgrade(one);
        let form = el("form")
            .class("toolbar")
            .child(
                el("label")
                    .attr("for", "connect-container")
                    .text("Connect a container"),
            )
            .child(input)
            .child(
                el("button")
                    .attr("type", "submit")
                    .attr("data-action", "connect")
                    .text("Connect"),
            )
            .on(&mut listeners, "submit", move |event| {
                event.prevent_default();
                let target = field.value().trim().to_owned();
                if !target.is_empty() {
                    attach(weak.clone(), &target, true);
                }
            });
        let _ = body.append_child(&form.0);
    }
    let raw = serde_json::to_string_pretty(network).unwrap_or_default();
    let _ = body.append_child(
        &el("details")
            .child(el("summary").text("Raw JSON"))
            .child(el("pre").text(&raw))
            .0,
    );
    one.borrow_mut().listeners = listeners;
}

/// Connects (`connect`) or disconnects the container `target` to or from the page's network.
fn attach(one: Weak<RefCell<One>>, target: &str, connect: bool) {
    let Some((api, id)) = one.upgrade().map(|o| {
        let o = o.borrow();
        (o.api.clone(), o.id.clone())
    }) else {
        return;
    };
    let target = target.to_owned();
    wasm_bindgen_futures::spawn_local(async move {
        let result = if connect {
            let body = NetworkConnectRequest {
                container: Some(target.clone()),
                ..NetworkConnectRequest::default()
            };
            api.call(|f| networks::connect_request(f, &id, &body)).await
        } else {
            let body = NetworkDisconnectRequest {
                container: Some(target.clone()),
                ..NetworkDisconnectRequest::default()
            };
            api.call(|f| networks::disconnect_request(f, &id, &body))
                .await
        };
        let what = if connect { "Connect" } else { "Disconnect" };
        match result {
            Ok(()) => {
                app::toast(&format!("{what}ed {target}"), Tone::Info);
                load_one(one);
            }
            Err(err) => app::toast_error(what, &err),
        }
    });
}
