//! What this binary is: version, commit, build time and compiler, fixed at build time by `build.rs` so that
//! `/version` costs nothing to answer.

/// The engine's version (the package version).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `git rev-parse --short HEAD` at build time, or `unknown`.
pub const GIT_COMMIT: &str = env!("WHARF_GIT_COMMIT");
/// The build time as seconds since the Unix epoch (`SOURCE_DATE_EPOCH` when set).
pub const BUILD_EPOCH: &str = env!("WHARF_BUILD_EPOCH");
/// `rustc --version` of the compiler that built this binary; shown where dockerd shows its Go version.
pub const RUSTC_VERSION: &str = env!("WHARF_RUSTC_VERSION");

/// The `Server` header value: `Wharf/<version> (linux)`.
pub fn server_header() -> String {
    format!("Wharf/{VERSION} (linux)")
}

/// The architecture under Go's name, as the Docker API reports it in `/version` (`amd64`, `arm64`).
pub fn go_arch() -> &'static str {
    go_arch_of(std::env::consts::ARCH)
}

fn go_arch_of(rust_arch: &'static str) -> &'static str {
    match rust_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The build time in RFC 3339 form, as dockerd prints `BuildTime`.
pub fn build_time() -> String {
    BUILD_EPOCH
        .parse::<u64>()
        .map(crate::timefmt::rfc3339_seconds)
        .unwrap_or_else(|_| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_uses_go_names() {
        assert_eq!(go_arch_of("x86_64"), "amd64");
        assert_eq!(go_arch_of("aarch64"), "arm64");
        assert_eq!(go_arch_of("riscv64"), "riscv64");
    }

    #[test]
    fn server_header_names_wharf_and_linux() {
        let h = server_header();
        assert!(h.starts_with("Wharf/") && h.ends_with(" (linux)"), "{h}");
    }
}
