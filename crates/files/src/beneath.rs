//! Opening a request's path beneath the root in one step, so that nothing can swap a symlink in
//! between a containment check and the open.
//!
//! The usual path has no symlink on it and is opened with `openat2(2)` relative to the root
//! with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`: the kernel itself refuses to leave the root or
//! to follow a link, whatever happens to the tree meanwhile. A path that does go through a
//! symlink (the kernel says `ELOOP`) is resolved by `realpath` and checked against the policy
//! (inside the root, not a dotfile unless shown; anywhere with `--follow-symlinks`), and the
//! real path it found is then opened again with `RESOLVE_NO_SYMLINKS`: if a link was swapped in
//! since, that open fails rather than following it. Where the kernel lacks `openat2` (before
//! Linux 5.6, `ENOSYS`), the same `realpath` check is followed by a plain open: the check and
//! the open are then two steps, as in most servers. (Some seccomp filters answer `EPERM`
//! instead; a probe of the root tells that apart from a file that may not be opened.)

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::{Config, Error};

/// How often an open is tried again when the kernel reports that a rename raced with it
/// (`EAGAIN` from `openat2`); past that the path counts as not there.
const RACE_RETRIES: usize = 4;

/// Set once `openat2` was found missing (`ENOSYS`), so later opens go straight to the fallback.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// How every file is opened: for reading, never becoming a terminal, and without blocking on a
/// FIFO (which is then refused because `fstat` says it is not a file).
fn flags() -> OFlags {
    OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY
}

/// A file or directory opened beneath the root.
#[derive(Debug)]
pub struct Opened {
    /// The open file.
    pub file: File,
    /// Its path as the request named it, under the root (symlinks not resolved): the cache
    /// revalidates through it, so a link pointed elsewhere later is noticed.
    pub path: PathBuf,
}

/// Opens `rel` (a [`crate::resolve`]d path, so free of `..`) beneath `cfg.root`, as the policy
/// allows: anything not allowed is [`Error::NotFound`], like anything not there, so that a
/// refusal does not tell that a file exists.
pub fn open(cfg: &Config, rel: &Path) -> Result<Opened, Error> {
    open_with(cfg, rel, !NO_OPENAT2.load(Ordering::Relaxed))
}

/// [`open`] with `openat2`, or (`beneath` false) with the fallback for kernels without it.
fn open_with(cfg: &Config, rel: &Path, mut beneath: bool) -> Result<Opened, Error> {
    let path = cfg.root.join(rel);
    if beneath {
        match open_plain(&cfg.root, rel) {
            Ok(fd) => {
                let file = fd.into();
                return Ok(Opened { file, path });
            }
            // A symlink on the way: resolve it and apply the policy below.
            Err(Errno::LOOP) => {}
            // `ENOSYS` before Linux 5.6; `EPERM` from seccomp filters that predate the call
            // (older container runtimes). Either way the root itself cannot be opened so.
            Err(e @ (Errno::NOSYS | Errno::PERM)) => {
                if open_plain(&cfg.root, Path::new("")).is_ok() {
                    return Err(io::Error::from(e).into());
                }
                NO_OPENAT2.store(true, Ordering::Relaxed);
                beneath = false;
            }
            Err(e) => return Err(io::Error::from(e).into()),
        }
    }
    let real = std::fs::canonicalize(&path)?;
    let file = match real.strip_prefix(&cfg.root) {
        Ok(inner) if !cfg.hidden && has_dotfile(inner) => return Err(Error::NotFound),
        Ok(inner) if beneath => match open_plain(&cfg.root, inner) {
            Ok(fd) => File::from(fd),
            // The tree changed since `realpath`: a link swapped in, or the file gone.
            Err(Errno::LOOP) => return Err(Error::NotFound),
            Err(e) => return Err(io::Error::from(e).into()),
        },
        Ok(_) => open_path(&real)?,
        Err(_) if cfg.follow_symlinks => open_path(&real)?,
        Err(_) => return Err(Error::NotFound),
    };
    Ok(Opened { file, path })
}

/// Whether the symlink at `link` may be shown and followed: its target exists and is inside
/// `root` and not a dotfile (unless `hidden`), or anywhere when `follow_symlinks`. Used for
/// listings, which must hide what [`open`] would refuse.
pub fn link_allowed(root: &Path, link: &Path, hidden: bool, follow_symlinks: bool) -> bool {
    let Ok(real) = std::fs::canonicalize(link) else {
        return false;
    };
    match real.strip_prefix(root) {
        Ok(inner) => hidden || !has_dotfile(inner),
        Err(_) => follow_symlinks,
    }
}

