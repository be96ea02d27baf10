//! The tar framing around one file, for a client that holds the file's bytes elsewhere (a browser's
//! `Blob`): `PUT /containers/{id}/archive` takes a tar, so an upload is [`file_header`], the bytes,
//! [`padding`] zeros and [`END`] zeros; `GET /containers/{id}/archive` of a file answers a tar, whose one
//! file starts where [`first_entry`] says. Only the headers pass through here, never the contents.
//!
//! The headers are POSIX ustar; a name longer than ustar holds goes in a PAX extended header before it,
//! as Go's `archive/tar` (the daemon's side in dockerd) writes and reads it.

use std::fmt::Write as _;

/// A tar block.
pub const BLOCK: usize = 512;

/// The end of an archive: two zero blocks.
pub const END: usize = 2 * BLOCK;

/// What the first entry of a tar is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    Other,
}

/// The first entry of a tar: its name, kind, size and where its bytes start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
    /// The offset of its first byte in the archive.
    pub data_offset: u64,
}

/// Why a tar's head cannot be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TarFrameError {
    #[error("the archive's header is damaged: {0}")]
    Damaged(&'static str),
    #[error("the archive is empty")]
    Empty,
}

/// The zeros after `size` bytes of contents, to the end of their last block.
pub fn padding(size: u64) -> usize {
    let rest = (size % BLOCK as u64) as usize;
    (BLOCK - rest) % BLOCK
}

/// The header block(s) of a regular file `name` (a relative path, `/`-separated) of `size` bytes, with
/// permission bits `mode` and modification time `mtime` (seconds since the epoch).
pub fn file_header(name: &str, size: u64, mode: u32, mtime: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(3 * BLOCK);
    let short = if name.len() <= 100 {
        name.to_owned()
    } else {
        // A PAX record: "<length> path=<name>\n", its length counting its own digits.
        let body = format!(" path={name}\n");
        let mut length = body.len() + 1;
        while format!("{length}{body}").len() != length {
            length += 1;
        }
        let record = format!("{length}{body}");
        out.extend_from_slice(&ustar(
            "PaxHeaders/file",
            record.len() as u64,
            0o644,
            mtime,
            b'x',
        ));
        out.extend_from_slice(record.as_bytes());
        out.resize(out.len() + padding(record.len() as u64), 0);
        // The ustar name is only a fallback for readers without PAX.
        let mut cut = 100;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name[..cut].to_owned()
    };
    out.extend_from_slice(&ustar(&short, size, mode & 0o7777, mtime, b'0'));
    out
}

/// One ustar header block.
fn ustar(name: &str, size: u64, mode: u32, mtime: i64, kind: u8) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    let put = |block: &mut [u8; BLOCK], at: usize, bytes: &[u8]| {
        block[at..at + bytes.len()].copy_from_slice(bytes);
    };
    let octal = |width: usize, value: u64| {
        let mut text = String::new();
        let _ = write!(text, "{value:0w$o}", w = width - 1);
        text.into_bytes()
    };
    put(&mut block, 0, &name.as_bytes()[..name.len().min(100)]);
    put(&mut block, 100, &octal(8, u64::from(mode)));
    put(&mut block, 108, &octal(8, 0));
    put(&mut block, 116, &octal(8, 0));
    put(&mut block, 124, &octal(12, size.min(0o77777777777)));
    put(&mut block, 136, &octal(12, mtime.max(0) as u64));
    block[156] = kind;
    put(&mut block, 257, b"ustar\x0000");
    // The checksum counts its own field as spaces.
    put(&mut block, 148, b"        ");
    let sum: u64 = block.iter().map(|b| u64::from(*b)).sum();
    put(&mut block, 148, &octal(7, sum));
    block[155] = b' ';
    block
}

/// A header's numeric field: octal text, or base-256 (the high bit set) for large values.
fn number(field: &[u8]) -> Result<u64, TarFrameError> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut value: u64 = 0;
        for (i, b) in field.iter().enumerate() {
            let b = if i == 0 { b & 0x7f } else { *b };
            value = value
                .checked_mul(256)
                .and_then(|v| v.checked_add(u64::from(b)))
                .ok_or(TarFrameError::Damaged("a number is too large"))?;
        }
        return Ok(value);
    }
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| char::from(*b))
        .collect();
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, 8).map_err(|_| TarFrameError::Damaged("a number is not octal"))
}

/// A header's text field, up to its first NUL.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// The `path` of a PAX extended header's records, if it has one.
fn pax_path(records: &[u8]) -> Option<String> {
    let mut rest = records;
    while !rest.is_empty() {
        let space = rest.iter().position(|b| *b == b' ')?;
        let length: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if length <= space || length > rest.len() {
            return None;
        }
        let record = &rest[space + 1..length];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        if let Some(path) = record.strip_prefix(b"path=") {
            return Some(String::from_utf8_lossy(path).into_owned());
        }
        rest = &rest[length..];
    }
    None
}

