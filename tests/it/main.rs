//! Integration tests: the real `sockserve` binary on 127.0.0.1:0, driven over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;
#[path = "../../crates/acme/tests/pebble/harness.rs"]
mod pebble;

mod access_archive;
mod access_auth;
mod access_upload;
mod cgi;
mod cgi_hardening;
mod cli_flags;
mod cli_tcp;
mod client;
mod client_tls_python;
mod config_access;
mod config_acme;
mod config_check;
mod config_flags;
mod config_run;
mod config_setups;
mod config_tls;
mod core_conn;
mod files_hardening;
mod foundation;
mod h2_dos;
mod h2_prior_knowledge;
mod h2_tls;
mod live_guestbook;
mod live_ws;
mod live_ws_h2;
mod ops_access_log;
mod ops_activation;
mod ops_lifecycle;
mod ops_load;
mod ops_logs;
mod ops_metrics;
mod ops_reload;
mod pg_cluster;
mod pg_sessions;
mod pg_site;
mod rules_shared;
mod serve;
mod site;
mod site_hardening;
mod tcp;
mod templates_escape;
mod tls_acme;
mod tls_files;
mod tls_serve;
mod walls;
mod web_keepalive;
mod web_session;
mod web_timeout;
