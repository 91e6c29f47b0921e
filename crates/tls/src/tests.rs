use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{CertificateParams, KeyPair};

use super::*;

/// A self-signed certificate for `names` over `key`, in PEM.
fn cert_for(key: &KeyPair, names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let params = CertificateParams::new(names).expect("params");
    params.self_signed(key).expect("sign").pem()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).expect("write");
    path
}

/// The key in OpenSSL's "traditional" format: PKCS#1 for RSA, SEC1 for ECDSA.
fn traditional(pkcs8_pem: &str, dir: &Path) -> String {
    let input = write(dir, "in.pem", pkcs8_pem);
    let out = Command::new("openssl")
        .args(["pkey", "-traditional", "-in"])
        .arg(&input)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn rsa_key(dir: &Path) -> KeyPair {
    let path = dir.join("rsa.pem");
    let ok = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&path)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl")
        .success();
    assert!(ok);
    let pem = std::fs::read_to_string(&path).expect("read");
    KeyPair::from_pem(&pem).expect("rsa key")
}

fn loads(dir: &Path, cert: &str, key: &str) -> Result<Pair, Error> {
    let c = write(dir, "cert.pem", cert);
    let k = write(dir, "key.pem", key);
    load_pair(&c, &k)
}

/// A directory removed when dropped.
struct Dir(tempfile::TempDir);

impl Dir {
    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn tmp() -> Dir {
    Dir(tempfile::tempdir().expect("tempdir"))
}

#[test]
fn every_key_type_loads_in_pkcs8() {
    let d = tmp();
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ] {
        let key = KeyPair::generate_for(alg).expect("key");
        let pair = loads(d.path(), &cert_for(&key, &["a.test"]), &key.serialize_pem());
        assert_eq!(pair.expect("loads").names, ["a.test"]);
    }
    let rsa = rsa_key(d.path());
    assert!(loads(d.path(), &cert_for(&rsa, &["a.test"]), &rsa.serialize_pem()).is_ok());
}

#[test]
fn rsa_key_loads_in_pkcs1() {
    let d = tmp();
    let rsa = rsa_key(d.path());
    let pkcs1 = traditional(&rsa.serialize_pem(), d.path());
    assert!(pkcs1.contains("BEGIN RSA PRIVATE KEY"));
    assert!(loads(d.path(), &cert_for(&rsa, &["a.test"]), &pkcs1).is_ok());
}

#[test]
fn ecdsa_key_loads_in_sec1() {
    let d = tmp();
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
    ] {
        let key = KeyPair::generate_for(alg).expect("key");
        let sec1 = traditional(&key.serialize_pem(), d.path());
        assert!(sec1.contains("BEGIN EC PRIVATE KEY"));
        assert!(loads(d.path(), &cert_for(&key, &["a.test"]), &sec1).is_ok());
    }
}

#[test]
fn full_chain_is_served_leaf_first() {
    let d = tmp();
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = CertificateParams::new(vec!["a.test".to_string()])
        .expect("params")
        .signed_by(&leaf_key, &rcgen::Issuer::from_params(&ca_params, &ca_key))
        .expect("leaf");
    let chain = format!("{}{}", leaf.pem(), ca.pem());
    let pair = loads(d.path(), &chain, &leaf_key.serialize_pem()).expect("loads");
    assert_eq!(pair.key.cert.len(), 2);
}

#[test]
fn key_of_another_certificate_is_refused_naming_the_key() {
    let d = tmp();
    let key = KeyPair::generate().expect("key");
    let other = KeyPair::generate().expect("key");
    let err = loads(
        d.path(),
        &cert_for(&key, &["a.test"]),
        &other.serialize_pem(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("key.pem") && msg.contains("cert.pem") && !msg.contains('\n'));
}

#[test]
fn expired_and_future_certificates_are_refused() {
    let d = tmp();
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["a.test".to_string()]).expect("params");
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    let old = params.clone().self_signed(&key).expect("sign").pem();
    let err = loads(d.path(), &old, &key.serialize_pem()).unwrap_err();
    assert!(matches!(err, Error::Expired(..)), "{err}");
    assert!(err.to_string().contains("cert.pem"));
    params.not_before = rcgen::date_time_ymd(2090, 1, 1);
    params.not_after = rcgen::date_time_ymd(2091, 1, 1);
    let future = params.self_signed(&key).expect("sign").pem();
    let err = loads(d.path(), &future, &key.serialize_pem()).unwrap_err();
    assert!(matches!(err, Error::NotYetValid(..)), "{err}");
}

#[test]
fn missing_and_empty_files_name_the_file() {
    let d = tmp();
    let key = KeyPair::generate().expect("key");
    let cert = cert_for(&key, &["a.test"]);
    let err = load_pair(&d.path().join("nope.pem"), &d.path().join("k.pem")).unwrap_err();
    assert!(matches!(err, Error::Unreadable(..)) && err.to_string().contains("nope.pem"));
    let err = loads(d.path(), "hello", &key.serialize_pem()).unwrap_err();
    assert!(matches!(err, Error::NoCertificate(..)) && err.to_string().contains("cert.pem"));
    let err = loads(d.path(), &cert, &cert).unwrap_err();
    assert!(matches!(err, Error::NoKey(..)) && err.to_string().contains("key.pem"));
}

