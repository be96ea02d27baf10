// Drives the browser console in headless Chromium, for tests/tests/console_browser.rs.
//
// The console is the one wharfd serves on its TLS listener (HTTP/2: Chromium negotiates it), so the
// page, its CSP and its same-origin API calls are exactly what a user gets. Chromium does not trust the
// test's CA: the contexts ignore certificate errors (the README shows how a user's browser trusts it).
// It does what a user does and reports what it saw as one JSON line on stdout; the Rust test judges it.
//
// Environment: WHARF_PLAYWRIGHT_CORE (the module), WHARF_BASE (https://127.0.0.1:PORT),
// WHARF_DOCKER_HOST (the same daemon's unix socket, for the docker CLI), WHARF_TOKEN (an operator's),
// WHARF_VIEWER_TOKEN, WHARF_ADMIN_TOKEN, WHARF_IMAGE_TAR (a root file system tar to upload),
// WHARF_SCREENSHOTS (a directory), WHARF_REGISTRY (host:port of a registry needing a login),
// WHARF_REGISTRY_USER, WHARF_REGISTRY_PASSWORD, WHARF_PULL_IMAGE (an image there), WHARF_NET_SUBNET (a
// subnet for the network the page creates),
// CHROMIUM (default /usr/bin/chromium).
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const { chromium } = require(env("WHARF_PLAYWRIGHT_CORE"));
const BASE = env("WHARF_BASE");
const DOCKER_HOST = env("WHARF_DOCKER_HOST");
const TOKEN = env("WHARF_TOKEN");
const VIEWER = env("WHARF_VIEWER_TOKEN");
const ADMIN = env("WHARF_ADMIN_TOKEN");
const IMAGE_TAR = env("WHARF_IMAGE_TAR");
const SHOTS = env("WHARF_SCREENSHOTS");
const REGISTRY = env("WHARF_REGISTRY");
const REGISTRY_USER = env("WHARF_REGISTRY_USER");
const REGISTRY_PASSWORD = env("WHARF_REGISTRY_PASSWORD");
const PULL_IMAGE = env("WHARF_PULL_IMAGE");
const NET_SUBNET = env("WHARF_NET_SUBNET");
const UPLOAD_TEXT = "uploaded from the console\n";

const seen = { errors: [], cspViolations: [], screenshots: 0 };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 740 };

function docker(...args) {
  return execFileSync("docker", args, { env: { ...process.env, DOCKER_HOST }, encoding: "utf8" }).trim();
}

async function context(browser, viewport) {
  const ctx = await browser.newContext({ viewport, ignoreHTTPSErrors: true });
  await ctx.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return ctx;
}

function watch(page, label) {
  page.on("pageerror", (e) => seen.errors.push(`${label}: ${e.message}`));
}

async function login(page, token) {
  await page.goto(`${BASE}/`);
  await page.fill("#token", token);
  await page.click("form.login button[type=submit]");
  await page.waitForSelector("header nav a", { timeout: 15000 });
}

/// A screenshot of the page as it is, at desktop and phone widths; checks nothing scrolls sideways.
async function shoot(page, name) {
  const viewport = page.viewportSize();
  for (const [label, size] of [["desktop", DESKTOP], ["phone", PHONE]]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, `${name}-${label}.png`) });
    seen.screenshots += 1;
    const wide = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    if (wide) seen.errors.push(`${name} scrolls sideways at ${label} width`);
  }
  await page.setViewportSize(viewport);
}

/// The text of the exec terminal's screen.
async function screen(page) {
  return page.evaluate(() => [...document.querySelectorAll(".xterm-rows > div")].map((r) => r.textContent).join("\n"));
}

async function sttySize(page, marker) {
  await page.keyboard.type(`clear; stty size; echo ${marker}\n`);
  await page.waitForFunction(
    (m) => new RegExp(`^${m}\\s*$`, "m").test([...document.querySelectorAll(".xterm-rows > div")].map((r) => r.textContent).join("\n")),
    marker,
    { timeout: 10000 },
  );
  const m = (await screen(page)).match(/^(\d+) (\d+)\s*$/m);
  return m ? `${m[1]} ${m[2]}` : null;
}

