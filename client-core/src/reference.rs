//! Image references as Docker normalises them (`distribution/reference`'s `ParseNormalizedNamed`):
//! `busybox` is `docker.io/library/busybox`, `user/app` is `docker.io/user/app`, `host:5000/a/b` keeps its
//! registry; tags follow `:`, digests `@`. The familiar form (`busybox:latest`) is what the docker CLI shows.
//! Errors are worded as Docker words them, since clients print them as they are.

use std::fmt;

/// The registry a name without one belongs to.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The path prefix of official images on the default registry.
pub const OFFICIAL_PREFIX: &str = "library/";
/// The tag a reference without tag or digest gets.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository name.
pub const MAX_NAME_LEN: usize = 255;

/// Why a string is not an image reference.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// It does not match the grammar.
    #[error("invalid reference format")]
    InvalidFormat,
    /// Upper case in the repository path.
    #[error("invalid reference format: repository name must be lowercase")]
    Uppercase,
    /// The name is longer than 255 characters.
    #[error("repository name must not be more than 255 characters")]
    NameTooLong,
    /// The name is a 64-character hex string, which could be mistaken for an image ID.
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    /// A digest that is not `algorithm:hex` of the right length.
    #[error("invalid checksum digest format")]
    InvalidDigest,
}

/// A normalised image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

fn is_alnum_lower(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn valid_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if !is_alnum_lower(first) || !is_alnum_lower(last) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum_lower(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum_lower(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// A domain: dot-separated labels of letters, digits and inner hyphens, with an optional `:port`.
fn valid_domain(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit())) {
        return false;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
        })
}

/// `[\w][\w.-]{0,127}`
pub fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `algorithm:hex`; sha256 needs 64 lower-case hex digits.
fn check_digest(s: &str) -> Result<(), ReferenceError> {
    let (alg, hex) = s.split_once(':').ok_or(ReferenceError::InvalidFormat)?;
    let alg_ok = alg.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
        && alg
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_+.".contains(&c));
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(ReferenceError::InvalidFormat);
    }
    if alg == "sha256" && (hex.len() != 64 || hex.bytes().any(|c| c.is_ascii_uppercase())) {
        return Err(ReferenceError::InvalidDigest);
    }
    Ok(())
}

/// Whether `s` is 64 lower-case hex digits (an image or container ID).
pub fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

impl Reference {
    /// Parses and normalises a reference as `docker pull` and friends do.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        if is_full_hex_id(s) {
            return Err(ReferenceError::HexName(s.to_owned()));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => {
                check_digest(d)?;
                (r, Some(d.to_owned()))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(ReferenceError::InvalidFormat);
                }
                (&rest[..last_slash + i], Some(tag.to_owned()))
            }
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(ReferenceError::InvalidFormat);
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.bytes().any(|c| c.is_ascii_uppercase()) =>
            {
                (first.to_owned(), remainder.to_owned())
            }
            _ => (DEFAULT_DOMAIN.to_owned(), name.to_owned()),
        };
        let domain = if domain == "index.docker.io" {
            DEFAULT_DOMAIN.to_owned()
        } else {
            domain
        };
        let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
            format!("{OFFICIAL_PREFIX}{path}")
        } else {
            path
        };
        if path.bytes().any(|c| c.is_ascii_uppercase()) {
            return Err(ReferenceError::Uppercase);
        }
        if !valid_domain(&domain) || !path.split('/').all(valid_path_component) {
            return Err(ReferenceError::InvalidFormat);
        }
        if domain.len() + 1 + path.len() > MAX_NAME_LEN {
            return Err(ReferenceError::NameTooLong);
        }
        Ok(Self {
            domain,
            path,
            tag,
            digest,
        })
    }

    /// Parses, then adds `:latest` when there is neither tag nor digest (`TagNameOnly`).
    pub fn parse_tagged(s: &str) -> Result<Self, ReferenceError> {
        Self::parse(s).map(Self::with_default_tag)
    }

    /// This reference with `:latest` when it has neither tag nor digest.
    pub fn with_default_tag(mut self) -> Self {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some(DEFAULT_TAG.to_owned());
        }
        self
    }

    /// This repository with `tag` (which must be a valid tag) and no digest.
    pub fn with_tag(&self, tag: &str) -> Result<Self, ReferenceError> {
        if !valid_tag(tag) {
            return Err(ReferenceError::InvalidFormat);
        }
        Ok(Self {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_owned()),
            digest: None,
        })
    }

    /// The registry: `docker.io`, `host:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path: `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// The full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The repository name as the docker CLI shows it: `busybox`, `user/app`, `host:5000/a/b`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_PREFIX) {
                Some(short) if !short.contains('/') => short.to_owned(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    fn suffix(&self) -> String {
        let mut s = String::new();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// The whole reference as the docker CLI shows it: `busybox:latest`.
    pub fn familiar(&self) -> String {
        format!("{}{}", self.familiar_name(), self.suffix())
    }
}

impl fmt::Display for Reference {
    /// The full normalised form: `docker.io/library/busybox:latest`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.name(), self.suffix())
    }
}

