//! The worker's doorbell where there is no Redis trigger: a `POST` to its private endpoint by
//! local service chaining, at the component variable `doorbell_url` (empty: the doorbell is
//! the message vote publishes on the votes channel, and nothing is rung here).

use anyhow::{Context, ensure};
use spin_sdk::http::{Request, Response};

/// The HTTP doorbell's address, `None` where the Redis trigger is the doorbell.
pub fn http_doorbell() -> anyhow::Result<Option<String>> {
    let url = crate::variable("doorbell_url")?;
    Ok((!url.is_empty()).then_some(url))
}

/// Rings the doorbell at `url` with `ring` as the body (who rang:
/// [`VOTE_RING`](voting_shared::doorbell::VOTE_RING) or
/// [`CATCH_UP_RING`](voting_shared::doorbell::CATCH_UP_RING)) and waits for the worker's run to
/// end.
pub async fn ring(url: &str, ring: &str) -> anyhow::Result<()> {
    let response: Response = spin_sdk::http::send(Request::post(url, ring.as_bytes().to_vec()))
        .await
        .with_context(|| format!("ringing the doorbell at {url}"))?;
    ensure!(
        *response.status() < 300,
        "the doorbell at {url} answered {}",
        response.status()
    );
    Ok(())
}

/// Rings the HTTP doorbell with `ring` where there is one; where the Redis trigger is the
/// doorbell, the enqueue script has rung it already.
pub async fn ring_http(ring: &str) -> anyhow::Result<()> {
    match http_doorbell()? {
        Some(url) => self::ring(&url, ring).await,
        None => Ok(()),
    }
}
