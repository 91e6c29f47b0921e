//! The guestbook page, rendered into one string. Every value from a visitor is escaped.

use std::fmt::Write;

use chrono::{Datelike, Timelike};

use web::html::Escaped;

use super::store::Message;
use super::validate::{MAX_MESSAGE_CHARS, MAX_NAME_CHARS};

/// What the page shows besides the messages.
#[derive(Debug, Default)]
pub struct View<'a> {
    /// Messages of this page, newest first.
    pub messages: &'a [Message],
    /// This page, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
    /// How many messages there are.
    pub total: u64,
    /// A problem with the last post, shown above the form.
    pub error: Option<&'a str>,
    /// What the visitor typed, put back into the form after an error.
    pub name: &'a str,
    /// See `name`.
    pub message: &'a str,
    /// The session's CSRF token, sent back with every form.
    pub csrf: &'a str,
    /// The viewer's owner id: messages with it get a delete button.
    pub owner: Option<&'a str>,
}

const HEAD: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Guestbook</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; color: #1c2430; overflow-wrap: anywhere; }
form { display: grid; gap: .5rem; margin-bottom: 2rem; }
form.delete { display: block; margin: 0; }
input, textarea { font: inherit; padding: .4rem; box-sizing: border-box; max-width: 100%; }
.error { background: #fde8e8; border: 1px solid #e0a0a0; padding: .5rem; }
article { border-top: 1px solid #ddd; padding: .5rem 0; }
article p { white-space: pre-wrap; margin: .25rem 0; }
time { color: #667; font-size: .9em; }
nav a { margin-right: 1rem; }
</style>
</head>
<body>
<p><a href="/">Home</a></p>
<h1>Guestbook</h1>
"#;

/// Renders the whole page.
pub fn page(view: &View<'_>) -> String {
    let mut out = String::with_capacity(4096 + view.messages.len() * 256);
    out.push_str(HEAD);
    form(&mut out, view);
    let _ = writeln!(
        out,
        "<p id=\"count\" data-total=\"{}\">{} message{} so far.</p>",
        view.total,
        view.total,
        if view.total == 1 { "" } else { "s" }
    );
    out.push_str("<div id=\"messages\">\n");
    for m in view.messages {
        message(&mut out, m, view);
    }
    out.push_str("</div>\n");
    pagination(&mut out, view);
    // Only the first page shows the newest messages, so only it takes new ones live.
    if view.page <= 1 {
        out.push_str(LIVE_SCRIPT);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The page of one message, at `/guestbook/{id}`.
pub fn single(m: &Message) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str(HEAD);
    message(&mut out, m, &View::default());
    out.push_str("<p><a href=\"/guestbook\">All messages</a></p>\n</body>\n</html>\n");
    out
}

fn form(out: &mut String, view: &View<'_>) {
    if let Some(error) = view.error {
        let _ = writeln!(
            out,
            r#"<p class="error" role="alert">{}</p>"#,
            Escaped(error)
        );
    }
    let _ = write!(
        out,
        r#"<form method="post" action="/guestbook" id="sign">
<input type="hidden" name="csrf_token" value="{}">
<label for="name">Name</label>
<input id="name" name="name" required maxlength="{MAX_NAME_CHARS}" value="{}">
<label for="message">Message</label>
<textarea id="message" name="message" required maxlength="{MAX_MESSAGE_CHARS}" rows="4">{}</textarea>
<button type="submit">Sign the guestbook</button>
</form>
"#,
        Escaped(view.csrf),
        Escaped(view.name),
        Escaped(view.message),
    );
}

fn message(out: &mut String, m: &Message, view: &View<'_>) {
    let _ = write!(
        out,
        "<article id=\"m{id}\">\n<a href=\"/guestbook/{id}\"><strong>{}</strong></a> ",
        Escaped(&m.name),
        id = m.id,
    );
    if let Some((datetime, label)) = time_parts(m.created_at) {
        let _ = write!(out, "<time datetime=\"{datetime}\">{label}</time>");
    }
    let _ = write!(out, "\n<p>{}</p>\n", Escaped(&m.message));
    if view.owner.is_some() && m.owner.as_deref() == view.owner {
        let _ = writeln!(
            out,
            r#"<form method="post" action="/guestbook/{}/delete" class="delete"><input type="hidden" name="csrf_token" value="{}"><button type="submit">Delete</button></form>"#,
            m.id,
            Escaped(view.csrf)
        );
    }
    out.push_str("</article>\n");
}

/// A time as the page shows it: the machine-readable `datetime` and the label.
fn time_parts(created_at: i64) -> Option<(String, String)> {
    let t = chrono::DateTime::from_timestamp(created_at, 0)?;
    // Written field by field: parsing a strftime pattern per message showed up as the largest
    // cost of rendering the page.
    let (y, mo, d) = (t.year(), t.month(), t.day());
    let (h, mi, sec) = (t.hour(), t.minute(), t.second());
    Some((
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}Z"),
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC"),
    ))
}

/// The label of a time, for messages that arrive live.
pub fn time_label(created_at: i64) -> String {
    time_parts(created_at)
        .map(|(_, label)| label)
        .unwrap_or_default()
}

/// Listens to `/guestbook/live` and adds or removes messages as they happen; every value goes
/// into the page as text (`textContent`), never as HTML.
const LIVE_SCRIPT: &str = r#"<script>
"use strict";
(() => {
  const list = document.getElementById("messages");
  const count = document.getElementById("count");
  const token = document.querySelector('#sign input[name="csrf_token"]').value;
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function bump(by) {
    const n = parseInt(count.dataset.total, 10) + by;
    count.dataset.total = n;
    count.textContent = n + (n === 1 ? " message" : " messages") + " so far.";
  }
  const events = new EventSource("/guestbook/live");
  events.addEventListener("open", () => { document.body.dataset.live = "open"; });
  events.addEventListener("posted", (e) => {
    const m = JSON.parse(e.data);
    if (document.getElementById("m" + m.id)) return;
    const a = el("article", {id: "m" + m.id});
    const link = el("a", {href: "/guestbook/" + m.id});
    link.appendChild(el("strong", {}, m.name));
    a.appendChild(link);
    a.appendChild(document.createTextNode(" "));
    a.appendChild(el("time", {}, m.time));
    a.appendChild(el("p", {}, m.message));
    if (m.mine) {
      const f = el("form", {method: "post", action: "/guestbook/" + m.id + "/delete", class: "delete"});
      f.appendChild(el("input", {type: "hidden", name: "csrf_token", value: token}));
      f.appendChild(el("button", {type: "submit"}, "Delete"));
      a.appendChild(f);
    }
    list.prepend(a);
    bump(1);
  });
  events.addEventListener("deleted", (e) => {
    const a = document.getElementById("m" + e.data);
    if (a) { a.remove(); bump(-1); }
  });
})();
</script>
"#;

fn pagination(out: &mut String, view: &View<'_>) {
    if view.pages <= 1 {
        return;
    }
    out.push_str("<nav>");
    if view.page > 1 {
        let _ = write!(
            out,
            r#"<a href="/guestbook?page={}" rel="prev">Newer</a> "#,
            view.page - 1
        );
    }
    let _ = write!(out, "Page {} of {}", view.page, view.pages);
    if view.page < view.pages {
        let _ = write!(
            out,
            r#" <a href="/guestbook?page={}" rel="next">Older</a>"#,
            view.page + 1
        );
    }
    out.push_str("</nav>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_from_visitors() {
        let m = Message {
            id: 1,
            name: "<b>ann</b>".into(),
            message: "<script>alert(1)</script>".into(),
            created_at: 0,
            owner: None,
        };
        let html = page(&View {
            messages: std::slice::from_ref(&m),
            page: 1,
            pages: 2,
            total: 51,
            error: Some("<oops>"),
            name: "\"><script>",
            message: "</textarea><script>",
            csrf: "tok\"en",
            owner: None,
        });
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("\"><script>"));
        assert!(html.contains(r#"name="csrf_token" value="tok&quot;en""#));
        assert!(html.contains("&lt;oops&gt;"));
        assert!(html.contains(r#"href="/guestbook?page=2""#));
        assert!(
            html.contains(r#"<time datetime="1970-01-01T00:00:00Z">1970-01-01 00:00 UTC</time>"#)
        );
    }
}
