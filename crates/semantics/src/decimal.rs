//! Strict decimal integers, as `Content-Length`, range bounds and CGI headers write them.

/// `1*DIGIT` as a `u64`: ASCII digits only (no sign, no space, no `_`), at least one.
/// `None` for anything else and for a value that does not fit (RFC 9110 8.6: a recipient
/// "MUST anticipate potentially large decimal numerals and prevent parsing errors due to
/// integer conversion overflows").
#[inline]
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_only() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(parse_u64(b"007"), Some(7));
        assert_eq!(parse_u64(b"1234567890"), Some(1_234_567_890));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"1_000",
            b"0x10",
            b"1.0",
            b"\xd9\xa1",
        ] {
            assert_eq!(parse_u64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"99999999999999999999999"), None);
        assert_eq!(parse_u64(b"000000000000000000000000001"), Some(1));
    }
}
