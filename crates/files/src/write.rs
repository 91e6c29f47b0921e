//! Writing beneath the root: a directory opened beneath it (as [`crate::beneath`] opens any
//! path), and files made in it under a temporary name and renamed into place only once whole.
//!
//! Every step is relative to the directory's descriptor (`openat`, `renameat2`, `unlinkat`,
//! `mkdirat`), so once the directory is opened under the policy nothing done to the tree can
//! redirect a write elsewhere, and the name written is always one plain segment.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::{Config, Error};

/// Prefix of a file being written: a dotfile, so listings (and downloads) never show a part.
pub const PART_PREFIX: &str = ".upload-";

/// Permissions of created files and directories (before the umask), as `touch` and `mkdir`.
const FILE_MODE: u32 = 0o644;
const DIR_MODE: u32 = 0o755;

/// Tells apart the temporary files of one process.
static NEXT_PART: AtomicU64 = AtomicU64::new(0);

/// What is at a name in a directory, seen without following a symlink.
#[derive(Debug)]
pub enum Existing {
    /// Nothing.
    Absent,
    /// A regular file, with its metadata (for its `ETag`).
    File(std::fs::Metadata),
    /// A directory.
    Dir,
    /// Anything else: a symlink, a socket, a device. Never replaced.
    Other,
}

/// A directory beneath the root, opened for changes in it.
#[derive(Debug)]
pub struct Dir {
    fd: File,
}

impl Dir {
    /// Opens `rel` beneath the root as policy allows. A missing directory is
    /// [`Error::NotFound`] (a `409` for the writer: RFC 4918 9.7.1's "missing parent").
    pub fn open(cfg: &Config, rel: &Path) -> Result<Dir, Error> {
        let opened = crate::beneath::open(cfg, rel)?;
        if !opened.file.metadata()?.is_dir() {
            return Err(Error::NotFound);
        }
        Ok(Dir { fd: opened.file })
    }

    /// What is at `name`.
    pub fn existing(&self, name: &OsStr) -> Result<Existing, Error> {
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        match rustix::fs::openat(self.fd.as_fd(), name, flags, Mode::empty()) {
            Ok(fd) => {
                let meta = File::from(fd).metadata()?;
                Ok(if meta.is_file() {
                    Existing::File(meta)
                } else if meta.is_dir() {
                    Existing::Dir
                } else {
                    Existing::Other
                })
            }
            Err(Errno::NOENT) => Ok(Existing::Absent),
            Err(Errno::LOOP | Errno::NXIO) => Ok(Existing::Other),
            Err(e) => Err(io::Error::from(e).into()),
        }
    }

    /// A new, empty temporary file in this directory, removed again unless committed.
    pub fn part(self: &Arc<Self>) -> Result<Part, Error> {
        loop {
            let n = NEXT_PART.fetch_add(1, Ordering::Relaxed);
            let name = OsString::from(format!("{PART_PREFIX}{}-{n}.part", std::process::id()));
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
            match rustix::fs::openat(self.fd.as_fd(), &name, flags, Mode::from(FILE_MODE)) {
                Ok(fd) => {
                    return Ok(Part {
                        dir: Arc::clone(self),
                        name,
                        file: Some(File::from(fd)),
                        committed: false,
                    });
                }
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(io::Error::from(e).into()),
            }
        }
    }

    /// Creates the directory `name`; `Ok(false)` when something is there already.
    pub fn mkdir(&self, name: &OsStr) -> Result<bool, Error> {
        match rustix::fs::mkdirat(self.fd.as_fd(), name, Mode::from(DIR_MODE)) {
            Ok(()) => Ok(true),
            Err(Errno::EXIST) => Ok(false),
            Err(e) => Err(io::Error::from(e).into()),
        }
    }

