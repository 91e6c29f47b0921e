//! Uploads and changes, off unless [`crate::Config::upload`] is set: `PUT` creates or replaces
//! a file, `DELETE` removes a file or an empty directory, `MKCOL` makes a directory (RFC 4918
//! 9.3), and `POST` of `multipart/form-data` to a directory takes the listing's upload form
//! (several files at once).
//!
//! Bodies are streamed to a temporary file in the target's directory and renamed into place
//! only when whole ([`crate::write`]): a cut upload leaves nothing. Names are checked as
//! strictly as paths. Statuses follow nginx's `dav_methods` and RFC 4918: `201 Created` with
//! `Location` for a new resource, `204` for a replaced or removed one, `409 Conflict` for a
//! missing parent or a non-empty directory, `412` when `If-Match`/`If-None-Match: *` say the
//! resource is not in the state the client expected, `413` past the size limit, `507` past
//! the quota.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderValue, Method, StatusCode, header};
use http1::RequestHead;
use server::{BodyError, Request, Response};
use tokio::io::AsyncWriteExt;

use crate::conditional::{self, Validators};
use crate::meta::FileId;
use crate::write::{self, Dir, Existing, Part};
use crate::{Config, Error};

/// Largest upload by default: the server's own body limit
/// ([`http1::limits::MAX_BODY_SIZE`]). A larger file is answered `413` and nothing is kept.
pub const DEFAULT_MAX_FILE_SIZE: u64 = http1::limits::MAX_BODY_SIZE;

/// What may be changed, and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Largest single file; more is `413 Content Too Large`.
    pub max_file_size: u64,
    /// Most bytes all regular files under the root may hold together; an upload that would
    /// pass it is `507 Insufficient Storage`. `None`: no quota.
    pub quota: Option<u64>,
}

impl Default for Upload {
    fn default() -> Upload {
        Upload {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            quota: None,
        }
    }
}

/// Whether `method` changes the tree (and so is answered here when uploads are on).
pub fn is_change(method: &Method) -> bool {
    method == Method::PUT
        || method == Method::DELETE
        || method == Method::POST
        || method.as_str() == "MKCOL"
}

/// The response to a change request.
pub async fn handle(cfg: &Config, up: &Upload, req: Request) -> Response {
    let rel = match crate::resolve::resolve(req.path(), cfg.hidden) {
        Ok(rel) => rel,
        // A dotfile that is not shown may not be made either.
        Err(Error::NotFound) => return status(StatusCode::FORBIDDEN),
        Err(e) => return crate::handler::error(e),
    };
    let method = req.method().clone();
    let result = if method == Method::PUT {
        put(cfg, up, req, rel.path, rel.slash).await
    } else if method == Method::DELETE {
        delete(cfg, *req.head, rel.path, rel.slash).await
    } else if method.as_str() == "MKCOL" {
        let empty = req.body.is_empty();
        make_dir(cfg, *req.head, empty, rel.path).await
    } else if rel.slash || rel.path.as_os_str().is_empty() {
        form(cfg, up, req, rel.path).await
    } else {
        Err(Refused::Status(StatusCode::METHOD_NOT_ALLOWED))
    };
    result.unwrap_or_else(Refused::response)
}

/// Why a change was refused.
#[derive(Debug)]
enum Refused {
    /// A status with its bare text.
    Status(StatusCode),
    /// A file-service error (bad path, I/O).
    Files(Error),
}

impl From<Error> for Refused {
    fn from(e: Error) -> Refused {
        Refused::Files(e)
    }
}

impl Refused {
    fn response(self) -> Response {
        match self {
            Refused::Status(s) => status(s),
            Refused::Files(e) => crate::handler::error(e),
        }
    }
}

fn status(s: StatusCode) -> Response {
    Response::error(s)
}

/// Runs `f` (system calls on the tree) on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Refused> + Send + 'static,
) -> Result<T, Refused> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(Refused::Files(Error::Io(std::io::Error::other(e)))))
}

/// The directory `parent`, a missing one being `409 Conflict` (RFC 4918 9.7.1).
fn parent_dir(cfg: &Config, parent: &std::path::Path) -> Result<Arc<Dir>, Refused> {
    match Dir::open(cfg, parent) {
        Ok(d) => Ok(Arc::new(d)),
        Err(Error::NotFound) => Err(Refused::Status(StatusCode::CONFLICT)),
        Err(e) => Err(e.into()),
    }
}

/// `If-Match` and `If-None-Match` (and the date forms) against what is at the name now.
fn preconditions(req: &RequestHead, existing: &Existing) -> Result<(), Refused> {
    let headers = &req.headers;
    let failed = match existing {
        Existing::File(meta) => {
            let id = FileId::of(meta);
            let etag = id.etag("");
            let v = Validators {
                etag: etag.to_str().unwrap_or(""),
                modified: id.modified(),
            };
            conditional::evaluate(headers, &req.method, v) == conditional::Outcome::Failed
        }
        // `If-Match` needs a current representation (RFC 9110 13.1.1), `If-None-Match: *`
        // needs none.
        Existing::Absent => headers.contains("if-match"),
        Existing::Dir | Existing::Other => {
            headers.contains("if-match") || headers.contains("if-none-match")
        }
    };
    if failed {
        return Err(Refused::Status(StatusCode::PRECONDITION_FAILED));
    }
    Ok(())
}

