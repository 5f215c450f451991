//! Round trip: random families of every type, with hostile label values and HELP text,
//! NaN/Inf values and timestamps, go through our encoder (`EncodedSnapshot::encode` +
//! `assemble`) in each format and back through the parser; the result must equal the
//! input up to the documented normalisations:
//!
//! - family order (the encoder sorts by name) and families left without samples;
//! - `-0` is written as `0`, and every NaN is the same NaN;
//! - OpenMetrics: a bare (`_total`-less) counter is written as `unknown`; a UNIT that is
//!   not the name's suffix is not written;
//! - classic: no UNIT and no `_created` samples; info is a gauge named `<name>_info`,
//!   stateset a gauge, and a gaugehistogram an untyped header whose `_bucket`, `_gsum`,
//!   `_gcount` samples each become an untyped family of their own.

use proptest::prelude::*;
use stack_exporter::exposition::parse::{parse, ParseLimits};
use stack_exporter::exposition::{assemble, EncodedSnapshot, Format};
use stack_exporter::model::{MetricFamily, MetricType, Sample};

fn hostile_string() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\\n".to_owned()),
        Just("\\t".to_owned()),
        Just("}".to_owned()),
        Just("{".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just(" # ".to_owned()),
        Just("\r\t".to_owned()),
        Just("ü✓😀".to_owned()),
        "[a-z0-9]{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..6).prop_map(|v| v.concat())
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        (-1_000_000i64..1_000_000).prop_map(|i| i as f64),
        (-1e6f64..1e6),
    ]
}

fn timestamp() -> impl Strategy<Value = Option<i64>> {
    prop_oneof![
        3 => Just(None),
        1 => any::<i64>().prop_map(Some),
        1 => (1_600_000_000_000i64..1_800_000_000_000).prop_map(Some),
    ]
}

/// Every type, plus the classic-style bare counter.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Typed(MetricType),
    BareCounter,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Typed(MetricType::Counter)),
        Just(Kind::Typed(MetricType::Gauge)),
        Just(Kind::Typed(MetricType::Histogram)),
        Just(Kind::Typed(MetricType::GaugeHistogram)),
        Just(Kind::Typed(MetricType::Summary)),
        Just(Kind::Typed(MetricType::Info)),
        Just(Kind::Typed(MetricType::StateSet)),
        Just(Kind::Typed(MetricType::Unknown)),
        Just(Kind::BareCounter),
    ]
}

fn suffixes(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::BareCounter => &[""],
        Kind::Typed(MetricType::Counter) => &["_total", "_total", "_created"],
        Kind::Typed(MetricType::Histogram) => &["_bucket", "_sum", "_count", "_created"],
        Kind::Typed(MetricType::GaugeHistogram) => &["_bucket", "_gsum", "_gcount"],
        Kind::Typed(MetricType::Summary) => &["", "_sum", "_count", "_created"],
        Kind::Typed(MetricType::Info) => &["_info"],
        Kind::Typed(_) => &[""],
    }
}

type RawSample = (usize, Vec<String>, f64, Option<i64>);

fn families() -> impl Strategy<Value = Vec<MetricFamily>> {
    let family = (
        kind(),
        hostile_string(),
        0..3usize,
        prop::collection::vec(
            (
                0..4usize,
                prop::collection::vec(hostile_string(), 0..4),
                value(),
                timestamp(),
            ),
            1..7,
        ),
    );
    prop::collection::vec(family, 1..7).prop_map(|fams| {
        fams.into_iter()
            .enumerate()
            .map(|(i, (kind, help, unit, samples))| build(i, kind, help, unit, samples))
            .collect()
    })
}

fn build(i: usize, kind: Kind, help: String, unit: usize, samples: Vec<RawSample>) -> MetricFamily {
    // unit 0: none; 1: matching the name (written in OpenMetrics); 2: not matching.
    let (name, unit) = match unit {
        1 => (format!("fam{i}_seconds"), "seconds"),
        2 => (format!("fam{i}"), "bytes"),
        _ => (format!("fam{i}"), ""),
    };
    let model_kind = match kind {
        Kind::Typed(k) => k,
        Kind::BareCounter => MetricType::Counter,
    };
    let mut family = MetricFamily::new(&name, model_kind, help);
    family.unit = unit.to_owned();
    let allowed = suffixes(kind);
    for (s, (suffix, values, value, timestamp_ms)) in samples.into_iter().enumerate() {
        // A unique `id` keeps every sample a distinct series.
        let mut labels = vec![("id".to_owned(), s.to_string())];
        for (k, v) in values.into_iter().enumerate() {
            labels.push((format!("k{k}"), v));
        }
        let suffix = allowed.get(suffix % allowed.len()).copied().unwrap_or("");
        family.samples.push(Sample {
            name: format!("{name}{suffix}"),
            labels,
            value,
            timestamp_ms,
        });
    }
    family
}

