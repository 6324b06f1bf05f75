//! Reading a ballot from a request: an HTML form (`vote=a&round=3`) or JSON (`{"vote":"a",
//! "round":3}`), the round being the one whose ballot the voter saw (optional: a client of the
//! original app sends none, and votes in the current round).

use spin_sdk::http::IncomingRequest;
use voting_glue::headers::{BodyProblem, Headers, read_body};
use voting_shared::choice::Choice;
use voting_shared::poll::Poll;

/// The largest body accepted; a ballot needs a few bytes.
pub const MAX_BODY_BYTES: usize = 4096;

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// What a voter sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ballot {
    pub choice: Choice,
    /// The round whose ballot the voter saw; `None`: whichever is current.
    pub round: Option<i64>,
}

/// Why a ballot was refused. Nothing is queued for any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadBallot {
    WrongContentType { expected: &'static str },
    TooLarge,
    Malformed(&'static str),
    MissingVote,
    RepeatedVote,
    UnknownOption(String),
    BadRound,
}

impl BadBallot {
    pub fn status(&self) -> u16 {
        match self {
            BadBallot::WrongContentType { .. } => 415,
            BadBallot::TooLarge => 413,
            _ => 400,
        }
    }

    /// What went wrong and how to fix it, for the client.
    pub fn message(&self, poll: &Poll) -> String {
        let choose = format!("vote {}", poll.choices_in_words());
        match self {
            BadBallot::WrongContentType { expected } => format!("send the ballot as {expected}"),
            BadBallot::TooLarge => format!("the body is larger than {MAX_BODY_BYTES} bytes"),
            BadBallot::Malformed(what) => format!("malformed {what}: {choose}"),
            BadBallot::MissingVote => format!("the field \"vote\" is missing: {choose}"),
            BadBallot::RepeatedVote => format!("\"vote\" is given more than once: {choose}"),
            BadBallot::UnknownOption(option) => format!("unknown option {option:?}: {choose}"),
            BadBallot::BadRound => "\"round\" is the round the ballot showed, a whole number \
                 from 1 (or leave it out to vote in the current round)"
                .to_owned(),
        }
    }
}

/// Reads the ballot of `request`, sent as `expected` ([`FORM`] or [`JSON`]), refusing a body
/// of another type or larger than [`MAX_BODY_BYTES`] before reading more of it.
pub async fn read(
    request: IncomingRequest,
    headers: &Headers,
    expected: &'static str,
) -> Result<Ballot, BadBallot> {
    if !headers.content_type_is(expected) {
        return Err(BadBallot::WrongContentType { expected });
    }
    let body =
        read_body(request, headers, MAX_BODY_BYTES)
            .await
            .map_err(|problem| match problem {
                BodyProblem::TooLarge => BadBallot::TooLarge,
                BodyProblem::Unreadable => BadBallot::Malformed("body"),
            })?;
    if expected == FORM {
        from_form(&body)
    } else {
        from_json(&body)
    }
}

/// The ballot in an `application/x-www-form-urlencoded` body: `vote`, `a` to `h` (whether
/// the current round offers it is the enqueue script's check), and `round`, if given.
pub fn from_form(body: &[u8]) -> Result<Ballot, BadBallot> {
    if !is_well_formed_form(body) {
        return Err(BadBallot::Malformed("form body"));
    }
    let field = |name: &str| -> Result<Option<String>, ()> {
        let mut values = form_urlencoded::parse(body)
            .filter(|(field, _)| field == name)
            .map(|(_, value)| value.into_owned());
        let value = values.next();
        match values.next() {
            Some(_) => Err(()),
            None => Ok(value),
        }
    };
    let vote = field("vote")
        .map_err(|()| BadBallot::RepeatedVote)?
        .ok_or(BadBallot::MissingVote)?;
    let choice = Choice::parse(&vote).ok_or(BadBallot::UnknownOption(vote))?;
    let round = match field("round").map_err(|()| BadBallot::BadRound)? {
        None => None,
        Some(round) => Some(round_number(round.parse().ok())?),
    };
    Ok(Ballot { choice, round })
}

/// The ballot in a JSON body `{"vote": "a"}`, `a` to `h`, with `"round"` if given; other
/// fields are ignored.
pub fn from_json(body: &[u8]) -> Result<Ballot, BadBallot> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| BadBallot::Malformed("JSON"))?;
    let object = value
        .as_object()
        .ok_or(BadBallot::Malformed("JSON: expected an object"))?;
    let choice = match object.get("vote") {
        None => return Err(BadBallot::MissingVote),
        Some(serde_json::Value::String(vote)) => {
            Choice::parse(vote).ok_or_else(|| BadBallot::UnknownOption(vote.clone()))?
        }
        Some(other) => return Err(BadBallot::UnknownOption(other.to_string())),
    };
    let round = match object.get("round") {
        None | Some(serde_json::Value::Null) => None,
        Some(round) => Some(round_number(round.as_i64())?),
    };
    Ok(Ballot { choice, round })
}

/// A round number: a whole number from 1.
fn round_number(round: Option<i64>) -> Result<i64, BadBallot> {
    round.filter(|round| *round >= 1).ok_or(BadBallot::BadRound)
}

