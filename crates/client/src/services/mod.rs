//! The small services the raw clients talk to, run on the server's runtime like any listener.
//!
//! - [`reply`]: the tutorial's TCP server: read what a client sends, answer, close.
//! - [`daytime`]: RFC 867, the date and time as one line, over TCP and UDP.

pub mod daytime;
pub mod reply;
