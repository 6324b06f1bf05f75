//! An app loaded from a manifest, as `spin up [-f MANIFEST] [-c COMPONENT]…` loads it: the
//! selected components compiled once, their triggers, variables and allowed hosts resolved;
//! every HTTP request and every Redis message then gets a fresh instance (`http::trigger`,
//! `redis::trigger`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};

use anyhow::Context;
use bytes::Bytes;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Cache, CacheConfig, Config, Engine};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

use crate::bindings::{RedisTrigger, RedisTriggerPre};
use crate::control::{Controls, HostCallHook};
use crate::http::chaining::ServiceChaining;
use crate::http::routes::Route;
use crate::instance::{ComponentContext, InstanceState};
use crate::manifest::{Manifest, ResolvedComponent};
use crate::postgres::PostgresPool;
use crate::redis::trigger::RedisSubscription;
use crate::variables::{Variables, with_dotenv};

/// What an HTTP request to the app gets back.
pub type Response = http::Response<Bytes>;

/// Everything the components wrote to stdout and stderr, kept for tests to read.
const LOG_CAPACITY: usize = 256 << 20;

/// An app loaded from a manifest, ready to serve requests and messages.
#[derive(Clone)]
pub struct App(pub(crate) Arc<AppInner>);

pub(crate) struct AppInner {
    pub(crate) engine: Engine,
    variables: Variables,
    pub(crate) routes: Vec<(String, Route)>,
    pub(crate) http_components: HashMap<String, HttpComponent>,
    pub(crate) redis_subscriptions: Vec<RedisSubscription>,
    controls: Arc<Controls>,
    log: MemoryOutputPipe,
}

/// One engine per process, with compiled code cached on disk across processes, under
/// `$CARGO_TARGET_DIR` (or the workspace's `target/`) in `wasmtime-cache`.
static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let mut config = Config::new();
    let mut cache = CacheConfig::new();
    cache.with_directory(target.join("wasmtime-cache"));
    if let Ok(cache) = Cache::new(cache) {
        config.cache(Some(cache));
    }
    Engine::new(&config).expect("a default wasmtime configuration is valid")
});

/// Components compiled in this process, by path.
static COMPILED: LazyLock<Mutex<HashMap<PathBuf, Component>>> = LazyLock::new(Default::default);

impl App {
    /// Loads every component of the manifest at `path`, as `spin up -f path` run in its
    /// directory does: `SPIN_VARIABLE_*` overrides from `environment`, then from a `.env` file
    /// beside the manifest.
    pub fn load(path: &Path, environment: &HashMap<String, String>) -> anyhow::Result<App> {
        Self::load_selected(path, environment, &[])
    }

    /// Like [`App::load`], with only `components` and their triggers, as `spin up -c …` does
    /// (none: all of them). Service chaining reaches only selected components: a selected one
    /// that may chain to another that is not refuses to load, as in Spin.
    pub fn load_selected(
        path: &Path,
        environment: &HashMap<String, String>,
        components: &[String],
    ) -> anyhow::Result<App> {
        let manifest = Manifest::from_file(path)?.retain_components(components)?;
        let root = path.parent().context("a manifest is in a directory")?;
        let environment = with_dotenv(environment, &root.join(".env"))?;
        let loader = Loader::new(&manifest, root, &environment)?;
        let app = App(Arc::new(AppInner {
            engine: loader.engine.clone(),
            routes: manifest.http_routes()?,
            http_components: loader.http_components()?,
            redis_subscriptions: loader.redis_subscriptions()?,
            controls: loader.controls.clone(),
            log: loader.log.clone(),
            variables: loader.variables,
        }));
        loader.chaining.0.get_or_init(|| Arc::downgrade(&app.0));
        Ok(app)
    }

    /// The value of an application variable, after `SPIN_VARIABLE_*` overrides.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.0.variables.get(name)
    }

    /// Whether any selected component has a public HTTP route.
    pub fn has_http_routes(&self) -> bool {
        !self.0.routes.is_empty()
    }

    /// Whether any selected component has a Redis trigger.
    pub fn has_redis_triggers(&self) -> bool {
        !self.0.redis_subscriptions.is_empty()
    }

    /// The most linear memory any instance of `component` has had so far, in bytes.
    pub fn peak_instance_memory(&self, component: &str) -> Option<usize> {
        let http = self
            .0
            .http_components
            .get(component)
            .map(|(context, _)| context);
        let redis = self
            .0
            .redis_subscriptions
            .iter()
            .map(|subscription| &subscription.context);
        http.into_iter()
            .chain(redis)
            .filter(|context| context.id == component)
            .map(|context| context.peak_memory.load(Ordering::Relaxed))
            .max()
    }

    /// Everything the components have written to stdout and stderr so far.
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&self.0.log.contents()).into_owned()
    }

    /// From now on, `hook` sees every host call, and those it returns a message for trap
    /// with that message (a crash at that point).
    pub fn on_host_call(&self, hook: HostCallHook) {
        self.0.controls.set_hook(Some(hook));
    }

    /// From now on (while `discard` holds), every PostgreSQL `execute` reports success and
    /// changes nothing, and every `query` answers as if its writes were made and then forgets
    /// them: a broken store that acknowledges writes it never made, for showing that a check
    /// catches the loss.
    pub fn discard_postgres_writes(&self, discard: bool) {
        self.0.controls.discard_postgres_writes(discard);
    }

    pub fn clear_host_call_hook(&self) {
        self.0.controls.set_hook(None);
    }

    pub(crate) fn log(&self, line: &str) {
        use wasmtime_wasi::p2::OutputStream as _;
        let _ = self
            .0
            .log
            .clone()
            .write(Bytes::copy_from_slice(line.as_bytes()));
    }
}

