//! Sessions and CSRF protection in a real browser: the framework's `session_login` example,
//! served by the real server on 127.0.0.1:0, driven by headless Chromium.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use server::{HttpConfig, RuntimeConfig, Server, ShutdownHandle};

use crate::site::browser::{Driver, start_driver};

#[allow(dead_code)]
#[path = "../../crates/web/examples/session_login.rs"]
mod session_login;

/// A server on a free port, stopped when dropped.
struct Serving {
    addr: SocketAddr,
    shutdown: ShutdownHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.shutdown.shutdown();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(app: impl server::Service) -> Serving {
    let mut server = Server::new(RuntimeConfig {
        threads: 1,
        grace: Duration::from_secs(1),
        ..RuntimeConfig::default()
    });
    let addr = server
        .http(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            app,
            HttpConfig::default(),
        )
        .expect("bind");
    let shutdown = server.shutdown_handle();
    let thread = std::thread::spawn(move || server.run().expect("server runs"));
    Serving {
        addr,
        shutdown,
        thread: Some(thread),
    }
}

fn body_text(d: &Driver) -> String {
    d.script("return document.body.innerText")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn type_into(d: &Driver, css: &str, text: &str) {
    let el = d.element(css);
    d.cmd(
        "POST",
        &format!("/element/{el}/value"),
        Some(json!({ "text": text })),
    );
}

fn click(d: &Driver, css: &str) {
    let el = d.element(css);
    d.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
}

#[test]
fn chromium_logs_in_keeps_the_session_and_refuses_a_cross_site_post() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = web::session::SqliteStore::open(dir.path().join("s.db")).expect("store");
    let key = web::cookies::key_from_secret(&[5; 48]).expect("key");
    let site = serve(session_login::app(store, key));
    // Another origin (another port) with a page that posts to the site's logout form.
    let target = format!("http://{}/logout", site.addr);
    let evil_page = format!(
        r#"<!DOCTYPE html><title>evil</title><form id="f" method="post" action="{target}"><input name="csrf_token" value="guess"></form><script>document.getElementById('f').submit()</script>"#
    );
    let evil = serve(web::Router::new().route(
        "/",
        web::routing::get(move || {
            let page = evil_page.clone();
            async move { web::Html(page) }
        }),
    ));

    let driver = start_driver();
    let url = format!("http://{}/", site.addr);
    driver.go(&url);
    type_into(&driver, "#name", "alice");
    type_into(&driver, "#password", "wonderland");
    click(&driver, "#login");
    driver.wait_for("the greeting", |d| body_text(d).contains("Hello, alice!"));
    assert_eq!(
        driver.script("return document.cookie"),
        "",
        "the session cookie is HttpOnly"
    );
    driver.go(&url);
    driver.wait_for("the second visit", |d| {
        body_text(d).contains("visited 2 pages")
    });

    // The forged post from the other origin is refused, and the session survives it.
    driver.go(&format!("http://{}/", evil.addr));
    driver.wait_for("the refusal", |d| body_text(d).contains("cross-site"));
    driver.go(&url);
    driver.wait_for("still logged in", |d| {
        body_text(d).contains("Hello, alice!")
    });

    click(&driver, "#logout");
    driver.wait_for("the login form", |d| body_text(d).contains("Log in"));
    assert!(!body_text(&driver).contains("Hello"));
}
