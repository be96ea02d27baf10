//! Registry logins kept in the docker CLI's own `config.json` (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`), so that `docker login` and `wharf login` share them: `auths.<server>.auth` is
//! `base64(user:password)`, an identity token goes in `identitytoken`. Everything else in the file
//! (`HttpHeaders`, `proxies`, other tools' keys) is kept as it is.
//!
//! Credential helpers (`credsStore`, `credHelpers`) keep secrets in another program; wharf does not run
//! them, and says so rather than silently logging in or out somewhere the docker CLI would not look.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};
use wharf_client_core::registry_auth::RegistryAuth;
use wharf_client_core::Reference;

/// The key Docker Hub's logins are kept under, as the docker CLI keeps them.
pub const DOCKER_HUB: &str = "https://index.docker.io/v1/";

/// Why the config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The file exists but cannot be read or written.
    #[error("cannot use the docker config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The file names a credential helper wharf does not run.
    #[error(
        "{path} keeps registry credentials in the credential helper \"docker-credential-{helper}\" \
         ({key}), which wharf cannot use: remove \"{key}\" from it, or log in with the docker CLI"
    )]
    Helper {
        /// The file.
        path: PathBuf,
        /// The helper's name.
        helper: String,
        /// Which setting names it.
        key: String,
    },
    /// Neither `DOCKER_CONFIG` nor `HOME` is set.
    #[error("cannot find the docker config directory: set DOCKER_CONFIG or HOME")]
    NoDirectory,
}

/// The docker CLI's config file.
#[derive(Debug)]
pub struct ConfigFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

/// The config file's path, from `DOCKER_CONFIG` or `HOME` read through `env`.
pub fn config_path(env: impl Fn(&str) -> Option<String>) -> Result<PathBuf, CredentialsError> {
    if let Some(dir) = env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(Path::new(&dir).join("config.json"));
    }
    let home = env("HOME")
        .filter(|h| !h.is_empty())
        .ok_or(CredentialsError::NoDirectory)?;
    Ok(Path::new(&home).join(".docker").join("config.json"))
}

/// The server name a login is kept under: Docker Hub's key, else the host (and port) alone, as the
/// docker CLI's `ConvertToHostname` makes it (`https://h:5000/v2/` is `h:5000`).
pub fn server_key(server: Option<&str>) -> String {
    match server.map(str::trim).filter(|s| !s.is_empty()) {
        None => DOCKER_HUB.to_owned(),
        Some(s) if is_docker_hub(s) => DOCKER_HUB.to_owned(),
        Some(s) => hostname(s),
    }
}

fn is_docker_hub(server: &str) -> bool {
    matches!(
        hostname(server).as_str(),
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    )
}

