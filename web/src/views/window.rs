//! Windowing: which rows of a long list of fixed-height rows are on screen.
//!
//! A list of 1000 containers (or 100 000 log lines) cannot be 1000 DOM rows and stay fast: layout and
//! style work grow with every node. So a list is a spacer as tall as all its rows, and only the rows in
//! view (plus a few either side, so that a fast scroll does not show blanks before the next frame) exist,
//! each placed at `index * row_height`. This module is that arithmetic, kept apart from the DOM so that
//! it is tested natively.

use std::ops::Range;

/// The rows of a list of `total` rows `row_height` pixels high to render when its scroller is scrolled
/// to `scroll_top` and shows `viewport` pixels: those in view and `overscan` more on each side.
pub fn visible(
    scroll_top: f64,
    viewport: f64,
    row_height: f64,
    total: usize,
    overscan: usize,
) -> Range<usize> {
    if total == 0 || row_height <= 0.0 || !row_height.is_finite() {
        return 0..0;
    }
    let top = if scroll_top.is_finite() {
        scroll_top.max(0.0)
    } else {
        0.0
    };
    let viewport = if viewport.is_finite() {
        viewport.max(0.0)
    } else {
        0.0
    };
    // The first row whose bottom is below the top edge, the last whose top is above the bottom edge.
    let first = ((top / row_height).floor() as usize).min(total - 1);
    let last = (((top + viewport) / row_height).ceil() as usize).clamp(first + 1, total);
    first.saturating_sub(overscan)..(last + overscan).min(total)
}

/// The height of the spacer that stands for all `total` rows.
pub fn spacer_height(total: usize, row_height: f64) -> f64 {
    total as f64 * row_height
}

/// Where the row at `index` goes.
pub fn row_top(index: usize, row_height: f64) -> f64 {
    index as f64 * row_height
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_rows_in_view_and_the_overscan() {
        // 1000 rows of 40 px in a 400 px viewport at the top: rows 0..10 are in view.
        assert_eq!(visible(0.0, 400.0, 40.0, 1000, 0), 0..10);
        assert_eq!(visible(0.0, 400.0, 40.0, 1000, 5), 0..15);
        // Scrolled by 1000 px: the rows at 1000..1400 px, 25..35.
        assert_eq!(visible(1000.0, 400.0, 40.0, 1000, 0), 25..35);
        assert_eq!(visible(1000.0, 400.0, 40.0, 1000, 5), 20..40);
        // Half a row scrolled: the half-shown rows at both edges count.
        assert_eq!(visible(20.0, 400.0, 40.0, 1000, 0), 0..11);
    }

    #[test]
    fn the_ends_are_clamped() {
        assert_eq!(visible(0.0, 400.0, 40.0, 0, 5), 0..0);
        assert_eq!(visible(0.0, 400.0, 40.0, 3, 5), 0..3);
        // Scrolled past the end (the list shrank under the scroller): the last rows, not nothing.
        assert_eq!(visible(100_000.0, 400.0, 40.0, 1000, 0), 999..1000);
        assert_eq!(visible(39_600.0, 400.0, 40.0, 1000, 2), 988..1000);
        // Nonsense in, nothing absurd out.
        assert_eq!(visible(-50.0, 400.0, 40.0, 1000, 0), 0..10);
        assert_eq!(visible(f64::NAN, f64::NAN, 40.0, 10, 0), 0..1);
        assert_eq!(visible(0.0, 400.0, 0.0, 10, 0), 0..0);
        // A viewport not laid out yet (0 px) still renders a row, so that it can be measured.
        assert_eq!(visible(0.0, 0.0, 40.0, 10, 0), 0..1);
    }

    #[test]
    fn geometry() {
        assert_eq!(spacer_height(1000, 40.0), 40_000.0);
        assert_eq!(row_top(25, 40.0), 1000.0);
    }
}
