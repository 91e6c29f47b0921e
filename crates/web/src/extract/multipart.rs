//! Streaming `multipart/form-data` (RFC 7578): fields are read one at a time as the body
//! arrives, and large file fields go to a temporary file instead of memory.

use std::io::Write;

use bytes::Bytes;
use futures_util::StreamExt;
use server::{Body, Request};

use super::{FromRequest, media_type};
use crate::rejection::Rejection;

/// Largest whole multipart body (64 MiB) read by the extractor; past it, `413`.
pub const MAX_MULTIPART_BODY: u64 = 64 * 1024 * 1024;
/// Largest single field (32 MiB); past it, `413`.
pub const MAX_FIELD: u64 = 32 * 1024 * 1024;
/// Largest field read as text or bytes in memory with [`Field::text`] / [`Field::bytes`] (1 MiB).
pub const MAX_IN_MEMORY_FIELD: usize = 1024 * 1024;
/// A file field larger than this (256 KiB) is written to a temporary file by [`Field::save`].
pub const SPILL_THRESHOLD: usize = 256 * 1024;

/// The size limits of one multipart body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_MULTIPART_BODY`].
    pub whole: u64,
    /// See [`MAX_FIELD`].
    pub field: u64,
    /// See [`SPILL_THRESHOLD`].
    pub spill: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            whole: MAX_MULTIPART_BODY,
            field: MAX_FIELD,
            spill: SPILL_THRESHOLD,
        }
    }
}

/// A `multipart/form-data` body, read field by field.
///
/// ```
/// use web::{Router, extract::Multipart, routing::post, InternalError};
///
/// async fn upload(mut form: Multipart) -> Result<String, web::Rejection> {
///     let mut report = String::new();
///     while let Some(field) = form.next_field().await? {
///         let name = field.name().unwrap_or("").to_string();
///         let saved = field.save().await?;
///         report.push_str(&format!("{name}: {} bytes\n", saved.len()));
///     }
///     Ok(report)
/// }
///
/// let app: Router = Router::new().route("/upload", post(upload));
/// # let _ = app;
/// ```
pub struct Multipart {
    inner: multer::Multipart<'static>,
    limits: Limits,
}

impl std::fmt::Debug for Multipart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Multipart")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Multipart {
    /// Reads `body` as multipart with the boundary from `content_type` and the given limits.
    pub fn new(body: Body, content_type: &str, limits: Limits) -> Result<Multipart, Rejection> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|e| Rejection::Multipart(e.to_string()))?;
        let constraints = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(limits.whole)
                .per_field(limits.field),
        );
        let stream = body
            .into_stream()
            .map(|piece| piece.map_err(std::io::Error::other));
        Ok(Multipart {
            inner: multer::Multipart::with_constraints(stream, boundary, constraints),
            limits,
        })
    }

    /// The next field, or `None` after the last one.
    pub async fn next_field(&mut self) -> Result<Option<Field>, Rejection> {
        let limits = self.limits;
        match self.inner.next_field().await {
            Ok(Some(inner)) => Ok(Some(Field { inner, limits })),
            Ok(None) => Ok(None),
            Err(e) => Err(rejection(e)),
        }
    }
}

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = Rejection;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Rejection> {
        if media_type(req.headers()).as_deref() != Some("multipart/form-data") {
            return Err(Rejection::UnsupportedMediaType {
                expected: "multipart/form-data",
            });
        }
        let content_type = req
            .headers()
            .get_str("content-type")
            .unwrap_or("")
            .to_string();
        Multipart::new(req.body, &content_type, Limits::default())
    }
}

/// Maps a multipart failure to the one rejection that fits it.
fn rejection(e: multer::Error) -> Rejection {
    match e {
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            Rejection::MultipartTooLarge(e.to_string())
        }
        other => Rejection::Multipart(other.to_string()),
    }
}

/// One field of a multipart body.
pub struct Field {
    inner: multer::Field<'static>,
    limits: Limits,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field")
            .field("name", &self.name())
            .field("file_name", &self.file_name())
            .finish()
    }
}

impl Field {
    /// The form field name.
    pub fn name(&self) -> Option<&str> {
        self.inner.name()
    }

    /// The file name the client gave, for file fields. Untrusted: never use it as a path.
    pub fn file_name(&self) -> Option<&str> {
        self.inner.file_name()
    }

    /// The field's content type, if the client sent one.
    pub fn content_type(&self) -> Option<String> {
        self.inner.content_type().map(|m| m.to_string())
    }

