//! `allowed_outbound_hosts`: which network destinations a component may connect to.
//!
//! Entries have Spin's form `scheme://host[:port]`, where each part may be `*` and the host
//! may be `*.domain`; an entry without a port means the scheme's well-known port. Entries
//! with a path or user info are rejected, as real Spin rejects them.

use anyhow::{Context, bail, ensure};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: Pattern,
    host: Pattern,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    Any,
    Exact(String),
    /// `*.example.com`: any subdomain of `example.com`.
    Subdomain(String),
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
        let (scheme, rest) = entry
            .split_once("://")
            .with_context(|| format!("{entry:?}: expected scheme://host[:port]"))?;
        ensure!(
            !rest.contains(['/', '@', '?', '#']),
            "{entry:?}: an allowed host may not have a path or user info"
        );
        let (host, port) = split_host_port(rest);
        ensure!(!host.is_empty(), "{entry:?}: the host is empty");
        let scheme = if scheme == "*" {
            Pattern::Any
        } else {
            Pattern::Exact(scheme.to_ascii_lowercase())
        };
        let host = match host {
            "*" => Pattern::Any,
            _ => match host.strip_prefix("*.") {
                Some(domain) => Pattern::Subdomain(domain.to_ascii_lowercase()),
                None => Pattern::Exact(host.to_ascii_lowercase()),
            },
        };
        let port = match port {
            Some("*") => None,
            Some(port) => Some(
                port.parse()
                    .with_context(|| format!("{entry:?}: invalid port {port:?}"))?,
            ),
            None => match &scheme {
                Pattern::Exact(scheme) => Some(default_port(scheme).with_context(|| {
                    format!("{entry:?}: scheme {scheme} has no default port; give one")
                })?),
                _ => bail!("{entry:?}: a wildcard scheme needs an explicit port"),
            },
        };
        Ok(AllowedHost { scheme, host, port })
    }

    pub fn allows(&self, destination: &Destination) -> bool {
        let scheme = match &self.scheme {
            Pattern::Any => true,
            Pattern::Exact(scheme) => *scheme == destination.scheme,
            Pattern::Subdomain(_) => false,
        };
        let host = match &self.host {
            Pattern::Any => true,
            Pattern::Exact(host) => *host == destination.host,
            Pattern::Subdomain(domain) => destination
                .host
                .strip_suffix(domain.as_str())
                .is_some_and(|head| head.ends_with('.')),
        };
        let port = self.port.is_none_or(|port| port == destination.port);
        scheme && host && port
    }
}

impl Destination {
    /// Where a connection to `address` (`scheme://[user[:password]@]host[:port][/…]`) goes.
    pub fn of_address(address: &str) -> anyhow::Result<Destination> {
        let (scheme, rest) = address
            .split_once("://")
            .with_context(|| format!("{address:?} is not a URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let (host, port) = split_host_port(host_port);
        ensure!(!host.is_empty(), "{address:?} has no host");
        let port = match port {
            Some(port) => port
                .parse()
                .with_context(|| format!("{address:?} has an invalid port"))?,
            None => default_port(&scheme)
                .with_context(|| format!("{address:?} has no port and {scheme} no default"))?,
        };
        Ok(Destination {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// Whether any entry of `allowed` permits connecting to `address`.
pub fn is_allowed(allowed: &[AllowedHost], address: &str) -> bool {
    Destination::of_address(address)
        .is_ok_and(|destination| allowed.iter().any(|entry| entry.allows(&destination)))
}

/// Splits `host:port`, keeping IPv6 literals (`[::1]:6379`) whole.
fn split_host_port(text: &str) -> (&str, Option<&str>) {
    if let Some(rest) = text.strip_prefix('[')
        && let Some((host, after)) = rest.split_once(']')
    {
        return (host, after.strip_prefix(':'));
    }
    match text.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (text, None),
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "redis" => Some(6379),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entry: &str, address: &str) -> bool {
        is_allowed(&[AllowedHost::parse(entry).unwrap()], address)
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
        assert!(AllowedHost::parse("redis://cache:6379/0").is_err());
        assert!(AllowedHost::parse("cache:6379").is_err());
    }
}