/// `PUT`: the body becomes the file.
async fn put(
    cfg: &Config,
    up: &Upload,
    req: Request,
    rel: PathBuf,
    slash: bool,
) -> Result<Response, Refused> {
    let Some((parent, name)) = write::split(&rel).filter(|_| !slash) else {
        return Err(Refused::Status(StatusCode::METHOD_NOT_ALLOWED));
    };
    let (parent, name) = (parent.to_path_buf(), name.to_os_string());
    write::check_name(name.as_bytes(), cfg.hidden)?;
    if req.body.len().is_some_and(|n| n > up.max_file_size) {
        return Err(Refused::Status(StatusCode::PAYLOAD_TOO_LARGE));
    }
    let (c, n, quota) = (cfg.clone(), name.clone(), up.quota);
    let (part, existing, used) = blocking(move || {
        let dir = parent_dir(&c, &parent)?;
        let existing = dir.existing(&n)?;
        let used = quota.map(|_| write::used(&c.root));
        Ok((dir.part()?, existing, used))
    })
    .await?;
    preconditions(&req.head, &existing)?;
    if matches!(existing, Existing::Dir | Existing::Other) {
        return Err(Refused::Status(StatusCode::CONFLICT));
    }
    let room = room(up, used, &existing);
    let keep_out = req.headers().contains("if-none-match");
    let location = req.path().to_owned();
    let (part, _) = fill(part, req.body.into_stream(), room).await?;
    let created = matches!(existing, Existing::Absent);
    if !blocking(move || Ok(part.commit(&name, !keep_out)?)).await? {
        return Err(Refused::Status(StatusCode::PRECONDITION_FAILED));
    }
    Ok(if created {
        created_at(&location)
    } else {
        Response::new(StatusCode::NO_CONTENT)
    })
}

/// How many bytes one file may have: the size limit, and what the quota leaves (a file
/// replaced frees its own size).
fn room(up: &Upload, used: Option<u64>, existing: &Existing) -> Room {
    let freed = match existing {
        Existing::File(meta) => meta.len(),
        _ => 0,
    };
    let left = match (up.quota, used) {
        (Some(q), Some(u)) => Some(q.saturating_sub(u.saturating_sub(freed))),
        _ => None,
    };
    Room {
        max: up.max_file_size,
        quota: left,
    }
}

/// The limits one file is written under.
#[derive(Debug, Clone, Copy)]
struct Room {
    max: u64,
    quota: Option<u64>,
}

impl Room {
    /// Whether `len` bytes fit; the status when not.
    fn check(&self, len: u64) -> Result<(), Refused> {
        if len > self.max {
            return Err(Refused::Status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        if self.quota.is_some_and(|q| len > q) {
            return Err(Refused::Status(StatusCode::INSUFFICIENT_STORAGE));
        }
        Ok(())
    }
}

/// Streams `body` into `part`, piece by piece, never holding more than one piece.
/// Returns the part and its length.
async fn fill<E>(
    mut part: Part,
    body: impl futures_util::Stream<Item = Result<Bytes, E>>,
    room: Room,
) -> Result<(Part, u64), Refused>
where
    E: Into<Refused>,
{
    let mut body = std::pin::pin!(body);
    let Some(file) = part.take_file() else {
        return Err(Error::Io(std::io::Error::other("part already taken")).into());
    };
    let mut file = tokio::fs::File::from_std(file);
    let mut len = 0u64;
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(Into::into)?;
        len += piece.len() as u64;
        room.check(len)?;
        file.write_all(&piece).await.map_err(Error::from)?;
    }
    file.flush().await.map_err(Error::from)?;
    Ok((part, len))
}

impl From<BodyError> for Refused {
    fn from(e: BodyError) -> Refused {
        Refused::Status(e.status())
    }
}

impl From<multer::Error> for Refused {
    fn from(e: multer::Error) -> Refused {
        Refused::Status(match e {
            multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            _ => StatusCode::BAD_REQUEST,
        })
    }
}

/// `201 Created` with `Location` (RFC 9110 15.3.2).
fn created_at(location: &str) -> Response {
    let mut r = Response::new(StatusCode::CREATED);
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers.append(header::LOCATION, v);
    }
    r
}

