//! A container's stdio, as containerd's `cio` does it: FIFOs under the exec root that the runc shim writes
//! the container's output into (and reads its input from), and the copy of that output into the json-file
//! log and to whoever is attached.
//!
//! The read ends are opened non-blocking *before* the task is created, so that the shim's blocking open of
//! the write ends returns at once; they are read only *after* the task exists, when the shim holds the write
//! ends — a FIFO read before any writer opened it would end at once. The copy then ends when the shim closes
//! them: after the container's last process exited and its output was written. After a daemon restart the
//! same FIFOs are opened again and what they hold is copied, even for a container that exited meanwhile:
//! the shim closes both its ends at the exit, but the run's FIFO keeper (`crate::fifo_keeper`) still
//! holds a read end, so the pipe keeps what was written.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use nix::sys::stat::Mode;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::sync::mpsc;

use crate::logs::{SharedLogWriter, Source};

/// moby's copier read size.
const READ_SIZE: usize = 32 * 1024;

/// How many chunks an attached client may lag behind before the container's output waits for it (dockerd
/// blocks the same way: an attached client that does not read slows the container down).
pub(crate) const ATTACH_QUEUE: usize = 64;

/// How often [`Fifos::open_stdin`] tries again while the shim has not opened stdin yet.
const STDIN_RETRY: std::time::Duration = std::time::Duration::from_millis(5);

/// The FIFO paths of one container's run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fifos {
    /// `init-stdin`, when the container keeps stdin open.
    pub stdin: Option<PathBuf>,
    /// `init-stdout` (with a TTY, everything comes through it).
    pub stdout: PathBuf,
    /// `init-stderr`, without a TTY.
    pub stderr: Option<PathBuf>,
}

impl Fifos {
    /// The paths in `dir` for a container with (or without) stdin and a TTY.
    pub(crate) fn in_dir(dir: &Path, stdin: bool, tty: bool) -> Self {
        Self::named(dir, "init", stdin, tty)
    }

    /// The paths `<dir>/<name>-stdin` (and so on) for a process with (or without) stdin and a TTY.
    pub(crate) fn named(dir: &Path, name: &str, stdin: bool, tty: bool) -> Self {
        Self {
            stdin: stdin.then(|| dir.join(format!("{name}-stdin"))),
            stdout: dir.join(format!("{name}-stdout")),
            stderr: (!tty).then(|| dir.join(format!("{name}-stderr"))),
        }
    }

    fn all(&self) -> impl Iterator<Item = &PathBuf> {
        self.stdin
            .iter()
            .chain(std::iter::once(&self.stdout))
            .chain(self.stderr.iter())
    }

    /// Creates the directory (0700) and the FIFOs (0600), replacing leftovers of an earlier run.
    pub(crate) fn create(&self) -> io::Result<()> {
        if let Some(dir) = self.stdout.parent() {
            std::fs::create_dir_all(dir)?;
        }
        for path in self.all() {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR).map_err(io::Error::from)?;
        }
        Ok(())
    }

    /// Removes the FIFOs and their directory.
    pub(crate) fn remove(&self) {
        for path in self.all() {
            let _ = std::fs::remove_file(path);
        }
        if let Some(dir) = self.stdout.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Opens the read ends of stdout and stderr without waiting for a writer.
    pub(crate) fn open_output(&self) -> io::Result<Output> {
        let open = |p: &Path| pipe::OpenOptions::new().open_receiver(p);
        Ok(Output {
            stdout: open(&self.stdout)?,
            stderr: self.stderr.as_deref().map(open).transpose()?,
        })
    }

    /// Opens the write end of stdin once the shim has opened its read end. The shim opens it in the
    /// background when the task is created (containerd's `fifo.OpenFifo` with `O_NONBLOCK` returns before
    /// the open), so right after `task_create` it may not have yet: a non-blocking open for writing fails
    /// with ENXIO until it has, and is retried for up to `wait`.
    pub(crate) async fn open_stdin(
        &self,
        wait: std::time::Duration,
    ) -> io::Result<Option<pipe::Sender>> {
        let Some(path) = self.stdin.as_deref() else {
            return Ok(None);
        };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match pipe::OpenOptions::new().open_sender(path) {
                Err(e)
                    if e.raw_os_error() == Some(nix::errno::Errno::ENXIO as i32)
                        && tokio::time::Instant::now() < deadline =>
                {
                    tokio::time::sleep(STDIN_RETRY).await;
                }
                result => return result.map(Some),
            }
        }
    }

    /// The string paths containerd's `CreateTaskRequest` takes (empty for none).
    pub(crate) fn task_paths(&self) -> (String, String, String) {
        let s = |p: Option<&PathBuf>| p.map(|p| p.display().to_string()).unwrap_or_default();
        (
            s(self.stdin.as_ref()),
            s(Some(&self.stdout)),
            s(self.stderr.as_ref()),
        )
    }
}

/// The open read ends of a run's output.
#[derive(Debug)]
pub(crate) struct Output {
    stdout: pipe::Receiver,
    stderr: Option<pipe::Receiver>,
}

