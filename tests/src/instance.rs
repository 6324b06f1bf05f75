//! The state of one component instance, and the per-component context shared by all of
//! its instances: resolved variables, allowed hosts, the Postgres pool, injected faults.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use http_body_util::{BodyExt, Full};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{
    HostFutureIncomingResponse, IncomingResponse, OutgoingRequestConfig,
};
use wasmtime_wasi_http::p2::{HttpResult, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use crate::app::ServiceChaining;
use crate::bindings::variables;
use crate::manifest::is_variable_name;
use crate::outbound::{AllowedHost, Destination, is_allowed};
use crate::postgres_host::PostgresPool;

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

/// Decides, for each host call, whether it traps (and with what message).
pub type Fault = Arc<dyn Fn(&HostCall) -> Option<String> + Send + Sync>;

#[derive(Default)]
pub(crate) struct Faults {
    trap: RwLock<Option<Fault>>,
    discard_postgres_writes: AtomicBool,
}

impl Faults {
    pub(crate) fn set(&self, fault: Option<Fault>) {
        *self.trap.write().unwrap() = fault;
    }

    pub(crate) fn discard_postgres_writes(&self, discard: bool) {
        self.discard_postgres_writes
            .store(discard, Ordering::SeqCst);
    }
}

pub(crate) struct ComponentContext {
    pub(crate) id: String,
    pub(crate) allowed_outbound_hosts: Vec<AllowedHost>,
    pub(crate) variables: HashMap<String, String>,
    pub(crate) postgres: Arc<PostgresPool>,
    pub(crate) faults: Arc<Faults>,
    pub(crate) log: MemoryOutputPipe,
    pub(crate) chaining: Arc<ServiceChaining>,
    /// `SPIN_MAX_INSTANCE_MEMORY`: no linear memory of an instance may grow past it.
    pub(crate) memory_limit: Option<usize>,
    /// The most linear memory any instance of the component has had, in bytes.
    pub(crate) peak_memory: AtomicUsize,
}

impl ComponentContext {
    /// Whether `address` is in the allow-list; `default_scheme` is the interface's (`redis`,
    /// `postgres`), tried when the address does not parse as a URL, as in Spin's `check_url`.
    pub(crate) fn is_allowed(&self, address: &str, default_scheme: &str) -> bool {
        is_allowed(&self.allowed_outbound_hosts, address, default_scheme)
    }

    /// Traps if a test asked for `call` to fail.
    pub(crate) fn check_fault(&self, call: &HostCall) -> wasmtime::Result<()> {
        match self
            .faults
            .trap
            .read()
            .unwrap()
            .as_ref()
            .and_then(|fault| fault(call))
        {
            Some(message) => Err(wasmtime::Error::msg(message)),
            None => Ok(()),
        }
    }

    /// Whether a test made PostgreSQL writes succeed without changing anything.
    pub(crate) fn discards_postgres_writes(&self) -> bool {
        self.faults.discard_postgres_writes.load(Ordering::SeqCst)
    }
}

pub(crate) struct InstanceState {
    pub(crate) component: Arc<ComponentContext>,
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    http_hooks: OutboundHttp,
    memory: InstanceMemory,
}

/// An instance's linear memory as Spin limits it (`crates/core/src/limits.rs`,
/// `StoreLimitsAsync`): a memory may not grow past `SPIN_MAX_INSTANCE_MEMORY` (the growth
/// fails, which a Rust component turns into a trap); what the instance holds in all is
/// counted, here to record each component's peak.
struct InstanceMemory {
    component: Arc<ComponentContext>,
    consumed: usize,
}

impl wasmtime::ResourceLimiter for InstanceMemory {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self
            .component
            .memory_limit
            .is_some_and(|limit| desired > limit)
        {
            return Ok(false);
        }
        self.consumed = self.consumed + desired - current;
        self.component
            .peak_memory
            .fetch_max(self.consumed, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl InstanceState {
    /// A store for one instance of `component`, its memory limited as Spin limits it.
    pub(crate) fn store(
        engine: &wasmtime::Engine,
        component: Arc<ComponentContext>,
    ) -> wasmtime::Store<InstanceState> {
        let mut store = wasmtime::Store::new(engine, InstanceState::new(component));
        store.limiter(|state| &mut state.memory);
        store
    }

    pub(crate) fn new(component: Arc<ComponentContext>) -> InstanceState {
        let wasi = WasiCtx::builder()
            .stdout(component.log.clone())
            .stderr(component.log.clone())
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        InstanceState {
            table: ResourceTable::new(),
            wasi,
            http: WasiHttpCtx::new(),
            http_hooks: OutboundHttp(component.clone()),
            memory: InstanceMemory {
                component: component.clone(),
                consumed: 0,
            },
            component,
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

/// Outbound HTTP as Spin allows it to this app's components: local service chaining to a
/// component named in `allowed_outbound_hosts` (`http://<id>.spin.internal`); every other
/// destination is denied (no component lists one, and tests make no outside requests).
struct OutboundHttp(Arc<ComponentContext>);

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: hyper::Request<HyperOutgoingBody>,
        config: OutgoingRequestConfig,
    ) -> HttpResult<HostFutureIncomingResponse> {
        let host = request
            .uri()
            .host()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Some(target) = host.strip_suffix(".spin.internal").map(str::to_owned) else {
            return Err(ErrorCode::HttpRequestDenied.into());
        };
        let destination = Destination {
            scheme: request.uri().scheme_str().unwrap_or("http").to_owned(),
            port: request.uri().port_u16().unwrap_or(80),
            host,
        };
        let allowed = self.0.allowed_outbound_hosts.iter();
        if !allowed.clone().any(|entry| entry.allows(&destination)) {
            return Err(ErrorCode::HttpRequestDenied.into());
        }
        let chaining = self.0.chaining.clone();
        let handle = wasmtime_wasi::runtime::spawn(async move {
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(body) => body.to_bytes(),
                Err(error) => return Ok(Err(error)),
            };
            let response = match chaining
                .send(&target, http::Request::from_parts(parts, body))
                .await
            {
                Ok(response) => response,
                Err(error) => {
                    return Ok(Err(ErrorCode::InternalError(Some(format!("{error:#}")))));
                }
            };
            let (parts, body) = response.into_parts();
            let body = Full::new(body)
                .map_err(|never| match never {})
                .boxed_unsync();
            Ok(Ok(IncomingResponse {
                resp: hyper::Response::from_parts(parts, body),
                worker: None,
                between_bytes_timeout: config.between_bytes_timeout,
            }))
        });
        Ok(HostFutureIncomingResponse::pending(handle))
    }
}

impl variables::Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, variables::Error>> {
        if !is_variable_name(&name) {
            return Ok(Err(variables::Error::InvalidName(format!(
                "{name:?}: variable names are lower_snake_case"
            ))));
        }
        Ok(self
            .component
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| variables::Error::Undefined(format!("no variable for {name:?}"))))
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// The state of an instance whose component may reach exactly `allowed`.
    pub(crate) fn instance_allowing(allowed: &[&str]) -> InstanceState {
        InstanceState::new(Arc::new(ComponentContext {
            id: "probe".to_owned(),
            allowed_outbound_hosts: allowed
                .iter()
                .map(|entry| AllowedHost::parse(entry).unwrap())
                .collect(),
            variables: HashMap::from([("greeting".to_owned(), "hello".to_owned())]),
            postgres: Arc::default(),
            faults: Arc::default(),
            log: MemoryOutputPipe::new(1 << 20),
            chaining: Arc::default(),
            memory_limit: None,
            peak_memory: AtomicUsize::new(0),
        }))
    }

    /// A borrowed handle to `resource`, as a guest passes to a method.
    pub(crate) fn borrow<T: 'static>(
        resource: &wasmtime::component::Resource<T>,
    ) -> wasmtime::component::Resource<T> {
        wasmtime::component::Resource::new_borrow(resource.rep())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::instance_allowing;
    use super::variables::{Error, Host};

    #[tokio::test]
    async fn variables_get_returns_component_variables_and_names_errors() {
        let mut instance = instance_allowing(&[]);
        assert_eq!(
            instance.get("greeting".into()).await.unwrap().unwrap(),
            "hello"
        );
        assert!(matches!(
            instance.get("missing".into()).await.unwrap(),
            Err(Error::Undefined(_))
        ));
        assert!(matches!(
            instance.get("Greeting".into()).await.unwrap(),
            Err(Error::InvalidName(_))
        ));
    }
}
