//! Parser for the two text formats Prometheus scrapes: text 0.0.4 ("classic") and
//! OpenMetrics 1.0, into the shared [`MetricFamily`] model. It is the inverse of
//! [`EncodedSnapshot::encode`](crate::exposition::EncodedSnapshot::encode) +
//! [`assemble`](crate::exposition::assemble): the goal is that the series a Prometheus
//! server stores from our re-exposition equal those it stores from the app itself, so
//! where the formats leave room the parser follows what Prometheus's own parsers do.
//!
//! # Decisions
//!
//! - **Grouping.** A sample joins the family of the nearest preceding HELP/TYPE whose
//!   name plus one of its type's suffixes is the sample name (`_bucket`, `_sum`, …). A
//!   sample no TYPE covers becomes an `Unknown` family of its own name, as Prometheus
//!   ingests it. Families are returned in order of first appearance; a family that has
//!   metadata but no samples is returned too (its metadata is still information).
//! - **Classic names.** Classic TYPE lines name the *sample*: `# TYPE foo_total counter`
//!   gives the model's counter family `foo` with samples `foo_total`; `# TYPE foo counter`
//!   gives family `foo` with bare `foo` samples (the model's `push_bare` style). When
//!   another family of the body is already named `foo` (Go's `go_memstats_alloc_bytes`
//!   gauge beside `go_memstats_alloc_bytes_total`), the `foo_total` counter keeps its
//!   TYPE-line name with bare samples instead, so re-encoding meets no name clash. A
//!   `foo_created` family beside it (the Python client's classic `foo_created` gauges)
//!   does not make it bare: the encoder has no clash there (see below), and a bare
//!   counter is `unknown` in OpenMetrics, a type the app never gave it.
//!   Classic counters, gauges and untyped series take exactly their TYPE name, histograms
//!   `_bucket`/`_sum`/`_count`, summaries the name itself/`_sum`/`_count`; a classic
//!   `foo_created` is a family of its own (it has no place in 0.0.4), and is re-exposed
//!   as one in both formats: the encoder claims `foo_created` for a family `foo` only in
//!   OpenMetrics and only when `foo` has `_created` samples, which classic text never
//!   gives it. Classic TYPE words are `counter gauge histogram summary untyped`;
//!   `untyped` maps to `Unknown`.
//! - **Interleaving.** Classic: a family named again later (by metadata or by a sample
//!   that fits it) is merged, since Prometheus's 0.0.4 parser keeps no family state and
//!   accepts it. A second TYPE that disagrees is an error; a second HELP is ignored.
//!   OpenMetrics: the spec requires contiguous families, so metadata or samples of a
//!   family that already ended, metadata after its samples, and a repeated
//!   HELP/TYPE/UNIT are errors. (Prometheus's OpenMetrics parser is laxer here; no
//!   client library produces such bodies.)
//! - **Duplicates.** A sample with the same name, label set (in any order) and timestamp
//!   as an earlier one is dropped, the first kept, and counted in
//!   [`Parsed::duplicates`]: Prometheus likewise stores the first and counts the rest
//!   (`prometheus_target_scrapes_sample_duplicate_timestamp_total`) without failing the
//!   scrape. Repeated label *names* within one sample, or a `__name__` label, fail the
//!   parse, as they fail a Prometheus scrape.
//! - **Escapes.** Label values (both formats) and OpenMetrics HELP undo `\\`, `\"`, `\n`;
//!   classic HELP undoes `\\` and `\n` only (a `\"` there stays as written). Any other
//!   backslash sequence (`\t`, `\x`) is kept literally, backslash included, in both
//!   formats, exactly as Prometheus's replacers do. Classic text, like Prometheus's
//!   lexer, lets a quoted label value contain a raw newline; OpenMetrics does not.
//!   Classic HELP/TYPE text starts after the single space or tab that follows the name,
//!   so a HELP text's own leading whitespace survives.
//! - **Values.** What Prometheus's `parseFloat` accepts: decimals with exponents, `NaN`,
//!   `Inf`/`+Inf`/`-Inf`/`Infinity` in any case; hex floats and `_` are refused; an
//!   out-of-range literal (`1e999`) is an error as in Go. `-0` parses as `-0.0`.
//! - **Timestamps.** Classic: integer milliseconds (a leading `-` is accepted, unlike
//!   Prometheus's lexer, because our encoder writes pre-1970 timestamps that way).
//!   OpenMetrics: decimal seconds (exponents allowed; NaN/Inf refused), converted to
//!   milliseconds in exact decimal arithmetic and truncated toward zero: digits past
//!   the millisecond are dropped. Prometheus computes `int64(seconds*1000)` in binary
//!   floating point, which can land one millisecond lower (`…0.123` → `…0.122`); since
//!   our encoder writes milliseconds back as exact decimals, an OpenMetrics body
//!   re-exposed as OpenMetrics gives Prometheus the very same text either way.
//! - **Exemplars** (OpenMetrics only; a `#` after a classic value is an error) are
//!   parsed and syntax-checked, then returned beside the model in [`Parsed::exemplars`]
//!   (the model has no exemplar field). One on a sample OpenMetrics does not allow it on
//!   (other than counter `_total` and histogram/gaugehistogram `_bucket`) or with label
//!   text over 128 characters is dropped and counted in [`Parsed::exemplars_dropped`],
//!   the way Prometheus drops it at storage without failing the scrape.
//! - **`# EOF`** is required in a non-empty OpenMetrics body and nothing may follow it
//!   (one final newline aside); in classic text it is an ordinary comment. An empty body
//!   is zero families in both formats.
//! - **Not parsed:** OpenMetrics 2.0 / Prometheus 3 syntax (quoted UTF-8 metric and label
//!   names, `{"name"}` series, ` ct@` created timestamps) is rejected as invalid.
//!   `le`/`quantile` values are kept verbatim (Prometheus 3 normalises them on ingest,
//!   the same way for the app and for us). Sample values are not checked against their
//!   type (negative counters, bucket order) — Prometheus does not either.
//! - **Errors** carry a 1-based line and a 1-based *byte* column. Bodies are validated
//!   as UTF-8 up front (an invalid byte is an error naming its line). A NUL byte is an
//!   ordinary character (Prometheus's classic lexer instead ends the body there).
//!   [`ParseErrorKind::Limit`] marks a [`ParseLimits`] breach so a caller can report
//!   reason `limit` rather than `invalid`.

