//! The PID file: refuses a second daemon, replaces a stale file, disappears at exit.

use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;

/// A PID file this process wrote; removed on drop.
#[derive(Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
}

/// Why the PID file was not written.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    /// It names a live process.
    #[error("pid file found, ensure wharfd is not running or delete {}", .0.display())]
    Running(PathBuf),
    /// It cannot be written.
    #[error("cannot write pid file {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn alive(pid: i32) -> bool {
    pid > 0 && matches!(kill(Pid::from_raw(pid), None), Ok(()) | Err(Errno::EPERM))
}

impl PidFile {
    /// Writes this process's PID to `path` unless a live process is named there.
    pub(crate) fn create(path: &Path) -> Result<Self, PidFileError> {
        let io = |source| PidFileError::Io {
            path: path.to_owned(),
            source,
        };
        if let Ok(text) = std::fs::read_to_string(path) {
            let own = std::process::id() as i32;
            if let Ok(pid) = text.trim().parse::<i32>() {
                if pid != own && alive(pid) {
                    return Err(PidFileError::Running(path.to_owned()));
                }
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(path, format!("{}\n", std::process::id())).map_err(io)?;
        Ok(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!("cannot remove pid file {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_live_pid_replaces_a_stale_one_and_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/wharfd.pid");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // PID 1 is always alive.
        std::fs::write(&path, "1\n").unwrap();
        let e = PidFile::create(&path).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "pid file found, ensure wharfd is not running or delete {}",
                path.display()
            )
        );
        // A PID no process has is stale.
        std::fs::write(&path, "2147483646\n").unwrap();
        let pf = PidFile::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(pf);
        assert!(!path.exists());
    }
}
