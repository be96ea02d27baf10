//! The stats tab: CPU % and memory from the stats stream (one sample a second), as text and as charts of
//! the last two minutes on `<canvas>`es. CPU % and memory are computed as `docker stats` does
//! (client-core's `stats::Usage`, the part of a sample they come from, read alone: the page cache the
//! kernel reclaims first is not counted). Leaving the tab drops its guard, which ends the stream at
//! once.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, Element, HtmlCanvasElement};
use wharf_client_core::stats::Usage;

use crate::api::{Api, ApiError};
use crate::app::Mounted;
use crate::dom::{self, el};
use crate::views::cancel::{or_cancel, Cancel, Canceller};
use crate::views::chart::{self, Series};
use crate::views::format;

struct Stats {
    cpu: Series,
    mem: Series,
    limit: u64,
    cpu_canvas: HtmlCanvasElement,
    mem_canvas: HtmlCanvasElement,
    cpu_text: Element,
    mem_text: Element,
    status: Element,
}

struct Guard {
    _state: Rc<RefCell<Stats>>,
    _cancel: Canceller,
}

pub fn mount(api: &Api, body: &Element, id: &str, status: &str) -> Mounted {
    let cpu_text = el("span")
        .class("value")
        .attr("data-value", "cpu")
        .text("—");
    let mem_text = el("span")
        .class("value")
        .attr("data-value", "memory")
        .text("—");
    let cpu_canvas = el("canvas")
        .class("chart")
        .attr("role", "img")
        .attr("aria-label", "CPU % over the last two minutes");
    let mem_canvas = el("canvas")
        .class("chart")
        .attr("role", "img")
        .attr("aria-label", "Memory over the last two minutes");
    let note = el("p")
        .class("muted stats-status")
        .attr("aria-live", "polite");
    if status != "running" {
        note.0.set_text_content(Some(
            "The container is not running: no samples until it is.",
        ));
    }
    let panel = |title: &str, value: &crate::dom::El, canvas: &crate::dom::El| {
        el("article")
            .class("card stat")
            .child(el("h2").child(dom::text(title)).child(value))
            .child(canvas)
    };
    let grid = el("div")
        .class("stats-grid")
        .child(panel("CPU ", &cpu_text, &cpu_canvas))
        .child(panel("Memory ", &mem_text, &mem_canvas));
    let _ = body.append_child(&grid.0);
    let _ = body.append_child(&note.0);
    let state = Rc::new(RefCell::new(Stats {
        cpu: Series::default(),
        mem: Series::default(),
        limit: 0,
        cpu_canvas: cpu_canvas.0.unchecked_into(),
        mem_canvas: mem_canvas.0.unchecked_into(),
        cpu_text: cpu_text.0,
        mem_text: mem_text.0,
        status: note.0,
    }));
    let cancel = Canceller::default();
    let (weak, token, api, id) = (
        Rc::downgrade(&state),
        cancel.token(),
        api.clone(),
        id.to_owned(),
    );
    wasm_bindgen_futures::spawn_local(async move { follow(weak, api, id, token).await });
    Box::new(Guard {
        _state: state,
        _cancel: cancel,
    })
}

async fn follow(weak: Weak<RefCell<Stats>>, api: Api, id: String, cancel: Cancel) {
    let mut stream = match or_cancel(&cancel, api.client.stats_stream::<Usage>(&id)).await {
        None => return,
        Some(Ok(stream)) => stream,
        Some(Err(err)) => {
            if let Some(s) = weak.upgrade() {
                s.borrow()
                    .status
                    .set_text_content(Some(&ApiError::from(err).message));
            }
            return;
        }
    };
    while let Some(item) = or_cancel(&cancel, stream.next()).await {
        let Some(state) = weak.upgrade() else { return };
        let mut s = state.borrow_mut();
        match item {
            Some(Ok(sample)) => {
                let cpu = sample.cpu_percent();
                let usage = sample.memory_usage();
                s.cpu.push(cpu);
                s.mem.push(usage as f64);
                s.limit = sample.memory_stats.limit;
                s.cpu_text.set_text_content(Some(&format!("{cpu:.2} %")));
                let mem = if s.limit > 0 {
                    format!(
                        "{} / {} ({:.2} %)",
                        format::mebibytes(usage),
                        format::mebibytes(s.limit),
                        sample.memory_percent()
                    )
                } else {
                    format::mebibytes(usage)
                };
                s.mem_text.set_text_content(Some(&mem));
                draw(&s);
            }
            Some(Err(err)) => {
                s.status
                    .set_text_content(Some(&ApiError::from(err).message));
                return;
            }
            None => {
                s.status
                    .set_text_content(Some("The stats stream ended (the container stopped?)."));
                return;
            }
        }
    }
}

