//! The tallies as the database holds them: by the original app's result query, and the
//! running tally our worker keeps beside it.

use std::collections::BTreeMap;

/// Counts per vote by the original app's result query.
pub async fn counts_by_vote(
    client: &tokio_postgres::Client,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let rows = client
        .query(voting_shared::schema::ORIGINAL_TALLY_QUERY, &[])
        .await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

/// The nonzero counts of the running tally, or `None` before the schema has one.
pub async fn running_tally(
    client: &tokio_postgres::Client,
) -> anyhow::Result<Option<BTreeMap<String, i64>>> {
    let exists: Option<String> = client
        .query_one("SELECT to_regclass('vote_tallies')::text", &[])
        .await?
        .get(0);
    if exists.is_none() {
        return Ok(None);
    }
    let rows = client
        .query("SELECT vote, count FROM vote_tallies WHERE count <> 0", &[])
        .await?;
    Ok(Some(
        rows.iter().map(|row| (row.get(0), row.get(1))).collect(),
    ))
}
