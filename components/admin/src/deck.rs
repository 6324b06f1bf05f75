//! The talk's deck in PostgreSQL: read it, replace it (the API's `PUT` and the console's
//! import), and the console's edits — add, edit, move, delete — each a whole new deck written
//! in one statement. The questions before the next one have been asked: an edit keeps the
//! next question next (deleting an asked question moves it up one), and a move may not carry a
//! question across that line.

use anyhow::{Context, bail};
use spin_sdk::pg4::{self, DbValue, ParameterValue};
use voting_glue::postgres::{query_with_schema, single_integer};
use voting_shared::deck::Question;
use voting_shared::schema::{READ_DECK, REPLACE_DECK, STALE_DECK};

/// The deck as PostgreSQL has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deck {
    pub questions: Vec<Question>,
    /// The position (from 1) of the question `next` starts; past the last when they have all
    /// been asked.
    pub next: usize,
    /// Raised by every replacement: a console form carries the version it was shown, and an
    /// edit of a deck changed since is refused.
    pub version: i64,
}

/// Reads the deck.
pub fn read(database: &pg4::Connection) -> anyhow::Result<Deck> {
    let rows = query_with_schema(database, READ_DECK, &[]).context("reading the deck")?;
    let [row] = rows.rows.as_slice() else {
        bail!("expected one row reading the deck, got {}", rows.rows.len());
    };
    let [
        DbValue::Str(json),
        DbValue::Int64(next),
        DbValue::Int64(version),
    ] = row.as_slice()
    else {
        bail!("unexpected deck {row:?}");
    };
    let stored: Vec<serde_json::Value> =
        serde_json::from_str(json).context("reading the deck's JSON")?;
    let questions = stored
        .iter()
        .enumerate()
        .map(|(index, question)| {
            Question::from_json(question).map_err(|problem| {
                anyhow::anyhow!("the deck's question {} is damaged: {problem}", index + 1)
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Deck {
        questions,
        next: usize::try_from(*next).unwrap_or(1),
        version: *version,
    })
}

/// Replaces the deck with `questions`; `next` (from 1) is the question `next` starts, `None`
/// to leave it where it was. With `expected`, only if the deck is still that one (its version
/// and next question): answers whether it was replaced.
pub fn replace(
    database: &pg4::Connection,
    questions: &[Question],
    next: Option<usize>,
    expected: Option<&Deck>,
) -> anyhow::Result<bool> {
    let json = serde_json::Value::Array(questions.iter().map(Question::to_json).collect());
    let parameters = [
        ParameterValue::Str(json.to_string()),
        next.map_or(ParameterValue::DbNull, |next| {
            ParameterValue::Int32(next as i32)
        }),
        expected.map_or(ParameterValue::DbNull, |deck| {
            ParameterValue::Int64(deck.version)
        }),
        expected.map_or(ParameterValue::DbNull, |deck| {
            ParameterValue::Int32(deck.next as i32)
        }),
    ];
    let stored =
        query_with_schema(database, REPLACE_DECK, &parameters).context("storing the deck")?;
    Ok(single_integer(&stored).context("storing the deck")? != STALE_DECK)
}

/// An edit the console makes to the deck, by position from 1.
pub enum Edit {
    Add(Question),
    Replace(usize, Question),
    MoveUp(usize),
    MoveDown(usize),
    Delete(usize),
}

/// `questions`, whose next question is at `next` (from 1), with `edit` made, and where the
/// next question then is; an error names what is wrong with the edit.
pub fn edited(
    mut questions: Vec<Question>,
    mut next: usize,
    edit: Edit,
) -> Result<(Vec<Question>, usize), String> {
    let at = |position: usize, questions: &[Question]| {
        (1..=questions.len())
            .contains(&position)
            .then(|| position - 1)
            .ok_or_else(|| format!("The deck has no question {position}."))
    };
    // Swapping the questions at `upper` and `upper + 1` (from 1) must not cross the line
    // between the asked ones and those still to come.
    let crosses = |upper: usize| upper + 1 == next;
    let crossing = |upper: usize| {
        format!(
            "Question {upper} has been asked and question {} has not: move only among the \
             questions still to come, or among those asked.",
            upper + 1
        )
    };
    match edit {
        Edit::Add(question) => {
            if questions.len() >= voting_shared::deck::MAX_QUESTIONS {
                return Err(format!(
                    "A deck holds at most {} questions.",
                    voting_shared::deck::MAX_QUESTIONS
                ));
            }
            questions.push(question);
        }
        Edit::Replace(position, question) => {
            let index = at(position, &questions)?;
            questions[index] = question;
        }
        Edit::MoveUp(position) => {
            let index = at(position, &questions)?;
            if index > 0 {
                if crosses(position - 1) {
                    return Err(crossing(position - 1));
                }
                questions.swap(index - 1, index);
            }
        }
        Edit::MoveDown(position) => {
            let index = at(position, &questions)?;
            if index + 1 < questions.len() {
                if crosses(position) {
                    return Err(crossing(position));
                }
                questions.swap(index, index + 1);
            }
        }
        Edit::Delete(position) => {
            let index = at(position, &questions)?;
            questions.remove(index);
            if position < next {
                next -= 1;
            }
        }
    }
    Ok((questions, next))
}

#[cfg(test)]
mod tests {
    use voting_shared::deck::Visibility;
    use voting_shared::poll::Poll;

    use super::*;

    fn question(label: &str) -> Question {
        Question {
            poll: Poll::with_question(label, &["Yes", "No"]).unwrap(),
            results: Visibility::Live,
            seconds: None,
        }
    }

    fn questions(deck: &[Question]) -> Vec<&str> {
        deck.iter()
            .map(|question| question.poll.question())
            .collect()
    }

    #[test]
    fn edits_add_replace_move_and_delete_by_position() {
        let deck = vec![question("One?"), question("Two?")];
        let (deck, next) = edited(deck, 1, Edit::Add(question("Three?"))).unwrap();
        assert_eq!(
            (questions(&deck), next),
            (vec!["One?", "Two?", "Three?"], 1)
        );
        let (deck, _) = edited(deck, 1, Edit::MoveUp(3)).unwrap();
        assert_eq!(questions(&deck), ["One?", "Three?", "Two?"]);
        let (deck, _) = edited(deck, 1, Edit::MoveDown(1)).unwrap();
        assert_eq!(questions(&deck), ["Three?", "One?", "Two?"]);
        let (deck, _) = edited(deck, 1, Edit::MoveUp(1)).unwrap();
        assert_eq!(
            questions(&deck),
            ["Three?", "One?", "Two?"],
            "the first stays first"
        );
        let (deck, _) = edited(deck, 1, Edit::Replace(2, question("Uno?"))).unwrap();
        assert_eq!(questions(&deck), ["Three?", "Uno?", "Two?"]);
        let (deck, _) = edited(deck, 1, Edit::Delete(1)).unwrap();
        assert_eq!(questions(&deck), ["Uno?", "Two?"]);
        let problem = edited(deck, 1, Edit::Delete(3)).err().unwrap();
        assert_eq!(problem, "The deck has no question 3.");
    }

    #[test]
    fn the_next_question_stays_next_whatever_is_edited_around_it() {
        let deck = || vec![question("One?"), question("Two?"), question("Three?")];
        // One and Two asked: Three is next.
        let (after, next) = edited(deck(), 3, Edit::Delete(1)).unwrap();
        assert_eq!((questions(&after)[next - 1], next), ("Three?", 2));
        let (after, next) = edited(deck(), 2, Edit::Delete(3)).unwrap();
        assert_eq!((questions(&after)[next - 1], next), ("Two?", 2));
        let (after, next) = edited(deck(), 4, Edit::Delete(2)).unwrap();
        assert_eq!((after.len(), next), (2, 3), "still past the end: all asked");
        let (after, next) = edited(deck(), 2, Edit::MoveDown(2)).unwrap();
        assert_eq!(
            (questions(&after)[next - 1], next),
            ("Three?", 2),
            "the new order is asked"
        );
        let (after, next) = edited(deck(), 3, Edit::MoveUp(2)).unwrap();
        assert_eq!(
            (questions(&after), next),
            (vec!["Two?", "One?", "Three?"], 3)
        );
        for (next, edit) in [(2, Edit::MoveUp(2)), (2, Edit::MoveDown(1))] {
            let problem = edited(deck(), next, edit).err().unwrap();
            assert!(problem.contains("Question 1 has been asked"), "{problem}");
        }
    }
}
