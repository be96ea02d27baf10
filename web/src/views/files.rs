//! A container's files tab: a directory's entries (Wharf's listing, resolved inside the container's root
//! as `docker cp` resolves paths), going down and up, a download of any entry and an upload into the
//! directory shown.
//!
//! The bytes never enter the wasm heap: a download is `GET /containers/{id}/archive` into a `Blob`, of
//! which a regular file's own bytes are a slice (client-core's `tarframe` finds them from the tar's first
//! blocks); an upload is a `Blob` made of a tar header, the picked `File` and the closing zeros, sent by
//! `PUT /containers/{id}/archive` with progress.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use bytes::Bytes;
use js_sys::{Array, Uint8Array};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Element, HtmlInputElement};
use wharf_client_core::api::archive::{self, ContainerPathStat, CopyToOptions};
use wharf_client_core::api::wharf::files_request;
use wharf_client_core::tarframe;

use crate::api::{Api, ApiError};
use crate::app::{self, Mounted, Tone};
use crate::dom::{self, el, Listeners};
use crate::views::files_model as model;
use crate::views::{format, listing};

/// How much of a download's head is read to find its file: tar headers and a long name's PAX record.
const HEAD: f64 = 64.0 * 1024.0;

struct State {
    api: Api,
    id: String,
    path: String,
    crumbs: Element,
    rows: Element,
    note: Element,
    /// Bumped by each load: an older answer arriving late is dropped.
    generation: u32,
    listeners: Listeners,
    row_listeners: Listeners,
}

/// Mounts the tab into `body` for the container `id`, at `/`.
pub fn mount(api: &Api, body: &Element, id: &str) -> Mounted {
    if !api.role.can_operate() {
        // The daemon refuses a viewer a container's files (as `docker cp`): no page that would fail.
        let note = el("p")
            .class("empty")
            .text("A container's files are for operators and admins.");
        let _ = body.append_child(&note.0);
        return Box::new(());
    }
    let crumbs = el("nav").class("crumbs").attr("aria-label", "Directory");
    let note = el("span").class("muted").attr("role", "status");
    let rows = el("div").class("rows").attr("role", "rowgroup");
    let state = Rc::new(RefCell::new(State {
        api: api.clone(),
        id: id.to_owned(),
        path: "/".to_owned(),
        crumbs: crumbs.0.clone(),
        rows: rows.0.clone(),
        note: note.0.clone(),
        generation: 0,
        listeners: Listeners::default(),
        row_listeners: Listeners::default(),
    }));
    let mut listeners = Listeners::default();
    let weak = Rc::downgrade(&state);
    let refresh = el("button")
        .class("small")
        .attr("type", "button")
        .attr("data-action", "refresh-files")
        .text("Refresh")
        .on(&mut listeners, "click", move |_| {
            if let Some(state) = weak.upgrade() {
                load(&state);
            }
        });
    let toolbar = el("div")
        .class("toolbar")
        .child(crumbs)
        .child(refresh)
        .child(note);
    let table = listing::table(
        "Files",
        "files-grid",
        &["Name", "Size", "Mode", "Modified", ""],
        &[2, 3],
        &rows.0,
    );
    let _ = body.append_child(&toolbar.0);
    let _ = body.append_child(&upload_form(&state, &mut listeners).0);
    let _ = body.append_child(&table.0);
    state.borrow_mut().listeners = listeners;
    load(&state);
    Box::new(state)
}

fn upload_form(state: &Rc<RefCell<State>>, listeners: &mut Listeners) -> dom::El {
    let file = el("input")
        .attr("type", "file")
        .attr("id", "upload-file")
        .attr("aria-label", "File to upload");
    let progress = el("progress")
        .class("progress hidden")
        .attr("max", "1")
        .attr("value", "0");
    let (input, bar) = (file.input(), progress.0.clone());
    let weak = Rc::downgrade(state);
    let button = el("button")
        .attr("type", "button")
        .attr("data-action", "upload-file")
        .text("Upload here")
        .on(listeners, "click", move |_| {
            upload(weak.clone(), &input, &bar)
        });
    el("div")
        .class("toolbar upload")
        .child(file)
        .child(button)
        .child(progress)
}