    /// Removes the file or empty directory `name`; `Ok(false)` when a directory is not empty.
    pub fn remove(&self, name: &OsStr, dir: bool) -> Result<bool, Error> {
        let flags = if dir {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        match rustix::fs::unlinkat(self.fd.as_fd(), name, flags) {
            Ok(()) => Ok(true),
            Err(Errno::NOTEMPTY | Errno::EXIST) => Ok(false),
            Err(e) => Err(io::Error::from(e).into()),
        }
    }
}

/// A temporary file being written; dropped without [`Part::commit`], it is removed, so a cut
/// upload leaves nothing behind.
#[derive(Debug)]
pub struct Part {
    dir: Arc<Dir>,
    name: OsString,
    file: Option<File>,
    committed: bool,
}

impl Part {
    /// The open file, to write into (taken once).
    pub fn take_file(&mut self) -> Option<File> {
        self.file.take()
    }

    /// Renames the file to `name`: replacing what is there when `replace`, otherwise failing
    /// with `Ok(false)` when something is (`RENAME_NOREPLACE`, atomic).
    pub fn commit(mut self, name: &OsStr, replace: bool) -> Result<bool, Error> {
        let fd = self.dir.fd.as_fd();
        let flags = if replace {
            RenameFlags::empty()
        } else {
            RenameFlags::NOREPLACE
        };
        match rustix::fs::renameat_with(fd, &self.name, fd, name, flags) {
            Ok(()) => {
                self.committed = true;
                Ok(true)
            }
            Err(Errno::EXIST) => Ok(false),
            Err(e) => Err(io::Error::from(e).into()),
        }
    }
}

impl Drop for Part {
    fn drop(&mut self) {
        if !self.committed {
            let _ = rustix::fs::unlinkat(self.dir.fd.as_fd(), &self.name, AtFlags::empty());
        }
    }
}

/// The name `rel` ends with, and the directory it is in; `None` for the root itself.
pub fn split(rel: &Path) -> Option<(&Path, &OsStr)> {
    let name = rel.file_name()?;
    Some((rel.parent().unwrap_or(Path::new("")), name))
}

/// Whether a name a client sent (a form's file name) may be created: one plain segment, as
/// strict as [`crate::resolve`] is with paths, and not a dotfile unless those are shown.
pub fn check_name(name: &[u8], hidden: bool) -> Result<(), Error> {
    match name {
        b"" | b"." | b".." => Err(Error::BadPath("not a file name")),
        [b'.', ..] if !hidden => Err(Error::Forbidden),
        _ if name
            .iter()
            .any(|&b| b == 0 || b == b'/' || b == b'\\' || b < 0x20) =>
        {
            Err(Error::BadPath("not a file name"))
        }
        _ if OsStr::from_bytes(name).len() > 255 => Err(Error::BadPath("name too long")),
        _ => Ok(()),
    }
}

/// Bytes in the regular files under `root`, for the quota (symlinks not followed).
pub fn used(root: &Path) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_plain_segments() {
        assert!(check_name(b"report.pdf", false).is_ok());
        assert!(check_name("\u{e9}t\u{e9} 2024.txt".as_bytes(), false).is_ok());
        for bad in [&b""[..], b".", b"..", b"a/b", b"a\\b", b"a\0b", b"a\nb"] {
            assert!(
                matches!(check_name(bad, true), Err(Error::BadPath(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            check_name(b".htaccess", false),
            Err(Error::Forbidden)
        ));
        assert!(check_name(b".htaccess", true).is_ok());
    }

    #[test]
    fn a_part_not_committed_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = Config::new(tmp.path()).unwrap();
        let dir = Arc::new(Dir::open(&cfg, Path::new("")).unwrap());
        {
            let mut part = dir.part().unwrap();
            use std::io::Write;
            part.take_file().unwrap().write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        let mut part = dir.part().unwrap();
        drop(part.take_file());
        assert!(part.commit(OsStr::new("a"), false).unwrap());
        let part = dir.part().unwrap();
        assert!(!part.commit(OsStr::new("a"), false).unwrap(), "no replace");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
        assert!(matches!(
            dir.existing(OsStr::new("a")).unwrap(),
            Existing::File(_)
        ));
        assert!(dir.mkdir(OsStr::new("d")).unwrap());
        assert!(!dir.mkdir(OsStr::new("d")).unwrap());
        assert!(dir.remove(OsStr::new("d"), true).unwrap());
    }
}
