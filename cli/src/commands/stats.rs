//! `wharf stats [--no-stream] [CONTAINER...]`: the docker CLI's table of resource usage, one row per
//! container (the running ones when none are named), with its columns and number formats.
//!
//! CPU % needs two samples a second apart. The daemon takes them itself for `stream=0`, but then each
//! container costs a second; instead wharf asks each for its first sample at once (`one-shot`), waits a
//! second, asks again and chains the two as the daemon would (the earlier sample's `cpu_stats` become the
//! later one's `precpu_stats`): a second in all, however many containers. Without `--no-stream` it goes
//! on, redrawing the table every second, until interrupted (the native transport reads whole answers,
//! so it polls rather than holding the daemon's stream open).

use std::io::Write;
use std::time::Duration;

use wharf_client_core::api::containers::{list_request, stats_request, ListOptions};
use wharf_client_core::stats::ContainerStatsResponse;
use wharf_client_core::{Client, Transport};

use super::CommandError;

/// docker's columns.
pub const HEADER: [&str; 8] = [
    "CONTAINER ID",
    "NAME",
    "CPU %",
    "MEM USAGE / LIMIT",
    "MEM %",
    "NET I/O",
    "BLOCK I/O",
    "PIDS",
];

/// Go's `%.{digits}g`: `digits` significant digits, trailing zeros dropped.
fn significant(value: f64, digits: i32) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let exponent = value.abs().log10().floor() as i32;
    let decimals = usize::try_from(digits - 1 - exponent).unwrap_or(0);
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `size` in `base` steps of `units`, `digits` significant: go-units' `HumanSizeWithPrecision`.
fn human(size: u64, base: f64, units: &[&str], digits: i32) -> String {
    let mut value = size as f64;
    let mut unit = 0;
    while value >= base && unit + 1 < units.len() {
        value /= base;
        unit += 1;
    }
    format!("{}{}", significant(value, digits), units[unit])
}

/// go-units' `BytesSize` (binary, 4 digits): `30.67MiB`.
pub fn binary_size(size: u64) -> String {
    human(size, 1024.0, &["B", "KiB", "MiB", "GiB", "TiB", "PiB"], 4)
}

/// go-units' `HumanSizeWithPrecision(size, 3)` (decimal): `1.2MB`.
pub fn decimal_size(size: u64) -> String {
    human(size, 1000.0, &["B", "kB", "MB", "GB", "TB", "PB"], 3)
}

/// A sample's row, formatted as `docker stats` formats it.
pub fn row(s: &ContainerStatsResponse) -> [String; 8] {
    let id: String = s.id.chars().take(12).collect();
    let (rx, tx) = s.network_io();
    let (read, write) = s.block_io();
    [
        id,
        s.name.trim_start_matches('/').to_owned(),
        format!("{:.2}%", s.cpu_percent()),
        format!(
            "{} / {}",
            binary_size(s.memory_usage()),
            binary_size(s.memory_stats.limit)
        ),
        format!("{:.2}%", s.memory_percent()),
        format!("{} / {}", decimal_size(rx), decimal_size(tx)),
        format!("{} / {}", decimal_size(read), decimal_size(write)),
        s.pids_stats.current.to_string(),
    ]
}

/// The table as the docker CLI's tabwriter lays it out: columns at least 10 wide, 3 spaces apart.
pub fn render(rows: &[[String; 8]]) -> String {
    let header = HEADER.map(str::to_owned);
    let all: Vec<&[String; 8]> = std::iter::once(&header).chain(rows).collect();
    let widths: Vec<usize> = (0..8)
        .map(|c| {
            let widest = all.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
            (widest + 3).max(10)
        })
        .collect();
    let mut text = String::new();
    for r in all {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}", width = widths[c]));
            }
        }
        text.push('\n');
    }
    text
}

