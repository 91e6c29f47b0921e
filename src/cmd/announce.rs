//! The banner every server command prints on stdout: its first line, `Listening on URL`, is what
//! scripts read; the lines after it are for a human.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// Prints `Listening on SCHEME://ADDR/` with the bound address; when that address is a wildcard
/// (`0.0.0.0`, `::`), one indented URL per local address a client could use; then, for the
/// file server, the directory served.
pub fn announce(scheme: &str, bound: SocketAddr, served: Option<&Path>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Listening on {}", url(scheme, bound));
    if bound.ip().is_unspecified() {
        for ip in local_addresses(bound.ip()) {
            let _ = writeln!(out, "  {}", url(scheme, SocketAddr::new(ip, bound.port())));
        }
    }
    if let Some(dir) = served {
        let _ = writeln!(out, "Serving {}", dir.display());
    }
    let _ = out.flush();
}

/// `http://ADDR/`; the raw TCP and UDP services have no path.
fn url(scheme: &str, addr: SocketAddr) -> String {
    let slash = if scheme.starts_with("http") { "/" } else { "" };
    format!("{scheme}://{addr}{slash}")
}

/// The addresses of the interfaces that are up, that a wildcard listener on `wildcard` accepts:
/// IPv4 for `0.0.0.0`; IPv4 and IPv6 for `::`, which is dual-stack. IPv6 link-local addresses are
/// left out: a URL needs their interface's scope to be usable. Empty if the interfaces cannot be
/// read (the first line is still right).
fn local_addresses(wildcard: IpAddr) -> Vec<IpAddr> {
    use nix::net::if_::InterfaceFlags;
    // `getifaddrs(3)`: rustix does not wrap it, std has no interface list.
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut ips: Vec<IpAddr> = interfaces
        .filter(|i| i.flags.contains(InterfaceFlags::IFF_UP))
        .filter_map(|i| {
            let address = i.address?;
            if let Some(v4) = address.as_sockaddr_in() {
                Some(IpAddr::V4(v4.ip()))
            } else {
                address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
            }
        })
        .filter(|ip| accepts(wildcard, *ip))
        .collect();
    ips.sort_by_key(|ip| (ip.is_ipv6(), !ip.is_loopback(), *ip));
    ips.dedup();
    ips
}

/// Whether a listener on `wildcard` is reachable at `ip` with a plain URL.
fn accepts(wildcard: IpAddr, ip: IpAddr) -> bool {
    match (wildcard, ip) {
        (_, IpAddr::V4(_)) => true,
        (IpAddr::V6(_), IpAddr::V6(v6)) => !v6.is_unicast_link_local(),
        (IpAddr::V4(_), IpAddr::V6(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn wildcards_list_what_they_accept() {
        let v4 = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let v6 = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        let lan = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 5));
        let link = IpAddr::V6("fe80::1".parse().unwrap_or(Ipv6Addr::LOCALHOST));
        assert!(accepts(v4, lan) && accepts(v6, lan));
        assert!(!accepts(v4, IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(accepts(v6, IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(!accepts(v6, link));
        assert_eq!(url("tcp", SocketAddr::new(lan, 5)), "tcp://192.168.1.5:5");
        assert_eq!(
            url("http", SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 80)),
            "http://[::1]:80/"
        );
    }

    #[test]
    fn loopback_is_listed_first() {
        let ips = local_addresses(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        if let Some(first) = ips.first() {
            assert!(first.is_loopback(), "{ips:?}");
        }
    }
}
