//! `/guestbook` and `/api/messages`: the LAMP step, on SQLite or PostgreSQL ([`store`]).
//!
//! `GET /guestbook` lists messages newest first, 50 a page, under a form. `POST /guestbook`
//! validates the form; a bad post gets the form back with a message and a 4xx status, a good
//! one is stored and answered `303 See Other` back to the page (post/redirect/get), so a reload
//! does not post twice. `/api/messages` offers the same as JSON.
//!
//! The page remembers the visitor in a session: the name last signed with fills the form, and
//! messages posted from this session carry its owner id, so they can be deleted from it
//! (`POST /guestbook/{id}/delete`). The forms carry a CSRF token ([`web::CsrfLayer`]). New and
//! deleted messages reach every open page through [`crate::live`].

pub mod render;
pub mod store;
pub mod validate;

use web::extract::Path;
use web::{
    BodyError, CsrfToken, Form, HeaderValue, Html, IntoResponse, Json, Query, Redirect, Rejection,
    Response, Session, State, StatusCode, header,
};

use crate::Site;
use render::View;
use store::{Message, StoreError};
use validate::Draft;

/// Where the session keeps the name the visitor last signed with.
pub const NAME_KEY: &str = "guestbook_name";

/// Where the session keeps the visitor's owner id, given to the messages they post.
pub const OWNER_KEY: &str = "guestbook_owner";

/// Messages per page.
pub const PAGE_SIZE: u64 = 50;

/// `?page=N`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageQuery {
    /// The page, from 1; 0 and absent mean 1.
    #[serde(default)]
    pub page: u64,
}

/// One page of messages and how many pages there are.
#[derive(Debug, serde::Serialize)]
pub struct Listing {
    /// This page's messages, newest first.
    pub messages: Vec<Message>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
    /// How many messages there are.
    pub total: u64,
}

/// Page `page` (0 is read as 1), or `None` past the last page: there is nothing at that
/// address, so it is a `404` like any other. The first page always exists, empty or not.
async fn listing(site: &Site, page: u64) -> Result<Option<Listing>, StoreError> {
    let page = page.max(1);
    let offset = (page - 1).saturating_mul(PAGE_SIZE);
    let (messages, total) = site.store.page(offset, PAGE_SIZE).await?;
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    if page > pages {
        return Ok(None);
    }
    Ok(Some(Listing {
        messages,
        page,
        pages,
        total,
    }))
}

/// The HTML `404`.
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html(crate::assets::NOT_FOUND_PAGE)).into_response()
}

/// A page that changes with every post: caches may keep it but must ask first (`no-cache`),
/// and the `ETag` lets them ask cheaply ([`crate::conditional`] answers `304`).
fn revalidated(html: String) -> Response {
    revalidated_as(html, "no-cache")
}

