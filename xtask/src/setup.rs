//! `cargo xtask setup`, shared by every command: make sure the Debian packages, the wasm32 target,
//! `wasm-bindgen-cli` (at exactly Cargo.lock's `wasm-bindgen` version), node, and the npm tools of the
//! web build and its browser tests are present, installing what is missing. Quick and
//! silent-but-for-one-line-per-step when everything is there.
//!
//! The npm tools live under `<target>/tools/<name>` (`npm install --prefix`), each at a pinned version:
//! binaryen for `wasm-opt` (never Debian's binaryen 108, which breaks today's wasm silently) and
//! playwright-core, which drives Debian's `chromium` and never downloads a browser of its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::step::{self, probe};
use crate::workspace;

/// What a command needs installed.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// Debian packages, in groups (a package may appear in more than one).
    pub apt: &'static [&'static [&'static str]],
    /// The wasm32 target, `wasm-bindgen-cli`, node and binaryen's `wasm-opt`.
    pub wasm: bool,
    /// The Python clients the tests drive wharfd with ([`PYTHON_CLIENTS`]).
    pub python: bool,
    /// Chromium and playwright-core, for the browser tests.
    pub browser: bool,
    /// trunk and npm's xterm.js, for the browser console (with `wasm`).
    pub console: bool,
}

/// docker-py and the WebSocket client its `attach_socket(ws=True)` uses, pinned, from PyPI.
const PYTHON_CLIENTS: &[(&str, &str)] = &[("docker", "7.1.0"), ("websocket", "1.8.0")];

/// The reference dockerd for differential tests and the bench.
const DOCKER_IO: &str = "docker.io";
/// What wharfd runs containers with (tini for `--init`; the CNI plugins in `/usr/lib/cni` and the
/// `iptables` they call for bridge networks and published ports), and what its build needs.
const RUNTIME: &[&str] = &[
    "busybox-static",
    "containerd",
    "runc",
    "protobuf-compiler",
    "tini",
    "containernetworking-plugins",
    "iptables",
];
/// What only the tests add to the runtime: the reference dockerd, and `systemd-socket-activate`
/// (package `systemd`) for the socket-activation test.
const TESTS: &[&str] = &[DOCKER_IO, "systemd"];
/// The registry the pull, push and login tests and the bench start (distribution 2.8, whose service
/// the install does not start: see the deny policy), and `htpasswd` for its bcrypt users.
const REGISTRY: &[&str] = &["docker-registry", "apache2-utils"];
/// The browser the client-wasm tests run in (headless, driven by playwright-core).
const BROWSER: &[&str] = &["chromium"];

/// binaryen on npm, for `wasm-opt`.
const BINARYEN: NpmTool = NpmTool {
    name: "binaryen",
    version: "132.0.0",
};
/// xterm.js and its fit addon on npm, vendored into the console (one prefix, two packages). 5.5
/// rather than 6.0: its UMD bundle is 67 KiB gzipped against 6.0's 88 KiB (6.0 ships ESM only), the
/// largest single file of the console, with the same API for what the terminal uses.
const XTERM: NpmTool = NpmTool {
    name: "@xterm/xterm",
    version: "5.5.0",
};
const XTERM_FIT: NpmTool = NpmTool {
    name: "@xterm/addon-fit",
    version: "0.10.0",
};
/// trunk, which builds the console; 0.22 needs a newer rustc than some machines have.
const TRUNK_VERSION: &str = "0.21.14";
/// playwright-core on npm: the browser driver without browsers.
const PLAYWRIGHT_CORE: NpmTool = NpmTool {
    name: "playwright-core",
    version: "1.65.2",
};

impl Needs {
    /// Everything (`setup`, `test`).
    pub const ALL: Needs = Needs {
        apt: &[RUNTIME, TESTS, REGISTRY, BROWSER],
        wasm: true,
        python: true,
        browser: true,
        console: true,
    };
    /// `test --no-wasm`.
    pub const NATIVE: Needs = Needs {
        apt: &[RUNTIME, TESTS, REGISTRY],
        wasm: false,
        python: true,
        browser: false,
        console: false,
    };
    /// `run`.
    pub const RUN: Needs = Needs {
        apt: &[RUNTIME],
        wasm: false,
        python: false,
        browser: false,
        console: true,
    };
    /// `wasm`: the web build alone.
    pub const WASM: Needs = Needs {
        apt: &[],
        wasm: true,
        python: false,
        browser: false,
        console: false,
    };
    /// `console`: the console's build.
    pub const CONSOLE: Needs = Needs {
        apt: &[],
        wasm: true,
        python: false,
        browser: false,
        console: true,
    };
    /// `bench` (busybox-static for the container workloads' image; the registry for pull and push;
    /// the web build for its size).
    pub const BENCH: Needs = Needs {
        apt: &[
            &[DOCKER_IO, "busybox-static", "protobuf-compiler"],
            REGISTRY,
            BROWSER,
        ],
        wasm: true,
        python: false,
        browser: true,
        console: true,
    };
}

