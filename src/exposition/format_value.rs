//! Byte-level writers for the pieces of a sample line: values, timestamps, escaped text.
//!
//! Everything appends to a `Vec<u8>` so the encoder can render a whole family into one
//! buffer without intermediate `String`s.

/// Integral values below this magnitude are written without a fraction or exponent, the
/// way Prometheus's own clients print counts; beyond it an f64 no longer holds every
/// integer exactly, so ryu's shortest round-trip form is the honest representation.
const INTEGER_LIMIT: f64 = 1e15;

/// Writes a sample value in a form both the 0.0.4 and the OpenMetrics parsers accept.
pub fn write_value(out: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v == 0.0 && v.is_sign_negative() {
        // The integer path would print `0`: Prometheus stores -0 as its own value (the
        // API shows `-0`), so a scraped app's -0 must keep its sign.
        out.extend_from_slice(b"-0");
    } else if v.fract() == 0.0 && v.abs() < INTEGER_LIMIT {
        // The cast is exact: |v| < 1e15 < 2^53 and v has no fraction.
        let mut buf = itoa::Buffer::new();
        out.extend_from_slice(buf.format(v as i64).as_bytes());
    } else {
        let mut buf = ryu::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    }
}

/// Classic text carries timestamps as integer milliseconds.
pub fn write_timestamp_classic(out: &mut Vec<u8>, ms: i64) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(ms).as_bytes());
}

/// OpenMetrics carries timestamps as seconds. Printing the millisecond remainder as
/// decimal digits (rather than dividing in floating point) keeps `…000.123` exact.
pub fn write_timestamp_openmetrics(out: &mut Vec<u8>, ms: i64) {
    let abs = ms.unsigned_abs();
    let (secs, frac) = (abs / 1000, abs % 1000);
    if ms < 0 {
        out.push(b'-');
    }
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(secs).as_bytes());
    if frac != 0 {
        let digits = [
            b'0' + (frac / 100) as u8,
            b'0' + (frac / 10 % 10) as u8,
            b'0' + (frac % 10) as u8,
        ];
        let len = if digits[2] != b'0' {
            3
        } else if digits[1] != b'0' {
            2
        } else {
            1
        };
        out.push(b'.');
        out.extend_from_slice(&digits[..len]);
    }
}

/// Escapes `\`, `"` and newline: the label-value rules shared by both formats.
pub fn write_label_value(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, true);
}

/// Classic HELP escapes only `\` and newline; a `"` there is literal.
pub fn write_help_classic(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, false);
}

/// OpenMetrics HELP uses the label-value escapes, quote included.
pub fn write_help_openmetrics(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, true);
}

fn write_escaped(out: &mut Vec<u8>, s: &str, quote: bool) {
    let bytes = s.as_bytes();
    let needs = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    // Most values need no escaping; copying them in one go is the common fast path.
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if needs(b) {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(match b {
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                _ => b"\\\"",
            });
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("writers emit UTF-8")
    }

    #[test]
    fn values() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0, "1"),
            (-42.0, "-42"),
            (0.5, "0.5"),
            (-0.25, "-0.25"),
            (1e-7, "1e-7"),
            (123456789.125, "123456789.125"),
            (999_999_999_999_999.0, "999999999999999"),
            // ryu switches to exponent form only from 1e16 on; both parse fine.
            (1e15, "1000000000000000.0"),
            (-1e15, "-1000000000000000.0"),
            (1e16, "1e16"),
            (1.5e300, "1.5e300"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::MAX, "1.7976931348623157e308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
        ];
        for &(v, want) in cases {
            assert_eq!(render(|o| write_value(o, v)), want, "value {v:?}");
        }
    }

    #[test]
    fn values_parse_back_exactly() {
        for v in [0.1, 1.0 / 3.0, 2.5e-12, 1e15 + 2.0, 7.0e22, -3.3, 0.0, -0.0] {
            let s = render(|o| write_value(o, v));
            let back = s.parse::<f64>().ok().map(f64::to_bits);
            assert_eq!(back, Some(v.to_bits()), "{s}");
        }
    }

    #[test]
    fn timestamps() {
        let cases: &[(i64, &str, &str)] = &[
            (1_700_000_000_123, "1700000000123", "1700000000.123"),
            (1_700_000_000_100, "1700000000100", "1700000000.1"),
            (1_700_000_000_120, "1700000000120", "1700000000.12"),
            (1_700_000_000_007, "1700000000007", "1700000000.007"),
            (1_700_000_000_000, "1700000000000", "1700000000"),
            (0, "0", "0"),
            (-1, "-1", "-0.001"),
            (-1_500, "-1500", "-1.5"),
            (i64::MIN, "-9223372036854775808", "-9223372036854775.808"),
        ];
        for &(ms, classic, om) in cases {
            assert_eq!(render(|o| write_timestamp_classic(o, ms)), classic);
            assert_eq!(render(|o| write_timestamp_openmetrics(o, ms)), om);
        }
    }

    #[test]
    fn escaping() {
        let cases: &[(&str, &str, &str, &str)] = &[
            // input, label value, classic help, openmetrics help
            ("plain", "plain", "plain", "plain"),
            ("a\"b", "a\\\"b", "a\"b", "a\\\"b"),
            ("a\\b", "a\\\\b", "a\\\\b", "a\\\\b"),
            ("a\nb", "a\\nb", "a\\nb", "a\\nb"),
            ("\\n", "\\\\n", "\\\\n", "\\\\n"),
            ("tab\there", "tab\there", "tab\there", "tab\there"),
            (
                "ünï\"cödé\n",
                "ünï\\\"cödé\\n",
                "ünï\"cödé\\n",
                "ünï\\\"cödé\\n",
            ),
            ("", "", "", ""),
        ];
        for &(input, label, classic, om) in cases {
            assert_eq!(render(|o| write_label_value(o, input)), label, "{input:?}");
            assert_eq!(
                render(|o| write_help_classic(o, input)),
                classic,
                "{input:?}"
            );
            assert_eq!(
                render(|o| write_help_openmetrics(o, input)),
                om,
                "{input:?}"
            );
        }
    }
}
