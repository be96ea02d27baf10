//! A few lines over web-sys to build elements: `el("button").class("danger").text("Stop")`.
//!
//! The console writes the DOM directly rather than through a framework: its lists are windowed by hand
//! anyway (only the rows on screen exist), and every kilobyte a framework adds is one more on the
//! wire (see the README's "The browser console"). Text goes in with `textContent`, never `innerHTML`,
//! so nothing a container or a daemon says can become markup.
//!
//! Listeners are `gloo_events::EventListener`s: a view keeps those it makes in a [`Listeners`] and they
//! are removed when the view is dropped (no closure leaked per navigation).

use gloo_events::{EventListener, EventListenerOptions};
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, Event, HtmlElement, HtmlInputElement, Node, Window};

pub fn window() -> Window {
    web_sys::window().expect_throw_msg("no window: the console runs in a page")
}

pub fn document() -> Document {
    window()
        .document()
        .expect_throw_msg("no document: the console runs in a page")
}

/// `expect` for the few things a page always has (a window, a document, `body`): there is nothing to
/// do without them but say so in the console.
trait ExpectThrow<T> {
    fn expect_throw_msg(self, message: &str) -> T;
}

impl<T> ExpectThrow<T> for Option<T> {
    fn expect_throw_msg(self, message: &str) -> T {
        match self {
            Some(value) => value,
            None => wasm_bindgen::throw_str(message),
        }
    }
}

/// An element under construction.
#[derive(Clone, Debug)]
pub struct El(pub Element);

/// A new `<tag>`.
pub fn el(tag: &str) -> El {
    match document().create_element(tag) {
        Ok(element) => El(element),
        Err(_) => wasm_bindgen::throw_str("the browser refused to create an element"),
    }
}

impl El {
    pub fn class(self, class: &str) -> Self {
        let list = self.0.class_list();
        for name in class.split_whitespace() {
            let _ = list.add_1(name);
        }
        self
    }

    /// Adds `class` when `on`.
    pub fn class_if(self, class: &str, on: bool) -> Self {
        if on {
            self.class(class)
        } else {
            self
        }
    }

    pub fn attr(self, name: &str, value: &str) -> Self {
        let _ = self.0.set_attribute(name, value);
        self
    }

    /// The text of the element, as text (never parsed as HTML).
    pub fn text(self, text: &str) -> Self {
        self.0.set_text_content(Some(text));
        self
    }

    pub fn child(self, child: impl AsNode) -> Self {
        let _ = self.0.append_child(child.as_node());
        self
    }

    pub fn children<I>(self, children: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsNode,
    {
        for child in children {
            let _ = self.0.append_child(child.as_node());
        }
        self
    }

    /// Calls `handler` on each `event`, for as long as `listeners` lives.
    pub fn on(
        self,
        listeners: &mut Listeners,
        event: &'static str,
        handler: impl FnMut(&Event) + 'static,
    ) -> Self {
        listeners.on(&self.0, event, handler);
        self
    }

    pub fn html(&self) -> HtmlElement {
        self.0.clone().unchecked_into()
    }

    pub fn input(&self) -> HtmlInputElement {
        self.0.clone().unchecked_into()
    }
}

/// What can be appended: elements and text.
pub trait AsNode {
    fn as_node(&self) -> &Node;
}

impl AsNode for El {
    fn as_node(&self) -> &Node {
        &self.0
    }
}

impl AsNode for &El {
    fn as_node(&self) -> &Node {
        &self.0
    }
}

impl AsNode for Element {
    fn as_node(&self) -> &Node {
        self
    }
}

impl AsNode for &Element {
    fn as_node(&self) -> &Node {
        self
    }
}

/// Asks `question` in the browser's own dialog; false when refused or when no dialog can be shown.
pub fn confirm(question: &str) -> bool {
    window().confirm_with_message(question).unwrap_or(false)
}

/// A text node.
pub fn text(text: &str) -> Element {
    // A `<span>` rather than a Text node keeps `AsNode` to elements; the cost is nil.
    el("span").text(text).0
}

/// Removes every child of `parent`.
pub fn clear(parent: &Element) {
    parent.set_text_content(None);
}

/// Replaces the children of `parent` with `child`.
pub fn replace(parent: &Element, child: impl AsNode) {
    clear(parent);
    let _ = parent.append_child(child.as_node());
}

/// Event listeners that go when this does.
#[derive(Default)]
pub struct Listeners(Vec<EventListener>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Listeners({})", self.0.len())
    }
}

impl Listeners {
    pub fn on(
        &mut self,
        target: &web_sys::EventTarget,
        event: &'static str,
        handler: impl FnMut(&Event) + 'static,
    ) {
        self.on_boxed(target, event, Box::new(handler));
    }

    /// [`on`](Listeners::on) without generics: one copy of gloo's wrapping in the module, not one per
    /// handler (about 700 bytes each).
    fn on_boxed(
        &mut self,
        target: &web_sys::EventTarget,
        event: &'static str,
        mut handler: Box<dyn FnMut(&Event)>,
    ) {
        // Not passive (gloo's default): handlers may `preventDefault` (a form's submit, Enter in a
        // search box), which a passive listener cannot.
        self.0.push(EventListener::new_with_options(
            target,
            event,
            EventListenerOptions::enable_prevent_default(),
            move |e| handler(e),
        ));
    }
}

/// The element with `id` attribute `id`, if the page has it.
pub fn by_id(id: &str) -> Option<Element> {
    document().get_element_by_id(id)
}

/// The value of the input (or select, or textarea) `element`.
pub fn value(element: &Element) -> String {
    if let Some(input) = element.dyn_ref::<HtmlInputElement>() {
        return input.value();
    }
    if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
        return select.value();
    }
    if let Some(area) = element.dyn_ref::<web_sys::HtmlTextAreaElement>() {
        return area.value();
    }
    String::new()
}

/// Milliseconds since the page started (`performance.now()`).
pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// Resolves after `ms` milliseconds (0: in a later task, letting the browser draw and handle input).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// Offers `blob` to the user as the file `name` (a download), its URL revoked once the browser took it.
pub fn offer_download(blob: &web_sys::Blob, name: &str) {
    let Ok(url) = web_sys::Url::create_object_url_with_blob(blob) else {
        return;
    };
    let link = el("a")
        .attr("href", &url)
        .attr("download", name)
        .class("hidden");
    if let Some(body) = document().body() {
        let _ = body.append_child(&link.0);
    }
    link.html().click();
    link.0.remove();
    crate::app::gloo_timeout(10_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
}
