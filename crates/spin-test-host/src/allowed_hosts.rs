//! `allowed_outbound_hosts`: which network destinations a component may connect to, as Spin
//! parses and applies them (`crates/outbound-networking-config/src/allowed_hosts.rs`).
//!
//! Entries have the form `scheme://host[:port]`: the scheme may be `*`; the host may be `*`,
//! `*.domain`, `self`, a literal name or address, or a CIDR block (`10.0.0.0/8`); the port may
//! be `*`, a number or a range `start..end` (end excluded), and without one the scheme's
//! well-known port applies. A trailing `/` is accepted; a path or user info is rejected.

use std::net::IpAddr;

use anyhow::{Context, bail, ensure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    /// `None`: any scheme.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `*.example.com`, kept as `.example.com`.
    Subdomain(String),
    /// `self`: the app itself, reached by relative URLs only.
    ToSelf,
    Literal(String),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Port(u16),
    /// `start..end`, the end excluded.
    Range(u16, u16),
}

/// The scheme, host and port an outbound address connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub scheme: String,
    pub host: String,
    pub port: u16,
}

impl AllowedHost {
    pub fn parse(entry: &str) -> anyhow::Result<AllowedHost> {
        let entry = entry.trim();
        let (scheme, rest) = entry.split_once("://").with_context(|| {
            format!("{entry:?} does not contain a scheme (e.g., 'http://' or '*://')")
        })?;
        let (host, port) = match rest.rsplit_once(':') {
            None => (rest, ""),
            Some((host, "")) => (host, ""),
            Some(_) if HostPattern::parse(rest).is_ok() => (rest, ""),
            Some((host, tail)) => match tail.split_once('/') {
                Some((_, path)) if !path.is_empty() => {
                    bail!("{entry:?} has a path but is not allowed to")
                }
                Some((port, _)) => (host, port),
                None => (host, tail),
            },
        };
        let scheme = match scheme {
            "*" => None,
            _ => {
                ensure!(
                    !scheme.is_empty() && scheme.chars().all(char::is_alphabetic),
                    "{entry:?}: invalid scheme {scheme:?}"
                );
                Some(scheme.to_owned())
            }
        };
        let host = HostPattern::parse(host)
            .with_context(|| format!("{entry:?}: invalid allowed host {host:?}"))?;
        let port = match port {
            "" => {
                let scheme = scheme.as_deref().unwrap_or("*");
                PortPattern::Port(default_port(scheme).with_context(|| {
                    format!("{entry:?}: no port, and scheme {scheme:?} has no well-known port")
                })?)
            }
            "*" => PortPattern::Any,
            _ => match port.split_once("..") {
                Some((start, end)) => PortPattern::Range(
                    start
                        .parse()
                        .with_context(|| format!("{entry:?}: port range"))?,
                    end.parse()
                        .with_context(|| format!("{entry:?}: port range"))?,
                ),
                None => PortPattern::Port(
                    port.parse()
                        .with_context(|| format!("{entry:?}: port {port:?} is not a number"))?,
                ),
            },
        };
        Ok(AllowedHost { scheme, host, port })
    }

    pub fn allows(&self, destination: &Destination) -> bool {
        let scheme = self
            .scheme
            .as_ref()
            .is_none_or(|scheme| *scheme == destination.scheme);
        let host = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomain(suffix) => {
                destination.host.parse::<IpAddr>().is_err() && destination.host.ends_with(suffix)
            }
            HostPattern::ToSelf => false,
            HostPattern::Literal(host) => *host == destination.host,
            HostPattern::Cidr(network, prefix) => destination
                .host
                .parse::<IpAddr>()
                .is_ok_and(|address| in_network(address, *network, *prefix)),
        };
        let port = match self.port {
            PortPattern::Any => true,
            PortPattern::Port(port) => port == destination.port,
            PortPattern::Range(start, end) => (start..end).contains(&destination.port),
        };
        scheme && host && port
    }
}

