//! The session layer over a router, without a socket.

use std::time::Duration;

use super::*;
use crate::cookies::Key;
use crate::routing::{get, post};
use crate::{Body, InternalError, Request, Response, Router, Service};

fn app(store: MemoryStore, key: Key) -> Router {
    Router::new()
        .route(
            "/",
            get(|s: Session| async move { s.get::<String>("user").unwrap_or_default() }),
        )
        .route(
            "/login",
            post(|s: Session| async move {
                s.cycle_id();
                s.insert("user", "alice")?;
                Ok::<_, InternalError>("in")
            }),
        )
        .route(
            "/logout",
            post(|s: Session| async move {
                s.flush();
                "out"
            }),
        )
        .layer(SessionLayer::new(store, key).with_idle_timeout(Duration::from_secs(600)))
}

fn request(method: &str, path: &str, cookie: Option<&str>) -> Request {
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let raw = format!("{method} {path} HTTP/1.1\r\nHost: a\r\n{cookie}\r\n");
    Request::from_raw_head(raw.as_bytes(), Body::empty()).expect("valid head")
}

fn set_cookie(res: &Response) -> Option<String> {
    res.headers.get_str("set-cookie").map(str::to_string)
}

fn text(res: &Response) -> String {
    match &res.body {
        server::ResponseBody::Full(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn login_rotates_the_id_and_logout_ends_the_session() {
    let store = MemoryStore::new();
    let key = Key::generate();
    let app = app(store.clone(), key.clone());

    let res = app.call(request("GET", "/", None)).await;
    assert_eq!(
        set_cookie(&res),
        None,
        "no session until a value is written"
    );
    assert!(store.is_empty());

    let res = app.call(request("POST", "/login", None)).await;
    let first = set_cookie(&res).expect("a session cookie");
    assert!(first.contains("HttpOnly") && first.contains("SameSite=Lax"));
    assert!(first.contains("Max-Age=600"), "{first}");
    let pair = first.split(';').next().expect("pair").to_string();
    assert_eq!(
        text(&app.call(request("GET", "/", Some(&pair))).await),
        "alice"
    );

    // A second login gives another id and forgets the first.
    let res = app.call(request("POST", "/login", Some(&pair))).await;
    let second = set_cookie(&res).expect("a new cookie");
    let pair2 = second.split(';').next().expect("pair").to_string();
    assert_ne!(pair, pair2);
    assert_eq!(store.len(), 1);
    assert_eq!(text(&app.call(request("GET", "/", Some(&pair))).await), "");

    // A forged cookie (the id without its signature) finds nothing.
    let id = pair2.split_once('=').expect("pair").1;
    let forged = format!("session={}", &id[id.len() - 22..]);
    assert_eq!(
        text(&app.call(request("GET", "/", Some(&forged))).await),
        ""
    );

    let res = app.call(request("POST", "/logout", Some(&pair2))).await;
    assert!(set_cookie(&res).expect("removal").contains("Max-Age=0"));
    assert!(store.is_empty());
}

#[tokio::test]
async fn expired_sessions_are_gone() {
    let store = MemoryStore::new();
    let key = Key::generate();
    let now = super::now();
    let record = Record {
        id: "old".into(),
        data: [("user".to_string(), serde_json::json!("bob"))].into(),
        created: now - 100,
        expires: now - 1,
    };
    store.save(&record).await.expect("save");
    let mut jar = cookie::CookieJar::new();
    jar.signed_mut(&key).add(("session", "old"));
    let cookie = jar.get("session").expect("signed").encoded().to_string();
    let app = app(store, key);
    let res = app.call(request("GET", "/", Some(&cookie))).await;
    assert_eq!(text(&res), "");
    assert!(set_cookie(&res).expect("removal").contains("Max-Age=0"));
}

#[tokio::test]
async fn a_handler_without_the_layer_is_a_server_error() {
    let app: Router = Router::new().route("/", get(|_s: Session| async { "x" }));
    let res = app.call(request("GET", "/", None)).await;
    assert_eq!(res.status, http1::StatusCode::INTERNAL_SERVER_ERROR);
}
