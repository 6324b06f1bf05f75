//! The poll on the ballot: its question and its options' labels, 2 to 8, from the `options`
//! variable (`Cats,Dogs,Birds`, or a JSON array when a label has a comma), or from `option_a`
//! and `option_b`, as in the original app, when `options` is empty.

use std::fmt;

use anyhow::Context;

use crate::choice::{Choice, MAX_OPTIONS};

/// The fewest options a poll can have.
pub const MIN_OPTIONS: usize = 2;
/// The longest label, in characters: a button must still fit on a phone.
pub const MAX_LABEL_CHARS: usize = 100;
/// The longest question a presenter may ask, in characters: a heading on a projector.
pub const MAX_QUESTION_CHARS: usize = 200;

/// A valid poll: 2 to 8 different, non-empty labels, and the question they answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Poll {
    question: String,
    labels: Vec<String>,
}

/// Why a list of options makes no poll; the text says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollProblem {
    Count(usize),
    EmptyLabel(usize),
    LongLabel(usize),
    Duplicate(String),
    NotAList,
    LongQuestion,
}

impl fmt::Display for PollProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollProblem::Count(count) => write!(
                f,
                "a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options, not {count}: separate the \
                 labels with commas (Cats,Dogs,Birds) or give a JSON array of strings"
            ),
            PollProblem::EmptyLabel(position) => {
                write!(f, "option {position} is empty: give every option a label")
            }
            PollProblem::LongLabel(position) => write!(
                f,
                "option {position} is longer than {MAX_LABEL_CHARS} characters: shorten it"
            ),
            PollProblem::Duplicate(label) => write!(
                f,
                "{label:?} is given twice: give every option a different label"
            ),
            PollProblem::NotAList => f.write_str(
                "it starts with '[' but is not a JSON array of strings: write \
                 [\"Cats\", \"Dogs\"], or Cats,Dogs",
            ),
            PollProblem::LongQuestion => write!(
                f,
                "the question is longer than {MAX_QUESTION_CHARS} characters: shorten it"
            ),
        }
    }
}

impl std::error::Error for PollProblem {}

impl Poll {
    /// A poll of `labels` (trimmed), in ballot order, asking which one.
    pub fn new<S: AsRef<str>>(labels: &[S]) -> Result<Poll, PollProblem> {
        let labels: Vec<String> = labels
            .iter()
            .map(|l| l.as_ref().trim().to_owned())
            .collect();
        if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&labels.len()) {
            return Err(PollProblem::Count(labels.len()));
        }
        for (index, label) in labels.iter().enumerate() {
            if label.is_empty() {
                return Err(PollProblem::EmptyLabel(index + 1));
            }
            if label.chars().count() > MAX_LABEL_CHARS {
                return Err(PollProblem::LongLabel(index + 1));
            }
            let lowercase = label.to_lowercase();
            if labels[..index]
                .iter()
                .any(|l| l.to_lowercase() == lowercase)
            {
                return Err(PollProblem::Duplicate(label.clone()));
            }
        }
        Ok(Poll {
            question: question_for(&labels),
            labels,
        })
    }

    /// A poll of `labels` asking `question`; an empty question asks which one, as [`Poll::new`].
    pub fn with_question<S: AsRef<str>>(question: &str, labels: &[S]) -> Result<Poll, PollProblem> {
        let mut poll = Poll::new(labels)?;
        let question = question.trim();
        if question.chars().count() > MAX_QUESTION_CHARS {
            return Err(PollProblem::LongQuestion);
        }
        if !question.is_empty() {
            poll.question = question.to_owned();
        }
        Ok(poll)
    }

    /// The labels in ballot order, as stored with a round (a JSON array of strings).
    pub fn labels_json(&self) -> String {
        serde_json::to_string(&self.labels).expect("strings always serialize")
    }

    /// The poll a round stored: its question and [`Poll::labels_json`].
    pub fn from_stored(question: &str, labels_json: &str) -> Result<Poll, PollProblem> {
        let labels: Vec<String> =
            serde_json::from_str(labels_json).map_err(|_| PollProblem::NotAList)?;
        Poll::with_question(question, &labels)
    }

    /// The labels in the `options` variable's text: a JSON array of strings, or
    /// comma-separated.
    pub fn parse_options(text: &str) -> Result<Poll, PollProblem> {
        let text = text.trim();
        if text.starts_with('[') {
            let labels: Vec<String> =
                serde_json::from_str(text).map_err(|_| PollProblem::NotAList)?;
            Poll::new(&labels)
        } else {
            Poll::new(&text.split(',').collect::<Vec<_>>())
        }
    }

    /// Reads the poll through `variable` (Spin's `variables::get`): `options`, or when it is
    /// empty `option_a` and `option_b`.
    pub fn from_variables(
        mut variable: impl FnMut(&str) -> anyhow::Result<String>,
    ) -> anyhow::Result<Poll> {
        let options = variable("options")?;
        if !options.trim().is_empty() {
            return Poll::parse_options(&options).context("the variable options makes no poll");
        }
        Poll::new(&[variable("option_a")?, variable("option_b")?])
            .context("the variables option_a and option_b make no poll")
    }

    /// The question, as the pages' heading: "Cats or Dogs?", "Cats, Dogs or Birds?", or for
    /// labels too long to list, "Which one do you pick?".
    pub fn question(&self) -> &str {
        &self.question
    }

    /// The options in ballot order.
    pub fn options(&self) -> impl Iterator<Item = (Choice, &str)> {
        self.labels
            .iter()
            .enumerate()
            .map(|(index, label)| (Choice::at(index), label.as_str()))
    }

    /// How many options the poll has.
    pub fn option_count(&self) -> usize {
        self.labels.len()
    }

    /// The label of `choice`, if the poll offers it.
    pub fn label(&self, choice: Choice) -> Option<&str> {
        self.labels.get(choice.index()).map(String::as_str)
    }

    /// The choice whose wire form is `text`, if the poll offers it.
    pub fn choice(&self, text: &str) -> Option<Choice> {
        Choice::parse(text).filter(|choice| choice.index() < self.option_count())
    }

    /// `"a" (Cats) or "b" (Dogs)`: what a voter may send.
    pub fn choices_in_words(&self) -> String {
        let options: Vec<String> = self
            .options()
            .map(|(choice, label)| format!("\"{choice}\" ({label})"))
            .collect();
        in_words(&options)
    }
}