/// Whether any segment of `rel` names a dotfile.
fn has_dotfile(rel: &Path) -> bool {
    rel.iter().any(|s| s.as_bytes().starts_with(b"."))
}

/// `openat2(root, rel, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, with the root opened first
/// (a fresh descriptor per lookup, so a root directory replaced by a rename is followed).
fn open_plain(root: &Path, rel: &Path) -> Result<OwnedFd, Errno> {
    let dir = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel: &OsStr = if rel.as_os_str().is_empty() {
        OsStr::new(".")
    } else {
        rel.as_os_str()
    };
    let how = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(&dir, rel, flags(), Mode::empty(), how) {
            Err(Errno::AGAIN) if tries < RACE_RETRIES => tries += 1,
            // Only an escape can cross `RESOLVE_BENEATH`; none survives `resolve`, but if one
            // did it would not be there.
            Err(Errno::XDEV) => return Err(Errno::NOENT),
            other => return other,
        }
    }
}

/// Opens an already checked absolute path (the fallback, and links `--follow-symlinks` allows).
fn open_path(path: &Path) -> io::Result<File> {
    Ok(rustix::fs::open(path, flags(), Mode::empty())?.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    fn setup() -> (tempfile::TempDir, tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::write(r.join("a.txt"), "a").unwrap();
        std::fs::write(r.join(".env"), "secret").unwrap();
        std::fs::write(out.path().join("o.txt"), "out").unwrap();
        symlink("a.txt", r.join("rel")).unwrap();
        symlink(r.join("a.txt"), r.join("abs")).unwrap();
        symlink(".env", r.join("env")).unwrap();
        symlink(out.path().join("o.txt"), r.join("out")).unwrap();
        let cfg = Config::new(r).unwrap();
        (dir, out, cfg)
    }

    fn read(cfg: &Config, rel: &str, beneath: bool) -> Result<String, Error> {
        let mut s = String::new();
        open_with(cfg, Path::new(rel), beneath)?
            .file
            .read_to_string(&mut s)
            .unwrap();
        Ok(s)
    }

    #[test]
    fn links_inside_are_followed_and_the_rest_is_not_found() {
        policy(true);
    }

    #[test]
    fn without_openat2_the_policy_is_the_same() {
        policy(false);
    }

    fn policy(beneath: bool) {
        let read = |cfg: &Config, rel: &str| read(cfg, rel, beneath);
        let (_d, _o, mut cfg) = setup();
        assert_eq!(read(&cfg, "a.txt").unwrap(), "a");
        assert_eq!(read(&cfg, "rel").unwrap(), "a");
        assert_eq!(read(&cfg, "abs").unwrap(), "a");
        assert!(
            open(&cfg, Path::new(""))
                .unwrap()
                .file
                .metadata()
                .unwrap()
                .is_dir()
        );
        for rel in ["env", "out", "missing", "a.txt/x"] {
            assert!(matches!(read(&cfg, rel), Err(Error::NotFound)), "{rel}");
        }
        cfg.hidden = true;
        assert_eq!(read(&cfg, "env").unwrap(), "secret");
        cfg.follow_symlinks = true;
        assert_eq!(read(&cfg, "out").unwrap(), "out");
    }

    #[test]
    fn the_path_kept_is_the_one_requested() {
        let (_d, _o, cfg) = setup();
        assert_eq!(
            open(&cfg, Path::new("rel")).unwrap().path,
            cfg.root.join("rel")
        );
    }

    #[test]
    fn a_link_swapped_in_after_the_check_is_never_followed() {
        // The second open of a checked path refuses any symlink on it, so a directory
        // replaced by a link out between `realpath` and the open cannot lead out.
        let (_d, out, cfg) = setup();
        std::fs::create_dir(cfg.root.join("d")).unwrap();
        std::fs::write(cfg.root.join("d/o.txt"), "in").unwrap();
        assert!(open_plain(&cfg.root, Path::new("d/o.txt")).is_ok());
        std::fs::rename(cfg.root.join("d"), cfg.root.join("d-old")).unwrap();
        symlink(out.path(), cfg.root.join("d")).unwrap();
        assert_eq!(
            open_plain(&cfg.root, Path::new("d/o.txt")).err(),
            Some(Errno::LOOP)
        );
    }

    #[test]
    fn listings_apply_the_same_policy() {
        let (_d, _o, cfg) = setup();
        let ok = |name: &str, hidden, follow| {
            link_allowed(&cfg.root, &cfg.root.join(name), hidden, follow)
        };
        assert!(ok("rel", false, false));
        assert!(!ok("env", false, false));
        assert!(ok("env", true, false));
        assert!(!ok("out", false, false));
        assert!(ok("out", false, true));
    }
}
