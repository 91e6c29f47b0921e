//! Integration tests: the real `sockserve` binary on 127.0.0.1:0, driven over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod cgi;
mod cgi_hardening;
mod cli_flags;
mod cli_tcp;
mod client;
mod client_tls_python;
mod core_conn;
mod files_hardening;
mod foundation;
mod h2_prior_knowledge;
mod ops_access_log;
mod ops_lifecycle;
mod rules_shared;
mod serve;
mod site;
mod site_hardening;
mod tcp;
mod tls_serve;
mod walls;
mod web_session;
