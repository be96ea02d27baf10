//! The engine ID `/info` reports: made once, kept in `<data-root>/engine-id` so it survives restarts.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The file name under the data root.
pub(crate) const FILE: &str = "engine-id";

/// Reads the ID, or makes and stores one.
pub(crate) fn load_or_create(data_root: &Path) -> std::io::Result<String> {
    let path = data_root.join(FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let id = new_id()?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(format!("{id}\n").as_bytes())?;
    Ok(id)
}

/// A random UUID from the kernel.
fn new_id() -> std::io::Result<String> {
    let uuid = std::fs::read_to_string("/proc/sys/kernel/random/uuid")?;
    Ok(uuid.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(first.len(), 36);
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
    }
}
