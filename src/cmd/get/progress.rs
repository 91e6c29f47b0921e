//! The download progress bar `-o FILE` draws on a terminal.

use std::io::Write;
use std::time::{Duration, Instant};

/// Width of the bar itself, in characters.
const BAR_WIDTH: usize = 30;
/// Least time between redraws, so a fast download does not spend its time drawing.
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// Progress of one body, drawn on standard error.
#[derive(Debug)]
pub struct Progress {
    total: Option<u64>,
    done: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Progress {
    /// A bar for a body of `total` bytes, or an unknown length.
    pub fn new(total: Option<u64>) -> Progress {
        Progress {
            total,
            done: 0,
            started: Instant::now(),
            drawn: None,
        }
    }

    /// Counts `n` more bytes, redrawing at most every [`REDRAW_EVERY`].
    pub fn advance(&mut self, n: usize) {
        self.done += n as u64;
        if self.drawn.is_none_or(|at| at.elapsed() >= REDRAW_EVERY) {
            self.draw();
        }
    }

    /// Draws the final state and ends the line.
    pub fn finish(&mut self) {
        self.draw();
        eprintln!();
    }

    fn draw(&mut self) {
        self.drawn = Some(Instant::now());
        let line = render(self.done, self.total, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
    }
}

/// One line of progress: `[=====>    ]  50%  1.0 MiB / 2.0 MiB  512 KiB/s`.
pub fn render(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    match total {
        Some(total) if total > 0 => {
            let fraction = (done as f64 / total as f64).min(1.0);
            let filled = (fraction * BAR_WIDTH as f64) as usize;
            let head = if filled < BAR_WIDTH { ">" } else { "" };
            let bar = format!("{}{head}", "=".repeat(filled));
            format!(
                "[{bar:<BAR_WIDTH$}] {:>3.0}%  {} / {}  {}/s",
                fraction * 100.0,
                size(done),
                size(total),
                size(rate as u64)
            )
        }
        _ => format!("{}  {}/s", size(done), size(rate as u64)),
    }
}

/// `n` bytes in binary units, as the file server's listings show them: `512 B`, `1.5 KiB`,
/// `12 MiB`.
fn size(n: u64) -> String {
    semantics::size::human_size(n)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_and_unknown_lengths() {
        let half = render(1024 * 1024, Some(2 * 1024 * 1024), Duration::from_secs(2));
        assert_eq!(
            half,
            format!(
                "[{:<30}]  50%  1.0 MiB / 2.0 MiB  512 KiB/s",
                "=".repeat(15) + ">"
            )
        );
        let full = render(10, Some(10), Duration::ZERO);
        assert!(
            full.starts_with(&format!("[{}] 100%", "=".repeat(30))),
            "{full}"
        );
        assert_eq!(render(500, None, Duration::from_secs(1)), "500 B  500 B/s");
    }
}
