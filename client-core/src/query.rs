//! Query strings as Docker's Go client encodes them.
//!
//! Keys are sorted and values escaped as Go's `url.Values.Encode` does, so that the same call builds the
//! same bytes as the docker CLI; `filters` is a JSON object of string lists, read back in either of the
//! shapes Docker's clients send ([`Filters::from_json`]). Names and IDs put into paths are escaped as Go's
//! `url.URL` escapes a path ([`escape_path`]).

use std::collections::BTreeMap;

/// An ordered set of query parameters. Keys may repeat (`names=a&names=b`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    pairs: BTreeMap<String, Vec<String>>,
}

impl Query {
    /// An empty query.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `key=value`.
    pub fn append(&mut self, key: &str, value: impl Into<String>) -> &mut Self {
        self.pairs
            .entry(key.to_owned())
            .or_default()
            .push(value.into());
        self
    }

    /// Sets `key=1` when `on`, as the Go client sends flags such as `all`, `force` and `v`; absent otherwise.
    pub fn flag(&mut self, key: &str, on: bool) -> &mut Self {
        if on {
            self.append(key, "1");
        }
        self
    }

    /// Sets `key=true` or `key=false`, for parameters whose absence means something else than `false`.
    pub fn boolean(&mut self, key: &str, value: bool) -> &mut Self {
        self.append(key, if value { "true" } else { "false" })
    }

    /// Sets `key=value` when the value is there.
    pub fn optional(&mut self, key: &str, value: Option<impl ToString>) -> &mut Self {
        if let Some(value) = value {
            self.append(key, value.to_string());
        }
        self
    }

    /// Sets `filters` to the JSON encoding of `filters`, unless there are none.
    pub fn filters(&mut self, filters: &Filters) -> &mut Self {
        if !filters.is_empty() {
            self.append("filters", filters.to_json());
        }
        self
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// `a=1&b=x+y`, without the leading `?`.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (key, values) in &self.pairs {
            for value in values {
                if !out.is_empty() {
                    out.push('&');
                }
                escape_into(&mut out, key);
                out.push('=');
                escape_into(&mut out, value);
            }
        }
        out
    }
}

/// Docker's `filters` parameter: names to lists of values, such as `{"label":["a=b"],"status":["exited"]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Filters(BTreeMap<String, Vec<String>>);

impl Filters {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value under `name`.
    pub fn add(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.0
            .entry(name.to_owned())
            .or_default()
            .push(value.into());
        self
    }

    /// The values under `name`.
    pub fn get(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// Whether `name` is set, even with no values (`{"reference":[]}`, which matches nothing).
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Whether no filter is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every name with its values, names in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The JSON text sent as the `filters` parameter.
    pub fn to_json(&self) -> String {
        // A map of strings to lists of strings always serializes.
        serde_json::to_string(&self.0).unwrap_or_default()
    }

    /// Reads a `filters` parameter in either shape clients send: `{"name":["v"]}` (what this crate and
    /// the docker CLI send) or the older `{"name":{"v":true}}` (values mapped to `false` are left out).
    /// Empty text is no filters; text of spaces is refused, as dockerd refuses it.
    pub fn from_json(text: &str) -> Result<Self, FiltersError> {
        use serde_json::Value;
        let mut filters = Self::new();
        // Only an empty text means none: dockerd refuses one of spaces as JSON it cannot read.
        if text.is_empty() {
            return Ok(filters);
        }
        let Value::Object(map) = serde_json::from_str(text).map_err(FiltersError::Json)? else {
            return Err(FiltersError::NotAnObject);
        };
        for (name, values) in map {
            let list = filters.0.entry(name.clone()).or_default();
            match values {
                Value::Array(values) => {
                    for value in values {
                        let Value::String(value) = value else {
                            return Err(FiltersError::Values(name));
                        };
                        list.push(value);
                    }
                }
                Value::Object(values) => list.extend(
                    values
                        .into_iter()
                        .filter(|(_, on)| on.as_bool() == Some(true))
                        .map(|(value, _)| value),
                ),
                _ => return Err(FiltersError::Values(name)),
            }
        }
        Ok(filters)
    }

    /// Refuses names not in `accepted`, as an endpoint refuses filters it does not know (moby's
    /// `Args.Validate`).
    pub fn validate(&self, accepted: &[&str]) -> Result<(), FiltersError> {
        match self
            .0
            .keys()
            .find(|name| !accepted.contains(&name.as_str()))
        {
            Some(name) => Err(FiltersError::Unknown(name.clone())),
            None => Ok(()),
        }
    }
}

/// A `filters` parameter a daemon refuses, worded as wharfd words it (`Invalid filter` as dockerd 20.10).
#[derive(Debug, thiserror::Error)]
pub enum FiltersError {
    /// Not JSON.
    #[error("invalid filter: {0}")]
    Json(#[source] serde_json::Error),
    /// JSON, but not an object.
    #[error("invalid filter: not a JSON object")]
    NotAnObject,
    /// A name whose values are neither a list of strings nor an object.
    #[error("Invalid filter '{0}'")]
    Values(String),
    /// A name the endpoint does not take.
    #[error("Invalid filter '{0}'")]
    Unknown(String),
}

/// A name or ID made safe for a path, as Go's `url.URL` escapes paths (`EscapedPath`): letters, digits,
/// `-_.~` and `$&+,/:;=@` stay (so `user/app:1` stays as moby's client sends it), every other byte becomes
/// `%XX` — `?`, `#`, `%`, space, controls and non-ASCII included, so no name can end the path or the line.
pub fn escape_path(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'~'
            | b'$'
            | b'&'
            | b'+'
            | b','
            | b'/'
            | b':'
            | b';'
            | b'='
            | b'@' => out.push(b as char),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
    }
    out
}

/// Escapes as Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`, the rest `%XX`.
fn escape_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_sorted_and_escaped_like_go() {
        let mut q = Query::new();
        q.append("since", "a b/c")
            .flag("all", true)
            .flag("size", false)
            .boolean("stream", false);
        assert_eq!(q.encode(), "all=1&since=a+b%2Fc&stream=false");
    }

