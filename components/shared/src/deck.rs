//! A talk's deck: questions prepared in advance, in order, each with its poll, who sees its
//! results when ([`Visibility`]) and an optional time limit. The console and the API take it
//! as JSON, `{"questions": [{"question": "…", "options": ["…", "…"], "results": "live",
//! "seconds": 30}, …]}`, which is also what they give back (with each question's position),
//! so that a talk's deck can be kept in a file beside its slides.

use serde_json::{Value, json};

use crate::poll::Poll;

/// The shortest and longest time limit a question may have, in seconds.
pub const MIN_SECONDS: i64 = 5;
pub const MAX_SECONDS: i64 = 3600;
/// The most questions a deck holds: a long day of talks.
pub const MAX_QUESTIONS: usize = 200;

/// Who sees a round's per-option counts, and when. `/metrics` and the console's downloads are
/// for the operator and always show them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Everyone, all along.
    #[default]
    Live,
    /// The projector and `/result` all along; a phone's vote page once it has voted.
    AfterVote,
    /// Nobody until voting closes.
    AfterClose,
    /// Nobody until the presenter reveals them.
    OnReveal,
}

impl Visibility {
    pub const ALL: [Visibility; 4] = [
        Visibility::Live,
        Visibility::AfterVote,
        Visibility::AfterClose,
        Visibility::OnReveal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Live => "live",
            Visibility::AfterVote => "after-vote",
            Visibility::AfterClose => "after-close",
            Visibility::OnReveal => "on-reveal",
        }
    }

    pub fn parse(text: &str) -> Option<Visibility> {
        Visibility::ALL
            .into_iter()
            .find(|visibility| visibility.as_str() == text)
    }

    /// How the console names it.
    pub fn description(self) -> &'static str {
        match self {
            Visibility::Live => "live, for everyone",
            Visibility::AfterVote => "on the projector; on a phone after voting",
            Visibility::AfterClose => "hidden until voting closes",
            Visibility::OnReveal => "hidden until you reveal them",
        }
    }
}

/// A question as a round asks it: the poll, who sees the results, and the time limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub poll: Poll,
    pub results: Visibility,
    pub seconds: Option<i64>,
}

const FORMAT: &str =
    r#"{"question": "…", "options": ["…", "…"], "results": "live", "seconds": 30}"#;

impl Question {
    /// A question from its JSON: `options` required (2 to 8), `question` (empty: which one),
    /// `results` (`live` by default) and `seconds` (none by default) optional. The error says
    /// what to change.
    pub fn from_json(value: &Value) -> Result<Question, String> {
        let object = value
            .as_object()
            .ok_or_else(|| format!("a question is a JSON object: {FORMAT}"))?;
        let question = match object.get("question") {
            None | Some(Value::Null) => "",
            Some(Value::String(text)) => text,
            Some(_) => return Err("\"question\" is text".to_owned()),
        };
        let options: Vec<&str> = object
            .get("options")
            .and_then(Value::as_array)
            .and_then(|options| options.iter().map(Value::as_str).collect())
            .ok_or_else(|| format!("\"options\" is a list of 2 to 8 labels: {FORMAT}"))?;
        let poll =
            Poll::with_question(question, &options).map_err(|problem| problem.to_string())?;
        let results = match object.get("results") {
            None | Some(Value::Null) => Visibility::Live,
            Some(value) => value.as_str().and_then(Visibility::parse).ok_or_else(|| {
                let names: Vec<&str> = Visibility::ALL.iter().map(|v| v.as_str()).collect();
                format!("\"results\" is one of {}", names.join(", "))
            })?,
        };
        let seconds = match object.get("seconds") {
            None | Some(Value::Null) => None,
            Some(value) => Some(time_limit(value.as_i64())?),
        };
        Ok(Question {
            poll,
            results,
            seconds,
        })
    }

    pub fn to_json(&self) -> Value {
        let options: Vec<&str> = self.poll.options().map(|(_, label)| label).collect();
        json!({
            "question": self.poll.question(),
            "options": options,
            "results": self.results.as_str(),
            "seconds": self.seconds,
        })
    }
}

