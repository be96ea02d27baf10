//! Pulling from registries in the images page (operators and admins): a pull form whose progress is
//! drawn per layer as the docker CLI draws it (client-core's `progress::Board`, one element per line,
//! rewritten in place), and the registry login form (`POST /auth`), whose logins the session keeps in
//! memory (`logins.rs`) and gives to pulls of that registry's images.
//!
//! A registry's 401 is not the console's: errors here are shown as they are and never end the session
//! (`app::toast_error` would take a 401 for an expired token).

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use web_sys::{Element, HtmlInputElement};
use wharf_client_core::api::registry::{self, PullOptions};
use wharf_client_core::progress::{Board, Change};
use wharf_client_core::registry_auth::RegistryAuth;

use crate::api::{Api, ApiError, StreamGuard};
use crate::app::{self, Tone};
use crate::dom::{self, el, El, Listeners};
use crate::views::logins::DOCKER_HUB;

/// A pull in progress, and the lines it drew.
pub struct Pull {
    api: Api,
    lines: Element,
    logins: Element,
    /// The pull's answer; dropping it (leaving the page) cancels the pull.
    stream: Option<StreamGuard>,
    busy: bool,
    on_pulled: Rc<dyn Fn()>,
    logins_listeners: Listeners,
}

/// The pull and login forms; `on_pulled` runs when a pull ends well (the list reloads).
pub fn card(
    api: &Api,
    listeners: &mut Listeners,
    on_pulled: Rc<dyn Fn()>,
) -> (El, Rc<RefCell<Pull>>) {
    let lines = el("div")
        .class("pull-lines")
        .attr("role", "log")
        .attr("aria-live", "polite")
        .attr("data-pull-lines", "");
    let logins = el("ul").class("logins").attr("data-logins", "");
    let state = Rc::new(RefCell::new(Pull {
        api: api.clone(),
        lines: lines.0.clone(),
        logins: logins.0.clone(),
        stream: None,
        busy: false,
        on_pulled,
        logins_listeners: Listeners::default(),
    }));

    let image = el("input")
        .attr("id", "pull-image")
        .attr("placeholder", "busybox, host:5000/app:1, name@sha256:…")
        .attr("autocomplete", "off")
        .attr("spellcheck", "false");
    let platform = el("input")
        .attr("id", "pull-platform")
        .attr("placeholder", "linux/amd64 (optional)")
        .attr("autocomplete", "off");
    let (image_input, platform_input) = (image.input(), platform.input());
    let weak = Rc::downgrade(&state);
    let pull = el("button")
        .class("primary")
        .attr("type", "button")
        .attr("data-action", "pull")
        .text("Pull")
        .on(listeners, "click", move |_| {
            let name = image_input.value().trim().to_owned();
            let platform = platform_input.value().trim().to_owned();
            start(&weak, name, (!platform.is_empty()).then_some(platform));
        });

    let server = el("input")
        .attr("id", "login-server")
        .attr("placeholder", "host:port (empty: Docker Hub)")
        .attr("autocomplete", "off");
    let user = el("input")
        .attr("id", "login-user")
        .attr("autocomplete", "username");
    let password = el("input")
        .attr("id", "login-password")
        .attr("type", "password")
        .attr("autocomplete", "current-password");
    let (server_input, user_input, password_input) =
        (server.input(), user.input(), password.input());
    let weak = Rc::downgrade(&state);
    let login = el("button")
        .attr("type", "button")
        .attr("data-action", "registry-login")
        .text("Log in")
        .on(listeners, "click", move |_| {
            log_in(&weak, &server_input, &user_input, &password_input);
        });

    let card = el("details")
        .class("card pull")
        .attr("open", "")
        .child(el("summary").text("Pull from a registry"))
        .child(
            el("div")
                .class("form-grid")
                .child(
                    el("div")
                        .child(el("label").attr("for", "pull-image").text("Image"))
                        .child(image)
                        .child(el("label").attr("for", "pull-platform").text("Platform"))
                        .child(platform)
                        .child(el("div").class("actions").child(pull)),
                )
                .child(
                    el("div")
                        .child(
                            el("label")
                                .attr("for", "login-server")
                                .text("Registry login"),
                        )
                        .child(server)
                        .child(el("label").attr("for", "login-user").text("User name"))
                        .child(user)
                        .child(el("label").attr("for", "login-password").text("Password"))
                        .child(password)
                        .child(el("div").class("actions").child(login))
                        .child(logins),
                ),
        )
        .child(lines);
    render_logins(&state);
    (card, state)
}

