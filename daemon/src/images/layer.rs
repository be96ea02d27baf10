//! Reading an uploaded rootfs tar into a layer blob: decompress it when it is gzip, check every entry
//! (no path or link may leave the root, the stream must not end inside an entry, it must be a tar at all),
//! and write the uncompressed stream to a file while hashing it. The result is the layer's diff ID (also
//! its blob digest, since the blob is stored uncompressed) and the unpacked size dockerd reports.
//!
//! Synchronous: run it on a blocking thread.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// Why an upload is not a usable layer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LayerError {
    /// Not a tar archive (or gzip-compressed tar).
    #[error("archive/tar: invalid tar header: the upload is not a tar archive ({0})")]
    NotTar(String),
    /// The stream ended inside an entry.
    #[error("unexpected EOF: the tar archive is truncated (entry {0:?})")]
    Truncated(String),
    /// An entry whose path leaves the root.
    #[error("invalid tar entry {0:?}: paths must stay inside the image root (no '..' above it, no absolute paths)")]
    PathEscape(String),
    /// A link whose target leaves the root.
    #[error("invalid {kind} {name:?} -> {target:?}: the target is outside the image root")]
    LinkEscape {
        /// `symlink` or `hardlink`.
        kind: &'static str,
        name: String,
        /// Where it points.
        target: String,
    },
    /// Reading the upload or writing the blob.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A checked layer written to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Layer {
    /// `sha256:` of the uncompressed tar: the diff ID and the blob digest.
    pub digest: String,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    /// Sum of the regular files' and symlinks' sizes, as dockerd's `Size`.
    pub content_size: u64,
}

/// Writes what passes through to `out` and hashes it.
struct Tee<R, W> {
    inner: R,
    out: W,
    hash: Sha256,
    count: u64,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        self.hash.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// The path with `.` removed and `..` applied; `None` when it climbs above the start.
fn normalise(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(p) => out.push(p),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn bytes_path(b: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(b))
}

/// Checks one entry's path and link target.
fn check_entry(name: &[u8], kind: tar::EntryType, link: Option<&[u8]>) -> Result<(), LayerError> {
    let path = bytes_path(name);
    let Some(clean) = normalise(&path) else {
        return Err(LayerError::PathEscape(lossy(name)));
    };
    let Some(target) = link else {
        return Ok(());
    };
    let target_path = bytes_path(target);
    let escape = |kind| LayerError::LinkEscape {
        kind,
        name: lossy(name),
        target: lossy(target),
    };
    if kind.is_symlink() {
        // Absolute targets resolve inside the container's root; relative ones from the link's directory.
        if target_path.is_absolute() {
            return Ok(());
        }
        let base = clean.parent().map(Path::to_path_buf).unwrap_or_default();
        normalise(&base.join(target_path))
            .map(|_| ())
            .ok_or_else(|| escape("symlink"))
    } else if kind.is_hard_link() {
        normalise(&target_path)
            .map(|_| ())
            .ok_or_else(|| escape("hardlink"))
    } else {
        Ok(())
    }
}

/// Reads `input` (tar, or gzip-compressed tar), checks it and writes the uncompressed tar to `out`.
pub(crate) fn read_layer(input: impl Read, out: impl Write) -> Result<Layer, LayerError> {
    let mut buffered = BufReader::with_capacity(256 * 1024, input);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let source: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let tee = Tee {
        inner: source,
        out,
        hash: Sha256::new(),
        count: 0,
    };
    let mut archive = tar::Archive::new(tee);
    let mut content_size = 0u64;
    let mut entries_seen = 0usize;
    {
        let entries = archive
            .entries()
            .map_err(|e| LayerError::NotTar(excerpt(&e.to_string())))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| classify(&e, entries_seen))?;
            entries_seen += 1;
            let kind = entry.header().entry_type();
            let name = entry.path_bytes().into_owned();
            let link = entry.link_name_bytes().map(|l| l.into_owned());
            check_entry(&name, kind, link.as_deref())?;
            let expected = entry.size();
            let copied = io::copy(&mut entry, &mut io::sink())?;
            if copied != expected {
                return Err(LayerError::Truncated(lossy(&name)));
            }
            if kind.is_file() {
                content_size += expected;
            } else if kind.is_symlink() {
                // As dockerd's du-style size: a symlink's size is its target's length.
                content_size += link.as_ref().map_or(0, |l| l.len() as u64);
            }
        }
    }
    let mut tee = archive.into_inner();
    // The rest (end-of-archive blocks and padding) belongs to the blob and its digest as well.
    io::copy(&mut tee, &mut io::sink())?;
    if entries_seen == 0 && tee.count == 0 {
        return Err(LayerError::NotTar("the upload is empty".to_owned()));
    }
    tee.out.flush()?;
    Ok(Layer {
        digest: format!("sha256:{:x}", tee.hash.finalize()),
        tar_size: tee.count,
        content_size,
    })
}

/// How many characters of an upload's bytes an error may quote.
const EXCERPT_CHARS: usize = 64;

