//! Build facts for `/version`: the git commit, the build time and the compiler, computed once at build time;
//! and the browser console's files to embed (`console_files.rs` in `OUT_DIR`, see `src/console/`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Asks cargo to run this script again when the commit changes: HEAD moves on a checkout, the branch it
/// names on a commit (a loose ref, or packed-refs once git has packed it). Only existing files are
/// named, since cargo reruns on every build for a missing one. `--git-path` resolves them for a
/// worktree too.
fn watch_git_head() {
    let mut refs = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    refs.extend(output("git", &["symbolic-ref", "-q", "HEAD"]));
    for name in refs {
        if let Some(path) = output("git", &["rev-parse", "--git-path", &name]) {
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}

fn main() {
    let commit =
        output("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc_version = output(&rustc, &["--version"]).unwrap_or_else(|| "rustc unknown".into());
    println!("cargo:rustc-env=WHARF_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=WHARF_BUILD_EPOCH={epoch}");
    println!("cargo:rustc-env=WHARF_RUSTC_VERSION={rustc_version}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=build.rs");
    watch_git_head();
    if let Err(e) = embed_console() {
        println!("cargo:warning=the browser console is not embedded: {e}");
        std::process::exit(1);
    }
}

/// The most the embedded console may weigh (as `src/console/mod.rs`'s `MAX_TOTAL_BYTES`).
const CONSOLE_MAX_BYTES: u64 = 64 << 20;

/// Writes `console_files.rs`: an `include_bytes!` of every regular file of the built console
/// (`$WHARF_CONSOLE_DIST`, else `<target>/console/dist` if it holds an `index.html`), or an empty
/// list. Cargo reruns this when the variable changes or anything in the directory does; while the
/// default directory does not exist, its parent `target/console` is watched (made empty here, since cargo
/// would rerun on every build for a missing path), so that the first `cargo xtask console` is noticed.
fn embed_console() -> Result<(), String> {
    println!("cargo:rerun-if-env-changed=WHARF_CONSOLE_DIST");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?;
    let workspace = Path::new(&manifest)
        .parent()
        .ok_or("the daemon's manifest has no parent directory")?;
    let dist = match std::env::var_os("WHARF_CONSOLE_DIST").filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if !dir.join("index.html").is_file() {
                return Err(format!(
                    "WHARF_CONSOLE_DIST={} has no index.html",
                    dir.display()
                ));
            }
            println!("cargo:rerun-if-changed={}", dir.display());
            Some(dir)
        }
        None => {
            // cargo's target directory, as `cargo xtask console` finds it: `$CARGO_TARGET_DIR` when it is
            // set (and absolute), else the workspace's `target`.
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .unwrap_or_else(|| workspace.join("target"));
            let parent = target.join("console");
            let dir = parent.join("dist");
            if dir.is_dir() {
                println!("cargo:rerun-if-changed={}", dir.display());
            } else if std::fs::create_dir_all(&parent).is_ok() {
                println!("cargo:rerun-if-changed={}", parent.display());
            }
            dir.join("index.html").is_file().then_some(dir)
        }
    };
    let mut files = Vec::new();
    if let Some(dir) = &dist {
        collect(dir, "", &mut files, 0)?;
        let total: u64 = files.iter().map(|(_, _, size)| size).sum();
        if total > CONSOLE_MAX_BYTES {
            return Err(format!(
                "{} holds {total} bytes, more than {CONSOLE_MAX_BYTES}",
                dir.display()
            ));
        }
    }
    let mut out = String::from(
        "/// The embedded console's files.\npub(super) static FILES: &[(&str, &[u8])] = &[\n",
    );
    for (name, path, _) in &files {
        out.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = std::env::var("OUT_DIR").map_err(|e| e.to_string())?;
    std::fs::write(Path::new(&out_dir).join("console_files.rs"), out).map_err(|e| e.to_string())
}

/// The regular files under `dir` as (relative name, absolute path, size); links are skipped, as
/// `--console-dir` skips them.
fn collect(
    dir: &Path,
    prefix: &str,
    files: &mut Vec<(String, PathBuf, u64)>,
    depth: usize,
) -> Result<(), String> {
    if depth > 16 {
        return Err(format!("{} nests too deep", dir.display()));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
        let kind = entry.file_type().map_err(|e| e.to_string())?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        let relative = format!("{prefix}{name}");
        if kind.is_dir() {
            collect(&entry.path(), &format!("{relative}/"), files, depth + 1)?;
        } else if kind.is_file() {
            let size = entry.metadata().map_err(|e| e.to_string())?.len();
            let path = entry.path().canonicalize().map_err(|e| e.to_string())?;
            files.push((relative, path, size));
        }
    }
    files.sort();
    Ok(())
}
