//! `docker cp`: the stat (`HEAD`), the tar (`GET`) and the extraction (`PUT`) of
//! `/containers/{id}/archive`, on the container's own view of its files; and `docker export`, the tar of
//! its whole root file system.
//!
//! A running container's view is its main process's root (`/proc/<pid>/root`): the rootfs with the
//! container's volumes, binds and `/etc/hosts` mounted as the container sees them, as dockerd's view is.
//! A stopped container's is its snapshot's mounts, mounted in a private directory under the exec root
//! (read-only unless extracting) with its binds over them, for the one operation, under the
//! container's operation lock (so it cannot start meanwhile), and always unmounted (`TempMount`'s drop: on success, error, or a client
//! that went away). Every path is then looked up from that root's descriptor inside it (`resolve`), and
//! tars are streamed both ways through bounded channels (`tarout`, `tarin`).

pub(crate) mod listing;
pub(crate) mod mount;
pub(crate) mod path;
mod resolve;
mod tarin;
mod tarout;

use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use rustix::fs::OFlags;
use tokio::sync::{mpsc, oneshot};
use wharf_client_core::ErrorKind;

use crate::containers::record::ContainerRecord;
use crate::containers::spec::mounts::user_mounts;
use crate::error::Error;
use crate::images::import::{feed, ChannelReader, FeedError};

use self::path::{container_path, go_base, split, PathStat};
use self::resolve::{follow_in_scope, is_dir, is_symlink, lstat_at, open_dir, open_in};
use self::tarin::{extract, ExtractError};
use super::Runtime;

pub(crate) use tarin::ExtractOptions;
pub(crate) use tarout::write_layer_tar;

/// The largest upload extracted (the same bound as an image import's).
const MAX_UPLOAD: u64 = 64 * 1024 * 1024 * 1024;

/// What is read of an upload refused before its body was read, before answering.
const DRAIN_MAX: u64 = 4 * 1024 * 1024;

/// Chunks of a tar being sent; the channel holds at most a few.
const CHUNK: usize = 256 * 1024;

fn not_found(path: &str, container: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("Could not find the file {path} in container {container}"),
    )
}

fn is_not_found(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(c) if c == rustix::io::Errno::NOENT.raw_os_error() || c == rustix::io::Errno::NOTDIR.raw_os_error()
    )
}

/// The view of a container's files and what keeps it: the mount of a stopped container.
struct Root {
    fd: OwnedFd,
    _mount: Option<mount::TempMount>,
}

/// A blocking writer sending chunks of `CHUNK` bytes into a bounded channel.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::other("the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = CHUNK - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The stat of `given` in the container under `root` (`None` when missing), and what to archive: the
/// directory holding it and its name there.
fn locate(root: BorrowedFd<'_>, given: &str) -> io::Result<(PathStat, OwnedFd, String)> {
    let abs = container_path(given);
    let (dir, base) = split(&abs);
    let dir_fd = open_dir(root, &follow_in_scope(root, dir)?)?;
    let st = lstat_at(dir_fd.as_fd(), base)?;
    let mut stat = PathStat::new(
        go_base(&abs),
        st.st_mode,
        st.st_size,
        (st.st_mtime, i64::try_from(st.st_mtime_nsec).unwrap_or(0)),
    );
    if is_symlink(&st) {
        stat.link_target = follow_in_scope(root, &abs)?;
    }
    Ok((stat, dir_fd, base.to_owned()))
}

