//! The `/metrics` text: Prometheus text 0.0.4 ("classic") and OpenMetrics 1.0.
//!
//! Each source's poll is turned into an [`EncodedSnapshot`] once; a scrape then only
//! negotiates the format, [`assemble`]s the snapshots (header lines plus buffer copies)
//! and optionally gzips the result. Nothing here waits on a backend.

mod assemble;
mod compress;
mod encode;
mod format_value;
mod negotiate;
pub mod parse;

#[cfg(test)]
mod tests;

pub use assemble::{assemble, conflicts, TypeConflict};
pub use compress::gzip;
pub use encode::{EncodedFamily, EncodedSnapshot};
pub use negotiate::{accepts_gzip, negotiate};

/// The two text formats Prometheus scrapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `text/plain; version=0.0.4`, understood by every Prometheus-compatible scraper.
    Classic,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` of a body in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Classic => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}