/// Printable ASCII whose every `%` starts a two-digit hex escape.
fn is_well_formed_form(body: &[u8]) -> bool {
    body.iter().enumerate().all(|(i, byte)| match byte {
        b'%' => body
            .get(i + 1..i + 3)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
        _ => byte.is_ascii_graphic(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats_and_dogs() -> Poll {
        Poll::new(&["Cats", "Dogs"]).unwrap()
    }

    fn choice(ballot: Result<Ballot, BadBallot>) -> Result<Choice, BadBallot> {
        ballot.map(|ballot| ballot.choice)
    }

    #[test]
    fn reads_the_round_the_ballot_showed_if_given() {
        let ballot = |choice, round| Ok(Ballot { choice, round });
        assert_eq!(from_form(b"vote=a&round=3"), ballot(Choice::A, Some(3)));
        assert_eq!(from_form(b"round=12&vote=b"), ballot(Choice::B, Some(12)));
        assert_eq!(from_form(b"vote=a"), ballot(Choice::A, None));
        assert_eq!(
            from_json(br#"{"vote":"a","round":2}"#),
            ballot(Choice::A, Some(2))
        );
        assert_eq!(
            from_json(br#"{"vote":"a","round":null}"#),
            ballot(Choice::A, None)
        );
        for bad in [
            &b"vote=a&round=0"[..],
            b"vote=a&round=x",
            b"vote=a&round=",
            b"vote=a&round=1&round=2",
        ] {
            assert_eq!(from_form(bad), Err(BadBallot::BadRound), "{bad:?}");
        }
        for bad in [
            &br#"{"vote":"a","round":"2"}"#[..],
            br#"{"vote":"a","round":0}"#,
            br#"{"vote":"a","round":1.5}"#,
        ] {
            assert_eq!(from_json(bad), Err(BadBallot::BadRound), "{bad:?}");
        }
        assert!(
            BadBallot::BadRound
                .message(&cats_and_dogs())
                .contains("leave it out")
        );
    }

    #[test]
    fn reads_the_form_field() {
        assert_eq!(choice(from_form(b"vote=a")), Ok(Choice::A));
        assert_eq!(choice(from_form(b"other=1&vote=b")), Ok(Choice::B));
        assert_eq!(from_form(b""), Err(BadBallot::MissingVote));
        assert_eq!(from_form(b"votes=a"), Err(BadBallot::MissingVote));
        assert_eq!(
            from_form(b"vote=i"),
            Err(BadBallot::UnknownOption("i".into()))
        );
        assert_eq!(from_form(b"vote=a&vote=b"), Err(BadBallot::RepeatedVote));
        assert_eq!(choice(from_form(b"vote=%61")), Ok(Choice::A));
    }

    #[test]
    fn reads_any_choice_a_to_h_and_names_the_rounds_options_otherwise() {
        let three = Poll::new(&["Cats", "Dogs", "Birds"]).unwrap();
        assert_eq!(choice(from_form(b"vote=h")), Ok(Choice::at(7)));
        assert_eq!(choice(from_json(br#"{"vote":"c"}"#)), Ok(Choice::at(2)));
        assert_eq!(
            BadBallot::UnknownOption("d".into()).message(&three),
            r#"unknown option "d": vote "a" (Cats), "b" (Dogs) or "c" (Birds)"#
        );
    }

    #[test]
    fn rejects_malformed_forms() {
        for body in [
            &b"vote=%zz"[..],
            b"vote=a%",
            b"vote=\xff",
            b"vote=a b",
            b"vote=a\n",
        ] {
            assert_eq!(
                from_form(body),
                Err(BadBallot::Malformed("form body")),
                "{body:?}"
            );
        }
    }

    #[test]
    fn reads_the_json_field() {
        assert_eq!(choice(from_json(br#"{"vote":"b"}"#)), Ok(Choice::B));
        assert_eq!(
            choice(from_json(br#"{"vote":"a","note":"x"}"#)),
            Ok(Choice::A)
        );
        assert_eq!(from_json(br#"{}"#), Err(BadBallot::MissingVote));
        assert_eq!(
            from_json(br#"{"vote":"C"}"#),
            Err(BadBallot::UnknownOption("C".into()))
        );
        assert_eq!(
            from_json(br#"{"vote":1}"#),
            Err(BadBallot::UnknownOption("1".into()))
        );
        assert_eq!(
            from_json(br#"{"vote":"a""#),
            Err(BadBallot::Malformed("JSON"))
        );
        assert_eq!(
            from_json(br#"["a"]"#),
            Err(BadBallot::Malformed("JSON: expected an object"))
        );
    }

    #[test]
    fn messages_say_how_to_fix_the_ballot() {
        let message = BadBallot::UnknownOption("c".into()).message(&cats_and_dogs());
        assert_eq!(
            message,
            "unknown option \"c\": vote \"a\" (Cats) or \"b\" (Dogs)"
        );
        assert_eq!(BadBallot::TooLarge.status(), 413);
        assert_eq!(BadBallot::WrongContentType { expected: JSON }.status(), 415);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn no_body_makes_a_parser_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
                let _ = from_form(&body);
                let _ = from_json(&body);
            }

            #[test]
            fn a_valid_form_ballot_round_trips(
                index in 0..8usize,
                other in prop::collection::vec(("[a-qs-uw-z]{1,8}", "[a-zA-Z0-9]{0,8}"), 0..4),
            ) {
                let choice = Choice::at(index);
                let mut fields: Vec<(String, String)> = other;
                fields.push(("vote".into(), choice.as_str().into()));
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&fields)
                    .finish();
                prop_assert_eq!(from_form(body.as_bytes()), Ok(Ballot { choice, round: None }));
            }

            #[test]
            fn a_valid_json_ballot_round_trips(index in 0..8usize, note in ".{0,20}") {
                let choice = Choice::at(index);
                let body = serde_json::json!({ "note": note, "vote": choice.as_str() }).to_string();
                prop_assert_eq!(from_json(body.as_bytes()), Ok(Ballot { choice, round: None }));
            }
        }
    }
}
