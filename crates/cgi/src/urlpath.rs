//! URL paths as the script lookup sees them: decoded, split into segments, compared. Pure
//! functions over strings; the file system is asked in [`crate::locate`].

/// `path` decoded and split on `/` and `\`, with `.` and `..` resolved (never above the root).
pub(crate) fn normalized(path: &str) -> Vec<Vec<u8>> {
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for seg in decoded.split(|&b| b == b'/' || b == b'\\') {
        match seg {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            s => out.push(s.to_vec()),
        }
    }
    out
}

/// Splits `path` on `/` and decodes each segment, refusing any that could name something
/// other than one plain file-name component.
pub(crate) fn decode_segments(path: &str) -> Option<Vec<Vec<u8>>> {
    let rest = path.strip_prefix('/')?;
    rest.split('/')
        .map(|seg| {
            let d = decode(seg.as_bytes())?;
            if d == b".." || d.iter().any(|&b| matches!(b, b'/' | b'\\' | 0)) {
                return None;
            }
            Some(d)
        })
        .collect()
}

/// Strict percent-decoding: `None` on a `%` not followed by two hex digits.
fn decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The segments after `dir`, skipping empty and `.` segments on the way, if `segments` starts
/// with it.
pub(crate) fn strip_dir<'a>(segments: &'a [Vec<u8>], dir: &[Vec<u8>]) -> Option<&'a [Vec<u8>]> {
    let mut i = 0;
    for want in dir {
        while segments.get(i).is_some_and(|s| s.is_empty() || s == b".") {
            i += 1;
        }
        if segments.get(i)? != want {
            return None;
        }
        i += 1;
    }
    Some(&segments[i..])
}

/// `/a/b` from its segments.
pub(crate) fn url_path(segments: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    for s in segments {
        p.push(b'/');
        p.extend_from_slice(s);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(list: &[&str]) -> Vec<Vec<u8>> {
        list.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn decoding_is_strict_and_never_yields_a_separator() {
        assert_eq!(decode_segments("/a%20b/c"), Some(segs(&["a b", "c"])));
        for bad in [
            "a/b",
            "/%2e%2e/x",
            "/a%2fb",
            "/a%5cb",
            "/a%00",
            "/%zz",
            "/%4",
        ] {
            assert_eq!(decode_segments(bad), None, "{bad}");
        }
    }

    #[test]
    fn normalized_resolves_dots_and_backslashes() {
        assert_eq!(normalized("/x/../cgi-bin/./a"), segs(&["cgi-bin", "a"]));
        assert_eq!(normalized("/..%2f..%5ccgi-bin"), segs(&["cgi-bin"]));
    }

    #[test]
    fn strip_dir_skips_empty_and_dot_segments_before_the_dir() {
        let path = segs(&["", ".", "cgi-bin", "a.sh", "x"]);
        assert_eq!(strip_dir(&path, &segs(&["cgi-bin"])), Some(&path[3..]));
        assert_eq!(strip_dir(&path, &segs(&["htbin"])), None);
        assert_eq!(url_path(&segs(&["cgi-bin", "a"])), b"/cgi-bin/a");
    }
}
