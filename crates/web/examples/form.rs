//! A small form app: a to-do list kept in memory, a URL-encoded form with validation and
//! post/redirect/get, a JSON view, and a multipart file upload.
//!
//! ```text
//! cargo run -p sockserve-web --example form [PORT]
//! open http://127.0.0.1:3000/
//! ```

use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use server::{HttpConfig, RuntimeConfig, Server};
use web::extract::Multipart;
use web::html::Escaped;
use web::middleware::ServiceExt;
use web::routing::{get, post};
use web::{
    Form, Html, IntoResponse, Json, Redirect, Rejection, Response, Router, State, StatusCode,
};

/// The app's state: the list, shared by every worker thread.
#[derive(Clone, Default)]
struct Todos(Arc<Mutex<Vec<String>>>);

impl Todos {
    fn items(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[derive(serde::Deserialize)]
struct NewTodo {
    title: String,
}

fn page(items: &[String], error: Option<&str>) -> String {
    let mut out = String::from("<!DOCTYPE html><title>To do</title><h1>To do</h1>\n");
    if let Some(e) = error {
        let _ = writeln!(out, "<p style=\"color:red\">{}</p>", Escaped(e));
    }
    out.push_str(
        "<form method=post action=/todos><input name=title maxlength=100 autofocus> <button>Add</button></form>\n<ul>\n",
    );
    for item in items {
        let _ = writeln!(out, "<li>{}</li>", Escaped(item));
    }
    out.push_str(
        "</ul>\n<h2>Upload a file</h2>\n<form method=post action=/upload enctype=multipart/form-data>\
         <input type=file name=file> <button>Upload</button></form>\n<p><a href=/todos.json>As JSON</a></p>\n",
    );
    out
}

async fn index(State(todos): State<Todos>) -> Html<String> {
    Html(page(&todos.items(), None))
}

/// A bad form gets the page back with a message and a 4xx status; a good one, a 303.
async fn add(State(todos): State<Todos>, form: Result<Form<NewTodo>, Rejection>) -> Response {
    let title = match form {
        Ok(Form(t)) => t.title.trim().to_string(),
        Err(rejection) => {
            let status = rejection.status();
            return (
                status,
                Html(page(&todos.items(), Some(&rejection.to_string()))),
            )
                .into_response();
        }
    };
    if title.is_empty() || title.chars().count() > 100 {
        let html = page(&todos.items(), Some("Write between 1 and 100 characters."));
        return (StatusCode::UNPROCESSABLE_ENTITY, Html(html)).into_response();
    }
    todos
        .0
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(title);
    Redirect::to("/").into_response()
}

async fn as_json(State(todos): State<Todos>) -> Json<Vec<String>> {
    Json(todos.items())
}

/// Reads each field as it streams in; large files go to a temporary file, not memory.
async fn upload(mut form: Multipart) -> Result<String, Rejection> {
    let mut report = String::new();
    while let Some(field) = form.next_field().await? {
        let name = field.name().unwrap_or("(unnamed)").to_string();
        let file = field.file_name().map(str::to_string);
        let saved = field.save().await?;
        let _ = writeln!(
            report,
            "{name} ({}): {} bytes",
            file.as_deref().unwrap_or("-"),
            saved.len()
        );
    }
    Ok(report)
}

/// The application.
pub fn app() -> impl web::Service {
    Router::new()
        .route("/", get(index))
        .route("/todos", post(add))
        .route("/todos.json", get(as_json))
        .route("/upload", post(upload))
        .with_state(Todos::default())
        .timeout(Duration::from_secs(30))
        .compressed()
        .catch_panics()
}

fn main() -> std::io::Result<()> {
    let port = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let mut server = Server::new(RuntimeConfig::default());
    let addr = server.http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        app(),
        HttpConfig::default(),
    )?;
    println!("Listening on http://{addr}/");
    server.run()
}