/// What the parser must give back for `input` in `format` (see the module docs).
fn expected(input: &[MetricFamily], format: Format) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    for f in input {
        let bare = f.kind == MetricType::Counter && f.samples.iter().any(|s| s.name == f.name);
        let mut f = f.clone();
        let unit_written = f
            .name
            .strip_suffix(f.unit.as_str())
            .is_some_and(|h| !f.unit.is_empty() && h.ends_with('_') && h.len() > 1);
        match format {
            Format::OpenMetrics => {
                if !unit_written {
                    f.unit.clear();
                }
                if bare {
                    f.kind = MetricType::Unknown;
                }
                out.push(f);
            }
            Format::Classic => {
                f.unit.clear();
                f.samples.retain(|s| !s.name.ends_with("_created"));
                match f.kind {
                    MetricType::Info => {
                        f.kind = MetricType::Gauge;
                        f.name.push_str("_info");
                        out.push(f);
                    }
                    MetricType::StateSet => {
                        f.kind = MetricType::Gauge;
                        out.push(f);
                    }
                    MetricType::GaugeHistogram => {
                        let mut split: Vec<MetricFamily> = Vec::new();
                        for s in f.samples {
                            match split.iter_mut().find(|g| g.name == s.name) {
                                Some(g) => g.samples.push(s),
                                None => {
                                    let mut g = MetricFamily::new(&s.name, MetricType::Unknown, "");
                                    g.samples.push(s);
                                    split.push(g);
                                }
                            }
                        }
                        out.extend(split);
                    }
                    _ => out.push(f),
                }
            }
        }
    }
    canonical(out)
}

/// Drops families without samples, sorts by name and makes values comparable.
fn canonical(mut families: Vec<MetricFamily>) -> Vec<MetricFamily> {
    families.retain(|f| !f.samples.is_empty());
    families.sort_by(|a, b| a.name.cmp(&b.name));
    for f in &mut families {
        for s in &mut f.samples {
            if s.value.is_nan() {
                // A fixed stand-in, so that `==` can compare NaN samples.
                s.value = 12345.678;
            } else if s.value == 0.0 {
                s.value = 0.0;
            }
        }
    }
    families
}

fn round_trip(
    input: &[MetricFamily],
    format: Format,
) -> Result<(String, Vec<MetricFamily>), TestCaseError> {
    let snapshot = EncodedSnapshot::encode(input.to_vec());
    prop_assert_eq!(
        snapshot.invalid_dropped() + snapshot.duplicates_dropped(),
        0
    );
    let mut body = Vec::new();
    let conflicts = assemble(&[("app", &snapshot)], format, &mut body);
    prop_assert!(conflicts.is_empty());
    let text = String::from_utf8_lossy(&body).into_owned();
    let parsed = parse(&body, format, &ParseLimits::unlimited())
        .map_err(|e| TestCaseError::fail(format!("{format:?}: {e}\n{text}")))?;
    Ok((text, canonical(parsed)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn encoder_output_parses_back(input in families()) {
        for format in [Format::Classic, Format::OpenMetrics] {
            let (text, got) = round_trip(&input, format)?;
            let want = expected(&input, format);
            prop_assert_eq!(got, want, "{:?} body:\n{}", format, text);
        }
    }
}

/// The same in one fixed, readable case, so a regression shows a small diff.
#[test]
fn every_type_round_trips() {
    let input: Vec<MetricFamily> = [
        Kind::Typed(MetricType::Counter),
        Kind::Typed(MetricType::Gauge),
        Kind::Typed(MetricType::Histogram),
        Kind::Typed(MetricType::GaugeHistogram),
        Kind::Typed(MetricType::Summary),
        Kind::Typed(MetricType::Info),
        Kind::Typed(MetricType::StateSet),
        Kind::Typed(MetricType::Unknown),
        Kind::BareCounter,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, kind)| {
        let samples = (0..4)
            .map(|s| {
                (
                    s,
                    vec!["a\"b\\c\nd".to_owned(), "ü✓😀 \\t".to_owned()],
                    [1.5, f64::NAN, f64::INFINITY, -2e-300][s],
                    [None, Some(1_700_000_000_123), None, Some(-1)][s],
                )
            })
            .collect();
        build(i, kind, format!("Help \"{i}\" \\ \n end"), i % 3, samples)
    })
    .collect();
    for format in [Format::Classic, Format::OpenMetrics] {
        let result = round_trip(&input, format);
        let (text, got) = result.unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(got, expected(&input, format), "{format:?} body:\n{text}");
    }
}
