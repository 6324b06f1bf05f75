//! One component instance's state (WASI, WASI HTTP, its resources, its memory as Spin limits
//! it), and the context every instance of a component shares: resolved variables and allowed
//! hosts, the PostgreSQL pool, the test's controls.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_http::p2::{WasiHttpCtxView, WasiHttpView};

use crate::allowed_hosts::{AllowedHost, is_allowed};
use crate::control::{Controls, HostCall};
use crate::http::chaining::{OutboundHttp, ServiceChaining};
use crate::postgres::PostgresPool;

pub(crate) struct ComponentContext {
    pub(crate) id: String,
    pub(crate) allowed_outbound_hosts: Vec<AllowedHost>,
    pub(crate) variables: HashMap<String, String>,
    pub(crate) postgres: Arc<PostgresPool>,
    pub(crate) controls: Arc<Controls>,
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
    pub(crate) fn check_host_call(&self, call: &HostCall) -> wasmtime::Result<()> {
        self.controls.check(call)
    }

    /// Whether a test made PostgreSQL writes succeed without changing anything.
    pub(crate) fn discards_postgres_writes(&self) -> bool {
        self.controls.discards_postgres_writes()
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
            controls: Arc::default(),
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
