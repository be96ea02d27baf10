//! The FIFO keeper: a small process that holds the read ends of a run's output FIFOs open, so that what
//! the container writes while wharfd is away survives the container's end.
//!
//! The runc shim holds both ends of the FIFOs only while the container runs: once its output ends, it
//! closes them, and a pipe that nobody holds open any more loses what it buffered. While wharfd runs, its
//! own read ends keep the buffer; a `kill -9` of wharfd closes them. So each run gets a keeper (`wharfd
//! hold-fifos <dir>`, in its own process group, so that it outlives wharfd): it opens the read ends, says
//! so on its stdout, never reads, and ends once the FIFOs are removed (at the run's end, by whichever
//! wharfd records it). A restarted wharfd opens the same FIFOs and drains what they hold into the log.
//! A keeper does not count as a writer: the output still ends when the shim closes its write ends.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use tokio::io::AsyncBufReadExt;

/// The hidden subcommand that runs a keeper.
const SUBCOMMAND: &str = "hold-fifos";

/// The output FIFOs a keeper holds, as `runtime/io.rs` names them (no stderr with a TTY).
const OUTPUTS: [&str; 2] = ["init-stdout", "init-stderr"];

/// What a keeper says once it holds the FIFOs.
const HELD: &str = "held";

/// How often a keeper looks whether its FIFOs were removed.
const POLL: Duration = Duration::from_secs(1);

/// How long a start waits for its keeper to hold the FIFOs.
const READY_WAIT: Duration = Duration::from_secs(5);

/// The keeper's process: holds the output FIFOs in `dir` until all of them are removed. Only one keeper
/// holds a run's FIFOs: a second one (a restarted wharfd re-attaching the run) finds stdout locked and
/// ends at once.
pub fn hold(dir: &Path) -> io::Result<()> {
    let mut held = Vec::new();
    for name in OUTPUTS {
        match OpenOptions::new()
            .read(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(dir.join(name))
        {
            Ok(file) => held.push(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !held.is_empty() => {}
            Err(e) => return Err(e),
        }
    }
    // Locked through a duplicate of stdout's descriptor, for as long as the keeper lives.
    let lock = match held.first().map(File::try_clone).transpose()? {
        Some(fd) => match Flock::lock(fd, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Some(lock),
            Err((_, Errno::EWOULDBLOCK)) => {
                say_held()?;
                return Ok(());
            }
            Err(_) => None,
        },
        None => None,
    };
    say_held()?;
    while held
        .iter()
        .any(|f| f.metadata().is_ok_and(|m| m.nlink() > 0))
    {
        std::thread::sleep(POLL);
    }
    drop(lock);
    Ok(())
}

fn say_held() -> io::Result<()> {
    let mut out = io::stdout();
    writeln!(out, "{HELD}")?;
    out.flush()
}

/// Starts a keeper for the output FIFOs in `dir` and waits until it holds them. A keeper that cannot
/// start is only a warning: the run goes on, its output safe while this wharfd lives.
pub(crate) async fn spawn(dir: &Path) {
    let started = tokio::process::Command::new("/proc/self/exe")
        .arg0("wharfd")
        .arg(SUBCOMMAND)
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let mut child = match started {
        Ok(child) => child,
        Err(e) => {
            tracing::warn!(dir = %dir.display(), "cannot start the FIFO keeper: {e}");
            return;
        }
    };
    let said = async {
        let stdout = child.stdout.take()?;
        let mut line = String::new();
        tokio::io::BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .ok()?;
        Some(line)
    };
    match tokio::time::timeout(READY_WAIT, said).await {
        Ok(Some(line)) if line.trim_end() == HELD => {}
        said => tracing::warn!(
            dir = %dir.display(),
            "the FIFO keeper did not start ({said:?}): output written while wharfd is away may be lost"
        ),
    }
    // Reaped here while this wharfd lives; by init after it.
    tokio::spawn(async move {
        let _ = child.wait().await;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nonblocking(path: &Path, write: bool) -> io::Result<File> {
        OpenOptions::new()
            .read(!write)
            .write(write)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(path)
    }

    #[test]
    fn a_keeper_keeps_what_a_writer_left_until_the_fifos_go() {
        let dir = crate::logs::temp_dir("fifo-keeper");
        let paths: Vec<_> = OUTPUTS.iter().map(|n| dir.path().join(n)).collect();
        for path in &paths {
            nix::unistd::mkfifo(path, nix::sys::stat::Mode::S_IRWXU).unwrap();
        }
        let keeper = {
            let dir = dir.path().to_owned();
            std::thread::spawn(move || hold(&dir))
        };
        // A writer can open without a reader of ours once the keeper holds the read end.
        let mut tries = 0;
        let writer = loop {
            match nonblocking(&paths[0], true) {
                Ok(w) => break w,
                Err(e) => {
                    tries += 1;
                    assert!(tries < 500, "the keeper never held the FIFO: {e}");
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        };
        (&writer).write_all(b"kept\n").unwrap();
        drop(writer);
        let mut got = String::new();
        io::Read::read_to_string(&mut nonblocking(&paths[0], false).unwrap(), &mut got).unwrap();
        assert_eq!(got, "kept\n");
        // A second keeper finds the FIFOs held and ends at once.
        hold(dir.path()).unwrap();
        assert!(!keeper.is_finished());
        for path in &paths {
            std::fs::remove_file(path).unwrap();
        }
        keeper.join().unwrap().unwrap();
    }
}
