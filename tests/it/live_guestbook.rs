//! The live guestbook: sessions that remember a name and own messages, deleting one's own,
//! CSRF on the forms, `/guestbook/live` as a stream read by curl, and two Chromium windows
//! that see each other's posts and deletes without a reload.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Running, get, have, request};
use crate::site::browser::start_driver;
use crate::site::{FormSession, api_total, fresh_db, start};

/// Posts a message in `session`; the response.
fn post(server: &Running, session: &FormSession, name: &str, message: &str) -> u16 {
    let body = format!("name={name}&message={message}");
    request(
        server.addr,
        "POST",
        "/guestbook",
        &session.headers(),
        body.as_bytes(),
    )
    .status
}

/// `POST /guestbook/{id}/delete` in `session`, with or without its CSRF token.
fn delete(server: &Running, session: &FormSession, id: i64, with_token: bool) -> u16 {
    let headers = session.headers();
    let headers = if with_token {
        &headers[..]
    } else {
        &headers[..2]
    };
    request(
        server.addr,
        "POST",
        &format!("/guestbook/{id}/delete"),
        headers,
        b"",
    )
    .status
}

/// The page as `session` sees it.
fn page(server: &Running, session: &FormSession) -> String {
    request(
        server.addr,
        "GET",
        "/guestbook",
        &[("Cookie", &session.cookie)],
        b"",
    )
    .text()
}

fn newest_id(server: &Running) -> i64 {
    let r = get(server.addr, "/api/messages");
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    v["messages"][0]["id"].as_i64().expect("an id")
}

