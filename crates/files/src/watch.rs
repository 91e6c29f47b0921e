//! Change notification for cached files (Linux inotify), so that a cache hit needs no `stat`.
//!
//! A watched file is one whose every way of coming to name other bytes is reported: its inode
//! is watched for writes and attribute changes (made through any hard link), and every
//! directory from `/` down to it for entries created, deleted or renamed (a file replaced by a
//! rename, a renamed parent, a swapped root). The kernel queues an event before the call that
//! causes it returns, so looking at the queue (one `ioctl(FIONREAD)`, which finds it empty
//! unless something changed) after a request has arrived and before it is answered sees every
//! change completed before the request was sent: the guarantee of a `stat` per hit, for less
//! than a `stat` costs (which walks the whole path).
//!
//! Only paths without symlinks on local filesystems are watched ([`watchable`]): through a
//! symlink, a path can change where it leads from a directory that is not on it, and network
//! filesystems do not report changes made on other machines. Those files keep a `stat` per hit.
//!
//! What inotify does not report at all: writes through a shared memory mapping of the file, and a
//! filesystem mounted over a directory on the path. Both are rare for files a web server serves;
//! the `stat` per hit would have seen a mount, and a mapped write only once the kernel moved the
//! file's modification time.

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;

/// What a file's inode is watched for: its content or its metadata changing, or it going.
const FILE_EVENTS: WatchFlags = WatchFlags::MODIFY
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF);

/// What a directory on the way is watched for: an entry appearing, going or being renamed,
/// permissions changing, or the directory itself going.
const DIR_EVENTS: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::ATTRIB)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR);

/// Filesystems whose changes all pass through this kernel, so inotify sees every one
/// (`statfs` magic numbers, from `linux/magic.h`).
const LOCAL: [u64; 5] = [
    0xEF53,      // ext2, ext3, ext4
    0x5846_5342, // xfs
    0x9123_683E, // btrfs
    0x0102_1994, // tmpfs
    0xF2F5_2010, // f2fs
];

/// Room for a few hundred events per `read`.
const EVENT_BUFFER: usize = 16 * 1024;

/// Whether `path` can be watched: absolute, free of symlinks and `..`, on a local filesystem.
/// Takes a few system calls; meant for the moment a file is cached, not for every hit.
pub fn watchable(path: &Path) -> bool {
    path.is_absolute()
        && std::fs::canonicalize(path).is_ok_and(|real| real == path)
        && rustix::fs::statfs(path)
            .is_ok_and(|s| u64::try_from(s.f_type).is_ok_and(|t| LOCAL.contains(&t)))
}

/// The watches of one inotify instance, shared by the cached files that need them.
#[derive(Debug)]
pub struct Watcher {
    inotify: Arc<OwnedFd>,
    watches: HashMap<Wd, Watch>,
    by_path: HashMap<PathBuf, Wd>,
    buf: Box<[MaybeUninit<u8>]>,
}

/// A watch descriptor, as `inotify_add_watch` returns it.
pub type Wd = i32;

#[derive(Debug)]
struct Watch {
    path: PathBuf,
    /// How many cached files rely on this watch.
    refs: usize,
}

/// A look at a watcher's event queue that needs no access to the watcher, so threads can
/// check it without taking the lock around the watcher.
#[derive(Debug, Clone)]
pub struct Queue(Arc<OwnedFd>);

impl Queue {
    /// Whether no event is queued (one `ioctl`). A queue that cannot be looked at counts as
    /// not empty, so the caller drains it and learns the error there.
    pub fn is_empty(&self) -> bool {
        matches!(rustix::io::ioctl_fionread(&self.0), Ok(0))
    }
}

/// What the queued events say.
#[derive(Debug, PartialEq, Eq)]
pub enum Changes {
    /// These paths (and everything under them) may now name other content.
    Paths(Vec<PathBuf>),
    /// Events were lost (the queue overflowed): anything may have changed.
    All,
}

