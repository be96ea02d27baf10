//! The console's shell: login, the header and its navigation, the router, messages to the user.
//!
//! Routes live in the URL's fragment (`#/containers/abc/logs`) so that wharfd serves one page for all of
//! them and a reload or a shared link lands on the same view. A view is mounted into `<main>` and
//! returns a guard; the router drops the previous view's guard when it mounts the next one, which
//! removes its listeners, and its tasks (which hold only weak references to its state) stop and close
//! their streams.
//!
//! The token is kept in the tab's `sessionStorage` (or `localStorage` when the user asks to be
//! remembered); it is sent only as an `Authorization` header by the fetch transport and as one-use
//! tickets for WebSockets, never in a URL.

use std::any::Any;
use std::cell::RefCell;

use wasm_bindgen::JsCast;
use web_sys::{Element, Event, KeyboardEvent};

use crate::api::{Api, ApiError};
use crate::dom::{self, el, El, Listeners};
use crate::views;

/// What a mounted view hands back: dropping it unmounts the view.
pub type Mounted = Box<dyn Any>;

/// Where `sessionStorage`/`localStorage` keep the token.
const TOKEN_KEY: &str = "wharf.token";
const THEME_KEY: &str = "wharf.theme";

/// A parsed `#/...` route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Overview,
    Containers,
    Container { id: String, tab: String },
    Run,
    Images,
    Image { id: String },
    Networks,
    Network { id: String },
    Volumes,
    Volume { name: String },
    Events,
    Audit,
}

impl Route {
    /// The route of a fragment (`#/containers/abc/logs`); unknown ones are the overview.
    pub fn parse(hash: &str) -> Route {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let parts: Vec<String> = path
            .split('/')
            .filter(|p| !p.is_empty())
            .map(|p| js_sys::decode_uri_component(p).map_or_else(|_| p.to_owned(), String::from))
            .collect();
        match parts
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["containers"] => Route::Containers,
            ["containers", id] => Route::Container {
                id: (*id).to_owned(),
                tab: "info".to_owned(),
            },
            ["containers", id, tab] => Route::Container {
                id: (*id).to_owned(),
                tab: (*tab).to_owned(),
            },
            ["run"] => Route::Run,
            ["images"] => Route::Images,
            ["images", id] => Route::Image {
                id: (*id).to_owned(),
            },
            ["networks"] => Route::Networks,
            ["networks", id] => Route::Network {
                id: (*id).to_owned(),
            },
            ["volumes"] => Route::Volumes,
            ["volumes", name] => Route::Volume {
                name: (*name).to_owned(),
            },
            ["events"] => Route::Events,
            ["audit"] => Route::Audit,
            _ => Route::Overview,
        }
    }

    /// The nav entry this route belongs under.
    fn section(&self) -> &'static str {
        match self {
            Route::Overview => "overview",
            Route::Containers | Route::Container { .. } | Route::Run => "containers",
            Route::Images | Route::Image { .. } => "images",
            Route::Networks | Route::Network { .. } => "networks",
            Route::Volumes | Route::Volume { .. } => "volumes",
            Route::Events => "events",
            Route::Audit => "audit",
        }
    }
}

/// The fragment of a container's page.
pub fn container_href(id: &str, tab: &str) -> String {
    format!("#/containers/{}/{tab}", encode(id))
}

/// `text` escaped for a URL's path segment.
pub fn encode(text: &str) -> String {
    String::from(js_sys::encode_uri_component(text))
}

/// Goes to `hash` (`#/containers`).
pub fn navigate(hash: &str) {
    let _ = dom::window().location().set_hash(hash);
}

/// The console, once started.
struct Shell {
    api: Api,
    main: Element,
    nav: Element,
    view: Option<Mounted>,
    _listeners: Listeners,
}

thread_local! {
    static SHELL: RefCell<Option<Shell>> = const { RefCell::new(None) };
    static LOGIN: RefCell<Option<Listeners>> = const { RefCell::new(None) };
}

