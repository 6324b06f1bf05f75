//! The round's mirror in Redis, written as the worker writes it, for a test or a benchmark
//! that runs vote without a worker.

use redis::AsyncCommands;
use voting_shared::round::{ROUND_KEY, Round};

/// Mirrors `round` to Redis, as the worker's restore does.
pub async fn mirror_round(
    redis: &mut redis::aio::MultiplexedConnection,
    round: &Round,
) -> anyhow::Result<()> {
    let open = if round.open { "1" } else { "0" };
    let fields = [
        ("round", round.number.to_string()),
        ("open", open.to_owned()),
        ("choices", round.choices_field()),
        ("poll", round.poll_field()),
        ("results", round.results_field().to_owned()),
        ("closes", round.closes_field()),
        ("revealed", if round.revealed { "1" } else { "" }.to_owned()),
    ];
    let () = redis.hset_multiple(ROUND_KEY, &fields).await?;
    Ok(())
}

/// Round 1 of the configured poll, open: what a fresh installation starts with.
pub fn first_round() -> Round {
    Round::configured(1)
}
