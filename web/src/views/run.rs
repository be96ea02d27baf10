//! The run form: what `docker run -d` takes that a person running a container from a browser needs
//! (image, name, command, env, mounts, restart policy, memory and CPU limits, TTY, stdin, auto-remove),
//! with the equivalent `docker run` line below it, kept up to date while the user types, to copy.
//!
//! Parsing, the line and the request's body are `runline.rs` (tested natively); this module is the DOM
//! and the requests: create with the body the docker CLI would send, start, then the container's logs.

use std::collections::HashMap;
use std::rc::Rc;

use serde_json::Value;
use wasm_bindgen::JsCast;
use web_sys::{Element, Event, HtmlElement};
use wharf_client_core::api::containers::{self, CreateOptions};
use wharf_client_core::api::images::{self, ListOptions as ImageListOptions};

use crate::api::{Api, ApiError};
use crate::app::{self, Mounted};
use crate::dom::{self, el, El, Listeners};
use crate::views::runline::{self, Form, Restart, Spec};

/// The view's guard: its listeners.
struct Guard {
    _listeners: Rc<Listeners>,
}

/// The form's inputs, by [`Form`]'s field names.
#[derive(Clone)]
struct Fields {
    inputs: HashMap<&'static str, Element>,
    retries: Element,
    errors: HashMap<&'static str, Element>,
}

impl Fields {
    fn value(&self, name: &str) -> String {
        self.inputs.get(name).map(dom::value).unwrap_or_default()
    }

    fn checked(&self, name: &str) -> bool {
        self.inputs
            .get(name)
            .and_then(|e| e.dyn_ref::<web_sys::HtmlInputElement>())
            .is_some_and(|i| i.checked())
    }

    fn read(&self) -> Form {
        let restart = self.value("restart");
        let retries = dom::value(&self.retries);
        let restart = if restart == "on-failure" && !retries.trim().is_empty() {
            format!("on-failure:{}", retries.trim())
        } else {
            restart
        };
        Form {
            image: self.value("image"),
            name: self.value("name"),
            command: self.value("command"),
            env: self.value("env"),
            mounts: self.value("mounts"),
            restart,
            memory: self.value("memory"),
            cpus: self.value("cpus"),
            tty: self.checked("tty"),
            interactive: self.checked("interactive"),
            auto_remove: self.checked("auto_remove"),
        }
    }

    /// Fills the inputs from `form` (a pasted line).
    fn write(&self, form: &Form) -> Result<(), String> {
        let (policy, retries) = match runline::parse_restart(form.restart.trim())? {
            Restart::OnFailure(n) => ("on-failure", n.map(|n| n.to_string()).unwrap_or_default()),
            other => (other.name(), String::new()),
        };
        let set = |name: &str, value: &str| {
            if let Some(input) = self.inputs.get(name) {
                set_value(input, value);
            }
        };
        set("image", &form.image);
        set("name", &form.name);
        set("command", &form.command);
        set("env", &form.env);
        set("mounts", &form.mounts);
        set("restart", policy);
        set_value(&self.retries, &retries);
        if let Some(input) = self.retries.dyn_ref::<web_sys::HtmlInputElement>() {
            input.set_disabled(policy != "on-failure");
        }
        set("memory", &form.memory);
        set("cpus", &form.cpus);
        for (name, on) in [
            ("tty", form.tty),
            ("interactive", form.interactive),
            ("auto_remove", form.auto_remove),
        ] {
            if let Some(input) = self
                .inputs
                .get(name)
                .and_then(|e| e.dyn_ref::<web_sys::HtmlInputElement>())
            {
                input.set_checked(on);
            }
        }
        Ok(())
    }

    fn clear_errors(&self) {
        for (name, error) in &self.errors {
            error.set_text_content(None);
            if let Some(input) = self.inputs.get(name) {
                let _ = input.remove_attribute("aria-invalid");
            }
        }
    }

    fn show_error(&self, field: &str, message: &str) {
        if let Some(error) = self.errors.get(field) {
            error.set_text_content(Some(message));
        }
        if let Some(input) = self.inputs.get(field) {
            let _ = input.set_attribute("aria-invalid", "true");
            if let Some(input) = input.dyn_ref::<HtmlElement>() {
                let _ = input.focus();
            }
        }
    }
}

