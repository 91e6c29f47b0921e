//! The file's shape as serde reads it: every table refuses unknown keys, and the values that
//! validation judges keep their span so a mistake is reported where it is written.
//!
//! These types are also what `config-from-flags` serializes, so the TOML it prints is the
//! shape this module reads. Keys are kebab-case, as the command-line flags are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// The per-path rules a site sets for all its routes and a route may override, key by key.
/// They are written as keys of the site or route table itself (serde's `flatten` would lose
/// the spans and the refusal of unknown keys), so [`with_rules`] adds them to both.
#[derive(Debug, Default)]
pub struct RulesRaw {
    pub headers: Option<HeadersRaw>,
    pub cors: Option<Spanned<CorsRaw>>,
    pub cache: Option<Spanned<CacheRaw>>,
    pub limits: Option<LimitsRaw>,
    pub allow: Option<Vec<Spanned<String>>>,
    pub deny: Option<Vec<Spanned<String>>>,
    pub rate: Option<Spanned<RateRaw>>,
    pub auth: Option<Spanned<AuthRaw>>,
}

/// Adds the [`RulesRaw`] keys to a site or route table, and `take_rules` to take them out.
macro_rules! with_rules {
    ($(#[$m:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            $($body)*
            #[serde(skip_serializing_if = "Option::is_none")]
            pub headers: Option<HeadersRaw>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub cors: Option<Spanned<CorsRaw>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub cache: Option<Spanned<CacheRaw>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub limits: Option<LimitsRaw>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub allow: Option<Vec<Spanned<String>>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub deny: Option<Vec<Spanned<String>>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub rate: Option<Spanned<RateRaw>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            pub auth: Option<Spanned<AuthRaw>>,
        }

        impl $name {
            /// The rules written in this table.
            pub fn take_rules(&mut self) -> RulesRaw {
                RulesRaw {
                    headers: self.headers.take(),
                    cors: self.cors.take(),
                    cache: self.cache.take(),
                    limits: self.limits.take(),
                    allow: self.allow.take(),
                    deny: self.deny.take(),
                    rate: self.rate.take(),
                    auth: self.auth.take(),
                }
            }

            /// Writes `rules` into this table (for printing).
            pub fn put_rules(&mut self, rules: RulesRaw) {
                self.headers = rules.headers;
                self.cors = rules.cors;
                self.cache = rules.cache;
                self.limits = rules.limits;
                self.allow = rules.allow;
                self.deny = rules.deny;
                self.rate = rules.rate;
                self.auth = rules.auth;
            }
        }
    };
}

/// A whole file, but for the `[[listen]]` and `[[site]]` arrays, which are read one element at
/// a time so that a mistake in one does not hide the others.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Top {
    /// Settings of the process and every listener.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerRaw>,
    /// How the certificates of the listeners' `acme` names are obtained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<Spanned<AcmeRaw>>,
    /// Placeholders: the arrays are taken out of the tree before this table is read.
    #[serde(default, skip_serializing)]
    pub listen: Option<toml::Value>,
    #[serde(default, skip_serializing)]
    pub site: Option<toml::Value>,
}

/// `[server]`: what the global flags say (threads, limits, timeouts, the access log).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threads: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_timeout: Option<Spanned<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_timeout: Option<Spanned<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Spanned<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_timeout: Option<Spanned<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace: Option<Spanned<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_size: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_header_size: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_headers: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_request_line: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http2: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet: Option<bool>,
    /// What a request for a host no site claims gets when no site is the default: 421 or 404.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_host: Option<Spanned<u16>>,
}

/// One `[[listen]]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ListenRaw {
    pub addr: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Spanned<TlsRaw>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acme: Option<Spanned<Vec<Spanned<String>>>>,
}

/// `[acme]`: the ACME CA and account for every listener's `acme = [..]` names, as the
/// `--acme-*` flags say them.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AcmeRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<Spanned<f64>>,
}

