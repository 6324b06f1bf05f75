//! Running the app of a `spin.toml` the way `spin up` does: every HTTP request and every
//! Redis message gets a fresh instance of the component its trigger names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, Weak};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Cache, CacheConfig, Config, Engine};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::p2::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};

use crate::bindings::{RedisTrigger, RedisTriggerPre};
use crate::instance::{ComponentContext, Fault, Faults, InstanceState, SpinHazard};
use crate::manifest::{Manifest, ResolvedComponent, Variables, with_dotenv};
use crate::postgres_host::PostgresPool;
use crate::routes::{Route, best_match};

/// What an HTTP request to the app gets back.
pub type Response = http::Response<Bytes>;

/// Everything the components wrote to stdout and stderr, kept for tests to read.
const LOG_CAPACITY: usize = 256 << 20;

/// An app loaded from a manifest, ready to serve requests and messages.
#[derive(Clone)]
pub struct App(Arc<AppInner>);

struct AppInner {
    engine: Engine,
    variables: Variables,
    routes: Vec<(String, Route)>,
    http_components: HashMap<String, (Arc<ComponentContext>, ProxyPre<InstanceState>)>,
    redis_subscriptions: Vec<RedisSubscription>,
    faults: Arc<Faults>,
    log: MemoryOutputPipe,
}

struct RedisSubscription {
    address: String,
    channel: String,
    context: Arc<ComponentContext>,
    pre: RedisTriggerPre<InstanceState>,
}

/// One engine per test process, with compiled code cached on disk across processes.
static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let mut config = Config::new();
    let mut cache = CacheConfig::new();
    cache.with_directory(repository_root().join("target/wasmtime-cache"));
    if let Ok(cache) = Cache::new(cache) {
        config.cache(Some(cache));
    }
    Engine::new(&config).expect("a default wasmtime configuration is valid")
});

/// Components compiled in this process, by path.
static COMPILED: LazyLock<Mutex<HashMap<PathBuf, Component>>> = LazyLock::new(Default::default);

/// The repository this crate lives in, where `spin.toml` is.
pub fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

/// The manifest for hosts without a Redis trigger, beside `spin.toml`.
pub const HTTP_ONLY_MANIFEST: &str = "spin.http-only.toml";

impl App {
    /// Loads `spin.toml` from `root`, taking `SPIN_VARIABLE_*` overrides from `environment`
    /// and then from `root/.env`, as `spin up` run in `root` does.
    pub fn load(root: &Path, environment: &HashMap<String, String>) -> anyhow::Result<App> {
        Self::load_manifest(&root.join("spin.toml"), environment)
    }

    /// Like [`App::load`], for the manifest at `path` (`spin up -f path`).
    pub fn load_manifest(
        path: &Path,
        environment: &HashMap<String, String>,
    ) -> anyhow::Result<App> {
        let root = path.parent().context("a manifest is in a directory")?;
        let manifest = Manifest::from_file(path)?;
        let environment = with_dotenv(environment, &root.join(".env"))?;
        let variables = Variables::resolve(&manifest, &environment)?;
        // Spin's `--max-instance-memory`, which SpinKube's `invocationLimits.memory` sets.
        let memory_limit = match environment.get("SPIN_MAX_INSTANCE_MEMORY") {
            Some(bytes) => Some(bytes.parse().context("SPIN_MAX_INSTANCE_MEMORY is bytes")?),
            None => None,
        };
        let engine = ENGINE.clone();
        let mut linker = Linker::<InstanceState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        RedisTrigger::add_to_linker::<_, HasSelf<InstanceState>>(&mut linker, |state| state)?;

        // Spin keeps one Postgres pool per component.
        let postgres_pools: HashMap<&str, Arc<PostgresPool>> = manifest
            .component
            .keys()
            .map(|id| (id.as_str(), Arc::default()))
            .collect();
        let faults = Arc::new(Faults::default());
        let log = MemoryOutputPipe::new(LOG_CAPACITY);
        let chaining = Arc::new(ServiceChaining::default());
        let context = |id: &str| -> anyhow::Result<Arc<ComponentContext>> {
            let component = manifest
                .component
                .get(id)
                .with_context(|| format!("no component {id:?} in spin.toml"))?;
            let resolved = ResolvedComponent::resolve(root, id, component, &variables)?;
            Ok(Arc::new(ComponentContext {
                id: resolved.id,
                allowed_outbound_hosts: resolved.allowed_outbound_hosts,
                variables: resolved.variables,
                postgres: postgres_pools[id].clone(),
                faults: faults.clone(),
                log: log.clone(),
                chaining: chaining.clone(),
                memory_limit,
                peak_memory: Default::default(),
            }))
        };
        let instance_pre = |id: &str| -> anyhow::Result<_> {
            let source = root.join(&manifest.component[id].source);
            linker
                .instantiate_pre(&compile(&engine, &source)?)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("component {id} imports something Spin does not provide"))
        };

