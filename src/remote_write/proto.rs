//! Prometheus remote write 1.0 on the wire: the protobuf messages of `prompb`
//! (`types.proto`, `remote.proto`) as prost structs, and the hand-written encoder the
//! exporter actually sends with.
//!
//! The structs are the reference: tests (ours and the integration tests' receivers)
//! decode requests with them. Sending does not build them: a push would allocate two
//! `String`s per label, while the encoder below copies label bytes that were encoded
//! once per poll (`batch::SeriesBatch`) and writes the same fields prost would.

use prost::encoding::{encode_varint, encoded_len_varint};

/// `prometheus.WriteRequest`. Field 2 is reserved upstream; metadata (3) is not sent.
#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

/// `prometheus.TimeSeries`: labels sorted by name, `__name__` among them. Exemplars (3)
/// and native histograms (4) are not sent.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`: a value at a time in milliseconds since the Unix epoch.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// Field 1, length-delimited: `WriteRequest.timeseries`, `TimeSeries.labels` and
/// `Label.name` all have it.
const TAG_1_LEN: u8 = (1 << 3) | 2;
/// Field 2, length-delimited: `TimeSeries.samples`, `Label.value`.
const TAG_2_LEN: u8 = (2 << 3) | 2;
/// `Sample.value`: field 1, 64-bit.
const TAG_VALUE: u8 = (1 << 3) | 1;
/// `Sample.timestamp`: field 2, varint.
const TAG_TIMESTAMP: u8 = 2 << 3;

/// The value Prometheus writes when a series disappears: a NaN with a payload that
/// readers tell from an ordinary NaN (`value.StaleNaN` in Prometheus).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Appends one `TimeSeries.labels` entry (a whole `Label` message with its tag) to `out`.
pub fn put_label(out: &mut Vec<u8>, name: &str, value: &str) {
    let inner = 1
        + encoded_len_varint(name.len() as u64)
        + name.len()
        + 1
        + encoded_len_varint(value.len() as u64)
        + value.len();
    out.push(TAG_1_LEN);
    encode_varint(inner as u64, out);
    out.push(TAG_1_LEN);
    encode_varint(name.len() as u64, out);
    out.extend_from_slice(name.as_bytes());
    out.push(TAG_2_LEN);
    encode_varint(value.len() as u64, out);
    out.extend_from_slice(value.as_bytes());
}

/// The name of every label entry in `labels` (as written by [`put_label`]), with the
/// entry's bytes. Stops at the first malformed entry, which `put_label` never writes.
pub fn label_entries(mut labels: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let (entry, rest) = split_field(labels)?;
        labels = rest;
        // entry = tag, len, Label{tag, len, name, ...}
        let (message, _) = split_len(entry.get(1..)?)?;
        let (name, _) = split_len(message.get(1..)?)?;
        Some((name, entry))
    })
}

/// One length-delimited field off the front of `bytes`: (whole field, rest).
fn split_field(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (_, rest) = split_len(bytes.get(1..)?)?;
    let field_len = bytes.len() - rest.len();
    Some((bytes.get(..field_len)?, rest))
}

/// A varint length and that many bytes: (payload, rest).
fn split_len(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let start = i + 1;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            return Some((bytes.get(start..end)?, bytes.get(end..)?));
        }
    }
    None
}

/// Writes `WriteRequest.timeseries` entries one at a time into a request body.
#[derive(Default)]
pub struct RequestWriter {
    body: Vec<u8>,
    series: Vec<u8>,
}