async function operator(browser) {
  const ctx = await context(browser, DESKTOP);
  const page = await ctx.newPage();
  watch(page, "operator");

  // A wrong token is refused with the daemon's words, and nothing is stored.
  await page.goto(`${BASE}/`);
  await page.fill("#token", "wharf_not-a-token");
  await page.click("form.login button[type=submit]");
  await page.waitForFunction(() => {
    const t = document.querySelector("form.login .error")?.textContent || "";
    return t && !t.startsWith("Logging in");
  }, null, { timeout: 10000 });
  seen.refusedBadToken = await page.textContent("form.login .error");
  await shoot(page, "login");

  await login(page, TOKEN);
  seen.loggedIn = (await page.textContent("header .identity")).replace(/^token:/, "");
  await page.waitForSelector(".cards .card dl", { timeout: 15000 });
  await shoot(page, "overview");

  // The containers table, open; the docker CLI starts one: it appears without a reload.
  await page.goto(`${BASE}/#/containers`);
  await page.waitForSelector("text=idle", { timeout: 15000 });
  await page.evaluate(() => { window.__sameDocument = true; });
  const started = Date.now();
  docker("run", "-d", "--name", "from-cli", "busybox", "sleep", "600");
  seen.cliContainerAppeared = await page
    .waitForSelector("main >> text=from-cli", { timeout: 10000 })
    .then(() => true, () => false);
  seen.cliContainerMs = Date.now() - started;
  seen.noReload = await page.evaluate(() => window.__sameDocument === true);
  await shoot(page, "containers");

  // The run form: its docker run line, then the container runs and its logs follow.
  await page.goto(`${BASE}/#/run`);
  await page.getByLabel("Image", { exact: true }).fill("busybox");
  await page.getByLabel("Name", { exact: true }).fill("web-run");
  await page.getByLabel("Command", { exact: true }).fill(
    "sh -c 'i=0; while true; do echo line $i; i=$((i+1)); sleep 0.2; done'",
  );
  seen.runLine = (await page.textContent("[data-run-line]")).trim();
  await shoot(page, "run");
  await page.click("form [type=submit]");
  await page.waitForURL(/#\/containers\/[0-9a-f]{64}\/logs/, { timeout: 20000 });
  seen.ranFromForm = page.url().match(/containers\/([0-9a-f]{64})\//)[1];
  seen.logsFollowed = await page
    .waitForFunction(() => [...document.querySelectorAll(".log .line")].some((l) => /line [3-9]/.test(l.textContent)), null, { timeout: 15000 })
    .then(() => true, () => false);
  await shoot(page, "logs");

  // Its other tabs.
  const id = seen.ranFromForm;
  for (const tab of ["info", "stats", "top"]) {
    await page.goto(`${BASE}/#/containers/${id}/${tab}`);
    await page.waitForTimeout(tab === "stats" ? 3000 : 1000);
    await shoot(page, `container-${tab}`);
  }

  // The exec terminal: echo, the TTY's size before and after the window changes.
  await page.goto(`${BASE}/#/containers/${id}/terminal`);
  await page.waitForSelector(".terminal[data-state=open]", { timeout: 20000 });
  await page.click(".terminal");
  await page.keyboard.type("echo hi\n");
  seen.terminalEcho = await page
    .waitForFunction(() => /^hi\s*$/m.test([...document.querySelectorAll(".xterm-rows > div")].map((r) => r.textContent).join("\n")), null, { timeout: 10000 })
    .then(() => true, () => false);
  seen.sttyBefore = await sttySize(page, "one");
  await page.setViewportSize({ width: 800, height: 560 });
  await page.waitForTimeout(700);
  seen.sttyAfter = await sttySize(page, "two");
  await page.setViewportSize(DESKTOP);
  await page.waitForTimeout(500);
  await shoot(page, "terminal");

  // Stop and remove it from its page.
  await page.goto(`${BASE}/#/containers/${id}/info`);
  await page.click("[data-action=stop]");
  await page.waitForSelector("[data-action=start]", { timeout: 20000 });
  page.once("dialog", (d) => d.accept());
  await page.click("[data-action=remove]");
  await page.waitForURL(/#\/containers\/?$/, { timeout: 15000 }).catch(() => {});
  // Its row gone (a toast may still name it).
  seen.stoppedAndRemoved = await page
    .waitForFunction(() => ![...document.querySelectorAll("main .row")].some((r) => r.textContent.includes("web-run")), null, { timeout: 15000 })
    .then(() => docker("ps", "-a", "--format", "{{.Names}}").split("\n").every((n) => n !== "web-run"), () => false);
  if (!seen.stoppedAndRemoved) {
    seen.afterRemove = {
      url: page.url(),
      text: (await page.textContent("body")).slice(0, 600),
      ps: docker("ps", "-a", "--format", "{{.Names}} {{.Status}}"),
    };
  }

  // Images: upload a root file system tar.
  await page.goto(`${BASE}/#/images`);
  await page.click(".transfers summary");
  await page.setInputFiles("#import-file", IMAGE_TAR);
  await page.fill("#import-name", "uploaded:1");
  await page.click("[data-action=import]");
  seen.uploaded = await page
    .waitForSelector("main >> text=uploaded:1", { timeout: 30000 })
    .then(() => true, () => false);
  await shoot(page, "images");

  // Pull from a registry that needs a login: refused without one, a wrong password refused, then
  // the layers' progress and the image in the list.
  await page.fill("#pull-image", PULL_IMAGE);
  await page.click("[data-action=pull]");
  seen.pullRefusedAnonymous = await page
    .waitForSelector("[data-pull-lines] .line.error", { timeout: 30000 })
    .then((e) => e.textContent(), (e) => `no error shown: ${e}`);
  await page.fill("#login-server", REGISTRY);
  await page.fill("#login-user", REGISTRY_USER);
  await page.fill("#login-password", "wrong");
  await page.click("[data-action=registry-login]");
  seen.registryLoginRefused = await page
    .waitForSelector(`.toast.error >> text=Login to ${REGISTRY}`, { timeout: 30000 })
    .then((e) => e.textContent(), (e) => `no error shown: ${e}`);
  await page.fill("#login-password", REGISTRY_PASSWORD);
  await page.click("[data-action=registry-login]");
  seen.registryLoggedIn = await page
    .waitForSelector(`[data-logins] >> text=${REGISTRY_USER} @ ${REGISTRY}`, { timeout: 30000 })
    .then(() => true, () => false);
  await page.click("[data-action=pull]");
  seen.pulledListed = await page
    .waitForSelector(`main .row >> text=${PULL_IMAGE}`, { timeout: 60000 })
    .then(() => true, () => false);
  seen.pullLines = await page.$$eval("[data-pull-lines] .line", (lines) => lines.map((l) => l.textContent));
  await shoot(page, "pull");
  await page.goto(`${BASE}/#/events`);
  await page.waitForSelector(".feed-grid.row", { timeout: 15000 });
  await shoot(page, "events");
  seen.cspViolations.push(...(await page.evaluate(() => window.__csp || [])));
  await ctx.close();
}

/// Networks, volumes and a container's files, as an operator: each made in the page and seen by the
/// docker CLI, or made by the CLI and seen in the page.
async function resources(browser) {
  const ctx = await context(browser, DESKTOP);
  const page = await ctx.newPage();
  watch(page, "resources");
  await login(page, TOKEN);

  // A network made in the page; a container the CLI attaches to it shows on its page.
  await page.goto(`${BASE}/#/networks`);
  await page.waitForSelector("[data-network=bridge]", { timeout: 15000 });
  await page.click("details.card summary");
  await page.fill("#network-name", "console-net");
  await page.fill("#network-subnet", NET_SUBNET);
  await page.fill("#network-labels", "made=console");
  await page.click("[data-action=create-network]");
  seen.networkListed = await page
    .waitForSelector("[data-network=console-net]", { timeout: 15000 })
    .then(() => true, () => false);
  await shoot(page, "networks");
  docker("run", "-d", "--name", "on-net", "--network", "console-net", "busybox", "sleep", "600");
  await page.click("[data-network=console-net] a");
  seen.networkAttached = await page
    .waitForSelector(".attached-grid.row >> text=on-net", { timeout: 15000 })
    .then((row) => row.evaluate((r) => r.closest(".row").textContent), () => "");
  await shoot(page, "network");

  // A volume made in the page, with a label.
  await page.goto(`${BASE}/#/volumes`);
  await page.waitForSelector(".volumes-grid.head", { timeout: 15000 });
  await page.click("details.card summary");
  await page.fill("#volume-name", "console-vol");
  await page.fill("#volume-labels", "made=console");
  await page.click("[data-action=create-volume]");
  seen.volumeListed = await page
    .waitForSelector("[data-volume=console-vol]", { timeout: 15000 })
    .then(() => true, () => false);
  await shoot(page, "volumes");

  // Files: down to /etc, download a file, upload one into /tmp.
  await page.goto(`${BASE}/#/containers/from-cli/files`);
  await page.click("[data-entry=etc]", { timeout: 15000 });
  await page.waitForSelector("[data-entry=hello]", { timeout: 15000 });
  const [download] = await Promise.all([
    page.waitForEvent("download", { timeout: 15000 }),
    page.click("[aria-label='Download hello']"),
  ]);
  seen.downloadName = download.suggestedFilename();
  seen.downloaded = fs.readFileSync(await download.path(), "utf8");
  await shoot(page, "files");
  await page.click(".crumbs button:first-child");
  await page.click("[data-entry=tmp]", { timeout: 15000 });
  const upload = path.join(SHOTS, "..", "uploaded-note.txt");
  fs.writeFileSync(upload, UPLOAD_TEXT);
  await page.setInputFiles("#upload-file", upload);
  await page.click("[data-action=upload-file]");
  seen.uploadListed = await page
    .waitForSelector("[data-entry='uploaded-note.txt']", { timeout: 15000 })
    .then(() => true, () => false);
  fs.unlinkSync(upload);
  seen.cspViolations.push(...(await page.evaluate(() => window.__csp || [])));
  await ctx.close();
}

async function viewer(browser) {
  const ctx = await context(browser, DESKTOP);
  const page = await ctx.newPage();
  watch(page, "viewer");
  await login(page, VIEWER);
  await page.goto(`${BASE}/#/containers/from-cli/info`);
  await page.waitForSelector(".tabs", { timeout: 15000 });
  await page.waitForTimeout(500);
  seen.viewerHasNoStop = (await page.$$("[data-action=stop]")).length === 0;
  await page.goto(`${BASE}/#/containers`);
  await page.waitForSelector("main >> text=from-cli", { timeout: 15000 });
  seen.viewerHasNoStop = seen.viewerHasNoStop && (await page.$$("[data-action=stop]")).length === 0;
  await ctx.close();

  // Forced: a page that believes it may (its whoami answer rewritten) still gets the daemon's 403.
  const forced = await context(browser, DESKTOP);
  await forced.route("**/wharf/v1/whoami", async (route) => {
    const answer = await route.fetch();
    const body = await answer.json();
    await route.fulfill({ response: answer, json: { ...body, Role: "operator" } });
  });
  const page2 = await forced.newPage();
  watch(page2, "forced");
  await login(page2, VIEWER);
  await page2.goto(`${BASE}/#/containers/from-cli/info`);
  await page2.click("[data-action=stop]");
  await page2.waitForSelector(".toast.error", { timeout: 15000 });
  seen.forcedStopMessage = await page2.textContent(".toast.error");
  await forced.close();
}

async function admin(browser) {
  const ctx = await context(browser, DESKTOP);
  const page = await ctx.newPage();
  watch(page, "admin");
  await login(page, ADMIN);
  await page.goto(`${BASE}/#/audit`);
  seen.auditShown = await page
    .waitForSelector("main >> text=/containers/", { timeout: 15000 })
    .then(() => true, () => false);
  await shoot(page, "audit");
  await ctx.close();
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox"],
  });
  try {
    await operator(browser);
    await resources(browser);
    await viewer(browser);
    await admin(browser);
  } catch (e) {
    seen.errors.push(`scenario: ${e.stack || e}`);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(seen));
})();
