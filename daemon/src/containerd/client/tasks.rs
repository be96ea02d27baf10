//! Tasks and their processes: a container's init process (an empty `exec_id`) and the exec processes added
//! to it. Waits carry no deadline; every other call does.

use containerd_client::services::v1::{
    tasks_client::TasksClient, CloseIoRequest, CreateTaskRequest, DeleteProcessRequest,
    DeleteTaskRequest, ExecProcessRequest, GetRequest as TaskGetRequest, KillRequest,
    ListPidsRequest, ListTasksRequest, MetricsRequest, PauseTaskRequest, ResizePtyRequest,
    ResumeTaskRequest, StartRequest, UpdateTaskRequest, WaitRequest,
};
use containerd_client::tonic::transport::Channel;
use containerd_client::tonic::Status;
use containerd_client::types::v1::{Process, ProcessInfo};
use containerd_client::types::Metric;

use super::{rpc, Containerd, Result};
use crate::containerd::ContainerdError;

/// containerd's type URL for an OCI `LinuxResources`.
const LINUX_RESOURCES_TYPE_URL: &str =
    "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources";

impl Containerd {
    fn tasks(&self) -> TasksClient<Channel> {
        TasksClient::new(self.channel.clone())
    }

    /// Creates a container's task; answers its pid.
    pub(crate) async fn task_create(&self, request: CreateTaskRequest) -> Result<u32> {
        Ok(self
            .tasks()
            .create(self.unary(request))
            .await
            .map_err(rpc("task create"))?
            .into_inner()
            .pid)
    }

