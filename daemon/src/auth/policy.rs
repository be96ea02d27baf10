//! Which role each route needs, decided from the method and the path alone (after the `/vX.Y` prefix),
//! before routing and before any upgrade: so a hijacked attach or exec start is refused while it is still
//! an ordinary request. Denials and audit lines name the action as the route's template
//! (`POST /containers/{id}/stop`), never the object, so they read the same for every container.
//!
//! - viewer: `GET`/`HEAD` reads — inspect, list, logs, events, stats, version, info — but not a
//!   container's files (`archive`, `export`), nor an attach or exec upgrade.
//! - operator: also everything else the Docker API has (container lifecycle, create, rm, exec, attach,
//!   images). That is root on the host, as with dockerd: an operator can run a privileged container.
//! - admin: also Wharf's own token endpoints and the audit log (`GET /wharf/v1/audit`); any identity may
//!   ask who it is (`/wharf/v1/whoami`) and how the daemon is reached (`/wharf/v1/daemon`); a
//!   container's directory listing (`/wharf/v1/containers/{id}/files`) is an operator's, as its files are.
//!
//! And one public class, needing no identity at all: the browser console's static files (`GET`/`HEAD` of
//! exactly `/`, `/index.html` and `/console/...`), since a browser must load the login page before it
//! has a token. They are files the daemon's build ships, the same for everyone, and they change nothing;
//! every API route (all of them under other paths) still needs its role.

use super::Role;

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Action {
    /// `METHOD /template`, as denials and the audit name it.
    pub name: String,
    /// The role it needs.
    pub needs: Role,
    /// The object the path names (container, exec, image or token), if any.
    pub object: Option<String>,
    /// Whether it opens an exec or attach session (audited even when it reads).
    pub session: bool,
}

/// Container routes whose second segment is a collection action, not an ID.
const CONTAINER_COLLECTION: &[&str] = &["json", "create", "prune"];
/// Image routes that act on the collection.
const IMAGE_COLLECTION: &[&str] = &["json", "create", "load", "get", "search", "prune", "build"];
/// What can follow an image's name (which may itself hold slashes).
const IMAGE_SUFFIXES: &[&str] = &["json", "history", "push", "tag", "get"];

/// The action `method` on `path` is.
pub(crate) fn action(method: &str, path: &str) -> Action {
    let read = matches!(method, "GET" | "HEAD");
    let segments = segments(path);
    let (template, object) = template(&segments);
    let suffix = if object.is_some() {
        segments.get(2..).map(|s| s.join("/")).unwrap_or_default()
    } else {
        String::new()
    };
    let session = match segments.first().copied() {
        Some("containers") => object.is_some() && suffix.starts_with("attach"),
        Some("exec") => object.is_some() && suffix.starts_with("start"),
        _ => false,
    };
    let needs = match segments.first().copied() {
        Some("wharf") if segments.get(1..3) == Some(&["v1", "ws-ticket"]) => Role::Viewer,
        Some("wharf")
            if read && matches!(segments.as_slice(), ["wharf", "v1", "whoami" | "daemon"]) =>
        {
            Role::Viewer
        }
        // A container's files, as `docker cp` reads them: operators (the console's file browser).
        Some("wharf")
            if read
                && matches!(
                    segments.as_slice(),
                    ["wharf", "v1", "containers", _, "files"]
                ) =>
        {
            Role::Operator
        }
        Some("wharf") => Role::Admin,
        _ if session => Role::Operator,
        Some("containers") if read && matches!(suffix.as_str(), "archive" | "export") => {
            Role::Operator
        }
        _ if read => Role::Viewer,
        _ => Role::Operator,
    };
    Action {
        name: format!("{method} {template}"),
        needs,
        object,
        session,
    }
}

/// Where the console's files live under the daemon's root: `/console/<relative path>`.
pub(crate) const CONSOLE_PREFIX: &str = "/console/";

/// Whether `path` (as sent, before any version prefix is stripped) is one of the console's: `/`,
/// `/index.html` or under `/console/`. No API route has such a path.
pub(crate) fn is_console_path(path: &str) -> bool {
    matches!(path, "/" | "/index.html") || path.starts_with(CONSOLE_PREFIX)
}

