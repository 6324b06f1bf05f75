//! Who sent the request, as far as Spin knows: the TCP peer in `spin-client-addr`, for the
//! limit on new voter ids per address and minute and the console's limit on failed sign-ins.
//!
//! Spin appends its own `spin-client-addr` after the client's headers
//! (`crates/trigger-http/src/wasi.rs`), so a client can send a forged one first: only the last
//! value is Spin's. Behind a proxy or a CDN it is the proxy's address, which every client
//! then shares.

use std::net::{IpAddr, SocketAddr};

/// The address (no port) in the last `spin-client-addr` value, if it is one.
pub fn address(spin_client_addr: &[String]) -> Option<IpAddr> {
    let last = spin_client_addr.last()?.trim();
    last.parse::<SocketAddr>()
        .map(|socket| socket.ip())
        .or_else(|_| last.parse::<IpAddr>())
        .ok()
        .filter(|ip| !ip.is_unspecified())
}

/// The key counting new voter ids from `address` in the minute `unix_seconds` falls in, and
/// the seconds until that minute ends (what a refused client should wait).
pub fn new_voters_key(prefix: &str, address: IpAddr, unix_seconds: u64) -> (String, u64) {
    let minute = unix_seconds / 60;
    (
        format!("{prefix}{address}:{minute}"),
        60 - unix_seconds % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    #[test]
    fn the_last_value_is_spins_and_the_port_is_dropped() {
        let forged_first = values(&["10.9.9.9:1", "192.0.2.7:51234"]);
        assert_eq!(address(&forged_first), "192.0.2.7".parse().ok());
        assert_eq!(
            address(&values(&["[2001:db8::1]:443"])),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(
            address(&values(&["2001:db8::2"])),
            "2001:db8::2".parse().ok()
        );
        assert_eq!(address(&values(&[])), None);
        assert_eq!(address(&values(&["nonsense"])), None);
        assert_eq!(address(&values(&["0.0.0.0:0"])), None, "a chained request");
    }

    #[test]
    fn one_key_per_address_and_minute() {
        let address = "192.0.2.7".parse().unwrap();
        assert_eq!(
            new_voters_key("p:", address, 120),
            ("p:192.0.2.7:2".to_owned(), 60)
        );
        assert_eq!(
            new_voters_key("p:", address, 179),
            ("p:192.0.2.7:2".to_owned(), 1)
        );
        let v6 = "2001:db8::1".parse().unwrap();
        assert_eq!(new_voters_key("p:", v6, 60).0, "p:2001:db8::1:1");
    }
}
