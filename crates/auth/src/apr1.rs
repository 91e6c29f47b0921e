//! Apache's `$apr1$` password hash: the MD5-based crypt of FreeBSD (`$1$`) under another magic
//! string, as `htpasswd -m` writes it. Implemented here over the md-5 crate rather than taken
//! from a crate of many crypt schemes (pwhash): it is forty lines of a fixed, documented
//! algorithm (apr_md5.c, `apr_md5_encode`), and the crates that carry it are no longer kept.
//!
//! The scheme is weak by today's standards (1000 rounds of MD5); it is read because existing
//! htpasswd files hold it, and `htpasswd -B` (bcrypt) is what new files should use.

use md5::{Digest, Md5};

/// The prefix of an apr1 hash.
pub const MAGIC: &str = "$apr1$";

/// The alphabet of crypt's base-64 encoding.
const ITOA64: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Longest salt the scheme uses; a longer one is cut, as Apache cuts it.
const MAX_SALT: usize = 8;

/// The 22-character encoded digest of `password` under `salt` (the part after the salt's `$`).
pub fn digest(password: &[u8], salt: &[u8]) -> String {
    let salt = &salt[..salt.len().min(MAX_SALT)];
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt)
        .chain_update(password)
        .finalize();
    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(MAGIC)
        .chain_update(salt);
    for chunk in password.chunks(16) {
        ctx.update(&alternate[..chunk.len()]);
    }
    // For each bit of the password's length, low bit first: a NUL for a one, the password's
    // first byte for a zero (an oddity of the original code, kept for compatibility).
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        bits >>= 1;
    }
    let mut fin = ctx.finalize();
    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round % 2 == 1 {
            ctx.update(password);
        } else {
            ctx.update(fin);
        }
        if round % 3 != 0 {
            ctx.update(salt);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round % 2 == 1 {
            ctx.update(fin);
        } else {
            ctx.update(password);
        }
        fin = ctx.finalize();
    }
    let mut out = String::with_capacity(22);
    let groups = [(0, 6, 12), (1, 7, 13), (2, 8, 14), (3, 9, 15), (4, 10, 5)];
    for (a, b, c) in groups {
        let v = (u32::from(fin[a]) << 16) | (u32::from(fin[b]) << 8) | u32::from(fin[c]);
        to64(&mut out, v, 4);
    }
    to64(&mut out, u32::from(fin[11]), 2);
    out
}

/// `n` characters of crypt's base 64 for the low bits of `v`, least significant first.
fn to64(out: &mut String, mut v: u32, n: usize) {
    for _ in 0..n {
        out.push(char::from(ITOA64[(v & 0x3f) as usize]));
        v >>= 6;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Vectors from `openssl passwd -apr1 -salt SALT`.
    #[test]
    fn matches_openssl_and_apache() {
        assert_eq!(digest(b"hello", b"abcdefgh"), "cy3DSYyOwfhsyu7QOMQzd.");
        assert_eq!(digest(b"p", b"x"), "ya00XvwA0viq10Nb5bv6L.");
        assert_eq!(digest(b"hello", b"abcdefghIJK"), "cy3DSYyOwfhsyu7QOMQzd.");
    }
}
