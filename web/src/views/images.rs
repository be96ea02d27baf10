//! Images: the list (filter, tag, remove, save as a file, prune), pulls from registries (`pull.rs`), import of a root file system tar and
//! load of a `docker save` tar by upload, with progress; and an image's page (inspect and history).
//!
//! Uploads and downloads keep their bytes in the browser's `Blob`s (client-wasm's `transfer`), never in
//! the wasm heap: an image tar can be hundreds of megabytes.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use bytes::Bytes;
use serde_json::Value;
use web_sys::{Element, HtmlInputElement};
use wharf_client_core::api::images::{self, ImportOptions, ListOptions, RemoveOptions};
use wharf_client_core::Filters;

use crate::api::{Api, ApiError};
use crate::app::{self, Mounted, Tone};
use crate::dom::{self, el, El, Listeners};
use crate::views::{format, listing, pull};

/// What the list shows of an image. Read from `GET /images/json` as JSON: the typed
/// `ImageSummary`'s decoder would weigh more in the wasm than these few fields.
#[derive(Clone)]
struct Image {
    id: String,
    repo_tags: Vec<String>,
    created: i64,
    size: i64,
}

impl Image {
    fn of(v: &Value) -> Image {
        Image {
            id: v["Id"].as_str().unwrap_or_default().to_owned(),
            repo_tags: repo_tags(v),
            created: v["Created"].as_i64().unwrap_or_default(),
            size: v["Size"].as_i64().unwrap_or_default(),
        }
    }
}

/// An image's `RepoTags` from `GET /images/json`, for the run form's suggestions too.
pub(crate) fn repo_tags(image: &Value) -> Vec<String> {
    image["RepoTags"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.as_str().map(str::to_owned))
        .collect()
}

struct State {
    api: Api,
    images: Vec<Image>,
    filter: String,
    rows: Element,
    listeners: Listeners,
    row_listeners: Listeners,
    /// The pull form's state (its pull is cancelled when the page goes).
    pull: Option<Rc<RefCell<pull::Pull>>>,
}

/// The list at `#/images`.
pub fn mount(api: &Api, main: &Element) -> Mounted {
    let page = app::page("Images");
    let rows = el("div").class("rows").attr("role", "rowgroup");
    let state = Rc::new(RefCell::new(State {
        api: api.clone(),
        images: Vec::new(),
        filter: String::new(),
        rows: rows.0.clone(),
        listeners: Listeners::default(),
        row_listeners: Listeners::default(),
        pull: None,
    }));
    let mut listeners = Listeners::default();

    let weak = Rc::downgrade(&state);
    let filter = listing::filter(
        &mut listeners,
        "Filter by name or ID  (/)",
        "Filter images",
        move |text| {
            if let Some(state) = weak.upgrade() {
                state.borrow_mut().filter = text;
                render(&state);
            }
        },
    );
    let toolbar = el("div").class("toolbar").child(filter);
    let page = page.child(toolbar);
    let page = if api.role.can_operate() {
        let weak = Rc::downgrade(&state);
        let (card, pull) = pull::card(api, &mut listeners, Rc::new(move || reload(weak.clone())));
        state.borrow_mut().pull = Some(pull);
        page.child(card).child(transfers(&state, &mut listeners))
    } else {
        page
    };
    let table = listing::table(
        "Images",
        "images-grid",
        &["Repository:tag", "ID", "Created", "Size", ""],
        &[1, 2],
        &rows.0,
    );
    let _ = main.append_child(&page.child(table).0);
    state.borrow_mut().listeners = listeners;
    reload(Rc::downgrade(&state));
    Box::new(state)
}

