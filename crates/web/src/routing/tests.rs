//! Router and extractor tests without a socket: requests are built from raw heads and the
//! router is called directly.

use bytes::Bytes;
use http1::{Headers, Method};
use server::{Body, Request, Response, ResponseBody, Service};

use super::*;
use crate::extract::{Form, Json, Path, Query, State};
use crate::response::Redirect;

fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn request(raw: &str, body: &[u8]) -> Request {
    let raw = format!("{raw} HTTP/1.1\r\nHost: t\r\n\r\n");
    Request::from_raw_head(raw.as_bytes(), Body::full(Bytes::copy_from_slice(body)))
        .expect("valid head")
}

fn with_type(raw: &str, content_type: &str, body: &[u8]) -> Request {
    let mut req = request(raw, body);
    req.head.headers.append(
        http1::header::CONTENT_TYPE,
        http1::HeaderValue::from_str(content_type).expect("valid"),
    );
    req
}

fn call<S: Service>(app: &S, req: Request) -> Response {
    run(app.call(req))
}

fn text(r: &Response) -> String {
    match &r.body {
        ResponseBody::Full(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Note {
    title: String,
    stars: u8,
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "home" }))
        .route(
            "/items",
            get(|| async { "list" }).post(|| async { (StatusCode::CREATED, "made") }),
        )
        .route("/items/new", get(|| async { "form" }))
        .route(
            "/items/{id}",
            get(|Path(id): Path<u32>| async move { format!("item {id}") }),
        )
        .route(
            "/files/{*rest}",
            get(|Path(rest): Path<String>| async move { format!("file {rest}") }),
        )
        .route(
            "/echo",
            any(|m: Method, body: String| async move { format!("{m} {body}") }),
        )
        .route(
            "/search",
            get(
                |Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    q.get("q").cloned().unwrap_or_default()
                },
            ),
        )
        .route("/json", post(|Json(n): Json<Note>| async move { Json(n) }))
        .route(
            "/form",
            post(|Form(n): Form<Note>| async move { format!("{} {}", n.title, n.stars) }),
        )
        .route("/go", post(|| async { Redirect::to("/") }))
}

#[test]
fn routes_by_path_and_specificity() {
    let app = app();
    assert_eq!(text(&call(&app, request("GET /", b""))), "home");
    assert_eq!(text(&call(&app, request("GET /items/new", b""))), "form");
    assert_eq!(text(&call(&app, request("GET /items/7", b""))), "item 7");
    assert_eq!(
        text(&call(&app, request("GET /files/a/b.txt", b""))),
        "file a/b.txt"
    );
    assert_eq!(
        call(&app, request("GET /nope", b"")).status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&app, request("GET /items/7/x", b"")).status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn a_route_written_as_the_exact_path_beats_a_wildcard_that_also_matches_it() {
    let app = Router::new()
        .route(
            "/{*rest}",
            get(|Path(rest): Path<String>| async move { format!("rest {rest}") }),
        )
        .route("/", get(|| async { "root" }))
        .route("/a/b", get(|| async { "exact" }))
        .route("/a/{x}", get(|| async { "param" }));
    assert_eq!(text(&call(&app, request("GET /", b""))), "root");
    assert_eq!(text(&call(&app, request("GET /a/b", b""))), "exact");
    assert_eq!(text(&call(&app, request("GET /a/c", b""))), "param");
    assert_eq!(text(&call(&app, request("GET /a/b/c", b""))), "rest a/b/c");
    // Percent-encoded, the same path still reaches the static route.
    assert_eq!(text(&call(&app, request("GET /a/%62", b""))), "exact");
}

#[test]
fn methods_head_405_501_options() {
    let app = app();
    assert_eq!(
        call(&app, request("POST /items", b"")).status,
        StatusCode::CREATED
    );
    assert_eq!(text(&call(&app, request("HEAD /items", b""))), "list");
    let r = call(&app, request("DELETE /items", b""));
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers.get_str("allow"), Some("GET, HEAD, POST, OPTIONS"));
    let r = call(&app, request("OPTIONS /items", b""));
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    for m in ["PURGE", "MKCOLA", "LINK", "get"] {
        assert_eq!(
            call(&app, request(&format!("{m} /items"), b"")).status,
            StatusCode::NOT_IMPLEMENTED,
            "{m}"
        );
        assert_eq!(
            call(&app, request(&format!("{m} /nope"), b"")).status,
            StatusCode::NOT_IMPLEMENTED,
            "{m}"
        );
    }
    // `any` takes every method, even unregistered ones.
    assert_eq!(text(&call(&app, request("PURGE /echo", b"x"))), "PURGE x");
}