/// Starts the console: the stored token's session, or the login form.
pub fn start() {
    apply_theme(stored(THEME_KEY).as_deref());
    match stored(TOKEN_KEY) {
        Some(token) => wasm_bindgen_futures::spawn_local(async move {
            match Api::login(&token).await {
                Ok(api) => open(api),
                // Refused: the token is no good any more. Anything else (the daemon restarting, the
                // network) keeps it, so that a reload tries again.
                Err(err) if err.status == Some(401) => {
                    forget_token();
                    show_login(Some(&err));
                }
                Err(err) => show_login(Some(&ApiError {
                    status: err.status,
                    message: format!("{err} (reload the page to try again)"),
                })),
            }
        }),
        None => show_login(None),
    }
}

fn body() -> Element {
    match dom::document().body() {
        Some(body) => body.into(),
        None => wasm_bindgen::throw_str("the page has no body"),
    }
}

/// The login form: a token (made with `wharf token create NAME --role ROLE`).
fn show_login(error: Option<&ApiError>) {
    let mut listeners = Listeners::default();
    let input = el("input")
        .attr("type", "password")
        .attr("id", "token")
        .attr("name", "token")
        .attr("autocomplete", "current-password")
        .attr("required", "")
        .attr("placeholder", "wharf_…");
    let remember = el("input").attr("type", "checkbox").attr("id", "remember");
    let message = el("p").class("error").attr("role", "alert");
    if let Some(error) = error {
        message.0.set_text_content(Some(&error.message));
    }
    // POST: should the page ever fail to take the submission itself, the browser sends the token in a
    // body (to a path that refuses it), never in a URL.
    let form = el("form")
        .class("login card")
        .attr("method", "post")
        .attr("action", "/")
        .attr("aria-labelledby", "login-title");
    let (token_input, remember_box, shown) = (input.input(), remember.input(), message.0.clone());
    let form = form
        .child(el("h1").attr("id", "login-title").text("Wharf"))
        .child(el("p").class("muted").text(
            "Log in with a token. An administrator makes one with: wharf token create NAME --role viewer|operator|admin",
        ))
        .child(el("label").attr("for", "token").text("Token"))
        .child(input)
        .child(
            el("label")
                .class("check")
                .child(remember)
                .child(dom::text("Remember on this browser")),
        )
        .child(el("button").attr("type", "submit").class("primary").text("Log in"))
        .child(message)
        .on(&mut listeners, "submit", move |event: &Event| {
            event.prevent_default();
            let token = token_input.value().trim().to_owned();
            let remember = remember_box.checked();
            let shown = shown.clone();
            shown.set_text_content(Some("Logging in…"));
            wasm_bindgen_futures::spawn_local(async move {
                match Api::login(&token).await {
                    Ok(api) => {
                        store_token(&token, remember);
                        open(api);
                    }
                    Err(err) => shown.set_text_content(Some(&err.message)),
                }
            });
        });
    let page = el("div").class("login-page").child(form);
    dom::replace(&body(), page);
    if let Some(input) = dom::by_id("token") {
        if let Some(input) = input.dyn_ref::<web_sys::HtmlElement>() {
            let _ = input.focus();
        }
    }
    LOGIN.with(|l| *l.borrow_mut() = Some(listeners));
}