/// The import and load forms (operators and admins).
fn transfers(state: &Rc<RefCell<State>>, listeners: &mut Listeners) -> El {
    let import_file = el("input")
        .attr("type", "file")
        .attr("id", "import-file")
        .attr("accept", ".tar,.tgz,.gz,.tar.gz,.xz,.bz2,.zst");
    let import_name = el("input")
        .attr("id", "import-name")
        .attr("placeholder", "repository:tag (optional)");
    let import_progress = el("progress")
        .class("progress hidden")
        .attr("max", "1")
        .attr("value", "0");
    let (file, name, progress) = (
        import_file.input(),
        import_name.input(),
        import_progress.0.clone(),
    );
    let weak = Rc::downgrade(state);
    let import = el("button")
        .attr("type", "button")
        .attr("data-action", "import")
        .text("Import")
        .on(listeners, "click", move |_| {
            let repo = name.value().trim().to_owned();
            let options = ImportOptions {
                repo: (!repo.is_empty()).then_some(repo),
                ..ImportOptions::default()
            };
            upload(weak.clone(), &file, &progress, "Import", move |f| {
                images::import_request(f, &options, Bytes::new())
            });
        });
    let load_file = el("input")
        .attr("type", "file")
        .attr("id", "load-file")
        .attr("accept", ".tar,.tgz,.gz,.tar.gz,.xz,.bz2,.zst");
    let load_progress = el("progress")
        .class("progress hidden")
        .attr("max", "1")
        .attr("value", "0");
    let (file, progress) = (load_file.input(), load_progress.0.clone());
    let weak = Rc::downgrade(state);
    let load = el("button")
        .attr("type", "button")
        .attr("data-action", "load")
        .text("Load")
        .on(listeners, "click", move |_| {
            upload(weak.clone(), &file, &progress, "Load", |f| {
                images::load_request(f, false, Bytes::new())
            });
        });
    let weak = Rc::downgrade(state);
    let prune = el("button")
        .class("danger")
        .attr("type", "button")
        .attr("data-action", "prune")
        .text("Prune dangling images")
        .on(listeners, "click", move |_| {
            if !dom::confirm("Remove every dangling (untagged, unused) image?") {
                return;
            }
            let Some(api) = weak.upgrade().map(|s| s.borrow().api.clone()) else {
                return;
            };
            let weak = weak.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api
                    .call(|f| Ok(images::prune_request(f, &Filters::new())))
                    .await
                {
                    Ok(pruned) => {
                        let n = pruned.images_deleted.map_or(0, |d| d.len());
                        let space = format::bytes(pruned.space_reclaimed.unwrap_or(0));
                        app::toast(&format!("Pruned {n} images, {space} reclaimed"), Tone::Info);
                        reload(weak);
                    }
                    Err(err) => app::toast_error("Prune", &err),
                }
            });
        });
    el("details")
        .class("card transfers")
        .child(el("summary").text("Import, load, prune"))
        .child(
            el("div")
                .class("form-grid")
                .child(
                    el("div")
                        .child(
                            el("label")
                                .attr("for", "import-file")
                                .text("Import a root file system (tar)"),
                        )
                        .child(import_file)
                        .child(import_name)
                        .child(el("div").class("actions").child(import))
                        .child(import_progress),
                )
                .child(
                    el("div")
                        .child(
                            el("label")
                                .attr("for", "load-file")
                                .text("Load images (a docker save tar)"),
                        )
                        .child(load_file)
                        .child(el("div").class("actions").child(load))
                        .child(load_progress),
                ),
        )
        .child(el("div").class("actions").child(prune))
}