    /// Starts a task (or, with `exec_id`, an exec process); answers its pid.
    pub(crate) async fn task_start(&self, container_id: &str, exec_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .start(self.unary(StartRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
            }))
            .await
            .map_err(rpc("task start"))?
            .into_inner()
            .pid)
    }

    /// Signals a task's process (`all`: every process in it).
    pub(crate) async fn task_kill(&self, container_id: &str, signal: u32, all: bool) -> Result<()> {
        self.tasks()
            .kill(self.unary(KillRequest {
                container_id: container_id.to_owned(),
                exec_id: String::new(),
                signal,
                all,
            }))
            .await
            .map_err(rpc("task kill"))?;
        Ok(())
    }

    /// Signals an exec's process.
    pub(crate) async fn process_kill(
        &self,
        container_id: &str,
        exec_id: &str,
        signal: u32,
    ) -> Result<()> {
        self.tasks()
            .kill(self.unary(KillRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
                signal,
                all: false,
            }))
            .await
            .map_err(rpc("process kill"))?;
        Ok(())
    }

    /// Waits, without a deadline, until a task exits; answers its exit status.
    pub(crate) async fn task_wait(&self, container_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .wait(self.req(WaitRequest {
                container_id: container_id.to_owned(),
                exec_id: String::new(),
            }))
            .await
            .map_err(rpc("task wait"))?
            .into_inner()
            .exit_status)
    }

    /// Deletes an exited task; answers its exit status.
    pub(crate) async fn task_delete(&self, container_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .delete(self.unary(DeleteTaskRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task delete"))?
            .into_inner()
            .exit_status)
    }

    /// Closes a task's stdin (the shim keeps the FIFO open, so closing our end alone is not an EOF).
    pub(crate) async fn task_close_stdin(&self, container_id: &str) -> Result<()> {
        self.process_close_stdin(container_id, "").await
    }

    /// Closes the stdin of a task's process: its init with an empty `exec_id`, else that exec process.
    pub(crate) async fn process_close_stdin(
        &self,
        container_id: &str,
        exec_id: &str,
    ) -> Result<()> {
        self.tasks()
            .close_io(self.unary(CloseIoRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
                stdin: true,
            }))
            .await
            .map_err(rpc("task close io"))?;
        Ok(())
    }

    /// Adds an exec process to a running task (started with [`Self::task_start`] and its `exec_id`).
    pub(crate) async fn process_exec(&self, request: ExecProcessRequest) -> Result<()> {
        self.tasks()
            .exec(self.unary(request))
            .await
            .map_err(rpc("task exec"))?;
        Ok(())
    }

    /// Waits, without a deadline, until a task's exec process exits; answers its exit status.
    pub(crate) async fn process_wait(&self, container_id: &str, exec_id: &str) -> Result<u32> {
        Ok(self
            .tasks()
            .wait(self.req(WaitRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
            }))
            .await
            .map_err(rpc("task wait"))?
            .into_inner()
            .exit_status)
    }

    /// Deletes an exited exec process.
    pub(crate) async fn process_delete(&self, container_id: &str, exec_id: &str) -> Result<()> {
        self.tasks()
            .delete_process(self.unary(DeleteProcessRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
            }))
            .await
            .map_err(rpc("task delete process"))?;
        Ok(())
    }

    /// Resizes the terminal of a task's process (its init with an empty `exec_id`).
    pub(crate) async fn process_resize(
        &self,
        container_id: &str,
        exec_id: &str,
        width: u32,
        height: u32,
    ) -> Result<()> {
        self.tasks()
            .resize_pty(self.unary(ResizePtyRequest {
                container_id: container_id.to_owned(),
                exec_id: exec_id.to_owned(),
                width,
                height,
            }))
            .await
            .map_err(rpc("task resize pty"))?;
        Ok(())
    }

    /// Freezes a task.
    pub(crate) async fn task_pause(&self, container_id: &str) -> Result<()> {
        self.tasks()
            .pause(self.unary(PauseTaskRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task pause"))?;
        Ok(())
    }

    /// Thaws a task.
    pub(crate) async fn task_resume(&self, container_id: &str) -> Result<()> {
        self.tasks()
            .resume(self.unary(ResumeTaskRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task resume"))?;
        Ok(())
    }

    /// Changes a running task's resources (its cgroup's limits): `resources` is an OCI `LinuxResources`
    /// as JSON, which the shim hands to `runc update`; fields left out stay as they are.
    pub(crate) async fn task_update(&self, container_id: &str, resources: Vec<u8>) -> Result<()> {
        self.tasks()
            .update(self.unary(UpdateTaskRequest {
                container_id: container_id.to_owned(),
                resources: Some(prost_types::Any {
                    type_url: LINUX_RESOURCES_TYPE_URL.to_owned(),
                    value: resources,
                }),
                annotations: Default::default(),
            }))
            .await
            .map_err(rpc("task update"))?;
        Ok(())
    }

    /// The processes in a task.
    pub(crate) async fn task_pids(&self, container_id: &str) -> Result<Vec<ProcessInfo>> {
        Ok(self
            .tasks()
            .list_pids(self.unary(ListPidsRequest {
                container_id: container_id.to_owned(),
            }))
            .await
            .map_err(rpc("task pids"))?
            .into_inner()
            .processes)
    }

    /// A task's cgroup metrics (a typed `Any`, see `containerd::cgroups`) and when containerd read them;
    /// `None` when it has no task.
    pub(crate) async fn task_metrics(&self, container_id: &str) -> Result<Option<Metric>> {
        Ok(self
            .tasks()
            .metrics(self.unary(MetricsRequest {
                filters: vec![format!("id=={container_id}")],
            }))
            .await
            .map_err(rpc("task metrics"))?
            .into_inner()
            .metrics
            .into_iter()
            .find(|m| m.id == container_id))
    }

    /// Every task in the namespace (status, pid, exit status).
    pub(crate) async fn task_list(&self) -> Result<Vec<Process>> {
        Ok(self
            .tasks()
            .list(self.unary(ListTasksRequest {
                filter: String::new(),
            }))
            .await
            .map_err(rpc("task list"))?
            .into_inner()
            .tasks)
    }

    /// A task's state (status, pid, exit status).
    pub(crate) async fn task_state(&self, container_id: &str) -> Result<Process> {
        self.tasks()
            .get(self.unary(TaskGetRequest {
                container_id: container_id.to_owned(),
                exec_id: String::new(),
            }))
            .await
            .map_err(rpc("task state"))?
            .into_inner()
            .process
            .ok_or_else(|| ContainerdError::rpc("task state", Status::not_found(container_id)))
    }
}
