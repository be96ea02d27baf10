//! Starting a container: the generated `/etc` files, the OCI spec, containerd's container and task, the
//! FIFOs and the log, then the run's monitor.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use containerd_client::services::v1::{Container, CreateTaskRequest};
use containerd_client::types::Mount;
use wharf_client_core::ErrorKind;

use super::io::Fifos;
use super::{rootfs, Handle, Runtime, SPEC_TYPE_URL};
use crate::containers::etcfiles::{
    hostname_file, hosts_file, parse_extra_hosts, resolv_conf, EtcPaths,
};
use crate::containers::health;
use crate::containers::record::{now_nanos, ContainerRecord};
use crate::containers::spec::{self, network_mode, NetworkMode, SpecInput, DEFAULT_CGROUP_PARENT};
use crate::containers::users::resolve_user_in;
use crate::error::Error;
use crate::logs::{LogOptions, LogWriter};

/// How long a start waits for the shim to open the container's stdin after creating the task (it does
/// so at once, on a goroutine of its own; a loaded host can take a while to run it).
const STDIN_OPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// What a started run hands to its monitor.
pub(super) struct Run {
    pub copier: tokio::task::JoinHandle<()>,
    pub started: Instant,
}

/// The exit code dockerd records for a start that failed, and the error class it answers with
/// (moby's `translateContainerdStartErr`).
fn start_failure(message: &str) -> (i64, ErrorKind) {
    let m = message.to_lowercase();
    if m.contains("executable file not found")
        || m.contains("no such file or directory")
        || m.contains("not a directory")
    {
        (127, ErrorKind::InvalidParameter)
    } else if m.contains("permission denied") {
        (126, ErrorKind::InvalidParameter)
    } else {
        (128, ErrorKind::System)
    }
}

impl Runtime {
    /// `POST /containers/{id}/start`: false when it was running already (dockerd's 304).
    pub(crate) async fn start(&self, id_or_name: &str) -> Result<bool, Error> {
        let (record, handle) = self.lookup(id_or_name)?;
        let _op = handle.op.lock().await;
        let record = self.store().get(&record.id)?;
        let s = &record.state;
        if s.paused {
            return Err(Error::new(
                ErrorKind::Conflict,
                "cannot start a paused container, try unpause instead",
            ));
        }
        if s.running && !s.restarting {
            return Ok(false);
        }
        if s.removal_in_progress || s.dead {
            return Err(Error::new(
                ErrorKind::Conflict,
                "container is marked for removal and cannot be started",
            ));
        }
        handle.manual_stop.store(false, Ordering::Relaxed);
        handle.cancel_restart.notify_waiters();
        if record.restart_count != 0 || record.has_been_manually_stopped {
            self.update(&record.id, move |r| {
                r.restart_count = 0;
                r.has_been_manually_stopped = false;
                Ok(())
            })
            .await?;
        }
        self.start_locked(&record.id, &handle).await?;
        Ok(true)
    }

    /// Starts a run of container `id`; its operation lock must be held (or the caller is its monitor,
    /// restarting it). On failure the record keeps the error and dockerd's exit code.
    pub(super) async fn start_locked(&self, id: &str, handle: &Arc<Handle>) -> Result<(), Error> {
        let record = self.store().get(id)?;
        match self.launch(&record, handle).await {
            Ok(run) => {
                self.spawn_monitor(record.id.clone(), handle.clone(), run);
                Ok(())
            }
            Err(e) => {
                self.release_volumes(&record);
                let (code, kind) = start_failure(&e.message);
                let kind = if code == 128 { e.kind } else { kind };
                let message = e.message.clone();
                let stored = message.clone();
                let _ = self
                    .update(id, move |r| {
                        r.state.set_start_error(stored, code);
                        Ok(())
                    })
                    .await;
                // As dockerd does: attached clients see the end, waiters the failed run's exit code
                // (and no error: the start's own answer carries it, and the docker CLI would print it
                // twice), and an `AutoRemove` container goes.
                handle.attach.close_all();
                handle.status.send_modify(|s| {
                    s.running = false;
                    s.exits += 1;
                    s.exit_code = code;
                });
                if record.host_config.auto_remove.unwrap_or(false) {
                    let rt = self.clone();
                    let id = id.to_owned();
                    tokio::spawn(async move {
                        if let Err(e) = rt.remove_with(&id, true, true).await {
                            tracing::warn!(container = %id, "auto-removing after a failed start: {e}");
                        }
                    });
                }
                Err(Error::new(kind, message))
            }
        }
    }