/// Pulls `name`, drawing its progress; one pull at a time.
fn start(weak: &Weak<RefCell<Pull>>, name: String, platform: Option<String>) {
    let Some(state) = weak.upgrade() else { return };
    if name.is_empty() {
        app::toast("Pull: name an image first", Tone::Error);
        return;
    }
    if state.borrow().busy {
        app::toast("Pull: one is already running", Tone::Error);
        return;
    }
    let (api, lines) = {
        let mut s = state.borrow_mut();
        s.busy = true;
        dom::clear(&s.lines);
        (s.api.clone(), s.lines.clone())
    };
    let auth = api.logins.borrow().for_image(&name);
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let options = PullOptions { platform };
        let outcome = match api.client.pull_stream(&name, &options, &auth).await {
            Err(err) => Err(ApiError::from(err)),
            Ok(mut stream) => {
                match weak.upgrade() {
                    Some(state) => state.borrow_mut().stream = Some(StreamGuard::of(&mut stream)),
                    None => return,
                }
                let mut board = Board::new(true);
                let mut outcome = Ok(());
                while let Some(message) = stream.next().await {
                    if weak.upgrade().is_none() {
                        return;
                    }
                    match message {
                        Ok(message) => draw(&lines, &mut board, &message),
                        Err(err) => {
                            outcome = Err(ApiError::from(err));
                            break;
                        }
                    }
                }
                outcome
            }
        };
        let Some(state) = weak.upgrade() else { return };
        let on_pulled = {
            let mut s = state.borrow_mut();
            s.busy = false;
            s.stream = None;
            s.on_pulled.clone()
        };
        match outcome {
            Ok(()) => {
                app::toast(&format!("Pulled {name}"), Tone::Info);
                on_pulled();
            }
            Err(err) => {
                let _ = lines.append_child(&el("div").class("line error").text(&err.message).0);
                app::toast(&format!("Pull {name}: {}", err.message), Tone::Error);
            }
        }
    });
}

/// Applies one message to the board and to its element.
fn draw(lines: &Element, board: &mut Board, message: &registry::ProgressMessage) {
    match board.apply(message) {
        Some(Change::Append(text)) => {
            let _ = lines.append_child(&el("div").class("line").text(&text).0);
        }
        Some(Change::Rewrite { up, text }) => {
            // Walked up from the bottom: a rewritten line is near it (the layers of one pull).
            let mut line = lines.last_element_child();
            for _ in 0..up {
                line = line.and_then(|l| l.previous_element_sibling());
            }
            if let Some(line) = line {
                line.set_text_content(Some(&text));
            }
        }
        None => {}
    }
}

/// Checks a registry login with the daemon and keeps it for this session.
fn log_in(
    weak: &Weak<RefCell<Pull>>,
    server: &HtmlInputElement,
    user: &HtmlInputElement,
    password: &HtmlInputElement,
) {
    let Some(state) = weak.upgrade() else { return };
    let address = server.value().trim().to_owned();
    let auth = RegistryAuth {
        username: user.value().trim().to_owned(),
        password: password.value(),
        serveraddress: if address.is_empty() {
            DOCKER_HUB.to_owned()
        } else {
            address
        },
        ..RegistryAuth::default()
    };
    if auth.username.is_empty() || auth.password.is_empty() {
        app::toast(
            "Registry login: a user name and a password are needed",
            Tone::Error,
        );
        return;
    }
    let api = state.borrow().api.clone();
    let password = password.clone();
    let weak = weak.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let shown = auth.serveraddress.clone();
        match api.call(|f| registry::login_request(f, &auth)).await {
            Ok(answer) => {
                password.set_value("");
                api.logins
                    .borrow_mut()
                    .remember(auth, answer.identity_token.as_deref());
                app::toast(&format!("Logged in to {shown}"), Tone::Info);
                if let Some(state) = weak.upgrade() {
                    render_logins(&state);
                }
            }
            Err(err) => app::toast(&format!("Login to {shown}: {}", err.message), Tone::Error),
        }
    });
}

/// The session's registry logins, each with a button that forgets it.
fn render_logins(state: &Rc<RefCell<Pull>>) {
    let (api, list) = {
        let s = state.borrow();
        (s.api.clone(), s.logins.clone())
    };
    let mut listeners = Listeners::default();
    dom::clear(&list);
    for (registry, user) in api.logins.borrow().list() {
        let weak = Rc::downgrade(state);
        let forget_api = api.clone();
        let key = registry.clone();
        let forget = el("button")
            .class("small")
            .attr("type", "button")
            .attr("aria-label", &format!("Log out of {registry}"))
            .text("Log out")
            .on(&mut listeners, "click", move |_| {
                forget_api.logins.borrow_mut().forget(&key);
                if let Some(state) = weak.upgrade() {
                    render_logins(&state);
                }
            });
        let item = el("li")
            .child(el("span").text(&format!("{user} @ {registry}")))
            .child(forget);
        let _ = list.append_child(&item.0);
    }
    state.borrow_mut().logins_listeners = listeners;
}