impl HostPattern {
    fn parse(host: &str) -> anyhow::Result<HostPattern> {
        let host = host.trim();
        match host {
            "*" => return Ok(HostPattern::Any),
            "self" | "self.alt" => return Ok(HostPattern::ToSelf),
            _ => {}
        }
        if let Some((network, prefix)) = cidr(host) {
            return Ok(HostPattern::Cidr(network, prefix));
        }
        let host = host.strip_suffix('/').unwrap_or(host);
        ensure!(!host.contains('/'), "must not include a path");
        ensure!(!host.contains('@'), "must not include user info");
        if let Some(domain) = host.strip_prefix("*.") {
            ensure!(
                !domain.contains('*'),
                "wildcards are allowed only as prefixes"
            );
            ensure!(
                is_domain(domain) && domain.parse::<IpAddr>().is_err(),
                "wildcard suffix must be a domain"
            );
            return Ok(HostPattern::Subdomain(format!(
                ".{}",
                domain.to_ascii_lowercase()
            )));
        }
        ensure!(
            !host.contains('*'),
            "wildcards are allowed only as subdomains"
        );
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        ensure!(
            host.parse::<IpAddr>().is_ok() || is_domain(host),
            "not a host name or address"
        );
        Ok(HostPattern::Literal(host.to_ascii_lowercase()))
    }
}

fn is_domain(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// `10.0.0.0/8`, `fd00::/8`, or a bare address (a network of one).
fn cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address.parse::<IpAddr>().ok()?, prefix.parse().ok()?),
        None => {
            let address = text.parse::<IpAddr>().ok()?;
            (address, if address.is_ipv4() { 32 } else { 128 })
        }
    };
    let bits = if address.is_ipv4() { 32 } else { 128 };
    (prefix <= bits).then_some((address, prefix))
}

