//! A bounded in-memory cache of small files, revalidated on every hit.
//!
//! A file under a plain local path is watched ([`crate::watch`]): a hit first looks at the
//! queue of change events (one `ioctl`, which finds it empty unless something changed), and
//! entries whose path changed are dropped. Any other hit costs one `stat` of the file the bytes
//! came from: if its identity ([`FileId`]) still matches, the cached bytes are the file's
//! bytes; otherwise the entry is dropped and the request takes the slow path. Files too large
//! to hold are cached without their bytes: a hit opens the file and checks its identity with
//! `fstat`, which skips the slow path's symlink resolution, sidecar probes and blocking-pool
//! hop, and leaves `sendfile` to do the rest. So a changed file is never served stale, and a
//! file is only cached once it has settled (see [`crate::meta::SETTLE_TIME`]).
//!
//! Rendered directory listings are kept too ([`Page`]), reused while the directory is
//! unchanged and for at most [`LISTING_TTL`].
//!
//! Entries are keyed by the decoded URL path plus the content coding, so `/`, `/index.html`
//! and the brotli form of `/app.js` are separate entries. Eviction is least-recently-used, done
//! in batches so an insert stays cheap on average.

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http1::response::RenderedFields;

use crate::compress::Encoding;
use crate::flight::Flights;
use crate::meta::FileId;
use crate::respond::{Content, RepMeta};
use crate::watch::{self, Changes, Queue, Watcher, Wd};

/// Largest file (or compressed form) kept in memory; larger ones are sent with `sendfile`.
pub const MAX_ENTRY: u64 = 256 * 1024;

/// Largest compressed form kept in memory. Larger than [`MAX_ENTRY`] because a compressed form
/// cannot be sent from disk: without it, every request for a large text file would compress
/// it again, which is the expensive part.
pub const MAX_COMPRESSED: u64 = 4 * 1024 * 1024;

/// Total bytes the cache may hold; past it, the least recently used quarter is dropped.
pub const MAX_TOTAL: usize = 64 * 1024 * 1024;

/// What each entry costs beyond its bytes (key, headers, bookkeeping), so that a flood of
/// empty files is bounded too.
const ENTRY_OVERHEAD: usize = 512;

/// How long a rendered listing is reused. Adding, removing or renaming an entry changes the
/// directory itself and is seen at once; a file written in place changes only the file, so
/// its size and time in a listing may lag by up to this long (its content never does).
pub const LISTING_TTL: Duration = Duration::from_secs(1);

/// Most rendered listings kept, an equal share in each part of the cache; past a part's share,
/// its oldest half is dropped.
pub const MAX_PAGES: usize = 256;

/// Largest rendered listing kept (about 15,000 entries).
pub const MAX_PAGE: usize = 2 * 1024 * 1024;

/// A rendered directory listing.
#[derive(Debug)]
pub struct Page {
    dir: PathBuf,
    id: FileId,
    made: Instant,
    /// The page.
    pub body: Bytes,
    /// Whether it is JSON (else HTML).
    pub json: bool,
}

impl Page {
    /// A page rendered from the directory `dir` whose identity was `id` before it was read.
    pub fn new(dir: PathBuf, id: FileId, body: Bytes, json: bool) -> Page {
        Page {
            dir,
            id,
            made: Instant::now(),
            body,
            json,
        }
    }

    /// Whether the page is young enough and the directory unchanged (one `stat`).
    pub fn is_current(&self) -> bool {
        self.made.elapsed() < LISTING_TTL
            && std::fs::metadata(&self.dir).is_ok_and(|m| m.is_dir() && FileId::of(&m) == self.id)
    }
}

/// One cached representation.
#[derive(Debug)]
pub struct Cached {
    /// The file the bytes were read from (the sidecar for a precompressed form).
    pub source: PathBuf,
    /// Its identity when it was read.
    pub id: FileId,
    /// Headers and validators of the representation.
    pub meta: RepMeta,
    /// The bytes, or `None` for a file sent from disk.
    pub bytes: Option<Bytes>,
    /// The header fields of a whole `200` for it, rendered when it is first served so by the
    /// service that owns the cache (whose configuration adds fields of its own).
    pub whole: OnceLock<RenderedFields>,
    /// The watches that report a change of `source`; empty when it is `stat`ed instead.
    watches: Vec<Wd>,
    last_used: AtomicU64,
}