impl Runtime {
    /// Opens the container's view of its files and runs `work` on it on a blocking thread; the view (and,
    /// for a stopped container, its mount and the operation lock) lasts until `work` returns.
    async fn on_root<T, F>(&self, name: &str, write: bool, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&ContainerRecord, BorrowedFd<'_>) -> Result<T, Error> + Send + 'static,
    {
        let (record, handle) = self.lookup(name)?;
        if let Some(root) = self.running_root(&record) {
            return run_blocking(record, root, work).await;
        }
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        if let Some(root) = self.running_root(&record) {
            return run_blocking(record, root, work).await;
        }
        let cd = &self.inner.cd;
        let mounts = cd
            .snapshot_mounts(self.inner.snapshotter, &record.id)
            .await?;
        let base = self.inner.exec_root.join("archive");
        let binds = binds_of(&record);
        let root = tokio::task::spawn_blocking(move || -> Result<Root, Error> {
            // Mount points missing for the binds are made, as dockerd makes them: then writable.
            let read_only = !write && binds.is_empty();
            let m = mount::TempMount::new(&base, &mounts, read_only).map_err(Error::system)?;
            m.bind(&binds, !write).map_err(Error::system)?;
            let fd = m.open().map_err(Error::system)?;
            Ok(Root {
                fd,
                _mount: Some(m),
            })
        })
        .await
        .map_err(Error::system)??;
        run_blocking(record, root, work).await
    }

    /// A running container's root, through its main process; `None` when it does not run (any more).
    fn running_root(&self, record: &ContainerRecord) -> Option<Root> {
        if !record.state.running || record.state.pid <= 0 {
            return None;
        }
        let path = format!("/proc/{}/root", record.state.pid);
        let fd = rustix::fs::open(
            path.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .ok()?;
        // The PID was the container's when the record was read: it still is only if it still runs.
        let now = self.store().get(&record.id).ok()?;
        (now.state.running && now.state.pid == record.state.pid)
            .then_some(Root { fd, _mount: None })
    }

    /// The entries of the directory `given` in the container (Wharf's listing for the console).
    pub(crate) async fn list_files(
        &self,
        name: &str,
        given: &str,
    ) -> Result<listing::Listing, Error> {
        let (container, given) = (name.to_owned(), given.to_owned());
        self.on_root(name, false, move |_, root| {
            listing::list(root, &given).map_err(|e| match e {
                listing::ListError::NotFound => not_found(&given, &container),
                listing::ListError::NotADirectory => Error::invalid(format!(
                    "{given} is not a directory in container {container}"
                )),
                listing::ListError::Io(e) => Error::system(e),
            })
        })
        .await
    }

    /// `HEAD /containers/{id}/archive?path=`.
    pub(crate) async fn archive_stat(&self, name: &str, given: &str) -> Result<PathStat, Error> {
        let (container, given) = (name.to_owned(), given.to_owned());
        self.on_root(name, false, move |_, root| {
            locate(root, &given)
                .map(|(stat, _, _)| stat)
                .map_err(|e| stat_error(&e, &given, &container))
        })
        .await
    }

    /// `GET /containers/{id}/archive?path=`: the stat, and the tar streamed as it is read.
    pub(crate) async fn archive_get(
        &self,
        name: &str,
        given: &str,
    ) -> Result<(PathStat, impl Stream<Item = io::Result<Bytes>>), Error> {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let (ready_tx, ready_rx) = oneshot::channel::<PathStat>();
        let (container, path) = (name.to_owned(), given.to_owned());
        let rt = self.clone();
        let task = tokio::spawn(async move {
            rt.on_root(&container.clone(), false, move |record, root| {
                let (stat, dir, base) =
                    locate(root, &path).map_err(|e| stat_error(&e, &path, &container))?;
                let name = stat.name.clone();
                let _ = ready_tx.send(stat);
                let out = ChannelWriter {
                    tx: tx.clone(),
                    buf: Vec::with_capacity(CHUNK),
                };
                let finished = tarout::write_tar(out, dir.as_fd(), &base, &name)
                    .and_then(|mut out| out.flush());
                if let Err(e) = finished {
                    tracing::warn!("docker cp from {}: {e}", record.id);
                    let _ = tx.blocking_send(Err(e));
                }
                Ok(record.clone())
            })
            .await
        });
        match ready_rx.await {
            Ok(stat) => {
                let rt = self.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(record)) = task.await {
                        rt.emit(&record, "archive-path", &[]);
                    }
                });
                let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                    rx.recv().await.map(|item| (item, rx))
                });
                Ok((stat, stream))
            }
            Err(_) => Err(task
                .await
                .map_err(Error::system)?
                .err()
                .unwrap_or_else(|| Error::system("the archive ended before it began"))),
        }
    }

    /// `GET /containers/{id}/export`: the container's root file system as a tar, streamed (dockerd's
    /// `export` event once it is written).
    pub(crate) async fn export(
        &self,
        name: &str,
    ) -> Result<impl Stream<Item = io::Result<Bytes>>, Error> {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(4);
        let (ready_tx, ready_rx) = oneshot::channel::<()>();
        let (container, rt) = (name.to_owned(), self.clone());
        let task = tokio::spawn(async move {
            rt.on_root(&container, false, move |record, root| {
                let _ = ready_tx.send(());
                let out = ChannelWriter {
                    tx: tx.clone(),
                    buf: Vec::with_capacity(CHUNK),
                };
                let finished = tarout::write_root_tar(out, root).and_then(|mut out| out.flush());
                if let Err(e) = finished {
                    tracing::warn!("docker export of {}: {e}", record.id);
                    let _ = tx.blocking_send(Err(e));
                }
                Ok(record.clone())
            })
            .await
        });
        if ready_rx.await.is_err() {
            return Err(task
                .await
                .map_err(Error::system)?
                .err()
                .unwrap_or_else(|| Error::system("the export ended before it began")));
        }
        let rt = self.clone();
        tokio::spawn(async move {
            if let Ok(Ok(record)) = task.await {
                rt.emit(&record, "export", &[]);
            }
        });
        Ok(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }))
    }

    /// `PUT /containers/{id}/archive?path=`: extracts the tar `body` into the directory `given`.
    pub(crate) async fn archive_put<S, E>(
        &self,
        name: &str,
        given: &str,
        opts: ExtractOptions,
        copy_uid_gid: bool,
        mut body: S,
    ) -> Result<(), Error>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(8);
        let (container, path) = (name.to_owned(), given.to_owned());
        let work = self.on_root(name, true, move |record, root| {
            let abs = container_path(&path);
            let dest = follow_in_scope(root, &abs).map_err(Error::system)?;
            let (parent, base) = split(&dest);
            match open_dir(root, parent).and_then(|d| lstat_at(d.as_fd(), base)) {
                Err(e) if is_not_found(&e) => return Err(not_found(&path, &container)),
                Err(e) => return Err(Error::system(e)),
                Ok(st) if !is_dir(&st) => {
                    return Err(Error::system("extraction point is not a directory"))
                }
                Ok(_) => {}
            }
            check_writable(record, &dest)?;
            let mut opts = opts;
            if copy_uid_gid {
                opts.chown = container_user(record, root);
            }
            let input = ChannelReader {
                rx,
                current: Bytes::new(),
            };
            extract(input, root, &dest, opts).map_err(|e| match e {
                ExtractError::Refused(m) => {
                    Error::system(format!("Error processing tar file(exit status 1): {m}"))
                }
                ExtractError::Io(e) => {
                    Error::system(format!("Error processing tar file(exit status 1): {e}"))
                }
            })?;
            Ok(record.clone())
        });
        let fed = feed(&mut body, tx, MAX_UPLOAD);
        let (record, fed) = tokio::join!(work, fed);
        if record.is_err() && fed.is_ok() {
            // Refused before the body was read (a missing path, a read-only volume): read what is
            // left, up to a bound, so that closing the connection does not reset it under the answer
            // the client is about to read (as Go's server discards an unread body).
            let mut left = DRAIN_MAX;
            while let Some(Ok(chunk)) = body.next().await {
                left = left.saturating_sub(chunk.len() as u64);
                if left == 0 {
                    break;
                }
            }
        }
        match fed {
            Err(FeedError::TooLarge(max)) => {
                return Err(Error::invalid(format!(
                    "the archive is larger than the limit of {max} bytes"
                )))
            }
            Err(FeedError::Client(m)) => return Err(Error::invalid(m)),
            Ok(()) => {}
        }
        let record = record?;
        self.emit(&record, "extract-to-dir", &[]);
        Ok(())
    }
}

