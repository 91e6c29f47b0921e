//! What can go wrong: one variant per thing a caller can do differently.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// An ACME failure. `Display` is one line that names the step; the cause is in `source()`.
#[derive(Debug)]
pub enum Error {
    /// The configuration cannot work (no domain, a domain that is not a DNS name, a wildcard).
    /// Fix the configuration; retrying does not help.
    Config(String),
    /// The extra trusted CA file could not be read or holds no usable certificate.
    TrustedCa {
        /// The file given in [`crate::Config::extra_ca_pem`].
        path: PathBuf,
        /// Why it could not be used.
        reason: String,
    },
    /// A file or directory of the state directory could not be read or written.
    State {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
    /// A stored file is not what this crate writes (bad JSON, bad PEM, a key that does not match).
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The ACME server could not be reached, or answered a request with a problem document.
    /// Usually temporary: the renewal loop retries with back-off.
    Acme {
        /// What the request was for, e.g. "placing the order".
        step: &'static str,
        /// The client's error, which holds the server's problem document if there was one.
        source: instant_acme::Error,
    },
    /// The CA could not validate a challenge for a domain (RFC 8555 section 7.5.1): the domain does
    /// not point here, or the challenge responder is not reachable on the port the CA uses.
    Challenge {
        /// The domain whose authorization failed.
        domain: String,
        /// The CA's explanation.
        detail: String,
    },
    /// The order ended in a state other than valid, or the CA offered no usable challenge.
    Order(String),
    /// A key, a CSR or a certificate could not be made or used.
    Certificate(String),
    /// A whole issuance took longer than [`crate::ISSUE_TIMEOUT`].
    Timeout,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(why) => write!(f, "invalid ACME configuration: {why}"),
            Error::TrustedCa { path, reason } => {
                write!(f, "cannot use the CA file {}: {reason}", path.display())
            }
            Error::State { path, .. } => {
                write!(f, "cannot access the ACME state file {}", path.display())
            }
            Error::Corrupt { path, reason } => {
                write!(
                    f,
                    "the ACME state file {} is unusable: {reason}",
                    path.display()
                )
            }
            Error::Acme { step, .. } => write!(f, "ACME request failed while {step}"),
            Error::Challenge { domain, detail } => {
                write!(f, "the CA could not validate {domain}: {detail}")
            }
            Error::Order(why) => write!(f, "the certificate order failed: {why}"),
            Error::Certificate(why) => write!(f, "certificate error: {why}"),
            Error::Timeout => write!(f, "the certificate order timed out"),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::State { source, .. } => Some(source),
            Error::Acme { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Error {
    /// The message and its causes on one line, for a log line or a CLI error.
    pub fn report(&self) -> String {
        let mut line = self.to_string();
        let mut cause = self.source();
        while let Some(err) = cause {
            line.push_str(": ");
            line.push_str(&err.to_string().replace('\n', " "));
            cause = err.source();
        }
        line
    }

    /// Whether the server said the stored account no longer exists (RFC 8555 section 7.3.1), so
    /// a new one must be made.
    pub(crate) fn is_unknown_account(&self) -> bool {
        match self {
            Error::Acme {
                source: instant_acme::Error::Api(problem),
                ..
            } => problem
                .r#type
                .as_deref()
                .is_some_and(|t| t.ends_with(":accountDoesNotExist")),
            _ => false,
        }
    }
}

/// Wraps an ACME client error with the step it happened in.
pub(crate) fn acme(step: &'static str) -> impl FnOnce(instant_acme::Error) -> Error {
    move |source| Error::Acme { step, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_one_line_and_the_report_adds_the_cause() {
        let io = || io::Error::new(io::ErrorKind::PermissionDenied, "denied");
        let errors = [
            Error::Config("no domain given".into()),
            Error::TrustedCa {
                path: "ca.pem".into(),
                reason: "no PEM certificate in it".into(),
            },
            Error::State {
                path: "/state/key.pem".into(),
                source: io(),
            },
            Error::Corrupt {
                path: "cert.pem".into(),
                reason: "no certificate".into(),
            },
            Error::Acme {
                step: "placing the order",
                source: instant_acme::Error::Str("refused"),
            },
            Error::Challenge {
                domain: "a.test".into(),
                detail: "connection refused".into(),
            },
            Error::Order("the order is Invalid".into()),
            Error::Certificate("making the CSR".into()),
            Error::Timeout,
        ];
        for e in &errors {
            let line = e.to_string();
            assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
        }
        assert_eq!(
            errors[2].report(),
            "cannot access the ACME state file /state/key.pem: denied"
        );
        assert_eq!(
            errors[4].report(),
            "ACME request failed while placing the order: missing data: refused"
        );
        assert!(!errors[0].is_unknown_account());
    }
}