fn set_value(element: &Element, value: &str) {
    if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.set_value(value);
    } else if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        area.set_value(value);
    }
}

/// One labelled field: its label, the input, a hint and where its error goes.
fn field(
    fields: &mut Fields,
    name: &'static str,
    label: &str,
    input: El,
    hint: Option<&str>,
) -> El {
    let id = format!("run-{name}");
    let error_id = format!("{id}-error");
    let input = input
        .attr("id", &id)
        .attr("name", name)
        .attr("aria-describedby", &error_id);
    let error = el("p").class("field-error").attr("id", &error_id);
    fields.inputs.insert(name, input.0.clone());
    fields.errors.insert(name, error.0.clone());
    let mut wrap = el("div")
        .class("field")
        .child(el("label").attr("for", &id).text(label))
        .child(input);
    if let Some(hint) = hint {
        wrap = wrap.child(el("p").class("hint").text(hint));
    }
    wrap.child(error)
}

fn check(fields: &mut Fields, name: &'static str, label: &str) -> El {
    let id = format!("run-{name}");
    let input = el("input")
        .attr("type", "checkbox")
        .attr("id", &id)
        .attr("name", name);
    fields.inputs.insert(name, input.0.clone());
    el("label")
        .class("check")
        .child(input)
        .child(dom::text(label))
}