/// The public class: whether `method` on `path` asks for one of the console's files, which needs no
/// identity. Only reads: anything else on those paths is refused like any other request.
pub(crate) fn is_public(method: &str, path: &str) -> bool {
    matches!(method, "GET" | "HEAD") && is_console_path(path)
}

/// The path's segments, empty ones left out: `//containers/x//archive` is decided as
/// `/containers/x/archive`, whatever the router makes of it.
fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Whether `path` is a WebSocket upgrade route, the only routes that take a `ticket=` instead of a token.
pub(crate) fn is_upgrade_route(path: &str) -> bool {
    let segments = segments(path);
    matches!(
        segments.as_slice(),
        ["containers", _, "attach", "ws"] | ["exec", _, "start", "ws"]
    )
}

/// The route's template and the object it names.
fn template(segments: &[&str]) -> (String, Option<String>) {
    let plain = || (format!("/{}", segments.join("/")), None);
    match segments {
        ["containers", id, rest @ ..]
            if !(rest.is_empty() && CONTAINER_COLLECTION.contains(id)) =>
        {
            with_id("/containers/{id}", id, rest)
        }
        ["exec", id, rest @ ..] => with_id("/exec/{id}", id, rest),
        ["volumes", name, rest @ ..]
            if !(rest.is_empty() && matches!(*name, "create" | "prune")) =>
        {
            with_id("/volumes/{name}", name, rest)
        }
        ["wharf", "v1", "tokens", name, rest @ ..] => {
            with_id("/wharf/v1/tokens/{name}", name, rest)
        }
        ["wharf", "v1", "containers", id, rest @ ..] => {
            with_id("/wharf/v1/containers/{id}", id, rest)
        }
        ["images", first, ..] if !(segments.len() == 2 && IMAGE_COLLECTION.contains(first)) => {
            let names = &segments[1..];
            match names.split_last() {
                Some((last, name)) if !name.is_empty() && IMAGE_SUFFIXES.contains(last) => {
                    (format!("/images/{{name}}/{last}"), Some(name.join("/")))
                }
                _ => ("/images/{name}".to_owned(), Some(names.join("/"))),
            }
        }
        _ => plain(),
    }
}

