//! Pebble, the ACME test CA, started on loopback with its own configuration (and the DNS
//! server it asks). Only std, rcgen and serde_json: the server's integration tests
//! (`tests/it/tls_acme.rs`) include this file too.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

/// How long pebble may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many times to start pebble on new ports when it exits because one was taken.
const START_ATTEMPTS: usize = 5;

/// The names the certificates are ordered for. pebble-challtestsrv, the DNS server pebble asks,
/// answers every name with 127.0.0.1, where the responders listen.
pub const DOMAIN: &str = "sockserve.test";
/// A second name, for certificates that name several.
pub const WWW_DOMAIN: &str = "www.sockserve.test";

/// The programs of Debian's `pebble` package.
pub struct Binaries {
    pebble: PathBuf,
    challtestsrv: PathBuf,
}

/// Pebble and its DNS server, or `None` (with the reason printed) when they are not installed.
pub fn binaries() -> Option<Binaries> {
    let which = |name: &str| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    };
    let found = which("pebble").zip(which("pebble-challtestsrv"));
    if found.is_none() {
        eprintln!("skipping: pebble is not installed (apt-get install pebble; scripts/test does)");
    }
    found.map(|(pebble, challtestsrv)| Binaries {
        pebble,
        challtestsrv,
    })
}

/// Ports this process has handed out: none is handed out twice, so a test that writes down a
/// port, lets go of it and then starts a CA (which draws its own) never gets the CA's.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// `N` distinct ports nobody listens on right now and that this process never handed out
/// before, for listeners whose address must be written down before they start.
///
/// They are picked below the kernel's ephemeral range: a port that `bind(0)` handed out and
/// that was let go can be handed out again to another test's listener or outgoing connection
/// before the server under test binds it; ports outside that range only collide when tests of
/// two processes draw the same one at random.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let below = ephemeral_low().clamp(2048, 65535);
    let span = u64::from(below - 1024);
    let mut seed = random_u64();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut held: Vec<StdListener> = Vec::with_capacity(N);
    while held.len() < N {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let port = (1024 + (seed >> 33) % span) as u16;
        if handed_out.contains(&port) {
            continue;
        }
        if let Ok(l) = StdListener::bind(("127.0.0.1", port)) {
            handed_out.insert(port);
            held.push(l);
        }
    }
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

/// The lowest port of the kernel's ephemeral range (Linux's default when unreadable).
fn ephemeral_low() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768)
}

/// A seed that differs between calls and processes (std's per-map random keys).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

/// A running pebble. Killed on drop.
pub struct Pebble {
    child: Option<Child>,
    dns: DnsServer,
    binary: PathBuf,
    config: PathBuf,
    /// The `pebble` object of its configuration file.
    settings: serde_json::Value,
    log: PathBuf,
    listen: SocketAddr,
    /// Its management interface (`/roots/0`: the root of the certificates it issues).
    pub management: SocketAddr,
    /// The directory URL to give to `acme::Config`.
    pub directory_url: String,
    /// The CA that signed pebble's own HTTPS certificate, for `Config::extra_ca_pem`.
    pub ca_pem: PathBuf,
}

/// What to start pebble with.
pub struct Options {
    /// Where its HTTP-01 validations connect.
    pub http_port: u16,
    /// Where its TLS-ALPN-01 validations connect.
    pub tls_port: u16,
    /// The lifetime of the certificates it issues, if not its default of five years.
    pub validity: Option<Duration>,
}