pub fn mount(api: &Api, main: &Element) -> Mounted {
    let page = app::page("Run a container").class("run-page");
    let _ = main.append_child(&page.0);
    if !api.role.can_operate() {
        let _ = page.0.append_child(
            &el("p")
                .class("error")
                .text(&format!(
                    "Your role ({}) may not run containers.",
                    api.role.as_str()
                ))
                .0,
        );
        return Box::new(Guard {
            _listeners: Rc::new(Listeners::default()),
        });
    }
    let mut listeners = Listeners::default();
    let mut fields = Fields {
        inputs: HashMap::new(),
        retries: el("input").0,
        errors: HashMap::new(),
    };

    let datalist = el("datalist").attr("id", "run-images");
    let image = field(
        &mut fields,
        "image",
        "Image",
        el("input")
            .attr("list", "run-images")
            .attr("required", "")
            .attr("autocomplete", "off")
            .attr("placeholder", "busybox:latest"),
        None,
    );
    let name = field(
        &mut fields,
        "name",
        "Name",
        el("input")
            .attr("autocomplete", "off")
            .attr("placeholder", "optional"),
        None,
    );
    let command = field(
        &mut fields,
        "command",
        "Command",
        el("input")
            .class("mono")
            .attr("autocomplete", "off")
            .attr("spellcheck", "false")
            .attr("placeholder", "sh -c 'echo hello; sleep 3600'"),
        Some("Split as a shell splits it; empty runs the image's own command."),
    );
    let env = field(
        &mut fields,
        "env",
        "Environment",
        el("textarea")
            .attr("rows", "3")
            .attr("spellcheck", "false")
            .attr("placeholder", "KEY=VALUE"),
        Some("KEY=VALUE, one a line."),
    );
    let mounts = field(
        &mut fields,
        "mounts",
        "Mounts",
        el("textarea")
            .attr("rows", "3")
            .attr("spellcheck", "false")
            .attr("placeholder", "/srv/data:/data:ro\ntmpfs /run:size=64m"),
        Some("SOURCE:TARGET[:ro] for a bind mount or volume, tmpfs TARGET[:OPTIONS] for a tmpfs; one a line."),
    );
    let restart_select = el("select");
    for (value, label) in [
        ("no", "no"),
        ("always", "always"),
        ("unless-stopped", "unless-stopped"),
        ("on-failure", "on-failure"),
    ] {
        let _ = restart_select
            .0
            .append_child(&el("option").attr("value", value).text(label).0);
    }
    let restart = field(
        &mut fields,
        "restart",
        "Restart policy",
        restart_select,
        None,
    );
    let retries = el("input")
        .attr("type", "number")
        .attr("min", "0")
        .attr("id", "run-retries")
        .attr("inputmode", "numeric")
        .attr("placeholder", "unlimited");
    retries.input().set_disabled(true);
    fields.retries = retries.0.clone();
    let retries_field = el("div")
        .class("field")
        .child(
            el("label")
                .attr("for", "run-retries")
                .text("Maximum retries (on-failure)"),
        )
        .child(retries);
    let memory = field(
        &mut fields,
        "memory",
        "Memory limit",
        el("input")
            .attr("autocomplete", "off")
            .attr("placeholder", "256m"),
        Some("As docker run -m: 256m, 1g…"),
    );
    let cpus = field(
        &mut fields,
        "cpus",
        "CPUs",
        el("input")
            .attr("inputmode", "decimal")
            .attr("autocomplete", "off")
            .attr("placeholder", "1.5"),
        None,
    );
    let checks = el("div")
        .class("checks")
        .child(check(&mut fields, "tty", "Allocate a TTY (-t)"))
        .child(check(&mut fields, "interactive", "Keep stdin open (-i)"))
        .child(check(
            &mut fields,
            "auto_remove",
            "Remove when it exits (--rm)",
        ));

    let submit = el("button")
        .attr("type", "submit")
        .class("primary")
        .text("Run");
    let form_error = el("p").class("error form-error").attr("role", "alert");
    let form = el("form")
        .class("card run-form")
        .attr("novalidate", "")
        .child(datalist.clone())
        .child(
            el("div")
                .class("form-grid")
                .child(image)
                .child(name)
                .child(command.class("wide"))
                .child(memory)
                .child(cpus)
                .child(restart)
                .child(retries_field),
        )
        .child(el("div").class("form-grid two").child(env).child(mounts))
        .child(checks)
        .child(el("div").class("actions").child(&submit))
        .child(&form_error);

    let line = el("code").attr("id", "run-line").attr("data-run-line", "");
    let copy = el("button")
        .attr("type", "button")
        .class("small")
        .attr("aria-label", "Copy the docker run line")
        .text("Copy");
    let copied = el("span").class("muted").attr("role", "status");
    let paste = el("input")
        .attr("id", "run-paste")
        .class("mono")
        .attr("spellcheck", "false")
        .attr("placeholder", "docker run -d --name web busybox sleep 3600");
    let fill = el("button")
        .attr("type", "button")
        .class("small")
        .text("Fill the form");
    let paste_error = el("p").class("field-error").attr("role", "alert");
    let equivalent = el("section")
        .class("card runline")
        .attr("aria-labelledby", "run-line-title")
        .child(
            el("div")
                .class("runline-head")
                .child(
                    el("h2")
                        .attr("id", "run-line-title")
                        .text("The same with the docker CLI"),
                )
                .child(&copy)
                .child(&copied),
        )
        .child(el("pre").child(&line))
        .child(
            el("details")
                .child(el("summary").text("Fill the form from a docker run line"))
                .child(
                    el("label")
                        .attr("for", "run-paste")
                        .class("visually-hidden")
                        .text("A docker run line"),
                )
                .child(el("div").class("paste").child(&paste).child(&fill))
                .child(&paste_error),
        );
    let _ = page.0.append_child(&form.0);
    let _ = page.0.append_child(&equivalent.0);

    // The line follows the form.
    let update = {
        let (fields, line) = (fields.clone(), line.0.clone());
        move || line.set_text_content(Some(&runline::line(&fields.read())))
    };
    update();
    {
        let (fields, update) = (fields.clone(), update.clone());
        let on_input = move |_: &Event| {
            fields.clear_errors();
            let on_failure = fields.value("restart") == "on-failure";
            if let Some(retries) = fields.retries.dyn_ref::<web_sys::HtmlInputElement>() {
                retries.set_disabled(!on_failure);
            }
            update();
        };
        listeners.on(&form.0, "input", on_input.clone());
        listeners.on(&form.0, "change", on_input);
    }
    {
        let (line, copied) = (line.0.clone(), copied.0.clone());
        listeners.on(&copy.0, "click", move |_| {
            let text = line.text_content().unwrap_or_default();
            let copied = copied.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let done = match copy_text(&text).await {
                    Ok(()) => "Copied.".to_owned(),
                    Err(err) => format!("Cannot copy: {err}"),
                };
                copied.set_text_content(Some(&done));
            });
        });
    }
    {
        let (fields, paste, paste_error, update) = (
            fields.clone(),
            paste.0.clone(),
            paste_error.0.clone(),
            update.clone(),
        );
        listeners.on(&fill.0, "click", move |_| {
            let result =
                runline::form_from_line(&dom::value(&paste)).and_then(|f| fields.write(&f));
            match result {
                Ok(()) => {
                    paste_error.set_text_content(None);
                    update();
                }
                Err(err) => paste_error.set_text_content(Some(&err)),
            }
        });
    }
    {
        let (api, fields, submit, form_error) = (
            api.clone(),
            fields.clone(),
            submit.html(),
            form_error.0.clone(),
        );
        listeners.on(&form.0, "submit", move |event| {
            event.prevent_default();
            fields.clear_errors();
            form_error.set_text_content(None);
            let spec = match runline::spec(&fields.read()) {
                Ok(spec) => spec,
                Err(err) => {
                    fields.show_error(err.field, &err.message);
                    return;
                }
            };
            let (api, submit, form_error) = (api.clone(), submit.clone(), form_error.clone());
            let _ = submit.set_attribute("disabled", "");
            form_error.set_text_content(Some("Creating…"));
            wasm_bindgen_futures::spawn_local(async move {
                match run(&api, &spec, &form_error).await {
                    Ok(id) => app::navigate(&app::container_href(&id, "logs")),
                    Err(message) => form_error.set_text_content(Some(&message)),
                }
                let _ = submit.remove_attribute("disabled");
            });
        });
    }

    // The local images, for the image field's suggestions.
    let (api, datalist) = (api.clone(), datalist.0.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let list = api
            .call(
                |f| Ok(images::list_request(f, &ImageListOptions::default()).expecting::<Value>()),
            )
            .await;
        if let Ok(list) = list {
            let list = list.as_array().map(Vec::as_slice).unwrap_or_default();
            let mut tags: Vec<String> = list
                .iter()
                .flat_map(crate::views::images::repo_tags)
                .filter(|t| t != "<none>:<none>")
                .collect();
            tags.sort();
            tags.dedup();
            for tag in tags {
                let _ = datalist.append_child(&el("option").attr("value", &tag).0);
            }
        }
    });
    if let Some(input) = fields
        .inputs
        .get("image")
        .and_then(|i| i.dyn_ref::<HtmlElement>())
    {
        let _ = input.focus();
    }
    Box::new(Guard {
        _listeners: Rc::new(listeners),
    })
}