fn draw(s: &Stats) {
    if s.cpu.is_empty() {
        return;
    }
    let cpu_max = chart::nice_max(s.cpu.max(), 1.0);
    plot(&s.cpu_canvas, &s.cpu, cpu_max, &format!("{cpu_max} %"));
    // Memory: scaled to what it used (the limit is often the host's memory, which would flatten it).
    let mem_max = chart::nice_max(s.mem.max(), 1024.0 * 1024.0);
    plot(
        &s.mem_canvas,
        &s.mem,
        mem_max,
        &format::mebibytes(mem_max as u64),
    );
}

/// A CSS custom property's value (`--accent`), for drawing in the theme's colours.
fn css_var(name: &str) -> String {
    let window = dom::window();
    let Some(root) = dom::document().document_element() else {
        return String::new();
    };
    match window.get_computed_style(&root) {
        Ok(Some(style)) => style
            .get_property_value(name)
            .unwrap_or_default()
            .trim()
            .to_owned(),
        _ => String::new(),
    }
}

/// Draws `series` on `canvas`, `max` at the top, gridlines at quarters, `top_label` at the top left.
fn plot(canvas: &HtmlCanvasElement, series: &Series, max: f64, top_label: &str) {
    let ratio = dom::window().device_pixel_ratio().max(1.0);
    let (w, h) = (
        f64::from(canvas.client_width()),
        f64::from(canvas.client_height()),
    );
    if w <= 0.0 || h <= 0.0 {
        return;
    }
    let (pw, ph) = ((w * ratio).round() as u32, (h * ratio).round() as u32);
    if canvas.width() != pw || canvas.height() != ph {
        canvas.set_width(pw);
        canvas.set_height(ph);
    }
    let Some(ctx) = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<CanvasRenderingContext2d>().ok())
    else {
        return;
    };
    let _ = ctx.set_transform(ratio, 0.0, 0.0, ratio, 0.0, 0.0);
    ctx.clear_rect(0.0, 0.0, w, h);
    let (accent, grid, muted) = (css_var("--accent"), css_var("--border"), css_var("--muted"));
    let pad = 4.0;
    let (cw, ch) = (w - 2.0 * pad, h - 2.0 * pad);
    ctx.set_stroke_style_str(&grid);
    ctx.set_line_width(1.0);
    for i in 1..4 {
        let y = pad + ch * f64::from(i) / 4.0;
        ctx.begin_path();
        ctx.move_to(pad, y.round() + 0.5);
        ctx.line_to(pad + cw, y.round() + 0.5);
        ctx.stroke();
    }
    ctx.set_fill_style_str(&muted);
    ctx.set_font("11px system-ui, sans-serif");
    let _ = ctx.fill_text(top_label, pad + 2.0, pad + 11.0);
    let points = chart::points(series, cw, ch, max);
    let Some(&(x0, _)) = points.first() else {
        return;
    };
    ctx.begin_path();
    for (i, &(x, y)) in points.iter().enumerate() {
        if i == 0 {
            ctx.move_to(pad + x, pad + y);
        } else {
            ctx.line_to(pad + x, pad + y);
        }
    }
    ctx.set_stroke_style_str(&accent);
    ctx.set_line_width(1.5);
    ctx.stroke();
    // The area under the line, faintly.
    if let Some(&(xn, _)) = points.last() {
        ctx.line_to(pad + xn, pad + ch);
        ctx.line_to(pad + x0, pad + ch);
        ctx.close_path();
        ctx.set_global_alpha(0.15);
        ctx.set_fill_style_str(&accent);
        ctx.fill();
        ctx.set_global_alpha(1.0);
    }
}
