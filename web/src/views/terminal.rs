//! The terminal tab: a shell in the container (an exec with a TTY) in xterm.js, over the exec WebSocket
//! (client-wasm's `ExecSession`).
//!
//! - xterm.js 5.5 and its fit addon are vendored by the build (`/console/vendor/*.js`, served by
//!   wharfd) and loaded only when this tab opens: their UMD bundles (smaller than 6.0's ESM one) go
//!   in as `<script src>` elements, added once by a wasm-bindgen `inline_js` snippet (a module file
//!   trunk serves, not an inline script: the page's CSP allows no eval and no inline script), and
//!   define the globals `Terminal` and `FitAddon`. Its stylesheet is added as a `<link>` once.
//! - Bytes both ways as `Uint8Array`: keystrokes (xterm's `onData`, a string) go out as their UTF-8
//!   bytes, output goes into `term.write` as the bytes that came, never decoded on the way (a character
//!   split between two messages stays whole).
//! - The PTY starts at the size the fit addon computes and follows every change: a `ResizeObserver` on
//!   the terminal's box fits it again, and xterm's `onResize` sends the new size to the exec.
//! - When the socket closes the page says so, with the exit code when the daemon sent it. Leaving the
//!   tab, or the page (`pagehide`), closes the session, which kills the shell: nothing is left behind.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Element;
use wharf_client_core::api::exec;
use wharf_client_core::api::websocket::exec_ws_request;
use wharf_client_wasm::{ExecSession, Route};

use crate::api::Api;
use crate::app::Mounted;
use crate::dom::{self, el, Listeners};

/// The script loader and the style mirror (see [`adopt_styles`]) are JavaScript: wasm-bindgen writes this
/// snippet as a module file beside the app, so the CSP's `script-src 'self'` covers it.
#[wasm_bindgen(inline_js = r#"
const loading = new Map();
export function load(url) {
  if (!loading.has(url)) {
    loading.set(url, new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = url;
      script.onload = () => resolve(globalThis);
      script.onerror = () => { loading.delete(url); script.remove(); reject(new Error(`cannot load ${url}`)); };
      document.head.appendChild(script);
    }));
  }
  return loading.get(url);
}
export function adoptStyles(root) {
  const sheet = new CSSStyleSheet();
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  const sync = () => sheet.replaceSync([...root.querySelectorAll("style")].map((s) => s.textContent).join("\n"));
  const observer = new MutationObserver(sync);
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
}
"#)]
extern "C" {
    /// Runs the script at `url` (once: later calls share the first load) and resolves to
    /// `globalThis`, where the script defined its globals.
    #[wasm_bindgen(js_name = load)]
    fn load_script(url: &str) -> js_sys::Promise;

    /// Mirrors the text of the `<style>` elements under `root` into a constructed stylesheet adopted
    /// by the document, for as long as the returned function is not called.
    ///
    /// xterm.js's DOM renderer styles the terminal (colours, font, cursor, ANSI classes) with
    /// `<style>` elements it writes; under the console's CSP (`style-src 'self'`, no
    /// `'unsafe-inline'`) Chromium refuses to apply them and the terminal shows dim grey text in a
    /// proportional font without colours or cursor. A constructed stylesheet (`replaceSync`) is not
    /// an inline style: the same rules apply, and the policy stays strict. The refused `<style>`
    /// elements are still reported (console messages), harmlessly.
    #[wasm_bindgen(js_name = adoptStyles)]
    fn adopt_styles(root: &Element) -> Function;
}

const XTERM: &str = "/console/vendor/xterm.js";
const XTERM_CSS: &str = "/console/vendor/xterm.css";
const FIT: &str = "/console/vendor/addon-fit.js";
/// The shells offered; the first is the default (every image with a shell has it).
const SHELLS: [&str; 3] = ["/bin/sh", "/bin/bash", "/bin/ash"];

/// One terminal and its session.
#[derive(Default)]
struct Term {
    term: Option<JsValue>,
    fit: Option<JsValue>,
    session: Option<ExecSession>,
    observer: Option<web_sys::ResizeObserver>,
    /// Ends the style mirror.
    unadopt: Option<Function>,
    /// The size last sent: (rows, cols).
    size: (u32, u32),
    /// Bumped by each connection: callbacks of an older one do nothing.
    generation: u32,
}

