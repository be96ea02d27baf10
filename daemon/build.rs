//! Build facts for `/version`: the git commit, the build time and the compiler, computed once at build time.

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
}
