//! Reading containers: `docker ps` with its filters, `docker inspect`, `wait`, `logs`, `attach`, and the
//! one rename of a record.

use std::collections::HashMap;
use std::future::Future;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use wharf_client_core::api::containers::WaitCondition;
use wharf_client_core::models::{
    ContainerInspectResponse, ContainerSummary, DriverData, HostConfigIsolationEnum,
};
use wharf_client_core::{ErrorKind, Filters};

use super::io::Chunk;
use super::remove::ImageSizes;
use super::{RunStatus, Runtime};
use crate::containers::record::{now_nanos, ContainerRecord};
use crate::error::Error;
use crate::logs::{self, LogQuery, LogStream};

/// `GET /containers/json`'s parameters.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListOptions {
    /// Stopped containers too.
    pub all: bool,
    /// The newest this many (implies `all`); 0 for no limit.
    pub limit: usize,
    /// Fill `SizeRw` and `SizeRootFs`.
    pub size: bool,
    /// The `filters` parameter.
    pub filters: Filters,
}

/// The filters `GET /containers/json` takes.
pub(crate) const LIST_FILTERS: &[&str] = &[
    "id",
    "name",
    "label",
    "label!",
    "status",
    "exited",
    "ancestor",
    "before",
    "since",
    "network",
    "volume",
    "health",
    "is-task",
    "isolation",
    "publish",
    "expose",
];

/// The label that makes a container a swarm task (the `is-task` filter).
const SWARM_TASK_LABEL: &str = "com.docker.swarm.task";

/// The container's isolation technology; on Linux only `default` exists, which an empty setting means.
fn isolation_of(record: &ContainerRecord) -> String {
    match record.host_config.isolation {
        Some(isolation) if isolation != HostConfigIsolationEnum::EMPTY => isolation.to_string(),
        _ => "default".to_owned(),
    }
}

/// The `is-task` filter: `Some(true)` keeps only swarm tasks, `Some(false)` only other containers.
fn task_filter(values: &[String]) -> Result<Option<bool>, Error> {
    match values {
        [] => Ok(None),
        [v] if v == "true" => Ok(Some(true)),
        [v] if v == "false" => Ok(Some(false)),
        _ => Err(Error::invalid(format!(
            "Invalid filter 'is-task={}'",
            values.join(",")
        ))),
    }
}

/// An attached client's side of a container.
#[derive(Debug)]
pub(crate) struct Attached {
    /// The container's output from now on, until its run ends.
    pub output: mpsc::Receiver<Chunk>,
    /// The container has a TTY: its output is one raw stream.
    pub tty: bool,
    /// The container closes stdin when the attached client closes its input (`StdinOnce`).
    pub stdin_once: bool,
}

/// `label` filter values: `key` or `key=value`.
pub(crate) fn has_label(record: &ContainerRecord, filter: &str) -> bool {
    let labels = record.config.labels.as_ref();
    match filter.split_once('=') {
        Some((k, v)) => labels.and_then(|l| l.get(k)).is_some_and(|x| x == v),
        None => labels.is_some_and(|l| l.contains_key(filter)),
    }
}

/// The `volume` filter of `docker ps`, as dockerd's: a mount's volume name (a bind's source) or its
/// destination.
fn mounts_volume(record: &ContainerRecord, value: &str) -> bool {
    record.mount_points.iter().any(|m| {
        let name = m.name.as_deref().filter(|n| !n.is_empty());
        name.or(m.source.as_deref()) == Some(value) || m.destination.as_deref() == Some(value)
    })
}

/// moby matches `name` as a regular expression; the anchors and plain text are what clients send.
fn name_matches(name: &str, pattern: &str) -> bool {
    let name = name.trim_start_matches('/');
    let pattern = pattern.strip_prefix('/').unwrap_or(pattern);
    match (pattern.strip_prefix('^'), pattern.strip_suffix('$')) {
        _ if pattern.starts_with('^') && pattern.ends_with('$') && pattern.len() >= 2 => {
            let inner = &pattern[1..pattern.len() - 1];
            name == inner.trim_start_matches('/')
        }
        (Some(p), _) => name.starts_with(p.trim_start_matches('/')),
        (_, Some(p)) => name.ends_with(p),
        _ => name.contains(pattern),
    }
}

impl Runtime {
    fn created_of(&self, id_or_name: &str) -> Result<u64, Error> {
        self.store()
            .get(id_or_name)
            .map(|r| r.created)
            .map_err(|_| Error::invalid(format!("No such container: {id_or_name}")))
    }