impl Cached {
    /// An entry for `source`, with its `bytes` when they are held in memory.
    pub fn new(source: PathBuf, id: FileId, meta: RepMeta, bytes: Option<Bytes>) -> Cached {
        Cached {
            source,
            id,
            meta,
            bytes,
            whole: OnceLock::new(),
            watches: Vec::new(),
            last_used: AtomicU64::new(0),
        }
    }

    /// Whether a change of the file is reported by its watches, so a hit needs no `stat`
    /// (as long as the cache was [synced](Cache::sync) after the request arrived).
    pub fn is_watched(&self) -> bool {
        !self.watches.is_empty()
    }

    /// Whether the file on disk is still the one the bytes came from (one `stat`).
    pub fn is_current(&self) -> bool {
        std::fs::metadata(&self.source).is_ok_and(|m| m.is_file() && FileId::of(&m) == self.id)
    }

    /// The content, if the file is unchanged: the held bytes (after one `stat` unless the file
    /// is watched and the cache `synced` for this request), or the file opened afresh and
    /// checked with `fstat`.
    pub fn content(&self, synced: bool) -> Option<Content> {
        match &self.bytes {
            Some(b) if synced && self.is_watched() => Some(Content::Memory(b.clone())),
            Some(b) => self.is_current().then(|| Content::Memory(b.clone())),
            None => {
                let file = File::open(&self.source).ok()?;
                let m = file.metadata().ok()?;
                (m.is_file() && FileId::of(&m) == self.id).then_some(Content::Disk(file))
            }
        }
    }

    fn held(&self) -> usize {
        self.bytes.as_ref().map_or(0, Bytes::len)
    }

    fn cost(&self, key: &[u8]) -> usize {
        self.held() + key.len() + ENTRY_OVERHEAD
    }
}

/// How many parts the map of entries is split into, each behind its own lock: a hit locks one
/// part, so the worker threads (one event loop per core) seldom meet on a lock.
const SHARDS: usize = 16;

/// The cache; shared by every worker thread.
///
/// A hit takes one lock, that of the part (of `SHARDS`) its key falls in. Everything that changes
/// the cache (inserts, removals, eviction, applying change events) is serialised by a second
/// lock, the writer lock, taken before any part's; applying events also holds every part's
/// lock while it reads the queue, so a hit that finds the queue empty because events are being
/// applied waits for them in [`Cache::get`].
#[derive(Debug)]
pub struct Cache {
    shards: [Mutex<Shard>; SHARDS],
    writer: Mutex<Writer>,
    /// Bytes accounted to entries; changed under the writer lock.
    total: AtomicUsize,
    /// Ticks once per insert; a hit stamps its entry with it (a load, not a shared increment).
    clock: AtomicU64,
    /// Rendered listings, split into parts like the entries.
    pages: [Mutex<HashMap<Vec<u8>, Arc<Page>>>; SHARDS],
    /// The watcher's event queue, looked at without any lock.
    queue: Option<Queue>,
    /// Set (for good) before the first watch is added; until then there is no queue to read.
    watching: AtomicBool,
    /// On-the-fly compressions under way, whose results land here.
    flights: Arc<Flights>,
}

impl Default for Cache {
    fn default() -> Cache {
        let watcher = Watcher::new();
        Cache {
            queue: watcher.as_ref().map(Watcher::queue),
            shards: Default::default(),
            writer: Mutex::new(Writer { watcher }),
            total: AtomicUsize::new(0),
            clock: AtomicU64::new(0),
            pages: Default::default(),
            watching: AtomicBool::new(false),
            flights: Arc::default(),
        }
    }
}

/// One part of the map of entries.
type Shard = HashMap<Vec<u8>, Arc<Cached>>;

/// What only the writer lock's holder touches.
#[derive(Debug)]
struct Writer {
    /// `None` where inotify is unavailable: every entry is then `stat`ed on a hit.
    watcher: Option<Watcher>,
}

