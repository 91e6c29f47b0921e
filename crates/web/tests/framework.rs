//! The framework as an application sees it, through the in-process `TestClient`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use web::cookies::{Cookie, Key, key_from_secret};
use web::middleware::{BodyLimit, Cors, RequestId, ServiceExt, SetRequestId};
use web::rejection::RejectionHandler;
use web::routing::{get, post};
use web::session::{MemoryStore, SqliteStore};
use web::{
    CookieJar, CsrfLayer, CsrfToken, Extension, Form, FromRef, Json, Next, Path, Query, Request,
    Response, Router, Session, SessionLayer, SignedCookieJar, State, StatusCode, TestClient,
    from_fn,
};

#[derive(Deserialize, Serialize)]
struct Login {
    user: String,
    csrf_token: String,
}

fn login_app(layer: SessionLayer) -> Router {
    Router::new()
        .route(
            "/form",
            get(|token: CsrfToken| async move { token.as_str().to_string() }),
        )
        .route(
            "/login",
            post(|s: Session, Form(f): Form<Login>| async move {
                s.cycle_id();
                s.insert("user", &f.user)?;
                Ok::<_, web::InternalError>("welcome")
            }),
        )
        .route(
            "/me",
            get(|s: Session| async move { s.get::<String>("user").unwrap_or_default() }),
        )
        .route(
            "/logout",
            post(|s: Session| async move {
                s.flush();
                "bye"
            }),
        )
        .layer(CsrfLayer::new())
        .layer(layer)
}

async fn login_flow(client: &TestClient<Router>) {
    let token = client.get("/form").await.text();
    let first_id = client.cookie("session").expect("a session for the token");

    let no_token = client.post("/login").form(&[("user", "alice")]).await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let wrong = Login {
        user: "alice".into(),
        csrf_token: "nope".into(),
    };
    assert_eq!(
        client.post("/login").form(&wrong).await.status(),
        StatusCode::FORBIDDEN
    );
    let cross = Login {
        user: "alice".into(),
        csrf_token: token.clone(),
    };
    let res = client
        .post("/login")
        .header("sec-fetch-site", "cross-site")
        .form(&cross)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = client.post("/login").form(&cross).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text());
    assert_ne!(
        client.cookie("session"),
        Some(first_id),
        "login rotates the id"
    );
    assert_eq!(client.get("/me").await.text(), "alice");

    // Scripts send the token in a header.
    let res = client.post("/logout").header("x-csrf-token", &token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(client.cookie("session"), None);
    assert_eq!(client.get("/me").await.text(), "");
}

#[tokio::test]
async fn session_login_with_csrf_in_memory_and_sqlite() {
    let key = Key::generate();
    let memory = TestClient::new(login_app(SessionLayer::new(
        MemoryStore::new(),
        key.clone(),
    )));
    login_flow(&memory).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("sessions.db")).expect("open");
    let sqlite = TestClient::new(login_app(SessionLayer::new(store, key)));
    login_flow(&sqlite).await;
}

#[tokio::test]
async fn idle_expiry_ends_a_session() {
    let layer = SessionLayer::new(MemoryStore::new(), Key::generate())
        .with_idle_timeout(Duration::from_secs(1));
    let client = TestClient::new(login_app(layer));
    let token = client.get("/form").await.text();
    assert!(!token.is_empty());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let login = Login {
        user: "x".into(),
        csrf_token: token,
    };
    // The session (and its token) expired: the form must be loaded again.
    assert_eq!(
        client.post("/login").form(&login).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[derive(Clone)]
struct AppState {
    key: Key,
    greeting: &'static str,
}

impl FromRef<AppState> for Key {
    fn from_ref(s: &AppState) -> Key {
        s.key.clone()
    }
}

#[tokio::test]
async fn plain_and_signed_cookies_with_a_key_from_state() {
    let state = AppState {
        key: key_from_secret(&[42; 32]).expect("key"),
        greeting: "hello",
    };
    let app = Router::new()
        .route(
            "/set",
            get(|jar: CookieJar, signed: SignedCookieJar| async move {
                (
                    jar.add(Cookie::new("theme", "dark")),
                    signed.add(Cookie::new("user", "alice")),
                    "set",
                )
            }),
        )
        .route(
            "/get",
            get(
                |jar: CookieJar, signed: SignedCookieJar, State(g): State<&'static str>| async move {
                    let user = signed.get("user").map(|c| c.value().to_string());
                    format!(
                        "{g} {} {}",
                        jar.get("theme").map_or("-", |c| c.value()),
                        user.unwrap_or_default()
                    )
                },
            ),
        )
        .with_state(state);
    let client = TestClient::new(app);
    let res = client.get("/set").await;
    let set: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        set.iter()
            .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax"))
    );
    assert_eq!(client.get("/get").await.text(), "hello dark alice");
}

impl FromRef<AppState> for &'static str {
    fn from_ref(s: &AppState) -> &'static str {
        s.greeting
    }
}

#[derive(Clone)]
struct User(String);

