//! Latency samples and their percentiles (nearest rank over the sorted samples).

use std::time::Duration;

/// Sorted request latencies.
#[derive(Debug, Clone, Default)]
pub struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    /// Sorts `samples`.
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self { sorted: samples }
    }

    /// The `p`th percentile (0–100), `None` without samples.
    pub fn percentile(&self, p: f64) -> Option<Duration> {
        if self.sorted.is_empty() {
            return None;
        }
        let rank = (p / 100.0 * self.sorted.len() as f64).ceil() as usize;
        Some(self.sorted[rank.clamp(1, self.sorted.len()) - 1])
    }

    /// The arithmetic mean, `None` without samples.
    pub fn mean(&self) -> Option<Duration> {
        let count = u32::try_from(self.sorted.len()).ok().filter(|&n| n > 0)?;
        Some(self.sorted.iter().sum::<Duration>() / count)
    }
}

/// The median of `values`, `None` when empty.
pub fn median(values: &[Duration]) -> Option<Duration> {
    Latencies::new(values.to_vec()).percentile(50.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |n| Duration::from_millis(n);
        let lat = Latencies::new((1..=100).rev().map(ms).collect());
        assert_eq!(lat.percentile(50.0), Some(ms(50)));
        assert_eq!(lat.percentile(99.0), Some(ms(99)));
        assert_eq!(lat.percentile(100.0), Some(ms(100)));
        assert_eq!(lat.percentile(0.0), Some(ms(1)));
        assert_eq!(Latencies::default().percentile(50.0), None);
        assert_eq!(median(&[ms(3), ms(1), ms(2)]), Some(ms(2)));
        assert_eq!(lat.mean(), Some(Duration::from_micros(50_500)));
        assert_eq!(Latencies::default().mean(), None);
    }
}
