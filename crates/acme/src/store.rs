//! The state directory: the account's credentials and the certificate with its key.
//!
//! Layout, one directory per CA so that switching between a staging and a production directory
//! never mixes their accounts or certificates (Caddy does the same):
//!
//! ```text
//! STATE_DIR/                          0700
//!   <directory URL as a name>/
//!     account.json                    0600: the account key and URL (instant-acme's credentials)
//!     <first domain>/cert.pem         the full chain, leaf first
//!     <first domain>/key.pem          0600: the certificate's private key, PKCS#8
//! ```
//!
//! Files are written to a temporary name and renamed, so a crash never leaves half a file.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::Error;
use crate::challenges::certified_key;

/// Permissions of files that hold a private key: the owner's alone.
const SECRET_MODE: u32 = 0o600;
/// Permissions of the state directories: the owner's alone.
const DIR_MODE: u32 = 0o700;

/// Where one configuration's files live.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub account: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Paths {
    pub fn new(state_dir: &Path, directory_url: &str, first_domain: &str) -> Self {
        let ca = state_dir.join(directory_slug(directory_url));
        let domain = ca.join(first_domain);
        Paths {
            account: ca.join("account.json"),
            cert: domain.join("cert.pem"),
            key: domain.join("key.pem"),
        }
    }
}

/// A directory URL as one file name: the scheme dropped, anything but letters, digits, `.` and
/// `-` replaced by `-` (`acme-v02.api.letsencrypt.org-directory`).
fn directory_slug(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// An issued certificate, ready to serve, with the dates that decide its renewal.
#[derive(Clone)]
pub struct Issued {
    /// The chain and its signing key, as rustls serves them.
    pub key: Arc<CertifiedKey>,
    /// The leaf's notBefore.
    pub not_before: SystemTime,
    /// The leaf's notAfter.
    pub not_after: SystemTime,
    /// The leaf's DNS names (subjectAltName), lower case.
    pub names: Vec<String>,
}

impl Issued {
    /// Builds from PEM text; `origin` names the file in errors.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8], origin: &Path) -> Result<Self, Error> {
        let corrupt = |reason: String| Error::Corrupt {
            path: origin.to_path_buf(),
            reason,
        };
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt(format!("a bad certificate PEM: {e}")))?;
        let leaf = chain
            .first()
            .ok_or_else(|| corrupt("no certificate".into()))?;
        let (_, parsed) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|e| corrupt(format!("a bad certificate: {e}")))?;
        let validity = parsed.validity();
        let not_before = unix_time(validity.not_before.timestamp());
        let not_after = unix_time(validity.not_after.timestamp());
        let names = match parsed.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    x509_parser::extensions::GeneralName::DNSName(dns) => {
                        Some(dns.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| corrupt(format!("a bad private key PEM: {e}")))?;
        let key = certified_key(chain, key).map_err(|e| corrupt(e.to_string()))?;
        Ok(Issued {
            key,
            not_before,
            not_after,
            names,
        })
    }

    /// When to renew: at two thirds of the lifetime, as Let's Encrypt advises (30 days before the
    /// end of a 90-day certificate) and Caddy does.
    pub fn renew_at(&self) -> SystemTime {
        let lifetime = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or(Duration::ZERO);
        self.not_before + lifetime * 2 / 3
    }

    /// Whether it names every one of `domains` (already lower case).
    pub fn covers(&self, domains: &[String]) -> bool {
        domains.iter().all(|d| self.names.contains(d))
    }
}

fn unix_time(secs: i64) -> SystemTime {
    match u64::try_from(secs) {
        Ok(secs) => UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => UNIX_EPOCH,
    }
}

/// Reads a file, `None` if it does not exist.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::State {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The stored certificate for these paths, if both files exist.
pub(crate) fn load_certificate(paths: &Paths) -> Result<Option<Issued>, Error> {
    let (Some(chain), Some(key)) = (read_optional(&paths.cert)?, read_optional(&paths.key)?) else {
        return Ok(None);
    };
    Issued::from_pem(&chain, &key, &paths.cert).map(Some)
}

/// Stores a certificate: the key first, so a chain on disk always has its key beside it.
pub(crate) fn store_certificate(
    paths: &Paths,
    chain_pem: &str,
    key_pem: &str,
) -> Result<(), Error> {
    write_atomic(&paths.key, key_pem.as_bytes(), SECRET_MODE)?;
    write_atomic(&paths.cert, chain_pem.as_bytes(), 0o644)
}

/// Writes `bytes` to `path` with `mode` through a temporary file and a rename, creating the
/// parent directories (0700) first.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), Error> {
    let state = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::State { path, source }
    };
    if let Some(parent) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(parent)
            .map_err(state(parent))?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(state(&tmp))?;
    file.write_all(bytes).map_err(state(&tmp))?;
    file.sync_all().map_err(state(&tmp))?;
    fs::rename(&tmp, path).map_err(state(path))
}

/// Writes a file that holds a secret (0600).
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    write_atomic(path, bytes, SECRET_MODE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_url_becomes_one_file_name() {
        assert_eq!(
            directory_slug("https://acme-v02.api.letsencrypt.org/directory"),
            "acme-v02.api.letsencrypt.org-directory"
        );
        assert_eq!(
            directory_slug("https://127.0.0.1:14000/dir"),
            "127.0.0.1-14000-dir"
        );
    }

    #[test]
    fn stored_key_is_private_to_the_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::new(dir.path(), "https://ca.test/dir", "a.example");
        store_certificate(&paths, "chain", "key").unwrap();
        let mode = fs::metadata(&paths.key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(paths.key.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn renewal_falls_at_two_thirds_of_the_lifetime() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["a.example".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2030, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 4, 1); // 90 days
        let cert = params.self_signed(&key).unwrap();
        let issued = Issued::from_pem(
            cert.pem().as_bytes(),
            key.serialize_pem().as_bytes(),
            Path::new("mem"),
        )
        .unwrap();
        let lifetime = issued.not_after.duration_since(issued.not_before).unwrap();
        assert_eq!(lifetime, Duration::from_secs(90 * 86_400));
        assert_eq!(
            issued.renew_at(),
            issued.not_before + Duration::from_secs(60 * 86_400)
        );
        assert!(issued.covers(&["a.example".into()]));
        assert!(!issued.covers(&["b.example".into()]));
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_refused() {
        let key = rcgen::KeyPair::generate().unwrap();
        let other = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["a.example".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let err = Issued::from_pem(
            cert.pem().as_bytes(),
            other.serialize_pem().as_bytes(),
            Path::new("cert.pem"),
        )
        .err()
        .expect("mismatched key refused");
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    }
}
