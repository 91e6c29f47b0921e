//! Password files in the formats Apache's `htpasswd` writes, plus argon2.
//!
//! ```text
//! alice:$2y$05$...            htpasswd -B   bcrypt
//! bob:$apr1$salt$digest       htpasswd -m   Apache MD5 (the tool's default)
//! carol:{SHA}base64           htpasswd -s   SHA-1, unsalted
//! dave:$argon2id$v=19$...     a PHC string (argon2 CLI, Python's argon2-cffi, ...)
//! ```
//!
//! Blank lines and lines starting with `#` are skipped; the first line for a user wins, as
//! Apache reads it. A format the file cannot be checked against (crypt(3) DES from
//! `htpasswd -d`, plain text) is an error when the file is loaded, with its line, rather than
//! a user who can never log in.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::apr1;

/// A parsed password file: user names and the hash each must match.
#[derive(Debug, Clone, Default)]
pub struct Htpasswd {
    users: HashMap<String, Hash>,
    /// A hash that a password for an unknown user is checked against, so that asking for a
    /// user who does not exist takes as long as a wrong password (no user enumeration by time).
    decoy: Option<Hash>,
}

/// One stored password.
#[derive(Clone)]
enum Hash {
    /// `$2y$`/`$2b$`/`$2a$`: the whole crypt string.
    Bcrypt(String),
    /// `$apr1$SALT$DIGEST`.
    Apr1 { salt: String, digest: String },
    /// `{SHA}`: SHA-1 of the password.
    Sha1([u8; 20]),
    /// `$argon2id$`, `$argon2i$`, `$argon2d$`: the PHC string.
    Argon2(String),
    /// A password given on the command line (`--auth user:password`), kept as its SHA-256 only.
    Plain([u8; 32]),
}

impl fmt::Debug for Hash {
    /// The scheme only: a hash is not for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hash::Bcrypt(_) => "bcrypt",
            Hash::Apr1 { .. } => "apr1",
            Hash::Sha1(_) => "sha1",
            Hash::Argon2(_) => "argon2",
            Hash::Plain(_) => "plain",
        })
    }
}

/// Why a password file could not be used.
#[derive(Debug)]
pub enum LoadError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A line is not `user:hash` in a known format.
    Line {
        /// The file, when there is one.
        path: Option<PathBuf>,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        kind: LineError,
    },
}

/// What is wrong with one line of a password file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineError {
    /// No `:` between the user and the hash.
    NoColon,
    /// The user name is empty or holds a control character.
    BadUser,
    /// The hash is in a format that cannot be checked here (crypt DES, plain text, ...).
    Unsupported,
    /// The hash starts like a known format but does not parse.
    Malformed(&'static str),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io { path, .. } => write!(f, "cannot read {}", path.display()),
            LoadError::Line { path, line, kind } => {
                if let Some(path) = path {
                    write!(f, "{}:", path.display())?;
                }
                write!(f, "{line}: ")?;
                match kind {
                    LineError::NoColon => f.write_str("expected user:hash"),
                    LineError::BadUser => f.write_str("empty or invalid user name"),
                    LineError::Unsupported => f.write_str(
                        "unsupported hash format (use htpasswd -B, -m or -s, or an argon2 hash)",
                    ),
                    LineError::Malformed(what) => write!(f, "malformed {what} hash"),
                }
            }
        }
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LoadError::Io { source, .. } => Some(source),
            LoadError::Line { .. } => None,
        }
    }
}

impl Htpasswd {
    /// An empty set of users (add some with [`Htpasswd::add_password`]).
    pub fn new() -> Htpasswd {
        Htpasswd::default()
    }