/// The first sample of each container, at once.
async fn samples<T: Transport>(
    client: &Client<T>,
    containers: &[String],
) -> Result<Vec<ContainerStatsResponse>, CommandError> {
    let mut samples = Vec::with_capacity(containers.len());
    for c in containers {
        samples.push(client.call(|f| stats_request(f, c, true)).await?);
    }
    Ok(samples)
}

/// `later` with `earlier`'s CPU figures as its `precpu_stats`, as the daemon chains a stream.
pub fn chain(
    earlier: &ContainerStatsResponse,
    mut later: ContainerStatsResponse,
) -> ContainerStatsResponse {
    later.precpu_stats = earlier.cpu_stats.clone();
    later.preread = earlier.read.clone();
    later
}

/// Runs `wharf stats`.
pub async fn run<T: Transport>(
    client: &Client<T>,
    no_stream: bool,
    containers: &[String],
    out: &mut impl Write,
) -> Result<(), CommandError> {
    let containers: Vec<String> = if containers.is_empty() {
        let running = client
            .call(|f| Ok(list_request(f, &ListOptions::default())))
            .await?;
        running.into_iter().filter_map(|c| c.id).collect()
    } else {
        containers.to_vec()
    };
    let mut previous = samples(client, &containers).await?;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = samples(client, &containers).await?;
        let rows: Vec<[String; 8]> = previous
            .iter()
            .zip(&now)
            .map(|(before, after)| row(&chain(before, after.clone())))
            .collect();
        if !no_stream {
            // Clear the screen and go home, as docker does between frames.
            write!(out, "\x1b[2J\x1b[H")?;
        }
        write!(out, "{}", render(&rows))?;
        out.flush()?;
        if no_stream {
            return Ok(());
        }
        previous = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_prints_them() {
        assert_eq!(binary_size(0), "0B");
        assert_eq!(binary_size(913_408), "892KiB");
        assert_eq!(binary_size(32_161_792), "30.67MiB");
        assert_eq!(binary_size(25_324_953_600), "23.59GiB");
        assert_eq!(binary_size(1023), "1023B");
        assert_eq!(decimal_size(0), "0B");
        assert_eq!(decimal_size(1_234_567), "1.23MB");
        assert_eq!(decimal_size(999), "999B");
        assert_eq!(decimal_size(12_000), "12kB");
    }

    #[test]
    fn rows_and_the_table_as_docker_stats_prints_them() {
        let mut s = ContainerStatsResponse {
            id: "1d5a768db098809d0f152a88c4b947be39c9408393be447f20bae8011c611a5e".into(),
            name: "/mem2".into(),
            ..Default::default()
        };
        s.memory_stats.usage = 32_161_792;
        s.memory_stats.limit = 25_324_953_600;
        s.pids_stats.current = 3;
        let first = s.clone();
        s.cpu_stats.cpu_usage.total_usage = 500_000_000;
        s.cpu_stats.system_cpu_usage = 2_000_000_000;
        s.cpu_stats.online_cpus = 2;
        let chained = chain(&first, s);
        let r = row(&chained);
        assert_eq!(r[0], "1d5a768db098");
        assert_eq!(r[2], "50.00%");
        assert_eq!(r[3], "30.67MiB / 23.59GiB");
        assert_eq!(r[4], "0.13%");
        assert_eq!(r[5], "0B / 0B");
        let stopped = row(&ContainerStatsResponse {
            id: "cbaebacacb92db14".into(),
            name: "/stopped".into(),
            ..Default::default()
        });
        // dockerd's answer laid out by the docker CLI 28, byte for byte.
        assert_eq!(
            render(&[r, stopped]),
            "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O   BLOCK I/O   PIDS\n\
             1d5a768db098   mem2      50.00%    30.67MiB / 23.59GiB   0.13%     0B / 0B   0B / 0B     3\n\
             cbaebacacb92   stopped   0.00%     0B / 0B               0.00%     0B / 0B   0B / 0B     0\n"
        );
    }
}
