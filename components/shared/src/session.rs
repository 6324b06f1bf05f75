//! Who may change the poll: the `admin_token`, given once at sign-in (or as a Bearer token by
//! a script), and a session cookie for the console afterwards.
//!
//! The cookie value is `<id>.<expiry>.<mac>`: a random id, the expiry in Unix seconds, and
//! HMAC-SHA256 over both keyed with the token, so a new token ends every session. The id is
//! also kept in Redis until the expiry, so that signing out ends the session for good (a copy
//! of the cookie replayed later is refused).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::hex;

/// The console's session cookie.
pub const SESSION_COOKIE: &str = "admin_session";
/// How long a session lasts: a day of talks.
pub const SESSION_SECONDS: u64 = 8 * 3600;

/// The fewest characters an `admin_token` may have: 128 bits as hex, which no one guesses, so
/// that a room sharing one address cannot lock the presenter out by guessing.
pub const MIN_TOKEN_CHARS: usize = 32;

/// Why an `admin_token` is refused, and how to make one that is not; `None` when it will do.
pub fn weak_token_problem(token: &str) -> Option<String> {
    let length = token.chars().count();
    (length < MIN_TOKEN_CHARS).then(|| {
        format!(
            "the variable admin_token has {length} characters; it needs at least \
             {MIN_TOKEN_CHARS} (128 random bits): make one with `openssl rand -hex 16`"
        )
    })
}

/// Whether `given` is the token, in time that does not depend on where they differ (or on
/// either's length: both are hashed first).
pub fn token_matches(given: &str, token: &str) -> bool {
    let given = Sha256::digest(given.as_bytes());
    let token = Sha256::digest(token.as_bytes());
    given
        .iter()
        .zip(token.iter())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A session cookie's value for session `id`, expiring at `expiry` (Unix seconds).
pub fn issue(token: &str, id: &str, expiry: u64) -> String {
    format!("{id}.{expiry}.{}", hex::encode(&mac(token, id, expiry)))
}

/// The session id in a cookie value signed with `token` and not expired at `now`.
pub fn verify<'a>(token: &str, value: &'a str, now: u64) -> Option<&'a str> {
    let mut parts = value.trim().split('.');
    let (id, expiry, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let expiry: u64 = expiry.parse().ok()?;
    let signature = hex::decode(signature)?;
    let mut expected = keyed(token);
    expected.update(signed_text(id, expiry).as_bytes());
    expected.verify_slice(&signature).ok()?;
    (now < expiry).then_some(id)
}

/// The `Set-Cookie` value of a new session: only for the console's paths, never for scripts,
/// never sent from another site, and over HTTPS only when the console is served over HTTPS.
pub fn set_cookie(value: &str, secure: bool) -> String {
    cookie(value, SESSION_SECONDS, secure)
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> String {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    )
}

fn signed_text(id: &str, expiry: u64) -> String {
    format!("admin-session:{id}.{expiry}")
}

fn keyed(token: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes keys of any length")
}

fn mac(token: &str, id: &str, expiry: u64) -> Vec<u8> {
    let mut mac = keyed(token);
    mac.update(signed_text(id, expiry).as_bytes());
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_shorter_than_128_bits_of_hex_is_refused_with_a_way_to_make_one() {
        let problem = weak_token_problem("letmein").unwrap();
        assert!(problem.contains("has 7 characters"), "{problem}");
        assert!(problem.contains("openssl rand -hex 16"));
        assert!(
            !problem.contains("letmein"),
            "the token itself is never told"
        );
        assert!(weak_token_problem(&"ab".repeat(15)).is_some());
        assert_eq!(weak_token_problem(&"ab".repeat(16)), None);
    }

    #[test]
    fn only_the_token_itself_matches() {
        assert!(token_matches("s3cret-token", "s3cret-token"));
        assert!(!token_matches("s3cret-tokem", "s3cret-token"));
        assert!(!token_matches("s3cret", "s3cret-token"));
        assert!(!token_matches("", "s3cret-token"));
    }

    #[test]
    fn reads_a_bearer_token() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer"), None);
    }

    #[test]
    fn a_session_verifies_until_it_expires() {
        let value = issue("token", "0a1b", 1_000);
        assert_eq!(verify("token", &value, 999), Some("0a1b"));
        assert_eq!(verify("token", &value, 1_000), None, "expired");
        assert_eq!(
            verify("another token", &value, 10),
            None,
            "a new token ends it"
        );
    }

    #[test]
    fn a_forged_or_altered_session_is_refused() {
        let value = issue("token", "0a1b", 1_000);
        let later = value.replacen(".1000.", ".9000.", 1);
        assert_eq!(verify("token", &later, 10), None, "expiry moved");
        let other = value.replacen("0a1b", "0a1c", 1);
        assert_eq!(verify("token", &other, 10), None, "id changed");
        for forged in [
            "",
            "x",
            "0a1b.1000",
            "0a1b.1000.zz",
            "zz.1000.00",
            &format!("{value}.x"),
        ] {
            assert_eq!(verify("token", forged, 10), None, "{forged:?}");
        }
    }

    #[test]
    fn the_cookie_stays_on_the_console_and_away_from_scripts_and_other_sites() {
        assert_eq!(
            set_cookie("v", true),
            "admin_session=v; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=28800; Secure"
        );
        assert_eq!(
            clear_cookie(false),
            "admin_session=; Path=/admin; HttpOnly; SameSite=Strict; Max-Age=0"
        );
    }
}
