//! The voter cookie: a random id, signed so the server trusts only ids it issued, as vote and
//! questions issue it and as the load tool and the tests read it back.
//!
//! The value is `<id>.<mac>`: 128 random bits as hex, then the first 128 bits of
//! HMAC-SHA256(secret, id) as hex. A value that does not verify is ignored and a fresh id is
//! issued, so an invented or altered id is never stored.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::hex;

/// The cookie that carries the voter's signed id.
pub const VOTER_COOKIE: &str = "voter_id";
/// The cookie that remembers the voter's current choice, for display only.
pub const CHOICE_COOKIE: &str = "vote";

/// A year: one voter keeps one identity across visits.
const COOKIE_MAX_AGE_SECONDS: u32 = 365 * 24 * 3600;
/// Random bytes in an id.
pub const ID_BYTES: usize = 16;
const MAC_BYTES: usize = 16;

/// A voter id this server issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voter {
    pub id: String,
    /// The signed cookie value to send back when the id was just issued.
    pub new_cookie: Option<String>,
}

/// The voter behind `cookie` if it carries an id signed with `secret`, else a new voter
/// with an id made from `random`.
pub fn identify(cookie: Option<&str>, secret: &[u8], random: [u8; ID_BYTES]) -> Voter {
    if let Some(id) = cookie.and_then(|value| verify(value, secret)) {
        return Voter {
            id,
            new_cookie: None,
        };
    }
    let id = hex::encode(&random);
    let value = value(&id, &hex::encode(&mac(secret, &id)[..MAC_BYTES]));
    Voter {
        id,
        new_cookie: Some(value),
    }
}

fn verify(cookie: &str, secret: &[u8]) -> Option<String> {
    let (id, signature) = split(cookie)?;
    if id.len() != ID_BYTES * 2 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let signature = hex::decode(signature).filter(|signature| signature.len() == MAC_BYTES)?;
    let mut expected = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    expected.update(id.as_bytes());
    expected.verify_truncated_left(&signature).ok()?;
    Some(id.to_owned())
}

fn mac(secret: &[u8], id: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// A `Set-Cookie` value for `name` that only this site's pages send back.
pub fn set_cookie(name: &str, value: &str) -> String {
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={COOKIE_MAX_AGE_SECONDS}")
}

/// The value of cookie `name` in the request's `Cookie` header values.
pub fn cookie<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
}

/// A cookie value from an id and its signature.
pub fn value(id: &str, signature: &str) -> String {
    format!("{id}.{signature}")
}

/// A cookie value's id and signature, if it has both.
pub fn split(value: &str) -> Option<(&str, &str)> {
    value.split_once('.')
}

/// The voter id a cookie value names, unverified: what the app stores the vote under.
pub fn voter_id(value: &str) -> &str {
    split(value).map_or(value, |(id, _signature)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test secret";

    #[test]
    fn issues_a_signed_id_and_recognises_it() {
        let voter = identify(None, SECRET, [7; 16]);
        assert_eq!(voter.id, "07".repeat(16));
        let cookie = voter.new_cookie.unwrap();
        let again = identify(Some(&cookie), SECRET, [9; 16]);
        assert_eq!(
            again,
            Voter {
                id: voter.id,
                new_cookie: None
            }
        );
    }

    #[test]
    fn replaces_invented_altered_or_foreign_ids() {
        let issued = identify(None, SECRET, [7; 16]).new_cookie.unwrap();
        let (id, mac) = issued.split_once('.').unwrap();
        let altered_id = format!("{}{}", "17", &id[2..]);
        let invented = [
            "forged".to_owned(),
            format!("{altered_id}.{mac}"),
            format!("{id}.{}", "0".repeat(32)),
            format!("{id}.{}", &mac[..30]),
            format!("{id}."),
            id.to_owned(),
            format!("{id}.{mac}00"),
        ];
        for cookie in invented {
            let voter = identify(Some(&cookie), SECRET, [9; 16]);
            assert_eq!(voter.id, "09".repeat(16), "{cookie:?}");
            assert!(voter.new_cookie.is_some());
        }
        let other_secret = identify(Some(&issued), b"another secret", [9; 16]);
        assert_eq!(other_secret.id, "09".repeat(16));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let headers = vec!["a=1; voter_id=abc.def".to_owned(), "vote=b".to_owned()];
        assert_eq!(cookie(&headers, "voter_id"), Some("abc.def"));
        assert_eq!(cookie(&headers, "vote"), Some("b"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn a_value_is_the_id_then_its_signature() {
        let value = value("0123abcd", "5167");
        assert_eq!(value, "0123abcd.5167");
        assert_eq!(split(&value), Some(("0123abcd", "5167")));
        assert_eq!(voter_id(&value), "0123abcd");
        assert_eq!(voter_id("unsigned"), "unsigned");
        assert_eq!(split("unsigned"), None);
    }

    #[test]
    fn cookie_attributes_keep_it_first_party_and_away_from_scripts() {
        let header = set_cookie("voter_id", "x");
        for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(header.contains(attribute), "{header}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn no_cookie_makes_identification_panic_or_trust_it(cookie in ".{0,80}") {
                let voter = identify(Some(&cookie), b"secret", [7; ID_BYTES]);
                prop_assert!(voter.new_cookie.is_some(), "an unsigned value is never trusted");
            }

            #[test]
            fn an_issued_cookie_round_trips(random in any::<[u8; ID_BYTES]>(), secret in ".{1,40}") {
                let issued = identify(None, secret.as_bytes(), random);
                let cookie = issued.new_cookie.clone().unwrap();
                let again = identify(Some(&cookie), secret.as_bytes(), [0; ID_BYTES]);
                prop_assert_eq!(again, Voter { id: issued.id, new_cookie: None });
            }
        }
    }
}