/// A chunk of output for attached clients.
pub(crate) type Chunk = (Source, Bytes);

/// The clients attached to a container's output. Each has a bounded queue; the copy waits for a full one.
#[derive(Debug, Default)]
pub(crate) struct AttachHub {
    clients: Mutex<Vec<mpsc::Sender<Chunk>>>,
}

impl AttachHub {
    /// Attaches a client: it receives every chunk from now on, until the run's output ends.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<Chunk> {
        let (tx, rx) = mpsc::channel(ATTACH_QUEUE);
        self.lock().push(tx);
        rx
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::Sender<Chunk>>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn send(&self, source: Source, data: &[u8]) {
        let clients: Vec<mpsc::Sender<Chunk>> = self.lock().clone();
        if clients.is_empty() {
            return;
        }
        let chunk = Bytes::copy_from_slice(data);
        let mut gone = false;
        for client in &clients {
            gone |= client.send((source, chunk.clone())).await.is_err();
        }
        if gone {
            self.lock().retain(|c| !c.is_closed());
        }
    }

    /// Ends every attached client's stream (the run's output ended).
    pub(crate) fn close_all(&self) {
        self.lock().clear();
    }
}

impl Output {
    /// Copies the output into `log` (if the container keeps one) and to `hub`'s clients until the shim
    /// closes the FIFOs, then ends the attached streams.
    pub(crate) async fn copy(self, log: Option<SharedLogWriter>, hub: Arc<AttachHub>) {
        let out = copy_one(self.stdout, Source::Stdout, log.as_ref(), &hub);
        let err = async {
            if let Some(r) = self.stderr {
                copy_one(r, Source::Stderr, log.as_ref(), &hub).await;
            }
        };
        tokio::join!(out, err);
        hub.close_all();
    }
}

async fn copy_one(
    mut reader: pipe::Receiver,
    source: Source,
    log: Option<&SharedLogWriter>,
    hub: &AttachHub,
) {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("reading the container's {}: {e}", source.as_str());
                0
            }
        };
        if let Some(log) = log {
            let mut w = log.lock().unwrap_or_else(PoisonError::into_inner);
            let result = if n == 0 {
                w.flush_partial(source, SystemTime::now())
            } else {
                w.write(source, &buf[..n], SystemTime::now())
            };
            if let Err(e) = result {
                tracing::warn!("json-file log: {e}");
            }
        }
        if n == 0 {
            return;
        }
        hub.send(source, &buf[..n]).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{LogOptions, LogWriter};
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn stdin_opens_once_the_shim_opens_its_read_end_late() {
        let dir = crate::logs::temp_dir("fifo-stdin");
        let fifos = Fifos::in_dir(&dir.path().join("run"), true, false);
        fifos.create().unwrap();
        let path = fifos.stdin.clone().unwrap();
        // Nobody reads: the open gives up after its wait, with ENXIO.
        let e = fifos
            .open_stdin(std::time::Duration::from_millis(50))
            .await
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(nix::errno::Errno::ENXIO as i32));
        // The "shim" opens the read end a while after the daemon started waiting.
        let shim = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let mut r = pipe::OpenOptions::new().open_receiver(&path).unwrap();
            let mut got = Vec::new();
            r.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut w = fifos
            .open_stdin(std::time::Duration::from_secs(10))
            .await
            .unwrap()
            .unwrap();
        w.write_all(b"hello\n").await.unwrap();
        drop(w);
        assert_eq!(shim.await.unwrap(), b"hello\n");
    }

    #[tokio::test]
    async fn output_goes_to_the_log_and_attached_clients_until_the_writers_close() {
        let dir = crate::logs::temp_dir("fifo-io");
        let fifos = Fifos::in_dir(&dir.path().join("run"), false, false);
        fifos.create().unwrap();
        let output = fifos.open_output().unwrap();
        // The "shim": opens the write ends after the read ends are open.
        let mut out_w = pipe::OpenOptions::new().open_sender(&fifos.stdout).unwrap();
        let mut err_w = pipe::OpenOptions::new()
            .open_sender(fifos.stderr.as_ref().unwrap())
            .unwrap();
        let log_path = dir.path().join("c-json.log");
        let log = Arc::new(Mutex::new(
            LogWriter::open(&log_path, LogOptions::default()).unwrap(),
        ));
        let hub = Arc::new(AttachHub::default());
        let mut client = hub.subscribe();
        let copy = tokio::spawn(output.copy(Some(log), hub.clone()));
        out_w.write_all(b"hello\n").await.unwrap();
        err_w.write_all(b"oops\n").await.unwrap();
        drop(out_w);
        drop(err_w);
        let mut got = Vec::new();
        while let Some((source, data)) = client.recv().await {
            got.push((source, data));
        }
        copy.await.unwrap();
        assert!(got.contains(&(Source::Stdout, Bytes::from_static(b"hello\n"))));
        assert!(got.contains(&(Source::Stderr, Bytes::from_static(b"oops\n"))));
        let text = std::fs::read_to_string(&log_path).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        fifos.remove();
        assert!(!fifos.stdout.exists());
    }
}
