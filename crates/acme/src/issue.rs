//! One issuance (RFC 8555 section 7): the account, the order, the challenges, the CSR, the chain.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, ChallengeType, Identifier,
    NewAccount, NewOrder, Order, OrderStatus, RetryPolicy,
};
use rcgen::{CertificateParams, DistinguishedName, KeyPair};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::challenges::{Challenges, Published, tls_alpn01_certificate};
use crate::error::acme;
use crate::store::{Paths, read_optional, write_secret};
use crate::{Challenge, Config, Error};

/// How long to wait for a TCP connection to the ACME server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to poll an order while the CA validates the challenges or issues the certificate.
const POLL_TIMEOUT: Duration = Duration::from_secs(90);
/// The first pause between two polls of an order; it doubles after each poll.
const POLL_FIRST_DELAY: Duration = Duration::from_millis(250);

/// The HTTPS client that talks to the ACME server.
pub(crate) type HttpClient = Client<HttpsConnector<HttpConnector>, BodyWrapper<bytes::Bytes>>;

/// An HTTPS client that trusts the system's roots plus those in `extra_ca` (a PEM file), so a
/// test CA such as pebble can be used without trusting it system-wide.
pub(crate) fn http_client(extra_ca: Option<&Path>) -> Result<HttpClient, Error> {
    let extra = match extra_ca {
        Some(path) => read_roots(path)?,
        None => Vec::new(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
            .map_err(|e| Error::Config(format!("cannot load the trusted roots: {e}")))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let https = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bad = |reason: String| Error::TrustedCa {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let roots = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if roots.is_empty() {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(roots)
}

/// What one issuance needs.
pub(crate) struct Issuer<'a> {
    pub config: &'a Config,
    pub http: &'a HttpClient,
    pub paths: &'a Paths,
    pub challenges: &'a Challenges,
}

/// A certificate as the CA sent it and the key made for it, both PEM.
pub(crate) struct Fresh {
    pub chain_pem: String,
    pub key_pem: String,
}

impl Issuer<'_> {
    /// Orders, validates and downloads a certificate for the configured domains.
    pub async fn issue(&self) -> Result<Fresh, Error> {
        let identifiers: Vec<Identifier> = self
            .config
            .domains
            .iter()
            .map(|d| Identifier::Dns(d.clone()))
            .collect();
        let new_order = NewOrder::new(&identifiers);
        let account = self.account().await?;
        let placed = account
            .new_order(&new_order)
            .await
            .map_err(acme("placing the order"));
        let (account, mut order) = match placed {
            // The CA forgot the account (a test CA restarted, or it was deactivated): make a new one.
            Err(e) if e.is_unknown_account() => {
                tracing::warn!(error = %e.report(), "the stored ACME account is unknown; creating a new one");
                let account = self.create_account().await?;
                let order = account
                    .new_order(&new_order)
                    .await
                    .map_err(acme("placing the order"))?;
                (account, order)
            }
            placed => (account, placed?),
        };
        let published = self.answer_challenges(&account, &mut order).await?;
        self.wait_until_ready(&mut order).await?;
        drop(published);
        self.finalize(&mut order).await
    }

    /// The stored account, or a new one (stored 0600: its key is a secret).
    async fn account(&self) -> Result<Account, Error> {
        let Some(bytes) = read_optional(&self.paths.account)? else {
            return self.create_account().await;
        };
        let credentials: AccountCredentials =
            serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt {
                path: self.paths.account.clone(),
                reason: e.to_string(),
            })?;
        Account::builder_with_http(Box::new(self.http.clone()))
            .from_credentials(credentials)
            .await
            .map_err(acme("loading the account"))
    }

    async fn create_account(&self) -> Result<Account, Error> {
        let contact = self
            .config
            .contact_email
            .as_ref()
            .map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let new_account = NewAccount {
            contact: &contacts,
            terms_of_service_agreed: true,
            only_return_existing: false,
        };
        let (account, credentials) = Account::builder_with_http(Box::new(self.http.clone()))
            .create(&new_account, self.config.directory_url.clone(), None)
            .await
            .map_err(acme("creating the account"))?;
        let json = serde_json::to_vec_pretty(&credentials).map_err(|e| Error::Corrupt {
            path: self.paths.account.clone(),
            reason: e.to_string(),
        })?;
        write_secret(&self.paths.account, &json)?;
        tracing::info!(account = account.id(), "created the ACME account");
        Ok(account)
    }

    /// Publishes the answers to every pending authorization's challenges, then tells the CA which
    /// one to validate. The answers stay published until the returned guards are dropped.
    async fn answer_challenges(
        &self,
        account: &Account,
        order: &mut Order,
    ) -> Result<Vec<Published>, Error> {
        let thumbprint = account.key_thumbprint().to_owned();
        let mut published = Vec::new();
        let mut authorizations = order.authorizations();
        while let Some(authz) = authorizations.next().await {
            let mut authz = authz.map_err(acme("fetching an authorization"))?;
            let domain = match authz.identifier().identifier {
                Identifier::Dns(domain) => domain.clone(),
                other => return Err(Error::Order(format!("unexpected identifier {other:?}"))),
            };
            match authz.status {
                AuthorizationStatus::Pending => {}
                // RFC 8555 section 7.1.3: the CA may reuse an authorization that is still valid.
                AuthorizationStatus::Valid => continue,
                status => {
                    return Err(Error::Order(format!(
                        "the authorization for {domain} is {status:?}"
                    )));
                }
            }
            let key_authorization = |kind: ChallengeType| {
                authz
                    .challenges
                    .iter()
                    .find(|c| c.r#type == kind)
                    .map(|c| (c.token.clone(), format!("{}.{thumbprint}", c.token)))
            };
            let http01 = key_authorization(ChallengeType::Http01);
            let tls_alpn01 = match key_authorization(ChallengeType::TlsAlpn01) {
                Some((_, auth)) => Some(tls_alpn01_certificate(&domain, &auth)?),
                None => None,
            };
            let kind = self
                .pick(http01.is_some(), tls_alpn01.is_some())
                .ok_or_else(|| {
                    Error::Order(format!(
                        "the CA offers neither http-01 nor tls-alpn-01 for {domain}"
                    ))
                })?;
            published.push(self.challenges.publish(&domain, http01, tls_alpn01));
            let mut challenge = authz
                .challenge(kind.clone())
                .ok_or_else(|| Error::Order(format!("no {kind:?} challenge for {domain}")))?;
            challenge
                .set_ready()
                .await
                .map_err(acme("answering a challenge"))?;
            tracing::debug!(domain, ?kind, "challenge ready");
        }
        Ok(published)
    }

    /// The configured challenge type if the CA offers it, else the other one.
    fn pick(&self, http01: bool, tls_alpn01: bool) -> Option<ChallengeType> {
        let offered = |c: Challenge| match c {
            Challenge::Http01 => http01.then_some(ChallengeType::Http01),
            Challenge::TlsAlpn01 => tls_alpn01.then_some(ChallengeType::TlsAlpn01),
        };
        let other = match self.config.challenge {
            Challenge::Http01 => Challenge::TlsAlpn01,
            Challenge::TlsAlpn01 => Challenge::Http01,
        };
        offered(self.config.challenge).or_else(|| offered(other))
    }

    /// Polls the order until the CA has validated every authorization.
    async fn wait_until_ready(&self, order: &mut Order) -> Result<(), Error> {
        let polled = order.poll_ready(&poll_policy()).await;
        match polled {
            Ok(OrderStatus::Ready) => Ok(()),
            Ok(status) => Err(self
                .why_invalid(order)
                .await
                .unwrap_or_else(|| Error::Order(format!("the order is {status:?}")))),
            Err(e) => Err(self
                .why_invalid(order)
                .await
                .unwrap_or_else(|| acme("waiting for validation")(e))),
        }
    }

    /// The first challenge error of the order's authorizations, as the CA now reports them.
    async fn why_invalid(&self, order: &mut Order) -> Option<Error> {
        let mut authorizations = order.authorizations();
        while let Some(Ok(mut authz)) = authorizations.next().await {
            let Ok(state) = authz.refresh().await else {
                continue;
            };
            let domain = match state.identifier().identifier {
                Identifier::Dns(domain) => domain.clone(),
                other => format!("{other:?}"),
            };
            if let Some(problem) = state.challenges.iter().find_map(|c| c.error.as_ref()) {
                let detail = problem
                    .detail
                    .clone()
                    .unwrap_or_else(|| problem.to_string());
                // The CA's text goes into a one-line message.
                let detail = detail.replace(['\r', '\n'], " ");
                return Some(Error::Challenge { domain, detail });
            }
        }
        None
    }

    /// Sends a CSR for a fresh key and downloads the chain. The key is ECDSA P-256: what
    /// Let's Encrypt and Caddy default to, and the cheapest to sign handshakes with.
    async fn finalize(&self, order: &mut Order) -> Result<Fresh, Error> {
        let cert_error = |e: rcgen::Error| Error::Certificate(format!("making the CSR: {e}"));
        let key = KeyPair::generate().map_err(cert_error)?;
        let mut params = CertificateParams::new(self.config.domains.clone()).map_err(cert_error)?;
        params.distinguished_name = DistinguishedName::new();
        let csr = params.serialize_request(&key).map_err(cert_error)?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(acme("finalizing the order"))?;
        let chain_pem = order
            .poll_certificate(&poll_policy())
            .await
            .map_err(acme("downloading the certificate"))?;
        Ok(Fresh {
            chain_pem,
            key_pem: key.serialize_pem(),
        })
    }
}

fn poll_policy() -> RetryPolicy {
    RetryPolicy::new()
        .initial_delay(POLL_FIRST_DELAY)
        .backoff(2.0)
        .timeout(POLL_TIMEOUT)
}
