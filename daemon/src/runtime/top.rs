//! `GET /containers/{id}/top`: the host's `ps` (with the caller's arguments), keeping the rows of the
//! container's processes, as dockerd does.

use serde::Serialize;
use wharf_client_core::ErrorKind;

use super::Runtime;
use crate::error::Error;

/// The answer: `ps`'s column titles and the container's rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Top {
    pub titles: Vec<String>,
    /// One row per process, split into the columns.
    pub processes: Vec<Vec<String>>,
}

/// Keeps the rows of `ps`'s `output` whose PID is in `pids`; the last column (the command) keeps its
/// spaces.
pub(super) fn filter_ps(output: &str, pids: &[u32]) -> Result<Top, Error> {
    let mut lines = output.lines().filter(|l| !l.trim().is_empty());
    let titles: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let pid_col = titles
        .iter()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::new(ErrorKind::System, "Couldn't find PID field in ps output"))?;
    let columns = titles.len();
    let mut processes = Vec::new();
    for line in lines {
        let mut fields: Vec<String> = Vec::with_capacity(columns);
        let mut rest = line.trim_start();
        while fields.len() + 1 < columns {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            fields.push(rest[..end].to_owned());
            rest = rest[end..].trim_start();
        }
        fields.push(rest.to_owned());
        let pid: Option<u32> = fields.get(pid_col).and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            processes.push(fields);
        }
    }
    Ok(Top { titles, processes })
}

impl Runtime {
    /// The container's processes as `ps <ps_args>` (default `-ef`) shows them.
    pub(crate) async fn top(&self, id_or_name: &str, ps_args: &str) -> Result<Top, Error> {
        let record = self.store().get(id_or_name)?;
        if !record.state.running || record.state.restarting {
            return Err(super::control::not_running(&record.id));
        }
        let pids: Vec<u32> = self
            .inner
            .cd
            .task_pids(&record.id)
            .await?
            .into_iter()
            .map(|p| p.pid)
            .collect();
        let args: Vec<&str> = match ps_args.split_whitespace().collect::<Vec<_>>() {
            a if a.is_empty() => vec!["-ef"],
            a => a,
        };
        let output = tokio::process::Command::new("ps")
            .args(&args)
            .output()
            .await
            .map_err(|e| Error::new(ErrorKind::System, format!("Error running ps: {e}")))?;
        if !output.status.success() {
            return Err(Error::new(
                ErrorKind::System,
                format!("ps: {}", String::from_utf8_lossy(&output.stderr).trim()),
            ));
        }
        let top = filter_ps(&String::from_utf8_lossy(&output.stdout), &pids)?;
        // dockerd logs every top as an event.
        self.emit(&record, "top", &[]);
        Ok(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_the_container_are_kept_with_their_command_whole() {
        let ps = "UID          PID    PPID  C STIME TTY          TIME CMD\n\
                  root           1       0  0 10:00 ?        00:00:01 /sbin/init\n\
                  root        4242    4200  0 10:01 ?        00:00:00 sleep 100 --x\n";
        let top = filter_ps(ps, &[4242]).unwrap();
        assert_eq!(top.titles.len(), 8);
        assert_eq!(
            top.processes,
            vec![vec![
                "root",
                "4242",
                "4200",
                "0",
                "10:01",
                "?",
                "00:00:00",
                "sleep 100 --x"
            ]]
        );
        assert_eq!(
            filter_ps("USER COMMAND\nroot x\n", &[1])
                .unwrap_err()
                .to_string(),
            "Couldn't find PID field in ps output"
        );
    }
}