/// The wasm target the client core must build and test on.
const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Installs whatever of `needs` is missing, printing one line per step.
pub fn ensure(needs: Needs) -> Result<()> {
    let mut packages: Vec<&str> = Vec::new();
    for package in needs.apt.iter().copied().flatten() {
        if !packages.contains(package) {
            packages.push(package);
        }
    }
    if !packages.is_empty() {
        apt_packages(&packages)?;
    }
    if needs.wasm {
        node()?;
        rust_target()?;
        wasm_bindgen_cli()?;
        BINARYEN.ensure()?;
    }
    if needs.console {
        trunk()?;
        XTERM.ensure()?;
        XTERM_FIT.ensure()?;
    }
    if needs.browser {
        PLAYWRIGHT_CORE.ensure()?;
    }
    if needs.python {
        python_clients()?;
    }
    Ok(())
}

/// The pip name of a module of [`PYTHON_CLIENTS`].
fn pip_name(module: &str) -> &str {
    match module {
        "websocket" => "websocket-client",
        other => other,
    }
}

/// docker-py and websocket-client at their pinned versions, installed with pip when missing or other.
fn python_clients() -> Result<()> {
    let names: Vec<String> = PYTHON_CLIENTS
        .iter()
        .map(|(m, v)| format!("{}=={v}", pip_name(m)))
        .collect();
    let label = format!("setup: python clients ({})", names.join(", "));
    let check = PYTHON_CLIENTS
        .iter()
        .map(|(m, v)| format!("import {m}; assert {m}.__version__ == '{v}', {m}.__version__"))
        .collect::<Vec<_>>()
        .join("; ");
    if probe("python3", &["-c", &check]).is_some() {
        println!("{label}: ok");
        return Ok(());
    }
    step::run(
        "pip install",
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(&names),
    )?;
    println!("{label}: installed");
    Ok(())
}

/// `wasm-opt` of the pinned binaryen.
pub fn wasm_opt() -> Result<PathBuf> {
    let path = BINARYEN.prefix()?.join("node_modules/.bin/wasm-opt");
    if !path.exists() {
        bail!(
            "{} is missing: run `cargo xtask setup` (npm's binaryen, never Debian's)",
            path.display()
        );
    }
    Ok(path)
}

/// `trunk`, as cargo installed it.
pub fn trunk_path() -> PathBuf {
    match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home).join("bin/trunk"),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo/bin/trunk")
        }
    }
}

/// Installs trunk at [`TRUNK_VERSION`] unless it is there.
fn trunk() -> Result<()> {
    let label = format!("setup: trunk {TRUNK_VERSION}");
    let path = trunk_path();
    let have = probe(&path.to_string_lossy(), &["--version"]);
    if have.as_deref().and_then(|v| v.split_whitespace().nth(1)) == Some(TRUNK_VERSION) {
        println!("{label}: ok");
        return Ok(());
    }
    step::run(
        "cargo install trunk (about 11 minutes)",
        workspace::cargo().args(["install", "--locked", &format!("trunk@{TRUNK_VERSION}")]),
    )?;
    match have {
        Some(old) => println!("{label}: installed (replacing {old})"),
        None => println!("{label}: installed"),
    }
    Ok(())
}

/// The `node_modules` directory holding xterm.js and its fit addon.
pub fn xterm_modules() -> Result<PathBuf> {
    Ok(XTERM.prefix()?.join("node_modules"))
}

/// The playwright-core module's directory, for `require`.
pub fn playwright_core() -> Result<PathBuf> {
    Ok(PLAYWRIGHT_CORE
        .prefix()?
        .join("node_modules")
        .join(PLAYWRIGHT_CORE.name))
}

/// A tool from npm, at one version, under its own prefix.
#[derive(Debug, Clone, Copy)]
struct NpmTool {
    name: &'static str,
    version: &'static str,
}

impl NpmTool {
    /// `<target>/tools/<name>` (a scoped package under its scope's name: `@xterm/*` in `xterm`).
    fn prefix(self) -> Result<PathBuf> {
        let dir = match self.name.strip_prefix('@') {
            Some(scoped) => scoped.split('/').next().unwrap_or(scoped),
            None => self.name,
        };
        Ok(workspace::target_dir()?.join("tools").join(dir))
    }

    /// The version installed under the prefix, if any.
    fn installed(self) -> Result<Option<String>> {
        let manifest = self
            .prefix()?
            .join("node_modules")
            .join(self.name)
            .join("package.json");
        let Ok(text) = std::fs::read_to_string(manifest) else {
            return Ok(None);
        };
        let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        Ok(json["version"].as_str().map(str::to_owned))
    }