/// Sends the file picked in `file` as the body of the request `build` makes, showing its progress.
fn upload<D, F>(
    state: Weak<RefCell<State>>,
    file: &HtmlInputElement,
    progress: &Element,
    what: &'static str,
    build: F,
) where
    D: wharf_client_core::api::Decode + 'static,
    D::Output: Describe,
    F: FnOnce(&wharf_client_core::RequestFactory) -> wharf_client_core::api::TypedRequest<D>
        + 'static,
{
    // The bar shows while one is in flight: one at a time per form.
    if !progress.class_list().contains("hidden") {
        app::toast(&format!("{what}: one is already uploading"), Tone::Error);
        return;
    }
    let Some(picked) = file.files().and_then(|files| files.get(0)) else {
        app::toast(&format!("{what}: choose a file first"), Tone::Error);
        return;
    };
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    let bar = progress.clone();
    let _ = bar.class_list().remove_1("hidden");
    let _ = bar.set_attribute("value", "0");
    wasm_bindgen_futures::spawn_local(async move {
        let result = async {
            let request = api.client.prepare(|f| Ok(build(f))).await?;
            let typed = wharf_client_core::api::TypedRequest::<D>::new(request);
            let shown = bar.clone();
            api.client
                .transport()
                .upload(typed, &picked, move |sent, total| {
                    if total > 0.0 {
                        let _ = shown.set_attribute("value", &(sent / total).to_string());
                    }
                })
                .await
        }
        .await;
        let _ = bar.class_list().add_1("hidden");
        match result {
            Ok(output) => {
                app::toast(&format!("{what}: {}", output.describe()), Tone::Info);
                reload(state);
            }
            Err(err) => app::toast_error(what, &ApiError::from(err)),
        }
    });
}

/// One line about what an upload did.
trait Describe {
    fn describe(&self) -> String;
}

impl Describe for Vec<wharf_client_core::models::CreateImageInfo> {
    fn describe(&self) -> String {
        match images::imported_id(self) {
            Some(id) => format!("imported {}", format::short_id(id)),
            None => "done".to_owned(),
        }
    }
}

impl Describe for Vec<String> {
    fn describe(&self) -> String {
        if self.is_empty() {
            "done".to_owned()
        } else {
            self.join(", ")
        }
    }
}

/// Loads the list again.
fn reload(state: Weak<RefCell<State>>) {
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let result = api
            .call(|f| Ok(images::list_request(f, &ListOptions::default()).expecting::<Value>()))
            .await;
        let Some(state) = state.upgrade() else { return };
        match result {
            Ok(list) => {
                let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
                let mut list: Vec<Image> = list.iter().map(Image::of).collect();
                list.sort_by_key(|i| std::cmp::Reverse(i.created));
                state.borrow_mut().images = list;
                render(&state);
            }
            Err(err) => {
                let rows = state.borrow().rows.clone();
                dom::replace(&rows, el("p").class("error").text(&err.message));
            }
        }
    });
}

/// The name an image is shown by: its first tag, else `<none>`.
fn display_name(image: &Image) -> String {
    image
        .repo_tags
        .iter()
        .find(|t| t.as_str() != "<none>:<none>")
        .cloned()
        .unwrap_or_else(|| "<none>".to_owned())
}