/// `text` for an error message when it may quote the upload (the tar crate's header errors do, a whole
/// block of it): control and replacement characters escaped, cut after [`EXCERPT_CHARS`] characters.
pub(crate) fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == EXCERPT_CHARS {
            out.push_str("...");
            break;
        }
        if c.is_control() || c == char::REPLACEMENT_CHARACTER {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// A header error at the very start means "not a tar"; later ones mean a damaged or truncated tar.
fn classify(e: &io::Error, entries_seen: usize) -> LayerError {
    let text = excerpt(&e.to_string());
    if e.kind() == io::ErrorKind::UnexpectedEof || text.contains("failed to read entire block") {
        if entries_seen == 0 {
            return LayerError::NotTar(text);
        }
        return LayerError::Truncated(format!("after entry {entries_seen}"));
    }
    if entries_seen == 0 {
        LayerError::NotTar(text)
    } else {
        LayerError::NotTar(format!("damaged after entry {entries_seen}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, tar::EntryType, &[u8], Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, kind, data, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            // Write raw names so that tests can build the hostile entries tar::Builder would refuse.
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..name.len()].copy_from_slice(name.as_bytes());
            if let Some(l) = link {
                gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
            }
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn good() -> Vec<u8> {
        tar_of(&[
            ("bin/", tar::EntryType::Directory, b"", None),
            ("bin/busybox", tar::EntryType::Regular, b"0123456789", None),
            ("bin/sh", tar::EntryType::Symlink, b"", Some("busybox")),
            (
                "bin/abs",
                tar::EntryType::Symlink,
                b"",
                Some("/bin/busybox"),
            ),
            ("etc/./up", tar::EntryType::Symlink, b"", Some("../bin/sh")),
            ("bin/ln", tar::EntryType::Link, b"", Some("bin/busybox")),
            ("etc/hello", tar::EntryType::Regular, b"hi\n", None),
        ])
    }

    #[test]
    fn a_good_tar_is_copied_and_hashed() {
        let input = good();
        let mut out = Vec::new();
        let layer = read_layer(&input[..], &mut out).unwrap();
        assert_eq!(out, input);
        assert_eq!(layer.tar_size, input.len() as u64);
        // Files 10 + 3, symlink targets 7 + 12 + 9.
        assert_eq!(layer.content_size, 41);
        assert_eq!(layer.digest, format!("sha256:{:x}", Sha256::digest(&input)));
    }

    #[test]
    fn gzip_is_decompressed_and_the_digest_is_of_the_tar() {
        let input = good();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&input).unwrap();
        let compressed = gz.finish().unwrap();
        let mut out = Vec::new();
        let layer = read_layer(&compressed[..], &mut out).unwrap();
        assert_eq!(out, input);
        assert_eq!(layer.digest, format!("sha256:{:x}", Sha256::digest(&input)));
    }

    #[test]
    fn escaping_paths_and_links_are_refused() {
        let reg = tar::EntryType::Regular;
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (
                tar_of(&[("../etc/passwd", reg, b"x", None)]),
                "../etc/passwd",
            ),
            (tar_of(&[("a/../../x", reg, b"x", None)]), "a/../../x"),
            (tar_of(&[("/etc/passwd", reg, b"x", None)]), "/etc/passwd"),
            (
                tar_of(&[("a/link", tar::EntryType::Symlink, b"", Some("../../etc"))]),
                "invalid symlink",
            ),
            (
                tar_of(&[("a", tar::EntryType::Link, b"", Some("../outside"))]),
                "invalid hardlink",
            ),
            (
                tar_of(&[("a", tar::EntryType::Link, b"", Some("/etc/shadow"))]),
                "invalid hardlink",
            ),
        ];
        for (input, expect) in cases {
            let e = read_layer(&input[..], io::sink()).unwrap_err();
            assert!(
                matches!(e, LayerError::PathEscape(_) | LayerError::LinkEscape { .. }),
                "{e:?}"
            );
            assert!(e.to_string().contains(expect), "{e} / {expect}");
        }
    }

    #[test]
    fn truncated_and_non_tar_uploads_are_refused() {
        let input = good();
        // Cut inside the busybox entry's data.
        let cut = &input[..512 * 2 + 5];
        let e = read_layer(cut, io::sink()).unwrap_err();
        assert!(matches!(e, LayerError::Truncated(_)), "{e:?}");
        // Cut inside a header.
        let cut = &input[..512 * 3 + 100];
        let e = read_layer(cut, io::sink()).unwrap_err();
        assert!(matches!(e, LayerError::Truncated(_)), "{e:?}");
        for junk in [&b"hello, this is not a tar"[..], &[7u8; 2048][..], b""] {
            let e = read_layer(junk, io::sink()).unwrap_err();
            assert!(matches!(e, LayerError::NotTar(_)), "{e:?}");
        }
    }

    #[test]
    fn an_error_quotes_at_most_a_short_escaped_excerpt_of_the_upload() {
        let mut garbage = b"{\"not\":\"tar\"}".repeat(50);
        garbage.extend([0xff, 0x01, 0x02].repeat(200));
        let e = read_layer(&garbage[..], io::sink())
            .unwrap_err()
            .to_string();
        assert!(e.len() < 200, "{e}");
        assert!(
            e.starts_with("archive/tar: invalid tar header: the upload is not a tar archive ("),
            "{e}"
        );
        assert_eq!(excerpt("a\u{1}b\u{fffd}"), "a\\u{1}b\\u{fffd}");
        assert_eq!(excerpt(&"x".repeat(100)), format!("{}...", "x".repeat(64)));
    }
}