/// `DELETE`: a file, or an empty directory (named with its slash, as nginx asks).
async fn delete(
    cfg: &Config,
    req: RequestHead,
    rel: PathBuf,
    slash: bool,
) -> Result<Response, Refused> {
    let Some((parent, name)) = write::split(&rel) else {
        return Err(Refused::Status(StatusCode::FORBIDDEN));
    };
    let (parent, name) = (parent.to_path_buf(), name.to_os_string());
    let c = cfg.clone();
    let existing = {
        let n = name.clone();
        let p = parent.clone();
        blocking(move || Ok(parent_dir(&c, &p)?.existing(&n)?)).await?
    };
    preconditions(&req, &existing)?;
    let dir = match existing {
        Existing::Absent => return Err(Refused::Status(StatusCode::NOT_FOUND)),
        Existing::Dir => true,
        _ if slash => return Err(Refused::Status(StatusCode::CONFLICT)),
        _ => false,
    };
    if dir && !slash {
        return Err(Refused::Status(StatusCode::CONFLICT));
    }
    let c = cfg.clone();
    let removed = blocking(move || Ok(parent_dir(&c, &parent)?.remove(&name, dir)?)).await?;
    if !removed {
        return Err(Refused::Status(StatusCode::CONFLICT));
    }
    Ok(Response::new(StatusCode::NO_CONTENT))
}

/// `MKCOL`: a new, empty directory; its parent must exist (RFC 4918 9.3.1).
async fn make_dir(
    cfg: &Config,
    req: RequestHead,
    empty_body: bool,
    rel: PathBuf,
) -> Result<Response, Refused> {
    if !empty_body {
        return Err(Refused::Status(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    }
    let Some((parent, name)) = write::split(&rel) else {
        return Err(Refused::Status(StatusCode::METHOD_NOT_ALLOWED));
    };
    write::check_name(name.as_bytes(), cfg.hidden)?;
    let (parent, name) = (parent.to_path_buf(), name.to_os_string());
    let c = cfg.clone();
    let made = blocking(move || Ok(parent_dir(&c, &parent)?.mkdir(&name)?)).await?;
    if !made {
        return Err(Refused::Status(StatusCode::METHOD_NOT_ALLOWED));
    }
    let mut location = req.target.path().to_owned();
    if !location.ends_with('/') {
        location.push('/');
    }
    Ok(created_at(&location))
}

/// `POST multipart/form-data` to a directory: each file field becomes a file there, never
/// replacing one (`409`, as miniserve refuses without `--overwrite-files`); then `303` back
/// to the listing, so a browser shows the directory with its new files.
async fn form(cfg: &Config, up: &Upload, req: Request, rel: PathBuf) -> Result<Response, Refused> {
    let boundary = req
        .headers()
        .get_str("content-type")
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or(Refused::Status(StatusCode::UNSUPPORTED_MEDIA_TYPE))?;
    let location = req.path().to_owned();
    let (c, quota) = (cfg.clone(), up.quota);
    let (dir, mut used) = blocking(move || {
        let dir = match Dir::open(&c, &rel) {
            Ok(d) => Arc::new(d),
            Err(e) => return Err(e.into()),
        };
        Ok((dir, quota.map(|_| write::used(&c.root))))
    })
    .await?;
    let mut form = multer::Multipart::new(req.body.into_stream(), boundary);
    let mut names = Vec::new();
    while let Some(field) = form.next_field().await? {
        let Some(name) = field.file_name().map(base_name) else {
            continue; // a plain form field
        };
        if name.is_empty() {
            continue; // the form was sent with no file chosen
        }
        write::check_name(name.as_bytes(), cfg.hidden)?;
        let d = Arc::clone(&dir);
        let part = blocking(move || Ok(d.part()?)).await?;
        let room = room(up, used, &Existing::Absent);
        let (part, len) = fill(part, field, room).await?;
        let os = OsString::from(name.clone());
        if !blocking(move || Ok(part.commit(&os, false)?)).await? {
            return Err(Refused::Status(StatusCode::CONFLICT));
        }
        used = used.map(|u| u + len);
        names.push(name);
    }
    let mut r = Response::text(
        StatusCode::SEE_OTHER,
        format!("uploaded: {}\n", names.join(", ")),
    );
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers.append(header::LOCATION, v);
    }
    Ok(r)
}

/// What a form's file name says after its last `/` or `\` (old browsers sent whole paths).
fn base_name(name: &str) -> String {
    name.rsplit(['/', '\\']).next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_names_lose_their_directories() {
        assert_eq!(base_name("C:\\Users\\a\\report.pdf"), "report.pdf");
        assert_eq!(base_name("a/b/c.txt"), "c.txt");
        assert_eq!(base_name("plain"), "plain");
    }

    #[test]
    fn room_counts_the_replaced_file_as_freed() {
        let up = Upload {
            max_file_size: 100,
            quota: Some(50),
        };
        let r = room(&up, Some(40), &Existing::Absent);
        assert!(r.check(10).is_ok());
        assert!(matches!(
            r.check(11),
            Err(Refused::Status(StatusCode::INSUFFICIENT_STORAGE))
        ));
        assert!(matches!(
            Room {
                max: 5,
                quota: None
            }
            .check(6),
            Err(Refused::Status(StatusCode::PAYLOAD_TOO_LARGE))
        ));
    }
}
