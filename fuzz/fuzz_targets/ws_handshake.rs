//! Feeds arbitrary request fields to the WebSocket opening handshake's checks (RFC 6455 4.2.1:
//! `Upgrade`, `Connection`, `Sec-WebSocket-Version`, `-Key`, `-Protocol`, `-Extensions`) and to
//! permessage-deflate's negotiation (RFC 7692 5).
//!
//! Beyond "never panics": a refusal is `400`, `405` or `426`; an agreed permessage-deflate,
//! written in the response and offered again, agrees the same; an accept key is 28 characters
//! of base64 (a SHA-1).

#![no_main]

use libfuzzer_sys::fuzz_target;
use server::{Body, Request};
use web::IntoResponse;
use web::extract::Parts;
use web::ws::fuzzing::{accept_key, check_handshake, negotiate};

/// The fields a good handshake has, each left out when its bit in the first byte is set.
const GOOD: [&str; 5] = [
    "Host: a\r\n",
    "Upgrade: websocket\r\n",
    "Connection: Upgrade\r\n",
    "Sec-WebSocket-Version: 13\r\n",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, fields)) = data.split_first() else {
        return;
    };
    if let Ok(text) = std::str::from_utf8(fields) {
        agrees_again(text.split('\n'));
        let key = accept_key(text);
        assert_eq!(key.len(), 28, "{key}");
    }
    let method = if mode & 0x80 != 0 { "POST" } else { "GET" };
    let mut head = format!("{method} /ws HTTP/1.1\r\n").into_bytes();
    for (i, field) in GOOD.iter().enumerate() {
        if mode & (1 << i) == 0 {
            head.extend_from_slice(field.as_bytes());
        }
    }
    head.extend_from_slice(fields);
    head.extend_from_slice(b"\r\n\r\n");
    let Ok(req) = Request::from_raw_head(&head, Body::empty()) else {
        return;
    };
    let extensions: Vec<String> = req
        .head
        .headers
        .get_all("sec-websocket-extensions")
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    agrees_again(extensions.iter().map(String::as_str));
    let (mut parts, _body) = Parts::split(req);
    // No connection to switch here: every handshake is refused, at the latest for that.
    let refused = check_handshake(&mut parts).map(|_| ()).expect_err("no OnUpgrade");
    let status = refused.into_response().status.as_u16();
    assert!(matches!(status, 400 | 405 | 426), "{status}");
});

/// What permessage-deflate agrees from `offers`, answered and offered again, agrees the same.
fn agrees_again<'a>(offers: impl IntoIterator<Item = &'a str>) {
    if let Some(agreed) = negotiate(offers) {
        let answer = agreed.response_header();
        assert_eq!(negotiate([answer.as_str()]), Some(agreed), "{answer}");
    }
}
