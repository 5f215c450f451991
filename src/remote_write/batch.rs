//! One poll's series in the form remote write sends them, built once per poll beside the
//! text snapshot and shared (`Arc`) by the store and every endpoint's queue.
//!
//! Each series is kept as its label entries already protobuf-encoded (sorted by name,
//! `__name__` among them, empty values left out as Prometheus ingests them), its value
//! and timestamp, and a hash of the labels for telling series apart between polls.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use super::proto::{put_label, STALE_NAN_BITS};
use crate::model::{MetricFamily, MetricType, Sample};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

#[derive(Debug, Clone, Copy)]
struct Series {
    /// End of this series' label entries in `SeriesBatch::labels`; the start is the
    /// previous series' end.
    labels_end: u32,
    /// Whether the timestamp came with the sample rather than from the poll: such
    /// series get no staleness marker, as in Prometheus.
    own_timestamp: bool,
    value_bits: u64,
    timestamp_ms: i64,
    hash: u64,
}

/// Consecutive series of one family, so a family that `/metrics` leaves out (a type
/// conflict between sources) can be left out of the push too.
#[derive(Debug, Clone)]
struct FamilyRun {
    name: String,
    kind: MetricType,
    end: u32,
}

#[derive(Debug)]
pub struct SeriesBatch {
    /// Unique in the process: tells an endpoint whether it has queued this poll already.
    id: u64,
    /// The poll's time, given to samples without their own and to staleness markers.
    timestamp_ms: i64,
    labels: Vec<u8>,
    series: Vec<Series>,
    families: Vec<FamilyRun>,
}

impl SeriesBatch {
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }

    pub fn len(&self) -> usize {
        self.series.len()
    }

    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Series `i`: (label entries, value bits, timestamp in ms).
    pub fn get(&self, i: usize) -> Option<(&[u8], u64, i64)> {
        let s = self.series.get(i)?;
        let start = match i {
            0 => 0,
            _ => self.series.get(i - 1)?.labels_end as usize,
        };
        let labels = self.labels.get(start..s.labels_end as usize)?;
        Some((labels, s.value_bits, s.timestamp_ms))
    }

    /// Whether any series carries its own timestamp (see `own_timestamp`).
    pub fn has_own_timestamps(&self) -> bool {
        self.series.iter().any(|s| s.own_timestamp)
    }

    /// (label hash, timestamp) of series `i` when its timestamp came with the sample.
    pub fn own_timestamp(&self, i: usize) -> Option<(u64, i64)> {
        let s = self.series.get(i)?;
        s.own_timestamp.then_some((s.hash, s.timestamp_ms))
    }

    /// Bytes held, for sizing the queue's memory in tests and measurements.
    pub fn heap_bytes(&self) -> usize {
        self.labels.capacity()
            + self.series.capacity() * std::mem::size_of::<Series>()
            + self
                .families
                .iter()
                .map(|f| f.name.len() + 32)
                .sum::<usize>()
    }

    /// The series ranges to send, leaving out the families `skip(name, kind)` names.
    pub fn ranges(&self, mut skip: impl FnMut(&str, MetricType) -> bool) -> Vec<(u32, u32)> {
        let mut out: Vec<(u32, u32)> = Vec::new();
        let mut start = 0u32;
        for run in &self.families {
            if !skip(&run.name, run.kind) && run.end > start {
                match out.last_mut() {
                    Some(last) if last.1 == start => last.1 = run.end,
                    _ => out.push((start, run.end)),
                }
            }
            start = run.end;
        }
        out
    }

    /// Staleness markers, timestamped `ts_ms`, for the series of `self` (the batch pushed
    /// before) that `next` no longer has; every series of `self` when `next` is `None`
    /// (the source is gone). `None` when nothing disappeared.
    pub fn vanished(&self, next: Option<&SeriesBatch>, ts_ms: i64) -> Option<SeriesBatch> {
        let present: HashSet<u64> = next
            .map(|n| n.series.iter().map(|s| s.hash).collect())
            .unwrap_or_default();
        let mut out = BatchBuilder::new(ts_ms);
        for (i, s) in self.series.iter().enumerate() {
            if s.own_timestamp || present.contains(&s.hash) {
                continue;
            }
            if let Some((labels, _, _)) = self.get(i) {
                out.push_encoded(labels, s.hash, STALE_NAN_BITS);
            }
        }
        let batch = out.finish();
        (!batch.is_empty()).then_some(batch)
    }
}