fn render(state: &Rc<RefCell<State>>) {
    let mut listeners = Listeners::default();
    let (rows, api, shown) = {
        let s = state.borrow();
        let needle = s.filter.trim().to_lowercase();
        let shown: Vec<Image> = s
            .images
            .iter()
            .filter(|i| {
                needle.is_empty()
                    || i.id.contains(&needle)
                    || i.repo_tags
                        .iter()
                        .any(|t| t.to_lowercase().contains(&needle))
            })
            .cloned()
            .collect();
        (s.rows.clone(), s.api.clone(), shown)
    };
    dom::clear(&rows);
    if shown.is_empty() {
        let _ = rows.append_child(&el("p").class("empty").text("No images.").0);
    }
    let now = (js_sys::Date::now() / 1000.0) as i64;
    for image in shown {
        let name = display_name(&image);
        let href = format!("#/images/{}", app::encode(&image.id));
        let actions = el("div").class("cell actions-cell");
        let id = image.id.clone();
        let weak = Rc::downgrade(state);
        let save = el("button")
            .class("small")
            .attr("type", "button")
            .attr("data-action", "save")
            .attr("aria-label", &format!("Save {name} as a file"))
            .text("Save")
            .on(&mut listeners, "click", {
                let api = api.clone();
                let name = name.clone();
                let id = id.clone();
                move |_| save(&api, &name, &id)
            });
        let _ = actions.0.append_child(&save.0);
        if api.role.can_operate() {
            let tag = el("button")
                .class("small")
                .attr("type", "button")
                .attr("data-action", "tag")
                .attr("aria-label", &format!("Tag {name}"))
                .text("Tag")
                .on(&mut listeners, "click", {
                    let weak = weak.clone();
                    let id = id.clone();
                    move |_| tag_image(weak.clone(), &id)
                });
            let remove = el("button")
                .class("small danger")
                .attr("type", "button")
                .attr("data-action", "remove")
                .attr("aria-label", &format!("Remove {name}"))
                .text("Remove")
                .on(&mut listeners, "click", {
                    let weak = weak.clone();
                    let name = name.clone();
                    let id = id.clone();
                    move |_| remove_image(weak.clone(), &name, &id)
                });
            let _ = actions.0.append_child(&tag.0);
            let _ = actions.0.append_child(&remove.0);
        }
        let row = el("div")
            .class("row images-grid")
            .attr("role", "row")
            .child(
                el("div")
                    .class("cell")
                    .child(el("a").attr("href", &href).text(&name)),
            )
            .child(
                el("div")
                    .class("cell mono hide-narrow")
                    .text(format::short_id(&image.id)),
            )
            .child(
                el("div")
                    .class("cell hide-narrow")
                    .text(&format::ago(now, image.created)),
            )
            .child(el("div").class("cell").text(&format::bytes(image.size)))
            .child(actions);
        let _ = rows.append_child(&row.0);
    }
    state.borrow_mut().row_listeners = listeners;
}

/// Downloads `docker save` of the image as `<name>.tar`.
fn save(api: &Api, name: &str, id: &str) {
    let api = api.clone();
    let target = if name == "<none>" {
        id.to_owned()
    } else {
        name.to_owned()
    };
    let file = format!(
        "{}.tar",
        target
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            })
            .collect::<String>()
    );
    app::toast(&format!("Saving {target}…"), Tone::Info);
    wasm_bindgen_futures::spawn_local(async move {
        let result = async {
            let request = api
                .client
                .prepare_plain(|f| images::save_request(f, std::slice::from_ref(&target)))
                .await?;
            api.client.transport().download(request).await
        }
        .await;
        match result {
            Ok(blob) => dom::offer_download(&blob, &file),
            Err(err) => app::toast_error("Save", &ApiError::from(err)),
        }
    });
}

fn tag_image(state: Weak<RefCell<State>>, id: &str) {
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    let Ok(Some(target)) = dom::window().prompt_with_message("New name (repository:tag)") else {
        return;
    };
    let target = target.trim().to_owned();
    if target.is_empty() {
        return;
    }
    let (repo, tag) = format::split_reference(&target);
    let id = id.to_owned();
    wasm_bindgen_futures::spawn_local(async move {
        match api
            .call(|f| images::tag_request(f, &id, &repo, tag.as_deref()))
            .await
        {
            Ok(()) => {
                app::toast(&format!("Tagged {target}"), Tone::Info);
                reload(state);
            }
            Err(err) => app::toast_error("Tag", &err),
        }
    });
}

fn remove_image(state: Weak<RefCell<State>>, name: &str, id: &str) {
    if !dom::confirm(&format!("Remove {name}?")) {
        return;
    }
    let Some(api) = state.upgrade().map(|s| s.borrow().api.clone()) else {
        return;
    };
    // A tagged image is removed by its name (untagging it), as `docker rmi name` does.
    let target = if name == "<none>" {
        id.to_owned()
    } else {
        name.to_owned()
    };
    wasm_bindgen_futures::spawn_local(async move {
        match api
            .call(|f| images::remove_request(f, &target, &RemoveOptions::default()))
            .await
        {
            Ok(_) => {
                app::toast(&format!("Removed {target}"), Tone::Info);
                reload(state);
            }
            Err(err) => app::toast_error("Remove", &err),
        }
    });
}