mod classic;
mod cursor;
mod families;
mod openmetrics;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;

use super::Format;
use crate::model::{Labels, MetricFamily};

/// Bounds on what one body may hold; exceeding one is a [`ParseErrorKind::Limit`] or
/// [`ParseErrorKind::SampleLimit`] error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLimits {
    /// Samples kept (duplicates not counted).
    pub max_series: usize,
    /// Bytes per line, newline excluded.
    pub max_line_length: usize,
    /// Labels per sample.
    pub max_label_count: usize,
    /// Bytes per label value, after unescaping.
    pub max_label_value_length: usize,
}

impl Default for ParseLimits {
    /// Generous bounds that still keep a runaway endpoint from exhausting memory.
    fn default() -> Self {
        ParseLimits {
            max_series: 200_000,
            max_line_length: 64 * 1024,
            max_label_count: 64,
            max_label_value_length: 16 * 1024,
        }
    }
}

impl ParseLimits {
    /// No bounds at all (tests, trusted bodies).
    pub fn unlimited() -> Self {
        ParseLimits {
            max_series: usize::MAX,
            max_line_length: usize::MAX,
            max_label_count: usize::MAX,
            max_label_value_length: usize::MAX,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// The body is not valid in its format.
    Invalid,
    /// The body broke one of the [`ParseLimits`] other than `max_series`.
    Limit,
    /// The body holds more than `max_series` series (Prometheus's `sample_limit`).
    SampleLimit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based byte offset within the line.
    pub column: usize,
    pub kind: ParseErrorKind,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// An OpenMetrics exemplar, attached to `families[family].samples[sample]` of the same
/// [`Parsed`].
#[derive(Debug, Clone, PartialEq)]
pub struct Exemplar {
    pub family: usize,
    pub sample: usize,
    pub labels: Labels,
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

/// Everything a parse yields: the model plus what the model has no place for.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub families: Vec<MetricFamily>,
    pub exemplars: Vec<Exemplar>,
    /// Samples dropped as repeats of an earlier series (see the module docs).
    pub duplicates: usize,
    /// Exemplars dropped for their placement or size.
    pub exemplars_dropped: usize,
}

/// Parses `body` into families; see the module docs for the rules.
pub fn parse(
    body: &[u8],
    format: Format,
    limits: &ParseLimits,
) -> Result<Vec<MetricFamily>, ParseError> {
    parse_detailed(body, format, limits).map(|p| p.families)
}

/// [`parse`], also returning exemplars and the duplicate count.
pub fn parse_detailed(
    body: &[u8],
    format: Format,
    limits: &ParseLimits,
) -> Result<Parsed, ParseError> {
    let src = std::str::from_utf8(body).map_err(|e| utf8_error(body, e.valid_up_to()))?;
    if src.is_empty() {
        return Ok(Parsed::default());
    }
    let mut builder = families::Builder::new(format, limits, src.len());
    let max_value = limits.max_label_value_length;
    match format {
        Format::Classic => classic::parse(src, &mut builder, limits.max_line_length, max_value)?,
        Format::OpenMetrics => {
            openmetrics::parse(src, &mut builder, limits.max_line_length, max_value)?
        }
    }
    Ok(builder.finish())
}

/// The format of a scrape response from its `Content-Type`, as Prometheus decides it:
/// `application/openmetrics-text` is OpenMetrics, anything else (including a missing or
/// malformed header) is classic text.
pub fn format_from_content_type(content_type: &str) -> Format {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/openmetrics-text") {
        Format::OpenMetrics
    } else {
        Format::Classic
    }
}

fn utf8_error(body: &[u8], valid_up_to: usize) -> ParseError {
    let before = body.get(..valid_up_to).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    ParseError {
        line,
        column: valid_up_to - line_start + 1,
        kind: ParseErrorKind::Invalid,
        message: format!("invalid UTF-8 on line {line}"),
    }
}
