//! The `Date` header value, rendered at most once per second.
//!
//! Formatting an IMF-fixdate costs more than the rest of a small response head, and the value
//! only changes once a second, so each thread keeps the last rendering and the second it is for.

use std::cell::RefCell;
use std::time::{Duration, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

struct Cached {
    second: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    static CACHE: RefCell<Cached> = const { RefCell::new(Cached { second: u64::MAX, text: [b' '; DATE_LEN] }) };
}

/// Calls `f` with the current `Date` value, rendering it only when the second has changed.
///
/// The second comes from the kernel's coarse real-time clock, which is read without the
/// time-stamp counter (a few nanoseconds instead of a few dozen) and lags by at most one
/// scheduler tick: a `Date` that turns a few milliseconds late is still right to the second.
pub fn with_date<R>(f: impl FnOnce(&[u8; DATE_LEN]) -> R) -> R {
    let now =
        u64::try_from(rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec)
            .unwrap_or_default();
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.second != now {
            let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(now));
            if text.len() == DATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                cache.second = now;
            }
        }
        f(&cache.text)
    })
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after Howard Hinnant's
/// `civil_from_days`; shared by the access log and the directory listing, which print dates in
/// formats of their own without a calendar library.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        use super::civil_from_days;
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    use super::*;

    #[test]
    fn renders_an_imf_fixdate() {
        let text = with_date(|d| String::from_utf8(d.to_vec()).unwrap());
        assert!(text.ends_with(" GMT"), "{text}");
        assert!(httpdate::parse_http_date(&text).is_ok());
    }
}
