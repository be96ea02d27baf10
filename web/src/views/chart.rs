//! The stats chart's arithmetic, in plain Rust: the last samples kept in a ring, a "nice" top for the
//! scale (1, 2 or 5 times a power of ten, so the gridlines read well) and the points of a polyline.
//! The view only draws what this computes on a `<canvas>`.

use std::collections::VecDeque;

/// Samples shown: two minutes at the daemon's one a second.
pub const SAMPLES: usize = 120;

/// The last [`SAMPLES`] values of one measure.
#[derive(Clone, Debug, Default)]
pub struct Series {
    values: VecDeque<f64>,
}

impl Series {
    pub fn push(&mut self, value: f64) {
        if self.values.len() == SAMPLES {
            self.values.pop_front();
        }
        self.values.push_back(if value.is_finite() {
            value.max(0.0)
        } else {
            0.0
        });
    }

    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.values.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn max(&self) -> f64 {
        self.values.iter().copied().fold(0.0, f64::max)
    }
}

/// The smallest of 1, 2, 5 × 10ⁿ at or above `value`, and at least `floor`.
pub fn nice_max(value: f64, floor: f64) -> f64 {
    let value = value.max(floor);
    if value <= 0.0 || !value.is_finite() {
        return floor.max(1.0);
    }
    let magnitude = 10f64.powf(value.log10().floor());
    for step in [1.0, 2.0, 5.0, 10.0] {
        let candidate = step * magnitude;
        if candidate >= value * (1.0 - 1e-9) {
            return candidate;
        }
    }
    10.0 * magnitude
}

/// The polyline of `series` in a box `width` × `height` (y down), `max` at the top; the newest sample
/// at the right edge, one [`SAMPLES`]th of the width apart.
pub fn points(series: &Series, width: f64, height: f64, max: f64) -> Vec<(f64, f64)> {
    let step = width / (SAMPLES.saturating_sub(1).max(1)) as f64;
    let offset = SAMPLES.saturating_sub(series.len()) as f64 * step;
    let max = if max > 0.0 { max } else { 1.0 };
    series
        .values()
        .enumerate()
        .map(|(i, v)| {
            let y = height - (v / max).min(1.0) * height;
            (offset + i as f64 * step, y)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_tops() {
        assert_eq!(nice_max(0.0, 1.0), 1.0);
        assert_eq!(nice_max(3.2, 1.0), 5.0);
        assert_eq!(nice_max(57.0, 1.0), 100.0);
        assert_eq!(nice_max(100.0, 1.0), 100.0);
        assert_eq!(nice_max(101.0, 1.0), 200.0);
        assert_eq!(nice_max(0.013, 0.01), 0.02);
        assert_eq!(nice_max(12_000_000.0, 1.0), 20_000_000.0);
        assert_eq!(nice_max(f64::NAN, 10.0), 10.0);
    }

    #[test]
    fn series_keep_the_last_samples() {
        let mut s = Series::default();
        for i in 0..SAMPLES + 10 {
            s.push(i as f64);
        }
        s.push(f64::NAN);
        assert_eq!(s.len(), SAMPLES);
        assert_eq!(s.values().last(), Some(0.0));
        assert_eq!(s.max(), (SAMPLES + 9) as f64);
        assert_eq!(s.values().next(), Some(11.0));
    }

    #[test]
    fn points_fill_from_the_right() {
        let mut s = Series::default();
        s.push(0.0);
        s.push(50.0);
        s.push(200.0);
        let p = points(&s, 119.0, 100.0, 100.0);
        assert_eq!(p, vec![(117.0, 100.0), (118.0, 50.0), (119.0, 0.0)]);
        assert!(points(&Series::default(), 100.0, 100.0, 0.0).is_empty());
    }
}
