//! OpenMetrics 1.0 text: single spaces, no blank lines or free comments, metadata before
//! samples, `# EOF` last, exemplars after ` # `.

use std::borrow::Cow;

use super::classic::located;
use super::cursor::{unescape_cow, Cursor};
use super::families::{Builder, RawSample};
use super::value::{parse_openmetrics_timestamp, parse_value};
use super::{Exemplar, ParseError, ParseErrorKind};
use crate::model::MetricType;

type Labels<'a> = Vec<(&'a str, Cow<'a, str>)>;

pub(super) fn parse(
    src: &str,
    builder: &mut Builder<'_>,
    max_line: usize,
    max_value: usize,
) -> Result<(), ParseError> {
    let mut c = Cursor::new(src, max_line);
    let mut labels: Labels<'_> = Vec::new();
    let mut exemplar_labels: Labels<'_> = Vec::new();
    let mut eof = false;
    while !c.is_done() {
        c.start_line()?;
        if eof {
            return Err(c.error(c.pos, "content after # EOF".to_owned()));
        }
        match c.peek() {
            None => return Err(c.error(c.pos, "empty line (OpenMetrics allows none)".to_owned())),
            Some(b'#') => eof = comment(&mut c, builder)?,
            Some(_) => sample(
                &mut c,
                builder,
                &mut labels,
                &mut exemplar_labels,
                max_value,
            )?,
        }
        c.finish_line();
    }
    if !eof {
        return Err(c.end_error("missing # EOF at the end of an OpenMetrics body".to_owned()));
    }
    Ok(())
}

/// Returns true for `# EOF`.
fn comment(c: &mut Cursor<'_>, builder: &mut Builder<'_>) -> Result<bool, ParseError> {
    let start = c.pos;
    let keyword = ["# HELP ", "# TYPE ", "# UNIT "]
        .into_iter()
        .find(|k| c.starts_with(k));
    let Some(keyword) = keyword else {
        if c.starts_with("# EOF") {
            c.skip(5);
            if c.peek().is_none() {
                return Ok(true);
            }
        }
        return Err(c.error(
            start,
            "invalid comment: OpenMetrics allows only # HELP, # TYPE, # UNIT and # EOF".to_owned(),
        ));
    };
    c.skip(keyword.len());
    let keyword = keyword.trim_start_matches("# ").trim_end();
    let name_pos = c.pos;
    let name = c.metric_name();
    if name.is_empty() {
        return Err(c.error(name_pos, format!("expected a metric name after {keyword}")));
    }
    match c.peek() {
        Some(b' ') => c.bump(),
        None => {
            return Err(c.error(
                c.pos,
                format!("expected a space and text after {keyword} {name}"),
            ))
        }
        Some(_) => {
            return Err(c.error(
                c.pos,
                format!("invalid character in metric name after {keyword}"),
            ))
        }
    }
    let text_pos = c.pos;
    let text = c.rest();
    let result = match keyword {
        "HELP" => builder.help(name, unescape_cow(text, true)),
        "UNIT" => builder.unit(name, text),
        _ => {
            let kind = match text {
                "counter" => MetricType::Counter,
                "gauge" => MetricType::Gauge,
                "histogram" => MetricType::Histogram,
                "gaugehistogram" => MetricType::GaugeHistogram,
                "summary" => MetricType::Summary,
                "info" => MetricType::Info,
                "stateset" => MetricType::StateSet,
                "unknown" => MetricType::Unknown,
                other => return Err(c.error(text_pos, format!("invalid metric type {other:?}"))),
            };
            builder.type_(name, kind)
        }
    };
    result.map_err(|e| located(c, name_pos, e))?;
    Ok(false)
}

