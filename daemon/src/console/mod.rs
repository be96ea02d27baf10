//! The browser console's files, held in memory: read once at start-up from `--console-dir`, or the copy
//! embedded in the binary by `build.rs` (from `$WHARF_CONSOLE_DIST` or `target/console/dist`).
//!
//! Why in memory: a request can then only ever name one of these files — there is no file system path to
//! escape with `..`, an encoded one or a symbolic link — and an answer is a clone of a `Bytes`. Why
//! bounded: the directory is read whole, so a wrong `--console-dir` (a home directory) must stop the
//! start-up with an error rather than fill the memory. This module knows no HTTP; `api/console.rs`
//! answers from it.

mod embedded;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// The most a console may weigh, all files together.
pub(crate) const MAX_TOTAL_BYTES: u64 = 64 << 20;
/// The most files a console may have.
pub(crate) const MAX_FILES: usize = 4096;
/// How deep its directories may nest.
const MAX_DEPTH: usize = 16;

/// One file of the console.
#[derive(Clone, Debug)]
pub(crate) struct Asset {
    pub body: Bytes,
    /// A strong validator: a hash of `body`, quoted as an `ETag` is.
    pub etag: String,
    /// The precompressed `<name>.gz` beside it, if the build wrote one.
    pub gzip: Option<Box<Asset>>,
}

impl Asset {
    fn new(body: Bytes) -> Self {
        let digest = Sha256::digest(&body);
        let etag = format!("\"{}\"", hex(&digest[..16]));
        Self {
            body,
            etag,
            gzip: None,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A whole console: its files by their path relative to the console's root (`index.html`,
/// `fonts/x.woff2`), `/`-separated.
#[derive(Clone, Debug, Default)]
pub(crate) struct Assets {
    files: HashMap<String, Asset>,
}

/// Where the console comes from, and whether it is served at all.
#[derive(Clone, Debug)]
pub(crate) enum Console {
    /// `--console=false`: the console's paths are the API's, as if there were no console.
    Off,
    /// Served, but this binary has none built in and no `--console-dir` was given.
    NotBuilt,
    /// Served from these files.
    Files(std::sync::Arc<Assets>),
}

/// Why a `--console-dir` cannot be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConsoleError {
    #[error("console directory {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("console directory {}: no index.html at its root (build the console with `cargo xtask console`)", .0.display())]
    NoIndex(PathBuf),
    #[error("console directory {}: more than {} MiB or {} files; is it the console's build?", .0.display(), MAX_TOTAL_BYTES >> 20, MAX_FILES)]
    TooBig(PathBuf),
    #[error("console directory {}: directories nest deeper than {MAX_DEPTH}", .0.display())]
    TooDeep(PathBuf),
}

impl Console {
    /// The console to serve: `dir` if given (read now), else the embedded one; `Off` when `enabled` is
    /// false (then `dir` is not read).
    pub(crate) fn load(enabled: bool, dir: Option<&Path>) -> Result<Self, ConsoleError> {
        if !enabled {
            return Ok(Self::Off);
        }
        if let Some(dir) = dir {
            return Ok(Self::Files(std::sync::Arc::new(Assets::read_dir(dir)?)));
        }
        Ok(Assets::embedded().map_or(Self::NotBuilt, |a| Self::Files(std::sync::Arc::new(a))))
    }

    /// Where the console comes from, for the start-up log.
    pub(crate) fn describe(&self, dir: Option<&Path>) -> String {
        match (self, dir) {
            (Self::Off, _) => "off (--console=false)".to_owned(),
            (Self::NotBuilt, _) => {
                "not built in (`cargo xtask console`, or --console-dir)".to_owned()
            }
            (Self::Files(a), Some(d)) => format!("{} files from {}", a.len(), d.display()),
            (Self::Files(a), None) => format!("{} files built in", a.len()),
        }
    }
}

impl Assets {
    /// The file at `path` (relative, `/`-separated, as the console's URLs name it).
    pub(crate) fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path)
    }

    /// How many files there are.
    pub(crate) fn len(&self) -> usize {
        self.files.len()
    }

    /// The console embedded at build time, if there is one.
    pub(crate) fn embedded() -> Option<Self> {
        if embedded::FILES.is_empty() {
            return None;
        }
        let files = embedded::FILES
            .iter()
            .map(|(name, body)| ((*name).to_owned(), Bytes::from_static(body)));
        Self::from_files(files)
    }