#[test]
fn path_rejections() {
    let app = app();
    let r = call(&app, request("GET /items/abc", b""));
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(text(&r).contains("`id`"), "{}", text(&r));
    assert_eq!(
        call(&app, request("GET /files/%FF", b"")).status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn query_json_form() {
    let app = app();
    assert_eq!(
        text(&call(&app, request("GET /search?q=a+b%21", b""))),
        "a b!"
    );
    let ok = with_type(
        "POST /json",
        "application/json",
        br#"{"title":"t","stars":3}"#,
    );
    assert_eq!(text(&call(&app, ok)), r#"{"title":"t","stars":3}"#);
    let wrong_type = with_type("POST /json", "text/plain", b"{}");
    assert_eq!(
        call(&app, wrong_type).status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let broken = with_type("POST /json", "application/json", b"{\"title\":");
    assert_eq!(call(&app, broken).status, StatusCode::BAD_REQUEST);
    let shape = with_type(
        "POST /json",
        "application/json",
        br#"{"title":"t","stars":"many"}"#,
    );
    assert_eq!(call(&app, shape).status, StatusCode::UNPROCESSABLE_ENTITY);
    let form = with_type(
        "POST /form",
        "application/x-www-form-urlencoded",
        b"title=hi+there&stars=5",
    );
    assert_eq!(text(&call(&app, form)), "hi there 5");
    let bad = with_type(
        "POST /form",
        "application/x-www-form-urlencoded",
        b"title=hi&stars=999",
    );
    assert_eq!(call(&app, bad).status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_utf8 = with_type(
        "POST /form",
        "application/x-www-form-urlencoded",
        b"title=%C3&stars=1",
    );
    assert_eq!(call(&app, bad_utf8).status, StatusCode::BAD_REQUEST);
    let r = call(&app, request("POST /go", b""));
    assert_eq!(
        (r.status, r.headers.get_str("location")),
        (StatusCode::SEE_OTHER, Some("/"))
    );
}

#[test]
fn state_and_fallback() {
    #[derive(Clone)]
    struct Name(&'static str);
    let app = Router::new()
        .route("/", get(|State(n): State<Name>| async move { n.0 }))
        .fallback(|| async { (StatusCode::NOT_FOUND, "custom") })
        .with_state(Name("sockserve"));
    assert_eq!(text(&call(&app, request("GET /", b""))), "sockserve");
    let r = call(&app, request("GET /x", b""));
    assert_eq!(
        (r.status, text(&r)),
        (StatusCode::NOT_FOUND, "custom".to_string())
    );
}

#[test]
fn nesting_strips_the_prefix() {
    let inner = |req: Request| async move {
        let original = req
            .extensions
            .get::<OriginalTarget>()
            .map(|o| o.target.clone())
            .unwrap_or_default();
        Response::text(
            StatusCode::OK,
            format!("{} from {original}", req.head.target.as_str()),
        )
    };
    let api = Router::new().route("/messages", get(|| async { "messages" }));
    let app = Router::new()
        .nest_service("/cgi-bin", inner)
        .nest("/api", api);
    assert_eq!(
        text(&call(&app, request("GET /cgi-bin/x.py?a=1", b""))),
        "/x.py?a=1 from /cgi-bin/x.py?a=1"
    );
    assert_eq!(
        text(&call(&app, request("GET /cgi-bin", b""))),
        "/ from /cgi-bin"
    );
    assert_eq!(
        call(&app, request("GET /cgi-binx", b"")).status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        text(&call(&app, request("GET /api/messages", b""))),
        "messages"
    );
}

/// A nested router's fallback answers what its routes do not, under its prefix only (axum 0.8).
#[test]
fn a_nested_routers_fallback_answers_under_its_prefix() {
    let api = Router::new()
        .route("/items/{id}", get(|| async { "item" }))
        .fallback(|req: Request| async move {
            (StatusCode::NOT_FOUND, format!("api has no {}", req.path()))
        });
    let v2 = Router::new()
        .route("/x", get(|| async { "v2 x" }))
        .fallback(|| async { (StatusCode::GONE, "v2 fallback") });
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .nest("/api", api.nest("/v2", v2))
        .fallback(|| async { (StatusCode::NOT_FOUND, "site fallback") });
    let answer = |raw: &str| {
        let r = call(&app, request(raw, b""));
        (r.status, text(&r))
    };
    let not_found = StatusCode::NOT_FOUND;
    assert_eq!(answer("GET /api/items/1"), (StatusCode::OK, "item".into()));
    assert_eq!(
        answer("GET /api/nothing?q=1"),
        (not_found, "api has no /api/nothing".into())
    );
    assert_eq!(answer("GET /api"), (not_found, "api has no /api".into()));
    assert_eq!(
        answer("GET /api/items/1/more"),
        (not_found, "api has no /api/items/1/more".into())
    );
    assert_eq!(answer("GET /api/v2/x"), (StatusCode::OK, "v2 x".into()));
    assert_eq!(
        answer("GET /api/v2/y"),
        (StatusCode::GONE, "v2 fallback".into())
    );
    assert_eq!(answer("GET /apix"), (not_found, "site fallback".into()));
    assert_eq!(answer("GET /other"), (not_found, "site fallback".into()));
    // A matched path with another method is the route's 405, not the fallback.
    assert_eq!(
        answer("POST /api/items/1").0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    // An unknown method under the prefix is 501, as outside it.
    assert_eq!(answer("BREW /api/nothing").0, StatusCode::NOT_IMPLEMENTED);
}

/// Without a fallback of its own a nested router's unmatched paths reach the parent's; an outer
/// `layer` wraps the nested fallback too, and nesting two fallbacks at one prefix panics.
#[test]
fn nested_fallbacks_with_layers_state_and_conflicts() {
    use crate::middleware::{Next, from_fn};
    async fn tag(req: Request, next: Next) -> Response {
        let mut r = next.run(req).await;
        r.headers.append(
            http1::HeaderName::from_static("x-layer"),
            http1::HeaderValue::from_static("outer"),
        );
        r
    }
    #[derive(Clone)]
    struct Name(&'static str);
    let api = Router::<Name>::new()
        .route("/a", get(|| async { "a" }))
        .fallback(|State(n): State<Name>| async move { (StatusCode::NOT_FOUND, n.0) });
    let plain = Router::<Name>::new().route("/b", get(|| async { "b" }));
    let app = Router::new()
        .nest("/api", api)
        .nest("/plain", plain)
        .layer(from_fn(tag))
        .fallback(|| async { (StatusCode::NOT_FOUND, "site") })
        .with_state(Name("api state"));
    let r = call(&app, request("GET /api/zzz", b""));
    assert_eq!(text(&r), "api state");
    assert_eq!(r.headers.get_str("x-layer"), Some("outer"));
    assert_eq!(text(&call(&app, request("GET /plain/zzz", b""))), "site");

    let twice = panic_message(|| {
        let with_fallback = || Router::<()>::new().fallback(|| async { "f" });
        let _ = Router::new()
            .nest("/api", with_fallback())
            .merge(Router::new().nest("/api", with_fallback()));
    });
    assert!(twice.contains("both have a fallback"), "{twice}");
}

#[test]
fn headers_extractor_keeps_order() {
    let app = Router::new().route(
        "/",
        get(|h: Headers| async move {
            h.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(",")
        }),
    );
    let raw = b"GET / HTTP/1.1\r\nHost: t\r\nX-B: 1\r\nX-A: 2\r\n\r\n";
    let req = Request::from_raw_head(raw, Body::empty()).expect("valid");
    assert_eq!(text(&call(&app, req)), "host,x-b,x-a");
}

fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let err = std::panic::catch_unwind(f).expect_err("should panic");
    err.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn route_table_mistakes_panic_with_a_fix() {
    let m = panic_message(|| {
        let _: Router = Router::new()
            .route("/a/{x}", get(|| async { "" }))
            .route("/a/{y}", get(|| async { "" }));
    });
    assert!(m.contains("conflicts"), "{m}");
    let m = panic_message(|| {
        let _: Router = Router::new()
            .route("/a", get(|| async { "" }))
            .route("/a", get(|| async { "" }));
    });
    assert!(m.contains("routed twice"), "{m}");
    let m = panic_message(|| {
        let _: Router = Router::new().route("a", get(|| async { "" }));
    });
    assert!(m.contains("start with `/`"), "{m}");
    // Two routes for one path with different methods merge.
    let app: Router = Router::new()
        .route("/a", get(|| async { "g" }))
        .route("/a", post(|| async { "p" }));
    assert_eq!(text(&call(&app, request("POST /a", b""))), "p");
}

#[test]
fn middleware_catches_panics_and_times_out() {
    use crate::middleware::ServiceExt;
    let app = Router::new()
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("kaboom");
                }
                "unreachable"
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route(
            "/big",
            get(|| async { crate::Html("<p>compress me</p>".repeat(50)) }),
        )
        .timeout(std::time::Duration::from_millis(50))
        .compressed()
        .traced()
        .catch_panics();
    let r = call(&app, request("GET /boom", b""));
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!text(&r).contains("kaboom"));
    assert_eq!(
        call(&app, request("GET /slow", b"")).status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let mut req = request("GET /big", b"");
    req.head.headers.append(
        http1::header::ACCEPT_ENCODING,
        http1::HeaderValue::from_static("gzip"),
    );
    let r = call(&app, req);
    assert_eq!(r.headers.get_str("content-encoding"), Some("gzip"));
    let ResponseBody::Full(body) = &r.body else {
        panic!("full body")
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)
        .expect("gunzip");
    assert_eq!(out, "<p>compress me</p>".repeat(50));
}

#[test]
fn bodies_streams_and_limits() {
    use crate::extract::{MAX_TEXT_BODY, Text};
    use crate::response::StreamBody;
    let app = Router::new()
        .route(
            "/bytes",
            post(|b: Bytes| async move { format!("{} bytes", b.len()) }),
        )
        .route("/short", post(|Text(t): Text<4>| async move { t }))
        .route(
            "/stream",
            get(|| async {
                let pieces = ["a", "b", "c"].map(|p| Ok(Bytes::from_static(p.as_bytes())));
                StreamBody::new("text/plain", futures_util::stream::iter(pieces))
            }),
        )
        .route(
            "/optional",
            get(
                |q: Option<Query<std::collections::HashMap<String, u8>>>| async move {
                    if q.is_some() { "parsed" } else { "none" }
                },
            ),
        );
    assert_eq!(
        text(&call(&app, request("POST /bytes", b"12345"))),
        "5 bytes"
    );
    let too_big = vec![b'x'; MAX_TEXT_BODY + 1];
    assert_eq!(
        call(&app, request("POST /bytes", &too_big)).status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(text(&call(&app, request("POST /short", b"abcd"))), "abcd");
    assert_eq!(
        call(&app, request("POST /short", b"abcde")).status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        call(&app, request("POST /short", b"\xff")).status,
        StatusCode::BAD_REQUEST
    );
    let r = call(&app, request("GET /stream", b""));
    let ResponseBody::Stream { stream, len: None } = r.body else {
        panic!("a chunked stream")
    };
    let collected: Vec<Bytes> = run(futures_util::StreamExt::collect::<Vec<_>>(stream))
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("pieces");
    assert_eq!(collected.concat(), b"abc");
    assert_eq!(
        text(&call(&app, request("GET /optional?a=1", b""))),
        "parsed"
    );
    assert_eq!(text(&call(&app, request("GET /optional?a=x", b""))), "none");
}

#[test]
fn multipart_through_the_router() {
    use crate::extract::Multipart;
    async fn upload(mut form: Multipart) -> Result<String, crate::Rejection> {
        let mut out = Vec::new();
        while let Some(field) = form.next_field().await? {
            let name = field.name().unwrap_or("").to_string();
            out.push(format!("{name}={}", field.save().await?.len()));
        }
        Ok(out.join(","))
    }
    let app = Router::new().route("/upload", post(upload));
    let body = b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nxyz\r\n\
                 --b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\n\r\nhello\r\n--b--\r\n";
    let ok = with_type("POST /upload", "multipart/form-data; boundary=b", body);
    assert_eq!(text(&call(&app, ok)), "a=3,f=5");
    let wrong = with_type("POST /upload", "application/json", body);
    assert_eq!(call(&app, wrong).status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = with_type(
        "POST /upload",
        "multipart/form-data; boundary=b",
        b"--b\r\nnot a part",
    );
    assert_eq!(call(&app, broken).status, StatusCode::BAD_REQUEST);
}
