//! The exec records and their table, as moby keeps them apart (`daemon/exec`): what each exec runs and
//! how far it got.
//!
//! An exec is created, started at most once, and ends once, with its exit code recorded before anyone
//! waiting hears of it; `launched` and `ended` only ever go from false to true, and an exec that ends is
//! launched too, so nothing waits for a start that will not come. The table refuses an exec while
//! [`MAX_OPEN`] have not ended, and forgets the oldest ended ones beyond [`MAX_ENDED`] when one is added;
//! a container's execs go when it is removed, those never started when its run ends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::net::unix::pipe;
use tokio::sync::watch;
use wharf_client_core::models::ExecConfig;
use wharf_client_core::ErrorKind;

use crate::error::Error;

/// How many ended execs are kept for inspection, over all containers.
pub(super) const MAX_ENDED: usize = 1024;

/// How many execs that have not ended (created or running) the daemon holds at once.
pub(super) const MAX_OPEN: usize = 4096;

/// One exec: what to run, and how far it got.
#[derive(Debug)]
pub(super) struct Exec {
    pub(super) id: String,
    pub(super) container_id: String,
    pub(super) config: ExecConfig,
    progress: Mutex<Progress>,
    /// True once the exec ended and its exit code is recorded.
    pub(super) ended: watch::Sender<bool>,
    /// True once its process started with its stdin open, or failed to start: input waits for it.
    pub(super) launched: watch::Sender<bool>,
    /// The write end of its stdin, while it runs with stdin attached.
    pub(super) stdin: tokio::sync::Mutex<Option<pipe::Sender>>,
}

#[derive(Debug, Default)]
pub(super) struct Progress {
    pub(super) started: bool,
    pub(super) running: bool,
    pub(super) pid: u32,
    pub(super) exit_code: Option<i64>,
    ended_at: Option<Instant>,
}

impl Exec {
    /// A created exec: not started, nothing waiting.
    pub(super) fn new(id: String, container_id: String, config: ExecConfig) -> Self {
        Self {
            id,
            container_id,
            config,
            progress: Mutex::default(),
            ended: watch::Sender::new(false),
            launched: watch::Sender::new(false),
            stdin: tokio::sync::Mutex::new(None),
        }
    }