    /// `GET /containers/json`.
    pub(crate) async fn list(&self, options: &ListOptions) -> Result<Vec<ContainerSummary>, Error> {
        let f = &options.filters;
        let get = |k: &str| f.get(k);
        for h in get("health") {
            if !["none", "starting", "healthy", "unhealthy"].contains(&h.as_str()) {
                return Err(Error::invalid(format!(
                    "Unrecognised filter value for health: {h}"
                )));
            }
        }
        let task = task_filter(get("is-task"))?;
        // No container has published ports yet: those filters match nothing. (`network` is not
        // applied: every container is on its own loopback.)
        if ["publish", "expose"].iter().any(|k| !get(k).is_empty()) {
            return Ok(Vec::new());
        }
        for s in get("status") {
            if ![
                "created",
                "restarting",
                "running",
                "removing",
                "paused",
                "exited",
                "dead",
            ]
            .contains(&s.as_str())
            {
                return Err(Error::invalid(format!("Invalid filter 'status={s}'")));
            }
        }
        let exited: Vec<i64> = get("exited")
            .iter()
            .map(|e| {
                e.parse()
                    .map_err(|_| Error::invalid(format!("Invalid filter 'exited={e}'")))
            })
            .collect::<Result<_, _>>()?;
        let before = get("before")
            .first()
            .map(|b| self.created_of(b))
            .transpose()?;
        let since = get("since")
            .first()
            .map(|s| self.created_of(s))
            .transpose()?;
        let mut ancestors = Vec::new();
        for a in get("ancestor") {
            if let Ok(image) = self.inner.images.resolve(a).await {
                ancestors.push(image.id);
            }
        }
        let all =
            options.all || options.limit > 0 || !get("status").is_empty() || !exited.is_empty();
        let now = now_nanos();
        let mut out = Vec::new();
        let mut image_sizes = ImageSizes::default();
        for record in self.store().list() {
            let s = &record.state;
            let status = s.status().to_string();
            let keep = (all || s.running)
                && (get("id").is_empty()
                    || get("id").iter().any(|p| record.id.starts_with(p.as_str())))
                && (get("name").is_empty()
                    || get("name").iter().any(|p| name_matches(&record.name, p)))
                && get("label").iter().all(|l| has_label(&record, l))
                && !get("label!").iter().any(|l| has_label(&record, l))
                && (get("status").is_empty() || get("status").contains(&status))
                && (exited.is_empty()
                    || (!s.running && s.started_at.is_some() && exited.contains(&s.exit_code)))
                && (get("ancestor").is_empty()
                    || ancestors.contains(&record.image_id)
                    || get("ancestor").contains(&record.image_name))
                && before.is_none_or(|t| record.created < t)
                && since.is_none_or(|t| record.created > t)
                && task.is_none_or(|t| has_label(&record, SWARM_TASK_LABEL) == t)
                && (get("health").is_empty()
                    || get("health").iter().any(|h| h == s.health_status()))
                && (get("isolation").is_empty() || {
                    let isolation = isolation_of(&record);
                    get("isolation").iter().any(|i| name_matches(&isolation, i))
                })
                && (get("volume").is_empty()
                    || get("volume").iter().any(|v| mounts_volume(&record, v)));
            if !keep {
                continue;
            }
            let mut summary = record.to_summary(now);
            if options.size {
                let (rw, root_fs) = self.sizes(&record, &mut image_sizes).await;
                summary.size_rw = Some(rw);
                summary.size_root_fs = Some(root_fs);
            }
            out.push(summary);
            if options.limit > 0 && out.len() >= options.limit {
                break;
            }
        }
        Ok(out)
    }

    /// `GET /containers/{id}/json`.
    pub(crate) async fn inspect(
        &self,
        id_or_name: &str,
        size: bool,
    ) -> Result<ContainerInspectResponse, Error> {
        let record = self.store().get(id_or_name)?;
        let mut out = record.to_inspect();
        let data = match self
            .inner
            .cd
            .snapshot_mounts(self.inner.snapshotter, &record.id)
            .await
        {
            Ok(mounts) => super::rootfs::overlay_data(&mounts),
            Err(_) => HashMap::new(),
        };
        let execs = self.open_execs(&record.id);
        out.exec_ids = (!execs.is_empty()).then_some(execs);
        out.graph_driver = Some(DriverData {
            name: record.driver.clone(),
            data,
        });
        if size {
            let (rw, root_fs) = self.sizes(&record, &mut ImageSizes::default()).await;
            out.size_rw = Some(rw);
            out.size_root_fs = Some(root_fs);
        }
        Ok(out)
    }

