//! Integration tests: tcp.
