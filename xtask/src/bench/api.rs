//! The Engine API calls the container workloads make, blocking, over a daemon's unix socket: one
//! connection per call (`wharf_tests::http` speaks `Connection: close`, with its I/O timeouts) and API
//! version 1.41, so that dockerd 20.10 gets the same requests. Both daemons pay the same connect per call;
//! it is microseconds against a container's milliseconds. A non-2xx answer is an error carrying the
//! daemon's `message`, so that a missing endpoint reads as `POST /v1.41/containers/create: 404 ...`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::Value;
use wharf_tests::{http, RawResponse};

/// A daemon's Engine API on its unix socket.
#[derive(Debug, Clone)]
pub struct Api {
    socket: PathBuf,
}

impl Api {
    /// The API behind `socket`.
    pub fn new(socket: &Path) -> Self {
        Self {
            socket: socket.to_owned(),
        }
    }

    /// `POST /images/create?fromSrc=-`: imports the rootfs tar `tar` as `repo:tag`. Errors met after
    /// the 200 (dockerd streams them as `{"error": ...}` lines) are errors too.
    pub fn import(&self, tar: &[u8], repo: &str, tag: &str) -> Result<()> {
        let uri = format!("/v1.41/images/create?fromSrc=-&repo={repo}&tag={tag}");
        let response = self.call("POST", &uri, Some(("application/x-tar", tar)))?;
        for line in response.body_text().lines() {
            if let Ok(message) = serde_json::from_str::<Value>(line) {
                if let Some(error) = message.get("error") {
                    bail!("POST {uri}: {}", text(error));
                }
            }
        }
        Ok(())
    }

    /// `POST /containers/create` with the JSON `config`: the new container's ID.
    pub fn create(&self, config: &str) -> Result<String> {
        self.create_at("/v1.41/containers/create", config)
    }

    /// `POST /containers/create?name=...`: the new container's ID.
    pub fn create_named(&self, config: &str, name: &str) -> Result<String> {
        self.create_at(&format!("/v1.41/containers/create?name={name}"), config)
    }

    fn create_at(&self, uri: &str, config: &str) -> Result<String> {
        let response = self.call("POST", uri, Some(("application/json", config.as_bytes())))?;
        let answer: Value = serde_json::from_slice(&response.body)
            .with_context(|| format!("POST {uri}: the answer is not JSON"))?;
        match answer.get("Id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_owned()),
            _ => bail!("POST {uri}: no Id in {answer}"),
        }
    }

    /// `POST /containers/{id}/start`.
    pub fn start(&self, id: &str) -> Result<()> {
        self.call("POST", &format!("/v1.41/containers/{id}/start"), None)?;
        Ok(())
    }

    /// `POST /containers/{id}/wait`: the exit code, once the container has stopped.
    pub fn wait(&self, id: &str) -> Result<i64> {
        let uri = format!("/v1.41/containers/{id}/wait");
        let response = self.call("POST", &uri, None)?;
        let answer: Value = serde_json::from_slice(&response.body)
            .with_context(|| format!("POST {uri}: the answer is not JSON"))?;
        if let Some(error) = answer.get("Error").filter(|e| !e.is_null()) {
            bail!(
                "POST {uri}: {}",
                text(error.get("Message").unwrap_or(error))
            );
        }
        answer
            .get("StatusCode")
            .and_then(Value::as_i64)
            .with_context(|| format!("POST {uri}: no StatusCode in {answer}"))
    }

    /// `DELETE /containers/{id}`, with `force=1` when `force`.
    pub fn remove(&self, id: &str, force: bool) -> Result<()> {
        let query = if force { "?force=1" } else { "" };
        self.call("DELETE", &format!("/v1.41/containers/{id}{query}"), None)?;
        Ok(())
    }

    /// `GET /containers/json?all=1`: how many containers the daemon lists.
    pub fn count_all(&self) -> Result<usize> {
        let uri = "/v1.41/containers/json?all=1";
        let response = self.call("GET", uri, None)?;
        let answer: Value = serde_json::from_slice(&response.body)
            .with_context(|| format!("GET {uri}: the answer is not JSON"))?;
        answer
            .as_array()
            .map(Vec::len)
            .with_context(|| format!("GET {uri}: the answer is not an array"))
    }

    /// One request; a non-2xx status is an error worded with the daemon's message.
    fn call(&self, method: &str, uri: &str, body: Option<(&str, &[u8])>) -> Result<RawResponse> {
        let headers: Vec<(&str, &str)> = body
            .iter()
            .map(|&(content_type, _)| ("Content-Type", content_type))
            .collect();
        let response = http::request(&self.socket, method, uri, &headers, body.map(|(_, b)| b))
            .with_context(|| format!("{method} {uri}"))?;
        if !(200..300).contains(&response.status) {
            bail!("{method} {uri}: {}", error_text(&response));
        }
        Ok(response)
    }
}

/// `<status> <message>`: the `message` of a JSON error body, else the body itself, shortened.
fn error_text(response: &RawResponse) -> String {
    let message = serde_json::from_slice::<Value>(&response.body)
        .ok()
        .and_then(|v| v.get("message").map(text))
        .unwrap_or_else(|| response.body_text().trim().to_owned());
    let message = match message.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &message[..cut]),
        None => message,
    };
    format!("{} {}", response.status, message)
        .trim_end()
        .to_owned()
}

/// A JSON string's text, anything else as JSON.
fn text(value: &Value) -> String {
    value
        .as_str()
        .map_or_else(|| value.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> RawResponse {
        RawResponse {
            status,
            reason: String::new(),
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn errors_carry_the_daemons_message() {
        assert_eq!(
            error_text(&response(404, r#"{"message":"page not found"}"#)),
            "404 page not found"
        );
        assert_eq!(
            error_text(&response(404, "404 page not found\n")),
            "404 404 page not found"
        );
        assert_eq!(error_text(&response(500, "")), "500");
        let long = error_text(&response(500, &"x".repeat(500)));
        assert_eq!(long.len(), "500 ".len() + 200 + "...".len());
    }
}
