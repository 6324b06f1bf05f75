//! What a test controls beyond Spin: host calls that trap on demand (a crash at a chosen
//! point), PostgreSQL writes that silently do nothing (a broken worker), and the Spin
//! behaviours this host refuses to reproduce because they would hang a test (hazards).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// A host call that a test can make fail with a trap, to simulate a crash at that point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCall {
    RedisOpen,
    RedisExecute {
        command: String,
        arguments: Vec<Vec<u8>>,
    },
    PostgresOpen,
    PostgresStatement(String),
    /// An outbound HTTP request (local service chaining) to this authority.
    HttpSend(String),
}

/// A Spin behaviour the test host does not reproduce because it would hang or corrupt the
/// test; the host call traps with it instead, and the test fails naming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinHazard {
    /// spinframework/spin#3671, Spin 4.0 to at least 4.1.
    ZeroRowQuery,
    /// Redis refused the trigger's `SUBSCRIBE` (no password, or an ACL user without the
    /// channel); redis-rs 0.32, which Spin uses, drops that error reply.
    SubscribeRefused,
    /// Something Spin converts that this host does not model.
    NotModelled(&'static str),
}

impl std::fmt::Display for SpinHazard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpinHazard::ZeroRowQuery => f.write_str(
                "a PostgreSQL `query` returned no rows: under Spin 4.0 to at least 4.1 such a \
                 call never returns and holds a pooled connection until Spin stops \
                 (spinframework/spin#3671); write the query so it always returns a row",
            ),
            SpinHazard::SubscribeRefused => f.write_str(
                "Redis refused the Redis trigger's SUBSCRIBE (a missing password, or an ACL user \
                 without the channel): under Spin the trigger starts, lists its channel and \
                 never receives a message; set redis_password, or grant the user the channel",
            ),
            SpinHazard::NotModelled(what) => write!(
                f,
                "the test host does not model how Spin converts {what} \
                 (crates/factor-outbound-pg/src/types.rs); model it before relying on it"
            ),
        }
    }
}

impl std::error::Error for SpinHazard {}

/// Sees every host call before it runs (to count them, say) and decides whether it traps
/// instead: `Some(message)` makes the call trap with that message.
pub type HostCallHook = Arc<dyn Fn(&HostCall) -> Option<String> + Send + Sync>;

/// What a test set for the app: the host call hook, and whether writes are discarded.
#[derive(Default)]
pub(crate) struct Controls {
    hook: RwLock<Option<HostCallHook>>,
    discard_postgres_writes: AtomicBool,
}

impl Controls {
    pub(crate) fn set_hook(&self, hook: Option<HostCallHook>) {
        *self.hook.write().unwrap() = hook;
    }

    pub(crate) fn discard_postgres_writes(&self, discard: bool) {
        self.discard_postgres_writes
            .store(discard, Ordering::SeqCst);
    }

    /// Shows `call` to the hook; traps if it asks for the call to fail.
    pub(crate) fn check(&self, call: &HostCall) -> wasmtime::Result<()> {
        let hook = self.hook.read().unwrap();
        match hook.as_ref().and_then(|hook| hook(call)) {
            Some(message) => Err(wasmtime::Error::msg(message)),
            None => Ok(()),
        }
    }

    /// Whether a test made PostgreSQL writes succeed without changing anything.
    pub(crate) fn discards_postgres_writes(&self) -> bool {
        self.discard_postgres_writes.load(Ordering::SeqCst)
    }
}