/// `{name="value",…}` at the cursor (which is on `{`), strict OpenMetrics spacing. A
/// trailing comma is accepted, as Prometheus's parser does.
fn label_set<'a>(
    c: &mut Cursor<'a>,
    labels: &mut Labels<'a>,
    max_value: usize,
) -> Result<(), ParseError> {
    labels.clear();
    c.bump();
    if c.eat(b'}') {
        return Ok(());
    }
    loop {
        let label_pos = c.pos;
        let label = c.label_name();
        if label.is_empty() {
            return Err(c.error(label_pos, "expected a label name".to_owned()));
        }
        if !c.eat(b'=') {
            return Err(c.error(c.pos, format!("expected '=' after label name {label}")));
        }
        if c.peek() != Some(b'"') {
            return Err(c.error(c.pos, format!("expected a quoted value for label {label}")));
        }
        let value_mark = c.mark();
        let value = c.quoted(false)?;
        if value.len() > max_value {
            return Err(value_mark.error(
                ParseErrorKind::Limit,
                format!("value of label {label} is longer than the limit of {max_value} bytes"),
            ));
        }
        labels.push((label, value));
        match c.peek() {
            Some(b',') => {
                c.bump();
                if c.eat(b'}') {
                    return Ok(());
                }
            }
            Some(b'}') => {
                c.bump();
                return Ok(());
            }
            _ => return Err(c.error(c.pos, "expected ',' or '}' after a label value".to_owned())),
        }
    }
}

/// A value token after its single separating space.
fn read_value(c: &mut Cursor<'_>, what: &str) -> Result<f64, ParseError> {
    if !c.eat(b' ') {
        return Err(c.error(c.pos, format!("expected a space and a value after {what}")));
    }
    let pos = c.pos;
    let token = c.take_while(|b| b != b' ');
    if token.is_empty() {
        return Err(c.error(pos, format!("expected a value after {what}")));
    }
    parse_value(token).map_err(|m| c.error(pos, m))
}

fn timestamp(c: &mut Cursor<'_>) -> Result<i64, ParseError> {
    let pos = c.pos;
    let token = c.take_while(|b| b != b' ');
    if token.is_empty() {
        return Err(c.error(pos, "expected a timestamp".to_owned()));
    }
    parse_openmetrics_timestamp(token).map_err(|m| c.error(pos, m))
}

fn sample<'a>(
    c: &mut Cursor<'a>,
    builder: &mut Builder<'_>,
    labels: &mut Labels<'a>,
    exemplar_labels: &mut Labels<'a>,
    max_value: usize,
) -> Result<(), ParseError> {
    let name_pos = c.pos;
    let name = c.metric_name();
    if name.is_empty() {
        return Err(c.error(name_pos, "expected a metric name".to_owned()));
    }
    if c.peek() == Some(b'{') {
        label_set(c, labels, max_value)?;
    } else {
        labels.clear();
    }
    let value = read_value(c, name)?;
    let mut timestamp_ms = None;
    let mut exemplar_pos = None;
    if c.eat(b' ') {
        if c.peek() == Some(b'#') {
            exemplar_pos = Some(c.pos);
        } else {
            timestamp_ms = Some(timestamp(c)?);
            if c.eat(b' ') {
                exemplar_pos = Some(c.pos);
            }
        }
    }
    let exemplar = match exemplar_pos {
        Some(pos) => {
            if !c.starts_with("# {") {
                return Err(c.error(
                    pos,
                    "expected an exemplar (# {…} value) or the end of the line".to_owned(),
                ));
            }
            c.skip(2);
            label_set(c, exemplar_labels, max_value)?;
            let value = read_value(c, "exemplar labels")?;
            let timestamp_ms = if c.eat(b' ') {
                Some(timestamp(c)?)
            } else {
                None
            };
            Some((value, timestamp_ms))
        }
        None => None,
    };
    if c.peek().is_some() {
        return Err(c.error(c.pos, "unexpected text after the sample".to_owned()));
    }
    let raw = RawSample {
        name,
        labels,
        value,
        timestamp_ms,
    };
    let at = builder.sample(&raw).map_err(|e| located(c, name_pos, e))?;
    if let (Some(at), Some((value, timestamp_ms))) = (at, exemplar) {
        let exemplar = Exemplar {
            family: at.0,
            sample: at.1,
            labels: exemplar_labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.as_ref().to_owned()))
                .collect(),
            value,
            timestamp_ms,
        };
        builder.exemplar(at, exemplar);
    }
    Ok(())
}