/// Builds a `SeriesBatch` from the samples `EncodedSnapshot::encode_with` visits.
pub struct BatchBuilder {
    batch: SeriesBatch,
    timestamp_ms: i64,
    /// Label hash → first series with it, to drop a repeat within the batch (which
    /// only empty label values can create: `/metrics` already dropped exact repeats).
    seen: HashMap<u64, u32>,
    order: Vec<usize>,
    scratch: Vec<u8>,
}

impl BatchBuilder {
    /// `timestamp_ms` is given to every sample without a timestamp of its own.
    pub fn new(timestamp_ms: i64) -> BatchBuilder {
        BatchBuilder {
            batch: SeriesBatch {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                timestamp_ms,
                labels: Vec::new(),
                series: Vec::new(),
                families: Vec::new(),
            },
            timestamp_ms,
            seen: HashMap::new(),
            order: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn add(&mut self, family: &MetricFamily, sample: &Sample) {
        // Sorted label entries: the sample's labels with a value, and `__name__`
        // (index usize::MAX here).
        let labels = &sample.labels;
        self.order.clear();
        self.order
            .extend((0..labels.len()).filter(|&i| !labels[i].1.is_empty()));
        self.order.push(usize::MAX);
        let name_of = |i: usize| -> &str {
            match labels.get(i) {
                Some((n, _)) => n,
                None => "__name__",
            }
        };
        self.order
            .sort_unstable_by(|&a, &b| name_of(a).as_bytes().cmp(name_of(b).as_bytes()));
        self.scratch.clear();
        for &i in &self.order {
            match labels.get(i) {
                Some((n, v)) => put_label(&mut self.scratch, n, v),
                None => put_label(&mut self.scratch, "__name__", &sample.name),
            }
        }
        let hash = hash_labels(&self.scratch);
        let (bits, ts, own) = match sample.timestamp_ms {
            Some(ts) => (sample.value.to_bits(), ts, true),
            None => (sample.value.to_bits(), self.timestamp_ms, false),
        };
        let scratch = std::mem::take(&mut self.scratch);
        if self.push(&scratch, hash, bits, ts, own) {
            let end = self.batch.series.len() as u32;
            match self.batch.families.last_mut() {
                Some(run) if run.name == family.name && run.kind == family.kind => run.end = end,
                _ => self.batch.families.push(FamilyRun {
                    name: family.name.clone(),
                    kind: family.kind,
                    end,
                }),
            }
        }
        self.scratch = scratch;
    }

    fn push_encoded(&mut self, labels: &[u8], hash: u64, bits: u64) {
        let ts = self.timestamp_ms;
        if self.push(labels, hash, bits, ts, false) {
            let end = self.batch.series.len() as u32;
            match self.batch.families.last_mut() {
                Some(run) => run.end = end,
                None => self.batch.families.push(FamilyRun {
                    name: String::new(),
                    kind: MetricType::Unknown,
                    end,
                }),
            }
        }
    }

    /// Adds one series unless it repeats an earlier one or the batch is full; true
    /// when added.
    fn push(&mut self, labels: &[u8], hash: u64, bits: u64, ts: i64, own: bool) -> bool {
        let b = &mut self.batch;
        let start = b.labels.len();
        let Ok(end) = u32::try_from(start + labels.len()) else {
            // 4 GiB of labels in one poll: far past any sample_limit; drop the rest.
            return false;
        };
        let index = b.series.len() as u32;
        match self.seen.get(&hash) {
            Some(&first) => {
                let first = first as usize;
                if b.get(first).is_some_and(|(l, _, _)| l == labels) {
                    return false;
                }
            }
            None => {
                self.seen.insert(hash, index);
            }
        }
        b.labels.extend_from_slice(labels);
        b.series.push(Series {
            labels_end: end,
            own_timestamp: own,
            value_bits: bits,
            timestamp_ms: ts,
            hash,
        });
        true
    }

    pub fn finish(mut self) -> SeriesBatch {
        self.batch.labels.shrink_to_fit();
        self.batch.series.shrink_to_fit();
        self.batch
    }
}

fn hash_labels(labels: &[u8]) -> u64 {
    // Fixed keys: hashes are compared across batches built at different times.
    let mut h = DefaultHasher::new();
    h.write(labels);
    h.finish()
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::super::proto::{RequestWriter, WriteRequest};
    use super::*;
    use crate::model::labels;

    fn build(families: &[MetricFamily], ts: i64) -> SeriesBatch {
        let mut b = BatchBuilder::new(ts);
        for f in families {
            for s in &f.samples {
                b.add(f, s);
            }
        }
        b.finish()
    }

    fn decode(batch: &SeriesBatch) -> WriteRequest {
        let mut w = RequestWriter::default();
        for i in 0..batch.len() {
            let (l, bits, ts) = batch.get(i).unwrap();
            w.push_bits(l, &[], bits, ts);
        }
        WriteRequest::decode(w.body()).unwrap()
    }

    #[test]
    fn labels_are_sorted_with_the_name_and_empty_values_dropped() {
        let mut f = MetricFamily::gauge("g", "G.");
        f.push(labels(&[("source", "a"), ("Zed", "1"), ("empty", "")]), 2.0);
        f.push(labels(&[("source", "a"), ("Zed", "1")]), 3.0); // same series once "" is gone
        f.samples.push(Sample {
            name: "g".into(),
            labels: labels(&[("source", "b")]),
            value: 4.0,
            timestamp_ms: Some(99),
        });
        let batch = build(&[f], 1000);
        let req = decode(&batch);
        assert_eq!(req.timeseries.len(), 2);
        let names: Vec<&str> = req.timeseries[0]
            .labels
            .iter()
            .map(|l| l.name.as_str())
            .collect();
        assert_eq!(names, ["Zed", "__name__", "source"]);
        assert_eq!(req.timeseries[0].samples[0].value, 2.0);
        assert_eq!(req.timeseries[0].samples[0].timestamp, 1000);
        assert_eq!(req.timeseries[1].samples[0].timestamp, 99);
    }

    #[test]
    fn vanished_series_get_staleness_markers() {
        let mut f = MetricFamily::gauge("g", "G.");
        f.push(labels(&[("k", "1")]), 1.0);
        f.push(labels(&[("k", "2")]), 1.0);
        f.samples.push(Sample {
            name: "g".into(),
            labels: labels(&[("k", "own")]),
            value: 1.0,
            timestamp_ms: Some(5),
        });
        let old = build(&[f], 1000);
        let mut f = MetricFamily::gauge("g", "G.");
        f.push(labels(&[("k", "2")]), 7.0);
        let new = build(&[f], 2000);
        let stale = old.vanished(Some(&new), 2000).unwrap();
        let req = decode(&stale);
        assert_eq!(
            req.timeseries.len(),
            1,
            "own-timestamp series get no marker"
        );
        assert_eq!(req.timeseries[0].labels[1].value, "1");
        assert_eq!(req.timeseries[0].samples[0].value.to_bits(), STALE_NAN_BITS);
        assert_eq!(req.timeseries[0].samples[0].timestamp, 2000);
        assert!(new.vanished(Some(&new), 3000).is_none());
        assert_eq!(old.vanished(None, 3000).unwrap().len(), 2);
    }

    #[test]
    fn ranges_leave_out_skipped_families() {
        let a = MetricFamily::gauge("a", "A.").with_value(1.0);
        let b = MetricFamily::counter("b", "B.").with_value(1.0);
        let c = MetricFamily::gauge("c", "C.").with_value(1.0);
        let batch = build(&[a, b, c], 0);
        assert_eq!(batch.ranges(|_, _| false), vec![(0, 3)]);
        assert_eq!(
            batch.ranges(|n, k| n == "b" && k == MetricType::Counter),
            vec![(0, 1), (2, 3)]
        );
    }
}