    /// Reads and parses the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Htpasswd, LoadError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Htpasswd::parse(&text).map_err(|e| match e {
            LoadError::Line { line, kind, .. } => LoadError::Line {
                path: Some(path.to_path_buf()),
                line,
                kind,
            },
            io => io,
        })
    }

    /// Parses the text of a password file.
    pub fn parse(text: &str) -> Result<Htpasswd, LoadError> {
        let mut set = Htpasswd::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |kind| LoadError::Line {
                path: None,
                line: i + 1,
                kind,
            };
            let (user, hash) = line.split_once(':').ok_or(err(LineError::NoColon))?;
            check_user(user).map_err(err)?;
            let hash = parse_hash(hash.trim()).map_err(err)?;
            set.insert(user, hash);
        }
        Ok(set)
    }

    /// Adds `user` with a password given in clear (`--auth user:password`). Only its SHA-256
    /// is kept. Fails when the user name is empty or holds `:` or a control character.
    pub fn add_password(&mut self, user: &str, password: &str) -> Result<(), LineError> {
        if user.contains(':') {
            return Err(LineError::BadUser);
        }
        check_user(user)?;
        self.insert(
            user,
            Hash::Plain(Sha256::digest(password.as_bytes()).into()),
        );
        Ok(())
    }

    /// Adds every user of `other` not already here.
    pub fn merge(&mut self, other: Htpasswd) {
        for (user, hash) in other.users {
            self.insert(&user, hash);
        }
    }

    /// Whether `password` is `user`'s. Unknown users take as long as known ones.
    pub fn verify(&self, user: &str, password: &str) -> bool {
        match self.users.get(user) {
            Some(hash) => hash.matches(password),
            None => {
                if let Some(decoy) = &self.decoy {
                    let _ = decoy.matches(password);
                }
                false
            }
        }
    }

    /// Whether `user` is listed.
    pub fn contains(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// How many users there are.
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether there are none (nobody could log in).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The first entry for a user wins, as in Apache.
    fn insert(&mut self, user: &str, hash: Hash) {
        if self.decoy.is_none() {
            self.decoy = Some(hash.clone());
        }
        self.users.entry(user.to_owned()).or_insert(hash);
    }
}

/// A user name is not empty and has no control characters (RFC 7617 2).
fn check_user(user: &str) -> Result<(), LineError> {
    if user.is_empty() || user.chars().any(char::is_control) {
        return Err(LineError::BadUser);
    }
    Ok(())
}

/// Recognises the format of a stored hash by its prefix.
fn parse_hash(hash: &str) -> Result<Hash, LineError> {
    if let Some(rest) = hash.strip_prefix(apr1::MAGIC) {
        let (salt, digest) = rest.split_once('$').ok_or(LineError::Malformed("apr1"))?;
        if digest.len() != 22 || salt.is_empty() {
            return Err(LineError::Malformed("apr1"));
        }
        return Ok(Hash::Apr1 {
            salt: salt.to_owned(),
            digest: digest.to_owned(),
        });
    }
    if let Some(b64) = hash.strip_prefix("{SHA}") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| LineError::Malformed("{SHA}"))?;
        let digest: [u8; 20] = bytes
            .try_into()
            .map_err(|_| LineError::Malformed("{SHA}"))?;
        return Ok(Hash::Sha1(digest));
    }
    if ["$2y$", "$2b$", "$2a$"].iter().any(|p| hash.starts_with(p)) {
        // A valid bcrypt string is 60 characters: `$2y$NN$` and 53 of salt and digest.
        if hash.len() != 60 {
            return Err(LineError::Malformed("bcrypt"));
        }
        return Ok(Hash::Bcrypt(hash.to_owned()));
    }
    if hash.starts_with("$argon2") {
        let parsed = argon2::PasswordHash::new(hash).map_err(|_| LineError::Malformed("argon2"))?;
        if parsed.hash.is_none() || parsed.salt.is_none() {
            return Err(LineError::Malformed("argon2"));
        }
        return Ok(Hash::Argon2(hash.to_owned()));
    }
    Err(LineError::Unsupported)
}

