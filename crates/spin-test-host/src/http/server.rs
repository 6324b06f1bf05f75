//! The app served over real HTTP on a loopback port, as `spin up` serves it, for clients that
//! need a socket: a browser, a load tool. Every request goes through [`App::send`].

use std::net::SocketAddr;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use wasmtime_wasi_http::io::TokioIo;

use crate::App;

/// A running server; dropping it stops it and closes its connections.
pub struct HttpServer {
    address: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl App {
    /// Serves the app on a free loopback port until the returned server is dropped. A request
    /// Spin would refuse gets no answer: the connection is closed, as Spin does.
    pub async fn serve(&self) -> anyhow::Result<HttpServer> {
        self.serve_at(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Like [`App::serve`], at `address`: the address a stopped server had, to restart the
    /// app where its clients expect it.
    pub async fn serve_at(&self, address: SocketAddr) -> anyhow::Result<HttpServer> {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("listening on {address}"))?;
        let address = listener.local_addr()?;
        let app = self.clone();
        let task = tokio::spawn(async move {
            // Dropped with this task, which aborts every open connection: a stopped server
            // keeps no keep-alive connection serving the old app.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, peer)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                let app = app.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| {
                        let app = app.clone();
                        async move { answer(&app, peer, request).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(HttpServer { address, task })
    }
}

async fn answer(
    app: &App,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> anyhow::Result<hyper::Response<Full<Bytes>>> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await?.to_bytes();
    let response = app
        .send_from(peer, http::Request::from_parts(parts, body))
        .await?;
    Ok(response.map(Full::new))
}
