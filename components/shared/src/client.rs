//! Who sent the request, as far as Spin knows: the TCP peer in `spin-client-addr`, for the
//! limit on new voter ids per address and the console's limit on sign-in attempts.
//!
//! Both limits count in Redis, in a window that opens with the address's first counted
//! request and closes [`LIMIT_WINDOW_SECONDS`] later (the count key's time to live, set when
//! the key has none): the count never resets between two requests sent a moment apart, as it
//! would at the end of a wall-clock minute, and whoever waits is told exactly how long (the
//! key's TTL). A window opened by hand (`SET key 0 EX seconds`) is kept, which is how the
//! tests make one that cannot close under them.
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

/// How long a limit's window lasts, from the first request it counts.
pub const LIMIT_WINDOW_SECONDS: i64 = 60;
/// How many new voter ids an address got in its window: `<prefix><address>`.
pub const NEW_VOTERS_KEY_PREFIX: &str = "voting:new-voters:";
/// How many sign-in attempts (a token given to the console or the API) an address made in
/// its window: `<prefix><address>`.
pub const SIGN_IN_ATTEMPTS_KEY_PREFIX: &str = "voting:admin-attempts:";
/// The most sign-in attempts an address may make in a window.
pub const MAX_SIGN_IN_ATTEMPTS: i64 = 5;

/// The key counting new voter ids from `address`.
pub fn new_voters_key(address: IpAddr) -> String {
    format!("{NEW_VOTERS_KEY_PREFIX}{address}")
}

/// The key counting sign-in attempts from `address` (`unknown` when Spin did not say).
pub fn sign_in_attempts_key(address: Option<IpAddr>) -> String {
    match address {
        Some(address) => format!("{SIGN_IN_ATTEMPTS_KEY_PREFIX}{address}"),
        None => format!("{SIGN_IN_ATTEMPTS_KEY_PREFIX}unknown"),
    }
}

/// Counts a wrong sign-in attempt, so that attempts sent at once are counted one after
/// another: past [`MAX_SIGN_IN_ATTEMPTS`] in a window they are refused.
/// KEYS: the address's attempt count. ARGV: the most attempts, the window in seconds.
/// Returns the count and 0, or past the limit the count and the seconds until the window
/// closes (at least 1).
pub const SIGN_IN_ATTEMPT_SCRIPT: &str = r#"
local count = redis.call('INCR', KEYS[1])
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if count > tonumber(ARGV[1]) then return {count, math.max(redis.call('TTL', KEYS[1]), 1)} end
return {count, 0}
"#;

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
    fn one_key_per_address_and_limit() {
        let address = "192.0.2.7".parse().unwrap();
        assert_eq!(new_voters_key(address), "voting:new-voters:192.0.2.7");
        let v6 = "2001:db8::1".parse().unwrap();
        assert_eq!(
            sign_in_attempts_key(Some(v6)),
            "voting:admin-attempts:2001:db8::1"
        );
        assert_eq!(sign_in_attempts_key(None), "voting:admin-attempts:unknown");
    }
}
