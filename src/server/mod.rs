//! The HTTP server: `/metrics`, `/health`, `/ready` and the status page `/`.
//!
//! Invariant: no handler awaits a backend. `/metrics` reads the store's snapshots (or a
//! body already rendered from them) and returns.

mod auth;
mod body_cache;
mod status_page;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use crate::config::{HttpAuth, WebConfig};
use crate::exposition;
use crate::scheduler::Store;
use crate::selfmetrics::RuntimeStatus;

pub use body_cache::BodyCache;

/// Everything a request handler may read.
pub struct AppState {
    pub store: Arc<Store>,
    pub runtime: Arc<RuntimeStatus>,
    pub cache: BodyCache,
    /// Swapped on reload.
    pub auth: RwLock<Option<HttpAuth>>,
    pub config_origin: RwLock<String>,
}

impl AppState {
    pub fn new(
        store: Arc<Store>,
        runtime: Arc<RuntimeStatus>,
        auth: Option<HttpAuth>,
        origin: String,
    ) -> Self {
        AppState {
            store,
            runtime,
            cache: BodyCache::default(),
            auth: RwLock::new(auth),
            config_origin: RwLock::new(origin),
        }
    }

    pub fn set_auth(&self, auth: Option<HttpAuth>) {
        *self.auth.write().unwrap_or_else(|p| p.into_inner()) = auth;
    }

    pub fn set_origin(&self, origin: String) {
        *self
            .config_origin
            .write()
            .unwrap_or_else(|p| p.into_inner()) = origin;
    }
}

/// Binds the listen address; separate from `serve` so that a taken port is reported
/// before anything else starts.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves until `shutdown` turns true, then lets open requests finish for up to
/// `grace`.
pub async fn serve(
    listener: TcpListener,
    web: &WebConfig,
    state: Arc<AppState>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    // Like a limit listener: past the cap we stop accepting, so further clients wait in
    // the kernel's accept queue instead of each costing us a task and buffers.
    let permits = Arc::new(Semaphore::new(web.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let header_read_timeout = web.header_read_timeout;
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&permits).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.changed() => break,
        };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, _peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Typically EMFILE: back off briefly rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .serve_connection(
                TokioIo::new(stream),
                service_fn(move |req| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(route(&state, &req)) }
                }),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Errors here are clients going away or timing out; nothing to act on.
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("closing connections still open after the shutdown grace period");
    }
}

fn route(state: &AppState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are supported\n",
        )
        .with_header(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    match req.uri().path() {
        "/metrics" => guarded(state, req, metrics),
        "/" => guarded(state, req, status),
        "/health" | "/-/healthy" => plain(StatusCode::OK, "OK\n"),
        "/ready" | "/-/ready" => ready(state),
        _ => plain(
            StatusCode::NOT_FOUND,
            "not found; see / for the endpoints\n",
        ),
    }
}

fn guarded(
    state: &AppState,
    req: &Request<Incoming>,
    handler: fn(&AppState, &Request<Incoming>) -> Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let auth = state.auth.read().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(auth) = auth {
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if !auth::authorized(&auth, header) {
            return plain(StatusCode::UNAUTHORIZED, "unauthorized\n").with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(auth::challenge(&auth)),
            );
        }
    }
    handler(state, req)
}

fn metrics(state: &AppState, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let headers = req.headers();
    let format = exposition::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = exposition::accepts_gzip(
        headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok()),
    );
    let body = state.cache.body(&state.store, &state.runtime, format, gzip);
    let mut response = Response::new(Full::new(body));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    if gzip {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

fn status(state: &AppState, _req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let origin = state
        .config_origin
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let html = status_page::render(
        &state.store.statuses(),
        &state.runtime.remote_write.summaries(),
        &origin,
        state.runtime.reload_successful(),
    );
    Response::new(Full::new(Bytes::from(html))).with_header(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    )
}

fn ready(state: &AppState) -> Response<Full<Bytes>> {
    let pending = state.store.pending();
    let (code, body) = if pending.is_empty() {
        (StatusCode::OK, serde_json::json!({ "status": "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "pending", "pending": pending }),
        )
    };
    let mut response = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *response.status_mut() = code;
    response.with_header(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )
}

fn plain(code: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = code;
    response.with_header(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    )
}

trait WithHeader {
    fn with_header(self, name: header::HeaderName, value: HeaderValue) -> Self;
}

impl WithHeader for Response<Full<Bytes>> {
    fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Self {
        self.headers_mut().insert(name, value);
        self
    }
}