    /// The next piece of the field's data.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Rejection> {
        self.inner.chunk().await.map_err(rejection)
    }

    /// The whole field in memory, at most [`MAX_IN_MEMORY_FIELD`] bytes (`413` past it).
    pub async fn bytes(mut self) -> Result<Bytes, Rejection> {
        let mut out = Vec::new();
        while let Some(piece) = self.chunk().await? {
            if out.len() + piece.len() > MAX_IN_MEMORY_FIELD {
                return Err(Rejection::MultipartTooLarge(format!(
                    "field is larger than {MAX_IN_MEMORY_FIELD} bytes"
                )));
            }
            out.extend_from_slice(&piece);
        }
        Ok(Bytes::from(out))
    }

    /// The whole field as UTF-8 text (`400` if it is not).
    pub async fn text(self) -> Result<String, Rejection> {
        let bytes = self.bytes().await?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Rejection::InvalidUtf8)
    }

    /// Reads the whole field, in memory while it is small and in a temporary file (deleted when
    /// the [`Upload`] is dropped) once it passes the spill threshold.
    pub async fn save(mut self) -> Result<Upload, Rejection> {
        let mut memory = Vec::new();
        let mut disk: Option<tempfile::NamedTempFile> = None;
        let mut len = 0u64;
        while let Some(piece) = self.chunk().await? {
            len += piece.len() as u64;
            match disk.as_mut() {
                Some(file) => write_piece(file, &piece)?,
                None if memory.len() + piece.len() > self.limits.spill => {
                    let mut file = tempfile::NamedTempFile::new().map_err(Rejection::Storage)?;
                    write_piece(&mut file, &memory)?;
                    write_piece(&mut file, &piece)?;
                    memory = Vec::new();
                    disk = Some(file);
                }
                None => memory.extend_from_slice(&piece),
            }
        }
        Ok(match disk {
            Some(file) => Upload::Disk { file, len },
            None => Upload::Memory(Bytes::from(memory)),
        })
    }
}

/// Writes one piece to the spill file. The write is to a local temporary file, short and
/// bounded by the piece size, so it runs inline rather than on the blocking pool.
fn write_piece(file: &mut tempfile::NamedTempFile, piece: &[u8]) -> Result<(), Rejection> {
    file.write_all(piece).map_err(Rejection::Storage)
}

/// A saved field: in memory when small, in a temporary file when large.
#[derive(Debug)]
pub enum Upload {
    /// The whole field.
    Memory(Bytes),
    /// A temporary file holding the field, removed when dropped (or persisted by the caller).
    Disk {
        /// The file.
        file: tempfile::NamedTempFile,
        /// Its length.
        len: u64,
    },
}

impl Upload {
    /// How many bytes the field had.
    pub fn len(&self) -> u64 {
        match self {
            Upload::Memory(b) => b.len() as u64,
            Upload::Disk { len, .. } => *len,
        }
    }

    /// Whether the field was empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn body(file_len: usize) -> Body {
        let mut b = Vec::new();
        b.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nhello\r\n",
        );
        b.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
              Content-Type: application/octet-stream\r\n\r\n",
        );
        b.extend(std::iter::repeat_n(b'x', file_len));
        b.extend_from_slice(b"\r\n--XyZ--\r\n");
        Body::full(Bytes::from(b))
    }

    fn run<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    #[test]
    fn small_file_stays_in_memory_large_spills() {
        run(async {
            for (size, on_disk) in [(10, false), (SPILL_THRESHOLD + 1, true)] {
                let mut m = Multipart::new(body(size), CT, Limits::default()).expect("boundary");
                let title = m.next_field().await.expect("ok").expect("field");
                assert_eq!(title.name(), Some("title"));
                assert_eq!(title.text().await.expect("text"), "hello");
                let file = m.next_field().await.expect("ok").expect("field");
                assert_eq!(file.file_name(), Some("a.bin"));
                let up = file.save().await.expect("saved");
                assert_eq!(up.len(), size as u64);
                assert_eq!(matches!(up, Upload::Disk { .. }), on_disk);
                assert!(m.next_field().await.expect("ok").is_none());
            }
        });
    }

    #[test]
    fn field_limit_is_413() {
        run(async {
            let limits = Limits {
                field: 100,
                ..Limits::default()
            };
            let mut m = Multipart::new(body(1000), CT, limits).expect("boundary");
            let _ = m
                .next_field()
                .await
                .expect("ok")
                .expect("title")
                .text()
                .await;
            let file = m.next_field().await.expect("ok").expect("file");
            let e = file.save().await.expect_err("too large");
            assert_eq!(e.status().as_u16(), 413);
        });
    }

    #[test]
    fn missing_boundary_is_400() {
        let e = Multipart::new(Body::empty(), "multipart/form-data", Limits::default())
            .expect_err("no boundary");
        assert_eq!(e.status().as_u16(), 400);
    }
}
