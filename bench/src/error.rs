//! The harness's one error type: a message for the person running it.
//!
//! A benchmark run either goes on without the failing piece (a peer or a workload is reported as
//! unavailable with this message) or stops with it; no caller branches on the kind, so a message
//! is all it carries.

use std::fmt;

/// Something the harness could not do, said in words.
#[derive(Debug)]
pub struct BenchError(String);

impl BenchError {
    pub fn new(msg: impl Into<String>) -> BenchError {
        BenchError(msg.into())
    }

    /// Prefixes the message with what was being attempted.
    pub fn context(self, what: impl fmt::Display) -> BenchError {
        BenchError(format!("{what}: {}", self.0))
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BenchError {}

impl From<std::io::Error> for BenchError {
    fn from(e: std::io::Error) -> BenchError {
        BenchError(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, BenchError>;