    fn ensure(self) -> Result<()> {
        let label = format!("setup: npm {}@{}", self.name, self.version);
        let have = self.installed()?;
        if have.as_deref() == Some(self.version) {
            println!("{label}: ok");
            return Ok(());
        }
        let prefix = self.prefix()?;
        std::fs::create_dir_all(&prefix)
            .with_context(|| format!("creating {}", prefix.display()))?;
        step::run(
            "npm install",
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--prefix"])
                .arg(&prefix)
                .arg(format!("{}@{}", self.name, self.version))
                // playwright-core downloads nothing by itself; say so in case a later one would.
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"),
        )?;
        if self.installed()?.as_deref() != Some(self.version) {
            bail!(
                "{label}: npm install ran, but {} holds another version",
                prefix.display()
            );
        }
        match have {
            Some(old) => println!("{label}: installed (replacing {old})"),
            None => println!("{label}: installed"),
        }
        Ok(())
    }
}

fn apt_packages(packages: &[&str]) -> Result<()> {
    let label = format!("setup: apt packages ({})", packages.join(", "));
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|package| !dpkg_installed(package))
        .collect();
    if missing.is_empty() {
        println!("{label}: ok");
        return Ok(());
    }
    apt_install(&label, &missing)
}

fn dpkg_installed(package: &str) -> bool {
    probe("dpkg-query", &["-W", "-f=${Status}", package])
        .is_some_and(|status| status.ends_with("install ok installed"))
}

fn apt_install(label: &str, missing: &[&str]) -> Result<()> {
    let listed = missing.join(" ");
    if probe("dpkg-query", &["--version"]).is_none() {
        bail!("{label}: missing {listed}, and this is not a Debian-like system; install the equivalents by hand");
    }
    if !is_root() {
        bail!(
            "{label}: missing {listed}; install them with `sudo apt-get install -y {listed}` \
             (or run xtask as root), or pass --skip-setup"
        );
    }
    // Installing docker.io must not start a system dockerd: have invoke-rc.d refuse, as Docker's
    // own base images do, unless a policy is already in place.
    let policy = Path::new("/usr/sbin/policy-rc.d");
    let own_policy = !policy.exists();
    if own_policy {
        write_deny_policy(policy)?;
    }
    let result = (|| {
        step::run("apt-get update", apt_get().arg("update"))?;
        step::run(
            "apt-get install",
            apt_get()
                .args(["install", "-y", "--no-install-recommends"])
                .args(missing),
        )
    })();
    if own_policy {
        let _ = std::fs::remove_file(policy);
    }
    result?;
    println!("{label}: installed {listed}");
    Ok(())
}

fn apt_get() -> Command {
    let mut cmd = Command::new("apt-get");
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}

fn write_deny_policy(policy: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(policy, "#!/bin/sh\n# Written by cargo xtask setup for the duration of apt-get install.\nexit 101\n")
        .with_context(|| format!("writing {}", policy.display()))?;
    std::fs::set_permissions(policy, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn is_root() -> bool {
    probe("id", &["-u"]).is_some_and(|uid| uid == "0")
}

fn node() -> Result<()> {
    match probe("node", &["--version"]) {
        Some(version) => {
            println!("setup: node: ok ({version})");
            Ok(())
        }
        None => bail!(
            "setup: node: not found; install Node.js (the wasm32 tests run under node), e.g. \
             `apt-get install -y nodejs`"
        ),
    }
}

fn rust_target() -> Result<()> {
    let label = format!("setup: rust target {WASM_TARGET}");
    let installed = probe("rustup", &["target", "list", "--installed"])
        .context("setup: rustup not found; the wasm32 target is installed with rustup")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        println!("{label}: ok");
        return Ok(());
    }
    step::run(
        "rustup target add",
        Command::new("rustup").args(["target", "add", WASM_TARGET]),
    )?;
    println!("{label}: installed");
    Ok(())
}

fn wasm_bindgen_cli() -> Result<()> {
    let lock_path = workspace::root().join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path)
        .with_context(|| format!("reading {}", lock_path.display()))?;
    let Some(wanted) = locked_version(&lock, "wasm-bindgen") else {
        println!("setup: wasm-bindgen-cli: skipped (Cargo.lock has no wasm-bindgen yet)");
        return Ok(());
    };
    let label = format!("setup: wasm-bindgen-cli {wanted}");
    let have = probe("wasm-bindgen-test-runner", &["--version"]);
    if have.as_deref().and_then(|v| v.split_whitespace().nth(1)) == Some(wanted.as_str()) {
        println!("{label}: ok");
        return Ok(());
    }
    step::run(
        "cargo install wasm-bindgen-cli",
        workspace::cargo().args(["install", "wasm-bindgen-cli", "--version", &wanted]),
    )?;
    let now = probe("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    if !now.ends_with(&wanted) {
        bail!("{label}: installed, but `wasm-bindgen-test-runner --version` says {now:?}; is ~/.cargo/bin on PATH?");
    }
    match have {
        Some(old) => println!("{label}: installed (replacing {old})"),
        None => println!("{label}: installed"),
    }
    Ok(())
}

/// The version of package `name` in a Cargo.lock (the first, if several are locked).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            return lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_owned);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_versions_match_whole_names() {
        let lock = "[[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.1\"\n\n\
                    [[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(lock, "wasm"), None);
    }
}