fn hostname(server: &str) -> String {
    let rest = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// The server key of the registry `image` lives in.
pub fn server_of_image(image: &str) -> Option<String> {
    let reference = Reference::parse(image).ok()?;
    Some(server_key(Some(reference.domain())))
}

impl ConfigFile {
    /// Reads the file at `path`; a missing file is an empty one.
    pub fn load(path: PathBuf) -> Result<Self, CredentialsError> {
        let doc = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(map)) => map,
                Ok(_) => return Err(file_error(&path, "it is not a JSON object")),
                Err(e) => return Err(file_error(&path, &e.to_string())),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(file_error(&path, &e.to_string())),
        };
        Ok(Self { path, doc })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses a file whose credentials for `server` live in a helper.
    pub fn check_no_helper(&self, server: &str) -> Result<(), CredentialsError> {
        let helper = |key: &str, name: Option<&Value>| match name.and_then(Value::as_str) {
            Some(h) if !h.is_empty() => Err(CredentialsError::Helper {
                path: self.path.clone(),
                helper: h.to_owned(),
                key: key.to_owned(),
            }),
            _ => Ok(()),
        };
        let helpers = self.doc.get("credHelpers").and_then(Value::as_object);
        helper(
            &format!("credHelpers.{server}"),
            helpers.and_then(|h| h.get(server)),
        )?;
        helper("credsStore", self.doc.get("credsStore"))
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The login kept for `server` (a key from [`server_key`]), found as the docker CLI finds it: the key
    /// itself, else any key naming the same host.
    pub fn get(&self, server: &str) -> Result<Option<RegistryAuth>, CredentialsError> {
        self.check_no_helper(server)?;
        let Some(auths) = self.auths() else {
            return Ok(None);
        };
        let entry = auths.get(server).or_else(|| {
            auths
                .iter()
                .find(|(key, _)| server_key(Some(key)) == server)
                .map(|(_, v)| v)
        });
        let Some(entry) = entry.and_then(Value::as_object) else {
            return Ok(None);
        };
        let field = |name: &str| {
            entry
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut auth = RegistryAuth {
            auth: field("auth"),
            identitytoken: field("identitytoken"),
            serveraddress: server.to_owned(),
            ..RegistryAuth::default()
        };
        if let Some((user, pass)) = auth.credentials() {
            auth.username = user;
            auth.password = pass;
            auth.auth.clear();
        }
        if auth.is_anonymous() {
            return Ok(None);
        }
        Ok(Some(auth))
    }

    /// Keeps `auth`'s login for `server`: the identity token instead of the password when there is one.
    pub fn set(&mut self, server: &str, auth: &RegistryAuth) -> Result<(), CredentialsError> {
        self.check_no_helper(server)?;
        let password = if auth.identitytoken.is_empty() {
            auth.password.as_str()
        } else {
            ""
        };
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{password}", auth.username));
        let mut entry = Map::new();
        entry.insert("auth".into(), Value::String(encoded));
        if !auth.identitytoken.is_empty() {
            entry.insert(
                "identitytoken".into(),
                Value::String(auth.identitytoken.clone()),
            );
        }
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(map) = auths {
            map.insert(server.to_owned(), Value::Object(entry));
        }
        self.save()
    }

    /// Forgets the logins kept for `server` (under any key naming it); whether there was one.
    pub fn remove(&mut self, server: &str) -> Result<bool, CredentialsError> {
        self.check_no_helper(server)?;
        let Some(Value::Object(auths)) = self.doc.get_mut("auths") else {
            return Ok(false);
        };
        let before = auths.len();
        auths.retain(|key, _| key != server && server_key(Some(key)) != server);
        if auths.len() == before {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }

    /// Writes the file atomically, 0600 in a 0700 directory, as the docker CLI does.
    fn save(&self) -> Result<(), CredentialsError> {
        use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
        let err = |e: std::io::Error| file_error(&self.path, &e.to_string());
        let dir = self
            .path
            .parent()
            .ok_or_else(|| file_error(&self.path, "it has no directory"))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
        let text = serde_json::to_vec_pretty(&self.doc)
            .map_err(|e| file_error(&self.path, &e.to_string()))?;
        let tmp = dir.join(format!(".config.json.{}.tmp", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(err)?;
        file.write_all(&text).map_err(err)?;
        file.write_all(b"\n").map_err(err)?;
        file.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)
    }
}

fn file_error(path: &Path, message: &str) -> CredentialsError {
    CredentialsError::File {
        path: path.to_owned(),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_kept_by_host_and_hub_by_its_old_url() {
        assert_eq!(server_key(None), DOCKER_HUB);
        assert_eq!(server_key(Some("docker.io")), DOCKER_HUB);
        assert_eq!(server_key(Some("https://h:5000/v2/")), "h:5000");
        assert_eq!(server_of_image("busybox").as_deref(), Some(DOCKER_HUB));
        assert_eq!(server_of_image("h:5000/a/b:1").as_deref(), Some("h:5000"));
    }

    #[test]
    fn a_login_is_kept_beside_what_the_file_already_holds_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d").join("config.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"HttpHeaders":{"Authorization":"Bearer x"},"auths":{"https://old:1/v1/":{"auth":"dTpw"}}}"#,
        )
        .unwrap();
        let mut file = ConfigFile::load(path.clone()).unwrap();
        let auth = RegistryAuth {
            username: "me".into(),
            password: "s:cret".into(),
            ..RegistryAuth::default()
        };
        file.set("h:5000", &auth).unwrap();
        let text: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(text["HttpHeaders"]["Authorization"], "Bearer x");
        assert_eq!(text["auths"]["h:5000"]["auth"], "bWU6czpjcmV0");
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let file = ConfigFile::load(path.clone()).unwrap();
        let got = file.get("h:5000").unwrap().unwrap();
        assert_eq!(got.credentials(), Some(("me".into(), "s:cret".into())));
        // Keys are matched by host, as the docker CLI matches `https://old:1/v1/`.
        let old = file.get("old:1").unwrap().unwrap();
        assert_eq!(old.credentials(), Some(("u".into(), "p".into())));
        assert!(file.get("other:1").unwrap().is_none());
    }

    #[test]
    fn identity_tokens_replace_passwords_and_logout_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let mut file = ConfigFile::load(path.clone()).unwrap();
        let auth = RegistryAuth {
            username: "me".into(),
            password: "pw".into(),
            identitytoken: "tok".into(),
            ..RegistryAuth::default()
        };
        file.set("h:1", &auth).unwrap();
        let got = ConfigFile::load(path.clone())
            .unwrap()
            .get("h:1")
            .unwrap()
            .unwrap();
        assert_eq!(got.identitytoken, "tok");
        assert_eq!(got.password, "");
        assert!(file.remove("h:1").unwrap());
        assert!(!file.remove("h:1").unwrap());
        assert!(ConfigFile::load(path)
            .unwrap()
            .get("h:1")
            .unwrap()
            .is_none());
    }

    #[test]
    fn a_credential_helper_is_refused_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, r#"{"credsStore":"desktop"}"#).unwrap();
        let mut file = ConfigFile::load(path).unwrap();
        let err = file.set("h:1", &RegistryAuth::default()).unwrap_err();
        assert!(
            err.to_string().contains("docker-credential-desktop"),
            "{err}"
        );
        assert!(file.get("h:1").is_err());
    }
}
