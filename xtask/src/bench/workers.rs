//! Jobs on worker threads: `jobs` numbered jobs shared by `workers` threads, each taking the next
//! number until none is left. The first failure stops the others from taking more; what succeeded is
//! kept (its outputs, e.g. container IDs to clean up, and its latencies) next to the failure.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Error, Result};

/// What a run did.
#[derive(Debug)]
pub struct Run<T> {
    /// The successful jobs' outputs, in no particular order.
    pub outputs: Vec<T>,
    /// The successful jobs' latencies, in the same order.
    pub latencies: Vec<Duration>,
    /// From the first job taken to the last one finished.
    pub wall: Duration,
    /// The first failure, if any.
    pub error: Option<Error>,
}

/// Runs `job(0..jobs)` on `workers` threads (at least one, at most one per job).
pub fn run<T: Send>(
    jobs: usize,
    workers: usize,
    job: impl Fn(usize) -> Result<T> + Sync,
) -> Run<T> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || {
        let mut done = Vec::new();
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= jobs {
                break;
            }
            let started = Instant::now();
            match job(i) {
                Ok(output) => done.push((output, started.elapsed())),
                Err(err) => {
                    failed.store(true, Ordering::Relaxed);
                    return (done, Some(err));
                }
            }
        }
        (done, None)
    };
    let started = Instant::now();
    let finished: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..workers.clamp(1, jobs.max(1)))
            .map(|_| scope.spawn(worker))
            .collect();
        threads
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| (Vec::new(), Some(anyhow!("a worker thread panicked"))))
            })
            .collect()
    });
    let wall = started.elapsed();
    let mut run = Run {
        outputs: Vec::new(),
        latencies: Vec::new(),
        wall,
        error: None,
    };
    for (done, error) in finished {
        for (output, latency) in done {
            run.outputs.push(output);
            run.latencies.push(latency);
        }
        if run.error.is_none() {
            run.error = error;
        }
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_job_runs_once() {
        let run = run(20, 4, |i| Ok(i * 2));
        assert!(run.error.is_none());
        let mut outputs = run.outputs;
        outputs.sort_unstable();
        assert_eq!(outputs, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(run.latencies.len(), 20);
    }

    #[test]
    fn jobs_run_in_parallel() {
        let run = run(4, 4, |_| {
            std::thread::sleep(Duration::from_millis(100));
            Ok(())
        });
        assert!(run.wall < Duration::from_millis(350), "{:?}", run.wall);
    }

    #[test]
    fn the_first_failure_stops_the_rest_and_keeps_what_succeeded() {
        let taken = Mutex::new(Vec::new());
        let run = run(1000, 2, |i| {
            taken.lock().unwrap().push(i);
            if i == 5 {
                anyhow::bail!("job {i} failed");
            }
            std::thread::sleep(Duration::from_millis(1));
            Ok(i)
        });
        assert_eq!(run.error.unwrap().to_string(), "job 5 failed");
        assert!(taken.lock().unwrap().len() < 20);
        assert!(!run.outputs.contains(&5));
        assert!(run.outputs.contains(&4));
    }

    #[test]
    fn no_jobs_is_an_empty_run() {
        let run = run(0, 8, |_| -> Result<()> { unreachable!() });
        assert!(run.outputs.is_empty() && run.error.is_none());
    }
}