impl Watcher {
    /// A watcher, or `None` where inotify is not available (the cache then `stat`s every hit).
    pub fn new() -> Option<Watcher> {
        let inotify = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok()?;
        Some(Watcher {
            inotify: Arc::new(inotify),
            watches: HashMap::new(),
            by_path: HashMap::new(),
            buf: Box::new_uninit_slice(EVENT_BUFFER),
        })
    }

    /// A handle on the event queue.
    pub fn queue(&self) -> Queue {
        Queue(self.inotify.clone())
    }

    /// Whether any file is watched (otherwise there is nothing to drain).
    pub fn is_idle(&self) -> bool {
        self.watches.is_empty()
    }

    /// Watches the file `path` (which [`watchable`] accepted) and every directory above it.
    /// Returns the watches it now holds a reference to, or `None` (holding nothing) when one
    /// could not be added: the inotify limit, a permission, a race with a rename.
    pub fn watch(&mut self, path: &Path) -> Option<Vec<Wd>> {
        let mut held = Vec::new();
        let dirs = path.ancestors().skip(1).collect::<Vec<_>>();
        let steps = dirs
            .into_iter()
            .rev()
            .map(|d| (d, DIR_EVENTS))
            .chain([(path, FILE_EVENTS)]);
        for (p, mask) in steps {
            match self.add(p, mask) {
                Some(wd) => held.push(wd),
                None => {
                    self.release(&held);
                    return None;
                }
            }
        }
        Some(held)
    }

    /// Adds (or takes another reference to) the watch on `path`.
    fn add(&mut self, path: &Path, mask: WatchFlags) -> Option<Wd> {
        if let Some(&wd) = self.by_path.get(path)
            && let Some(w) = self.watches.get_mut(&wd)
        {
            w.refs += 1;
            return Some(wd);
        }
        let wd = inotify::add_watch(&self.inotify, path, mask).ok()?;
        if self.watches.contains_key(&wd) {
            // Another path leads to the same inode (a hard link): events could not be told
            // apart, so this path is not watched.
            return None;
        }
        let watch = Watch {
            path: path.to_path_buf(),
            refs: 1,
        };
        self.watches.insert(wd, watch);
        self.by_path.insert(path.to_path_buf(), wd);
        Some(wd)
    }

    /// Gives back references taken by [`Watcher::watch`]; a watch nobody needs is removed.
    pub fn release(&mut self, held: &[Wd]) {
        for wd in held {
            let Some(w) = self.watches.get_mut(wd) else {
                continue;
            };
            w.refs -= 1;
            if w.refs == 0 {
                if let Some(w) = self.watches.remove(wd) {
                    self.by_path.remove(&w.path);
                }
                // Fails only if the kernel already dropped the watch (its inode is gone).
                let _ = inotify::remove_watch(&self.inotify, *wd);
            }
        }
    }

    /// Reads every queued event and says which watched paths they touch; events about entries
    /// no cached file goes through are skipped. A hit looks at the [`Queue`] first: finding it
    /// empty there costs one `ioctl(FIONREAD)`, less than the `read` this makes.
    pub fn drain(&mut self) -> Option<Changes> {
        let Watcher {
            inotify,
            watches,
            by_path,
            buf,
        } = self;
        let mut changed = Vec::new();
        let mut reader = inotify::Reader::new(&*inotify, buf);
        loop {
            let event = match reader.next() {
                Ok(event) => event,
                Err(Errno::INTR) => continue,
                // The queue is empty.
                Err(Errno::AGAIN) => break,
                // Nothing more can be read, and an unreadable queue means changes could be missed.
                Err(_) => return Some(Changes::All),
            };
            if event.events().contains(ReadFlags::QUEUE_OVERFLOW) {
                return Some(Changes::All);
            }
            let Some(w) = watches.get(&event.wd()) else {
                continue; // a watch given back meanwhile
            };
            let path = match event.file_name() {
                Some(name) => w.path.join(std::ffi::OsStr::from_bytes(name.to_bytes())),
                None => w.path.clone(),
            };
            if by_path.contains_key(&path) {
                changed.push(path);
            }
        }
        (!changed.is_empty()).then_some(Changes::Paths(changed))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn watcher() -> Watcher {
        Watcher::new().expect("inotify is available on Linux")
    }

    fn real_tempdir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        (dir, real)
    }