/// Lists the current directory again.
fn load(state: &Rc<RefCell<State>>) {
    let (api, id, path, generation) = {
        let mut s = state.borrow_mut();
        s.generation += 1;
        s.note.set_text_content(Some("Loading…"));
        (s.api.clone(), s.id.clone(), s.path.clone(), s.generation)
    };
    let weak = Rc::downgrade(state);
    wasm_bindgen_futures::spawn_local(async move {
        let result = api.call(|f| files_request(f, &id, &path)).await;
        let Some(state) = weak.upgrade() else { return };
        if state.borrow().generation != generation {
            return;
        }
        match result {
            Ok(mut listing) => {
                model::sort(&mut listing.entries);
                let note = if listing.truncated {
                    format!("{} entries (the first ones only)", listing.entries.len())
                } else {
                    format!("{} entries", listing.entries.len())
                };
                state.borrow().note.set_text_content(Some(&note));
                state.borrow_mut().path = listing.path.clone();
                render(&state, &listing.entries);
            }
            Err(err) => {
                let s = state.borrow();
                s.note.set_text_content(None);
                dom::replace(&s.rows, el("p").class("error").text(&err.message));
            }
        }
    });
}

fn go(state: &Weak<RefCell<State>>, path: String) {
    if let Some(state) = state.upgrade() {
        state.borrow_mut().path = path;
        load(&state);
    }
}

fn render(state: &Rc<RefCell<State>>, entries: &[ContainerPathStat]) {
    let mut listeners = Listeners::default();
    let (path, crumbs, rows, api, id) = {
        let s = state.borrow();
        (
            s.path.clone(),
            s.crumbs.clone(),
            s.rows.clone(),
            s.api.clone(),
            s.id.clone(),
        )
    };
    dom::clear(&crumbs);
    for (label, target) in model::breadcrumbs(&path) {
        let weak = Rc::downgrade(state);
        let crumb = el("button")
            .class("link")
            .attr("type", "button")
            .text(&label)
            .on(&mut listeners, "click", move |_| go(&weak, target.clone()));
        let _ = crumbs.append_child(&crumb.0);
    }
    dom::clear(&rows);
    if path != "/" {
        let weak = Rc::downgrade(state);
        let up = model::parent(&path);
        let row = el("div").class("row files-grid").attr("role", "row").child(
            el("div").class("cell").child(
                el("button")
                    .class("link")
                    .attr("type", "button")
                    .attr("data-entry", "..")
                    .text("..")
                    .on(&mut listeners, "click", move |_| go(&weak, up.clone())),
            ),
        );
        let _ = rows.append_child(&row.0);
    }
    if entries.is_empty() {
        let _ = rows.append_child(&el("p").class("empty").text("An empty directory.").0);
    }
    for entry in entries {
        let full = model::join(&path, &entry.name);
        let name_cell = el("div").class("cell mono");
        let name = if entry.is_symlink() && !entry.link_target.is_empty() {
            format!("{} → {}", entry.name, entry.link_target)
        } else {
            entry.name.clone()
        };
        if entry.is_dir() {
            let weak = Rc::downgrade(state);
            let target = full.clone();
            let link = el("button")
                .class("link")
                .attr("type", "button")
                .attr("data-entry", &entry.name)
                .text(&format!("{name}/"))
                .on(&mut listeners, "click", move |_| go(&weak, target.clone()));
            let _ = name_cell.0.append_child(&link.0);
        } else {
            let _ = name_cell
                .0
                .append_child(&el("span").attr("data-entry", &entry.name).text(&name).0);
        }
        let (api, id, stat) = (api.clone(), id.clone(), entry.clone());
        let download = el("button")
            .class("small")
            .attr("type", "button")
            .attr("data-action", "download")
            .attr("aria-label", &format!("Download {}", entry.name))
            .text("Download")
            .on(&mut listeners, "click", move |_| {
                download(&api, &id, &full, &stat);
            });
        let size = if entry.is_dir() {
            String::new()
        } else {
            format::bytes(entry.size)
        };
        let row = el("div")
            .class("row files-grid")
            .attr("role", "row")
            .child(name_cell)
            .child(el("div").class("cell").text(&size))
            .child(
                el("div")
                    .class("cell mono hide-narrow")
                    .text(&model::mode_text(entry.mode)),
            )
            .child(el("div").class("cell hide-narrow").text(&entry.mtime))
            .child(el("div").class("cell actions-cell").child(download));
        let _ = rows.append_child(&row.0);
    }
    state.borrow_mut().row_listeners = listeners;
}