/// The shell for a logged-in user, at the route in the URL.
fn open(api: Api) {
    LOGIN.with(|l| *l.borrow_mut() = None);
    let mut listeners = Listeners::default();
    let nav = el("nav").attr("aria-label", "Sections");
    for (section, label, href) in sections(&api) {
        let link = el("a")
            .attr("href", href)
            .attr("data-section", section)
            .text(label);
        let _ = nav.0.append_child(&link.0);
    }
    let theme = el("button")
        .class("ghost")
        .attr("type", "button")
        .attr("aria-label", "Switch between light and dark")
        .text("◐")
        .on(&mut listeners, "click", |_| toggle_theme());
    let logout = el("button")
        .class("ghost")
        .attr("type", "button")
        .text("Log out")
        .on(&mut listeners, "click", |_| {
            forget_token();
            SHELL.with(|s| *s.borrow_mut() = None);
            let _ = dom::window().location().set_hash("");
            show_login(None);
        });
    let who = el("span")
        .class("who")
        .attr("title", &api.identity)
        .child(el("span").class("identity").text(&api.identity))
        .child(el("span").class("badge").text(api.role.as_str()));
    let header = el("header")
        .child(el("a").class("brand").attr("href", "#/").text("Wharf"))
        .child(&nav)
        .child(
            el("div")
                .class("tools")
                .child(who)
                .child(theme)
                .child(logout),
        );
    let main = el("main").attr("id", "main").attr("tabindex", "-1");
    // One listener for every message's dismiss button: a message holds no closure of its own.
    let toasts = el("div")
        .attr("id", "toasts")
        .attr("aria-live", "polite")
        .class("toasts")
        .on(&mut listeners, "click", |event| {
            let clicked = event
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|t| t.closest("button[data-dismiss]").ok().flatten());
            if let Some(toast) = clicked.and_then(|b| b.closest(".toast").ok().flatten()) {
                toast.remove();
            }
        });
    dom::clear(&body());
    let root = body();
    let _ = root.append_child(&header.0);
    let _ = root.append_child(&main.0);
    let _ = root.append_child(&toasts.0);

    listeners.on(&dom::window(), "hashchange", |_| route());
    listeners.on(&dom::window(), "keydown", |event| {
        if let Some(key) = event.dyn_ref::<KeyboardEvent>() {
            shortcut(key);
        }
    });
    SHELL.with(|s| {
        *s.borrow_mut() = Some(Shell {
            api,
            main: main.0,
            nav: nav.0,
            view: None,
            _listeners: listeners,
        })
    });
    route();
}

/// The nav entries this user gets (the audit log is for admins).
fn sections(api: &Api) -> Vec<(&'static str, &'static str, &'static str)> {
    let mut list = vec![
        ("overview", "Overview", "#/"),
        ("containers", "Containers", "#/containers"),
        ("images", "Images", "#/images"),
        ("networks", "Networks", "#/networks"),
        ("volumes", "Volumes", "#/volumes"),
        ("events", "Events", "#/events"),
    ];
    if api.role == crate::api::Role::Admin {
        list.push(("audit", "Audit", "#/audit"));
    }
    list
}

/// Keyboard shortcuts outside text fields: `g` then a section's first letter is not worth the
/// surprise; `/` focuses the view's filter, as in most consoles.
fn shortcut(key: &KeyboardEvent) {
    let typing = key
        .target()
        .and_then(|t| t.dyn_into::<Element>().ok())
        .is_some_and(|t| {
            matches!(t.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
                || t.closest(".xterm").ok().flatten().is_some()
        });
    if typing || key.ctrl_key() || key.meta_key() || key.alt_key() {
        return;
    }
    if key.key() == "/" {
        if let Ok(Some(filter)) = dom::document().query_selector("main [data-filter]") {
            if let Some(filter) = filter.dyn_ref::<web_sys::HtmlElement>() {
                key.prevent_default();
                let _ = filter.focus();
            }
        }
    }
}

/// Mounts the view of the URL's route, dropping the one before.
fn route() {
    let hash = dom::window().location().hash().unwrap_or_default();
    let route = Route::parse(&hash);
    let target = SHELL.with(|s| {
        let mut shell = s.borrow_mut();
        let shell = shell.as_mut()?;
        shell.view = None;
        dom::clear(&shell.main);
        if let Ok(links) = shell.nav.query_selector_all("a") {
            for i in 0..links.length() {
                if let Some(link) = links.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    let current =
                        link.get_attribute("data-section").as_deref() == Some(route.section());
                    if current {
                        let _ = link.set_attribute("aria-current", "page");
                    } else {
                        let _ = link.remove_attribute("aria-current");
                    }
                }
            }
        }
        Some((shell.api.clone(), shell.main.clone()))
    });
    let Some((api, main)) = target else { return };
    let view = views::mount(&api, &main, route);
    SHELL.with(|s| {
        if let Some(shell) = s.borrow_mut().as_mut() {
            shell.view = Some(view);
        }
    });
}

