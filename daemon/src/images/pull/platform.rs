//! Which image of a manifest list or OCI index a pull takes: the host's platform (or the `platform`
//! query's `os[/arch[/variant]]`), matched as dockerd 20.10 matches it (containerd's `platforms`
//! normalisation: `aarch64` is `arm64`, `arm` means `arm/v7`; an `arm/v7` host also takes `v6` and `v5`,
//! best first; entries without a variant still match an `arm` host as a last resort).

use crate::error::Error;

/// An `os/architecture/variant` triple, normalised.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: String,
}

const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "windows",
    "zos",
];

const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// containerd's architecture normalisation.
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => ("amd64".into(), variant),
        "aarch64" | "arm64" => {
            let v = match variant.as_str() {
                "8" | "v8" => String::new(),
                _ => variant,
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".to_owned(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

impl Platform {
    /// The platform wharfd runs on (`linux`, Go's architecture name, `v7` on 32-bit arm).
    pub(crate) fn host() -> Self {
        let arch = crate::buildinfo::go_arch();
        Self {
            os: "linux".into(),
            architecture: arch.into(),
            variant: if arch == "arm" {
                "v7".into()
            } else {
                String::new()
            },
        }
    }

    /// containerd's `Normalize`.
    pub(crate) fn normalized(&self) -> Self {
        let (architecture, variant) = normalize_arch(&self.architecture, &self.variant);
        Self {
            os: self.os.to_ascii_lowercase(),
            architecture,
            variant,
        }
    }

    /// `os/arch` as dockerd names the platform it looked for.
    pub(crate) fn os_arch(&self) -> String {
        format!("{}/{}", self.os, self.architecture)
    }

    /// Parses the `platform` query as dockerd 20.10 (containerd's `platforms.Parse`).
    pub(crate) fn parse(spec: &str) -> Result<Self, Error> {
        let invalid = |why: &str| Error::invalid(format!("{spec:?}: {why}: invalid argument"));
        if spec.contains('*') {
            return Err(invalid("wildcards not yet supported"));
        }
        let parts: Vec<&str> = spec.split('/').collect();
        let component_ok = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        };
        if let Some(bad) = parts.iter().find(|p| !component_ok(p)) {
            return Err(Error::invalid(format!(
                "{bad:?} is an invalid component of {spec:?}: platform specifier component must match \"^[A-Za-z0-9_-]+$\": invalid argument"
            )));
        }
        let host = Self::host();
        let p = match parts.as_slice() {
            [one] => {
                let os = one.to_ascii_lowercase();
                if KNOWN_OS.contains(&os.as_str()) {
                    Self { os, ..host }
                } else {
                    let (architecture, mut variant) = normalize_arch(one, "");
                    if architecture == "arm" && variant == "v7" {
                        variant.clear();
                    }
                    if !KNOWN_ARCH.contains(&architecture.as_str()) {
                        return Err(invalid("unknown operating system or architecture"));
                    }
                    Self {
                        os: host.os,
                        architecture,
                        variant,
                    }
                }
            }
            [os, arch] => {
                let (architecture, mut variant) = normalize_arch(arch, "");
                if architecture == "arm" && variant == "v7" {
                    variant.clear();
                }
                Self {
                    os: os.to_ascii_lowercase(),
                    architecture,
                    variant,
                }
            }
            [os, arch, variant] => {
                let (architecture, mut variant) = normalize_arch(arch, variant);
                if architecture == "arm64" && variant.is_empty() {
                    variant = "v8".into();
                }
                Self {
                    os: os.to_ascii_lowercase(),
                    architecture,
                    variant,
                }
            }
            _ => return Err(invalid("cannot parse platform specifier")),
        };
        // As dockerd 20.10: another OS is not refused here; no image in an index will match it.
        Ok(p)
    }

    /// The platforms this one accepts, best first (containerd's `platforms.Only`).
    fn accepted(&self) -> Vec<Platform> {
        let p = self.normalized();
        let mut out = vec![p.clone()];
        if p.architecture == "arm" {
            let lower: &[&str] = match p.variant.as_str() {
                "v8" => &["v7", "v6", "v5"],
                "v7" => &["v6", "v5"],
                "v6" => &["v5"],
                _ => &[],
            };
            out.extend(lower.iter().map(|v| Platform {
                variant: (*v).to_owned(),
                ..p.clone()
            }));
        }
        out
    }
}

/// Picks the entry of an index for `want` (the host's when `None`): the index of the best match in
/// `entries`, or dockerd's error "no matching manifest for linux/arm64 in the manifest list entries".
pub(crate) fn choose(entries: &[Platform], want: Option<&Platform>) -> Result<usize, Error> {
    let host = Platform::host();
    let want = match want {
        None => host,
        Some(w) if w.architecture.is_empty() => Platform {
            os: w.os.clone(),
            ..host
        },
        Some(w) => w.clone(),
    };
    let accepted = want.accepted();
    let rank = |e: &Platform| {
        let n = e.normalized();
        accepted.iter().position(|a| *a == n)
    };
    let best = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| rank(e).map(|r| (r, i)))
        .min();
    if let Some((_, i)) = best {
        return Ok(i);
    }
    // As dockerd: older lists give arm images without a variant.
    let want_n = want.normalized();
    if want_n.architecture == "arm" {
        if let Some(i) = entries
            .iter()
            .position(|e| e.os == want_n.os && e.architecture == want_n.architecture)
        {
            return Ok(i);
        }
    }
    Err(Error::new(
        wharf_client_core::ErrorKind::NotFound,
        format!(
            "no matching manifest for {} in the manifest list entries",
            want_n.os_arch()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(os: &str, arch: &str, variant: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: arch.into(),
            variant: variant.into(),
        }
    }

    #[test]
    fn the_platform_query_parses_as_containerd_parses_it() {
        let host = Platform::host();
        assert_eq!(Platform::parse("linux").unwrap(), host);
        assert_eq!(
            Platform::parse("linux/aarch64").unwrap(),
            p("linux", "arm64", "")
        );
        assert_eq!(Platform::parse("linux/arm").unwrap(), p("linux", "arm", ""));
        assert_eq!(
            Platform::parse("linux/arm/6").unwrap(),
            p("linux", "arm", "v6")
        );
        assert_eq!(
            Platform::parse("linux/").unwrap_err().to_string(),
            r#""" is an invalid component of "linux/": platform specifier component must match "^[A-Za-z0-9_-]+$": invalid argument"#
        );
        assert_eq!(Platform::parse("arm64").unwrap(), p("linux", "arm64", ""));
        assert_eq!(Platform::parse("x86_64").unwrap(), p("linux", "amd64", ""));
        assert_eq!(
            Platform::parse("windows/amd64").unwrap().os_arch(),
            "windows/amd64"
        );
        assert_eq!(
            Platform::parse("pdp11").unwrap_err().to_string(),
            "\"pdp11\": unknown operating system or architecture: invalid argument"
        );
        assert!(Platform::parse("linux/*").is_err());
    }

    #[test]
    fn arm_variants_take_the_best_lower_variant() {
        let entries = [
            p("linux", "amd64", ""),
            p("linux", "arm", "v5"),
            p("linux", "arm", "v6"),
            p("linux", "arm64", "v8"),
        ];
        let v7 = p("linux", "arm", "v7");
        assert_eq!(choose(&entries, Some(&v7)).unwrap(), 2);
        let v5 = p("linux", "arm", "v5");
        assert_eq!(choose(&entries, Some(&v5)).unwrap(), 1);
        // arm64 with or without the v8 variant is the same platform.
        let arm64 = p("linux", "aarch64", "");
        assert_eq!(choose(&entries, Some(&arm64)).unwrap(), 3);
        assert_eq!(choose(&entries, Some(&p("linux", "amd64", ""))).unwrap(), 0);
    }

    #[test]
    fn an_arm_list_without_variants_still_matches_and_a_missing_one_says_so() {
        let entries = [p("linux", "amd64", ""), p("linux", "arm", "")];
        // "arm" without a variant normalises to v7: it matches a v7 host directly.
        assert_eq!(choose(&entries, Some(&p("linux", "arm", "v7"))).unwrap(), 1);
        // A v6 host does not take v7, but falls back to the variant-less entry as dockerd does.
        let only_v8 = [p("linux", "arm", "v8")];
        assert_eq!(choose(&only_v8, Some(&p("linux", "arm", "v6"))).unwrap(), 0);
        let err = choose(&[p("linux", "amd64", "")], Some(&p("linux", "s390x", ""))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no matching manifest for linux/s390x in the manifest list entries"
        );
        assert_eq!(err.kind, wharf_client_core::ErrorKind::NotFound);
        // The host's platform when none is asked for.
        let host = Platform::host();
        assert_eq!(choose(&[p("linux", "ppc64le", ""), host], None).unwrap(), 1);
    }
}
