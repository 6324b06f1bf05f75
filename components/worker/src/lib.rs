//! The vote worker (placeholder until the pipeline lands).

use bytes::Bytes;
use spin_sdk::redis_component;

#[redis_component]
fn on_doorbell(_message: Bytes) -> anyhow::Result<()> {
    Ok(())
}