/// Kinds of message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Info,
    Error,
}

/// Shows `message` for a few seconds (errors until dismissed).
pub fn toast(message: &str, tone: Tone) {
    let Some(toasts) = dom::by_id("toasts") else {
        return;
    };
    let note = el("div")
        .class("toast")
        .class_if("error", tone == Tone::Error)
        .attr(
            "role",
            if tone == Tone::Error {
                "alert"
            } else {
                "status"
            },
        )
        .text(message);
    let node = note.0.clone();
    // Dismissed by the shell's one listener on the messages' container.
    let close = el("button")
        .class("ghost")
        .attr("type", "button")
        .attr("data-dismiss", "")
        .attr("aria-label", "Dismiss")
        .text("×");
    let _ = node.append_child(&close.0);
    let _ = toasts.append_child(&node);
    if tone == Tone::Info {
        let target = node.clone();
        gloo_timeout(4000, move || target.remove());
    }
}

/// Shows what went wrong with an action: the daemon's message (for a refused one, why).
/// A 401 means the token went (removed, expired): the session ends and the login form says why.
pub fn toast_error(what: &str, err: &ApiError) {
    if err.status == Some(401) {
        end_session(&ApiError {
            status: err.status,
            message: format!("Your session ended ({err}): log in again."),
        });
        return;
    }
    toast(&format!("{what}: {err}"), Tone::Error);
}

/// Back to the login form, the token forgotten.
fn end_session(why: &ApiError) {
    forget_token();
    SHELL.with(|s| *s.borrow_mut() = None);
    let _ = dom::window().location().set_hash("");
    show_login(Some(why));
}

/// Runs `f` once after `ms` milliseconds.
pub fn gloo_timeout(ms: i32, f: impl FnOnce() + 'static) {
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    let _ = dom::window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), ms);
}

fn storage(local: bool) -> Option<web_sys::Storage> {
    let window = dom::window();
    if local {
        window.local_storage().ok().flatten()
    } else {
        window.session_storage().ok().flatten()
    }
}

/// A stored value: this tab's first, then this browser's.
fn stored(key: &str) -> Option<String> {
    [false, true]
        .into_iter()
        .find_map(|local| storage(local)?.get_item(key).ok().flatten())
        .filter(|v| !v.is_empty())
}

fn store_token(token: &str, remember: bool) {
    if let Some(s) = storage(remember) {
        let _ = s.set_item(TOKEN_KEY, token);
    }
}

fn forget_token() {
    for local in [false, true] {
        if let Some(s) = storage(local) {
            let _ = s.remove_item(TOKEN_KEY);
        }
    }
}

/// Light, dark, or (none stored) the system's.
fn apply_theme(theme: Option<&str>) {
    if let Some(root) = dom::document().document_element() {
        match theme {
            Some(theme @ ("light" | "dark")) => {
                let _ = root.set_attribute("data-theme", theme);
            }
            _ => {
                let _ = root.remove_attribute("data-theme");
            }
        }
    }
}

fn toggle_theme() {
    let dark_now = match stored(THEME_KEY).as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => dom::window()
            .match_media("(prefers-color-scheme: dark)")
            .ok()
            .flatten()
            .is_some_and(|m| m.matches()),
    };
    let next = if dark_now { "light" } else { "dark" };
    if let Some(s) = storage(true) {
        let _ = s.set_item(THEME_KEY, next);
    }
    apply_theme(Some(next));
}

/// A `<section>` with a heading, the frame of most views.
pub fn page(title: &str) -> El {
    el("section").class("page").child(el("h1").text(title))
}