impl RequestWriter {
    pub fn clear(&mut self) {
        self.body.clear();
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Adds one series: `labels` are encoded label entries sorted by name; `external`
    /// (sorted by name, names distinct) are merged in where the series lacks the name,
    /// as Prometheus applies external labels.
    pub fn push(&mut self, labels: &[u8], external: &[(String, String)], value: f64, ts_ms: i64) {
        self.push_bits(labels, external, value.to_bits(), ts_ms);
    }

    pub fn push_bits(
        &mut self,
        labels: &[u8],
        external: &[(String, String)],
        bits: u64,
        ts_ms: i64,
    ) {
        let series = &mut self.series;
        series.clear();
        if external.is_empty() {
            series.extend_from_slice(labels);
        } else {
            let mut ext = external.iter().peekable();
            for (name, entry) in label_entries(labels) {
                while let Some((en, ev)) = ext.peek() {
                    match en.as_bytes().cmp(name) {
                        std::cmp::Ordering::Less => put_label(series, en, ev),
                        std::cmp::Ordering::Equal => {}
                        std::cmp::Ordering::Greater => break,
                    }
                    ext.next();
                }
                series.extend_from_slice(entry);
            }
            for (en, ev) in ext {
                put_label(series, en, ev);
            }
        }
        // Sample: value (tag + 8 bytes) and timestamp (tag + varint), both always
        // written; decoders read an explicit default the same as an absent one.
        let ts = ts_ms as u64;
        let sample_len = 1 + 8 + 1 + encoded_len_varint(ts);
        series.push(TAG_2_LEN);
        encode_varint(sample_len as u64, series);
        series.push(TAG_VALUE);
        series.extend_from_slice(&bits.to_le_bytes());
        series.push(TAG_TIMESTAMP);
        encode_varint(ts, series);

        self.body.push(TAG_1_LEN);
        encode_varint(series.len() as u64, &mut self.body);
        self.body.extend_from_slice(series);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn labels(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (n, v) in pairs {
            put_label(&mut out, n, v);
        }
        out
    }

    #[test]
    fn hand_encoding_decodes_as_prost_reads_it() {
        let mut w = RequestWriter::default();
        let own = labels(&[("__name__", "up"), ("source", "db"), ("zone", "b")]);
        let external = vec![
            ("instance".to_owned(), "h1".to_owned()),
            ("source".to_owned(), "ignored".to_owned()),
            ("zz".to_owned(), "last".to_owned()),
            ("AA".to_owned(), "first".to_owned()),
        ];
        let mut external_sorted = external.clone();
        external_sorted.sort();
        w.push(&own, &external_sorted, 1.5, 1_700_000_000_123);
        w.push(&labels(&[("__name__", "neg")]), &[], -0.0, -5);
        let long = "x".repeat(300);
        w.push(&labels(&[("__name__", "long"), ("v", &long)]), &[], 0.0, 0);
        w.push_bits(&labels(&[("__name__", "stale")]), &[], STALE_NAN_BITS, 7);
        let decoded = WriteRequest::decode(w.body()).unwrap();
        fn names(ts: &TimeSeries) -> Vec<(&str, &str)> {
            ts.labels
                .iter()
                .map(|l| (l.name.as_str(), l.value.as_str()))
                .collect()
        }
        assert_eq!(
            names(&decoded.timeseries[0]),
            vec![
                ("AA", "first"),
                ("__name__", "up"),
                ("instance", "h1"),
                ("source", "db"),
                ("zone", "b"),
                ("zz", "last")
            ]
        );
        assert_eq!(
            decoded.timeseries[0].samples,
            vec![Sample {
                value: 1.5,
                timestamp: 1_700_000_000_123
            }]
        );
        assert_eq!(decoded.timeseries[1].samples[0].timestamp, -5);
        assert_eq!(names(&decoded.timeseries[2])[1].1, long);
        assert_eq!(
            decoded.timeseries[3].samples[0].value.to_bits(),
            STALE_NAN_BITS
        );
        // Same bytes as prost for a series prost writes in full (no default values).
        let reference = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                samples: vec![Sample {
                    value: 2.0,
                    timestamp: 42,
                }],
            }],
        };
        let mut w = RequestWriter::default();
        w.push(&labels(&[("__name__", "up")]), &[], 2.0, 42);
        assert_eq!(w.body(), reference.encode_to_vec().as_slice());
    }

    #[test]
    fn label_entries_reads_back_names() {
        let bytes = labels(&[("a", "1"), ("__name__", "m"), (&"n".repeat(200), "v")]);
        let names: Vec<Vec<u8>> = label_entries(&bytes).map(|(n, _)| n.to_vec()).collect();
        assert_eq!(
            names,
            vec![
                b"a".to_vec(),
                b"__name__".to_vec(),
                "n".repeat(200).into_bytes()
            ]
        );
        assert_eq!(label_entries(&bytes[..bytes.len() - 1]).count(), 2);
    }
}
