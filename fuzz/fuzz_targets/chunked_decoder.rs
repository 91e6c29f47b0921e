//! Feeds arbitrary bytes to the chunked body decoder, whole and split at two points.
//!
//! Beyond "never panics", the decoded body, the trailers and the bytes left after the body
//! must not depend on where the input was split, and the body never exceeds its limit.

#![no_main]

use bytes::BytesMut;
use http1::{BodyKind, Decoded, Decoder, Headers, ParseError};
use libfuzzer_sys::fuzz_target;

const MAX: u64 = 4096;

/// The body, the trailers and the rest of the buffer, or the error, or `None` if incomplete.
type Outcome = Result<Option<(Vec<u8>, Headers, Vec<u8>)>, ParseError>;

fn decode(input: &[u8], cuts: &[usize]) -> Outcome {
    let mut decoder = Decoder::new(BodyKind::Chunked, MAX);
    let mut buf = BytesMut::new();
    let mut body = Vec::new();
    let mut fed = 0;
    for &end in cuts.iter().chain(std::iter::once(&input.len())) {
        buf.extend_from_slice(&input[fed..end]);
        fed = end;
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(piece) => body.extend_from_slice(&piece),
                Decoded::NeedMore => break,
                Decoded::Done => {
                    let rest = [&buf[..], &input[fed..]].concat();
                    return Ok(Some((body, decoder.trailers().clone(), rest)));
                }
            }
            assert!(body.len() as u64 <= MAX);
        }
    }
    Ok(None)
}

fuzz_target!(|data: &[u8]| {
    let whole = decode(data, &[]);
    let (a, b) = match data {
        [x, y, ..] => (
            usize::from(*x) % (data.len() + 1),
            usize::from(*y) % (data.len() + 1),
        ),
        _ => (0, 0),
    };
    let split = decode(data, &[a.min(b), a.max(b)]);
    assert_eq!(whole, split);
});
