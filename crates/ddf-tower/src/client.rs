//! Which client sent a request: the peer address, or the address a trusted
//! proxy reports.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use http::{Extensions, HeaderMap};

use crate::error::ConfigError;

/// The resolved client address of a request.
///
/// [`AuthLayer`](crate::AuthLayer) and [`RateLimitLayer`](crate::RateLimitLayer)
/// put it into the request extensions. A server may also insert it before
/// these layers run; it is then used as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

/// The TCP peer of a request, for servers other than axum.
///
/// axum's `ConnectInfo<SocketAddr>` is read directly (with the `axum`
/// feature); hyper or tonic servers insert this type instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// An IP network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(value: &str) -> Option<Self> {
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (value, None),
        };
        let network: IpAddr = address.trim().parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse().ok().filter(|prefix| *prefix <= max)?,
            None => max,
        };
        Some(Self { network, prefix })
    }

    fn contains(&self, address: IpAddr) -> bool {
        match (self.network, canonical(address)) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// Resolves the client address of a request.
///
/// By default only the connection's peer address counts. `X-Forwarded-For`
/// is read only when the peer is one of the configured trusted proxies; the
/// client is then the right-most address in that header that is not itself
/// a trusted proxy. A malformed header falls back to the peer address.
///
/// ```
/// use std::net::{IpAddr, SocketAddr};
/// use ddf_tower::{ClientAddrResolver, PeerAddr};
/// use http::{Extensions, HeaderMap, HeaderValue};
///
/// let resolver = ClientAddrResolver::default().trust_proxies(["10.0.0.0/8"]).unwrap();
/// let mut extensions = Extensions::new();
/// extensions.insert(PeerAddr("10.1.2.3:40000".parse().unwrap()));
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.7, 10.9.9.9"));
/// assert_eq!(
///     resolver.resolve(&extensions, &headers),
///     Some("198.51.100.7".parse::<IpAddr>().unwrap())
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClientAddrResolver {
    trusted: Vec<Cidr>,
}

impl ClientAddrResolver {
    /// Trusts `X-Forwarded-For` from peers in `proxies` (IP addresses or CIDR
    /// blocks such as `10.0.0.0/8`).
    pub fn trust_proxies<I, S>(mut self, proxies: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for proxy in proxies {
            let proxy = proxy.as_ref();
            let cidr = Cidr::parse(proxy).ok_or_else(|| ConfigError::InvalidTrustedProxy {
                value: proxy.to_owned(),
            })?;
            self.trusted.push(cidr);
        }
        Ok(self)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted.iter().any(|cidr| cidr.contains(address))
    }

    /// Returns the client address, or `None` when the request carries no
    /// peer address at all.
    pub fn resolve(&self, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
        if let Some(ClientAddr(address)) = extensions.get::<ClientAddr>() {
            return Some(*address);
        }
        let peer = canonical(peer_addr(extensions)?);
        if self.trusted.is_empty() || !self.is_trusted(peer) {
            return Some(peer);
        }
        Some(self.forwarded_client(headers).unwrap_or(peer))
    }

    fn forwarded_client(&self, headers: &HeaderMap) -> Option<IpAddr> {
        let mut hops = Vec::new();
        for value in &headers.get_all("x-forwarded-for") {
            let value = value.to_str().ok()?;
            for hop in value.split(',') {
                hops.push(canonical(hop.trim().parse::<IpAddr>().ok()?));
            }
        }
        let mut leftmost = None;
        for hop in hops.into_iter().rev() {
            if !self.is_trusted(hop) {
                return Some(hop);
            }
            leftmost = Some(hop);
        }
        leftmost
    }
}

fn peer_addr(extensions: &Extensions) -> Option<IpAddr> {
    if let Some(PeerAddr(address)) = extensions.get::<PeerAddr>() {
        return Some(address.ip());
    }
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(address)) =
        extensions.get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(address.ip());
    }
    None
}

/// Maps IPv4-mapped IPv6 addresses to IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// The key under which a client's failures and requests are counted.
///
/// IPv6 addresses are grouped by /64, because one host usually holds a
/// whole /64 and could otherwise rotate through it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(String);

impl ClientKey {
    pub(crate) fn from_addr(address: Option<IpAddr>) -> Self {
        match address.map(canonical) {
            Some(IpAddr::V4(v4)) => Self(format!("ip:{v4}")),
            Some(IpAddr::V6(v6)) => {
                let network = Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64));
                Self(format!("ip:{network}/64"))
            }
            None => Self("ip:unknown".to_owned()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        resolver: &ClientAddrResolver,
        peer: &str,
        forwarded: Option<&str>,
    ) -> Option<IpAddr> {
        let mut extensions = Extensions::new();
        extensions.insert(PeerAddr(peer.parse().unwrap()));
        let mut headers = HeaderMap::new();
        if let Some(forwarded) = forwarded {
            headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        }
        resolver.resolve(&extensions, &headers)
    }

    #[expect(clippy::unnecessary_wraps, reason = "compared with `resolve` results")]
    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn untrusted_peer_ignores_forwarded_for() {
        let resolver = ClientAddrResolver::default();
        assert_eq!(
            resolve(&resolver, "203.0.113.5:1", Some("1.2.3.4")),
            ip("203.0.113.5")
        );
        let resolver = resolver.trust_proxies(["10.0.0.1"]).unwrap();
        assert_eq!(
            resolve(&resolver, "203.0.113.5:1", Some("1.2.3.4")),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn trusted_chain_is_walked_from_the_right() {
        let resolver = ClientAddrResolver::default()
            .trust_proxies(["10.0.0.0/8", "fd00::/8"])
            .unwrap();
        let spoofed = "6.6.6.6, 198.51.100.7, 10.0.0.2";
        assert_eq!(
            resolve(&resolver, "10.0.0.1:1", Some(spoofed)),
            ip("198.51.100.7")
        );
        assert_eq!(
            resolve(&resolver, "[fd00::1]:1", Some("2001:db8::1")),
            ip("2001:db8::1")
        );
        assert_eq!(
            resolve(&resolver, "10.0.0.1:1", Some("garbage")),
            ip("10.0.0.1")
        );
        assert_eq!(resolve(&resolver, "10.0.0.1:1", None), ip("10.0.0.1"));
        assert_eq!(
            resolve(&resolver, "10.0.0.1:1", Some("10.0.0.3")),
            ip("10.0.0.3")
        );
    }

    #[test]
    fn invalid_proxy_entries_are_rejected() {
        for value in ["10.0.0.0/33", "nope", "::/129", ""] {
            assert_eq!(
                ClientAddrResolver::default()
                    .trust_proxies([value])
                    .unwrap_err(),
                ConfigError::InvalidTrustedProxy {
                    value: value.to_owned()
                }
            );
        }
    }

    #[test]
    fn ipv6_keys_group_by_64() {
        let a = ClientKey::from_addr(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientKey::from_addr(ip("2001:db8:1:2:bbbb::9"));
        let c = ClientKey::from_addr(ip("2001:db8:1:3::1"));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.as_str(), "ip:2001:db8:1:2::/64");
        assert_eq!(
            ClientKey::from_addr(ip("::ffff:192.0.2.1")).as_str(),
            "ip:192.0.2.1"
        );
        assert_eq!(ClientKey::from_addr(None).as_str(), "ip:unknown");
    }
}