    /// `POST /containers/{id}/wait`: resolves the container now (404 before any answer) and answers a
    /// future that ends when `condition` is met, with the exit code then.
    pub(crate) fn wait(
        &self,
        id_or_name: &str,
        condition: WaitCondition,
    ) -> Result<impl Future<Output = RunStatus> + Send + 'static, Error> {
        let (_, handle) = self.lookup(id_or_name)?;
        let mut rx = handle.status.subscribe();
        let now = rx.borrow().clone();
        drop(handle);
        Ok(async move {
            let done = |s: &RunStatus| match condition {
                WaitCondition::NotRunning => !s.running || s.exits > now.exits,
                WaitCondition::NextExit => s.exits > now.exits,
                WaitCondition::Removed => s.removed,
            };
            let result = rx.wait_for(done).await.map(|s| s.clone());
            // An error: the handle went away, the container was removed.
            result.unwrap_or_else(|_| RunStatus {
                removed: true,
                ..rx.borrow().clone()
            })
        })
    }

    /// The container's log as `GET /containers/{id}/logs` reads it; also answers whether it has a TTY.
    pub(crate) fn logs(
        &self,
        id_or_name: &str,
        query: LogQuery,
    ) -> Result<(LogStream, bool), Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        if record.log_path.is_empty() {
            return Err(Error::new(
                ErrorKind::NotImplemented,
                "configured logging driver does not support reading",
            ));
        }
        let stopped = handle.output_done.subscribe();
        let tty = record.config.tty.unwrap_or(false);
        Ok((logs::read(record.log_path.clone(), query, stopped), tty))
    }

    /// Attaches to the container's output.
    pub(crate) fn attach(&self, id_or_name: &str) -> Result<Attached, Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let output = handle.attach.subscribe();
        self.emit(&record, "attach", &[]);
        Ok(Attached {
            output,
            tty: record.config.tty.unwrap_or(false),
            stdin_once: record.config.stdin_once.unwrap_or(false),
        })
    }

    /// Writes an attached client's input to the container's stdin, waiting for the container to start;
    /// `None` ends the input (closing stdin when `close` is set). Errors end the copy.
    pub(crate) async fn write_stdin(
        &self,
        id: &str,
        data: Option<Bytes>,
        close: bool,
    ) -> Result<(), Error> {
        let (_, handle) = self.lookup(id)?;
        let mut rx = handle.status.subscribe();
        if rx.wait_for(|s| s.running).await.is_err() {
            return Err(Error::new(ErrorKind::Conflict, "the container is gone"));
        }
        let mut stdin = handle.stdin.lock().await;
        match data {
            Some(bytes) => {
                let Some(pipe) = stdin.as_mut() else {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        "the container's stdin is closed",
                    ));
                };
                pipe.write_all(&bytes)
                    .await
                    .map_err(|e| Error::new(ErrorKind::System, format!("writing stdin: {e}")))
            }
            None => {
                if close && stdin.take().is_some() {
                    self.inner.cd.task_close_stdin(id).await?;
                }
                Ok(())
            }
        }
    }

    /// `POST /containers/{id}/rename`.
    pub(crate) fn rename(&self, id_or_name: &str, new_name: &str) -> Result<(), Error> {
        if new_name.is_empty() {
            return Err(Error::invalid("Neither old nor new names may be empty"));
        }
        let old = self.store().get(id_or_name)?;
        let record = self.store().rename(&old.id, new_name)?;
        self.emit(&record, "rename", &[("oldName", old.name.clone())]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_clients_write_the_patterns() {
        assert!(name_matches("/web-1", "web"));
        assert!(name_matches("/web-1", "^web"));
        assert!(name_matches("/web-1", "^/web-1$"));
        assert!(!name_matches("/web-1", "^web$"));
        assert!(name_matches("/my-web", "web$"));
        assert!(!name_matches("/db", "web"));
    }

    #[test]
    fn is_task_takes_true_or_false_only() {
        assert_eq!(task_filter(&[]).unwrap(), None);
        assert_eq!(task_filter(&["true".into()]).unwrap(), Some(true));
        assert_eq!(task_filter(&["false".into()]).unwrap(), Some(false));
        assert_eq!(
            task_filter(&["maybe".into()]).unwrap_err().message,
            "Invalid filter 'is-task=maybe'"
        );
    }

    #[test]
    fn an_unset_isolation_is_the_default() {
        let mut record = ContainerRecord::default();
        assert_eq!(isolation_of(&record), "default");
        record.host_config.isolation = Some(HostConfigIsolationEnum::EMPTY);
        assert_eq!(isolation_of(&record), "default");
        record.host_config.isolation = Some(HostConfigIsolationEnum::PROCESS);
        assert_eq!(isolation_of(&record), "process");
    }
}
