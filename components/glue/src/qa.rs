//! The audience's questions as PostgreSQL has them ([`current`]), and the list the room reads,
//! kept in Redis ([`keep_list`]) unless a newer snapshot's is kept.

use anyhow::Context;
use spin_sdk::pg4;
use spin_sdk::redis::Connection;
use voting_shared::questions::{
    QA_KEY, QA_REBUILD_KEY, QaSnapshot, VISIBLE_KEY, WRITE_LIST_SCRIPT,
};
use voting_shared::results::tag;
use voting_shared::schema::QA_SNAPSHOT;

use crate::postgres::{query_with_schema, single_text};
use crate::redis::{binary, eval, integer};

/// Every question and the Q&A's state, from PostgreSQL (creating the schema if missing).
pub fn current(database: &pg4::Connection) -> anyhow::Result<QaSnapshot> {
    let rows = query_with_schema(database, QA_SNAPSHOT, &[]).context("reading the questions")?;
    QaSnapshot::parse(single_text(&rows).context("reading the questions")?)
}

/// Keeps `snapshot`'s list for the room in Redis, with the ids phones may upvote. Answers
/// whether it wrote (a newer snapshot's list may be kept already).
pub fn keep_list(redis: &Connection, snapshot: &QaSnapshot) -> anyhow::Result<bool> {
    let list = snapshot.list().to_string();
    let mut arguments = vec![
        binary(&snapshot.instance),
        binary(snapshot.version.to_string()),
        binary(snapshot.mode.as_str()),
        binary(&list),
        binary(tag(&list)),
    ];
    arguments.extend(
        snapshot
            .published()
            .into_iter()
            .map(|question| binary(question.id.to_string())),
    );
    let reply = eval(
        redis,
        WRITE_LIST_SCRIPT,
        &[QA_KEY, VISIBLE_KEY, QA_REBUILD_KEY],
        &arguments,
    )
    .context("keeping the questions in Redis")?;
    Ok(integer(&reply).context("keeping the questions in Redis")? == 1)
}
