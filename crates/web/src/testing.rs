//! An in-process client for tests: requests go straight to the service, no socket, and the
//! cookies it sets come back on the next request, as a browser's would.
//!
//! ```
//! use web::testing::TestClient;
//! use web::{Json, Router, StatusCode, routing::{get, post}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app: Router = Router::new()
//!     .route("/", get(|| async { "hi" }))
//!     .route("/echo", post(|Json(v): Json<serde_json::Value>| async move { Json(v) }));
//! let client = TestClient::new(app);
//!
//! let res = client.get("/").await;
//! assert_eq!(res.status(), StatusCode::OK);
//! assert_eq!(res.text(), "hi");
//!
//! let res = client.post("/echo").json(&serde_json::json!({"a": 1})).await;
//! assert_eq!(res.json::<serde_json::Value>()["a"], 1);
//! # }
//! ```
//!
//! Use it from `#[tokio::test]`, or any executor: the framework's own timer keeps the
//! deadlines of layers such as `timeout`, so none needs a tokio runtime with a timer.

use std::future::IntoFuture;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt;
use http1::{HeaderValue, Headers, Method, StatusCode};
use server::{Body, Request, Response, ResponseBody, Service};

use crate::BoxFuture;
use crate::cookies::Cookie;

/// Sends requests to a service in the same process, keeping its cookies.
pub struct TestClient<S> {
    service: Arc<S>,
    cookies: Arc<Mutex<cookie::CookieJar>>,
}

impl<S> std::fmt::Debug for TestClient<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient").finish_non_exhaustive()
    }
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),*) => {$(
        #[doc = concat!("A `", stringify!($method), "` request to `path` (with its query).")]
        pub fn $name(&self, path: &str) -> TestRequest<S> {
            self.request(Method::$method, path)
        }
    )*};
}

impl<S: Service> TestClient<S> {
    /// A client for `service` (a [`crate::Router`], or a router inside its middleware).
    pub fn new(service: S) -> TestClient<S> {
        TestClient {
            service: Arc::new(service),
            cookies: Arc::default(),
        }
    }

    method_fns!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE, head => HEAD);

    /// A request with any method.
    pub fn request(&self, method: Method, path: &str) -> TestRequest<S> {
        TestRequest {
            service: self.service.clone(),
            cookies: self.cookies.clone(),
            method,
            path: path.to_string(),
            headers: vec![("host".into(), "localhost".into())],
            body: Bytes::new(),
        }
    }

    /// The value of a cookie the client holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        lock(&self.cookies).get(name).map(|c| c.value().to_string())
    }

    /// Forgets every cookie (a new browser).
    pub fn clear_cookies(&self) {
        *lock(&self.cookies) = cookie::CookieJar::new();
    }
}

fn lock(jar: &Mutex<cookie::CookieJar>) -> std::sync::MutexGuard<'_, cookie::CookieJar> {
    jar.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A request being built; `.await` it to send it.
pub struct TestRequest<S> {
    service: Arc<S>,
    cookies: Arc<Mutex<cookie::CookieJar>>,
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl<S> std::fmt::Debug for TestRequest<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<S: Service> TestRequest<S> {
    /// Adds a header field (replacing `Host`, which defaults to `localhost`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if name.eq_ignore_ascii_case("host") {
            self.headers.retain(|(n, _)| n != "host");
        }
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// A raw body.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json<T: serde::Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_default();
        self.header("content-type", "application/json").body(body)
    }

    /// A URL-encoded form body, with its `Content-Type`.
    pub fn form<T: serde::Serialize>(self, value: &T) -> Self {
        let body = serde_urlencoded::to_string(value).unwrap_or_default();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// Sends the request and reads the whole response.
    pub async fn send(self) -> TestResponse {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.path);
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        let cookies: Vec<String> = lock(&self.cookies)
            .iter()
            .map(|c| Cookie::new(c.name(), c.value()).encoded().to_string())
            .collect();
        if !cookies.is_empty() {
            head.push_str(&format!("cookie: {}\r\n", cookies.join("; ")));
        }
        if !self.body.is_empty() {
            head.push_str(&format!("content-length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let body = if self.body.is_empty() {
            Body::empty()
        } else {
            Body::full(self.body)
        };
        let req = match Request::from_raw_head(head.as_bytes(), body) {
            Ok(req) => req,
            Err(e) => panic!("TestClient: not a valid request ({e}): {head:?}"),
        };
        let res = self.service.call(req).await;
        keep_cookies(&self.cookies, &res.headers);
        TestResponse::read(res).await
    }
}

impl<S: Service> IntoFuture for TestRequest<S> {
    type Output = TestResponse;
    type IntoFuture = BoxFuture<TestResponse>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}

/// Applies a response's `Set-Cookie` fields to the jar, as a browser does.
fn keep_cookies(jar: &Mutex<cookie::CookieJar>, headers: &Headers) {
    let mut jar = lock(jar);
    for value in headers.get_all("set-cookie") {
        let Ok(c) = value.to_str().map(|v| Cookie::parse_encoded(v.to_string())) else {
            continue;
        };
        let Ok(c) = c else { continue };
        let expired = c.max_age().is_some_and(|a| a.is_zero() || a.is_negative());
        if expired {
            jar.remove(Cookie::from(c.name().to_string()));
        } else {
            jar.add(c.into_owned());
        }
    }
}

/// A whole response.
#[derive(Debug)]
pub struct TestResponse {
    status: StatusCode,
    headers: Headers,
    body: Bytes,
}

impl TestResponse {
    async fn read(res: Response) -> TestResponse {
        let body = match res.body {
            ResponseBody::Empty => Bytes::new(),
            ResponseBody::Full(b) => b,
            ResponseBody::File(region) => read_region(region),
            ResponseBody::Stream { stream, .. } | ResponseBody::Raw(stream) => {
                collect(stream).await
            }
        };
        TestResponse {
            status: res.status,
            headers: res.headers,
            body,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get_str(name)
    }

    /// The body as bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON of type `T`.
    ///
    /// # Panics
    /// If it is not: this is a test's assertion, with the body in the message.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not the expected JSON ({e}): {}", self.text()))
    }

    /// Whether a header field is present.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains(name)
    }

    /// The value of a header as a `HeaderValue`.
    pub fn header_value(&self, name: &str) -> Option<&HeaderValue> {
        self.headers.get(name)
    }
}

fn read_region(region: server::FileRegion) -> Bytes {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = region.file;
    let mut buf = Vec::new();
    let read = file
        .seek(SeekFrom::Start(region.offset))
        .and_then(|_| file.take(region.len).read_to_end(&mut buf));
    if let Err(e) = read {
        panic!("TestClient: cannot read the response's file: {e}");
    }
    Bytes::from(buf)
}

async fn collect(mut stream: server::BoxStream) -> Bytes {
    let mut out = Vec::new();
    while let Some(piece) = stream.next().await {
        match piece {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(e) => panic!("TestClient: the response body failed: {e}"),
        }
    }
    Bytes::from(out)
}