    /// Reads the regular files under `dir` (symbolic links are skipped: what is served is what the build
    /// wrote there, nothing they point to).
    pub(crate) fn read_dir(dir: &Path) -> Result<Self, ConsoleError> {
        let mut files = Vec::new();
        let mut total = 0u64;
        let mut pending = vec![(dir.to_owned(), String::new(), 0usize)];
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| ConsoleError::Io { path, source }
        };
        while let Some((path, prefix, depth)) = pending.pop() {
            if depth > MAX_DEPTH {
                return Err(ConsoleError::TooDeep(dir.to_owned()));
            }
            for entry in std::fs::read_dir(&path).map_err(io(&path))? {
                let entry = entry.map_err(io(&path))?;
                let kind = entry.file_type().map_err(io(&entry.path()))?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue; // not UTF-8: no URL names it
                };
                let relative = format!("{prefix}{name}");
                if kind.is_dir() {
                    pending.push((entry.path(), format!("{relative}/"), depth + 1));
                } else if kind.is_file() {
                    let size = entry.metadata().map_err(io(&entry.path()))?.len();
                    total = total.saturating_add(size);
                    if total > MAX_TOTAL_BYTES || files.len() >= MAX_FILES {
                        return Err(ConsoleError::TooBig(dir.to_owned()));
                    }
                    let body = std::fs::read(entry.path()).map_err(io(&entry.path()))?;
                    // The file may have grown since its metadata was read: count what was read.
                    total = total.saturating_add((body.len() as u64).saturating_sub(size));
                    if total > MAX_TOTAL_BYTES {
                        return Err(ConsoleError::TooBig(dir.to_owned()));
                    }
                    files.push((relative, Bytes::from(body)));
                }
            }
        }
        Self::from_files(files).ok_or_else(|| ConsoleError::NoIndex(dir.to_owned()))
    }

    /// The console of `files`, each `name.gz` also linked to `name` as its precompressed form; `None`
    /// without an `index.html`.
    pub(crate) fn from_files(files: impl IntoIterator<Item = (String, Bytes)>) -> Option<Self> {
        let mut map: HashMap<String, Asset> = files
            .into_iter()
            .map(|(name, body)| (name, Asset::new(body)))
            .collect();
        if !map.contains_key("index.html") {
            return None;
        }
        let pairs: Vec<(String, Asset)> = map
            .iter()
            .filter_map(|(name, gz)| {
                let plain = name.strip_suffix(".gz")?;
                map.contains_key(plain)
                    .then(|| (plain.to_owned(), gz.clone()))
            })
            .collect();
        for (plain, gz) in pairs {
            if let Some(asset) = map.get_mut(&plain) {
                asset.gzip = Some(Box::new(gz));
            }
        }
        Some(Self { files: map })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, body: &[u8]) {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }

    #[test]
    fn reads_a_directory_with_its_gzip_siblings() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "index.html", b"<html>");
        write(dir.path(), "app.wasm", b"\0asm");
        write(dir.path(), "app.wasm.gz", b"gz");
        write(dir.path(), "fonts/a.woff2", b"font");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("passwd")).unwrap();
        let assets = Assets::read_dir(dir.path()).unwrap();
        assert_eq!(assets.len(), 4, "the link is skipped");
        assert!(assets.get("passwd").is_none());
        assert_eq!(&assets.get("fonts/a.woff2").unwrap().body[..], b"font");
        let wasm = assets.get("app.wasm").unwrap();
        assert_eq!(&wasm.gzip.as_ref().unwrap().body[..], b"gz");
        assert!(assets.get("index.html").unwrap().gzip.is_none());
        assert_ne!(wasm.etag, wasm.gzip.as_ref().unwrap().etag);
        assert_eq!(wasm.etag.len(), 34);
        assert!(wasm.etag.starts_with('"') && wasm.etag.ends_with('"'));
    }

    #[test]
    fn refuses_a_directory_without_index_or_too_big() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "sub/index.html", b"<html>");
        let e = Assets::read_dir(dir.path()).unwrap_err();
        assert!(matches!(e, ConsoleError::NoIndex(_)), "{e}");
        assert!(e.to_string().contains("no index.html"), "{e}");
        write(dir.path(), "index.html", b"<html>");
        let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
        big.set_len(MAX_TOTAL_BYTES + 1).unwrap();
        let e = Assets::read_dir(dir.path()).unwrap_err();
        assert!(matches!(e, ConsoleError::TooBig(_)), "{e}");
        let e = Assets::read_dir(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(e, ConsoleError::Io { .. }), "{e}");
    }

    #[test]
    fn off_reads_nothing() {
        let absent = Path::new("/nonexistent/console");
        assert!(matches!(
            Console::load(false, Some(absent)),
            Ok(Console::Off)
        ));
        assert!(Console::load(true, Some(absent)).is_err());
    }
}