/// Creates and starts the container; its ID, or what to tell the user.
async fn run(api: &Api, spec: &Spec, status: &Element) -> Result<String, String> {
    let options = CreateOptions {
        name: spec.name.clone(),
        platform: None,
    };
    let body = spec.body();
    let created = api
        .call(|f| containers::create_request_json(f, &body, &options))
        .await
        .map_err(|e| e.message)?;
    status.set_text_content(Some("Starting…"));
    if let Err(err) = api.client.start_container(&created.id).await {
        let err = ApiError::from(err);
        return Err(format!(
            "Created {}, but it did not start: {}",
            spec.name.as_deref().unwrap_or(&created.id),
            err.message
        ));
    }
    Ok(created.id)
}

/// Puts `text` on the clipboard (`navigator.clipboard.writeText`, called by name: web-sys marks the
/// Clipboard API unstable).
async fn copy_text(text: &str) -> Result<(), String> {
    let navigator = js_sys::Reflect::get(&dom::window(), &"navigator".into())
        .map_err(|_| "this page has no navigator".to_owned())?;
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into())
        .ok()
        .filter(|c| !c.is_undefined())
        .ok_or("this page has no clipboard (it needs HTTPS or localhost)")?;
    let write: js_sys::Function = js_sys::Reflect::get(&clipboard, &"writeText".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or("this browser cannot write to the clipboard")?;
    let promise: js_sys::Promise = write
        .call1(&clipboard, &text.into())
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "writeText returned no promise".to_owned())?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|e| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "refused".to_owned())
        })
}
