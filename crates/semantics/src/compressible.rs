//! Which media types are worth compressing.

/// Types outside `text/*`, `*+xml` and `*+json` that are text-like or otherwise uncompressed.
/// Images, audio, video, archives and woff/woff2 fonts are already compressed and would only
/// grow.
const COMPRESSIBLE: [&str; 11] = [
    "application/json",
    "application/javascript",
    "application/xml",
    "application/wasm",
    "application/x-sh",
    "application/rtf",
    "application/x-tar",
    "font/ttf",
    "font/otf",
    "image/bmp",
    "image/x-icon",
];

/// Whether a `Content-Type` names a compressible type. Parameters are ignored and media types
/// compare case-insensitively (RFC 9110 8.3.1).
pub fn is_compressible(content_type: impl AsRef<[u8]>) -> bool {
    let content_type = content_type.as_ref().trim_ascii_start();
    let starts = |essence: &[u8], prefix: &str| {
        essence
            .get(..prefix.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    // The commonest answer first, before the parameters are looked for.
    if starts(content_type, "text/") {
        return true;
    }
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii_end();
    let ends = |suffix: &str| {
        essence
            .len()
            .checked_sub(suffix.len())
            .is_some_and(|i| essence[i..].eq_ignore_ascii_case(suffix.as_bytes()))
    };
    ends("+xml")
        || ends("+json")
        || essence.eq_ignore_ascii_case(b"image/vnd.microsoft.icon")
        || COMPRESSIBLE
            .iter()
            .any(|t| essence.eq_ignore_ascii_case(t.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_like_types_compress() {
        for yes in [
            "text/html; charset=utf-8",
            "Text/HTML",
            "text/css",
            "application/json",
            "APPLICATION/JSON; charset=utf-8",
            "application/javascript",
            "image/svg+xml",
            "application/manifest+json",
            "application/wasm",
            "application/x-tar",
            "font/ttf",
            "image/vnd.microsoft.icon",
        ] {
            assert!(is_compressible(yes), "{yes}");
        }
    }

    #[test]
    fn compressed_types_do_not() {
        for no in [
            "image/png",
            "image/jpeg",
            "application/gzip",
            "application/zip",
            "application/octet-stream",
            "font/woff2",
            "video/mp4",
            "",
            "xml",
        ] {
            assert!(!is_compressible(no), "{no}");
        }
    }
}
