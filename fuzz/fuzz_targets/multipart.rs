//! Feeds arbitrary `multipart/form-data` bodies (and boundaries) to the multipart extractor.
//!
//! Beyond "never panics": the fields read (names, file names, content types, data) and the
//! status of any rejection do not depend on how the body is split into pieces as it arrives;
//! no field is longer than the field limit or than the body itself; and going past a limit is
//! answered `413`.

#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use server::Body;
use web::extract::multipart::{Limits, Multipart, Upload};

/// Small limits, so that short inputs reach the `413` paths and the spill to disk.
const LIMITS: Limits = Limits {
    whole: 2048,
    field: 512,
    spill: 64,
};

/// One field as read: name, file name, content type, data.
type Field = (Option<String>, Option<String>, Option<String>, Vec<u8>);

/// The fields read, then the status of the rejection that ended the body, if any.
type Read = (Vec<Field>, Option<u16>);

fuzz_target!(|data: &[u8]| {
    let Some((&[mode, a, b], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    // The first line is the boundary parameter, the rest the body.
    let (boundary, body) = match rest.iter().position(|&c| c == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&b"XyZ"[..], rest),
    };
    let content_type = format!(
        "multipart/form-data; boundary={}",
        String::from_utf8_lossy(boundary)
    );
    let n = body.len() + 1;
    let (a, b) = (usize::from(a) % n, usize::from(b) % n);
    let cuts = [a.min(b), a.max(b)];
    let save = mode & 1 == 1;
    let whole = read(&content_type, body, &[], save);
    let pieces = read(&content_type, body, &cuts, save);
    assert_eq!(whole, pieces, "split at {cuts:?}");
    let Some((fields, rejected)) = whole else {
        return;
    };
    for (_, _, _, field) in &fields {
        assert!(field.len() as u64 <= LIMITS.field && field.len() <= body.len());
    }
    if let Some(status) = rejected {
        assert!(status == 400 || status == 413, "{status}");
    }
});

/// Reads every field of `body` delivered in pieces ending at `cuts`; `None` if the boundary
/// was refused.
fn read(content_type: &str, body: &[u8], cuts: &[usize], save: bool) -> Option<Read> {
    let mut pieces = Vec::new();
    let mut from = 0;
    for &end in cuts.iter().chain(std::iter::once(&body.len())) {
        pieces.push(Ok(Bytes::copy_from_slice(&body[from..end])));
        from = end;
    }
    let body = Body::from_stream(futures_util::stream::iter(pieces), None);
    let mut form = Multipart::new(body, content_type, LIMITS).ok()?;
    Some(runtime().block_on(async move {
        let mut fields = Vec::new();
        loop {
            let field = match form.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => return (fields, None),
                Err(e) => return (fields, Some(e.status().as_u16())),
            };
            let name = field.name().map(str::to_owned);
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type();
            let data = if save {
                field.save().await.map(|up| match up {
                    Upload::Memory(bytes) => bytes.to_vec(),
                    Upload::Disk { file, .. } => std::fs::read(file.path()).expect("spill file"),
                })
            } else {
                field.bytes().await.map(|b| b.to_vec())
            };
            match data {
                Ok(data) => fields.push((name, file_name, content_type, data)),
                Err(e) => return (fields, Some(e.status().as_u16())),
            }
        }
    }))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}