/// The container's bind mounts: host source, destination, read-only.
fn binds_of(record: &ContainerRecord) -> Vec<(std::path::PathBuf, String, bool)> {
    user_mounts(&record.host_config)
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.mount.typ().as_deref() == Some("bind"))
        .filter_map(|m| {
            let source = m.mount.source().clone()?;
            let dest = m.mount.destination().to_string_lossy().into_owned();
            Some((source, dest, m.point.rw == Some(false)))
        })
        .collect()
}

async fn run_blocking<T, F>(record: ContainerRecord, root: Root, work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce(&ContainerRecord, BorrowedFd<'_>) -> Result<T, Error> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let out = work(&record, root.fd.as_fd());
        drop(root);
        out
    })
    .await
    .map_err(Error::system)?
}

fn stat_error(e: &io::Error, given: &str, container: &str) -> Error {
    if is_not_found(e) {
        not_found(given, container)
    } else {
        Error::system(e)
    }
}

/// dockerd's refusals to write into a read-only volume or a read-only rootfs (`dest` resolved).
fn check_writable(record: &ContainerRecord, dest: &str) -> Result<(), Error> {
    let mounts = user_mounts(&record.host_config).unwrap_or_default();
    let within = |point: &str| {
        let point = point.trim_end_matches('/');
        dest == point || dest.starts_with(&format!("{point}/")) || point.is_empty()
    };
    let volume = mounts
        .iter()
        .filter(|m| within(m.point.destination.as_deref().unwrap_or("")))
        .max_by_key(|m| m.point.destination.as_deref().unwrap_or("").len());
    match volume {
        Some(m) if m.point.rw == Some(false) => {
            Err(Error::system("mounted volume is marked read-only"))
        }
        Some(_) => Ok(()),
        None if record.host_config.readonly_rootfs == Some(true) => {
            Err(Error::system("container rootfs is marked read-only"))
        }
        None => Ok(()),
    }
}

/// The container's user's IDs (`copyUIDGID`), from its own `/etc/passwd` and `/etc/group`.
fn container_user(record: &ContainerRecord, root: BorrowedFd<'_>) -> Option<(u32, u32)> {
    let user = record.config.user.as_deref().unwrap_or("");
    if user.is_empty() {
        return None;
    }
    let read = |p: &str| -> String {
        use std::io::Read as _;
        let mut text = String::new();
        if let Ok(fd) = open_in(root, p, OFlags::RDONLY) {
            let _ = std::fs::File::from(fd)
                .take(4 * 1024 * 1024)
                .read_to_string(&mut text);
        }
        text
    };
    let resolved = crate::containers::users::resolve_user_in(
        &read("/etc/passwd"),
        &read("/etc/group"),
        user,
        &[],
    )
    .ok()?;
    Some((resolved.uid, resolved.gid))
}