    async fn launch(&self, record: &ContainerRecord, handle: &Arc<Handle>) -> Result<Run, Error> {
        let cd = &self.inner.cd;
        let id = record.id.as_str();
        let mounts = cd
            .snapshot_mounts(self.inner.snapshotter, id)
            .await
            .map_err(|e| {
                Error::new(
                    e.kind(),
                    format!("the container's file system is gone: {}", e.message()),
                )
            })?;
        let netns = self.attach_network(record).await?;
        // The record now holds the attachment (its address goes into /etc/hosts).
        let launched = match self.store().get(id) {
            Ok(record) => self.launch_task(&record, handle, mounts, netns).await,
            Err(e) => Err(e),
        };
        match &launched {
            Err(_) => self.detach_network(id).await,
            Ok(_) => {
                // The others on its network learn its name.
                if let Some(att) = self.store().get(id).ok().and_then(|r| r.network) {
                    self.refresh_hosts(&att.network_id, None);
                }
            }
        }
        launched
    }

    /// The rest of a start, once the network is there: the spec, containerd's container and task, the
    /// FIFOs and the log.
    async fn launch_task(
        &self,
        record: &ContainerRecord,
        handle: &Arc<Handle>,
        mounts: Vec<Mount>,
        netns: Option<std::path::PathBuf>,
    ) -> Result<Run, Error> {
        let cd = &self.inner.cd;
        let id = record.id.as_str();
        let volume_mounts = self.mount_volumes(record).await?;
        let spec = self.spec(record, &mounts, &volume_mounts, netns.as_deref())?;
        let spec_json = serde_json::to_vec(&spec).map_err(Error::system)?;

        let runtime = self.inner.runc.runtime();
        let container = Container {
            id: id.to_owned(),
            image: record.image_id.clone(),
            runtime: Some(runtime),
            spec: Some(prost_types::Any {
                type_url: SPEC_TYPE_URL.to_owned(),
                value: spec_json,
            }),
            snapshotter: self.inner.snapshotter.to_owned(),
            snapshot_key: id.to_owned(),
            labels: HashMap::new(),
            ..Default::default()
        };
        if let Err(e) = cd.container_create(container.clone()).await {
            if !e.is_already_exists() {
                return Err(e.into());
            }
            // Leftovers of a run whose end the daemon did not see are replaced; a task among them is
            // killed first, so that no process outlives its record's knowledge of it.
            self.clear_run(id).await?;
            cd.container_create(container).await?;
        }

        let tty = record.config.tty.unwrap_or(false);
        let stdin = record.config.open_stdin.unwrap_or(false);
        let fifos = Fifos::in_dir(&self.fifo_dir(id), stdin, tty);
        let prepared = (|| {
            fifos.create()?;
            let output = fifos.open_output()?;
            Ok::<_, std::io::Error>(output)
        })();
        let output = match prepared {
            Ok(o) => o,
            Err(e) => {
                let _ = cd.container_delete(id).await;
                fifos.remove();
                return Err(Error::system(format!(
                    "cannot create the container's stdio: {e}"
                )));
            }
        };
        let log = self.open_log(record)?;
        crate::fifo_keeper::spawn(&self.fifo_dir(id)).await;

        let (stdin_path, stdout_path, stderr_path) = fifos.task_paths();
        let created = cd
            .task_create(CreateTaskRequest {
                container_id: id.to_owned(),
                rootfs: mounts,
                stdin: stdin_path,
                stdout: stdout_path,
                stderr: stderr_path,
                terminal: tty,
                options: Some(self.inner.runc.to_any()),
                ..Default::default()
            })
            .await;
        if let Err(e) = created {
            let _ = cd.container_delete(id).await;
            fifos.remove();
            return Err(Error::new(e.kind(), e.message()));
        }
        if stdin {
            match fifos.open_stdin(STDIN_OPEN_WAIT).await {
                Ok(sender) => *handle.stdin.lock().await = sender,
                Err(e) => tracing::warn!(container = id, "cannot open stdin: {e}"),
            }
        }
        handle.output_done.send_replace(false);
        let copier = tokio::spawn(output.copy(log, handle.attach.clone()));
        let pid = match cd.task_start(id, "").await {
            Ok(pid) => pid,
            Err(e) => {
                let _ = cd.task_delete(id).await;
                let _ = cd.container_delete(id).await;
                *handle.stdin.lock().await = None;
                let _ = copier.await;
                handle.output_done.send_replace(true);
                fifos.remove();
                return Err(Error::new(e.kind(), e.message()));
            }
        };
        let started = Instant::now();
        self.update(id, move |r| {
            r.state.set_running(i64::from(pid), now_nanos());
            if health::probe_of(&r.config).is_some() {
                r.state.health.get_or_insert_default().restart();
            }
            Ok(())
        })
        .await?;
        handle.status.send_modify(|s| s.running = true);
        self.emit(record, "start", &[]);
        Ok(Run { copier, started })
    }

