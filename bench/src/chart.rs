//! The SVG chart of the ratios sockserve/peer, one bar per pair, on a log scale so 0.5× and 2×
//! are the same distance from parity. Bars are green where a goal is met, red where it is missed,
//! blue where no goal was set; a black tick marks the goal.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{BenchError, Result};
use crate::workloads::Goal;

/// One bar: a ratio and what it was held to.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub ratio: f64,
    pub goal: Option<Goal>,
}

const ROW: u32 = 24;
const WIDTH: u32 = 1000;
const MET: RGBColor = RGBColor(46, 160, 67);
const MISSED: RGBColor = RGBColor(207, 34, 46);
const NO_GOAL: RGBColor = RGBColor(84, 130, 190);

/// Draws `bars` into an SVG file at `path`.
pub fn draw(path: &Path, title: &str, bars: &[Bar]) -> Result<()> {
    let err =
        |e: &dyn std::fmt::Display| BenchError::new(format!("drawing {}: {e}", path.display()));
    let height = 130 + ROW * bars.len().max(1) as u32;
    let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (lo, hi) = x_range(bars);
    let n = bars.len().max(1) as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(56)
        .y_label_area_size(330)
        .build_cartesian_2d((lo..hi).log_scale(), -0.5..n - 0.5)
        .map_err(|e| err(&e))?;
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    // The first bar goes at the top: bar i sits on row n - 1 - i (a mapping that is its own inverse).
    let row = |i: usize| bars.len().saturating_sub(1 + i);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bars.len() * 2 + 1)
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            labels.get(row(i as usize)).cloned().unwrap_or_default()
        })
        .x_desc("sockserve / peer (log scale; > 1 means sockserve is ahead, for memory < 1)")
        .x_label_formatter(&|x| format!("{x}×"))
        .draw()
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let y = row(i) as f64;
            let color = match b.goal {
                Some(g) if g.met(b.ratio) => MET,
                Some(_) => MISSED,
                None => NO_GOAL,
            };
            Rectangle::new(
                [(lo, y - 0.35), (b.ratio.clamp(lo, hi), y + 0.35)],
                color.filled(),
            )
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
            let g = match b.goal? {
                Goal::AtLeast(g) | Goal::AtMost(g) => g,
            };
            let y = row(i) as f64;
            Some(PathElement::new(
                vec![(g, y - 0.45), (g, y + 0.45)],
                BLACK.stroke_width(3),
            ))
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(
                format!("{:.2}×", b.ratio),
                (b.ratio.clamp(lo, hi) * 1.04, row(i) as f64 + 0.2),
                ("sans-serif", 12),
            )
        }))
        .map_err(|e| err(&e))?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(1.0, -0.5), (1.0, n - 0.5)],
            BLACK.stroke_width(1),
        )))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// A log range holding every ratio and goal with room for the value labels.
fn x_range(bars: &[Bar]) -> (f64, f64) {
    let values = bars.iter().flat_map(|b| {
        let g = b.goal.map(|g| match g {
            Goal::AtLeast(v) | Goal::AtMost(v) => v,
        });
        std::iter::once(b.ratio).chain(g)
    });
    let (mut lo, mut hi) = (0.5_f64, 2.0_f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo / 1.5, hi * 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_an_svg_with_every_label() {
        let dir =
            std::env::temp_dir().join(format!("sockserve-bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ratios.svg");
        let bars = vec![
            Bar {
                label: "file-1k [shared] vs nginx".into(),
                ratio: 1.3,
                goal: Some(Goal::AtLeast(1.2)),
            },
            Bar {
                label: "file-1k [shared] vs python".into(),
                ratio: 61.0,
                goal: Some(Goal::AtLeast(50.0)),
            },
            Bar {
                label: "idle-memory [shared] vs nginx".into(),
                ratio: 1.4,
                goal: Some(Goal::AtMost(1.0)),
            },
        ];
        draw(&path, "ratios", &bars).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("file-1k [shared] vs python"));
        assert!(svg.contains("61.00×"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn range_covers_values_and_goals() {
        let (lo, hi) = x_range(&[Bar {
            label: String::new(),
            ratio: 0.1,
            goal: Some(Goal::AtLeast(50.0)),
        }]);
        assert!(lo < 0.1 && hi > 50.0);
        let (lo, hi) = x_range(&[]);
        assert!(lo < 0.5 && hi > 2.0);
    }
}
