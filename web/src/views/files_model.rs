//! The file browser's pure parts: paths in the container (join, parent, breadcrumbs), the `ls -l` mode
//! text of Go's file modes, the order entries are shown in and the names downloads get.

use wharf_client_core::api::archive::{ContainerPathStat, MODE_DIR, MODE_SYMLINK};

/// `dir` joined with the entry `name`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The directory above `path` (`/` above itself).
pub fn parent(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => trimmed[..i].to_owned(),
    }
}

/// Each step of `path` from the root: its label and the path it leads to.
pub fn breadcrumbs(path: &str) -> Vec<(String, String)> {
    let mut crumbs = vec![("/".to_owned(), "/".to_owned())];
    let mut at = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        crumbs.push((part.to_owned(), at.clone()));
    }
    crumbs
}

/// Go's `os.ModeNamedPipe`, `ModeSocket`, `ModeDevice`, `ModeCharDevice`.
const MODE_PIPE: u32 = 1 << 25;
const MODE_SOCKET: u32 = 1 << 24;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_CHAR: u32 = 1 << 21;

/// `ls -l`'s first column for a Go file mode (`drwxr-xr-x`).
pub fn mode_text(mode: u32) -> String {
    let kind = if mode & MODE_DIR != 0 {
        'd'
    } else if mode & MODE_SYMLINK != 0 {
        'l'
    } else if mode & MODE_PIPE != 0 {
        'p'
    } else if mode & MODE_SOCKET != 0 {
        's'
    } else if mode & MODE_CHAR != 0 {
        'c'
    } else if mode & MODE_DEVICE != 0 {
        'b'
    } else {
        '-'
    };
    let mut text = String::from(kind);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 0o7;
        text.push(if bits & 4 != 0 { 'r' } else { '-' });
        text.push(if bits & 2 != 0 { 'w' } else { '-' });
        text.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    text
}

/// Directories first, then by name.
pub fn sort(entries: &mut [ContainerPathStat]) {
    entries.sort_by(|a, b| {
        b.is_dir()
            .cmp(&a.is_dir())
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// What a download of `entry` is saved as: a regular file as itself, anything else as a tar of it.
pub fn download_name(entry: &ContainerPathStat) -> String {
    let safe: String = entry
        .name
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    let safe = if safe.is_empty() || safe == "." || safe == ".." {
        "root".to_owned()
    } else {
        safe
    };
    if is_regular(entry) {
        safe
    } else {
        format!("{safe}.tar")
    }
}

/// Whether `entry` is a regular file (no type bit set).
pub fn is_regular(entry: &ContainerPathStat) -> bool {
    entry.mode & (MODE_DIR | MODE_SYMLINK | MODE_PIPE | MODE_SOCKET | MODE_DEVICE | MODE_CHAR) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(name: &str, mode: u32) -> ContainerPathStat {
        ContainerPathStat {
            name: name.to_owned(),
            mode,
            ..ContainerPathStat::default()
        }
    }

    #[test]
    fn paths_join_and_climb() {
        assert_eq!(join("/", "etc"), "/etc");
        assert_eq!(join("/etc", "hosts"), "/etc/hosts");
        assert_eq!(parent("/etc/ssl/certs"), "/etc/ssl");
        assert_eq!(parent("/etc"), "/");
        assert_eq!(parent("/"), "/");
        assert_eq!(
            breadcrumbs("/var/log/"),
            [("/", "/"), ("var", "/var"), ("log", "/var/log")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
        );
    }

    #[test]
    fn modes_read_as_ls_shows_them() {
        assert_eq!(mode_text(MODE_DIR | 0o755), "drwxr-xr-x");
        assert_eq!(mode_text(MODE_SYMLINK | 0o777), "lrwxrwxrwx");
        assert_eq!(mode_text(0o640), "-rw-r-----");
        assert_eq!(mode_text(MODE_DEVICE | MODE_CHAR | 0o666), "crw-rw-rw-");
        assert_eq!(mode_text(MODE_PIPE | 0o600), "prw-------");
    }

    #[test]
    fn directories_come_first_and_only_regular_files_download_as_themselves() {
        let mut list = vec![
            stat("b.txt", 0o644),
            stat("z", MODE_DIR | 0o755),
            stat("a", MODE_SYMLINK),
        ];
        sort(&mut list);
        let names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["z", "a", "b.txt"]);
        assert_eq!(download_name(&stat("b.txt", 0o644)), "b.txt");
        assert_eq!(download_name(&stat("z", MODE_DIR | 0o755)), "z.tar");
        assert_eq!(download_name(&stat("a", MODE_SYMLINK)), "a.tar");
        assert_eq!(download_name(&stat("/", MODE_DIR)), "_.tar");
        assert_eq!(download_name(&stat("..", MODE_DIR)), "root.tar");
    }
}
