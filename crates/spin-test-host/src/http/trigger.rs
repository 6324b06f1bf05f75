//! Spin's HTTP trigger (`crates/trigger-http/src/server.rs`, `wasi.rs`, `headers.rs`): a
//! request is matched to a route, refused before any component runs where Spin refuses it,
//! and handed to a fresh instance of the component with Spin's routing headers; its response
//! goes out as soon as the component sets it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use anyhow::{Context, bail, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};

use crate::app::{App, Response};
use crate::control::SpinHazard;
use crate::http::routes::{Route, best_match};
use crate::instance::InstanceState;

impl App {
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
        self.send_from(DEFAULT_CLIENT_ADDR, request).await
    }

    /// [`App::send`] as if from a client at `client_addr`, the TCP peer Spin names to the
    /// component in `spin-client-addr`.
    pub async fn send_from(
        &self,
        client_addr: SocketAddr,
        request: http::Request<Bytes>,
    ) -> anyhow::Result<Response> {
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
        self.dispatch(id, route, client_addr, request).await
    }

    /// Runs `request` from `client_addr` in a fresh instance of component `id`, matched by
    /// `route`.
    pub(crate) async fn dispatch(
        &self,
        id: &str,
        route: &Route,
        client_addr: SocketAddr,
        request: http::Request<Bytes>,
    ) -> anyhow::Result<Response> {
        let (context, pre) = self
            .0
            .http_components
            .get(id)
            .with_context(|| format!("no HTTP component {id:?}"))?;
        let is_head = request.method() == http::Method::HEAD;
        let request = spin_request(request, route, client_addr)?;

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

    /// `GET path`.
    pub async fn get(&self, path: &str) -> anyhow::Result<Response> {
        self.send(Self::request("GET", path).body(Bytes::new())?)
            .await
    }
}

/// The authority test requests name, as a browser would for `spin up`'s default address.
const DEFAULT_AUTHORITY: &str = "127.0.0.1:3000";
/// The client [`App::send`] requests come from.
const DEFAULT_CLIENT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// The request as Spin hands it to a component: an absolute URI, the client's headers and
/// then Spin's routing headers, appended (`wasi.rs` extends the cleared map with both, so a
/// client's own `spin-client-addr` comes first and Spin's last), no `Connection` header;
/// refused if Spin would refuse it.
fn spin_request(
    request: http::Request<Bytes>,
    route: &Route,
    client_addr: SocketAddr,
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
    let client_addr = client_addr.to_string();
    let spin_headers = [
        ("spin-full-url", full_url.as_str()),
        ("spin-path-info", route.path_info(parts.uri.path())),
        ("spin-matched-route", route.as_str()),
        ("spin-base-path", "/"),
        ("spin-raw-component-route", route.as_str()),
        ("spin-component-route", route.prefix()),
        ("spin-client-addr", client_addr.as_str()),
    ];
    for (name, value) in spin_headers {
        headers.append(name, value.parse()?);
    }
    let body = Full::new(body).map_err(|never| match never {}).boxed();
    Ok(hyper::Request::from_parts(parts, body))
}

fn empty_response(status: http::StatusCode) -> Response {
    let mut response = http::Response::new(Bytes::new());
    *response.status_mut() = status;
    response
}
