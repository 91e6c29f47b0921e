//! `/guestbook` and `/api/messages`: the LAMP step, on SQLite or PostgreSQL ([`store`]).
//!
//! `GET /guestbook` lists messages newest first, 50 a page, under a form. `POST /guestbook`
//! validates the form; a bad post gets the form back with a message and a 4xx status, a good
//! one is stored and answered `303 See Other` back to the page (post/redirect/get), so a reload
//! does not post twice. `/api/messages` offers the same as JSON.

pub mod render;
pub mod store;
pub mod validate;

use web::extract::Path;
use web::{
    BodyError, Form, HeaderValue, Html, IntoResponse, Json, Query, Redirect, Rejection, Response,
    State, StatusCode, header,
};

use crate::Site;
use render::View;
use store::{Message, StoreError};
use validate::Draft;

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
    let etag = crate::assets::etag_of(html.as_bytes());
    let mut response = Html(html).into_response();
    response.headers.append(header::ETAG, etag);
    response
        .headers
        .append(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /guestbook`.
pub async fn show(State(site): State<Site>, Query(q): Query<PageQuery>) -> Response {
    let l = match listing(&site, q.page).await {
        Ok(Some(l)) => l,
        Ok(None) => return not_found(),
        Err(e) => return store::failure(e),
    };
    revalidated(render::page(&View {
        messages: &l.messages,
        page: l.page,
        pages: l.pages,
        total: l.total,
        ..View::default()
    }))
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
pub async fn post(State(site): State<Site>, form: Result<Form<Draft>, Rejection>) -> Response {
    let draft = match form {
        Ok(Form(draft)) => draft,
        Err(rejection) => {
            let message = match &rejection {
                Rejection::InvalidUtf8 => "The form was not sent as valid UTF-8 text.".to_string(),
                Rejection::Body(BodyError::TooLarge) => "That post is far too long.".to_string(),
                other => format!("The form could not be read: {other}."),
            };
            return form_again(&site, rejection.status(), &message, &Draft::default()).await;
        }
    };
    let entry = match draft.validate() {
        Ok(entry) => entry,
        Err(invalid) => {
            return form_again(
                &site,
                StatusCode::UNPROCESSABLE_ENTITY,
                &invalid.to_string(),
                &draft,
            )
            .await;
        }
    };
    let now = chrono::Utc::now().timestamp();
    match site
        .store
        .insert(&entry.name, &entry.message, now, None)
        .await
    {
        Ok(_) => Redirect::to("/guestbook").into_response(),
        Err(e) => store::failure(e),
    }
}

/// The first page with the form filled in again and `error` above it.
async fn form_again(site: &Site, status: StatusCode, error: &str, draft: &Draft) -> Response {
    let l = match listing(site, 1).await {
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
    });
    (status, Html(html)).into_response()
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
