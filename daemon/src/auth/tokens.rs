//! The token store: `<data-root>/auth/tokens.json` (directory 0700, file 0600) holds each token's name,
//! role, creation and expiry and the SHA-256 of its text — never the token itself, which is shown once, to
//! the admin who created it. Every change rewrites the file atomically (a temporary file, fsync, rename),
//! so a crash leaves the old list or the new one.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use wharf_client_core::ErrorKind;

use super::{secret, Identity, Role};
use crate::error::Error;
use crate::timefmt;

/// What a token's text starts with, so that a leaked one is recognisable (secret scanners, logs).
pub(crate) const TOKEN_PREFIX: &str = "wharf_";

/// The most tokens the store keeps.
pub(crate) const MAX_TOKENS: usize = 1000;

/// The longest text checked as a token; anything longer is no token of ours.
const MAX_TOKEN_LEN: usize = 128;

/// Why the store cannot be opened.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("cannot use the tokens in {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the tokens in {}: {source}", .path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Creates `dir` (0700), or narrows an existing one to 0700.
pub(crate) fn make_private_dir(dir: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)
}

/// One token as the file keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StoredToken {
    name: String,
    role: Role,
    /// SHA-256 of the token's text, hex.
    hash: String,
    /// RFC 3339.
    created: String,
    /// RFC 3339, if it expires.
    expires: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TokensFile {
    tokens: Vec<StoredToken>,
}

/// A token as the daemon checks it.
#[derive(Clone, Debug)]
struct Entry {
    stored: StoredToken,
    hash: [u8; 32],
    expires_at: Option<u64>,
    /// `token:<name>`, built once.
    label: Arc<str>,
}

impl Entry {
    fn new(stored: StoredToken) -> Option<Self> {
        let hash = secret::from_hex(&stored.hash)?;
        let expires_at = match &stored.expires {
            Some(t) => Some(u64::try_from(timefmt::parse_rfc3339_seconds(t)?).unwrap_or(0)),
            None => None,
        };
        let label = format!("token:{}", stored.name).into();
        Some(Self {
            stored,
            hash,
            expires_at,
            label,
        })
    }

    fn info(&self) -> TokenInfo {
        TokenInfo {
            name: self.stored.name.clone(),
            role: self.stored.role,
            created: self.stored.created.clone(),
            expires: self.stored.expires.clone(),
        }
    }
}

/// A token as `GET /wharf/v1/tokens` lists it: no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TokenInfo {
    pub name: String,
    pub role: Role,
    pub created: String,
    pub expires: Option<String>,
}

/// A new token, the one time its text is known.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CreatedToken {
    pub name: String,
    pub role: Role,
    pub token: String,
    pub expires: Option<String>,
}

/// The tokens, in memory and (unless in a test) on disk.
#[derive(Debug)]
pub(crate) struct TokenStore {
    path: Option<PathBuf>,
    entries: Mutex<Vec<Entry>>,
}

impl TokenStore {
    /// Reads `path` (absent: no tokens yet).
    pub(crate) fn open(path: PathBuf) -> Result<Self, StoreError> {
        let file: TokensFile = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StoreError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TokensFile::default(),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let entries = file
            .tokens
            .into_iter()
            .filter_map(|t| {
                let name = t.name.clone();
                let entry = Entry::new(t);
                if entry.is_none() {
                    tracing::warn!("token {name:?} in {} is malformed; ignored", path.display());
                }
                entry
            })
            .collect();
        Ok(Self {
            path: Some(path),
            entries: Mutex::new(entries),
        })
    }