/// `tls = { cert, key }` or `tls = { self-signed = true }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TlsRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_signed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hsts: Option<u64>,
}

with_rules! {
/// One `[[site]]` without its routes, which are read one at a time.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SiteRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hosts: Option<Vec<Spanned<String>>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    /// This site's own access log (nginx's `access_log` inside a `server` block).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<Spanned<String>>,
    /// Its lines' format; `[server]`'s by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<Spanned<String>>,
    /// Placeholder: taken out of the tree before the site is read.
    #[serde(default, skip_serializing)]
    pub route: Option<toml::Value>,
}
}

/// `headers = { set = {..}, add = {..}, remove = [..] }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HeadersRaw {
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "pairs")]
    pub set: Vec<(Spanned<String>, Spanned<String>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "pairs")]
    pub add: Vec<(Spanned<String>, Spanned<String>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<Spanned<String>>,
}

/// `cors = { origins, methods, headers, expose, credentials, max-age }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CorsRaw {
    #[serde(default)]
    pub origins: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub credentials: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
}

/// `cache = { max-age, immutable, no-store, no-cache }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CacheRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub immutable: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_store: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

/// `limits = { body, timeout }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Spanned<f64>>,
}

/// `rate = { per-second, burst }`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RateRaw {
    pub per_second: Spanned<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub burst: Option<Spanned<u64>>,
}

/// `auth = { realm, htpasswd }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AuthRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<Spanned<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub htpasswd: Option<Spanned<String>>,
    /// `user:password` pairs written in the file (the `--auth` flag's form), for tests and
    /// one-off sites; htpasswd files are the way for anything kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<Spanned<String>>,
}

with_rules! {
/// One `[[site.route]]`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RouteRaw {
    pub path: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Spanned<FilesRaw>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgi: Option<Spanned<CgiRaw>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<Spanned<DemoRaw>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<Spanned<RedirectRaw>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub respond: Option<Spanned<RespondRaw>>,
}
}

/// `files = { .. }`: every option of `sockserve serve`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FilesRaw {
    pub root: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<Vec<Spanned<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_symlinks: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compress: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spa: Option<Spanned<String>>,
    /// Runs files under these URL directories as CGI scripts, as `serve --cgi` does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgi: Option<Spanned<CgiRaw>>,
    /// Uploads and changes (PUT, DELETE, MKCOL, the listing's form), as `serve --upload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload: Option<Spanned<UploadRaw>>,
    /// Whether listings offer `.tar.gz` and `.zip` downloads of their directory [true].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archives: Option<bool>,
}

/// `upload = { public, max-file-size, quota }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct UploadRaw {
    /// Anyone may change files: required when the route has no `auth`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<Spanned<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Spanned<u64>>,
}

/// `cgi = { .. }`: the scripts of a directory.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CgiRaw {
    /// The directory of scripts; in `files.cgi`, the files' root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<Spanned<String>>,
    /// In `files.cgi`: URL directories of scripts under the root [default: /cgi-bin, /htbin].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirs: Option<Vec<Spanned<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Spanned<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<Spanned<u64>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ext: BTreeMap<String, Spanned<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, Spanned<String>>,
}

/// `demo = { db }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DemoRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db: Option<Spanned<String>>,
}

/// `redirect = { to, status }`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RedirectRaw {
    pub to: Spanned<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Spanned<u16>>,
}

/// `respond = { status, body, content-type }`.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RespondRaw {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Spanned<u16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<Spanned<String>>,
}

/// A TOML table read as its pairs in file order (a header set twice is refused by TOML itself).
mod pairs {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;
    use toml::Spanned;

    type Pairs = Vec<(Spanned<String>, Spanned<String>)>;

    pub fn serialize<S: Serializer>(pairs: &Pairs, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (k, v) in pairs {
            map.serialize_entry(k.get_ref(), v.get_ref())?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pairs, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of header names to values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
                let mut out = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    out.push(pair);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}
