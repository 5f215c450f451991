//! stack_exporter: one Prometheus `/metrics` for an app's PostgreSQL, Redis and HTTP endpoints.
//! See ARCHITECTURE.md for the code map and the invariants.

pub mod exposition;
pub mod model;
pub mod redact;