    /// A store that keeps nothing on disk.
    #[cfg(test)]
    pub(crate) fn in_memory() -> Self {
        Self {
            path: None,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The identity `token` stands for at `now` (Unix seconds), if it is a known token that has not expired.
    pub(crate) fn verify(&self, token: &str, now: u64) -> Option<Identity> {
        if token.len() > MAX_TOKEN_LEN || !token.starts_with(TOKEN_PREFIX) {
            return None;
        }
        let hash = secret::hash(token);
        let entries = self.entries();
        let mut found = None;
        // Every entry is compared, so the time taken does not depend on which one matched.
        for e in entries.iter() {
            if secret::constant_time_eq(&e.hash, &hash) {
                found = Some(e);
            }
        }
        let e = found?;
        if e.expires_at.is_some_and(|at| now >= at) {
            return None;
        }
        Some(Identity {
            label: e.label.clone(),
            role: e.stored.role,
        })
    }

    /// The tokens, without secrets, by name.
    pub(crate) fn list(&self) -> Vec<TokenInfo> {
        let mut out: Vec<TokenInfo> = self.entries().iter().map(Entry::info).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// A new token named `name` with `role`, expiring after `expires_in` seconds if given.
    pub(crate) fn create(
        &self,
        name: &str,
        role: Role,
        expires_in: Option<u64>,
    ) -> Result<CreatedToken, Error> {
        check_name(name)?;
        if expires_in == Some(0) {
            return Err(Error::invalid(
                "ExpiresIn must be a positive number of seconds",
            ));
        }
        let token = secret::generate(TOKEN_PREFIX)?;
        let now = unix_now();
        let expires = expires_in
            .map(|s| now.saturating_add(s).min(253_402_300_799)) // 9999-12-31T23:59:59Z
            .map(timefmt::rfc3339_seconds);
        let stored = StoredToken {
            name: name.to_owned(),
            role,
            hash: secret::hex(&secret::hash(&token)),
            created: timefmt::rfc3339_seconds(now),
            expires: expires.clone(),
        };
        let entry = Entry::new(stored).ok_or_else(|| Error::system("cannot record the token"))?;
        let mut entries = self.entries();
        if entries.iter().any(|e| e.stored.name == name) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("a token named {name:?} already exists"),
            ));
        }
        if entries.len() >= MAX_TOKENS {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("there are already {MAX_TOKENS} tokens; remove some first"),
            ));
        }
        let mut next = entries.clone();
        next.push(entry);
        self.save(&next)?;
        *entries = next;
        Ok(CreatedToken {
            name: name.to_owned(),
            role,
            token,
            expires,
        })
    }

    /// Removes the token named `name`: it stops working at once.
    pub(crate) fn remove(&self, name: &str) -> Result<(), Error> {
        let mut entries = self.entries();
        let Some(at) = entries.iter().position(|e| e.stored.name == name) else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no such token: {name}"),
            ));
        };
        let mut next = entries.clone();
        next.remove(at);
        self.save(&next)?;
        *entries = next;
        Ok(())
    }

    /// Writes `entries` to the file atomically, 0600.
    fn save(&self, entries: &[Entry]) -> Result<(), Error> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = TokensFile {
            tokens: entries.iter().map(|e| e.stored.clone()).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(Error::system)?;
        write_atomically(path, &bytes)
            .map_err(|e| Error::system(format!("cannot write {}: {e}", path.display())))
    }
}

/// A name: 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or digit.
fn check_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid token name {name:?}: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )))
    }
}

/// `bytes` into `path` by way of a 0600 temporary file beside it, synced, renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_until_they_expire_or_are_removed() {
        let store = TokenStore::in_memory();
        let t = store.create("web", Role::Viewer, Some(60)).unwrap();
        assert!(t.token.starts_with("wharf_"));
        let now = unix_now();
        let id = store.verify(&t.token, now).unwrap();
        assert_eq!((&*id.label, id.role), ("token:web", Role::Viewer));
        assert!(store.verify(&t.token, now + 61).is_none(), "expired");
        assert!(store.verify("wharf_nope", now).is_none());
        assert!(store.verify(&t.token[1..], now).is_none());
        store.remove("web").unwrap();
        assert!(store.verify(&t.token, now).is_none(), "removed");
        assert_eq!(store.remove("web").unwrap_err().kind, ErrorKind::NotFound);
    }

    #[test]
    fn names_are_unique_and_checked() {
        let store = TokenStore::in_memory();
        store.create("a", Role::Admin, None).unwrap();
        let dup = store.create("a", Role::Viewer, None).unwrap_err();
        assert_eq!(dup.kind, ErrorKind::Conflict);
        for bad in ["", "-a", "a b", "a/b", &"x".repeat(65)] {
            let e = store.create(bad, Role::Viewer, None).unwrap_err();
            assert_eq!(e.kind, ErrorKind::InvalidParameter, "{bad:?}");
        }
        let e = store.create("z", Role::Viewer, Some(0)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
    }

    #[test]
    fn the_file_is_private_holds_no_secret_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let auth = dir.path().join("auth");
        make_private_dir(&auth).unwrap();
        let path = auth.join("tokens.json");
        let store = TokenStore::open(path.clone()).unwrap();
        let t = store.create("ci", Role::Operator, None).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&auth), 0o700);
        let text = std::fs::read_to_string(&path).unwrap();
        let body = t.token.strip_prefix(TOKEN_PREFIX).unwrap();
        assert!(!text.contains(body), "{text}");
        assert!(text.contains(&secret::hex(&secret::hash(&t.token))));
        let again = TokenStore::open(path).unwrap();
        assert_eq!(again.list(), store.list());
        assert_eq!(
            again.verify(&t.token, unix_now()).unwrap().role,
            Role::Operator
        );
    }
}
