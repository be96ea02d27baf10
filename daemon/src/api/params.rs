//! Query-string helpers dockerd's handlers rely on and axum's `Query` lacks: repeated keys (`changes`),
//! Go's boolean spellings, and the `filters` JSON (read by client-core's [`Filters`]).

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;
use wharf_client_core::Filters;

use crate::error::Error;

/// Percent-decodes a query component (`+` is a space).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded pairs of a query string, in order, repeated keys kept. As an extractor, the request's query.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self::parse(parts.uri.query()))
    }
}

impl Params {
    /// Parses `a=1&b=2&b=3`.
    pub(crate) fn parse(query: Option<&str>) -> Self {
        Self(
            query
                .unwrap_or("")
                .split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`, or "".
    pub(crate) fn get(&self, key: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub(crate) fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A boolean as dockerd's `BoolValue`: absent, "", "0", "no", "false", "none" are false.
    pub(crate) fn bool(&self, key: &str) -> bool {
        let v = self.get(key).trim().to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
    }

    /// A boolean as dockerd's `BoolValueOrDefault`: `default` when the key is absent, else as
    /// [`bool`](Self::bool) reads it (so `stream=` is false).
    pub(crate) fn bool_or(&self, key: &str, default: bool) -> bool {
        if self.0.iter().any(|(k, _)| k == key) {
            self.bool(key)
        } else {
            default
        }
    }

    /// The `filters` parameter, refusing names not in `allowed` with dockerd 20.10's `Invalid filter`.
    pub(crate) fn filters(&self, allowed: &[&str]) -> Result<Filters, Error> {
        let filters = Filters::from_json(self.get("filters"));
        filters
            .and_then(|f| f.validate(allowed).map(|()| f))
            .map_err(|e| Error::invalid(e.to_string()))
    }
}

/// Go's `path.Match` for the `*`, `?` wildcards the reference filter uses (`*` does not cross `/`).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                go(&p[1..], t) || (t.first().is_some_and(|&c| c != b'/') && go(p, &t[1..]))
            }
            (Some(b'?'), Some(&c)) if c != b'/' => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_and_encoding() {
        let p = Params::parse(Some(
            "fromSrc=-&repo=img&changes=CMD+%5B%22sh%22%5D&changes=ENV%20A%3Db&force=1&bad=%zz",
        ));
        assert_eq!(p.get("repo"), "img");
        assert_eq!(p.all("changes"), ["CMD [\"sh\"]", "ENV A=b"]);
        assert!(p.bool("force"));
        assert!(!p.bool("noprune"));
        assert_eq!(p.get("bad"), "%zz");
        assert_eq!(p.get("absent"), "");
    }

    #[test]
    fn booleans_with_a_default_as_dockerds_bool_value_or_default() {
        let p = Params::parse(Some("stream=&one-shot=1&x=false"));
        assert!(!p.bool_or("stream", true), "present and empty is false");
        assert!(p.bool_or("one-shot", false));
        assert!(!p.bool_or("x", true));
        assert!(p.bool_or("absent", true));
        assert!(!p.bool_or("absent", false));
    }

    #[test]
    fn filters_in_both_shapes_and_dockerd_wording() {
        let filters = |text: &str, allowed: &[&str]| {
            let mut query = wharf_client_core::Query::new();
            query.append("filters", text);
            Params::parse(Some(&query.encode())).filters(allowed)
        };
        let f = filters(
            r#"{"dangling":["true"],"label":{"a=b":true,"c":false}}"#,
            &["dangling", "label"],
        )
        .unwrap();
        assert_eq!(f.get("dangling"), ["true"]);
        assert_eq!(f.get("label"), ["a=b"]);
        let e = filters(r#"{"nope":["x"]}"#, &["label"]).unwrap_err();
        assert_eq!(e.kind, wharf_client_core::ErrorKind::InvalidParameter);
        assert_eq!(e.message, "Invalid filter 'nope'");
        let e = filters("{", &[]).unwrap_err();
        assert!(e.message.starts_with("invalid filter: "), "{}", e.message);
        assert!(Params::parse(None).filters(&[]).unwrap().is_empty());
    }

    #[test]
    fn glob_matches_as_go_path_match() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("img:*", "img:1"));
        assert!(!glob("a*", "a/b"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("img", "img:1"));
    }
}
