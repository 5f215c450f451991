//! gzip for response bodies.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;

/// Compresses a body with gzip at the fast level: /metrics bodies are highly repetitive,
/// so the fast level already gets most of the ratio at a fraction of the CPU (see the
/// `exposition` bench).
pub fn gzip(body: &[u8]) -> Vec<u8> {
    // Label-heavy text compresses ~10x or better; starting at 1/8 avoids most regrowth.
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 8 + 64), Compression::fast());
    // Writing into a Vec cannot fail, so the error arms are unreachable in practice; an
    // empty body is still a safer outcome than a panic in the serving path.
    if encoder.write_all(body).is_err() {
        return Vec::new();
    }
    encoder.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("valid gzip stream");
        out
    }

    #[test]
    fn round_trip() {
        let mut big = Vec::new();
        for i in 0..10_000 {
            big.extend_from_slice(format!("metric_total{{source=\"s{i}\"}} {i}\n").as_bytes());
        }
        for body in [&b""[..], b"x", b"# EOF\n", &big] {
            let compressed = gzip(body);
            assert_eq!(&compressed[..2], &[0x1f, 0x8b], "gzip magic");
            assert_eq!(gunzip(&compressed), body);
        }
        assert!(
            gzip(&big).len() * 5 < big.len(),
            "repetitive text should shrink"
        );
    }
}