    pub(super) fn progress(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn tty(&self) -> bool {
        self.config.tty.unwrap_or(false)
    }

    pub(super) fn command(&self) -> &[String] {
        self.config.cmd.as_deref().unwrap_or(&[])
    }

    /// `exec_create: sleep 3`, as dockerd names the events (entrypoint, a space, the arguments).
    pub(super) fn event(&self, action: &str) -> String {
        let (entrypoint, args) = match self.command().split_first() {
            Some((first, rest)) => (first.as_str(), rest),
            None => ("", &[][..]),
        };
        format!("{action}: {entrypoint} {}", args.join(" "))
    }

    /// Records the end and wakes whoever waits for it.
    pub(super) fn end(&self, code: i64) {
        {
            let mut p = self.progress();
            p.running = false;
            p.exit_code = Some(code);
            p.ended_at = Some(Instant::now());
        }
        self.launched.send_replace(true);
        self.ended.send_replace(true);
    }
}

/// Every exec the daemon knows, by ID.
#[derive(Debug, Default)]
pub(crate) struct ExecTable {
    execs: Mutex<HashMap<String, Arc<Exec>>>,
}

impl ExecTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Exec>>> {
        self.execs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, id: &str) -> Result<Arc<Exec>, Error> {
        self.lock()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("No such exec instance: {id}")))
    }

    /// Adds `exec`, first forgetting the oldest ended ones beyond [`MAX_ENDED`]; refused when
    /// [`MAX_OPEN`] execs have not ended.
    pub(super) fn insert(&self, exec: Arc<Exec>) -> Result<(), Error> {
        let mut execs = self.lock();
        let open = execs
            .values()
            .filter(|e| e.progress().exit_code.is_none())
            .count();
        if open >= MAX_OPEN {
            return Err(Error::new(
                ErrorKind::Unavailable,
                format!("too many execs: {MAX_OPEN} have not ended yet"),
            ));
        }
        let mut ended: Vec<(Instant, String)> = execs
            .values()
            .filter_map(|e| e.progress().ended_at.map(|at| (at, e.id.clone())))
            .collect();
        if ended.len() >= MAX_ENDED {
            ended.sort();
            for (_, id) in &ended[..=ended.len() - MAX_ENDED] {
                execs.remove(id);
            }
        }
        execs.insert(exec.id.clone(), exec);
        Ok(())
    }

    /// Forgets the container's execs that were created but never started (its run ended).
    pub(crate) fn forget_unstarted(&self, container_id: &str) {
        self.lock()
            .retain(|_, e| e.container_id != container_id || e.progress().started);
    }

    /// Forgets one exec (a health probe's, once it ended).
    pub(crate) fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Forgets the execs of a removed container.
    pub(crate) fn forget_container(&self, container_id: &str) {
        self.lock().retain(|_, e| e.container_id != container_id);
    }

    /// The IDs of the container's execs that have not ended, started or not (inspect's `ExecIDs`).
    pub(crate) fn open_in(&self, container_id: &str) -> Vec<String> {
        self.lock()
            .values()
            .filter(|e| e.container_id == container_id && e.progress().exit_code.is_none())
            .map(|e| e.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(id: &str, container: &str) -> Arc<Exec> {
        Arc::new(Exec::new(
            id.into(),
            container.into(),
            ExecConfig {
                cmd: Some(vec!["sh".into(), "-c".into(), "exit 3".into()]),
                ..ExecConfig::default()
            },
        ))
    }

    #[test]
    fn the_table_finds_lists_and_forgets_execs() {
        let table = ExecTable::default();
        table.insert(exec("a", "c1")).unwrap();
        table.insert(exec("b", "c2")).unwrap();
        assert_eq!(
            table.get("x").unwrap_err().to_string(),
            "No such exec instance: x"
        );
        table.get("b").unwrap().end(0);
        assert_eq!(table.open_in("c1"), ["a"]);
        assert!(table.open_in("c2").is_empty(), "an ended exec is not open");
        let unstarted = exec("u", "c1");
        table.insert(unstarted).unwrap();
        table.get("a").unwrap().progress().started = true;
        table.forget_unstarted("c1");
        assert!(
            table.get("u").is_err(),
            "an exec never started goes with the run"
        );
        assert!(table.get("a").is_ok());
        table.forget_container("c1");
        assert!(table.get("a").is_err());
        assert!(table.get("b").is_ok());
    }

    #[test]
    fn ended_execs_beyond_the_limit_go_oldest_first() {
        let table = ExecTable::default();
        for n in 0..MAX_ENDED {
            let e = exec(&n.to_string(), "c");
            e.end(0);
            table.insert(e).unwrap();
        }
        let running = exec("running", "c");
        table.insert(running).unwrap();
        assert!(
            table.get("0").is_err(),
            "the oldest ended exec is forgotten"
        );
        assert!(table.get("1").is_ok());
        assert!(table.get("running").is_ok());
        assert_eq!(table.lock().len(), MAX_ENDED);
    }

    #[test]
    fn execs_that_never_end_are_limited() {
        let table = ExecTable::default();
        for n in 0..MAX_OPEN {
            table.insert(exec(&n.to_string(), "c")).unwrap();
        }
        let refused = table.insert(exec("one-more", "c")).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unavailable);
        table.get("0").unwrap().end(0);
        table.insert(exec("one-more", "c")).unwrap();
    }

    #[test]
    fn an_ended_exec_has_its_code_and_wakes_its_waiters() {
        let e = exec("a", "c");
        let ended = e.ended.subscribe();
        e.progress().running = true;
        e.end(3);
        assert!(*ended.borrow());
        let p = e.progress();
        assert_eq!((p.running, p.exit_code), (false, Some(3)));
        assert_eq!(e.event("exec_start"), "exec_start: sh -c exit 3");
        let bare = Exec::new(
            "b".into(),
            "c".into(),
            ExecConfig {
                cmd: Some(vec!["true".into()]),
                ..ExecConfig::default()
            },
        );
        assert_eq!(bare.event("exec_create"), "exec_create: true ");
    }
}