/// The part of the map `key` belongs to (FNV-1a: a few cycles for a path).
fn shard_of(key: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in key {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h % SHARDS as u64) as usize
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock cannot leave a map inconsistent (every update is a single
    // insert/remove plus a counter), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key of the listing of the directory `path` in `sort` order, as HTML or JSON.
pub fn page_key(path: &[u8], sort: crate::listing::Sort, json: bool) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 5);
    k.extend_from_slice(path);
    k.extend_from_slice(&[
        0,
        b'L',
        sort.key as u8,
        u8::from(sort.descending),
        u8::from(json),
    ]);
    k
}

/// The key of the representation of `path` (a [`crate::resolve::RelPath::key`]) in `encoding`.
pub fn key(path: &[u8], encoding: Option<Encoding>) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 2);
    k.extend_from_slice(path);
    push_tag(&mut k, encoding);
    k
}

/// Turns a path into the key of its representation in `encoding`, in place.
pub fn push_tag(path: &mut Vec<u8>, encoding: Option<Encoding>) {
    path.push(0); // never part of a path, so "a" + tag cannot collide with a file named "a?"
    path.push(encoding.map_or(b'i', Encoding::tag));
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Cache {
        Cache::default()
    }

    /// Applies the changes reported since the last call: entries of changed files are dropped.
    /// Call it once a request has arrived and before looking its answer up, so that
    /// [watched](Cached::is_watched) entries reflect every change made before it was sent.
    ///
    /// The queue is looked at without the lock; only events take it. A thread that finds the
    /// queue empty while another is still applying what it read waits for the lock in
    /// [`Cache::get`], so it never sees an entry the events name.
    ///
    /// Returns whether watched entries may be trusted without a `stat` for this request:
    /// `false` when events are queued and the writer is busy (an insert's slow `stat`, or
    /// another thread applying them). A hit then checks its file with a `stat`
    /// ([`Cached::content`]) instead of waiting for the writer.
    pub fn sync(&self) -> bool {
        let Some(queue) = &self.queue else {
            return true;
        };
        if !self.watching.load(Ordering::SeqCst) || queue.is_empty() {
            return true;
        }
        let mut writer = match self.writer.try_lock() {
            Ok(writer) => writer,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return false,
        };
        self.apply_events(&mut writer);
        true
    }

    /// The entry under `key`, whether or not it is still current.
    pub fn get(&self, key: &[u8]) -> Option<Arc<Cached>> {
        let found = lock(&self.shards[shard_of(key)]).get(key).cloned();
        server::metrics::file_cache(found.is_some());
        let entry = found?;
        let now = self.clock.load(Ordering::Relaxed);
        // Written only when it changes, so threads hitting one entry do not trade its line.
        if entry.last_used.load(Ordering::Relaxed) != now {
            entry.last_used.store(now, Ordering::Relaxed);
        }
        Some(entry)
    }

    /// Stores `entry` under `key` unless it is too large ([`MAX_ENTRY`], [`MAX_COMPRESSED`]);
    /// evicts if the total grows too large. A file under a [watchable](watch::watchable) path
    /// is watched from now on, so its hits need no `stat`.
    pub fn insert(&self, key: Vec<u8>, mut entry: Cached) {
        let limit = if entry.meta.encoding.is_some() {
            MAX_COMPRESSED
        } else {
            MAX_ENTRY
        };
        if entry.held() as u64 > limit {
            return;
        }
        let now = self.clock.fetch_add(1, Ordering::Relaxed) + 1;
        entry.last_used.store(now, Ordering::Relaxed);
        let cost = entry.cost(&key);
        // A file sent from disk is opened and checked on every hit anyway: no watch for it.
        let watchable = entry.bytes.is_some() && watch::watchable(&entry.source);
        if watchable && self.queue.is_some() {
            // Before any watch exists, so that every event it ever queues is looked for.
            self.watching.store(true, Ordering::SeqCst);
        }
        let mut writer = lock(&self.writer);
        if watchable {
            // Under the writer lock, so no drain can come between the check and the insert: a
            // change made before the watches existed shows in the `stat`, any later one as an
            // event. Synced first, so that no watch kept for a path that has since changed is
            // reused.
            self.apply_events(&mut writer);
            entry.watches = writer.watch(&entry);
        }
        let old = lock(&self.shards[shard_of(&key)]).insert(key.clone(), Arc::new(entry));
        if let Some(old) = old {
            self.total.fetch_sub(old.cost(&key), Ordering::Relaxed);
            writer.release(&old);
        }
        let total = self.total.fetch_add(cost, Ordering::Relaxed) + cost;
        if total > MAX_TOTAL {
            self.evict(&mut writer, MAX_TOTAL / 4 * 3);
        }
    }

    /// Drops the entry under `key` (it went stale).
    pub fn remove(&self, key: &[u8]) {
        let mut writer = lock(&self.writer);
        let old = lock(&self.shards[shard_of(key)]).remove(key);
        if let Some(old) = old {
            self.total.fetch_sub(old.cost(key), Ordering::Relaxed);
            writer.release(&old);
        }
    }

    /// Reads the change queue and drops the entries it names, holding every part's lock
    /// meanwhile (see [`Cache`]).
    fn apply_events(&self, writer: &mut Writer) {
        let Some(watcher) = writer.watcher.as_mut() else {
            return;
        };
        if watcher.is_idle() {
            return;
        }
        let mut shards: Vec<_> = self.shards.iter().map(lock).collect();
        let Some(changes) = watcher.drain() else {
            return;
        };
        for shard in &mut shards {
            let stale: Vec<Vec<u8>> = shard
                .iter()
                .filter(|(_, e)| {
                    e.is_watched()
                        && match &changes {
                            Changes::All => true,
                            Changes::Paths(paths) => paths.iter().any(|p| e.source.starts_with(p)),
                        }
                })
                .map(|(k, _)| k.clone())
                .collect();
            for k in stale {
                if let Some(old) = shard.remove(&k) {
                    self.total.fetch_sub(old.cost(&k), Ordering::Relaxed);
                    watcher.release(&old.watches);
                }
            }
        }
    }

    /// Drops least recently used entries until at most `target` bytes remain.
    fn evict(&self, writer: &mut Writer, target: usize) {
        let mut by_age: Vec<(u64, usize, Vec<u8>)> = Vec::new();
        for (i, shard) in self.shards.iter().enumerate() {
            let shard = lock(shard);
            by_age.extend(
                shard
                    .iter()
                    .map(|(k, v)| (v.last_used.load(Ordering::Relaxed), i, k.clone())),
            );
        }
        by_age.sort_unstable_by_key(|(t, ..)| *t);
        for (_, i, k) in by_age {
            if self.total.load(Ordering::Relaxed) <= target {
                break;
            }
            let old = lock(&self.shards[i]).remove(&k);
            if let Some(old) = old {
                self.total.fetch_sub(old.cost(&k), Ordering::Relaxed);
                writer.release(&old);
            }
        }
    }

    /// The rendered listing under `key`, if it is still current.
    pub fn page(&self, key: &[u8]) -> Option<Arc<Page>> {
        let page = self.lock_pages(key).get(key).cloned()?;
        page.is_current().then_some(page)
    }

    /// Keeps a rendered listing, unless it is too large.
    pub fn insert_page(&self, key: Vec<u8>, page: Page) {
        if page.body.len() > MAX_PAGE {
            return;
        }
        let mut pages = self.lock_pages(&key);
        if pages.len() >= MAX_PAGES / SHARDS {
            let mut ages: Vec<Instant> = pages.values().map(|p| p.made).collect();
            ages.sort_unstable();
            let cutoff = ages[ages.len() / 2];
            pages.retain(|_, p| p.made > cutoff);
        }
        pages.insert(key, Arc::new(page));
    }

    /// The part of the listings `key` belongs to, locked.
    fn lock_pages(&self, key: &[u8]) -> MutexGuard<'_, HashMap<Vec<u8>, Arc<Page>>> {
        lock(&self.pages[shard_of(key)])
    }

    /// The on-the-fly compressions under way.
    pub fn flights(&self) -> &Arc<Flights> {
        &self.flights
    }

    /// Bytes currently accounted to entries.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Whether no file is watched (every watch went with its entry).
    #[cfg(test)]
    fn watches_idle(&self) -> bool {
        lock(&self.writer)
            .watcher
            .as_ref()
            .is_none_or(Watcher::is_idle)
    }
}