/// An HTTP component, ready to instantiate: its context and its pre-instance.
pub(crate) type HttpComponent = (Arc<ComponentContext>, ProxyPre<InstanceState>);

/// What loading an app's components needs: the manifest with its variables resolved, one
/// linker for every component, and what all their instances share.
struct Loader<'a> {
    manifest: &'a Manifest,
    root: &'a Path,
    variables: Variables,
    engine: Engine,
    linker: Linker<InstanceState>,
    controls: Arc<Controls>,
    log: MemoryOutputPipe,
    chaining: Arc<ServiceChaining>,
    /// Spin's `--max-instance-memory` (`SPIN_MAX_INSTANCE_MEMORY`), which SpinKube's
    /// `invocationLimits.memory` sets.
    memory_limit: Option<usize>,
    /// One context per component, whichever triggers name it: Spin keeps one PostgreSQL pool
    /// per component.
    contexts: Mutex<HashMap<String, Arc<ComponentContext>>>,
}

impl<'a> Loader<'a> {
    fn new(
        manifest: &'a Manifest,
        root: &'a Path,
        environment: &HashMap<String, String>,
    ) -> anyhow::Result<Loader<'a>> {
        let engine = ENGINE.clone();
        let mut linker = Linker::<InstanceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        RedisTrigger::add_to_linker::<_, HasSelf<InstanceState>>(&mut linker, |state| state)?;
        let memory_limit = match environment.get("SPIN_MAX_INSTANCE_MEMORY") {
            Some(bytes) => Some(bytes.parse().context("SPIN_MAX_INSTANCE_MEMORY is bytes")?),
            None => None,
        };
        Ok(Loader {
            manifest,
            root,
            variables: Variables::resolve(manifest, environment)?,
            engine,
            linker,
            controls: Arc::default(),
            log: MemoryOutputPipe::new(LOG_CAPACITY),
            chaining: Arc::default(),
            memory_limit,
            contexts: Mutex::default(),
        })
    }

    fn context(&self, id: &str) -> anyhow::Result<Arc<ComponentContext>> {
        if let Some(context) = self.contexts.lock().unwrap().get(id) {
            return Ok(context.clone());
        }
        let component = self
            .manifest
            .component
            .get(id)
            .with_context(|| format!("no component {id:?} in the manifest"))?;
        let resolved = ResolvedComponent::resolve(self.root, id, component, &self.variables)?;
        let context = Arc::new(ComponentContext {
            id: resolved.id,
            allowed_outbound_hosts: resolved.allowed_outbound_hosts,
            variables: resolved.variables,
            postgres: Arc::new(PostgresPool::default()),
            controls: self.controls.clone(),
            log: self.log.clone(),
            chaining: self.chaining.clone(),
            memory_limit: self.memory_limit,
            peak_memory: Default::default(),
        });
        self.contexts
            .lock()
            .unwrap()
            .insert(id.to_owned(), context.clone());
        Ok(context)
    }

    fn instance_pre(
        &self,
        id: &str,
    ) -> anyhow::Result<wasmtime::component::InstancePre<InstanceState>> {
        let source = self.root.join(&self.manifest.component[id].source);
        self.linker
            .instantiate_pre(&compile(&self.engine, &source)?)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component {id} imports something Spin does not provide"))
    }

    /// Every component an HTTP trigger names (public or private), ready to instantiate.
    fn http_components(&self) -> anyhow::Result<HashMap<String, HttpComponent>> {
        let mut components = HashMap::new();
        for id in self.manifest.http_components() {
            if !components.contains_key(id) {
                let pre = ProxyPre::new(self.instance_pre(id)?)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("component {id} is not an HTTP component"))?;
                components.insert(id.to_owned(), (self.context(id)?, pre));
            }
        }
        Ok(components)
    }

    /// Every Redis trigger, its address (the trigger's own, else the application's) and
    /// channel expanded.
    fn redis_subscriptions(&self) -> anyhow::Result<Vec<RedisSubscription>> {
        let default_address = self
            .manifest
            .application
            .trigger
            .redis
            .as_ref()
            .map(|redis| &redis.address);
        let mut subscriptions = Vec::new();
        for trigger in &self.manifest.trigger.redis {
            let address = trigger
                .address
                .as_ref()
                .or(default_address)
                .context("a Redis trigger needs an address, or [application.trigger.redis]")?;
            let pre = RedisTriggerPre::new(self.instance_pre(&trigger.component)?)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component {} is not a Redis component", trigger.component)
                })?;
            subscriptions.push(RedisSubscription {
                address: self.variables.expand(address)?,
                channel: self.variables.expand(&trigger.channel)?,
                context: self.context(&trigger.component)?,
                pre,
            });
        }
        Ok(subscriptions)
    }
}

fn compile(engine: &Engine, source: &Path) -> anyhow::Result<Component> {
    let mut compiled = COMPILED.lock().unwrap();
    if let Some(component) = compiled.get(source) {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine, source)
        .map_err(anyhow::Error::from)
        .with_context(|| {
            format!(
                "loading {}: build the components first (their `build` commands in the manifest)",
                source.display()
            )
        })?;
    compiled.insert(source.to_path_buf(), component.clone());
    Ok(component)
}