/// A time to vote, `seconds` when it is a whole number from [`MIN_SECONDS`] to
/// [`MAX_SECONDS`]; the error says so.
pub fn time_limit(seconds: Option<i64>) -> Result<i64, String> {
    seconds
        .filter(|seconds| (MIN_SECONDS..=MAX_SECONDS).contains(seconds))
        .ok_or_else(|| {
            format!(
                "the time to vote is a whole number of seconds from {MIN_SECONDS} to \
                 {MAX_SECONDS}, or none"
            )
        })
}

/// A deck from `{"questions": [...]}`; the error names the question at fault (from 1).
pub fn parse_deck(body: &[u8]) -> Result<Vec<Question>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| format!("send {{\"questions\": [{FORMAT}, …]}} as JSON"))?;
    let questions = value
        .get("questions")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("send {{\"questions\": [{FORMAT}, …]}}"))?;
    if questions.len() > MAX_QUESTIONS {
        return Err(format!("a deck holds at most {MAX_QUESTIONS} questions"));
    }
    questions
        .iter()
        .enumerate()
        .map(|(index, question)| {
            Question::from_json(question)
                .map_err(|problem| format!("question {}: {problem}", index + 1))
        })
        .collect()
}

/// The deck as the API answers it and the console exports it: each question with its position.
pub fn deck_json(questions: &[Question], next: usize) -> Value {
    let questions: Vec<Value> = questions
        .iter()
        .enumerate()
        .map(|(index, question)| {
            let mut value = question.to_json();
            value["position"] = (index + 1).into();
            value
        })
        .collect();
    json!({ "questions": questions, "next": next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deck_round_trips_with_defaults_filled_in() {
        let body = br#"{"questions":[
            {"question":"Tabs or spaces?","options":["Tabs","Spaces"]},
            {"options":["Rust","Go","Zig"],"results":"on-reveal","seconds":30}]}"#;
        let deck = parse_deck(body).unwrap();
        assert_eq!(deck[0].results, Visibility::Live);
        assert_eq!(deck[0].seconds, None);
        assert_eq!(deck[1].poll.question(), "Rust, Go or Zig?");
        assert_eq!(deck[1].results, Visibility::OnReveal);
        assert_eq!(deck[1].seconds, Some(30));
        let exported = deck_json(&deck, 1);
        assert_eq!(exported["questions"][1]["position"], 2);
        assert_eq!(exported["next"], 1);
        let again = parse_deck(exported.to_string().as_bytes()).unwrap();
        assert_eq!(again, deck);
    }

    #[test]
    fn bad_questions_are_named_with_what_to_change() {
        let cases: [(&[u8], &str); 7] = [
            (b"nope", "as JSON"),
            (br#"{"questions":{}}"#, "send {\"questions\""),
            (
                br#"{"questions":[{"options":["A"]}]}"#,
                "question 1: a poll has 2 to 8",
            ),
            (
                br#"{"questions":[{"options":["A","B"]},{"options":["A","B"],"results":"later"}]}"#,
                "question 2: \"results\" is one of live, after-vote, after-close, on-reveal",
            ),
            (
                br#"{"questions":[{"options":["A","B"],"seconds":4}]}"#,
                "from 5 to 3600",
            ),
            (
                br#"{"questions":[{"options":["A","B"],"seconds":3601}]}"#,
                "from 5 to 3600",
            ),
            (
                br#"{"questions":[{"options":["A",2]}]}"#,
                "\"options\" is a list",
            ),
        ];
        for (body, message) in cases {
            let problem = parse_deck(body).unwrap_err();
            assert!(problem.contains(message), "{problem}");
        }
        let many = format!(
            "{{\"questions\":[{}]}}",
            vec![r#"{"options":["A","B"]}"#; MAX_QUESTIONS + 1].join(",")
        );
        assert!(parse_deck(many.as_bytes()).unwrap_err().contains("at most"));
        assert_eq!(parse_deck(br#"{"questions":[]}"#).unwrap(), Vec::new());
    }

    #[test]
    fn visibilities_read_back_as_written() {
        for visibility in Visibility::ALL {
            assert_eq!(Visibility::parse(visibility.as_str()), Some(visibility));
        }
        assert_eq!(Visibility::parse("Live"), None);
    }
}