impl Writer {
    /// The watches for `entry`'s file, if it is still the file the entry was read from once
    /// they exist; otherwise none (the entry is then `stat`ed on every hit).
    fn watch(&mut self, entry: &Cached) -> Vec<Wd> {
        let Some(watcher) = self.watcher.as_mut() else {
            return Vec::new();
        };
        let Some(held) = watcher.watch(&entry.source) else {
            return Vec::new();
        };
        if entry.is_current() {
            held
        } else {
            watcher.release(&held);
            Vec::new()
        }
    }

    /// Gives back the watches of an entry that left the map.
    fn release(&mut self, old: &Cached) {
        if let Some(watcher) = self.watcher.as_mut() {
            watcher.release(&old.watches);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use std::time::UNIX_EPOCH;

    fn entry(source: PathBuf, bytes: Bytes) -> Cached {
        let m = std::fs::metadata(&source).unwrap();
        let meta = RepMeta {
            len: bytes.len() as u64,
            etag: HeaderValue::from_static("\"x\""),
            last_modified: HeaderValue::from_static("x"),
            modified: UNIX_EPOCH,
            content_type: HeaderValue::from_static("text/plain"),
            encoding: None,
            vary: false,
            alternatives: false,
        };
        Cached::new(source, FileId::of(&m), meta, Some(bytes))
    }

    #[test]
    fn a_changed_file_is_not_current() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"one").unwrap();
        let cache = Cache::new();
        cache.insert(
            key(b"f", None),
            entry(p.clone(), Bytes::from_static(b"one")),
        );
        assert!(cache.get(&key(b"f", None)).unwrap().is_current());
        std::fs::write(&p, b"two!").unwrap();
        assert!(!cache.get(&key(b"f", None)).unwrap().is_current());
        std::fs::remove_file(&p).unwrap();
        assert!(!cache.get(&key(b"f", None)).unwrap().is_current());
        cache.remove(&key(b"f", None));
        assert!(cache.get(&key(b"f", None)).is_none());
        assert_eq!(cache.total(), 0);
    }

