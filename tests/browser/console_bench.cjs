// The page side of `cargo xtask bench`'s console workloads (xtask/src/bench/console.rs): one step per
// run (WHARF_STEP), its figures printed as one JSON line.
//
// - table: navigation (a returning user: the token already in the tab's storage) to the first rendered
//   containers table: `ms` from the navigation's start (performance.now(), whose origin it is) in a
//   fresh browser, `warmMs` the median of three more in the same browser.
// - table-and-appear: the same, then five containers created through the unix socket (WHARF_SOCKET)
//   while the table is open: `appearMs`, the median from each one's `create` event (its timeNano, the
//   daemon's clock) to its row on screen (a MutationObserver's Date.now(), the same host's clock).
// - log: the 100 000-line log of container `big`, all lines: `loadMs` to the last line in the model
//   and the longest frame meanwhile; then a search: `searchMs` and its longest frame.
"use strict";

const http = require("http");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const { chromium } = require(env("WHARF_PLAYWRIGHT_CORE"));
const BASE = env("WHARF_BASE");
const TOKEN = env("WHARF_TOKEN");
const STEP = env("WHARF_STEP");

/// A request to the daemon's unix socket; the parsed JSON answer (or the text, with `raw`).
function unix(method, path, body, raw) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath: env("WHARF_SOCKET"), method, path, headers: body ? { "content-type": "application/json" } : {} },
      (res) => {
        let data = "";
        res.on("data", (c) => { data += c; });
        res.on("end", () => {
          if (raw) return resolve(data);
          try { resolve(JSON.parse(data)); } catch (e) { resolve(data); }
        });
      },
    );
    req.on("error", reject);
    if (body) req.write(JSON.stringify(body));
    req.end();
  });
}

const MONITOR = (token) => {
  sessionStorage.setItem("wharf.token", token);
  window.__frames = [];
  let last = performance.now();
  const tick = (t) => { window.__frames.push([t, t - last]); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
};

/// Navigation to the first table with the containers in it: `cold` in a fresh browser (nothing cached,
/// the wasm compiled for the first time), then `warm`, the median of three navigations in the same
/// browser (files revalidated with their ETags, the compiled wasm cached), as a returning user.
async function firstTable(page) {
  const once = async () => {
    await page.goto(`${BASE}/#/containers`);
    await page.waitForFunction(() => document.querySelectorAll("main .table .row").length > 0 && /c0\d\d\d/.test(document.querySelector("main .table").textContent), null, { timeout: 60000, polling: "raf" });
    const ms = await page.evaluate(() => performance.now());
    await page.goto("about:blank");
    return ms;
  };
  const cold = await once();
  const warm = [await once(), await once(), await once()].sort((a, b) => a - b)[1];
  await page.goto(`${BASE}/#/containers`);
  await page.waitForSelector("main .table .row", { timeout: 60000 });
  return { cold, warm };
}

async function appear(page) {
  const latencies = [];
  for (let i = 0; i < 5; i++) {
    const name = `appear${i}`;
    await page.evaluate((name) => {
      window.__appeared = null;
      const main = document.querySelector("main");
      const observer = new MutationObserver(() => {
        if (window.__appeared === null && main.textContent.includes(name)) {
          window.__appeared = Date.now();
          observer.disconnect();
        }
      });
      observer.observe(main, { subtree: true, childList: true, characterData: true });
    }, name);
    const since = Math.floor(Date.now() / 1000) - 1;
    await unix("POST", `/v1.41/containers/create?name=${name}`, { Image: "bench:busybox", Cmd: ["true"] });
    await page.waitForFunction(() => window.__appeared !== null, null, { timeout: 10000 });
    const shown = await page.evaluate(() => window.__appeared);
    const until = Math.floor(Date.now() / 1000) + 1;
    const filters = encodeURIComponent(JSON.stringify({ type: ["container"], event: ["create"], container: [name] }));
    const text = await unix("GET", `/v1.41/events?since=${since}&until=${until}&filters=${filters}`, null, true);
    const event = text.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.Actor.Attributes.name === name);
    if (!event) throw new Error(`no create event for ${name}`);
    latencies.push(shown - event.timeNano / 1e6);
    await page.waitForTimeout(200);
  }
  latencies.sort((a, b) => a - b);
  return latencies[Math.floor(latencies.length / 2)];
}

async function maxFrame(page, t0, t1) {
  return page.evaluate(([t0, t1]) => Math.max(0, ...window.__frames.filter(([t]) => t >= t0 && t <= t1 + 50).map(([, d]) => d)), [t0, t1]);
}

async function log(page) {
  await page.goto(`${BASE}/#/containers/big/logs`);
  await page.waitForSelector("[data-control=tail]", { timeout: 30000 });
  const t0 = await page.evaluate(() => performance.now());
  await page.selectOption("[data-control=tail]", "all");
  await page.waitForFunction(() => {
    const v = document.querySelector(".log");
    return v && v.dataset.state !== "loading" && Number(v.dataset.lines) >= 100000;
  }, null, { timeout: 120000, polling: 100 });
  const t1 = await page.evaluate(() => performance.now());
  const lines = await page.evaluate(() => Number(document.querySelector(".log").dataset.lines));
  const s0 = await page.evaluate(() => performance.now());
  await page.fill("main input[type=search]", "77777");
  await page.waitForFunction(() => {
    const v = document.querySelector(".log");
    return v.dataset.searching === "false" && Number(v.dataset.matches) >= 1;
  }, null, { timeout: 60000, polling: "raf" });
  const s1 = await page.evaluate(() => performance.now());
  await page.waitForTimeout(300);
  return {
    lines,
    loadMs: t1 - t0,
    loadMaxFrameMs: await maxFrame(page, t0, t1),
    searchMs: s1 - s0,
    searchMaxFrameMs: await maxFrame(page, s0, s1),
  };
}

(async () => {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox"] });
  let out;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: true });
    await context.addInitScript(MONITOR, TOKEN);
    const page = await context.newPage();
    if (STEP === "table") {
      const t = await firstTable(page);
      out = { ms: t.cold, warmMs: t.warm };
    } else if (STEP === "table-and-appear") {
      const t = await firstTable(page);
      out = { ms: t.cold, warmMs: t.warm, appearMs: await appear(page) };
    } else if (STEP === "log") {
      out = await log(page);
    } else {
      throw new Error(`unknown step ${STEP}`);
    }
  } catch (e) {
    out = { error: String(e.stack || e) };
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
})();
