//! Outbound HTTP as Spin allows it to components: local service chaining
//! (`crates/trigger-http/src/outbound_http.rs`) to a component named in the caller's
//! `allowed_outbound_hosts` (`http://<id>.spin.internal`), run directly as a match of the
//! synthetic route `/...`, private or not; every other destination is denied (tests make no
//! outside requests).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock, Weak};

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p2::types::{
    HostFutureIncomingResponse, IncomingResponse, OutgoingRequestConfig,
};
use wasmtime_wasi_http::p2::{HttpError, HttpResult, WasiHttpHooks};

use crate::allowed_hosts::Destination;
use crate::app::{App, AppInner, Response};
use crate::control::HostCall;
use crate::http::routes::Route;
use crate::instance::ComponentContext;

/// Local service chaining (`crates/trigger-http/src/outbound_http.rs`): a request from a
/// component to `http://<id>.spin.internal/...` runs component `id` directly, private or not,
/// as a request matched by the synthetic route `/...`.
#[derive(Default)]
pub(crate) struct ServiceChaining(pub(crate) OnceLock<Weak<AppInner>>);

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

/// Outbound HTTP as Spin allows it to this app's components: local service chaining to a
/// component named in `allowed_outbound_hosts` (`http://<id>.spin.internal`); every other
/// destination is denied (no component lists one, and tests make no outside requests).
pub(crate) struct OutboundHttp(pub(crate) Arc<ComponentContext>);

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
        let authority = request
            .uri()
            .authority()
            .map(|authority| authority.to_string())
            .unwrap_or_default();
        self.0
            .check_host_call(&HostCall::HttpSend(authority))
            .map_err(HttpError::trap)?;
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

/// The client a chained request comes from, as Spin names it (`outbound_http.rs`).
const CHAINED_CLIENT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);

impl App {
    /// Sends `request` to component `id` as local service chaining from another component
    /// does: directly, whether the component has a public route or is private.
    pub async fn chain(&self, id: &str, request: http::Request<Bytes>) -> anyhow::Result<Response> {
        self.dispatch(id, &Route::parse("/...")?, CHAINED_CLIENT_ADDR, request)
            .await
    }
}