/// An image's page at `#/images/<id>`: inspect and history.
pub fn mount_one(api: &Api, main: &Element, id: &str) -> Mounted {
    let page = app::page("Image");
    let body = el("div").attr("aria-busy", "true");
    let _ = main.append_child(&page.child(body.clone()).0);
    let api = api.clone();
    let id = id.to_owned();
    let target = body.0.clone();
    let alive = Rc::new(());
    let weak = Rc::downgrade(&alive);
    wasm_bindgen_futures::spawn_local(async move {
        // As JSON values: the page shows a few fields and the raw answer, and the image models'
        // decoders would weigh more in the download than the page.
        let inspect = api
            .call(|f| images::inspect_request(f, &id).map(|r| r.expecting::<Value>()))
            .await;
        let history = api
            .call(|f| images::history_request(f, &id).map(|r| r.expecting::<Value>()))
            .await;
        if weak.upgrade().is_none() {
            return;
        }
        let _ = target.remove_attribute("aria-busy");
        let inspect = match inspect {
            Ok(i) => i,
            Err(err) => {
                dom::replace(&target, el("p").class("error").text(&err.message));
                return;
            }
        };
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let joined = |v: &Value, sep: &str| {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(sep)
                })
                .unwrap_or_default()
        };
        let words = |v: &Value| joined(v, " ");
        let config = &inspect["Config"];
        let list = el("dl");
        let rows: Vec<(&str, String)> = vec![
            ("ID", text(&inspect["Id"])),
            ("Tags", joined(&inspect["RepoTags"], ", ")),
            ("Created", text(&inspect["Created"])),
            ("Size", format::bytes(inspect["Size"].as_i64().unwrap_or(0))),
            (
                "Platform",
                format!(
                    "{}/{}",
                    text(&inspect["Os"]),
                    text(&inspect["Architecture"])
                ),
            ),
            ("Command", words(&config["Cmd"])),
            ("Entrypoint", words(&config["Entrypoint"])),
            ("Working dir", text(&config["WorkingDir"])),
            ("Env", joined(&config["Env"], "\n")),
        ];
        for (label, value) in rows {
            let _ = list.0.append_child(&el("dt").text(label).0);
            let _ = list
                .0
                .append_child(&el("dd").class("pre-line").text(&value).0);
        }
        let card = el("article").class("card").child(list);
        let history_table = el("div").class("table history");
        let _ = history_table.0.append_child(
            &el("div")
                .class("head history-grid")
                .children(
                    ["Created by", "Size", "Created"].map(|h| el("div").class("cell").text(h)),
                )
                .0,
        );
        let now = (js_sys::Date::now() / 1000.0) as i64;
        match history {
            Ok(layers) => {
                for layer in layers.as_array().into_iter().flatten() {
                    let by = text(&layer["CreatedBy"]);
                    let row = el("div")
                        .class("row history-grid")
                        .child(el("div").class("cell mono").attr("title", &by).text(&by))
                        .child(
                            el("div")
                                .class("cell")
                                .text(&format::bytes(layer["Size"].as_i64().unwrap_or(0))),
                        )
                        .child(
                            el("div")
                                .class("cell")
                                .text(&format::ago(now, layer["Created"].as_i64().unwrap_or(0))),
                        );
                    let _ = history_table.0.append_child(&row.0);
                }
            }
            Err(err) => {
                let _ = history_table
                    .0
                    .append_child(&el("p").class("error").text(&err.message).0);
            }
        }
        let raw = serde_json::to_string_pretty(&inspect).unwrap_or_default();
        let details = el("details")
            .child(el("summary").text("Raw JSON"))
            .child(el("pre").text(&raw));
        dom::clear(&target);
        let _ = target.append_child(&card.0);
        let _ = target.append_child(&el("h2").text("History").0);
        let _ = target.append_child(&history_table.0);
        let _ = target.append_child(&details.0);
    });
    Box::new(alive)
}