        let routes = manifest.http_routes()?;
        let mut http_components = HashMap::new();
        for id in manifest.http_components() {
            if !http_components.contains_key(id) {
                let pre = ProxyPre::new(instance_pre(id)?)
                    .map_err(anyhow::Error::from)
                    .with_context(|| format!("component {id} is not an HTTP component"))?;
                http_components.insert(id.to_owned(), (context(id)?, pre));
            }
        }

        let default_address = manifest
            .application
            .trigger
            .redis
            .as_ref()
            .map(|redis| &redis.address);
        let mut redis_subscriptions = Vec::new();
        for trigger in &manifest.trigger.redis {
            let address = trigger
                .address
                .as_ref()
                .or(default_address)
                .context("a Redis trigger needs an address, or [application.trigger.redis]")?;
            let pre = RedisTriggerPre::new(instance_pre(&trigger.component)?)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!("component {} is not a Redis component", trigger.component)
                })?;
            redis_subscriptions.push(RedisSubscription {
                address: variables.expand(address)?,
                channel: variables.expand(&trigger.channel)?,
                context: context(&trigger.component)?,
                pre,
            });
        }

        let app = App(Arc::new(AppInner {
            engine,
            variables,
            routes,
            http_components,
            redis_subscriptions,
            faults,
            log,
        }));
        chaining.0.get_or_init(|| Arc::downgrade(&app.0));
        Ok(app)
    }

    /// The value of an application variable, after `SPIN_VARIABLE_*` overrides.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.0.variables.get(name)
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

    /// From now on, host calls for which `fault` returns a message trap with it.
    pub fn inject_fault(&self, fault: Fault) {
        self.0.faults.set(Some(fault));
    }

    /// From now on (while `discard` holds), every PostgreSQL `execute` reports success and
    /// changes nothing: a broken store or worker that acknowledges votes it never wrote, for
    /// showing that a check catches the loss.
    pub fn discard_postgres_writes(&self, discard: bool) {
        self.0.faults.discard_postgres_writes(discard);
    }

    pub fn clear_faults(&self) {
        self.0.faults.set(None);
    }

    /// A request builder with the `Host` header every HTTP/1.1 client sends (Spin refuses a
    /// request without one).
    pub fn request(method: &str, path: &str) -> http::request::Builder {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, DEFAULT_AUTHORITY)
    }

    /// Serves one HTTP request as Spin's HTTP trigger does (`crates/trigger-http/src/server.rs`,
    /// `wasi.rs`): Spin's own `/.well-known/spin/health`; a request without a valid `Host`, or
    /// with a header value that is not UTF-8, is refused before any component runs (an `Err`
    /// here: Spin answers nothing); the most specific route picks the component, an unmatched
    /// path gets an empty 404; the response goes out as soon as the component sets it (work
    /// the component does afterwards does not delay it); a trap before that is an empty 500;
    /// a trap while the body streams cuts the body short (an `Err` here); a `HEAD` answer
    /// carries no body.
    pub async fn send(&self, request: http::Request<Bytes>) -> anyhow::Result<Response> {
        let path = request.uri().path().to_owned();
        if let Some(well_known) = path.strip_prefix("/.well-known/spin/") {
            return match well_known {
                "health" => Ok(http::Response::new(Bytes::from_static(b"OK"))),
                "info" => bail!("the test host does not model Spin's /.well-known/spin/info"),
                _ => Ok(empty_response(http::StatusCode::NOT_FOUND)),
            };
        }
        let Some((id, route)) = best_match(&self.0.routes, &path) else {
            return Ok(empty_response(http::StatusCode::NOT_FOUND));
        };
        self.dispatch(id, route, request).await
    }

    /// Runs `request` in a fresh instance of component `id`, matched by `route`.
    async fn dispatch(
        &self,
        id: &str,
        route: &Route,
        request: http::Request<Bytes>,
    ) -> anyhow::Result<Response> {
        let (context, pre) = self
            .0
            .http_components
            .get(id)
            .with_context(|| format!("no HTTP component {id:?}"))?;
        let is_head = request.method() == http::Method::HEAD;
        let request = spin_request(request, route)?;

        let mut store = InstanceState::store(&self.0.engine, context.clone());
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let pre = pre.clone();
        let app = self.clone();
        let component = id.to_owned();
        let instance = tokio::spawn(async move {
            let proxy = pre.instantiate_async(&mut store).await?;
            let result = proxy
                .wasi_http_incoming_handler()
                .call_handle(&mut store, incoming, outparam)
                .await;
            if let Err(trap) = &result {
                app.log(&format!("component {component} trapped: {trap:?}\n"));
            }
            result
        });

        let response = match receiver.await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) | Err(_) => {
                if let Err(trap) = instance.await?
                    && let Some(hazard) = trap.downcast_ref::<SpinHazard>()
                {
                    bail!("component {id} would hang under a real Spin: {hazard}");
                }
                return Ok(empty_response(http::StatusCode::INTERNAL_SERVER_ERROR));
            }
        };
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(body) => body.to_bytes(),
            Err(error) => bail!(
                "component {id} failed after its response started ({error:?}): under Spin the \
                 client gets status {} and a body cut short",
                parts.status
            ),
        };
        let body = if is_head { Bytes::new() } else { body };
        Ok(http::Response::from_parts(parts, body))
    }

    /// Sends `request` to component `id` as local service chaining from another component
    /// does: directly, whether the component has a public route or is private.
    pub async fn chain(&self, id: &str, request: http::Request<Bytes>) -> anyhow::Result<Response> {
        self.dispatch(id, &Route::parse("/...")?, request).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Response> {
        self.send(Self::request("GET", path).body(Bytes::new())?)
            .await
    }

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

    fn log(&self, line: &str) {
        use wasmtime_wasi::p2::OutputStream as _;
        let _ = self
            .0
            .log
            .clone()
            .write(Bytes::copy_from_slice(line.as_bytes()));
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

fn compile(engine: &Engine, source: &Path) -> anyhow::Result<Component> {
    let mut compiled = COMPILED.lock().unwrap();
    if let Some(component) = compiled.get(source) {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine, source)
        .map_err(anyhow::Error::from)
        .with_context(|| {
        format!(
            "loading {}: build the components first with `cargo build --target wasm32-wasip2 --release` (scripts/test does)",
            source.display()
        )
    })?;
    compiled.insert(source.to_path_buf(), component.clone());
    Ok(component)
}

/// Local service chaining (`crates/trigger-http/src/outbound_http.rs`): a request from a
/// component to `http://<id>.spin.internal/...` runs component `id` directly, private or not,
/// as a request matched by the synthetic route `/...`.
#[derive(Default)]
pub(crate) struct ServiceChaining(OnceLock<Weak<AppInner>>);

impl ServiceChaining {
    pub(crate) async fn send(
        &self,
        component: &str,
        request: http::Request<Bytes>,
    ) -> anyhow::Result<Response> {
        let app = self
            .0
            .get()
            .and_then(Weak::upgrade)
            .context("the app is no longer running")?;
        App(app).chain(component, request).await
    }
}

/// The authority test requests name, as a browser would for `spin up`'s default address.
const DEFAULT_AUTHORITY: &str = "127.0.0.1:3000";

/// The request as Spin hands it to a component: an absolute URI, Spin's routing headers,
/// no `Connection` header; refused if Spin would refuse it.
fn spin_request(
    request: http::Request<Bytes>,
    route: &Route,
) -> anyhow::Result<hyper::Request<http_body_util::combinators::BoxBody<Bytes, ErrorCode>>> {
    let (mut parts, body) = request.into_parts();
    for (name, value) in &parts.headers {
        ensure!(
            std::str::from_utf8(value.as_bytes()).is_ok(),
            "Spin refuses a request whose {name} header is not UTF-8, before any component runs"
        );
    }
    let authority = match (parts.headers.get(http::header::HOST), parts.uri.authority()) {
        (Some(host), _) => std::str::from_utf8(host.as_bytes())
            .context("Spin refuses a request whose Host header is not UTF-8")?
            .to_owned(),
        (None, Some(authority)) => authority.to_string(),
        (None, None) => bail!("Spin refuses a request with no Host header (use App::request)"),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |path| path.as_str())
        .to_owned();
    let full_url = format!("http://{authority}{path_and_query}");
    parts.uri = full_url.parse()?;
    let headers = &mut parts.headers;
    headers.remove(http::header::CONNECTION);
    headers.insert(http::header::HOST, authority.parse()?);
    let spin_headers = [
        ("spin-full-url", full_url.as_str()),
        ("spin-path-info", route.path_info(parts.uri.path())),
        ("spin-matched-route", route.as_str()),
        ("spin-base-path", "/"),
        ("spin-raw-component-route", route.as_str()),
        ("spin-component-route", route.prefix()),
        ("spin-client-addr", "127.0.0.1:0"),
    ];
    for (name, value) in spin_headers {
        headers.insert(name, value.parse()?);
    }
    let body = Full::new(body).map_err(|never| match never {}).boxed();
    Ok(hyper::Request::from_parts(parts, body))
}

fn empty_response(status: http::StatusCode) -> Response {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}
