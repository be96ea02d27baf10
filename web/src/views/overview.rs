//! The overview: what the daemon is (version, host), how much it holds (containers by state, images,
//! disk use as `docker system df` counts it) and where it listens.

use std::rc::Rc;

use serde_json::Value;
use wharf_client_core::api::system;

use crate::api::{Api, ApiError};
use crate::app::{self, Mounted};
use crate::dom::{self, el, El};
use crate::views::format;

/// The view's guard: nothing to stop, the page is loaded once.
struct Overview;

pub fn mount(api: &Api, main: &web_sys::Element) -> Mounted {
    let page = app::page("Overview");
    let body = el("div").class("cards").attr("aria-busy", "true");
    let _ = page.0.append_child(&body.0);
    let _ = main.append_child(&page.0);
    let api = api.clone();
    let target = body.0.clone();
    wasm_bindgen_futures::spawn_local(async move {
        match load(&api).await {
            Ok(cards) => {
                dom::clear(&target);
                for card in cards {
                    let _ = target.append_child(&card.0);
                }
            }
            Err(err) => dom::replace(&target, el("p").class("error").text(&err.message)),
        }
        let _ = target.remove_attribute("aria-busy");
    });
    Box::new(Rc::new(Overview))
}

/// A card: a title and rows of label and value.
fn card(title: &str, rows: &[(&str, String)]) -> El {
    let list = el("dl");
    for (label, value) in rows {
        let _ = list.0.append_child(&el("dt").text(label).0);
        let _ = list.0.append_child(&el("dd").text(value).0);
    }
    el("article")
        .class("card")
        .child(el("h2").text(title))
        .child(list)
}

async fn load(api: &Api) -> Result<Vec<El>, ApiError> {
    // As JSON values: the console shows a few fields of each, and the models' decoders of these large
    // answers would weigh more in the download than the page itself.
    let version = api
        .call(|f| Ok(system::version_request(f).expecting::<Value>()))
        .await?;
    let info = api
        .call(|f| Ok(system::info_request(f).expecting::<Value>()))
        .await?;
    let df = api
        .call(|f| Ok(system::df_request(f).expecting::<Value>()))
        .await?;
    let daemon = api
        .call(|f| Ok(wharf_client_core::api::wharf::daemon_request(f)))
        .await?;
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "—".to_owned(),
    };
    let int = |v: &Value| v.as_i64().unwrap_or(0);

    let engine = card(
        "Engine",
        &[
            ("Version", text(&version["Version"])),
            ("API", text(&version["ApiVersion"])),
            (
                "OS / arch",
                format!("{} / {}", text(&version["Os"]), text(&version["Arch"])),
            ),
            ("Kernel", text(&info["KernelVersion"])),
            ("Host", text(&info["Name"])),
            ("CPUs", text(&info["NCPU"])),
            (
                "Memory",
                format::mebibytes(int(&info["MemTotal"]).max(0) as u64),
            ),
        ],
    );
    let containers = card(
        "Containers",
        &[
            ("All", text(&info["Containers"])),
            ("Running", text(&info["ContainersRunning"])),
            ("Paused", text(&info["ContainersPaused"])),
            ("Stopped", text(&info["ContainersStopped"])),
        ],
    )
    .child(
        el("a")
            .attr("href", "#/containers")
            .text("All containers →"),
    );

    let none = Vec::new();
    let images = df["Images"].as_array().unwrap_or(&none);
    let image_size: i64 = images.iter().map(|i| int(&i["Size"])).sum();
    let writable: i64 = df["Containers"]
        .as_array()
        .unwrap_or(&none)
        .iter()
        .map(|c| int(&c["SizeRw"]))
        .sum();
    let disk = card(
        "Disk use",
        &[
            (
                "Images",
                format!("{} ({})", images.len(), format::bytes(image_size)),
            ),
            ("Layers", format::bytes(int(&df["LayersSize"]))),
            ("Containers' writable layers", format::bytes(writable)),
            ("Data root", text(&info["DockerRootDir"])),
        ],
    )
    .child(el("a").attr("href", "#/images").text("All images →"));

    let listeners = el("ul").class("plain");
    for listener in &daemon.listeners {
        let mut how = Vec::new();
        if listener.tls {
            how.push("TLS");
        }
        if listener.client_certs {
            how.push("client certificates");
        }
        if listener.token_required {
            how.push("tokens");
        }
        let line = if how.is_empty() {
            listener.address.clone()
        } else {
            format!("{} ({})", listener.address, how.join(", "))
        };
        let _ = listeners
            .0
            .append_child(&el("li").class("mono").text(&line).0);
    }
    let access = card(
        "Access",
        &[
            ("You", format!("{} ({})", api.identity, api.role.as_str())),
            ("Allowed other origins", daemon.allowed_origins.to_string()),
            ("Audit records dropped", daemon.audit_dropped.to_string()),
        ],
    )
    .child(el("h3").text("Listeners"))
    .child(listeners);
    Ok(vec![engine, containers, disk, access])
}