/// The longest question made of the labels; past it, a heading would fill the screen.
const MAX_LISTED_QUESTION_CHARS: usize = 60;

/// The question the labels answer: the labels themselves while that stays short.
fn question_for(labels: &[String]) -> String {
    let listed = format!("{}?", in_words(labels));
    if listed.chars().count() <= MAX_LISTED_QUESTION_CHARS {
        listed
    } else {
        "Which one do you pick?".to_owned()
    }
}

/// "x or y", "x, y or z".
fn in_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(poll: &Poll) -> Vec<&str> {
        poll.options().map(|(_, label)| label).collect()
    }

    #[test]
    fn reads_comma_separated_labels_and_json_arrays() {
        let poll = Poll::parse_options(" Cats, Dogs ,Birds").unwrap();
        assert_eq!(labels(&poll), ["Cats", "Dogs", "Birds"]);
        assert_eq!(poll.question(), "Cats, Dogs or Birds?");
        let poll = Poll::parse_options(r#"["Yes, now", "No, later"]"#).unwrap();
        assert_eq!(labels(&poll), ["Yes, now", "No, later"]);
        assert_eq!(poll.question(), "Yes, now or No, later?");
        let short = Poll::parse_options("Rust,Go,Zig,C++,Swift,Kotlin,Haskell,OCaml").unwrap();
        assert_eq!(
            short.question(),
            "Rust, Go, Zig, C++, Swift, Kotlin, Haskell or OCaml?"
        );
        let long =
            Poll::parse_options("Rust,Go,Zig,C++,Swift,Kotlin,Haskell,Something newer").unwrap();
        assert_eq!(long.question(), "Which one do you pick?");
    }

    #[test]
    fn refuses_what_makes_no_poll() {
        let cases = [
            ("Cats", PollProblem::Count(1)),
            ("a,b,c,d,e,f,g,h,i", PollProblem::Count(9)),
            ("Cats,,Dogs", PollProblem::EmptyLabel(2)),
            ("Cats, cats", PollProblem::Duplicate("cats".into())),
            ("[\"Cats\", 1]", PollProblem::NotAList),
            ("[\"Cats\"", PollProblem::NotAList),
            ("[]", PollProblem::Count(0)),
        ];
        for (text, problem) in cases {
            assert_eq!(Poll::parse_options(text), Err(problem), "{text:?}");
        }
        let long = format!("Cats,{}", "x".repeat(MAX_LABEL_CHARS + 1));
        assert_eq!(Poll::parse_options(&long), Err(PollProblem::LongLabel(2)));
        assert!(Poll::parse_options(&format!("Cats,{}", "é".repeat(MAX_LABEL_CHARS))).is_ok());
    }

    #[test]
    fn options_come_first_then_option_a_and_option_b() {
        let variables = |options: &'static str| {
            move |name: &str| {
                Ok(match name {
                    "options" => options,
                    "option_a" => "Tabs",
                    "option_b" => "Spaces",
                    _ => anyhow::bail!("no variable {name}"),
                }
                .to_owned())
            }
        };
        let poll = Poll::from_variables(variables("")).unwrap();
        assert_eq!(labels(&poll), ["Tabs", "Spaces"]);
        assert_eq!(poll.question(), "Tabs or Spaces?");
        let poll = Poll::from_variables(variables("Cats,Dogs,Birds")).unwrap();
        assert_eq!(poll.option_count(), 3);
        let error = Poll::from_variables(variables("Cats")).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "the variable options makes no poll: a poll has 2 to 8 options, not 1: separate \
             the labels with commas (Cats,Dogs,Birds) or give a JSON array of strings"
        );
    }

    #[test]
    fn a_presenter_asks_a_question_of_their_own_and_it_is_stored_with_the_labels() {
        let poll = Poll::with_question(" Lunch? ", &["Pizza", "Soup, hot"]).unwrap();
        assert_eq!(poll.question(), "Lunch?");
        let stored = Poll::from_stored(poll.question(), &poll.labels_json()).unwrap();
        assert_eq!(stored, poll);
        assert_eq!(
            Poll::with_question("", &["Pizza", "Soup"])
                .unwrap()
                .question(),
            "Pizza or Soup?"
        );
        let long = "?".repeat(MAX_QUESTION_CHARS + 1);
        assert_eq!(
            Poll::with_question(&long, &["Pizza", "Soup"]),
            Err(PollProblem::LongQuestion)
        );
        assert_eq!(Poll::from_stored("", "nope"), Err(PollProblem::NotAList));
    }

    #[test]
    fn offers_only_its_own_choices() {
        let poll = Poll::parse_options("Cats,Dogs,Birds").unwrap();
        assert_eq!(poll.choice("c"), Some(Choice::at(2)));
        assert_eq!(poll.choice("d"), None);
        assert_eq!(poll.label(Choice::at(2)), Some("Birds"));
        assert_eq!(poll.label(Choice::at(3)), None);
        assert_eq!(
            poll.choices_in_words(),
            r#""a" (Cats), "b" (Dogs) or "c" (Birds)"#
        );
    }
}
