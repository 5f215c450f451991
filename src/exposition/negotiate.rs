//! Content negotiation for `/metrics`: which text format and whether to gzip.
//!
//! Only the header shapes scrapers actually send need to be right; anything unparsable
//! falls back to classic text, which every Prometheus-compatible scraper understands.

use super::Format;

/// Picks OpenMetrics only when the client names `application/openmetrics-text` with a
/// positive q that is not below the q it gives to classic text.
pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(accept) = accept else {
        return Format::Classic;
    };
    let mut openmetrics_q: f32 = 0.0;
    let mut text_plain_q: Option<f32> = None;
    let mut text_any_q: Option<f32> = None;
    let mut any_q: Option<f32> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim();
        let Some(q) = q_value(parts) else { continue };
        let max = |slot: &mut Option<f32>| *slot = Some(slot.map_or(q, |old| old.max(q)));
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            openmetrics_q = openmetrics_q.max(q);
        } else if media.eq_ignore_ascii_case("text/plain") {
            max(&mut text_plain_q);
        } else if media.eq_ignore_ascii_case("text/*") {
            max(&mut text_any_q);
        } else if media == "*/*" {
            max(&mut any_q);
        }
    }
    // The most specific range that covers text/plain decides its q (RFC 9110 §12.5.1);
    // `*/*` alone must not tip the balance towards OpenMetrics over classic.
    let classic_q = text_plain_q.or(text_any_q).or(any_q).unwrap_or(0.0);
    if openmetrics_q > 0.0 && openmetrics_q >= classic_q {
        Format::OpenMetrics
    } else {
        Format::Classic
    }
}

/// True when the client accepts gzip (explicitly, or via `*`) with a positive q.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let mut gzip_q: Option<f32> = None;
    let mut star_q: Option<f32> = None;
    for coding in header.split(',') {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim();
        let Some(q) = q_value(parts) else { continue };
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            gzip_q = Some(gzip_q.map_or(q, |old| old.max(q)));
        } else if name == "*" {
            star_q = Some(star_q.map_or(q, |old| old.max(q)));
        }
    }
    // An explicit `gzip;q=0` overrides a permissive `*`.
    gzip_q.or(star_q).is_some_and(|q| q > 0.0)
}

/// The q parameter of one header element: 1 when absent, `None` when malformed so a
/// broken element is ignored rather than guessed at.
fn q_value<'a>(params: impl Iterator<Item = &'a str>) -> Option<f32> {
    for param in params {
        let Some((key, value)) = param.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("q") {
            let q: f32 = value.trim().parse().ok()?;
            return (0.0..=1.0).contains(&q).then_some(q);
        }
    }
    Some(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    #[test]
    fn format_negotiation() {
        use Format::{Classic, OpenMetrics};
        let cases: &[(Option<&str>, Format)] = &[
            (None, Classic),
            (Some(""), Classic),
            (Some(PROMETHEUS_2_42), OpenMetrics),
            // Prometheus with OpenMetrics disabled (scrape_protocols without it).
            (Some("text/plain;version=0.0.4;q=1,*/*;q=0.1"), Classic),
            (Some("*/*"), Classic),
            (Some("application/openmetrics-text"), OpenMetrics),
            (
                Some("application/openmetrics-text; version=1.0.0"),
                OpenMetrics,
            ),
            (
                Some("Application/OpenMetrics-Text;Version=1.0.0"),
                OpenMetrics,
            ),
            (Some("application/openmetrics-text;q=0"), Classic),
            (Some("application/openmetrics-text;q=0,text/plain"), Classic),
            (
                Some("application/openmetrics-text;q=0.5,text/plain;q=0.5"),
                OpenMetrics,
            ),
            (
                Some("application/openmetrics-text;q=0.4,text/plain;q=0.5"),
                Classic,
            ),
            (
                Some("application/openmetrics-text;q=0.4,*/*;q=0.5"),
                Classic,
            ),
            (
                Some("application/openmetrics-text;q=0.6,*/*;q=0.5"),
                OpenMetrics,
            ),
            (
                Some("application/openmetrics-text;q=0.4,text/*;q=0.5"),
                Classic,
            ),
            // A low-q text/plain overrides a high-q wildcard: the specific range wins.
            (
                Some("application/openmetrics-text;q=0.6,text/plain;q=0.2,*/*;q=1"),
                OpenMetrics,
            ),
            (Some("application/openmetrics-text;q=banana"), Classic),
            (Some("application/openmetrics-text;q=2"), Classic),
            (Some("garbage"), Classic),
            (Some(";;;,,,=q=;"), Classic),
            (Some("application/json"), Classic),
            (Some("text/html,application/xhtml+xml"), Classic),
        ];
        for &(header, want) in cases {
            assert_eq!(negotiate(header), want, "Accept: {header:?}");
        }
    }

    #[test]
    fn gzip_negotiation() {
        let cases: &[(Option<&str>, bool)] = &[
            (None, false),
            (Some(""), false),
            (Some("gzip"), true),
            (Some("GZIP"), true),
            (Some("x-gzip"), true),
            (Some("gzip, deflate, br"), true),
            (Some("deflate, br"), false),
            (Some("gzip;q=0"), false),
            (Some("gzip; q=0.0"), false),
            (Some("gzip;q=0.001"), true),
            (Some("*"), true),
            (Some("*;q=0"), false),
            (Some("gzip;q=0, *"), false),
            (Some("identity"), false),
            (Some("gzip;q=nonsense"), false),
        ];
        for &(header, want) in cases {
            assert_eq!(accepts_gzip(header), want, "Accept-Encoding: {header:?}");
        }
    }

    #[test]
    fn content_types() {
        assert_eq!(
            Format::Classic.content_type(),
            "text/plain; version=0.0.4; charset=utf-8"
        );
        assert_eq!(
            Format::OpenMetrics.content_type(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }
}
