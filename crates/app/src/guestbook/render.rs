//! The guestbook's pages, from askama templates in `templates/guestbook*.html`, which escape
//! every value from a visitor.

use std::fmt::Display;

use chrono::{Datelike, Timelike};
use web::askama::Template;

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

/// The guestbook, from `templates/guestbook.html`.
#[derive(Template)]
#[template(path = "guestbook.html", askama = web::askama)]
struct GuestbookPage<'a> {
    view: &'a View<'a>,
}

/// One message on a page of its own, from `templates/guestbook_message.html`.
#[derive(Template)]
#[template(path = "guestbook_message.html", askama = web::askama)]
struct MessagePage<'a> {
    m: &'a Message,
    /// Always empty: nobody gets a delete button here (it needs the form's token).
    view: View<'a>,
}

/// Renders the whole page.
pub fn page(view: &View<'_>) -> String {
    GuestbookPage { view }.render().unwrap_or_default()
}

/// The page of one message, at `/guestbook/{id}`.
pub fn single(m: &Message) -> String {
    MessagePage {
        m,
        view: View::default(),
    }
    .render()
    .unwrap_or_default()
}

/// A message's time, written field by field: parsing a strftime pattern per message showed up
/// as the largest cost of rendering the page.
#[derive(Debug, Clone, Copy)]
struct Stamp(chrono::DateTime<chrono::Utc>);

impl Stamp {
    /// The time `created_at` (Unix seconds), if it is one chrono can hold. By reference
    /// because that is how a template passes arguments.
    fn of(created_at: &i64) -> Option<Self> {
        chrono::DateTime::from_timestamp(*created_at, 0).map(Self)
    }

    /// The machine-readable form, for `<time datetime>`: `2000-02-29T00:00:00Z`.
    fn iso(self) -> impl Display {
        Fields(self.0, true)
    }

    /// The label a reader sees: `2000-02-29 00:00 UTC`.
    fn label(self) -> impl Display {
        Fields(self.0, false)
    }
}

/// [`Stamp::iso`] when the flag is set, else [`Stamp::label`].
struct Fields(chrono::DateTime<chrono::Utc>, bool);

impl Display for Fields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = self.0;
        let (y, mo, d) = (t.year(), t.month(), t.day());
        let (h, mi, sec) = (t.hour(), t.minute(), t.second());
        if self.1 {
            write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{sec:02}Z")
        } else {
            write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
        }
    }
}

/// The label of a time, for messages that arrive live.
pub fn time_label(created_at: i64) -> String {
    Stamp::of(&created_at)
        .map(|t| t.label().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_from_visitors() {
        let m = Message {
            id: 1,
            name: "<script>ann</script>".into(),
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
        assert!(html.contains("<strong>&lt;script&gt;ann&lt;/script&gt;</strong>"));
        assert!(!html.contains("<script>ann"));
        let alone = single(&m);
        assert!(alone.contains("<strong>&lt;script&gt;ann&lt;/script&gt;</strong>"));
        assert!(!alone.contains("<script>"), "{alone}");
        assert!(!html.contains("\"><script>"));
        assert!(html.contains(r#"name="csrf_token" value="tok&quot;en""#));
        assert!(html.contains("&lt;oops&gt;"));
        assert!(html.contains(r#"href="/guestbook?page=2""#));
        assert!(
            html.contains(r#"<time datetime="1970-01-01T00:00:00Z">1970-01-01 00:00 UTC</time>"#)
        );
    }
}
