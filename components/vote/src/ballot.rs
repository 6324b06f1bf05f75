//! Reading a ballot from a request body: an HTML form (`vote=a`) or JSON (`{"vote":"a"}`).

use voting_shared::choice::Choice;
use voting_shared::poll::Poll;

/// The largest body accepted; a ballot needs a few bytes.
pub const MAX_BODY_BYTES: usize = 4096;

pub const FORM: &str = "application/x-www-form-urlencoded";
pub const JSON: &str = "application/json";

/// Why a ballot was refused. Nothing is queued for any of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadBallot {
    WrongContentType { expected: &'static str },
    TooLarge,
    Malformed(&'static str),
    MissingVote,
    RepeatedVote,
    UnknownOption(String),
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
        }
    }
}

/// Whether the `Content-Type` header names `expected` (parameters such as charset aside).
pub fn has_content_type(header: Option<&str>, expected: &str) -> bool {
    header
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(expected))
}

/// The choice in an `application/x-www-form-urlencoded` body, `a` to `h`: whether the
/// current round offers it is the enqueue script's check.
pub fn from_form(body: &[u8]) -> Result<Choice, BadBallot> {
    if !is_well_formed_form(body) {
        return Err(BadBallot::Malformed("form body"));
    }
    let mut votes = form_urlencoded::parse(body)
        .filter(|(name, _)| name == "vote")
        .map(|(_, value)| value.into_owned());
    let vote = votes.next().ok_or(BadBallot::MissingVote)?;
    if votes.next().is_some() {
        return Err(BadBallot::RepeatedVote);
    }
    Choice::parse(&vote).ok_or(BadBallot::UnknownOption(vote))
}

/// The choice in a JSON body `{"vote": "a"}`, `a` to `h`; other fields are ignored.
pub fn from_json(body: &[u8]) -> Result<Choice, BadBallot> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| BadBallot::Malformed("JSON"))?;
    let object = value
        .as_object()
        .ok_or(BadBallot::Malformed("JSON: expected an object"))?;
    match object.get("vote") {
        None => Err(BadBallot::MissingVote),
        Some(serde_json::Value::String(vote)) => {
            Choice::parse(vote).ok_or_else(|| BadBallot::UnknownOption(vote.clone()))
        }
        Some(other) => Err(BadBallot::UnknownOption(other.to_string())),
    }
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

    #[test]
    fn reads_the_form_field() {
        assert_eq!(from_form(b"vote=a"), Ok(Choice::A));
        assert_eq!(from_form(b"other=1&vote=b"), Ok(Choice::B));
        assert_eq!(from_form(b""), Err(BadBallot::MissingVote));
        assert_eq!(from_form(b"votes=a"), Err(BadBallot::MissingVote));
        assert_eq!(
            from_form(b"vote=i"),
            Err(BadBallot::UnknownOption("i".into()))
        );
        assert_eq!(from_form(b"vote=a&vote=b"), Err(BadBallot::RepeatedVote));
        assert_eq!(from_form(b"vote=%61"), Ok(Choice::A));
    }

    #[test]
    fn reads_any_choice_a_to_h_and_names_the_rounds_options_otherwise() {
        let three = Poll::new(&["Cats", "Dogs", "Birds"]).unwrap();
        assert_eq!(from_form(b"vote=h"), Ok(Choice::at(7)));
        assert_eq!(from_json(br#"{"vote":"c"}"#), Ok(Choice::at(2)));
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
        assert_eq!(from_json(br#"{"vote":"b"}"#), Ok(Choice::B));
        assert_eq!(from_json(br#"{"vote":"a","note":"x"}"#), Ok(Choice::A));
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
    fn content_types_match_without_parameters_or_case() {
        assert!(has_content_type(
            Some("application/json; charset=utf-8"),
            JSON
        ));
        assert!(has_content_type(
            Some("Application/X-WWW-Form-Urlencoded"),
            FORM
        ));
        assert!(!has_content_type(Some("text/plain"), JSON));
        assert!(!has_content_type(None, FORM));
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
                other in prop::collection::vec(("[a-uw-z]{1,8}", "[a-zA-Z0-9]{0,8}"), 0..4),
            ) {
                let choice = Choice::at(index);
                let mut fields: Vec<(String, String)> = other;
                fields.push(("vote".into(), choice.as_str().into()));
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&fields)
                    .finish();
                prop_assert_eq!(from_form(body.as_bytes()), Ok(choice));
            }

            #[test]
            fn a_valid_json_ballot_round_trips(index in 0..8usize, note in ".{0,20}") {
                let choice = Choice::at(index);
                let body = serde_json::json!({ "note": note, "vote": choice.as_str() }).to_string();
                prop_assert_eq!(from_json(body.as_bytes()), Ok(choice));
            }
        }
    }
}
