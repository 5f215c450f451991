//! Numbers: sample values (both formats), classic millisecond timestamps and
//! OpenMetrics second timestamps.

/// A sample or exemplar value, accepting what Prometheus's `parseFloat` accepts: decimal
/// numbers with optional sign, fraction and exponent, and case-insensitive `NaN`, `Inf`,
/// `Infinity` with optional sign. Hex floats and `_` separators are refused, as there.
pub(super) fn parse_value(token: &str) -> Result<f64, String> {
    let ok_chars = token.bytes().all(|b| {
        b.is_ascii_digit()
            || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E')
            || b.is_ascii_alphabetic()
    });
    let hexish = token
        .bytes()
        .any(|b| matches!(b, b'x' | b'X' | b'p' | b'P'));
    let parsed = if ok_chars && !hexish {
        token.parse::<f64>().ok()
    } else {
        None
    };
    match parsed {
        // Go reports an out-of-range literal (`1e999`) as an error rather than ±Inf.
        Some(v) if v.is_infinite() && !token.to_ascii_lowercase().contains("inf") => {
            Err(format!("value {token:?} is out of range"))
        }
        Some(v) => Ok(v),
        None => Err(format!("invalid value {token:?}")),
    }
}

/// Classic timestamps: integer milliseconds. Prometheus's lexer takes digits only; a
/// leading `-` is also accepted here because our own encoder writes pre-1970
/// timestamps that way (documented leniency).
pub(super) fn parse_classic_timestamp(token: &str) -> Result<i64, String> {
    let digits = token.strip_prefix('-').unwrap_or(token);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "invalid timestamp {token:?}: expected integer milliseconds"
        ));
    }
    token
        .parse::<i64>()
        .map_err(|_| format!("timestamp {token:?} is out of range"))
}

/// OpenMetrics timestamps: seconds as a decimal number (`1700000000.123`, `1.7e9`).
/// Converted to milliseconds in exact decimal arithmetic and truncated toward zero, so
/// a timestamp our encoder wrote from whole milliseconds comes back exactly; Prometheus
/// computes `int64(seconds * 1000)` in binary floating point, which for some values is
/// one millisecond lower (see the module docs).
pub(super) fn parse_openmetrics_timestamp(token: &str) -> Result<i64, String> {
    let bad = || format!("invalid timestamp {token:?}: expected seconds as a decimal number");
    let bytes = token.as_bytes();
    let (negative, rest) = match bytes.first() {
        Some(b'-') => (true, bytes.get(1..).unwrap_or_default()),
        Some(b'+') => (false, bytes.get(1..).unwrap_or_default()),
        _ => (false, bytes),
    };
    let (mantissa, exponent) = match rest.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            Some(rest.get(i + 1..).unwrap_or_default()),
        ),
        None => (rest, None),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (
            mantissa.get(..i).unwrap_or_default(),
            mantissa.get(i + 1..).unwrap_or_default(),
        ),
        None => (mantissa, &[][..]),
    };
    let all_digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return Err(bad());
    }
    let exp: i64 = match exponent {
        None => 0,
        Some(e) => {
            let (neg, digits) = match e.first() {
                Some(b'-') => (true, e.get(1..).unwrap_or_default()),
                Some(b'+') => (false, e.get(1..).unwrap_or_default()),
                _ => (false, e),
            };
            if digits.is_empty() || !all_digits(digits) {
                return Err(bad());
            }
            // Anything past 4 digits is far outside i64 milliseconds either way.
            let mut v: i64 = 0;
            for &d in digits.iter().skip_while(|&&d| d == b'0') {
                v = v * 10 + i64::from(d - b'0');
                if v > 9999 {
                    v = 9999;
                    break;
                }
            }
            if neg {
                -v
            } else {
                v
            }
        }
    };
    // value = digits × 10^(exp − frac_len) seconds = digits × 10^(exp − frac_len + 3) ms.
    let shift = exp - frac_part.len() as i64 + 3;
    let digits = int_part.iter().chain(frac_part.iter());
    let kept = if shift >= 0 {
        (int_part.len() + frac_part.len()) as i64
    } else {
        (int_part.len() + frac_part.len()) as i64 + shift
    };
    let out_of_range = || format!("timestamp {token:?} is out of range");
    let mut magnitude: i128 = 0;
    for &d in digits.take(kept.max(0) as usize) {
        magnitude = magnitude
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(d - b'0')))
            .filter(|m| *m <= i128::from(i64::MAX) + 1)
            .ok_or_else(out_of_range)?;
    }
    if shift > 0 && magnitude != 0 {
        for _ in 0..shift {
            magnitude = magnitude
                .checked_mul(10)
                .filter(|m| *m <= i128::from(i64::MAX) + 1)
                .ok_or_else(out_of_range)?;
        }
    }
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| out_of_range())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for (s, v) in [
            ("1", 1.0),
            ("-1.5", -1.5),
            ("1e3", 1000.0),
            ("1.5E-3", 0.0015),
            (".5", 0.5),
            ("+Inf", f64::INFINITY),
            ("-Inf", f64::NEG_INFINITY),
            ("Inf", f64::INFINITY),
            ("inf", f64::INFINITY),
            ("1e308", 1e308),
            ("123456789012345678", 123456789012345678.0),
        ] {
            assert_eq!(parse_value(s), Ok(v), "{s}");
        }
        assert!(parse_value("NaN").is_ok_and(f64::is_nan));
        assert!(parse_value("nan").is_ok_and(f64::is_nan));
        for bad in [
            "", "1_000", "0x10", "0x1p3", "1e999", "abc", "1,5", "--1", "1e",
        ] {
            assert!(parse_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn classic_timestamps() {
        assert_eq!(
            parse_classic_timestamp("1700000000123"),
            Ok(1_700_000_000_123)
        );
        assert_eq!(parse_classic_timestamp("-1500"), Ok(-1500));
        assert_eq!(
            parse_classic_timestamp("-9223372036854775808"),
            Ok(i64::MIN)
        );
        for bad in ["", "-", "+5", "1.5", "1e3", "9223372036854775808"] {
            assert!(parse_classic_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn openmetrics_timestamps() {
        for (s, ms) in [
            ("1700000000.123", 1_700_000_000_123),
            ("1700000000.1", 1_700_000_000_100),
            ("1700000000", 1_700_000_000_000),
            ("1.7e9", 1_700_000_000_000),
            ("1.7000000001234e9", 1_700_000_000_123),
            ("0.0009", 0),
            ("-0.0009", 0),
            ("-1.5", -1500),
            ("-0.001", -1),
            ("1.2345", 1234),
            ("12345e-3", 12345),
            ("0e999999", 0),
            (".5", 500),
            ("5.", 5000),
            ("-9223372036854775.808", i64::MIN),
            ("9223372036854775.807", i64::MAX),
        ] {
            assert_eq!(parse_openmetrics_timestamp(s), Ok(ms), "{s}");
        }
        for bad in [
            "",
            ".",
            "e3",
            "1e",
            "NaN",
            "+Inf",
            "1.2.3",
            "0x10",
            "1e99",
            "9223372036854775.808",
            "99999999999999999999999999",
        ] {
            assert!(parse_openmetrics_timestamp(bad).is_err(), "{bad}");
        }
    }
}
