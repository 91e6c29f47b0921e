//! Keeping a handler's links right when it is mounted under a prefix: the handler answers as
//! if it were at `/`, and its absolute URLs are given the prefix on the way out.
//!
//! `Location` fields are rewritten for every handler (as nginx's `proxy_redirect` does). The
//! demo site's pages also carry absolute links (`href="/guestbook"`), which are rewritten in
//! the HTML (as nginx's `sub_filter` would be set up to do); the file listings take their
//! mount from `files::Config::mount` instead, so user files are never rewritten.

use bytes::Bytes;
use http::{HeaderValue, header};
use server::{Response, ResponseBody};

/// `Location: /x` is `/mount/x`; `//host/x` and absolute URLs are left alone.
pub fn relocate(r: &mut Response, mount: &str) {
    let Some(loc) = r.headers.get_str("location") else {
        return;
    };
    if !loc.starts_with('/') || loc.starts_with("//") {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{mount}{loc}")) {
        r.headers.insert(header::LOCATION, v);
    }
}

/// The attributes whose absolute paths are given the mount.
const ATTRIBUTES: [&str; 3] = ["href=\"/", "src=\"/", "action=\"/"];

/// Rewrites `href="/…"`, `src="/…"` and `action="/…"` of an HTML page held in memory to start
/// with `mount`. Protocol-relative `//host` links are left alone.
pub fn rewrite_html(r: &mut Response, mount: &str) {
    let html = r
        .headers
        .get_str("content-type")
        .is_some_and(|ct| ct.starts_with("text/html"));
    let ResponseBody::Full(body) = &r.body else {
        return;
    };
    if !html || r.headers.contains("content-encoding") {
        return;
    }
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let rewritten = rewrite(text, mount);
    r.headers.remove("etag");
    r.body = ResponseBody::Full(Bytes::from(rewritten));
}

fn rewrite(text: &str, mount: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    loop {
        let next = ATTRIBUTES
            .iter()
            .filter_map(|a| rest.find(a).map(|i| (i, a.len())))
            .min();
        let Some((i, len)) = next else {
            out.push_str(rest);
            return out;
        };
        // Up to and including the quote, then the mount, then the slash onwards.
        out.push_str(&rest[..i + len - 1]);
        if !rest[i + len..].starts_with('/') {
            out.push_str(mount);
        }
        rest = &rest[i + len - 1..];
        out.push('/');
        rest = &rest[1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_links_get_the_mount() {
        let page = r#"<a href="/">Home</a> <img src="/test.jpg"> <form action="/guestbook"> <a href="//cdn/x"> <a href="rel">"#;
        assert_eq!(
            rewrite(page, "/app"),
            r#"<a href="/app/">Home</a> <img src="/app/test.jpg"> <form action="/app/guestbook"> <a href="//cdn/x"> <a href="rel">"#
        );
    }
}
