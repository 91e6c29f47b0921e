//! Integration tests: the real `sockserve` binary on 127.0.0.1:0, driven over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod cgi;
mod client;
mod files_hardening;
mod foundation;
mod serve;
mod site;
mod tcp;