#[test]
fn sni_picks_exact_then_wildcard_then_first() {
    let d = tmp();
    let mut pairs = Vec::new();
    for names in [&["default.test"][..], &["a.test", "b.test"], &["*.w.test"]] {
        let key = KeyPair::generate().expect("key");
        pairs.push(loads(d.path(), &cert_for(&key, names), &key.serialize_pem()).expect("loads"));
    }
    let keys: Vec<_> = pairs.iter().map(|p| p.key.clone()).collect();
    let r = Resolver::new(pairs);
    let pick = |n: Option<&str>| r.choose(n).expect("some");
    assert!(Arc::ptr_eq(&pick(Some("B.test")), &keys[1]));
    assert!(Arc::ptr_eq(&pick(Some("x.w.test")), &keys[2]));
    assert!(Arc::ptr_eq(&pick(Some("x.y.w.test")), &keys[0]));
    assert!(Arc::ptr_eq(&pick(Some("other.test")), &keys[0]));
    assert!(Arc::ptr_eq(&pick(None), &keys[0]));
}

#[test]
fn acme_names_are_refused_until_issued_then_served_and_files_win() {
    let d = tmp();
    let key = KeyPair::generate().expect("key");
    let file = loads(d.path(), &cert_for(&key, &["f.test"]), &key.serialize_pem()).expect("file");
    let issued = |names: &[&str]| {
        let key = KeyPair::generate().expect("key");
        loads(d.path(), &cert_for(&key, names), &key.serialize_pem())
            .expect("issued")
            .key
    };
    let answer: ChallengeAnswer = Arc::new(|_| None);
    let managed = vec![vec!["a.test".to_string()], vec!["f.test".to_string()]];
    let only_acme = Resolver::new(Vec::new()).with_managed(managed.clone(), answer.clone());
    assert!(only_acme.answers_tls_alpn01());
    assert!(only_acme.choose(Some("a.test")).is_none(), "not issued yet");
    assert!(
        only_acme.choose(None).is_none(),
        "no default before an issuance"
    );
    let a = issued(&["a.test"]);
    only_acme.install(0, a.clone());
    assert!(Arc::ptr_eq(
        &only_acme.choose(Some("A.TEST")).expect("a"),
        &a
    ));
    assert!(Arc::ptr_eq(&only_acme.choose(None).expect("default"), &a));
    assert!(
        only_acme.choose(Some("f.test")).is_none(),
        "f.test is not issued"
    );
    let renewed = issued(&["a.test"]);
    only_acme.install(0, renewed.clone());
    assert!(Arc::ptr_eq(
        &only_acme.choose(Some("a.test")).expect("a"),
        &renewed
    ));

    let file_key = file.key.clone();
    let both = Resolver::new(vec![file]).with_managed(managed, answer);
    assert!(Arc::ptr_eq(
        &both.choose(Some("f.test")).expect("file"),
        &file_key
    ));
    assert!(both.choose(Some("a.test")).is_none());
    assert!(Arc::ptr_eq(
        &both.choose(Some("x.test")).expect("default"),
        &file_key
    ));
    let config = server_config_with(Arc::new(both), None).expect("config");
    assert_eq!(config.alpn_protocols.last(), Some(&ACME_TLS_ALPN.to_vec()));
    assert!(config.alpn_protocols.contains(&b"http/1.1".to_vec()));
}

#[test]
fn self_signed_names_the_local_machine_and_resumes() {
    let made = self_signed().expect("self-signed");
    assert_eq!(made.fingerprint.len(), 32 * 3 - 1);
    assert_eq!(
        made.config.alpn_protocols,
        [b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    assert!(made.config.ticketer.enabled());
    let d = tmp();
    let key_unused = KeyPair::generate().expect("key");
    let err = loads(d.path(), &made.cert_pem, &key_unused.serialize_pem()).unwrap_err();
    assert!(matches!(err, Error::KeyMismatch { .. }));
    assert_eq!(
        spki_sha256_base64(&made.cert_der).map(|s| s.len()),
        Some(44)
    );
}

#[test]
fn base64_matches_the_rfc_vectors() {
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

#[test]
fn client_ca_file_without_certificates_is_refused_naming_it() {
    let d = tmp();
    let key = KeyPair::generate().expect("key");
    let pair = loads(d.path(), &cert_for(&key, &["a.test"]), &key.serialize_pem()).expect("loads");
    let ca = write(d.path(), "ca.pem", "nothing here");
    let err =
        server_config_with(Arc::new(Resolver::new(vec![pair.clone()])), Some(&ca)).unwrap_err();
    assert!(matches!(err, Error::NoCertificate(..)) && err.to_string().contains("ca.pem"));
    let ca = write(d.path(), "ca.pem", &cert_for(&key, &["ca.test"]));
    assert!(server_config_with(Arc::new(Resolver::new(vec![pair])), Some(&ca)).is_ok());
}
