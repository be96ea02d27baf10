//! `--allow-origin` values: browser origins as `Origin` headers carry them.

/// Whether an authority's port, if it names one, is a port.
fn port_ok(authority: &http::uri::Authority) -> bool {
    let has_port = authority
        .as_str()
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.ends_with(']'));
    !has_port || authority.port_u16().is_some()
}

/// Whether `text` is a browser origin as `Origin` headers carry it: `http` or `https`, `://`, a host and
/// perhaps a port, nothing after.
pub(super) fn is_origin(text: &str) -> bool {
    let Ok(uri) = text.parse::<http::Uri>() else {
        return false;
    };
    matches!(uri.scheme_str(), Some("http" | "https"))
        && uri
            .authority()
            .is_some_and(|a| !a.host().is_empty() && !a.as_str().contains('@') && port_ok(a))
        && uri.path_and_query().is_none_or(|p| p.as_str() == "/")
        && !text.ends_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_origins_are_scheme_host_and_port_only() {
        for good in [
            "https://console.example",
            "http://127.0.0.1:8080",
            "https://[::1]:8443",
        ] {
            assert!(is_origin(good), "{good}");
        }
        for bad in [
            "console.example",
            "https://console.example/",
            "https://console.example/path",
            "https://user@console.example",
            "ftp://console.example",
            "https://console.example:99999",
            "https://console.example?x=1",
            "*",
            "null",
        ] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
