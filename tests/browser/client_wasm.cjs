// Drives client-wasm in headless Chromium against a running wharfd, for tests/tests/client_wasm.rs.
//
// The page is served at wharfd's own origin (WHARF_BASE, e.g. http://127.0.0.1:PORT) by intercepting
// requests under /__test/ (Playwright's page.route), so the package talks to wharfd same-origin, as a
// console served by wharfd would, with no CORS. Everything else goes to wharfd itself. Last, the same
// package from pages at two other origins (also intercepted): one wharfd allows, one it does not.
//
// It reports what the page saw as one JSON line on stdout; the Rust test judges it. Environment:
// WHARF_PLAYWRIGHT_CORE (the playwright-core module), WHARF_CLIENT_WASM_PKG (the package),
// WHARF_EXAMPLE (client-wasm/examples/index.html), WHARF_BASE, WHARF_CONTAINER (a created container
// printing 1, 2, 3 a second apart, then sleeping), WHARF_CAT (a running `cat` with its stdin open), WHARF_TOKEN and WHARF_VIEWER_TOKEN (bearer tokens of
// an operator and a viewer), CHROMIUM (default /usr/bin/chromium).
"use strict";

const fs = require("fs");
const path = require("path");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const { chromium } = require(env("WHARF_PLAYWRIGHT_CORE"));
const base = env("WHARF_BASE");
const pkg = env("WHARF_CLIENT_WASM_PKG");
const example = env("WHARF_EXAMPLE");
const container = env("WHARF_CONTAINER");
const token = env("WHARF_TOKEN"); // an operator's
const viewerToken = env("WHARF_VIEWER_TOKEN");
const cat = env("WHARF_CAT"); // a running container of `cat`, its stdin open

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm", ".ts": "text/plain" };

/// The file a /__test/ path stands for.
function file(pathname) {
  const rest = pathname.slice("/__test/".length);
  if (rest === "blank.html") return null;
  if (rest === "index.html") return example;
  if (rest.startsWith("pkg/")) {
    const resolved = path.resolve(pkg, rest.slice("pkg/".length));
    if (resolved.startsWith(path.resolve(pkg) + path.sep)) return resolved;
  }
  return undefined;
}