/// [`revalidated`] with a `Cache-Control` of its own: the list page holds the visitor's
/// name and CSRF token, so no shared cache may keep it (`private`).
fn revalidated_as(html: String, cache_control: &'static str) -> Response {
    let etag = crate::assets::etag_of(html.as_bytes());
    let mut response = Html(html).into_response();
    response.headers.append(header::ETAG, etag);
    response.headers.append(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response
}

/// The visitor's owner id, made and kept in the session on their first post. It is compared
/// on the server only and never sent to a client, so it needs to be unique, not secret: the
/// time in nanoseconds, the process, a counter and a per-process random hash key make it so
/// across restarts and instances.
fn owner_of(session: &Session) -> Option<String> {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if let Some(owner) = session.get::<String>(OWNER_KEY) {
        return Some(owner);
    }
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(nanos);
    let owner = format!(
        "{nanos:x}-{:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        h.finish()
    );
    session.insert(OWNER_KEY, &owner).ok()?;
    Some(owner)
}

/// `GET /guestbook`.
pub async fn show(
    State(site): State<Site>,
    session: Session,
    csrf: CsrfToken,
    Query(q): Query<PageQuery>,
) -> Response {
    let l = match listing(&site, q.page).await {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(),
        Err(e) => return store::failure(e),
    };
    let name: Option<String> = session.get(NAME_KEY);
    // Given now rather than at the first post, so that the live stream this page opens knows
    // which of the messages to come are the visitor's.
    let owner = owner_of(&session);
    revalidated_as(
        render::page(&View {
            messages: &l.messages,
            page: l.page,
            pages: l.pages,
            total: l.total,
            name: name.as_deref().unwrap_or(""),
            csrf: csrf.as_str(),
            owner: owner.as_deref(),
            ..View::default()
        }),
        "private, no-cache",
    )
}

/// `GET /guestbook/{id}`: one message on its own page.
pub async fn show_one(State(site): State<Site>, Path(id): Path<i64>) -> Response {
    match site.store.get(id).await {
        Ok(Some(m)) => revalidated(render::single(&m)),
        Ok(None) => not_found(),
        Err(e) => store::failure(e),
    }
}

/// `POST /guestbook`.
pub async fn post(
    State(site): State<Site>,
    session: Session,
    csrf: CsrfToken,
    form: Result<Form<Draft>, Rejection>,
) -> Response {
    let again = Again {
        site: &site,
        csrf: csrf.as_str(),
        owner: session.get(OWNER_KEY),
    };
    let draft = match form {
        Ok(Form(draft)) => draft,
        Err(rejection) => {
            let message = match &rejection {
                Rejection::InvalidUtf8 => "The form was not sent as valid UTF-8 text.".to_string(),
                Rejection::Body(BodyError::TooLarge) => "That post is far too long.".to_string(),
                other => format!("The form could not be read: {other}."),
            };
            return again
                .form(rejection.status(), &message, &Draft::default())
                .await;
        }
    };
    let entry = match draft.validate() {
        Ok(entry) => entry,
        Err(invalid) => {
            return again
                .form(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &invalid.to_string(),
                    &draft,
                )
                .await;
        }
    };
    let now = chrono::Utc::now().timestamp();
    // Remembered for the next visit; a session that cannot be written only forgets it.
    let _ = session.insert(NAME_KEY, &entry.name);
    let owner = owner_of(&session);
    match site
        .store
        .insert(&entry.name, &entry.message, now, owner.as_deref())
        .await
    {
        Ok(_) => Redirect::to("/guestbook").into_response(),
        Err(e) => store::failure(e),
    }
}

/// `POST /guestbook/{id}/delete`: deletes the message if this session posted it, and goes
/// back to the page; someone else's message, or none, is a `404` (the two are not told apart).
pub async fn delete(State(site): State<Site>, session: Session, Path(id): Path<i64>) -> Response {
    let Some(owner) = session.get::<String>(OWNER_KEY) else {
        return not_found();
    };
    match site.store.delete(id, &owner).await {
        Ok(true) => Redirect::to("/guestbook").into_response(),
        Ok(false) => not_found(),
        Err(e) => store::failure(e),
    }
}

/// What the form needs to be shown again after a bad post.
struct Again<'a> {
    site: &'a Site,
    csrf: &'a str,
    owner: Option<String>,
}

impl Again<'_> {
    /// The first page with the form filled in again and `error` above it.
    async fn form(&self, status: StatusCode, error: &str, draft: &Draft) -> Response {
        let l = match listing(self.site, 1).await {
            Ok(Some(l)) => l,
            Ok(None) => return not_found(),
            Err(e) => return store::failure(e),
        };
        let html = render::page(&View {
            messages: &l.messages,
            page: l.page,
            pages: l.pages,
            total: l.total,
            error: Some(error),
            name: draft.name.as_deref().unwrap_or(""),
            message: draft.message.as_deref().unwrap_or(""),
            csrf: self.csrf,
            owner: self.owner.as_deref(),
        });
        (status, Html(html)).into_response()
    }
}

/// `GET /api/messages?page=N`. Every answer is JSON, errors included.
pub async fn api_list(
    State(site): State<Site>,
    query: Result<Query<PageQuery>, Rejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(rejection) => return json_error(rejection.status(), &rejection.to_string()),
    };
    match listing(&site, q.page).await {
        Ok(Some(l)) => Json(l).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such page"),
        Err(e) => store::failure(e),
    }
}

/// `GET /api/messages/{id}`; an id that is not a number is a JSON `400`.
pub async fn api_get(State(site): State<Site>, id: Result<Path<i64>, Rejection>) -> Response {
    let id = match id {
        Ok(Path(id)) => id,
        Err(rejection) => return json_error(rejection.status(), &rejection.to_string()),
    };
    match site.store.get(id).await {
        Ok(Some(m)) => Json(m).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, "no such message"),
        Err(e) => store::failure(e),
    }
}

/// `POST /api/messages` with `{"name": ..., "message": ...}`: `201` with the stored message.
pub async fn api_post(State(site): State<Site>, body: Result<Json<Draft>, Rejection>) -> Response {
    let draft = match body {
        Ok(Json(d)) => d,
        Err(rejection) => return json_error(rejection.status(), &rejection.to_string()),
    };
    let entry = match draft.validate() {
        Ok(e) => e,
        Err(invalid) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, &invalid.to_string()),
    };
    let now = chrono::Utc::now().timestamp();
    match site
        .store
        .insert(&entry.name, &entry.message, now, None)
        .await
    {
        Ok(m) => {
            let location = format!("/api/messages/{}", m.id);
            let mut r = (StatusCode::CREATED, Json(m)).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                r.headers.append(header::LOCATION, v);
            }
            r
        }
        Err(e) => store::failure(e),
    }
}

/// Any other path under `/api/`: the API answers in JSON even when there is nothing there.
pub async fn api_not_found() -> Response {
    json_error(StatusCode::NOT_FOUND, "no such resource")
}

fn json_error(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}
