//! Hostile label values and HELP text must survive encoding: every line of output parses
//! back, with a minimal independent unescaper, to exactly the strings that went in.

use proptest::prelude::*;
use stack_exporter::exposition::{assemble, EncodedSnapshot, Format};
use stack_exporter::model::{MetricFamily, MetricType, Sample};

/// Characters that break naive encoders, plus plain ones so values are not all noise.
fn hostile_string() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\n".to_owned()),
        Just("\\n".to_owned()),
        Just("}".to_owned()),
        Just(",".to_owned()),
        Just("=".to_owned()),
        Just(" ".to_owned()),
        Just("#".to_owned()),
        Just("\r\t".to_owned()),
        Just("\r".to_owned()),
        Just("ü✓😀".to_owned()),
        "[a-z0-9]{1,4}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct Input {
    help: String,
    /// Per sample: label values for `k0..kn`.
    samples: Vec<Vec<String>>,
}

fn input() -> impl Strategy<Value = Vec<Input>> {
    let family = (
        hostile_string(),
        prop::collection::vec(prop::collection::vec(hostile_string(), 0..5), 1..6),
    )
        .prop_map(|(help, samples)| Input { help, samples });
    prop::collection::vec(family, 1..5)
}

/// Reads `"…"` starting after the opening quote; returns the unescaped value and the rest.
fn unescape_quoted(s: &str) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &s[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                other => return Err(format!("bad escape {other:?} in {s:?}")),
            },
            '\n' => return Err("raw newline inside a quoted value".to_owned()),
            c => out.push(c),
        }
    }
    Err(format!("unterminated value in {s:?}"))
}

/// Splits `name{a="x",b="y"} value` into its name and unescaped label pairs.
fn parse_sample_line(line: &str) -> Result<(String, Vec<(String, String)>), String> {
    let name_end = line
        .find(['{', ' '])
        .ok_or_else(|| format!("no value in {line:?}"))?;
    let name = line[..name_end].to_owned();
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            let eq = rest
                .find("=\"")
                .ok_or_else(|| format!("no =\" in {line:?}"))?;
            let label = rest[..eq].to_owned();
            let (value, after) = unescape_quoted(&rest[eq + 2..])?;
            labels.push((label, value));
            if let Some(after) = after.strip_prefix(',') {
                rest = after;
            } else if let Some(after) = after.strip_prefix('}') {
                rest = after;
                break;
            } else {
                return Err(format!("expected , or }} in {line:?}"));
            }
        }
    }
    if !rest.starts_with(' ') {
        return Err(format!("no space before value in {line:?}"));
    }
    Ok((name, labels))
}

fn unescape_help(s: &str, quote_escaped: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote_escaped => out.push('"'),
            other => return Err(format!("bad help escape {other:?} in {s:?}")),
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn hostile_text_round_trips(families in input()) {
        let mut model = Vec::new();
        let mut expected = Vec::new();
        for (f, fam) in families.iter().enumerate() {
            let name = format!("fam{f}");
            let mut family = MetricFamily::new(&name, MetricType::Gauge, fam.help.clone());
            for (s, values) in fam.samples.iter().enumerate() {
                // A unique `id` keeps every sample a distinct series.
                let mut labels = vec![("id".to_owned(), format!("{f}_{s}"))];
                for (i, v) in values.iter().enumerate() {
                    labels.push((format!("k{i}"), v.clone()));
                }
                expected.push((name.clone(), labels.clone()));
                family.samples.push(Sample { name: name.clone(), labels, value: 1.0, timestamp_ms: None });
            }
            model.push(family);
        }
        let snap = EncodedSnapshot::encode(model);
        prop_assert_eq!(snap.series(), expected.len());
        prop_assert_eq!(snap.invalid_dropped() + snap.duplicates_dropped(), 0);

        for format in [Format::Classic, Format::OpenMetrics] {
            let mut out = Vec::new();
            let conflicts = assemble(&[("p", &snap)], format, &mut out);
            prop_assert!(conflicts.is_empty());
            let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // Split on LF only: `lines()` would also eat a trailing CR of a HELP text.
            let body = text.strip_suffix('\n').unwrap_or(&text);
            prop_assert!(text.ends_with('\n'));
            let mut got = Vec::new();
            let mut helps = Vec::new();
            for line in body.split('\n') {
                if let Some(rest) = line.strip_prefix("# HELP ") {
                    let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                    let help = unescape_help(help, format == Format::OpenMetrics)
                        .map_err(TestCaseError::fail)?;
                    helps.push((name.to_owned(), help));
                } else if line.starts_with('#') {
                    continue;
                } else {
                    got.push(parse_sample_line(line).map_err(TestCaseError::fail)?);
                }
            }
            // Families come out sorted by name; the input is generated in that order
            // for fewer than 10 families, so the sequences must match exactly.
            prop_assert_eq!(&got, &expected);
            let want_helps: Vec<(String, String)> = families
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.help.is_empty())
                .map(|(i, f)| (format!("fam{i}"), f.help.clone()))
                .collect();
            prop_assert_eq!(&helps, &want_helps);
        }
    }
}