/// Downloads `path`: a regular file as itself (its bytes sliced out of the tar), anything else as the
/// tar the daemon answers.
fn download(api: &Api, id: &str, path: &str, entry: &ContainerPathStat) {
    let (api, id, path, entry) = (api.clone(), id.to_owned(), path.to_owned(), entry.clone());
    let name = model::download_name(&entry);
    wasm_bindgen_futures::spawn_local(async move {
        let result = async {
            let request = api
                .client
                .prepare_plain(|f| archive::get_archive_request(f, &id, &path))
                .await?;
            let tar = api.client.transport().download(request).await?;
            Ok::<Blob, wharf_client_core::Error>(tar)
        }
        .await;
        let tar = match result {
            Ok(tar) => tar,
            Err(err) => return app::toast_error("Download", &ApiError::from(err)),
        };
        if !model::is_regular(&entry) {
            return dom::offer_download(&tar, &name);
        }
        match file_in(&tar).await {
            Ok(file) => dom::offer_download(&file, &name),
            Err(message) => app::toast(&format!("Download: {message}"), Tone::Error),
        }
    });
}

/// The first file's bytes in the tar `tar`, as a slice of it.
async fn file_in(tar: &Blob) -> Result<Blob, String> {
    let head = tar
        .slice_with_f64_and_f64(0.0, HEAD.min(tar.size()))
        .map_err(|_| "the answer cannot be read".to_owned())?;
    let buffer = JsFuture::from(head.array_buffer())
        .await
        .map_err(|_| "the answer cannot be read".to_owned())?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    let entry = tarframe::first_entry(&bytes)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the archive's headers are longer than expected".to_owned())?;
    let start = entry.data_offset as f64;
    // A type of its own: a slice has none, and a browser would guess one and add its extension.
    tar.slice_with_f64_and_f64_and_content_type(
        start,
        start + entry.size as f64,
        "application/octet-stream",
    )
    .map_err(|_| "the file cannot be cut out of the answer".to_owned())
}

/// Uploads the file picked in `input` into the directory shown.
fn upload(state: Weak<RefCell<State>>, input: &HtmlInputElement, bar: &Element) {
    if !bar.class_list().contains("hidden") {
        return app::toast("Upload: one is already under way", Tone::Error);
    }
    let Some(file) = input.files().and_then(|files| files.get(0)) else {
        return app::toast("Upload: choose a file first", Tone::Error);
    };
    let Some((api, id, path)) = state.upgrade().map(|s| {
        let s = s.borrow();
        (s.api.clone(), s.id.clone(), s.path.clone())
    }) else {
        return;
    };
    let size = file.size() as u64;
    let mtime = (file.last_modified() / 1000.0) as i64;
    let header = tarframe::file_header(&file.name(), size, 0o644, mtime);
    let tail = vec![0u8; tarframe::padding(size) + tarframe::END];
    let parts = Array::new();
    parts.push(&Uint8Array::from(header.as_slice()));
    parts.push(&file);
    parts.push(&Uint8Array::from(tail.as_slice()));
    let Ok(body) = Blob::new_with_u8_array_sequence(&parts) else {
        return app::toast("Upload: the file cannot be read", Tone::Error);
    };
    let bar = bar.clone();
    let _ = bar.class_list().remove_1("hidden");
    let _ = bar.set_attribute("value", "0");
    let name = file.name();
    wasm_bindgen_futures::spawn_local(async move {
        let options = CopyToOptions {
            no_overwrite_dir_non_dir: true,
            ..CopyToOptions::default()
        };
        let result = async {
            let request = api
                .client
                .prepare(|f| archive::put_archive_request(f, &id, &path, &options, Bytes::new()))
                .await?;
            let typed =
                wharf_client_core::api::TypedRequest::<wharf_client_core::api::NoContent>::new(
                    request,
                );
            let shown = bar.clone();
            api.client
                .transport()
                .upload(typed, &body, move |sent, total| {
                    if total > 0.0 {
                        let _ = shown.set_attribute("value", &(sent / total).to_string());
                    }
                })
                .await
        }
        .await;
        let _ = bar.class_list().add_1("hidden");
        match result {
            Ok(()) => {
                app::toast(&format!("Uploaded {name} into {path}"), Tone::Info);
                if let Some(state) = state.upgrade() {
                    load(&state);
                }
            }
            Err(err) => app::toast_error("Upload", &ApiError::from(err)),
        }
    });
}
