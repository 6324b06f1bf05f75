//! Spin's Redis trigger (`crates/trigger-redis/src/lib.rs`): SUBSCRIBE to each trigger's
//! channel at its address, and dispatch the messages one at a time, each to a fresh instance;
//! a message published while nobody is subscribed is lost; the trigger ends when its
//! connection drops.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use futures::StreamExt;
use wasmtime::Engine;

use crate::app::App;
use crate::bindings::RedisTriggerPre;
use crate::control::SpinHazard;
use crate::instance::{ComponentContext, InstanceState};

/// A Redis trigger, resolved: where it subscribes and what it runs.
pub(crate) struct RedisSubscription {
    pub(crate) address: String,
    pub(crate) channel: String,
    pub(crate) context: Arc<ComponentContext>,
    pub(crate) pre: RedisTriggerPre<InstanceState>,
}

impl App {
    /// Delivers one Redis message to `component` in a fresh instance, as Spin's Redis
    /// trigger does for each message on the channel.
    pub async fn deliver(&self, component: &str, payload: &[u8]) -> anyhow::Result<()> {
        let subscription = self
            .0
            .redis_subscriptions
            .iter()
            .find(|subscription| subscription.context.id == component)
            .with_context(|| format!("no Redis trigger for component {component:?}"))?;
        deliver(&self.0.engine, subscription, payload).await
    }

    /// Subscribes every Redis trigger to its channel, as `spin up` does, and dispatches the
    /// messages one at a time until the returned handle is dropped or the connection is lost.
    /// Returns once the subscriptions are confirmed, so messages published after it are seen.
    pub async fn start_redis_triggers(&self) -> anyhow::Result<RedisTriggers> {
        let handled = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for (index, subscription) in self.0.redis_subscriptions.iter().enumerate() {
            // As Spin's trigger: messages name the server by host and port, never the
            // address, which may carry a password.
            let client = redis::Client::open(subscription.address.as_str()).context(
                "the Redis trigger address is not a Redis URL (are the credentials URL-encoded?)",
            )?;
            let server = client.get_connection_info().addr.to_string();
            let mut pubsub = client
                .get_async_pubsub()
                .await
                .with_context(|| format!("Redis trigger failed to connect to {server}"))?;
            pubsub.subscribe(&subscription.channel).await?;
            // Spin's redis-rs drops a refused SUBSCRIBE's error; a PING tells: answered as a
            // subscriber (an array), as a plain connection (a status: the SUBSCRIBE was
            // refused), or refused itself (no login).
            match pubsub.ping::<redis::Value>().await {
                Ok(redis::Value::Array(_)) => {}
                _ => {
                    return Err(
                        anyhow::Error::new(SpinHazard::SubscribeRefused).context(format!(
                            "subscribing the Redis trigger to {:?}",
                            subscription.channel
                        )),
                    );
                }
            }
            let app = self.clone();
            let handled = handled.clone();
            tasks.push(tokio::spawn(async move {
                let subscription = &app.0.redis_subscriptions[index];
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    if let Err(error) =
                        deliver(&app.0.engine, subscription, message.get_payload_bytes()).await
                    {
                        app.log(&format!("{}: {error:#}\n", subscription.context.id));
                    }
                    handled.fetch_add(1, Ordering::SeqCst);
                }
                app.log("Redis trigger: connection lost, exiting\n");
            }));
        }
        Ok(RedisTriggers { tasks, handled })
    }
}

async fn deliver(
    engine: &Engine,
    subscription: &RedisSubscription,
    payload: &[u8],
) -> anyhow::Result<()> {
    let mut store = InstanceState::store(engine, subscription.context.clone());
    let instance = subscription.pre.instantiate_async(&mut store).await?;
    match instance
        .fermyon_spin_inbound_redis()
        .call_handle_message(&mut store, &payload.to_vec())
        .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => bail!("the handler returned an error"),
        Err(trap) => match trap.downcast_ref::<SpinHazard>() {
            Some(hazard) => bail!(
                "component {} would hang under a real Spin: {hazard}",
                subscription.context.id
            ),
            None => Err(anyhow::Error::from(trap).context("the handler trapped")),
        },
    }
}

/// Running Redis triggers; dropping this stops them.
pub struct RedisTriggers {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    handled: Arc<AtomicU64>,
}

impl RedisTriggers {
    /// How many messages have been dispatched (successfully or not) so far.
    pub fn messages_handled(&self) -> u64 {
        self.handled.load(Ordering::SeqCst)
    }

    /// Whether every trigger is still subscribed (Spin's trigger exits when its connection drops).
    pub fn is_running(&self) -> bool {
        self.tasks.iter().all(|task| !task.is_finished())
    }
}

impl Drop for RedisTriggers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