impl Hash {
    /// Whether `password` hashes to this, compared in constant time: the bcrypt and argon2
    /// crates compare their outputs so, and the digests here go through `subtle`.
    fn matches(&self, password: &str) -> bool {
        match self {
            Hash::Bcrypt(h) => bcrypt::verify(password, h).unwrap_or(false),
            Hash::Apr1 { salt, digest } => {
                let computed = apr1::digest(password.as_bytes(), salt.as_bytes());
                computed.as_bytes().ct_eq(digest.as_bytes()).into()
            }
            Hash::Sha1(d) => Sha1::digest(password.as_bytes()).ct_eq(d).into(),
            Hash::Argon2(h) => {
                use argon2::PasswordVerifier as _;
                argon2::PasswordHash::new(h).is_ok_and(|parsed| {
                    argon2::Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
            }
            Hash::Plain(d) => Sha256::digest(password.as_bytes()).ct_eq(d).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines made by `htpasswd -nbB -C 4`, `htpasswd -nbm` (salt fixed through openssl),
    /// `htpasswd -nbs`, and an argon2id hash; every password is `pw` but erin's, `hello`.
    const FILE: &str = "\
# users
carol:$2y$04$nTX04fKFVyMhDB.zpEECTOCh9BZiH6jW8EUzLc7irSbvvNsnfqNii
bob:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=

erin:$apr1$abcdefgh$cy3DSYyOwfhsyu7QOMQzd.\r
bob:{SHA}ZGlmZmVyZW50ZGlmZmVyZW50ZGk=
";

    #[test]
    fn each_format_verifies() {
        let set = Htpasswd::parse(FILE).expect("parses");
        assert_eq!(set.len(), 3);
        assert!(set.verify("carol", "pw"));
        assert!(!set.verify("carol", "pW"));
        assert!(set.verify("bob", "pw"));
        assert!(!set.verify("bob", "pw "));
        assert!(set.verify("erin", "hello"));
        assert!(!set.verify("erin", "hellO"));
        assert!(!set.verify("nobody", "pw"));
    }

    #[test]
    fn argon2_phc_strings() {
        use argon2::PasswordHasher as _;
        let salt =
            argon2::password_hash::SaltString::encode_b64(b"sixteen byte salt").expect("salt");
        let hash = argon2::Argon2::default()
            .hash_password(b"pw", &salt)
            .expect("hashes")
            .to_string();
        let set = Htpasswd::parse(&format!("dave:{hash}\n")).expect("parses");
        assert!(set.verify("dave", "pw"));
        assert!(!set.verify("dave", "px"));
    }

    #[test]
    fn passwords_from_the_command_line() {
        let mut set = Htpasswd::new();
        set.add_password("ann", "s3cret:with colon").expect("valid");
        assert!(set.verify("ann", "s3cret:with colon"));
        assert!(!set.verify("ann", "s3cret"));
        assert_eq!(set.add_password("a:b", "x"), Err(LineError::BadUser));
        assert_eq!(set.add_password("", "x"), Err(LineError::BadUser));
    }

    #[test]
    fn bad_lines_name_their_line() {
        let cases = [
            ("nocolon\n", LineError::NoColon),
            (":$apr1$a$b\n", LineError::BadUser),
            ("des:rl0uE9sSg4Mq2\n", LineError::Unsupported),
            ("x:$apr1$nodigest\n", LineError::Malformed("apr1")),
            ("x:{SHA}short\n", LineError::Malformed("{SHA}")),
            ("x:$2y$05$tooshort\n", LineError::Malformed("bcrypt")),
            ("x:$argon2id$junk\n", LineError::Malformed("argon2")),
        ];
        for (text, want) in cases {
            match Htpasswd::parse(&format!("# c\n{text}")) {
                Err(LoadError::Line { line: 2, kind, .. }) => assert_eq!(kind, want, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn load_reports_the_path() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("users");
        std::fs::write(&path, "a:plaintext\n").expect("write");
        let e = Htpasswd::load(&path).expect_err("unsupported");
        assert!(
            e.to_string().ends_with(
                "users:1: unsupported hash format (use htpasswd -B, -m or -s, or an argon2 hash)"
            ),
            "{e}"
        );
        assert!(Htpasswd::load(dir.path().join("missing")).is_err());
    }
}