    #[test]
    fn watched_entries_go_when_their_file_or_a_parent_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("site")).unwrap();
        let p = root.join("site/f");
        let cache = Cache::new();
        let k = key(b"f", None);
        let fresh = |cache: &Cache| {
            std::fs::write(&p, b"one").unwrap();
            cache.insert(k.clone(), entry(p.clone(), Bytes::from_static(b"one")));
            cache.sync();
            assert!(cache.get(&k).unwrap().is_watched());
        };

        fresh(&cache);
        std::fs::write(&p, b"two").unwrap();
        assert!(cache.get(&k).is_some(), "dropped only when synced");
        cache.sync();
        assert!(cache.get(&k).is_none(), "written in place");

        fresh(&cache);
        std::fs::write(root.join("site/new"), b"two").unwrap();
        std::fs::rename(root.join("site/new"), &p).unwrap();
        cache.sync();
        assert!(cache.get(&k).is_none(), "replaced by a rename");

        fresh(&cache);
        std::fs::rename(root.join("site"), root.join("old")).unwrap();
        std::fs::create_dir(root.join("site")).unwrap();
        cache.sync();
        assert!(cache.get(&k).is_none(), "a parent renamed");

        fresh(&cache);
        cache.remove(&k);
        assert!(cache.watches_idle(), "watches go with the last entry");
    }

    #[test]
    fn disk_entries_reopen_and_check_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, b"large").unwrap();
        let mut e = entry(p.clone(), Bytes::new());
        e.bytes = None;
        assert!(matches!(e.content(true), Some(Content::Disk(_))));
        std::fs::write(&p, b"larger").unwrap();
        assert!(e.content(true).is_none());
    }

    #[test]
    fn size_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let cache = Cache::new();
        let big = Bytes::from(vec![0u8; MAX_ENTRY as usize]);
        cache.insert(
            key(b"huge", None),
            entry(p.clone(), Bytes::from(vec![0u8; MAX_ENTRY as usize + 1])),
        );
        assert!(cache.get(&key(b"huge", None)).is_none());
        let n = MAX_TOTAL / MAX_ENTRY as usize + 10;
        for i in 0..n {
            cache.insert(
                key(format!("f{i}").as_bytes(), None),
                entry(p.clone(), big.clone()),
            );
        }
        assert!(cache.total() <= MAX_TOTAL);
        assert!(
            cache
                .get(&key(format!("f{}", n - 1).as_bytes(), None))
                .is_some()
        );
        assert!(cache.get(&key(b"f0", None)).is_none());
    }

    #[test]
    fn pages_expire_with_their_directory() {
        let dir = tempfile::tempdir().unwrap();
        let id = FileId::of(&std::fs::metadata(dir.path()).unwrap());
        let cache = Cache::new();
        let page = Page::new(
            dir.path().to_path_buf(),
            id,
            Bytes::from_static(b"<p>"),
            false,
        );
        cache.insert_page(b"k".to_vec(), page);
        assert!(cache.page(b"k").is_some());
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("new"), b"").unwrap();
        assert!(
            cache.page(b"k").is_none(),
            "a new entry invalidates the page"
        );
        let old = Page {
            made: Instant::now() - LISTING_TTL,
            ..Page::new(dir.path().to_path_buf(), id, Bytes::new(), false)
        };
        assert!(!old.is_current());
        for i in 0..MAX_PAGES + 1 {
            let p = Page::new(dir.path().to_path_buf(), id, Bytes::new(), false);
            cache.insert_page(format!("p{i}").into_bytes(), p);
        }
        let kept: usize = cache.pages.iter().map(|p| lock(p).len()).sum();
        assert!(kept <= MAX_PAGES);
    }

    #[test]
    fn a_hit_waits_neither_for_writers_nor_for_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let cache = Arc::new(Cache::new());
        let a = key(b"k0", None);
        let b = (1..)
            .map(|i| key(format!("k{i}").as_bytes(), None))
            .find(|k| shard_of(k) != shard_of(&a))
            .unwrap();
        cache.insert(b.clone(), entry(p.clone(), Bytes::from_static(b"x")));
        // A writer busy (a slow `stat` while inserting) and another key's part locked.
        let _writer = lock(&cache.writer);
        let _other = lock(&cache.shards[shard_of(&a)]);
        let (tx, rx) = std::sync::mpsc::channel();
        let c = cache.clone();
        std::thread::spawn(move || {
            c.sync();
            tx.send(c.get(&b).is_some()).unwrap();
        });
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));
    }

    #[test]
    fn a_hit_while_the_writer_is_busy_with_events_queued_checks_its_file_instead_of_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let cache = Arc::new(Cache::new());
        let k = key(b"k", None);
        cache.insert(k.clone(), entry(p.clone(), Bytes::from_static(b"x")));
        assert!(cache.get(&k).unwrap().is_watched());
        // A change queued while an insert holds the writer.
        std::fs::write(&p, b"changed").unwrap();
        let writer = lock(&cache.writer);
        let (tx, rx) = std::sync::mpsc::channel();
        let c = cache.clone();
        let k2 = k.clone();
        std::thread::spawn(move || {
            let synced = c.sync();
            let content = c.get(&k2).and_then(|e| e.content(synced));
            tx.send((synced, content.is_some())).unwrap();
        });
        // Not synced, and the stale bytes are refused by the `stat`, without waiting.
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok((false, false)));
        drop(writer);
        assert!(cache.sync());
        assert!(cache.get(&k).is_none());
    }

    #[test]
    fn keys_differ_by_encoding() {
        assert_ne!(key(b"a", None), key(b"a", Some(Encoding::Gzip)));
        assert_ne!(
            key(b"a", Some(Encoding::Brotli)),
            key(b"a", Some(Encoding::Gzip))
        );
    }
}