    #[test]
    fn filters_are_a_json_object_of_string_lists() {
        let mut f = Filters::new();
        f.add("status", "exited")
            .add("label", "a=b")
            .add("label", "c");
        let mut q = Query::new();
        q.filters(&f);
        assert_eq!(f.to_json(), r#"{"label":["a=b","c"],"status":["exited"]}"#);
        assert_eq!(
            q.encode(),
            "filters=%7B%22label%22%3A%5B%22a%3Db%22%2C%22c%22%5D%2C%22status%22%3A%5B%22exited%22%5D%7D"
        );
        assert!(Query::new().filters(&Filters::new()).is_empty());
    }

    #[test]
    fn filters_read_back_from_both_shapes() {
        let mut sent = Filters::new();
        sent.add("label", "a=b")
            .add("label", "c")
            .add("dangling", "true");
        assert_eq!(Filters::from_json(&sent.to_json()).unwrap(), sent);
        let old = Filters::from_json(
            r#"{"dangling":{"true":true},"label":{"a=b":true,"c":true,"d":false}}"#,
        )
        .unwrap();
        assert_eq!(old, sent);
        assert!(Filters::from_json("").unwrap().is_empty());
        assert!(Filters::from_json(" \t").is_err(), "dockerd refuses spaces");
        let empty_list = Filters::from_json(r#"{"reference":[]}"#).unwrap();
        assert!(empty_list.get("reference").is_empty());
        assert!(empty_list.contains("reference"));
        assert!(!empty_list.contains("label"));
    }

    #[test]
    fn filters_refused_say_why_as_wharfd_does() {
        let err = |text: &str| Filters::from_json(text).unwrap_err().to_string();
        assert!(
            err("{").starts_with("invalid filter: EOF while parsing"),
            "{}",
            err("{")
        );
        assert_eq!(err("[]"), "invalid filter: not a JSON object");
        assert_eq!(err(r#"{"label":"a"}"#), "Invalid filter 'label'");
        assert_eq!(err(r#"{"label":[1]}"#), "Invalid filter 'label'");
        let f = Filters::from_json(r#"{"label":["a"],"nope":["x"]}"#).unwrap();
        assert!(f.validate(&["label", "nope"]).is_ok());
        let e = f.validate(&["label"]).unwrap_err();
        assert!(matches!(&e, FiltersError::Unknown(name) if name == "nope"));
        assert_eq!(e.to_string(), "Invalid filter 'nope'");
    }

    #[test]
    fn paths_are_escaped_as_go_escapes_them() {
        // What docker 28 sent for `docker start` and `docker image inspect` with these names.
        assert_eq!(
            escape_path("a!b?c d#e%f*(x)[y]é;=@$&+,~"),
            "a%21b%3Fc%20d%23e%25f%2A%28x%29%5By%5D%C3%A9;=@$&+,~"
        );
        assert_eq!(escape_path("a!b?c/d:e"), "a%21b%3Fc/d:e");
        assert_eq!(escape_path("x\r\nHost: y"), "x%0D%0AHost:%20y");
    }

    #[test]
    fn escapes_multibyte_utf8_per_byte() {
        let mut q = Query::new();
        q.append("name", "é");
        assert_eq!(q.encode(), "name=%C3%A9");
    }
}