fn in_network(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    let mask = |bits: u32| {
        if prefix == 0 {
            0
        } else {
            u128::MAX << (bits - u32::from(prefix))
        }
    };
    match (address, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = mask(32);
            u128::from(u32::from(a)) & mask == u128::from(u32::from(n)) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = mask(128);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Destination {
    /// Where a connection to `address` goes, parsed as Spin's `OutboundUrl::parse` does: the
    /// user info (when an `@` comes before the first `/` after the scheme) is URL-encoded
    /// first, so that credentials never change the host; then the URL is parsed, and if that
    /// fails or yields no host, parsed again with `default_scheme://` in front. An address
    /// without a port connects to its scheme's well-known port; a scheme without one (e.g.
    /// `rediss`) is allowed nowhere.
    pub fn of_address(address: &str, default_scheme: &str) -> anyhow::Result<Destination> {
        let url = spin_outbound_url(address, default_scheme)?;
        let scheme = url.scheme().to_owned();
        let host = url
            .host_str()
            .with_context(|| format!("{address:?} has no host"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|host| host.strip_suffix(']'))
            .unwrap_or(host)
            .to_ascii_lowercase();
        let port = match url.port() {
            Some(port) => port,
            None => default_port(&scheme)
                .with_context(|| format!("{address:?} has no port and {scheme} no default"))?,
        };
        Ok(Destination { scheme, host, port })
    }
}

fn spin_outbound_url(address: &str, default_scheme: &str) -> anyhow::Result<url::Url> {
    let mut text = address.to_owned();
    if let Some(at) = text.find('@') {
        let authority_start = text.find("://").map_or(0, |end| end + 3);
        let path_start = text[authority_start..]
            .find('/')
            .map_or(usize::MAX, |slash| slash + authority_start);
        if at < path_start {
            let user_info = &text[authority_start..at];
            text = format!(
                "{}{}{}",
                &text[..authority_start],
                percent_encode_all(user_info),
                &text[at..]
            );
        }
    }
    match url::Url::parse(&text) {
        Ok(url) if url.has_host() => Ok(url),
        first => url::Url::parse(&format!("{default_scheme}://{text}")).or_else(|second| {
            Err(match first {
                Err(error) => error,
                Ok(_) => second,
            })
            .with_context(|| format!("{address:?} is not a URL"))
        }),
    }
}

/// Encodes every byte but RFC 3986's unreserved ones, as the `urlencoding` crate Spin uses does.
pub(crate) fn percent_encode_all(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Whether any entry of `allowed` permits connecting to `address`.
pub fn is_allowed(allowed: &[AllowedHost], address: &str, default_scheme: &str) -> bool {
    Destination::of_address(address, default_scheme)
        .is_ok_and(|destination| allowed.iter().any(|entry| entry.allows(&destination)))
}

/// Spin's `well_known_port`: note that `rediss` has none.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, address: &str) -> bool {
        is_allowed(&[AllowedHost::parse(entry).unwrap()], address, "redis")
    }

    #[test]
    fn exact_entries_match_scheme_host_and_port() {
        assert!(allowed("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"));
        assert!(!allowed("redis://127.0.0.1:6379", "redis://127.0.0.1:6380"));
        assert!(!allowed("redis://127.0.0.1:6379", "redis://10.0.0.1:6379"));
        assert!(!allowed(
            "redis://127.0.0.1:6379",
            "postgres://127.0.0.1:6379"
        ));
    }

    #[test]
    fn user_info_and_path_of_the_address_are_ignored() {
        assert!(allowed(
            "postgres://db:5432",
            "postgres://user:p%40ss@db:5432/votes?sslmode=disable"
        ));
    }

    #[test]
    fn credentials_never_change_the_host_however_they_are_written() {
        let entry = "rediss://cache.example.com:6380";
        for address in [
            "rediss://:s3cr%2Ft%40pa%3Ass@cache.example.com:6380",
            "rediss://voting:p:w@cache.example.com:6380",
            "rediss://:@cache.example.com:6380",
        ] {
            assert!(allowed(entry, address), "{address}");
        }
        // A raw `/` in a password ends the authority, as in Spin: the address points elsewhere.
        assert!(!allowed(entry, "rediss://:pa/ss@cache.example.com:6380"));
        assert!(!allowed(entry, "rediss://:p@ss@evil.example.com:6380"));
    }

    #[test]
    fn rediss_needs_a_port_and_matches_only_rediss_entries() {
        assert!(
            AllowedHost::parse("rediss://cache").is_err(),
            "no default port"
        );
        assert!(!allowed("redis://cache:6380", "rediss://cache:6380"));
        assert!(!allowed("rediss://cache:6380", "redis://cache:6380"));
        assert!(!allowed("rediss://cache:6379", "rediss://cache"));
    }

    #[test]
    fn missing_ports_mean_the_default_port() {
        assert!(allowed("redis://cache", "redis://cache:6379"));
        assert!(allowed("postgres://db:5432", "postgres://u:p@db/votes"));
        assert!(!allowed("redis://cache", "redis://cache:7000"));
    }

    #[test]
    fn wildcards() {
        assert!(allowed("*://localhost:*", "redis://localhost:1234"));
        assert!(allowed("redis://*:6379", "redis://anything:6379"));
        assert!(allowed(
            "redis://*.example.com:6379",
            "redis://a.example.com:6379"
        ));
        assert!(!allowed(
            "redis://*.example.com:6379",
            "redis://example.com:6379"
        ));
        assert!(!allowed(
            "redis://*.example.com:6379",
            "redis://badexample.com:6379"
        ));
    }

    #[test]
    fn ipv6_literals() {
        assert!(allowed("redis://[::1]:6379", "redis://[::1]:6379"));
    }

    #[test]
    fn entries_with_a_path_or_user_info_are_rejected_like_spin_does() {
        assert!(AllowedHost::parse("postgres://user:pw@db:5432/votes").is_err());
        assert!(AllowedHost::parse("postgres://user:pw@db:5432").is_err());
        assert!(AllowedHost::parse("redis://cache:6379/0").is_err());
        assert!(AllowedHost::parse("cache:6379").is_err());
        assert!(AllowedHost::parse("redis://*cache:6379").is_err());
        assert!(
            AllowedHost::parse("tcp://cache").is_err(),
            "no well-known port"
        );
    }

    #[test]
    fn a_trailing_slash_is_accepted() {
        assert!(allowed("redis://cache:6379/", "redis://cache:6379"));
        assert!(allowed("redis://cache/", "redis://cache:6379"));
    }

    #[test]
    fn port_ranges_exclude_their_end() {
        assert!(allowed("redis://cache:6379..6381", "redis://cache:6380"));
        assert!(!allowed("redis://cache:6379..6381", "redis://cache:6381"));
    }

    #[test]
    fn cidr_blocks_match_addresses_not_names() {
        assert!(allowed(
            "postgres://10.1.0.0/16:5432",
            "postgres://10.1.200.3:5432"
        ));
        assert!(!allowed(
            "postgres://10.1.0.0/16:5432",
            "postgres://10.2.0.1:5432"
        ));
        assert!(!allowed(
            "postgres://10.1.0.0/16:5432",
            "postgres://db:5432"
        ));
        assert!(allowed("redis://fd00::/8:6379", "redis://[fd12::1]:6379"));
    }

    #[test]
    fn self_allows_no_absolute_address() {
        assert!(AllowedHost::parse("http://self").is_ok());
        assert!(!allowed("redis://self:6379", "redis://self:6379"));
    }
}
