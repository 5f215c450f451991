//! stack_exporter: one Prometheus `/metrics` for an app's PostgreSQL, Redis and HTTP endpoints.
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod app;
pub mod cli;
pub mod config;
pub mod exposition;
pub(crate) mod http_client;
pub mod logging;
pub mod memory;
pub mod model;
pub mod redact;
pub mod remote_write;
pub mod scheduler;
pub mod selfmetrics;
pub mod server;
pub mod sources;
pub(crate) mod tls;
