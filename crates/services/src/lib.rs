//! The small plain-TCP/UDP services of sockserve, run on the server's runtime like any listener:
//! no HTTP in them, one connection or datagram at a time.
//!
//! # Layout
//! - [`reply`]: the tutorial's TCP server: print what each client sends and answer each message.
//! - [`daytime`]: RFC 867, the date and time as one line, over TCP and UDP.

pub mod daytime;
pub mod reply;