impl Term {
    fn close_session(&mut self) {
        if let Some(session) = self.session.take() {
            session.close();
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        self.close_session();
        if let Some(observer) = self.observer.take() {
            observer.disconnect();
        }
        if let Some(term) = self.term.take() {
            let _ = call(&term, "dispose", &[]);
        }
        if let Some(unadopt) = self.unadopt.take() {
            let _ = unadopt.call0(&JsValue::NULL);
        }
    }
}

struct View {
    api: Api,
    id: String,
    host: Element,
    status: Element,
    shell: Element,
    connect: Element,
    term: RefCell<Term>,
    /// A connection is being made: another waits for it (one terminal, one session at a time).
    connecting: std::cell::Cell<bool>,
}

struct Guard {
    _view: Rc<View>,
    _listeners: Listeners,
}

pub fn mount(api: &Api, body: &Element, id: &str, status: &str) -> Mounted {
    let mut listeners = Listeners::default();
    let shell = el("select")
        .attr("aria-label", "Shell")
        .attr("data-control", "shell");
    for s in SHELLS {
        let _ = shell
            .0
            .append_child(&el("option").attr("value", s).text(s).0);
    }
    let connect = el("button")
        .attr("type", "button")
        .class("primary")
        .attr("data-action", "connect")
        .text("Connect");
    let toolbar = el("div").class("toolbar").child(&shell).child(&connect);
    let host = el("div").class("terminal").attr("data-state", "idle");
    let note = el("p").class("terminal-status").attr("role", "status");
    let _ = body.append_child(&toolbar.0);
    let _ = body.append_child(&host.0);
    let _ = body.append_child(&note.0);
    let view = Rc::new(View {
        api: api.clone(),
        id: id.to_owned(),
        host: host.0,
        status: note.0,
        shell: shell.0,
        connect: connect.0.clone(),
        term: RefCell::new(Term::default()),
        connecting: std::cell::Cell::new(false),
    });
    let weak = Rc::downgrade(&view);
    listeners.on(&connect.0, "click", move |_| {
        if let Some(view) = weak.upgrade() {
            spawn_connect(&view);
        }
    });
    let weak = Rc::downgrade(&view);
    listeners.on(&dom::window(), "pagehide", move |_| {
        if let Some(view) = weak.upgrade() {
            view.term.borrow_mut().close_session();
        }
    });
    if status == "running" {
        spawn_connect(&view);
    } else {
        say(
            &view,
            "The container is not running: start it to open a terminal.",
        );
    }
    Box::new(Guard {
        _view: view,
        _listeners: listeners,
    })
}

fn say(view: &View, text: &str) {
    view.status.set_text_content(Some(text));
}

fn spawn_connect(view: &Rc<View>) {
    if view.connecting.replace(true) {
        return;
    }
    let _ = view.connect.set_attribute("disabled", "");
    let weak = Rc::downgrade(view);
    wasm_bindgen_futures::spawn_local(async move {
        let result = connect(&weak).await;
        if let Some(view) = weak.upgrade() {
            view.connecting.set(false);
            let _ = view.connect.remove_attribute("disabled");
            if let Err(message) = result {
                say(&view, &message);
                let _ = view.host.set_attribute("data-state", "failed");
            }
        }
    });
}

/// `obj[name](...args)`.
fn call(obj: &JsValue, name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = Reflect::get(obj, &name.into())?.dyn_into()?;
    let list = Array::new();
    for a in args {
        list.push(a);
    }
    f.apply(obj, &list)
}

fn get(obj: &JsValue, name: &str) -> JsValue {
    Reflect::get(obj, &name.into()).unwrap_or(JsValue::UNDEFINED)
}

fn message(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| get(err, "message").as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// Adds xterm's stylesheet to the page, once.
fn add_stylesheet() {
    let document = dom::document();
    if document.get_element_by_id("xterm-css").is_some() {
        return;
    }
    let link = el("link")
        .attr("id", "xterm-css")
        .attr("rel", "stylesheet")
        .attr("href", XTERM_CSS);
    if let Ok(Some(head)) = document.query_selector("head") {
        let _ = head.append_child(&link.0);
    }
}

/// Creates the terminal (once) and returns it with its fit addon.
async fn terminal(view: &View) -> Result<(JsValue, JsValue), String> {
    if let (Some(t), Some(f)) = (&view.term.borrow().term, &view.term.borrow().fit) {
        return Ok((t.clone(), f.clone()));
    }
    add_stylesheet();
    let failed = |e: JsValue| format!("Cannot load the terminal (xterm.js): {}", message(&e));
    let xterm = JsFuture::from(load_script(XTERM)).await.map_err(failed)?;
    let globals = JsFuture::from(load_script(FIT)).await.map_err(failed)?;
    // The fit addon's bundle defines `FitAddon` as its module object, holding the class.
    let fit_module = get(&globals, "FitAddon");
    let options = Object::new();
    let set = |k: &str, v: JsValue| {
        let _ = Reflect::set(&options, &k.into(), &v);
    };
    set("cursorBlink", true.into());
    set("fontSize", 13.into());
    set(
        "fontFamily",
        "ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace".into(),
    );
    set("scrollback", 5000.into());
    let constructor: Function = get(&xterm, "Terminal").dyn_into().map_err(failed)?;
    let term = Reflect::construct(&constructor, &Array::of1(&options)).map_err(failed)?;
    let fit_class: Function = get(&fit_module, "FitAddon").dyn_into().map_err(failed)?;
    let fit = Reflect::construct(&fit_class, &Array::new()).map_err(failed)?;
    call(&term, "loadAddon", &[&fit]).map_err(failed)?;
    let unadopt = adopt_styles(&view.host);
    call(&term, "open", &[&view.host]).map_err(failed)?;
    let _ = call(&fit, "fit", &[]);
    let mut t = view.term.borrow_mut();
    t.unadopt = Some(unadopt);
    t.term = Some(term.clone());
    t.fit = Some(fit.clone());
    Ok((term, fit))
}

/// (rows, cols) of the terminal.
fn size(term: &JsValue) -> (u32, u32) {
    let n = |k: &str| get(term, k).as_f64().unwrap_or(0.0).max(1.0) as u32;
    (n("rows"), n("cols"))
}

/// Opens a shell in the container and wires it to the terminal.
async fn connect(weak: &Weak<View>) -> Result<(), String> {
    let Some(view) = weak.upgrade() else {
        return Ok(());
    };
    let (term, fit) = terminal(&view).await?;
    if !view.host.is_connected() {
        // The tab went while xterm.js loaded.
        return Ok(());
    }
    let generation = {
        let mut t = view.term.borrow_mut();
        t.close_session();
        t.generation += 1;
        t.generation
    };
    let shell = dom::value(&view.shell);
    let shell = if shell.is_empty() {
        SHELLS[0].to_owned()
    } else {
        shell
    };
    say(&view, &format!("Starting {shell}…"));
    let _ = view.host.set_attribute("data-state", "connecting");
    let (rows, cols) = size(&term);
    // An `ExecConfig` as JSON: the typed model's encoder would weigh more in the wasm.
    let config = serde_json::json!({
        "AttachStdin": true,
        "AttachStdout": true,
        "AttachStderr": true,
        "Tty": true,
        "Cmd": [shell],
        "Env": ["TERM=xterm-256color"],
        "ConsoleSize": [rows, cols],
    });
    let (api, id) = (view.api.clone(), view.id.clone());
    drop(view);
    let created = api
        .call(|f| exec::create_request_json(f, &id, &config))
        .await
        .map_err(|e| format!("Cannot start {shell}: {e}"))?;
    let url = wharf_client_wasm::session_url(&api.client, &api.base_url, |f| {
        exec_ws_request(f, &created.id, Some((rows, cols)))
    })
    .await
    .map_err(|e| format!("Cannot start {shell}: {}", message(&e)))?;
    let session = ExecSession::open(&url, true, Route::Exec)
        .await
        .map_err(|e| format!("Cannot connect to {shell}: {}", message(&e)))?;
    let Some(view) = weak.upgrade() else {
        session.close();
        return Ok(());
    };

    // Output: the bytes as they came.
    let out_term = term.clone();
    let on_output = Closure::<dyn FnMut(JsValue)>::new(move |entry: JsValue| {
        let data = get(&entry, "data");
        if data.is_instance_of::<Uint8Array>() {
            let _ = call(&out_term, "write", &[&data]);
        }
    });
    session.on_output(on_output.into_js_value().unchecked_into());

    // The end: say it, with the exit code when there is one.
    let (w, exit_term, exit_shell) = (weak.clone(), term.clone(), shell.clone());
    let on_exit = Closure::<dyn FnMut(JsValue)>::new(move |code: JsValue| {
        let Some(view) = w.upgrade() else { return };
        if view.term.borrow().generation != generation {
            return;
        }
        let text = match code.as_f64() {
            Some(code) => {
                format!("{exit_shell} exited with code {code}. Connect to start another.")
            }
            None => format!("The connection to {exit_shell} closed. Connect to start another."),
        };
        let _ = call(
            &exit_term,
            "write",
            &[&JsValue::from(format!("\r\n\x1b[2m[{text}]\x1b[0m\r\n"))],
        );
        say(&view, &text);
        let _ = view.host.set_attribute("data-state", "closed");
        view.term.borrow_mut().session = None;
    });
    session.on_exit(on_exit.into_js_value().unchecked_into());

    // Input: keystrokes as UTF-8 bytes; `onBinary` (some mouse reports) one byte per character.
    let w = weak.clone();
    let on_data = Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| {
        let Some(text) = data.as_string() else { return };
        send(&w, text.as_bytes());
    });
    let w = weak.clone();
    let on_binary = Closure::<dyn FnMut(JsValue)>::new(move |data: JsValue| {
        let Some(text) = data.as_string() else { return };
        let bytes: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
        send(&w, &bytes);
    });
    // Size: each change goes to the PTY.
    let w = weak.clone();
    let on_resize = Closure::<dyn FnMut(JsValue)>::new(move |size: JsValue| {
        let rows = get(&size, "rows").as_f64().unwrap_or(0.0) as u32;
        let cols = get(&size, "cols").as_f64().unwrap_or(0.0) as u32;
        resize(&w, rows, cols);
    });
    {
        let mut t = view.term.borrow_mut();
        if t.observer.is_none() {
            // Registered once per terminal: they outlive a connection (the generation filters).
            let _ = call(&term, "onData", &[&on_data.into_js_value()]);
            let _ = call(&term, "onBinary", &[&on_binary.into_js_value()]);
            let _ = call(&term, "onResize", &[&on_resize.into_js_value()]);
            let fit = fit.clone();
            let observed = Closure::<dyn FnMut(JsValue)>::new(move |_entries: JsValue| {
                let _ = call(&fit, "fit", &[]);
            });
            if let Ok(observer) =
                web_sys::ResizeObserver::new(observed.into_js_value().unchecked_ref())
            {
                observer.observe(&view.host);
                t.observer = Some(observer);
            }
        }
        if t.generation != generation {
            // A newer connection began meanwhile: this one is not wanted.
            session.close();
            return Ok(());
        }
        t.close_session();
        t.session = Some(session);
        t.size = (rows, cols);
    }
    // The size may have changed while connecting.
    let _ = call(&fit, "fit", &[]);
    let (rows_now, cols_now) = size(&term);
    if (rows_now, cols_now) != (rows, cols) {
        resize(weak, rows_now, cols_now);
    }
    say(&view, &format!("Connected: {shell}"));
    view.connect.set_text_content(Some("New session"));
    let _ = view.host.set_attribute("data-state", "open");
    let _ = call(&term, "focus", &[]);
    Ok(())
}

/// Sends keystrokes to whichever session is current.
fn send(weak: &Weak<View>, bytes: &[u8]) {
    let Some(view) = weak.upgrade() else { return };
    let t = view.term.borrow();
    if let Some(session) = &t.session {
        let _ = session.write(Uint8Array::from(bytes).into());
    }
}

fn resize(weak: &Weak<View>, rows: u32, cols: u32) {
    let Some(view) = weak.upgrade() else { return };
    let mut t = view.term.borrow_mut();
    if rows == 0 || cols == 0 || t.size == (rows, cols) {
        return;
    }
    if let Some(session) = &t.session {
        if session.resize(rows, cols).is_ok() {
            t.size = (rows, cols);
        }
    }
}
