//! `/guestbook/live`: the guestbook's changes as server-sent events, so that every open
//! `/guestbook` window shows a new message (or loses a deleted one) without a reload.
//!
//! The seam is [`Store::subscribe`](crate::guestbook::store::Store::subscribe): whatever
//! reports a change there reaches every window. On SQLite that is this process's own posts and
//! deletes; on PostgreSQL it is every instance sharing the database (`LISTEN/NOTIFY`), so a
//! window served by one instance sees what was posted through another. This module only turns
//! those events into `text/event-stream`; it keeps no list of its own.
//!
//! SSE rather than a WebSocket: the updates go one way, `EventSource` reconnects by itself,
//! and the stream is a plain response, so it runs over HTTP/2 and through any proxy.

use std::time::Duration;

use futures_util::StreamExt as _;
use web::sse::{Event, KeepAlive, Sse};
use web::{IntoResponse, Response, Session, State};

use crate::Site;
use crate::guestbook::store::Event as Change;
use crate::guestbook::{OWNER_KEY, render};

/// How long a browser waits before reconnecting after the stream breaks.
pub const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// `GET /guestbook/live`: `posted` events carry the message as JSON (and whether it is the
/// viewer's own, so the page can offer to delete it); `deleted` events carry the id.
pub async fn events(State(site): State<Site>, session: Session) -> Response {
    let owner: Option<String> = session.get(OWNER_KEY);
    let changes = site.store.subscribe();
    let hello = Event::default().retry(RECONNECT_AFTER).comment("guestbook");
    let stream =
        futures_util::stream::once(async move { hello }).chain(changes.filter_map(move |change| {
            let event = to_event(change, owner.as_deref());
            async move { event }
        }));
    Sse::new(stream)
        .keep_alive(KeepAlive::new())
        .into_response()
}

/// One change as the page's script reads it.
fn to_event(change: Change, viewer: Option<&str>) -> Option<Event> {
    match change {
        Change::Posted(m) => {
            let mine = viewer.is_some() && m.owner.as_deref() == viewer;
            let json = serde_json::json!({
                "id": m.id,
                "name": m.name,
                "message": m.message,
                "created_at": m.created_at,
                "time": render::time_label(m.created_at),
                "mine": mine,
            });
            Event::default()
                .event("posted")
                .id(m.id.to_string())
                .json_data(&json)
                .ok()
        }
        Change::Deleted(id) => Some(Event::default().event("deleted").data(id.to_string())),
    }
}
