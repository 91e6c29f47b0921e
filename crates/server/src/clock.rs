//! A cheap clock for deadlines that need only be right to a few milliseconds.
//!
//! On a virtual machine, reading the monotonic clock costs a few dozen nanoseconds (the
//! time-stamp counter, scaled); its coarse variant, which the kernel advances every scheduler
//! tick, costs a few. A connection places its idle deadline once per request, so it reads the
//! coarse clock and maps it onto [`Instant`] through a reading of both taken once per thread.
//! Both clocks advance together, so the result is off by less than a tick either way.
//!
//! The `Date` header value lives here too: http1 reads no clock, so the server renders the
//! value once per second per thread and hands it to every response head of that second.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http1::date::HttpDate;
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

thread_local! {
    /// The last `Date` value rendered on this thread, and the second it is for.
    static DATE: Cell<(u64, HttpDate)> = Cell::new((u64::MAX, HttpDate::from_unix_secs(0)));
}

/// The current `Date` value, rendered only when the second has changed.
///
/// The second comes from the kernel's coarse real-time clock, which is read without the
/// time-stamp counter (a few nanoseconds instead of a few dozen) and lags by at most one
/// scheduler tick: a `Date` that turns a few milliseconds late is still right to the second.
pub(crate) fn http_date() -> HttpDate {
    let now = u64::try_from(clock_gettime(ClockId::RealtimeCoarse).tv_sec).unwrap_or_default();
    DATE.with(|cache| {
        let (second, date) = cache.get();
        if second == now {
            return date;
        }
        let date = HttpDate::from_unix_secs(now);
        cache.set((now, date));
        date
    })
}

/// The wall-clock time to within a scheduler tick, for what is shown to the second (the
/// access log's Common Log Format timestamp): the coarse clock costs a few nanoseconds where
/// the precise one reads the time-stamp counter.
pub(crate) fn coarse_wall_time() -> SystemTime {
    let t = clock_gettime(ClockId::RealtimeCoarse);
    UNIX_EPOCH
        + Duration::new(
            u64::try_from(t.tv_sec).unwrap_or_default(),
            u32::try_from(t.tv_nsec).unwrap_or_default(),
        )
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
    fn the_date_is_an_imf_fixdate_of_now() {
        let date = http_date();
        let text = std::str::from_utf8(date.as_bytes()).unwrap();
        let parsed = httpdate::parse_http_date(text).unwrap();
        let age = std::time::SystemTime::now()
            .duration_since(parsed)
            .unwrap_or_default();
        assert!(age < Duration::from_secs(3), "{text}");
    }

    #[test]
    fn the_coarse_wall_clock_follows_the_precise_one() {
        let coarse = coarse_wall_time();
        let precise = SystemTime::now();
        let gap = precise
            .duration_since(coarse)
            .or_else(|e| Ok::<_, ()>(e.duration()))
            .unwrap_or_default();
        assert!(gap < Duration::from_millis(50), "{gap:?}");
    }

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