/// The first entry of the tar whose first bytes are `head`; `Ok(None)` while `head` is too short to
/// tell (read more and ask again). PAX and GNU long-name headers before it are read for its name.
pub fn first_entry(head: &[u8]) -> Result<Option<Entry>, TarFrameError> {
    let mut offset = 0usize;
    let mut long_name: Option<String> = None;
    loop {
        let Some(block) = head.get(offset..offset + BLOCK) else {
            return Ok(None);
        };
        if block.iter().all(|b| *b == 0) {
            return Err(TarFrameError::Empty);
        }
        let stored = number(&block[148..156])?;
        let sum: u64 = block
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        if stored != sum {
            return Err(TarFrameError::Damaged("a header's checksum does not match"));
        }
        let size = number(&block[124..136])?;
        let kind = block[156];
        let data = offset + BLOCK;
        match kind {
            b'x' | b'L' | b'g' => {
                let size = usize::try_from(size)
                    .map_err(|_| TarFrameError::Damaged("an extended header is too large"))?;
                let Some(records) = head.get(data..data + size) else {
                    return Ok(None);
                };
                match kind {
                    b'x' => long_name = pax_path(records).or(long_name),
                    b'L' => long_name = Some(text(records)),
                    _ => {}
                }
                offset = data + size + padding(size as u64);
            }
            _ => {
                let name = long_name.unwrap_or_else(|| {
                    let prefix = text(&block[345..500]);
                    let name = text(&block[0..100]);
                    if &block[257..262] == b"ustar" && !prefix.is_empty() {
                        format!("{prefix}/{name}")
                    } else {
                        name
                    }
                });
                let kind = match kind {
                    b'0' | 0 | b'7' => EntryKind::File,
                    b'5' => EntryKind::Directory,
                    b'2' => EntryKind::Symlink,
                    _ => EntryKind::Other,
                };
                return Ok(Some(Entry {
                    name,
                    kind,
                    size,
                    data_offset: data as u64,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(name: &str, contents: &[u8]) -> Vec<u8> {
        let mut tar = file_header(name, contents.len() as u64, 0o640, 1_700_000_000);
        tar.extend_from_slice(contents);
        tar.resize(tar.len() + padding(contents.len() as u64), 0);
        tar.resize(tar.len() + END, 0);
        tar
    }

    #[test]
    fn padding_fills_the_last_block() {
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
        assert_eq!(padding(513), 511);
    }

    #[test]
    fn a_short_name_is_one_ustar_header_that_reads_back() {
        let tar = archive("notes.txt", b"hello");
        assert_eq!(
            tar.len(),
            2 * BLOCK + END,
            "the header, one block of contents"
        );
        let entry = first_entry(&tar).unwrap().unwrap();
        assert_eq!(entry.name, "notes.txt");
        assert_eq!(entry.kind, EntryKind::File);
        assert_eq!(entry.size, 5);
        let at = entry.data_offset as usize;
        assert_eq!(&tar[at..at + 5], b"hello");
    }

    #[test]
    fn a_long_name_goes_in_a_pax_header() {
        let name = format!("{}/é.txt", "d".repeat(120));
        let tar = archive(&name, b"x");
        let entry = first_entry(&tar).unwrap().unwrap();
        assert_eq!(entry.name, name);
        assert_eq!(
            entry.data_offset as usize,
            3 * BLOCK,
            "pax header, its record, the file's"
        );
    }

    #[test]
    fn a_head_too_short_asks_for_more_and_damage_is_an_error() {
        let tar = archive(&"n".repeat(150), b"abc");
        assert_eq!(first_entry(&tar[..BLOCK]), Ok(None));
        assert_eq!(first_entry(&tar[..2 * BLOCK]), Ok(None));
        assert!(first_entry(&tar[..3 * BLOCK]).unwrap().is_some());
        let mut bad = archive("a", b"b");
        bad[0] = b'z';
        assert!(matches!(first_entry(&bad), Err(TarFrameError::Damaged(_))));
        assert_eq!(first_entry(&[0u8; END]), Err(TarFrameError::Empty));
    }

    #[test]
    fn base256_sizes_are_read() {
        let mut field = [0u8; 12];
        field[0] = 0x80;
        field[7] = 0x02; // 2 << 32
        assert_eq!(number(&field).unwrap(), 2 << 32);
        assert_eq!(number(b"00000000017\0").unwrap(), 0o17);
    }
}
