//! The tar framing against the `tar` crate (a reader and writer independent of ours): what we frame it
//! reads, and what it writes (GNU long names included) we find the file in.

#![allow(clippy::unwrap_used)] // a test fails by panicking

use std::io::Read;

use wharf_client_core::tarframe::{file_header, first_entry, padding, EntryKind, END};

fn framed(name: &str, contents: &[u8]) -> Vec<u8> {
    let mut tar = file_header(name, contents.len() as u64, 0o754, 1_700_000_123);
    tar.extend_from_slice(contents);
    tar.resize(tar.len() + padding(contents.len() as u64), 0);
    tar.resize(tar.len() + END, 0);
    tar
}

#[test]
fn the_tar_crate_reads_what_we_frame() {
    for name in ["a.txt", &format!("{}/b.bin", "long".repeat(40))] {
        let contents: Vec<u8> = (0..1300u32).map(|i| (i % 251) as u8).collect();
        let tar = framed(name, &contents);
        let mut archive = tar::Archive::new(tar.as_slice());
        let mut entries = archive.entries().unwrap();
        let mut entry = entries.next().unwrap().unwrap();
        assert_eq!(entry.path().unwrap().to_str().unwrap(), name);
        assert_eq!(entry.header().mode().unwrap(), 0o754);
        assert_eq!(entry.header().mtime().unwrap(), 1_700_000_123);
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert_eq!(read, contents);
        drop(entry);
        assert!(entries.next().is_none(), "one entry, then the end");
    }
}

#[test]
fn we_find_the_file_in_what_the_tar_crate_writes() {
    let long = format!("{}/c.txt", "deep".repeat(40));
    for name in ["c.txt", long.as_str()] {
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_size(3);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, &b"xyz"[..]).unwrap();
        let tar = builder.into_inner().unwrap();
        let entry = first_entry(&tar).unwrap().unwrap();
        assert_eq!(entry.name, name);
        assert_eq!(entry.kind, EntryKind::File);
        let at = entry.data_offset as usize;
        assert_eq!(&tar[at..at + entry.size as usize], b"xyz");
    }
}
