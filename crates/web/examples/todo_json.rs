//! A JSON API over SQLite: create, list, read, update and delete to-dos, with every
//! extractor error answered as JSON that names the field at fault.
//!
//! ```text
//! cargo run -p sockserve-web --example todo_json [PORT] [DB]
//! curl -s localhost:3000/todos -H 'content-type: application/json' -d '{"title":"milk"}'
//! curl -s localhost:3000/todos
//! curl -s -X PUT localhost:3000/todos/1 -H 'content-type: application/json' -d '{"title":"milk","done":true}'
//! curl -s -X DELETE localhost:3000/todos/1
//! ```

use std::net::SocketAddr;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, OptionalExtension, params};
use server::{HttpConfig, RuntimeConfig, Server};
use web::middleware::{BodyLimit, ServiceExt};
use web::rejection::RejectionHandler;
use web::routing::get;
use web::{InternalError, IntoResponse, Json, Path, Response, Router, Service, State, StatusCode};

/// Longest title accepted.
const MAX_TITLE: usize = 200;

/// The database, shared by every worker (SQLite serializes writers anyway).
#[derive(Clone)]
pub struct Db(Arc<Mutex<Connection>>);

impl Db {
    /// Opens (or creates) the database and its table.
    pub fn open(path: &FsPath) -> rusqlite::Result<Db> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS todos (
                id INTEGER PRIMARY KEY, title TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0)",
        )?;
        Ok(Db(Arc::new(Mutex::new(conn))))
    }

    /// Runs `f` with the connection on tokio's blocking pool.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, InternalError> {
        let conn = self.0.clone();
        let result = tokio::task::spawn_blocking(move || {
            f(&conn.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await?;
        Ok(result?)
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
pub struct Todo {
    pub id: i64,
    pub title: String,
    pub done: bool,
}

#[derive(serde::Deserialize)]
pub struct NewTodo {
    pub title: String,
    #[serde(default)]
    pub done: bool,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: r.get(0)?,
        title: r.get(1)?,
        done: r.get(2)?,
    })
}

/// `422` with a JSON body like the extractors' own, for a title that is empty or too long.
fn invalid_title() -> Response {
    let body = serde_json::json!({
        "error": format!("the title must have 1 to {MAX_TITLE} characters"),
        "status": 422,
        "field": "title",
    });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn valid(t: &NewTodo) -> bool {
    !t.title.trim().is_empty() && t.title.chars().count() <= MAX_TITLE
}

async fn list(State(db): State<Db>) -> Result<Json<Vec<Todo>>, InternalError> {
    let todos = db
        .run(|c| {
            let mut st = c.prepare("SELECT id, title, done FROM todos ORDER BY id")?;
            st.query_map([], row)?.collect()
        })
        .await?;
    Ok(Json(todos))
}

async fn create(State(db): State<Db>, Json(new): Json<NewTodo>) -> Result<Response, InternalError> {
    if !valid(&new) {
        return Ok(invalid_title());
    }
    let todo = db
        .run(move |c| {
            c.execute(
                "INSERT INTO todos (title, done) VALUES (?1, ?2)",
                params![new.title, new.done],
            )?;
            Ok(Todo {
                id: c.last_insert_rowid(),
                title: new.title,
                done: new.done,
            })
        })
        .await?;
    let location = format!("/todos/{}", todo.id);
    Ok((StatusCode::CREATED, [("location", location)], Json(todo)).into_response())
}

async fn read(State(db): State<Db>, Path(id): Path<i64>) -> Result<Response, InternalError> {
    let todo = db
        .run(move |c| {
            c.query_row("SELECT id, title, done FROM todos WHERE id = ?1", [id], row)
                .optional()
        })
        .await?;
    Ok(match todo {
        Some(t) => Json(t).into_response(),
        None => not_found(),
    })
}

async fn update(
    State(db): State<Db>,
    Path(id): Path<i64>,
    Json(new): Json<NewTodo>,
) -> Result<Response, InternalError> {
    if !valid(&new) {
        return Ok(invalid_title());
    }
    let changed = db
        .run(move |c| {
            c.execute(
                "UPDATE todos SET title = ?1, done = ?2 WHERE id = ?3",
                params![new.title, new.done, id],
            )
        })
        .await?;
    if changed == 0 {
        return Ok(not_found());
    }
    read(State(db), Path(id)).await
}

async fn delete(State(db): State<Db>, Path(id): Path<i64>) -> Result<Response, InternalError> {
    let gone = db
        .run(move |c| c.execute("DELETE FROM todos WHERE id = ?1", [id]))
        .await?;
    Ok(if gone == 0 {
        not_found()
    } else {
        StatusCode::NO_CONTENT.into_response()
    })
}

fn not_found() -> Response {
    let body = serde_json::json!({"error": "no such to-do", "status": 404});
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// The API: JSON in, JSON out, JSON errors.
pub fn app(db: Db) -> impl Service {
    Router::new()
        .route("/todos", get(list).post(create))
        .route("/todos/{id}", get(read).put(update).delete(delete))
        .fallback(|| async { not_found() })
        .layer(BodyLimit(16 * 1024))
        .layer(RejectionHandler::json())
        .with_state(db)
        .catch_panics()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let db = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("todos.db"));
    let mut server = Server::new(RuntimeConfig::default());
    let addr = server.http(
        SocketAddr::from(([127, 0, 0, 1], port)),
        app(Db::open(&db)?),
        HttpConfig::default(),
    )?;
    println!("Listening on http://{addr}/todos");
    server.run()?;
    Ok(())
}
