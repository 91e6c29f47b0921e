//! Per-site access logs: `[[site]] access-log = "path"` (and `log-format`), as nginx's
//! `access_log` inside a `server` block. A request a site with its own log answers is logged
//! there, in that log's format; every other request goes to the server's log.
//!
//! The site is chosen by `Host`, as the sites themselves are ([`config::table::Hosts`]), when
//! the request head is noted, before the handler runs. A reload opens the files it names anew
//! and keeps those it still names open (no line lost, no second descriptor); a log it no
//! longer names writes what it holds once the last request logging to it is done.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwap;
use server::AccessLog;
use server::access_log::Format;

/// The site logs of one configuration.
pub struct Opened {
    hosts: config::table::Hosts,
    /// By site index: the site's log in its format.
    by_site: Vec<Option<AccessLog>>,
    /// Each file once, as opened.
    files: Vec<(PathBuf, AccessLog)>,
}

impl Opened {
    /// Opens the files `config`'s sites name, taking those `previous` already has open.
    pub fn open(config: &config::Config, previous: Option<&Opened>) -> Result<Opened, String> {
        let mut files: Vec<(PathBuf, AccessLog)> = Vec::new();
        let mut by_site = Vec::with_capacity(config.sites.len());
        for site in &config.sites {
            let Some((path, format)) = &site.access_log else {
                by_site.push(None);
                continue;
            };
            let known = files
                .iter()
                .chain(previous.map_or(&[][..], |p| &p.files[..]))
                .find(|(p, _)| p == path)
                .map(|(_, log)| log.clone());
            let log = match known {
                Some(log) => log,
                None => AccessLog::file(path)
                    .map_err(|e| format!("cannot open access log {}: {e}", path.display()))?,
            };
            if !files.iter().any(|(p, _)| p == path) {
                files.push((path.clone(), log.clone()));
            }
            by_site.push(Some(log.with_format(format_of(*format))));
        }
        Ok(Opened {
            hosts: config::table::Hosts::new(&config.sites),
            by_site,
            files,
        })
    }

    /// Whether any site has its own log.
    pub fn any(&self) -> bool {
        !self.files.is_empty()
    }
}

fn format_of(f: config::LogFormat) -> Format {
    match f {
        config::LogFormat::Common => Format::Common,
        config::LogFormat::Combined => Format::Combined,
        config::LogFormat::Json => Format::Json,
    }
}

/// The site logs in use, swapped whole by a reload; what the server's access log asks.
pub struct SiteLogs(ArcSwap<Opened>);

impl SiteLogs {
    pub fn new(opened: Opened) -> SiteLogs {
        SiteLogs(ArcSwap::from_pointee(opened))
    }

    /// The logs in use now.
    pub fn current(&self) -> Arc<Opened> {
        self.0.load_full()
    }

    /// Switches to the logs of a configuration just loaded.
    pub fn replace(&self, opened: Opened) {
        self.0.store(Arc::new(opened));
    }

    /// The server's log (`None`: off) with these sites' logs beside it. With the server's
    /// log off and no site log, nothing is noted per request at all (a reload that adds a
    /// site log then takes a restart, as documented).
    pub fn attach(self: &Arc<Self>, global: Option<AccessLog>) -> Option<AccessLog> {
        let sites: Arc<dyn server::access_log::SiteLogs> = self.clone();
        match global {
            Some(log) => Some(log.with_sites(sites)),
            None if self.0.load().any() => Some(AccessLog::off().with_sites(sites)),
            None => None,
        }
    }
}

impl server::access_log::SiteLogs for SiteLogs {
    fn route(&self, head: &http1::RequestHead) -> Option<AccessLog> {
        let now = self.0.load();
        if !now.any() {
            return None;
        }
        let site = now.hosts.find(head.host())?;
        now.by_site.get(site)?.clone()
    }

    fn logs(&self) -> Vec<AccessLog> {
        self.0.load().files.iter().map(|(_, l)| l.clone()).collect()
    }
}
