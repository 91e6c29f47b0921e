//! Feeds arbitrary bytes to the request-head parser, whole and split in two.
//!
//! Beyond "never panics", it checks the parser's contract: it never claims more bytes than it
//! was given, and a prefix of the input is either incomplete or gives the same answer as the
//! whole (so a request cannot change meaning with how it was split across reads), and taking the
//! head off a buffer gives the same head as parsing it from a slice.

#![no_main]

use bytes::BytesMut;
use http1::{Limits, parse_request_head, take_request_head};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits reach the 414/431 paths with short inputs as well.
    let small = Limits {
        max_request_line: 64,
        max_head_size: 256,
        max_headers: 8,
        max_body_size: 1000,
    };
    for limits in [Limits::default(), small] {
        let whole = parse_request_head(data, &limits);
        if let Ok(Some((head, used))) = &whole {
            assert!(*used <= data.len());
            // Every accessor of a parsed head must work on whatever was accepted.
            let _ = (
                head.host(),
                head.content_length(),
                head.target.path_and_query(),
            );
            let _ = (
                head.target.path(),
                head.target.query(),
                head.target.authority(),
            );
        }
        let mut buf = BytesMut::from(data);
        match (take_request_head(&mut buf, &limits), &whole) {
            (Ok(Some(taken)), Ok(Some((head, used)))) => {
                assert_eq!(&taken, head);
                assert_eq!(buf.len(), data.len() - used);
            }
            (Ok(None), Ok(None)) => assert_eq!(buf.len(), data.len()),
            (Err(a), Err(b)) => assert_eq!(&a, b),
            (taken, whole) => panic!("take {taken:?} but parse {whole:?}"),
        }
        let cut = data
            .first()
            .map_or(0, |&b| usize::from(b) % (data.len() + 1));
        match parse_request_head(&data[..cut], &limits) {
            Ok(None) => {}
            Ok(Some((_, used))) => {
                assert!(matches!(&whole, Ok(Some((_, n))) if *n == used));
            }
            Err(e) => assert_eq!(whole.as_ref().err(), Some(&e)),
        }
    }
});
