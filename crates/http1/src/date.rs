//! The `Date` header value: a second rendered as an IMF-fixdate, and calendar arithmetic.
//!
//! No clock is read here: the caller knows the time (the server renders it once per second and
//! hands the same value to every response head of that second).

use std::time::{Duration, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const DATE_LEN: usize = 29;

/// A rendered `Date` value (RFC 9110 5.6.7 IMF-fixdate), ready to be copied into a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpDate([u8; DATE_LEN]);

impl HttpDate {
    /// The value for `secs` seconds after the Unix epoch.
    pub fn from_unix_secs(secs: u64) -> HttpDate {
        let text = httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs));
        let mut out = [b' '; DATE_LEN];
        // Always 29 bytes for years 1970..=9999; a later year is clamped by httpdate.
        let n = text.len().min(DATE_LEN);
        out[..n].copy_from_slice(&text.as_bytes()[..n]);
        HttpDate(out)
    }

    /// The rendered bytes.
    pub fn as_bytes(&self) -> &[u8; DATE_LEN] {
        &self.0
    }
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
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn renders_an_imf_fixdate() {
        let date = HttpDate::from_unix_secs(784_111_777);
        assert_eq!(date.as_bytes(), b"Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
