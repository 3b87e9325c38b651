//! Where a member's webhook may point: the public internet only, unless the operator allows
//! private targets (`webhook_allow_private_targets`).
//!
//! Members are tenants, not operators. A webhook URL that reached the daemon's own network
//! (loopback, the LAN, a cloud metadata endpoint at 169.254.169.254) would let a member make the
//! daemon send requests there and read the answers' statuses in the delivery log. So the check
//! is made twice: on the URL when it is set (an address literal is refused at once), and on the
//! addresses a host name resolves to at the moment of each delivery — by the HTTP client's own
//! resolver, so the addresses checked are the addresses connected to (a DNS answer that changes
//! between a check and the connection cannot slip through).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ureq::config::Config as ClientConfig;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Whether an address is on the public internet: not loopback, private, shared (carrier-grade
/// NAT), link-local, unspecified, broadcast, multicast, documentation or benchmarking space —
/// for IPv4-mapped and IPv4-compatible IPv6 addresses, judged by the IPv4 address inside.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || ip.segments()[..6].iter().all(|s| *s == 0)) // IPv4-compatible (deprecated)
}

/// An address literal in a URL's host (`10.0.0.1`, `[::1]`), if it is one.
pub fn literal_address(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// The HTTP client's resolver for webhooks: the system's answer, less every address that is
/// not public. No public address left is a failed attempt with a reason the member can read.
#[derive(Debug, Default)]
pub struct PublicOnly {
    inner: DefaultResolver,
}

impl Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ClientConfig,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let mut public = self.empty();
        for addr in resolved.iter().filter(|a| is_public(a.ip())) {
            public.push(*addr);
        }
        if public.is_empty() {
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the webhook host resolves only to private or local addresses, which \
                 webhooks may not reach",
            )));
        }
        Ok(public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private.parse().expect("address");
            assert!(!is_public(ip), "{private} must not be reachable");
        }
        for public in [
            "93.184.215.14",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            let ip: IpAddr = public.parse().expect("address");
            assert!(is_public(ip), "{public} is public");
        }
    }

    #[test]
    fn address_literals_are_recognised_in_hosts() {
        assert_eq!(
            literal_address("[::1]"),
            Some(IpAddr::V6(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            literal_address("127.0.0.1"),
            Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
        );
        assert_eq!(literal_address("hooks.example"), None);
    }
}
