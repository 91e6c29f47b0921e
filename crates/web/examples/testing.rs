//! Testing an application without a socket: `TestClient` sends requests straight to the
//! router, keeps the cookies it is given as a browser would, and reads JSON and text.
//!
//! ```text
//! cargo run -p sockserve-web --example testing
//! ```
//!
//! In a real project the checks below live in `#[tokio::test]` functions; here `main` runs
//! them so that the example shows its output.

use web::cookies::Key;
use web::routing::get;
use web::session::MemoryStore;
use web::{Json, Router, Session, SessionLayer, StatusCode, TestClient};

#[derive(serde::Deserialize, serde::Serialize)]
struct Note {
    text: String,
}

/// A tiny app: notes kept in the visitor's session.
fn app() -> Router {
    Router::new()
        .route(
            "/notes",
            get(
                |s: Session| async move { Json(s.get::<Vec<String>>("notes").unwrap_or_default()) },
            )
            .post(|s: Session, Json(note): Json<Note>| async move {
                let mut notes = s.get::<Vec<String>>("notes").unwrap_or_default();
                notes.push(note.text);
                match s.insert("notes", &notes) {
                    Ok(()) => (StatusCode::CREATED, Json(notes)),
                    Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, Json(Vec::new())),
                }
            }),
        )
        .layer(SessionLayer::new(MemoryStore::new(), Key::generate()))
}

/// The checks a test suite would make; each returns what it saw.
pub async fn checks() -> Result<Vec<String>, String> {
    let mut seen = Vec::new();
    let client = TestClient::new(app());

    let res = client.get("/notes").await;
    expect(res.status() == StatusCode::OK, "GET /notes is 200")?;
    expect(res.text() == "[]", "no notes at first")?;
    seen.push(format!(
        "GET /notes -> {} {}",
        res.status().as_u16(),
        res.text()
    ));

    let res = client
        .post("/notes")
        .json(&Note {
            text: "buy milk".into(),
        })
        .await;
    expect(res.status() == StatusCode::CREATED, "POST /notes is 201")?;
    expect(
        client.cookie("session").is_some(),
        "the session cookie is kept",
    )?;
    seen.push(format!(
        "POST /notes -> {} {}",
        res.status().as_u16(),
        res.text()
    ));

    let notes: Vec<String> = client.get("/notes").await.json();
    expect(notes == ["buy milk"], "the note is in the session")?;
    seen.push(format!("GET /notes -> {notes:?}"));

    let res = client.post("/notes").body("not json").await;
    expect(
        res.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "a body without Content-Type: application/json is 415",
    )?;
    seen.push(format!(
        "POST /notes (not JSON) -> {}",
        res.status().as_u16()
    ));

    client.clear_cookies();
    expect(
        client.get("/notes").await.text() == "[]",
        "a new browser has no notes",
    )?;
    seen.push("a new browser sees no notes".into());
    Ok(seen)
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("failed: {what}"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match checks().await {
        Ok(seen) => {
            for line in seen {
                println!("{line}");
            }
            println!("all checks passed");
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