    /// Opens the container's json-file log with its `LogConfig` options; `None` for the `none` driver.
    pub(super) fn open_log(
        &self,
        record: &ContainerRecord,
    ) -> Result<Option<Arc<Mutex<LogWriter>>>, Error> {
        if record.log_path.is_empty() {
            return Ok(None);
        }
        let options = record
            .host_config
            .log_config
            .as_ref()
            .and_then(|l| l.config.as_ref())
            .map(|c| LogOptions::from_config(c.iter()))
            .transpose()
            .map_err(|e| Error::invalid(e.to_string()))?
            .unwrap_or_default();
        let writer = LogWriter::open(&record.log_path, options).map_err(Error::system)?;
        Ok(Some(Arc::new(Mutex::new(writer))))
    }

    /// Writes the `/etc` files and builds the OCI spec for a run.
    fn spec(
        &self,
        record: &ContainerRecord,
        mounts: &[Mount],
        volume_mounts: &[oci_spec::runtime::Mount],
        netns: Option<&Path>,
    ) -> Result<oci_spec::runtime::Spec, Error> {
        let hc = &record.host_config;
        let config = &record.config;
        let network = network_mode(hc)?;
        let user = resolve_user_in(
            &rootfs::read_text(mounts, "etc/passwd"),
            &rootfs::read_text(mounts, "etc/group"),
            config.user.as_deref().unwrap_or(""),
            hc.group_add.as_deref().unwrap_or(&[]),
        )?;
        let hostname = config.hostname.clone().unwrap_or_default();
        let extra = parse_extra_hosts(hc.extra_hosts.as_deref().unwrap_or(&[]))?;
        let host_hosts = (network == NetworkMode::Host)
            .then(|| std::fs::read_to_string("/etc/hosts").unwrap_or_default());
        let address = record
            .network
            .as_ref()
            .and_then(|a| a.ip_address.parse().ok());
        let mut hosts = hosts_file(
            &hostname,
            config.domainname.as_deref().unwrap_or(""),
            address,
            &extra,
            host_hosts.as_deref(),
        );
        hosts.push_str(&self.peer_hosts(record));
        let (link_hosts, link_env) = self.links(record)?;
        hosts.push_str(&link_hosts);
        // Link variables come before the container's own, which win (as dockerd merges them).
        let linked_config;
        let config = if link_env.is_empty() {
            config
        } else {
            let mut c = config.clone();
            let own = c.env.take().unwrap_or_default();
            let mut env: Vec<String> = link_env
                .into_iter()
                .filter(|l| {
                    let key = l.split('=').next().unwrap_or_default();
                    !own.iter().any(|o| o.split('=').next() == Some(key))
                })
                .collect();
            env.extend(own);
            c.env = Some(env);
            linked_config = c;
            &linked_config
        };
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let resolv = resolv_conf(&host_resolv, hc, &network);
        let etc = EtcPaths {
            hosts: record.hosts_path.clone().into(),
            resolv_conf: record.resolv_conf_path.clone().into(),
            hostname: record.hostname_path.clone().into(),
        };
        etc.write(&hosts, &resolv, &hostname_file(&hostname))
            .map_err(Error::system)?;
        spec::create_host_dirs(&spec::user_mounts(hc)?).map_err(Error::system)?;
        let (host_devices, device_rules) = if hc.privileged.unwrap_or(false) {
            (super::devices::host_devices(Path::new("/dev")), Vec::new())
        } else {
            super::devices::mapped_devices(hc)?
        };
        spec::build_spec(&SpecInput {
            id: &record.id,
            config,
            host_config: hc,
            rootfs: Path::new("rootfs"),
            hostname: &hostname,
            hosts_path: &etc.hosts,
            resolv_conf_path: &etc.resolv_conf,
            hostname_path: &etc.hostname,
            user: &user,
            init_path: self.inner.init_path.as_deref(),
            host_devices: &host_devices,
            device_rules: &device_rules,
            cgroup_parent: DEFAULT_CGROUP_PARENT,
            seccomp_profile: self.inner.seccomp.as_ref(),
            kernel_version: self.inner.kernel,
            volume_mounts,
            netns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_failures_get_dockerd_exit_codes() {
        let (code, kind) = start_failure(
            "failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"nope\": executable file not found in $PATH: unknown",
        );
        assert_eq!((code, kind), (127, ErrorKind::InvalidParameter));
        assert_eq!(start_failure("exec: \"/etc\": permission denied").0, 126);
        assert_eq!(start_failure("cgroup trouble").0, 128);
    }
}