#[test]
fn the_session_remembers_the_name_and_only_the_poster_may_delete() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let (ann, bob) = (FormSession::new(&server), FormSession::new(&server));
    assert_ne!(ann.cookie, bob.cookie);
    assert_eq!(post(&server, &ann, "Ann", "mine+to+delete"), 303);
    let id = newest_id(&server);

    // The name comes back in Ann's form, not in Bob's; only Ann gets a delete button.
    let ann_page = page(&server, &ann);
    assert!(
        ann_page.contains(r#"name="name" required maxlength="64" value="Ann""#)
            || ann_page.contains(r#"value="Ann""#),
        "{ann_page}"
    );
    assert!(
        ann_page.contains(&format!("/guestbook/{id}/delete")),
        "{ann_page}"
    );
    let bob_page = page(&server, &bob);
    assert!(!bob_page.contains(r#"value="Ann""#), "{bob_page}");
    assert!(!bob_page.contains(r#"class="delete""#), "{bob_page}");

    // Without the token, or from someone else's session, nothing is deleted.
    assert_eq!(delete(&server, &ann, id, false), 403);
    assert_eq!(delete(&server, &bob, id, true), 404);
    let anonymous = request(
        server.addr,
        "POST",
        &format!("/guestbook/{id}/delete"),
        &[],
        b"",
    );
    assert_eq!(anonymous.status, 403);
    assert_eq!(api_total(&server), 1);
    // A post from another site is refused even with the right cookie and token.
    let mut cross = session_headers(&ann);
    cross.push(("Sec-Fetch-Site", "cross-site"));
    let forged = request(
        server.addr,
        "POST",
        "/guestbook",
        &cross,
        b"name=X&message=forged",
    );
    assert_eq!(forged.status, 403);

    assert_eq!(delete(&server, &ann, id, true), 303);
    assert_eq!(api_total(&server), 0);
    assert_eq!(delete(&server, &ann, id, true), 404);
    // The JSON API is not a form: it needs no session (a cross-site JSON post needs CORS).
    let api = request(
        server.addr,
        "POST",
        "/api/messages",
        &[("Content-Type", "application/json")],
        br#"{"name":"api","message":"still open"}"#,
    );
    assert_eq!(api.status, 201);
}

fn session_headers(s: &FormSession) -> Vec<(&str, &str)> {
    s.headers().to_vec()
}

/// Reads lines from a child's stdout on a thread, so the test can wait with a deadline.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits up to `limit` for a line containing `needle`; the lines seen on the way.
fn wait_line(rx: &mpsc::Receiver<String>, needle: &str, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let found = line.contains(needle);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(_) => panic!("no line with {needle:?} within {limit:?}; saw {seen:?}"),
        }
    }
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn curl_streams_posts_and_deletes_from_the_live_events_as_they_happen() {
    assert!(have("curl"), "curl is missing: scripts/test installs it");
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let mut child = Command::new("curl")
        .args(["-sS", "-N", "-i", &server.url("/guestbook/live")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("curl");
    let rx = lines_of(&mut child);
    let _curl = Killed(child);
    let head = wait_line(&rx, ": guestbook", Duration::from_secs(10));
    let head = head.join("\n").to_ascii_lowercase();
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("cache-control: no-cache"), "{head}");
    assert!(head.contains("retry: 2000"), "{head}");

    let ann = FormSession::new(&server);
    let posted = Instant::now();
    assert_eq!(post(&server, &ann, "Ann", "two%0Alines"), 303);
    let seen = wait_line(&rx, "event: posted", Duration::from_secs(2));
    let data = wait_line(&rx, "data: ", Duration::from_secs(1));
    assert!(
        posted.elapsed() < Duration::from_secs(1),
        "{:?}",
        posted.elapsed()
    );
    let json: serde_json::Value =
        serde_json::from_str(data.last().expect("data").trim_start_matches("data: "))
            .expect("json");
    assert_eq!(json["name"], "Ann", "{seen:?}");
    assert_eq!(json["message"], "two\nlines");
    // The stream's session is not Ann's: the message is not offered for deleting.
    assert_eq!(json["mine"], false);
    let id = json["id"].as_i64().expect("id");

    assert_eq!(delete(&server, &ann, id, true), 303);
    wait_line(&rx, "event: deleted", Duration::from_secs(2));
    wait_line(&rx, &format!("data: {id}"), Duration::from_secs(1));
}

/// What window B posts.
const TEXT: &str = "Live from window B <i>not italic</i>";

#[test]
fn chromium_windows_see_each_others_posts_and_deletes_live() {
    let (_dir, db) = fresh_db();
    let server = start(&db);
    let driver = start_driver();
    let live = |d: &crate::site::browser::Driver| {
        d.script("return document.body.dataset.live || ''") == "open"
    };
    driver.go(&server.url("/guestbook"));
    driver.wait_for("window A's live stream", live);
    let a = driver.cmd("GET", "/window", None);
    // Window A notes, by the browser's clock, when the message appears: the second is measured
    // in the browser, without the WebDriver round trips of the test's polling.
    driver.script(&format!(
        r#"window.seenAt = 0;
        new MutationObserver(() => {{
            if (!window.seenAt && document.getElementById("messages").innerText.includes({text:?}))
                window.seenAt = Date.now();
        }}).observe(document.getElementById("messages"), {{childList: true, subtree: true}});
        return true;"#,
        text = TEXT
    ));
    let b = driver.cmd("POST", "/window/new", Some(json!({"type": "window"})))["handle"].clone();
    driver.cmd("POST", "/window", Some(json!({"handle": b})));
    driver.go(&server.url("/guestbook"));
    driver.wait_for("window B's live stream", live);

    // B signs the guestbook with its form.
    let text = TEXT;
    let name = driver.element("#name");
    driver.cmd(
        "POST",
        &format!("/element/{name}/value"),
        Some(json!({"text": "Bea"})),
    );
    let message = driver.element("#message");
    driver.cmd(
        "POST",
        &format!("/element/{message}/value"),
        Some(json!({"text": text})),
    );
    let button = driver.element("#sign button[type=submit]");
    let clicked_at = driver.script("return Date.now()").as_u64().expect("a time");
    driver.cmd("POST", &format!("/element/{button}/click"), Some(json!({})));

    // A shows it without a reload, within a second.
    driver.cmd("POST", "/window", Some(json!({"handle": a})));
    let shown = |d: &crate::site::browser::Driver| {
        d.script("return document.getElementById('messages').innerText")
            .as_str()
            .is_some_and(|t| t.contains(text))
    };
    driver.wait_for("the message in window A", shown);
    let seen_at = driver
        .script("return window.seenAt")
        .as_u64()
        .expect("a time");
    assert!(
        seen_at.saturating_sub(clicked_at) < 1000,
        "took {} ms",
        seen_at.saturating_sub(clicked_at)
    );
    assert_eq!(
        driver.script("return document.querySelectorAll('#messages i').length"),
        0,
        "inserted as text"
    );
    assert_eq!(
        driver.script("return document.getElementById('count').textContent"),
        "1 message so far."
    );
    // Same browser, same session: the message is A's own too, so A can delete it.
    let delete = driver.element("#messages form.delete button");
    driver.cmd("POST", &format!("/element/{delete}/click"), Some(json!({})));
    driver.wait_for("the deletion in window A", |d| {
        d.script("return document.querySelectorAll('#messages article').length") == 0
    });

    // B, which posted it, sees it go without a reload (its page is still the one it loaded
    // after posting: the article is removed by the event).
    driver.cmd("POST", "/window", Some(json!({"handle": b})));
    driver.wait_for("the deletion in window B", |d| {
        d.script("return document.querySelectorAll('#messages article').length") == 0
            && d.script("return document.body.dataset.live || ''") == "open"
    });
    assert_eq!(api_total(&server), 0);
}
