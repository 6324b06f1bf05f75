//! Voter identity: a random id in a cookie, signed so the server trusts only ids it issued.
//!
//! The cookie value is `<id>.<mac>`: 128 random bits as hex, then the first 128 bits of
//! HMAC-SHA256(secret, id) as hex. A value that does not verify is ignored and a fresh id
//! is issued, so an invented or altered id is never stored.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use voting_shared::choice::Choice;
use voting_shared::poll::Poll;
use voting_shared::{cookie, hex};

pub use voting_shared::cookie::{CHOICE_COOKIE, VOTER_COOKIE};
/// A year: one voter keeps one identity across visits.
const COOKIE_MAX_AGE_SECONDS: u32 = 365 * 24 * 3600;
const ID_BYTES: usize = 16;
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
    let value = cookie::value(&id, &hex::encode(&mac(secret, &id)[..MAC_BYTES]));
    Voter {
        id,
        new_cookie: Some(value),
    }
}

fn verify(cookie: &str, secret: &[u8]) -> Option<String> {
    let (id, signature) = cookie::split(cookie)?;
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

/// The cookie that carries the thanks for a vote through the redirect to the page.
const THANKS_COOKIE: &str = "vote_thanks";

/// The `Set-Cookie` value that has the page thank the voter once, after the redirect.
pub fn thank() -> String {
    format!("{THANKS_COOKIE}=1; Path=/; HttpOnly; SameSite=Lax; Max-Age=60")
}

/// Whether the request carries thanks to show.
pub fn thanked(cookie_headers: &[String]) -> bool {
    cookie(cookie_headers, THANKS_COOKIE).is_some_and(|value| !value.is_empty())
}

/// The `Set-Cookie` value that clears the thanks once shown.
pub fn thanked_once() -> String {
    format!("{THANKS_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
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

/// The choice to show as the visitor's current vote: the last one cast with a voter cookie, if
/// it was cast in `round` (a value without a round is from round 1) and the poll offers it.
pub fn current_choice(cookie_headers: &[String], poll: &Poll, round: i64) -> Option<Choice> {
    cookie(cookie_headers, VOTER_COOKIE)?;
    let value = cookie(cookie_headers, CHOICE_COOKIE)?;
    let (choice, cast_in) = match value.split_once('.') {
        Some((choice, cast_in)) => (choice, cast_in.parse().ok()?),
        None => (value, 1),
    };
    poll.choice(choice).filter(|_| cast_in == round)
}

/// The choice cookie's value for `choice` cast in `round`.
pub fn choice_cookie(choice: Choice, round: i64) -> String {
    format!("{choice}.{round}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"test secret";

    #[test]
    fn the_thanks_are_shown_once() {
        let sent = thank();
        let pair = sent.split(';').next().unwrap().to_owned();
        assert!(thanked(&[pair]));
        assert!(!thanked(&["vote_thanks=".to_owned()]));
        assert!(!thanked(&[]));
        assert!(thanked_once().contains("Max-Age=0"));
    }

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
    fn the_current_choice_needs_a_voter_cookie() {
        let voter = vec!["voter_id=abc.def; vote=b".to_owned()];
        let poll = Poll::new(&["Cats", "Dogs"]).unwrap();
        assert_eq!(current_choice(&voter, &poll, 1), Some(Choice::B));
        assert_eq!(current_choice(&["vote=b".to_owned()], &poll, 1), None);
        assert_eq!(
            current_choice(&["voter_id=x; vote=z".to_owned()], &poll, 1),
            None
        );
        let gone = ["voter_id=x; vote=c".to_owned()];
        assert_eq!(
            current_choice(&gone, &poll, 1),
            None,
            "not an option of this poll"
        );
    }

    #[test]
    fn a_choice_counts_as_current_only_in_its_round() {
        let cookie = format!("voter_id=x; vote={}", choice_cookie(Choice::B, 3));
        let poll = Poll::new(&["Cats", "Dogs"]).unwrap();
        assert_eq!(
            current_choice(std::slice::from_ref(&cookie), &poll, 3),
            Some(Choice::B)
        );
        assert_eq!(current_choice(&[cookie], &poll, 4), None);
        assert_eq!(
            current_choice(&["voter_id=x; vote=b".into()], &poll, 2),
            None
        );
        assert_eq!(
            current_choice(&["voter_id=x; vote=b.x".into()], &poll, 1),
            None
        );
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
                let headers = vec![cookie];
                let _ = current_choice(&headers, &Poll::new(&["x", "y"]).unwrap(), 1);
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