/// What the page does through the JS API; runs in the page, at wharfd's origin.
async function scenario({ container, cat, token, viewerToken }) {
  const { default: init, WharfClient } = await import("/__test/pkg/wharf_client_wasm.js");
  await init();
  const out = {};
  window.__seen = out; // what was seen so far, should the scenario never end
  const failure = async (call) => {
    try {
      await call();
      return null;
    } catch (e) {
      return { isError: e instanceof Error, name: e.name, status: e.status, kind: e.kind, message: e.message };
    }
  };

  // Plain loopback HTTP has no identity of its own: a token, or nothing but the ping.
  const anonymous = new WharfClient("");
  out.anonymousPing = await anonymous.ping();
  out.anonymous = await failure(() => anonymous.version());
  const viewer = new WharfClient("", viewerToken);
  out.viewerList = (await viewer.listContainers({ all: true })).length;
  out.viewerStop = await failure(() => viewer.stopContainer(container));

  const client = new WharfClient("", token);
  out.ping = await client.ping();
  const version = await client.version();
  out.version = { ApiVersion: version.ApiVersion, Version: version.Version };
  out.apiVersion = client.apiVersion;
  out.names = (await client.listContainers({ all: true })).map((c) => c.Names[0]);

  const events = await client.events({ filters: { container: [container] } });
  await client.startContainer(container);
  out.events = [];
  for await (const event of events) {
    out.events.push(`${event.Type} ${event.Action}`);
    if (event.Action === "start") break; // leaving the loop closes the stream
  }
  out.eventsAfterBreak = await events.next();

  // Execs over the WebSocket: output as it comes, then the exit code.
  const run = async (config, options, drive) => {
    const { Id } = await client.createExec(container, config);
    const session = await client.execSession(Id, options);
    return new Promise((resolve) => {
      const output = [];
      session.onOutput((e) => output.push({ stream: e.stream, text: e.text }));
      session.onExit((code) => resolve({ code, exitCode: session.exitCode, output }));
      if (drive) drive(session);
    });
  };
  out.echo = await run({ Cmd: ["sh", "-c", "echo hi; echo oops >&2"], AttachStdout: true, AttachStderr: true }, {});
  // wharfd sizes the TTY just after the process starts (a race for a command that asks at once), then
  // reads the page's messages: the shell waits for a line the page sends once the session is open.
  out.sizedAtStart = await run(
    { Cmd: ["sh", "-c", "read x; /bin/busybox stty size"], Tty: true, AttachStdin: true, AttachStdout: true },
    { h: 30, w: 100 },
    (session) => session.write("go\n"),
  );
  // The resize goes before the line that lets the shell read its size: the daemon handles them in order.
  out.resized = await run(
    { Cmd: ["sh", "-c", "read x; /bin/busybox stty size"], Tty: true, AttachStdin: true, AttachStdout: true },
    { h: 24, w: 80 },
    (session) => { session.resize(40, 120); session.write("go\n"); },
  );
  out.exitCode = await run({ Cmd: ["sh", "-c", "exit 3"] }, { tty: false });

  // Attach over the WebSocket: the page's messages are the container's stdin, its output comes back.
  const attached = await client.attachSession(cat, { stdin: true });
  out.attach = await new Promise((resolve) => {
    let text = "";
    attached.onOutput((e) => {
      text += e.text;
      if (text.includes("ping")) resolve(text);
    });
    attached.write("ping\n");
  });
  out.attachResize = await failure(async () => attached.resize(1, 1));
  attached.close();

  // A request that outlives the client's timeout (waiting for a container that sleeps) is given up.
  const impatient = new WharfClient("", token, { timeoutMs: 300 });
  out.timeout = await failure(() => impatient.waitContainer(container));

  // Stats: a sample a second, each as it comes; leaving the loop closes the stream.
  const stats = await client.stats(container);
  out.stats = [];
  for await (const sample of stats) {
    out.stats.push({ memory: sample.memory_stats?.usage ?? null, pids: sample.pids_stats?.current ?? null, hasRead: typeof sample.read === "string" });
    if (out.stats.length === 2) break;
  }
  out.statsAfterBreak = await stats.next();
  const once = await client.statsOnce(container, true);
  out.statsOnce = { memory: once.memory_stats?.usage ?? null };

  // Each line as it arrives, and whether the container was still running when it did.
  const logs = await client.logs(container, { follow: true, stdout: true, stderr: true });
  out.lines = [];
  for await (const entry of logs) {
    const running = (await client.inspectContainer(container)).State.Running;
    out.lines.push({ stream: entry.stream, text: entry.text, bytes: entry.data.length, running });
    if (entry.text === "3\n") await client.killContainer(container);
  }
  out.runningAfterEnd = (await client.inspectContainer(container)).State.Running;

  out.missing = await failure(() => client.inspectContainer("x"));
  return out;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", // root in CI; the page is our own
      // A page fulfilled by page.route has no address of its own, so Chromium's Local Network Access
      // takes it for a public one and refuses its WebSocket to 127.0.0.1 (fetch, same-origin, passes).
      // A page wharfd served would be on loopback itself.
      "--disable-features=LocalNetworkAccessChecks",
    ],
  });
  try {
    const page = await browser.newPage();
    page.on("console", (m) => process.stderr.write(`page console: ${m.text()}\n`));
    page.on("pageerror", (e) => process.stderr.write(`page error: ${e}\n`));
    // Under /__test/ at any origin: wharfd's own, and the consoles of another origin below.
    await page.route("**/__test/**", async (route) => {
      const pathname = new URL(route.request().url()).pathname;
      const served = file(pathname);
      if (served === null) return route.fulfill({ contentType: "text/html", body: "<!doctype html><title>t</title>" });
      if (served === undefined || !fs.existsSync(served)) return route.fulfill({ status: 404, body: "not here" });
      return route.fulfill({ contentType: TYPES[path.extname(served)] || "application/octet-stream", body: fs.readFileSync(served) });
    });
    await page.goto(`${base}/__test/blank.html`);
    // A stream read only at its end never ends here (the container sleeps until the page kills it):
    // give up after a while and say what the page had seen by then.
    let timer;
    const deadline = new Promise((_, reject) => {
      timer = setTimeout(async () => {
        const seen = await page.evaluate(() => JSON.stringify(window.__seen)).catch((e) => String(e));
        reject(new Error(`the scenario did not end within 90 s; the page had seen: ${seen}`));
      }, 90000);
    });
    const result = await Promise.race([page.evaluate(scenario, { container, cat, token, viewerToken }), deadline]);
    clearTimeout(timer);

    // The example page, as a person would use it: without a token it says why it cannot list; with
    // one it lists the container; following its logs shows the output (the container has ended, so the
    // stream does too).
    await page.goto(`${base}/__test/index.html`);
    await page.waitForFunction(() => document.getElementById("error").textContent !== "", null, { timeout: 30000 });
    result.exampleWithoutToken = await page.locator("#error").textContent();
    await page.fill("#token", token);
    await page.click("#connect button");
    const name = container.replace(/^\//, "");
    const button = page.locator(`button[data-container="${name}"]`);
    await button.waitFor({ timeout: 30000 });
    result.exampleStatus = await page.locator("#status").textContent();
    await button.click();
    await page.waitForFunction(() => document.getElementById("logs-title").textContent.endsWith("(ended)"), null, { timeout: 30000 });
    result.exampleLogs = await page.locator("#logs").textContent();

    // A console at another origin: wharfd allows http://console.test (--allow-origin), so the page's
    // cross-origin requests (preflighted: they carry Authorization) are answered; another is refused.
    const crossOrigin = async ({ base, token }) => {
      const { default: init, WharfClient } = await import("/__test/pkg/wharf_client_wasm.js");
      await init();
      const client = new WharfClient(base, token);
      try {
        const ping = await client.ping();
        const names = (await client.listContainers({ all: true })).map((c) => c.Names[0]);
        return { apiVersion: ping.apiVersion, names };
      } catch (e) {
        return { error: { name: e.name, status: e.status, kind: e.kind, message: e.message } };
      }
    };
    await page.goto("http://console.test/__test/blank.html");
    result.allowedOrigin = await page.evaluate(crossOrigin, { base, token });
    await page.goto("http://elsewhere.test/__test/blank.html");
    result.otherOrigin = await page.evaluate(crossOrigin, { base, token });
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  process.stderr.write(`client_wasm.cjs: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