    #[test]
    fn only_plain_local_paths_are_watchable() {
        let (_d, root) = real_tempdir();
        let f = root.join("f");
        std::fs::write(&f, b"x").unwrap();
        assert!(watchable(&f));
        assert!(!watchable(Path::new("relative/f")));
        std::os::unix::fs::symlink(&f, root.join("link")).unwrap();
        assert!(!watchable(&root.join("link")));
        std::fs::create_dir(root.join("d")).unwrap();
        assert!(!watchable(&root.join("d/../f")));
        assert!(!watchable(&root.join("missing")));
    }

    #[test]
    fn a_write_is_queued_before_it_returns() {
        let (_d, root) = real_tempdir();
        let f = root.join("f");
        std::fs::write(&f, b"one").unwrap();
        let mut w = watcher();
        let held = w.watch(&f).unwrap();
        assert_eq!(held.len(), f.ancestors().count());
        assert_eq!(w.drain(), None);
        std::fs::write(&f, b"two").unwrap();
        let Some(Changes::Paths(paths)) = w.drain() else {
            panic!("a write is a change");
        };
        assert!(
            !paths.is_empty() && paths.iter().all(|p| p == &f),
            "{paths:?}"
        );
        assert_eq!(w.drain(), None);
    }

    #[test]
    fn renames_above_the_file_are_seen_and_unrelated_entries_are_not() {
        let (_d, root) = real_tempdir();
        std::fs::create_dir(root.join("site")).unwrap();
        let f = root.join("site/f");
        std::fs::write(&f, b"one").unwrap();
        let mut w = watcher();
        let _held = w.watch(&f).unwrap();
        std::fs::write(root.join("other"), b"").unwrap();
        std::fs::write(root.join("site/other"), b"").unwrap();
        assert_eq!(w.drain(), None, "entries nothing cached goes through");
        std::fs::rename(root.join("site"), root.join("old")).unwrap();
        let Some(Changes::Paths(paths)) = w.drain() else {
            panic!("a renamed parent is a change");
        };
        assert!(paths.contains(&root.join("site")));
    }

    #[test]
    fn released_watches_are_removed() {
        let (_d, root) = real_tempdir();
        let a = root.join("a");
        let b = root.join("b");
        std::fs::write(&a, b"a").unwrap();
        std::fs::write(&b, b"b").unwrap();
        let mut w = watcher();
        let ha = w.watch(&a).unwrap();
        let hb = w.watch(&b).unwrap();
        let dirs = root.ancestors().count();
        assert_eq!(w.watches.len(), dirs + 2, "directories are shared");
        w.release(&ha);
        assert_eq!(w.watches.len(), dirs + 1);
        w.release(&hb);
        assert!(w.is_idle());
        assert!(w.by_path.is_empty());
        std::fs::write(&a, b"changed").unwrap();
        assert_eq!(w.drain(), None);
    }

    #[test]
    fn a_second_hard_link_is_not_watched() {
        let (_d, root) = real_tempdir();
        let a = root.join("a");
        std::fs::write(&a, b"a").unwrap();
        std::fs::hard_link(&a, root.join("b")).unwrap();
        let mut w = watcher();
        let _held = w.watch(&a).unwrap();
        let before = w.watches.len();
        assert!(w.watch(&root.join("b")).is_none());
        assert_eq!(w.watches.len(), before, "nothing is left held");
    }
}
