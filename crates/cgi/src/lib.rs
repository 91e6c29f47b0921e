//! CGI/1.1 (RFC 3875) for sockserve: run a script per request and stream both ways.
//!
//! [`Cgi::handle`] finds the script a URL names, gives it the RFC's meta-variables and only
//! those, streams the request body to its stdin while reading its stdout, parses the header
//! block strictly, and streams the rest to the client. A script that runs too long, or whose
//! client goes away, or whose request body ends early, is killed with its whole process group,
//! and every script is reaped. [`kill_all_scripts`] kills every group still running, for a
//! process about to exit at once.
//!
//! A client that goes away is noticed when the server next writes to it: a script that stays
//! silent runs until it writes or until its timeout, because a client that closed its socket
//! cannot be told from one that only half-closed it (as many HTTP/1.0-style clients do) until
//! something is sent.
//!
//! # Layout
//! - [`config`]: [`CgiConfig`], the validated settings, with their defaults.
//! - [`locate`]: URL path -> script file + `PATH_INFO`, refusing every way out of a script dir.
//! - `urlpath`: a URL path decoded into segments, as a pure function (no file system).
//! - [`env`]: the meta-variables, a pure function of the request.
//! - [`input`]: the request body on its way to stdin (chunked bodies spooled to learn their length).
//! - [`spawn`]: starting a script in its own process group; killing and reaping it; the registry
//!   of running groups behind [`kill_all_scripts`].
//! - [`output`]: the script's header block, parsed as a pure function over bytes.
//! - [`stream`]: stdout after the header block, as the response body.
//! - [`error`]: [`CgiError`], each variant mapped to one status.
//! - [`handler`]: [`Cgi`], tying them together, with local redirects and the concurrency limit.

pub mod config;
pub mod env;
pub mod error;
pub mod handler;
mod input;
pub mod locate;
pub mod output;
mod spawn;
mod stream;
mod urlpath;

pub use config::CgiConfig;
pub use error::CgiError;
pub use handler::Cgi;
pub use locate::Located;
pub use spawn::kill_all_scripts;

/// The walls this crate keeps, checked from its own sources: it is a plain library any server
/// could call (no framework, no site), and the modules that take bytes apart do no I/O.
#[cfg(test)]
mod walls {
    #[test]
    fn depends_on_neither_web_nor_app() {
        let manifest = include_str!("../Cargo.toml");
        for line in manifest.lines() {
            let name = line.split(['=', '.', ' ']).next().unwrap_or("");
            assert!(name != "web" && name != "app", "{line}");
        }
    }

    #[test]
    fn parsing_modules_do_no_io() {
        for (module, src) in [
            ("output", include_str!("output.rs")),
            ("env", include_str!("env.rs")),
            ("urlpath", include_str!("urlpath.rs")),
        ] {
            for io in ["tokio", "std::fs", "std::io", "std::process", "rustix"] {
                assert!(!src.contains(io), "{module} uses {io}");
            }
        }
    }
}
