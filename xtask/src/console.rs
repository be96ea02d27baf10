//! `cargo xtask console`: the browser console (`web/`) built into `<target>/console/dist`, where
//! wharfd's build embeds it.
//!
//! Steps, each offline once `setup` ran: xterm.js and its fit addon are copied from the npm packages
//! setup pinned into `web/vendor/` (served by wharfd like every other asset: the console needs no
//! network beyond the daemon); `trunk build --release` compiles the app with the `wasm-release`
//! profile and runs the pinned wasm-bindgen and wasm-opt (trunk finds them on the PATH given here and,
//! offline, downloads nothing); then trunk's inline start-up script moves into a file of its own, so
//! that the page's Content-Security-Policy needs no `'unsafe-inline'`, and every file gets a gzipped
//! sibling for wharfd to send to browsers that take gzip.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::{setup, step, workspace};

/// Options of `cargo xtask console`.
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// Do not check or install prerequisites.
    #[arg(long)]
    pub skip_setup: bool,
}

/// What the console weighs, gzipped, as a browser downloads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sizes {
    pub wasm: u64,
    pub js: u64,
    pub css: u64,
}

impl Sizes {
    pub fn total(&self) -> u64 {
        self.wasm + self.js + self.css
    }

    pub fn summary(&self) -> String {
        format!(
            "console: {:.1} KiB gzipped in all (wasm {:.1} KiB, JS {:.1} KiB, CSS {:.1} KiB)",
            kib(self.total()),
            kib(self.wasm),
            kib(self.js),
            kib(self.css)
        )
    }
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

/// `cargo xtask console`.
pub fn run(args: ConsoleArgs) -> Result<()> {
    if !args.skip_setup {
        setup::ensure(setup::Needs::CONSOLE)?;
    }
    let sizes = build()?;
    println!("{}", sizes.summary());
    println!("xtask: [console] built into {}", dist_dir()?.display());
    Ok(())
}

/// `<target>/console/dist`.
pub fn dist_dir() -> Result<PathBuf> {
    Ok(workspace::target_dir()?.join("console").join("dist"))
}

/// The files vendored from npm: (package path under node_modules, file name in `web/vendor`).
const VENDORED: &[(&str, &str)] = &[
    ("@xterm/xterm/lib/xterm.js", "xterm.js"),
    ("@xterm/xterm/css/xterm.css", "xterm.css"),
    ("@xterm/addon-fit/lib/addon-fit.js", "addon-fit.js"),
];

/// Builds the console and measures it.
pub fn build() -> Result<Sizes> {
    let web = workspace::root().join("web");
    vendor(&web.join("vendor"))?;
    let dist = dist_dir()?;
    // trunk rewrites every file it writes; it writes into a staging directory, and only what changed
    // moves into `dist`, so that wharfd's build (which watches `dist`) reruns only for a new console.
    let staging = workspace::target_dir()?.join("console").join("staging");
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(bin) = setup::wasm_opt()?.parent() {
        let mut joined = bin.as_os_str().to_owned();
        joined.push(":");
        joined.push(&path);
        path = joined;
    }
    step::run(
        "console: trunk build",
        Command::new(setup::trunk_path())
            .current_dir(&web)
            .args(["build", "--release", "--locked", "--dist"])
            .arg(&staging)
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", workspace::target_dir()?),
    )?;
    externalise_start_script(&staging)?;
    let sizes = compress(&staging)?;
    sync(&staging, &dist)?;
    Ok(sizes)
}

/// Makes `dist` hold exactly the files of `staging`, writing only those whose bytes differ.
fn sync(staging: &Path, dist: &Path) -> Result<()> {
    let wanted = files(staging)?;
    for relative in &wanted {
        let from = staging.join(relative);
        let to = dist.join(relative);
        let bytes = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        if std::fs::read(&to).ok().as_deref() != Some(bytes.as_slice()) {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&to, &bytes).with_context(|| format!("writing {}", to.display()))?;
        }
    }
    if dist.exists() {
        for relative in files(dist)? {
            if !wanted.contains(&relative) {
                std::fs::remove_file(dist.join(&relative))?;
            }
        }
    }
    Ok(())
}

/// The files under `root`, as paths relative to it.
fn files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                out.push(relative.to_path_buf());
            }
        }
    }
    Ok(out)
}

/// Copies xterm.js and its fit addon from npm's packages into `vendor` (only when they differ), and
/// removes any other file there (an older version's), which trunk would otherwise ship too.
fn vendor(vendor: &Path) -> Result<()> {
    let modules = setup::xterm_modules()?;
    std::fs::create_dir_all(vendor).with_context(|| format!("creating {}", vendor.display()))?;
    for entry in
        std::fs::read_dir(vendor).with_context(|| format!("reading {}", vendor.display()))?
    {
        let path = entry?.path();
        let known = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| VENDORED.iter().any(|(_, name)| *name == n));
        if !known && path.is_file() {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    for (from, name) in VENDORED {
        let source = modules.join(from);
        let bytes = std::fs::read(&source).with_context(|| {
            format!(
                "reading {} (run `cargo xtask setup`: npm's @xterm packages)",
                source.display()
            )
        })?;
        let target = vendor.join(name);
        if std::fs::read(&target).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&target, &bytes)
                .with_context(|| format!("writing {}", target.display()))?;
        }
    }
    Ok(())
}