impl std::str::FromStr for Reference {
    type Err = ReferenceError;

    fn from_str(s: &str) -> Result<Self, ReferenceError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn full(s: &str) -> String {
        Reference::parse_tagged(s).unwrap().to_string()
    }

    #[test]
    fn docker_normalisation_examples() {
        assert_eq!(full("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("busybox:1.36"), "docker.io/library/busybox:1.36");
        assert_eq!(full("library/busybox"), "docker.io/library/busybox:latest");
        assert_eq!(full("user/app"), "docker.io/user/app:latest");
        assert_eq!(
            full("docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(full("index.docker.io/user/app:v1"), "docker.io/user/app:v1");
        assert_eq!(full("host:5000/a/b:tag"), "host:5000/a/b:tag");
        assert_eq!(full("localhost/app"), "localhost/app:latest");
        assert_eq!(
            full("quay.io/a/b_c__d-e.f:1.0-x"),
            "quay.io/a/b_c__d-e.f:1.0-x"
        );
        assert_eq!(
            full(&format!("busybox@{D}")),
            format!("docker.io/library/busybox@{D}")
        );
        let both = Reference::parse(&format!("user/app:v2@{D}")).unwrap();
        assert_eq!(both.tag(), Some("v2"));
        assert_eq!(both.digest(), Some(D));
    }

    #[test]
    fn familiar_forms_are_what_the_cli_shows() {
        let f = |s: &str| Reference::parse_tagged(s).unwrap().familiar();
        assert_eq!(f("docker.io/library/busybox"), "busybox:latest");
        assert_eq!(f("docker.io/user/app:1"), "user/app:1");
        assert_eq!(f("docker.io/library/a/b"), "library/a/b:latest");
        assert_eq!(f("host:5000/a/b:tag"), "host:5000/a/b:tag");
        let r = Reference::parse("busybox").unwrap();
        assert_eq!(r.tag(), None);
        assert_eq!(r.name(), "docker.io/library/busybox");
        assert_eq!(r.familiar_name(), "busybox");
        assert_eq!(r.with_tag("x").unwrap().familiar(), "busybox:x");
        assert!(r.with_tag("-x").is_err());
    }

    #[test]
    fn invalid_references_are_worded_as_docker() {
        let e = |s: &str| Reference::parse(s).unwrap_err().to_string();
        assert_eq!(
            e("Busybox"),
            "invalid reference format: repository name must be lowercase"
        );
        assert_eq!(
            e("user/App"),
            "invalid reference format: repository name must be lowercase"
        );
        for bad in [
            "",
            ":tag",
            "busybox:",
            "a//b",
            "-a",
            "a-",
            "busybox:-x",
            "a@sha256:xyz",
            "host:port/x",
            "bad$name",
            "a:b:c",
        ] {
            assert_eq!(e(bad), "invalid reference format", "{bad:?}");
        }
        let hex = "a".repeat(64);
        assert_eq!(
            e(&hex),
            format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings")
        );
        assert_eq!(
            e(&"a".repeat(250)),
            "repository name must not be more than 255 characters"
        );
        assert_eq!(
            e(&format!("a@sha256:{}", "0".repeat(40))),
            "invalid checksum digest format"
        );
    }

    #[test]
    fn upper_case_first_component_is_a_domain() {
        // As in Docker: `Foo/bar` names the registry `Foo`, whose path is valid.
        assert_eq!(full("Foo/bar"), "Foo/bar:latest");
        assert!(is_full_hex_id(&"0".repeat(64)));
        assert!(!is_full_hex_id(&"0".repeat(63)));
    }
}
