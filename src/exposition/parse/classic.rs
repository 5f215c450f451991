//! Prometheus text format 0.0.4, with the leniencies of Prometheus's own lexer: spaces
//! and tabs between tokens, a trailing comma in a label set, comments anywhere, blank
//! lines, raw newlines inside a quoted label value.

use std::borrow::Cow;

use super::cursor::{unescape_cow, Cursor};
use super::families::{BuildError, Builder, RawSample};
use super::value::{parse_classic_timestamp, parse_value};
use super::{ParseError, ParseErrorKind};
use crate::model::MetricType;

pub(super) fn parse(
    src: &str,
    builder: &mut Builder<'_>,
    max_line: usize,
    max_value: usize,
) -> Result<(), ParseError> {
    let mut c = Cursor::new(src, max_line);
    let mut labels: Vec<(&str, Cow<'_, str>)> = Vec::new();
    while !c.is_done() {
        c.start_line()?;
        c.skip_ws();
        match c.peek() {
            None => {}
            Some(b'#') => comment(&mut c, builder)?,
            Some(_) => sample(&mut c, builder, &mut labels, max_value)?,
        }
        c.finish_line();
    }
    Ok(())
}

pub(super) fn located(c: &Cursor<'_>, pos: usize, e: BuildError) -> ParseError {
    match e {
        BuildError::Invalid(m) => c.error(pos, m),
        BuildError::Limit(m) => c.error_kind(pos, ParseErrorKind::Limit, m),
        BuildError::SampleLimit(m) => c.error_kind(pos, ParseErrorKind::SampleLimit, m),
    }
}

fn comment(c: &mut Cursor<'_>, builder: &mut Builder<'_>) -> Result<(), ParseError> {
    c.bump();
    if c.skip_ws() == 0 {
        return Ok(()); // `#text`: a comment
    }
    let keyword = if c.starts_with("HELP") {
        "HELP"
    } else if c.starts_with("TYPE") {
        "TYPE"
    } else {
        return Ok(());
    };
    let keyword_pos = c.pos;
    c.skip(4);
    if c.skip_ws() == 0 {
        // `# HELPFUL` or a bare `# HELP` is a plain comment to Prometheus's lexer.
        c.pos = keyword_pos;
        return Ok(());
    }
    let name_pos = c.pos;
    let name = c.metric_name();
    if name.is_empty() {
        return Err(c.error(name_pos, format!("expected a metric name after {keyword}")));
    }
    // One space or tab separates the name from the text; anything after it is text
    // (so a HELP text keeps its own leading whitespace).
    let text_pos;
    let text = match c.peek() {
        None => {
            text_pos = c.pos;
            ""
        }
        Some(b' ' | b'\t') => {
            c.bump();
            text_pos = c.pos;
            c.rest()
        }
        Some(_) => {
            return Err(c.error(
                c.pos,
                format!("invalid character in metric name after {keyword}"),
            ))
        }
    };
    if keyword == "HELP" {
        return builder
            .help(name, unescape_cow(text, false))
            .map_err(|e| located(c, name_pos, e));
    }
    let kind = match text {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" => MetricType::Unknown,
        "" => return Err(c.error(text_pos, format!("expected a type after TYPE {name}"))),
        other => {
            return Err(c.error(
                text_pos,
                format!("invalid metric type {other:?} (classic text has counter, gauge, histogram, summary, untyped)"),
            ))
        }
    };
    builder
        .type_(name, kind)
        .map_err(|e| located(c, name_pos, e))
}

fn sample<'a>(
    c: &mut Cursor<'a>,
    builder: &mut Builder<'_>,
    labels: &mut Vec<(&'a str, Cow<'a, str>)>,
    max_value: usize,
) -> Result<(), ParseError> {
    let name_pos = c.pos;
    let name = c.metric_name();
    if name.is_empty() {
        return Err(c.error(name_pos, "expected a metric name".to_owned()));
    }
    c.skip_ws();
    labels.clear();
    if c.eat(b'{') {
        loop {
            c.skip_ws();
            match c.peek() {
                Some(b'}') => {
                    c.bump();
                    break;
                }
                None => return Err(c.error(c.pos, "unterminated label set".to_owned())),
                Some(_) => {}
            }
            let label_pos = c.pos;
            let label = c.label_name();
            if label.is_empty() {
                return Err(c.error(label_pos, "expected a label name or '}'".to_owned()));
            }
            c.skip_ws();
            if !c.eat(b'=') {
                return Err(c.error(c.pos, format!("expected '=' after label name {label}")));
            }
            c.skip_ws();
            if c.peek() != Some(b'"') {
                return Err(c.error(c.pos, format!("expected a quoted value for label {label}")));
            }
            let value_mark = c.mark();
            let value = c.quoted(true)?;
            if value.len() > max_value {
                return Err(value_mark.error(
                    ParseErrorKind::Limit,
                    format!("value of label {label} is longer than the limit of {max_value} bytes"),
                ));
            }
            labels.push((label, value));
            c.skip_ws();
            match c.peek() {
                Some(b',') => c.bump(),
                Some(b'}') => {
                    c.bump();
                    break;
                }
                _ => {
                    return Err(c.error(c.pos, "expected ',' or '}' after a label value".to_owned()))
                }
            }
        }
        c.skip_ws();
    }
    let value_pos = c.pos;
    let token = c.take_while(|b| !matches!(b, b' ' | b'\t' | b'{'));
    if token.is_empty() {
        return Err(c.error(value_pos, format!("expected a value for {name}")));
    }
    let value = parse_value(token).map_err(|m| c.error(value_pos, m))?;
    let mut timestamp_ms = None;
    if c.skip_ws() > 0 && c.peek().is_some() {
        let ts_pos = c.pos;
        let token = c.take_while(|b| !matches!(b, b' ' | b'\t'));
        timestamp_ms = Some(parse_classic_timestamp(token).map_err(|m| c.error(ts_pos, m))?);
        c.skip_ws();
    }
    if c.peek().is_some() {
        return Err(c.error(
            c.pos,
            "unexpected text after the value and timestamp".to_owned(),
        ));
    }
    let raw = RawSample {
        name,
        labels,
        value,
        timestamp_ms,
    };
    builder.sample(&raw).map_err(|e| located(c, name_pos, e))?;
    Ok(())
}
