//! Static files for sockserve: everything `sockserve serve DIR` does with a request, as a plain
//! [`server::Service`] any server could call.
//!
//! A request goes through three steps. Its path is decoded into a safe relative path without
//! touching the disk ([`resolve`]). A small, unchanged file is then answered from memory after
//! one look at the queue of change events, or one `stat` ([`cache`], [`watch`]); anything else
//! is looked up on a blocking thread ([`lookup`]), so the event loop never waits on the disk.
//! Finally the chosen representation is answered according to the request's preconditions and
//! ranges ([`respond`]).
//!
//! # Behaviour worth knowing
//! - GET and HEAD serve; OPTIONS answers `204` with `Allow` (and CORS preflights with
//!   `--cors`); the other methods HTTP defines get `405` with `Allow`, unknown ones `501`.
//! - `..` in any spelling, an encoded `/`, a backslash or a NUL byte is a `400`, never
//!   normalised; dotfiles, symlinks to them and symlinks out of the root are `404` (like
//!   anything not there) unless shown or followed. Error bodies are the bare status line.
//! - `Cache-Control: no-cache` unless a max-age is configured: clients keep copies but
//!   revalidate, which a strong `ETag` makes a cheap `304`.
//! - Ranges are coalesced; too many (see [`range`]) get the whole file with `200`. Encoded
//!   forms are never ranged: a request with `Range` gets the unencoded file.
//! - Text-like files are compressed on the fly once per representation: requests arriving
//!   meanwhile stream the same compression ([`flight`]); a large file still changing goes out
//!   as it is. A `304` carries the validators and `Vary` its `200` would have.
//! - `-H` fields replace the server's field of the same name, except `Vary`, which is merged;
//!   fields the server computes cannot be set ([`config::is_computed`]).
//! - Small files are served from memory and large ones with `sendfile`; both revalidate with
//!   one system call per hit (a look at inotify's queue, `ioctl(FIONREAD)`, for a watched file,
//!   a `stat` for any other), so an edited file is served fresh on the next request.
//!
//! # Layout
//! - [`config`]: [`Config`], validated by the caller before the server starts.
//! - [`error`]: [`Error`], every reason a request fails, mapped to a status in one place.
//! - [`resolve`]: URL path to a relative filesystem path that cannot leave the root.
//! - [`beneath`]: opens that path beneath the root in one step (`openat2`), as policy allows.
//! - [`meta`]: what one `stat` says about a file: identity and validators.
//! - [`mime`]: `Content-Type` from the extension.
//! - [`conditional`]: `If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`, `If-Range`.
//! - [`range`]: `Range: bytes=` parsing, coalescing and the limits that keep it cheap.
//! - [`compress`]: `Accept-Encoding` negotiation, precompressed sidecars, on-the-fly compression.
//! - [`flight`]: one on-the-fly compression per representation, streamed to every request for it.
//! - [`cache`]: the bounded in-memory cache of small files, revalidated on every hit.
//! - [`watch`]: inotify watches that tell the cache which files changed, without a `stat`.
//! - [`listing`]: directory listings as HTML or JSON.
//! - `query` (re-exported by [`listing`]): what a listing's query string asks for, without I/O.
//! - [`lookup`]: the blocking part: find what a path names and load it.
//! - [`respond`]: a representation plus the request's headers give the response.
//! - [`archive`]: a directory streamed as `.tar.gz` or `.zip`.
//! - [`upload`]: `PUT`, `DELETE`, `MKCOL` and the upload form, when enabled.
//! - [`write`]: writing beneath the root: temporary files renamed into place when whole.
//! - [`handler`]: [`Files`], the service tying them together.

pub mod archive;
pub mod beneath;
pub mod cache;
pub mod compress;
pub mod conditional;
pub mod config;
pub mod error;
pub mod flight;
pub mod handler;
pub mod listing;
pub mod lookup;
pub mod meta;
pub mod mime;
mod query;
pub mod range;
pub mod resolve;
pub mod respond;
pub mod upload;
pub mod watch;
pub mod write;

pub use config::Config;
pub use error::Error;
pub use handler::Files;
