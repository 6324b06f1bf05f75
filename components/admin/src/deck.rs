//! The talk's deck in PostgreSQL: read it, replace it (the API's `PUT` and the console's
//! import), and the console's edits — add, edit, move, delete — each a whole new deck written
//! in one statement, the next question staying where it was.

use anyhow::{Context, bail};
use spin_sdk::pg4::{self, DbValue, ParameterValue};
use voting_glue::round;
use voting_shared::deck::Question;
use voting_shared::schema::{READ_DECK, REPLACE_DECK};

/// The deck's questions in order, and the position (from 1) of the one `next` starts; past
/// the last when they have all been asked.
pub fn read(database: &pg4::Connection) -> anyhow::Result<(Vec<Question>, usize)> {
    let rows = round::query_with_schema(database, READ_DECK, &[]).context("reading the deck")?;
    let [row] = rows.rows.as_slice() else {
        bail!("expected one row reading the deck, got {}", rows.rows.len());
    };
    let [DbValue::Str(json), DbValue::Int64(next)] = row.as_slice() else {
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
    Ok((questions, usize::try_from(*next).unwrap_or(1)))
}

/// Replaces the deck with `questions`; `next` (from 1) is the question `next` starts, `None`
/// to leave it where it was.
pub fn replace(
    database: &pg4::Connection,
    questions: &[Question],
    next: Option<usize>,
) -> anyhow::Result<()> {
    let json = serde_json::Value::Array(questions.iter().map(Question::to_json).collect());
    let parameters = [
        ParameterValue::Str(json.to_string()),
        next.map_or(ParameterValue::DbNull, |next| {
            ParameterValue::Int32(next as i32)
        }),
    ];
    round::query_with_schema(database, REPLACE_DECK, &parameters).context("storing the deck")?;
    Ok(())
}

/// An edit the console makes to the deck, by position from 1.
pub enum Edit {
    Add(Question),
    Replace(usize, Question),
    MoveUp(usize),
    MoveDown(usize),
    Delete(usize),
}

/// `questions` with `edit` made; an error names what is wrong with it.
pub fn edited(mut questions: Vec<Question>, edit: Edit) -> Result<Vec<Question>, String> {
    let at = |position: usize, questions: &[Question]| {
        (1..=questions.len())
            .contains(&position)
            .then(|| position - 1)
            .ok_or_else(|| format!("The deck has no question {position}."))
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
                questions.swap(index - 1, index);
            }
        }
        Edit::MoveDown(position) => {
            let index = at(position, &questions)?;
            if index + 1 < questions.len() {
                questions.swap(index, index + 1);
            }
        }
        Edit::Delete(position) => {
            let index = at(position, &questions)?;
            questions.remove(index);
        }
    }
    Ok(questions)
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
        let deck = edited(deck, Edit::Add(question("Three?"))).unwrap();
        assert_eq!(questions(&deck), ["One?", "Two?", "Three?"]);
        let deck = edited(deck, Edit::MoveUp(3)).unwrap();
        assert_eq!(questions(&deck), ["One?", "Three?", "Two?"]);
        let deck = edited(deck, Edit::MoveDown(1)).unwrap();
        assert_eq!(questions(&deck), ["Three?", "One?", "Two?"]);
        let deck = edited(deck, Edit::MoveUp(1)).unwrap();
        assert_eq!(
            questions(&deck),
            ["Three?", "One?", "Two?"],
            "the first stays first"
        );
        let deck = edited(deck, Edit::Replace(2, question("Uno?"))).unwrap();
        assert_eq!(questions(&deck), ["Three?", "Uno?", "Two?"]);
        let deck = edited(deck, Edit::Delete(1)).unwrap();
        assert_eq!(questions(&deck), ["Uno?", "Two?"]);
        let problem = edited(deck, Edit::Delete(3)).err().unwrap();
        assert_eq!(problem, "The deck has no question 3.");
    }
}
