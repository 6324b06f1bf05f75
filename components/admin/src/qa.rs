//! The audience's questions, for the presenter: the mode (off, open, moderated), every question
//! with its state, and the moderation — approve, hide, mark answered, highlight one on the
//! projector — made in PostgreSQL and then kept in Redis for the room, as a change of the round
//! is. The same for the console's forms and the API.

use anyhow::Context;
use spin_sdk::pg4::ParameterValue;
use voting_glue::postgres::{self, execute_with_schema};
use voting_glue::qa;
use voting_shared::questions::{Mode, QaSnapshot, Question};
use voting_shared::schema::{MODERATE, SET_QA_MODE};

use crate::actions::{Refusal, postgres_or_refusal, redis_or_refusal};

/// A presenter's decision on one question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moderation {
    /// Published: the room sees it.
    Approve,
    /// Hidden from the room (the presenter still sees it).
    Hide,
    /// Marked answered.
    Answer,
    /// The one on the projector's Q&A screen (one at a time).
    Highlight,
}

impl Moderation {
    pub const ALL: [Moderation; 4] = [
        Moderation::Approve,
        Moderation::Hide,
        Moderation::Answer,
        Moderation::Highlight,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Moderation::Approve => "approve",
            Moderation::Hide => "hide",
            Moderation::Answer => "answer",
            Moderation::Highlight => "highlight",
        }
    }

    pub fn parse(text: &str) -> Option<Moderation> {
        Moderation::ALL
            .into_iter()
            .find(|moderation| moderation.as_str() == text)
    }
}

/// Every question and the Q&A's state, from PostgreSQL.
pub fn read() -> Result<QaSnapshot, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    postgres_or_refusal(qa::current(&database))
}

/// Sets the mode, and tells the room.
pub fn set_mode(mode: Mode) -> Result<QaSnapshot, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    postgres_or_refusal(
        execute_with_schema(
            &database,
            SET_QA_MODE,
            &[ParameterValue::Str(mode.as_str().to_owned())],
        )
        .context("setting the Q&A's mode"),
    )?;
    publish(&database)
}

/// Moderates question `id`; an unknown id is refused (404) and changes nothing.
pub fn moderate(id: i64, moderation: Moderation) -> Result<QaSnapshot, Refusal> {
    let database = postgres_or_refusal(postgres::open())?;
    let changed = postgres_or_refusal(
        execute_with_schema(
            &database,
            MODERATE,
            &[
                ParameterValue::Int64(id),
                ParameterValue::Str(moderation.as_str().to_owned()),
            ],
        )
        .with_context(|| format!("moderating a question ({})", moderation.as_str())),
    )?;
    if changed == 0 {
        return Err(Refusal::new(
            404,
            format!(
                "There is no question {id}: one asked a moment ago is stored within a second, \
                 try again then."
            ),
        ));
    }
    publish(&database)
}

/// Reads the questions back and keeps their list in Redis for the room; once saved, a failure
/// here says so.
fn publish(database: &spin_sdk::pg4::Connection) -> Result<QaSnapshot, Refusal> {
    let snapshot = qa::current(database).map_err(|error| {
        let problem = postgres::diagnose("admin", &error);
        Refusal::new(
            503,
            format!(
                "Saved, but it could not be read back: {}. The room's list catches up at the \
                 next question or upvote; there is no need to do it again.",
                problem.advice()
            ),
        )
    })?;
    let redis = redis_or_refusal(voting_glue::redis::open())?;
    qa::keep_list(&redis, &snapshot).map_err(|error| {
        let problem = voting_glue::redis::diagnose("admin", &error);
        Refusal::new(
            503,
            format!(
                "Saved, but the room could not be told: {}. Its list catches up as soon as \
                 Redis answers; there is no need to do it again.",
                problem.advice()
            ),
        )
    })?;
    Ok(snapshot)
}

/// A question as the presenter sees it.
pub fn question_json(question: &Question, highlighted: Option<i64>) -> serde_json::Value {
    serde_json::json!({
        "id": question.id.to_string(),
        "text": question.text,
        "name": question.name,
        "upvotes": question.upvotes,
        "state": question.state,
        "answered": question.answered,
        "highlighted": highlighted == Some(question.id),
        "asked_at": crate::rounds::utc(question.asked_ms),
    })
}

/// Every question, most upvoted first, for the API.
pub fn snapshot_json(snapshot: &QaSnapshot) -> serde_json::Value {
    let questions: Vec<serde_json::Value> = snapshot
        .by_upvotes()
        .into_iter()
        .map(|question| question_json(question, snapshot.highlighted))
        .collect();
    serde_json::json!({
        "mode": snapshot.mode.as_str(),
        "highlighted": snapshot.highlighted.map(|id| id.to_string()),
        "questions": questions,
    })
}

/// Every question as `questions.csv`, hidden ones included and marked.
pub fn csv(snapshot: &QaSnapshot) -> String {
    voting_shared::questions::to_csv(&snapshot.questions, crate::rounds::utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_moderation_has_one_name() {
        for moderation in Moderation::ALL {
            assert_eq!(Moderation::parse(moderation.as_str()), Some(moderation));
        }
        assert_eq!(Moderation::parse("delete"), None);
        assert!(
            MODERATE.contains("'approve'")
                && MODERATE.contains("'hide'")
                && MODERATE.contains("'answer'")
                && MODERATE.contains("'highlight'"),
            "the statement knows every name"
        );
    }
}
