//! The overview: what the daemon is (version, host), how much it holds (containers by state, images,
//! disk use as `docker system df` counts it) and where it listens.

use std::rc::Rc;

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
    let version = api.client.version().await?;
    let info = api.client.info().await?;
    let df = api.client.df().await?;
    let daemon = api
        .call(|f| Ok(wharf_client_core::api::wharf::daemon_request(f)))
        .await?;
    let text = |v: Option<String>| v.unwrap_or_else(|| "—".to_owned());
    let num = |v: Option<i64>| v.map_or_else(|| "—".to_owned(), |n| n.to_string());

    let engine = card(
        "Engine",
        &[
            ("Version", text(version.version.clone())),
            ("API", text(version.api_version.clone())),
            (
                "OS / arch",
                format!(
                    "{} / {}",
                    text(version.os.clone()),
                    text(version.arch.clone())
                ),
            ),
            ("Kernel", text(info.kernel_version.clone())),
            ("Host", text(info.name.clone())),
            ("CPUs", num(info.ncpu)),
            (
                "Memory",
                info.mem_total
                    .map_or_else(|| "—".to_owned(), |m| format::mebibytes(m.max(0) as u64)),
            ),
        ],
    );
    let containers = card(
        "Containers",
        &[
            ("All", num(info.containers)),
            ("Running", num(info.containers_running)),
            ("Paused", num(info.containers_paused)),
            ("Stopped", num(info.containers_stopped)),
        ],
    )
    .child(
        el("a")
            .attr("href", "#/containers")
            .text("All containers →"),
    );

    let images = df.images.as_deref().unwrap_or_default();
    let image_size: i64 = images.iter().map(|i| i.size).sum();
    let containers_df = df.containers.as_deref().unwrap_or_default();
    let writable: i64 = containers_df.iter().filter_map(|c| c.size_rw).sum();
    let disk = card(
        "Disk use",
        &[
            (
                "Images",
                format!("{} ({})", images.len(), format::bytes(image_size)),
            ),
            ("Layers", format::bytes(df.layers_size.unwrap_or(0))),
            ("Containers' writable layers", format::bytes(writable)),
            ("Data root", text(info.docker_root_dir.clone())),
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