fn with_id(base: &str, id: &str, rest: &[&str]) -> (String, Option<String>) {
    let mut t = base.to_owned();
    for s in rest {
        t.push('/');
        t.push_str(s);
    }
    (t, Some(id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(method: &str, path: &str, name: &str, needs: Role, object: Option<&str>) {
        let a = action(method, path);
        assert_eq!(a.name, name, "{method} {path}");
        assert_eq!(a.needs, needs, "{method} {path}");
        assert_eq!(a.object.as_deref(), object, "{method} {path}");
    }

    #[test]
    fn reads_are_for_viewers() {
        use Role::*;
        check(
            "GET",
            "/containers/json",
            "GET /containers/json",
            Viewer,
            None,
        );
        check(
            "GET",
            "/containers/web/json",
            "GET /containers/{id}/json",
            Viewer,
            Some("web"),
        );
        check(
            "GET",
            "/containers/web/logs",
            "GET /containers/{id}/logs",
            Viewer,
            Some("web"),
        );
        check("GET", "/events", "GET /events", Viewer, None);
        check("HEAD", "/info", "HEAD /info", Viewer, None);
        check("GET", "/images/json", "GET /images/json", Viewer, None);
        check(
            "GET",
            "/images/library/busybox:1/json",
            "GET /images/{name}/json",
            Viewer,
            Some("library/busybox:1"),
        );
        check(
            "GET",
            "/exec/e1/json",
            "GET /exec/{id}/json",
            Viewer,
            Some("e1"),
        );
    }

    #[test]
    fn changes_sessions_and_files_are_for_operators() {
        use Role::*;
        check(
            "POST",
            "/containers/web/stop",
            "POST /containers/{id}/stop",
            Operator,
            Some("web"),
        );
        check(
            "POST",
            "/containers/create",
            "POST /containers/create",
            Operator,
            None,
        );
        check(
            "DELETE",
            "/containers/web",
            "DELETE /containers/{id}",
            Operator,
            Some("web"),
        );
        check(
            "POST",
            "/containers/web/exec",
            "POST /containers/{id}/exec",
            Operator,
            Some("web"),
        );
        check(
            "DELETE",
            "/images/a/b:1",
            "DELETE /images/{name}",
            Operator,
            Some("a/b:1"),
        );
        check(
            "POST",
            "/images/a/tag",
            "POST /images/{name}/tag",
            Operator,
            Some("a"),
        );
        check(
            "GET",
            "/containers/web/archive",
            "GET /containers/{id}/archive",
            Operator,
            Some("web"),
        );
        check(
            "GET",
            "/wharf/v1/containers/web/files",
            "GET /wharf/v1/containers/{id}/files",
            Operator,
            Some("web"),
        );
        let attach = action("POST", "/containers/web/attach");
        assert!(attach.session && attach.needs == Operator);
        let ws = action("GET", "/containers/web/attach/ws");
        assert!(ws.session && ws.needs == Operator, "{ws:?}");
        let start = action("POST", "/exec/e1/start");
        assert!(start.session && start.needs == Operator);
        assert!(!action("POST", "/containers/web/stop").session);
    }

    #[test]
    fn only_websocket_routes_are_upgrade_routes() {
        assert!(is_upgrade_route("/containers/web/attach/ws"));
        assert!(is_upgrade_route("/exec/e1/start/ws"));
        assert!(!is_upgrade_route("/containers/web/attach"));
        assert!(!is_upgrade_route("/containers/json"));
        assert!(!is_upgrade_route("/containers/ws/attach/ws/x"));
    }

    #[test]
    fn only_the_consoles_files_are_public() {
        for path in [
            "/",
            "/index.html",
            "/console/app.wasm",
            "/console/fonts/a.woff2",
        ] {
            assert!(is_public("GET", path), "{path}");
            assert!(is_public("HEAD", path), "{path}");
            for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
                assert!(!is_public(method, path), "{method} {path}");
            }
        }
        for path in [
            "/_ping",
            "/v1.47/",
            "/v1.47/index.html",
            "/v1.47/console/app.js",
            "/containers/json",
            "/info",
            "/console",
            "//",
            "/index.html/",
            "/wharf/v1/tokens",
            "/consoles/x",
            "",
        ] {
            assert!(!is_public("GET", path), "{path}");
        }
    }

    #[test]
    fn tokens_are_for_admins_and_tickets_for_anyone() {
        use Role::*;
        check(
            "GET",
            "/wharf/v1/tokens",
            "GET /wharf/v1/tokens",
            Admin,
            None,
        );
        check(
            "POST",
            "/wharf/v1/tokens",
            "POST /wharf/v1/tokens",
            Admin,
            None,
        );
        check(
            "DELETE",
            "/wharf/v1/tokens/ci",
            "DELETE /wharf/v1/tokens/{name}",
            Admin,
            Some("ci"),
        );
        check(
            "POST",
            "/wharf/v1/ws-ticket",
            "POST /wharf/v1/ws-ticket",
            Viewer,
            None,
        );
    }

    #[test]
    fn whoami_and_daemon_are_for_viewers_and_the_audit_for_admins() {
        use Role::*;
        check(
            "GET",
            "/wharf/v1/whoami",
            "GET /wharf/v1/whoami",
            Viewer,
            None,
        );
        check(
            "HEAD",
            "/wharf/v1/daemon",
            "HEAD /wharf/v1/daemon",
            Viewer,
            None,
        );
        check("GET", "/wharf/v1/audit", "GET /wharf/v1/audit", Admin, None);
        // Only reads of exactly these paths: anything else under /wharf stays admin's.
        check(
            "POST",
            "/wharf/v1/whoami",
            "POST /wharf/v1/whoami",
            Admin,
            None,
        );
        check(
            "GET",
            "/wharf/v1/whoami/x",
            "GET /wharf/v1/whoami/x",
            Admin,
            None,
        );
    }
}
