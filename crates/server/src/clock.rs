//! A cheap clock for deadlines that need only be right to a few milliseconds.
//!
//! On a virtual machine, reading the monotonic clock costs a few dozen nanoseconds (the
//! time-stamp counter, scaled); its coarse variant, which the kernel advances every scheduler
//! tick, costs a few. A connection places its idle deadline once per request, so it reads the
//! coarse clock and maps it onto [`Instant`] through a reading of both taken once per thread.
//! Both clocks advance together, so the result is off by less than a tick either way.

use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};
use tokio::time::Instant;

thread_local! {
    /// The coarse clock and [`Instant`] read together.
    static ANCHOR: (Duration, Instant) = (coarse(), Instant::now());
}

/// The current time, to within a scheduler tick.
pub(crate) fn coarse_now() -> Instant {
    ANCHOR.with(|&(at, instant)| instant + coarse().saturating_sub(at))
}

fn coarse() -> Duration {
    let t = clock_gettime(ClockId::MonotonicCoarse);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or_default(),
        u32::try_from(t.tv_nsec).unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_follows_the_precise_one() {
        // A scheduler tick is at most 10 ms (HZ=100); allow for a slow test machine.
        let slack = Duration::from_millis(50);
        for _ in 0..3 {
            let coarse = coarse_now();
            let precise = Instant::now();
            let gap = if coarse > precise {
                coarse - precise
            } else {
                precise - coarse
            };
            assert!(gap < slack, "{gap:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
