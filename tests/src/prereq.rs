//! Prerequisites of the tests that need the real runtime: root, containerd, tools on `PATH`. A test without
//! them is skipped with the reason printed — except under CI (`CI` set), where that is a failure, so CI can
//! never pass by skipping.

/// Whether `program` is an executable name found on `PATH`.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).exists()))
}

/// Why wharfd cannot run containerd here (not root, no `containerd`), or `None` when it can.
pub fn missing_runtime() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        Some("not root".into())
    } else if !on_path("containerd") {
        Some("containerd is not installed".into())
    } else {
        None
    }
}

/// Whether `test` can run, given what is `missing`: prints why it skips, and panics under CI instead.
#[allow(clippy::panic)] // called by tests, which fail by panicking
pub fn can_run(test: &str, missing: Option<String>) -> bool {
    match missing {
        None => true,
        Some(r) if std::env::var_os("CI").is_some() => panic!("{test}: cannot run under CI: {r}"),
        Some(r) => {
            eprintln!("skipping {test}: {r}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_programs_on_path_and_runs_when_nothing_is_missing() {
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-wharf"));
        assert!(can_run("t", None));
    }
}