impl Pebble {
    /// Writes a configuration and a TLS certificate for pebble's listener into `dir`, then starts
    /// it and waits until it listens.
    pub fn start(binaries: &Binaries, dir: &Path, options: &Options) -> Pebble {
        let dns = DnsServer::start(&binaries.challtestsrv, &dir.join("dns.log"));
        let ca_pem = dir.join("pebble-ca.pem");
        let cert = dir.join("pebble-cert.pem");
        let key = dir.join("pebble-key.pem");
        write_listener_certificate(&ca_pem, &cert, &key);
        let mut pebble = serde_json::json!({
            "certificate": cert,
            "privateKey": key,
            "httpPort": options.http_port,
            "tlsPort": options.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        });
        if let Some(validity) = options.validity {
            pebble["certificateValidityPeriod"] = validity.as_secs().into();
        }
        let mut started = Pebble {
            child: None,
            dns,
            binary: binaries.pebble.clone(),
            config: dir.join("pebble-config.json"),
            settings: pebble,
            log: dir.join("pebble.log"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            management: SocketAddr::from(([127, 0, 0, 1], 0)),
            directory_url: String::new(),
            ca_pem,
        };
        // A port picked here may be taken by someone else before pebble binds it: pick again.
        for _ in 0..START_ATTEMPTS {
            let [listen, management] = free_ports::<2>();
            started.listen = SocketAddr::from(([127, 0, 0, 1], listen));
            started.directory_url = format!("https://{}/dir", started.listen);
            if started.spawn(management) {
                return started;
            }
        }
        panic!("pebble did not start:\n{}", started.log());
    }

    /// Starts (again) with the same configuration: a new CA key and no accounts, as after a
    /// real CA's outage that lost its state.
    pub fn restart(&mut self) {
        self.stop();
        for _ in 0..START_ATTEMPTS {
            let [management] = free_ports::<1>();
            if self.spawn(management) {
                return;
            }
        }
        panic!("pebble did not restart:\n{}", self.log());
    }

    /// Starts pebble on `self.listen` and `management`; false if it exited before listening.
    fn spawn(&mut self, management: u16) -> bool {
        self.settings["listenAddress"] = self.listen.to_string().into();
        self.management = SocketAddr::from(([127, 0, 0, 1], management));
        self.settings["managementListenAddress"] = self.management.to_string().into();
        let config = serde_json::json!({ "pebble": self.settings }).to_string();
        std::fs::write(&self.config, config).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.binary)
            .arg("-config")
            .arg(&self.config)
            .arg("-strict=false")
            .arg("-dnsserver")
            .arg(self.dns.addr.to_string())
            // No random sleeps before validating, no nonces rejected at random, no reused
            // authorizations: every order goes through its challenges, at full speed.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("pebble starts");
        let child = self.child.insert(child);
        let up = wait_listening(child, self.listen);
        if !up {
            self.child = None;
        }
        up
    }

    /// Kills it: the CA goes away.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What pebble printed, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Waits until `addr` accepts connections while `child` runs; false if it exited first (a port
/// it needed was taken).
fn wait_listening(child: &mut Child, addr: SocketAddr) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if std::net::TcpStream::connect(addr).is_ok() {
            // Someone else may hold the port while the child fails to bind it (or another
            // port): it exits at once then.
            std::thread::sleep(Duration::from_millis(100));
            if child.try_wait().unwrap().is_none() {
                return true;
            }
        }
        assert!(Instant::now() < deadline, "nothing listened on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// pebble-challtestsrv as a DNS server only: every A query is answered with 127.0.0.1, and AAAA
/// queries with nothing, so validations reach the responders on IPv4 loopback.
struct DnsServer {
    child: Child,
    addr: SocketAddr,
}

impl DnsServer {
    fn start(binary: &Path, log: &Path) -> DnsServer {
        for _ in 0..START_ATTEMPTS {
            let [dns, management] = free_ports::<2>();
            let log = std::fs::File::create(log).unwrap();
            let mut child = Command::new(binary)
                .args([
                    "-http01",
                    "",
                    "-https01",
                    "",
                    "-tlsalpn01",
                    "",
                    "-defaultIPv6",
                    "",
                ])
                .args(["-defaultIPv4", "127.0.0.1"])
                .arg("-dns01")
                .arg(format!("127.0.0.1:{dns}"))
                .arg("-management")
                .arg(format!("127.0.0.1:{management}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("pebble-challtestsrv starts");
            if wait_listening(&mut child, SocketAddr::from(([127, 0, 0, 1], management))) {
                let addr = SocketAddr::from(([127, 0, 0, 1], dns));
                return DnsServer { child, addr };
            }
        }
        panic!("pebble-challtestsrv did not start");
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A CA and a certificate for localhost and 127.0.0.1 signed by it, for pebble's HTTPS listener.
fn write_listener_certificate(ca_pem: &Path, cert_pem: &Path, key_pem: &Path) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sockserve test CA for pebble");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(ca_pem, ca_cert.pem()).unwrap();
    std::fs::write(cert_pem, cert.pem()).unwrap();
    let mut file = std::fs::File::create(key_pem).unwrap();
    file.write_all(key.serialize_pem().as_bytes()).unwrap();
}
