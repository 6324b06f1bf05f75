//! The vote page's own cookies: the choice made in a round, shown as the visitor's vote, and
//! the thanks carried through the redirect after a vote. The voter's signed id is
//! [`voting_shared::cookie`]'s.

use voting_shared::choice::Choice;
use voting_shared::poll::Poll;

pub use voting_shared::cookie::{CHOICE_COOKIE, VOTER_COOKIE, cookie, set_cookie};

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
}