/// Moves the `<script type="module">` trunk writes into `index.html` into `boot-<hash>.js`, loaded by
/// `src`: the Content-Security-Policy then allows scripts from the daemon only.
fn externalise_start_script(dist: &Path) -> Result<()> {
    let index = dist.join("index.html");
    let html =
        std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let (html, script) = split_inline_module(&html)?;
    let digest = Sha256::digest(script.as_bytes());
    let name = format!("boot-{}.js", &hex(&digest)[..16]);
    std::fs::write(dist.join(&name), script.as_bytes())
        .with_context(|| format!("writing {name}"))?;
    let tag = format!(r#"<script type="module" src="/console/{name}"></script>"#);
    let html = html.replacen(INLINE_MARK, &tag, 1);
    std::fs::write(&index, html).with_context(|| format!("writing {}", index.display()))?;
    Ok(())
}

/// Where the inline script was, in [`split_inline_module`]'s output.
const INLINE_MARK: &str = "<!--wharf-boot-->";

/// How trunk opens its inline module script: as written, or minified (release builds).
const OPENINGS: [&str; 2] = ["<script type=\"module\">", "<script type=module>"];

/// `html` with its one inline module script replaced by [`INLINE_MARK`], and the script's text.
fn split_inline_module(html: &str) -> Result<(String, String)> {
    let found = OPENINGS
        .iter()
        .filter_map(|open| html.find(open).map(|at| (at, *open)))
        .min();
    let Some((start, open)) = found else {
        bail!("trunk's index.html has no inline <script type=\"module\">: has trunk changed?");
    };
    let body_start = start + open.len();
    let Some(len) = html[body_start..].find("</script>") else {
        bail!("trunk's index.html has an unclosed <script>");
    };
    let script = html[body_start..body_start + len].trim().to_owned();
    if OPENINGS
        .iter()
        .any(|o| html[body_start + len..].contains(o))
    {
        bail!("trunk's index.html has more than one inline module script");
    }
    let rest = &html[body_start + len + "</script>".len()..];
    Ok((format!("{}{INLINE_MARK}{rest}", &html[..start]), script))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `bytes` gzipped by zopfli: a gzip stream every browser reads, 4-8 % smaller than zlib's level 9,
/// for a few seconds of the build (the console is compressed once, and downloaded at every visit).
fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut gz,
    )
    .context("gzip")?;
    Ok(gz)
}

/// Writes `<file>.gz` beside every file of `dist` (see [`gzip`]) and sums the sizes a browser
/// downloads.
fn compress(dist: &Path) -> Result<Sizes> {
    let mut sizes = Sizes::default();
    let mut stack = vec![dist.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if ext == "gz" {
                continue;
            }
            let bytes = std::fs::read(&path)?;
            let gz = gzip(&bytes)?;
            let mut gz_path = path.clone().into_os_string();
            gz_path.push(".gz");
            std::fs::write(&gz_path, &gz)?;
            let size = gz.len() as u64;
            match ext {
                "wasm" => sizes.wasm += size,
                "js" | "mjs" => sizes.js += size,
                "css" => sizes.css += size,
                _ => {}
            }
        }
    }
    Ok(sizes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_writes_what_changed_and_removes_what_went() {
        let staging = wharf_tests::TempDir::new("cs").unwrap();
        let dist = wharf_tests::TempDir::new("cd").unwrap();
        let (s, d) = (staging.path(), dist.path());
        std::fs::create_dir_all(s.join("vendor")).unwrap();
        std::fs::write(s.join("index.html"), "same").unwrap();
        std::fs::write(s.join("vendor/x.mjs"), "new").unwrap();
        std::fs::write(d.join("index.html"), "same").unwrap();
        std::fs::write(d.join("old.js"), "gone").unwrap();
        let before = std::fs::metadata(d.join("index.html"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        sync(s, d).unwrap();
        let after = std::fs::metadata(d.join("index.html"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(before, after, "an unchanged file is not rewritten");
        assert_eq!(
            std::fs::read_to_string(d.join("vendor/x.mjs")).unwrap(),
            "new"
        );
        assert!(!d.join("old.js").exists());
    }

    #[test]
    fn the_inline_start_script_is_cut_out_once() {
        let html = "<head><link rel=x></head><body>\n<script type=\"module\">\nimport init from '/console/a.js';\nawait init();\n</script></body>";
        let (page, script) = split_inline_module(html).unwrap();
        assert_eq!(script, "import init from '/console/a.js';\nawait init();");
        assert_eq!(
            page,
            format!("<head><link rel=x></head><body>\n{INLINE_MARK}</body>")
        );
        assert!(split_inline_module("<body></body>").is_err());
        let twice = format!("{html}<script type=module>x</script>");
        assert!(split_inline_module(&twice).is_err());
        // A release build minifies the page.
        let (page, script) =
            split_inline_module("<title>W</title><script type=module>await init()</script><link>")
                .unwrap();
        assert_eq!(script, "await init()");
        assert_eq!(page, format!("<title>W</title>{INLINE_MARK}<link>"));
    }
}