async fn auth(mut req: Request, next: Next) -> Response {
    match req.headers().get_str("x-user").map(str::to_string) {
        Some(name) => {
            req.extensions.insert(User(name));
            next.run(req).await
        }
        None => web::IntoResponse::into_response(StatusCode::UNAUTHORIZED),
    }
}

#[tokio::test]
async fn from_fn_route_layer_groups_and_extensions() {
    let admin = Router::new()
        .route(
            "/admin",
            get(|Extension(User(name)): Extension<User>| async move { format!("hi {name}") }),
        )
        .route_layer(from_fn(auth));
    let app = Router::new()
        .route("/public", get(|| async { "open" }))
        .merge(admin)
        .layer(SetRequestId)
        .fallback(|| async { (StatusCode::NOT_FOUND, "nothing here") });
    let client = TestClient::new(app);
    assert_eq!(client.get("/public").await.text(), "open");
    assert_eq!(
        client.get("/admin").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = client.get("/admin").header("x-user", "ann").await;
    assert_eq!(res.text(), "hi ann");
    assert_eq!(res.header("x-request-id").map(str::len), Some(22));
    let res = client.get("/public").header("x-request-id", "abc-1").await;
    assert_eq!(res.header("x-request-id"), Some("abc-1"));
    assert_eq!(client.get("/nope").await.text(), "nothing here");

    let app = Router::new().route("/id", get(|RequestId(id): RequestId| async move { id }));
    let client = TestClient::new(app.layer(SetRequestId));
    let res = client.get("/id").await;
    assert_eq!(Some(res.text().as_str()), res.header("x-request-id"));
}

#[derive(Deserialize, Serialize)]
struct Item {
    title: String,
    done: bool,
}

#[tokio::test]
async fn json_rejections_name_the_field_and_body_limits_are_per_router() {
    let app = Router::new()
        .route("/items", post(|Json(i): Json<Item>| async move { Json(i) }))
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move { id.to_string() }),
        )
        .layer(BodyLimit(64))
        .layer(RejectionHandler::json());
    let client = TestClient::new(app);
    let res = client
        .post("/items")
        .json(&serde_json::json!({"done": true}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = res.json();
    assert_eq!(body["field"], "title");
    assert_eq!(body["status"], 422);
    let res = client.get("/items/abc").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.header("content-type")
            .is_some_and(|c| c.contains("json"))
    );
    let big = Item {
        title: "x".repeat(100),
        done: false,
    };
    let res = client.post("/items").json(&big).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let ok = Item {
        title: "milk".into(),
        done: false,
    };
    assert_eq!(
        client
            .post("/items")
            .json(&ok)
            .await
            .json::<serde_json::Value>()["title"],
        "milk"
    );
}

#[tokio::test]
async fn cors_preflight_and_simple_requests() {
    let app = Router::new()
        .route("/api", get(|| async { "[]" }))
        .layer(Cors::new().allow_origin("https://app.test"));
    let client = TestClient::new(app);
    let res = client
        .request(web::Method::OPTIONS, "/api")
        .header("origin", "https://app.test")
        .header("access-control-request-method", "PUT")
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.test")
    );
    assert!(
        res.header("access-control-allow-methods")
            .is_some_and(|m| m.contains("PUT"))
    );
    let res = client
        .get("/api")
        .header("origin", "https://evil.test")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.header("access-control-allow-origin"), None);
}

#[derive(Clone)]
struct Admin {
    name: &'static str,
}

#[derive(Clone)]
struct Whole {
    admin: Admin,
}

impl FromRef<Whole> for Admin {
    fn from_ref(w: &Whole) -> Admin {
        w.admin.clone()
    }
}

#[tokio::test]
async fn nested_substate_many_extractors_and_timers() {
    let admin: Router<Admin> =
        Router::new().route("/who", get(|State(a): State<Admin>| async move { a.name }));
    #[allow(clippy::too_many_arguments)]
    async fn many(
        _a: web::Method,
        _b: web::Headers,
        _c: Query<std::collections::HashMap<String, String>>,
        _d: web::ConnInfo,
        _e: CookieJar,
        _f: web::Method,
        _g: web::Headers,
        _h: web::Method,
        _i: web::Headers,
        _j: web::Method,
        _k: web::Headers,
        _l: web::Method,
        _m: web::Headers,
        _n: web::Method,
        _o: web::Headers,
        body: String,
    ) -> String {
        body
    }
    let app = Router::new()
        .route("/many", post(many))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                "done"
            }),
        )
        .nest_substate("/admin", admin)
        .with_state(Whole {
            admin: Admin { name: "root" },
        })
        .timeout(Duration::from_secs(5));
    let client = TestClient::new(app);
    assert_eq!(client.get("/admin/who").await.text(), "root");
    assert_eq!(client.post("/many").body("sixteen").await.text(), "sixteen");
    assert_eq!(client.get("/slow").await.text(), "done");
}

#[test]
#[should_panic(expected = "write `{id}`")]
fn old_route_syntax_panics_with_a_hint() {
    let _: Router = Router::new().route("/users/:id", get(|| async { "" }));
}
