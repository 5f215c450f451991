//! Pre-encoding of one source's snapshot into ready-to-copy text for both formats.
//!
//! Sources poll far less often than Prometheus (and humans with curl) scrape, so all the
//! per-sample work — validation, de-duplication, escaping, number formatting — happens
//! here once per poll, and serving a scrape is mostly copying these buffers.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};

use super::format_value::{
    write_label_value, write_timestamp_classic, write_timestamp_openmetrics, write_value,
};
use super::Format;
use crate::model::{is_valid_label_name, is_valid_metric_name, MetricFamily, MetricType, Sample};

/// One family of one snapshot, with its sample lines rendered for both formats.
#[derive(Debug, Clone)]
pub struct EncodedFamily {
    pub(super) name: String,
    pub(super) kind: MetricType,
    pub(super) help: String,
    pub(super) unit: String,
    /// A counter whose samples are named `<name>` (legal in 0.0.4, as scraped apps
    /// expose them) rather than `<name>_total`; OpenMetrics cannot type it as a counter.
    pub(super) bare_counter: bool,
    /// The names this family's samples can take; two families that share one of these
    /// would be ambiguous to a parser. `<name>_created` is here (last) only once a
    /// `_created` sample is rendered: classic text never writes it, and in OpenMetrics
    /// a separate `foo_created` gauge beside a counter `foo` without `_created` samples
    /// is read as its own family (the Python client's classic output has such pairs).
    claims: Vec<String>,
    /// Whether `claims` ends with `<name>_created`.
    has_created: bool,
    classic: Vec<u8>,
    /// Filled only once a line differs between the formats (a timestamp or a
    /// `_created` sample); until then both formats share `classic`, which halves the
    /// memory and the encoding work for the common timestamp-free snapshot.
    openmetrics: Vec<u8>,
    diverged: bool,
    series: usize,
}

impl EncodedFamily {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> MetricType {
        self.kind
    }

    pub fn help(&self) -> &str {
        &self.help
    }

    pub fn unit(&self) -> &str {
        &self.unit
    }

    pub fn series(&self) -> usize {
        self.series
    }

    /// The name the classic `# HELP`/`# TYPE` lines use: it must equal the sample name
    /// for 0.0.4 parsers to attach the type, hence `_total`/`_info` where samples have it.
    pub(super) fn classic_suffix(&self) -> &'static str {
        match self.kind {
            MetricType::Counter if !self.bare_counter => "_total",
            MetricType::Info => "_info",
            _ => "",
        }
    }

    pub(super) fn classic_lines(&self) -> &[u8] {
        &self.classic
    }

    pub(super) fn openmetrics_lines(&self) -> &[u8] {
        if self.diverged {
            &self.openmetrics
        } else {
            &self.classic
        }
    }

    pub(super) fn classic_type(&self) -> &'static str {
        self.kind.classic_name()
    }

    pub(super) fn openmetrics_type(&self) -> &'static str {
        if self.bare_counter {
            MetricType::Unknown.openmetrics_name()
        } else {
            self.kind.openmetrics_name()
        }
    }

    /// The names this family owns in `format` output; see `claims`.
    pub(super) fn claims(&self, format: Format) -> &[String] {
        match format {
            Format::OpenMetrics => &self.claims,
            Format::Classic => {
                let end = self.claims.len() - usize::from(self.has_created);
                self.claims.get(..end).unwrap_or(&self.claims)
            }
        }
    }

    /// `<name>_created` when this family writes it in `format`: the one claim two
    /// families of the same name and shape may differ in.
    pub(super) fn created_claim(&self, format: Format) -> Option<&str> {
        match format {
            Format::OpenMetrics if self.has_created => self.claims.last().map(String::as_str),
            _ => None,
        }
    }

    /// Families merge across sources only when they would be written identically.
    pub(super) fn same_shape(&self, other: &EncodedFamily) -> bool {
        self.kind == other.kind && self.bare_counter == other.bare_counter
    }
}

/// A source's latest poll, validated and rendered; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct EncodedSnapshot {
    families: Vec<EncodedFamily>,
    series: usize,
    duplicates_dropped: usize,
    invalid_dropped: usize,
}

impl EncodedSnapshot {
    /// Validates and renders `families`. Samples with invalid names, names that do not
    /// belong to their family's type, or repeated label names are dropped and counted
    /// in `invalid_dropped`; a series repeated within the snapshot keeps its first
    /// occurrence. Families left without samples are omitted.
    pub fn encode(families: Vec<MetricFamily>) -> EncodedSnapshot {
        Self::encode_with(families, |_, _| {})
    }

    /// `encode`, calling `visit` for every sample the classic (0.0.4) text writes, in
    /// the order written: the series a Prometheus scrape of `/metrics` would ingest
    /// (no `_created`, no dropped duplicates or invalid names). Remote write sends these.
    pub fn encode_with(
        mut families: Vec<MetricFamily>,
        mut visit: impl FnMut(&MetricFamily, &Sample),
    ) -> EncodedSnapshot {
        // Stable, so equal names keep their input order and "first wins" stays true.
        families.sort_by(|a, b| a.name.cmp(&b.name));
        let total_samples: usize = families.iter().map(|f| f.samples.len()).sum();
        let mut snapshot = EncodedSnapshot::default();
        let mut seen = SeenSeries::with_capacity(total_samples);
        for family in &families {
            // Same name and type (even when not adjacent because another type sits in
            // between) share one encoded family so series de-duplicate across them.
            let existing = snapshot
                .families
                .iter()
                .rposition(|e| e.name != family.name || e.kind == family.kind)
                .filter(|&i| snapshot.families[i].name == family.name);
            let index = existing.unwrap_or_else(|| {
                snapshot.families.push(EncodedFamily::start(family));
                snapshot.families.len() - 1
            });
            let Some(target) = snapshot.families.get_mut(index) else {
                continue;
            };
            target.reserve_for(family);
            let valid_family = is_valid_metric_name(&family.name);
            for sample in &family.samples {
                let Some(class) = valid_family
                    .then(|| target.classify(&sample.name))
                    .flatten()
                else {
                    snapshot.invalid_dropped += 1;
                    continue;
                };
                match seen.insert(index, sample) {
                    Insert::Invalid => snapshot.invalid_dropped += 1,
                    Insert::Duplicate => snapshot.duplicates_dropped += 1,
                    Insert::New => {
                        target.render(sample, class);
                        snapshot.series += 1;
                        if class == SampleClass::Both {
                            visit(family, sample);
                        }
                    }
                }
            }
        }
        snapshot.families.retain(|f| f.series > 0);
        snapshot
    }

    /// Families sorted by name; a name appears twice only when a source sent it with two
    /// different types (the assembler reports that as a conflict).
    pub fn families(&self) -> &[EncodedFamily] {
        &self.families
    }

    /// Number of samples kept.
    pub fn series(&self) -> usize {
        self.series
    }

    /// Samples dropped because the same series already appeared in this snapshot.
    pub fn duplicates_dropped(&self) -> usize {
        self.duplicates_dropped
    }

    /// Samples dropped for an invalid metric or label name.
    pub fn invalid_dropped(&self) -> usize {
        self.invalid_dropped
    }
}

/// How a sample name relates to its family.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SampleClass {
    /// Written in both formats.
    Both,
    /// `_created` series exist only in OpenMetrics; 0.0.4 has no place for them and a
    /// stray `foo_created` under `# TYPE foo counter` would be read as a new metric.
    OpenMetricsOnly,
}

/// Suffixes a family of each type may put on its name, with `""` for the bare name.
fn allowed_suffixes(kind: MetricType) -> &'static [&'static str] {
    match kind {
        MetricType::Counter => &["", "_total", "_created"],
        MetricType::Gauge | MetricType::StateSet | MetricType::Unknown => &[""],
        MetricType::Histogram => &["_bucket", "_sum", "_count", "_created"],
        MetricType::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
        MetricType::Summary => &["", "_sum", "_count", "_created"],
        MetricType::Info => &["_info"],
    }
}

impl EncodedFamily {
    fn start(family: &MetricFamily) -> EncodedFamily {
        let mut claims = Vec::with_capacity(5);
        claims.push(family.name.clone());
        for suffix in allowed_suffixes(family.kind) {
            // `_created` is claimed by `render`, only if such a sample exists.
            if !suffix.is_empty() && *suffix != "_created" {
                claims.push(format!("{}{}", family.name, suffix));
            }
        }
        EncodedFamily {
            name: family.name.clone(),
            kind: family.kind,
            help: family.help.clone(),
            unit: family.unit.clone(),
            bare_counter: false,
            claims,
            has_created: false,
            classic: Vec::new(),
            openmetrics: Vec::new(),
            diverged: false,
            series: 0,
        }
    }

    /// Sizes both buffers for `family`'s samples up front: a pass over string lengths is
    /// much cheaper than the copies of repeated regrowth on large families.
    fn reserve_for(&mut self, family: &MetricFamily) {
        let estimate: usize = family
            .samples
            .iter()
            .map(|s| {
                // `{`, `}`, ` `, value, timestamp, newline; `=""` and `,` per label.
                let labels: usize = s.labels.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
                s.name.len() + labels + 40
            })
            .sum();
        self.classic.reserve(estimate);
        if self.diverged {
            self.openmetrics.reserve(estimate);
        }
    }

    /// Checks that `sample_name` is this family's name plus a suffix its type allows.
    fn classify(&mut self, sample_name: &str) -> Option<SampleClass> {
        let suffix = sample_name.strip_prefix(self.name.as_str())?;
        if !allowed_suffixes(self.kind).contains(&suffix) {
            return None;
        }
        if self.kind == MetricType::Counter {
            // The first sample fixes the counter's style; mixing `foo` and `foo_total`
            // would need two different headers in classic text.
            let bare = suffix.is_empty();
            if self.series == 0 {
                self.bare_counter = bare;
            } else if self.bare_counter != bare {
                return None;
            }
        }
        Some(if suffix == "_created" {
            SampleClass::OpenMetricsOnly
        } else {
            SampleClass::Both
        })
    }

    fn render(&mut self, sample: &Sample, class: SampleClass) {
        self.series += 1;
        if class == SampleClass::OpenMetricsOnly && !self.has_created {
            self.claims.push(sample.name.clone());
            self.has_created = true;
        }
        if !self.diverged {
            if class == SampleClass::Both && sample.timestamp_ms.is_none() {
                write_series(&mut self.classic, sample);
                self.classic.push(b'\n');
                return;
            }
            self.openmetrics.reserve(self.classic.capacity());
            self.openmetrics.extend_from_slice(&self.classic);
            self.diverged = true;
        }
        let (line, other) = match class {
            SampleClass::Both => (&mut self.classic, Some(&mut self.openmetrics)),
            SampleClass::OpenMetricsOnly => (&mut self.openmetrics, None),
        };
        let start = line.len();
        write_series(line, sample);
        if let Some(openmetrics) = other {
            // Name, labels and value are identical in both formats; only the
            // timestamp differs, so render once and copy.
            openmetrics.extend_from_slice(&line[start..]);
            if let Some(ms) = sample.timestamp_ms {
                line.push(b' ');
                write_timestamp_classic(line, ms);
                openmetrics.push(b' ');
                write_timestamp_openmetrics(openmetrics, ms);
            }
            line.push(b'\n');
            openmetrics.push(b'\n');
        } else {
            if let Some(ms) = sample.timestamp_ms {
                line.push(b' ');
                write_timestamp_openmetrics(line, ms);
            }
            line.push(b'\n');
        }
    }
}

/// `name{a="x",b="y"} value`, labels in the sample's own order.
fn write_series(out: &mut Vec<u8>, sample: &Sample) {
    out.extend_from_slice(sample.name.as_bytes());
    if !sample.labels.is_empty() {
        out.push(b'{');
        for (i, (name, value)) in sample.labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            write_label_value(out, value);
            out.push(b'"');
        }
        out.push(b'}');
    }
    out.push(b' ');
    write_value(out, sample.value);
}

enum Insert {
    New,
    Duplicate,
    Invalid,
}

/// The set of series seen so far, keyed by encoded family, sample name and label set
/// regardless of label order. Scoping by family leaves same-named series of two
/// conflicting families to the assembler, which reports the conflict instead of hiding
/// it as a duplicate. Only a hash and a reference are stored per series: the label
/// sets are compared exactly only when hashes match.
struct SeenSeries<'a, S = RandomState> {
    hasher: S,
    entries: Vec<(usize, &'a Sample)>,
    by_hash: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    /// Different series whose hashes collided with an earlier one; practically empty.
    collided: Vec<(u64, usize)>,
    /// Label indices of the sample being inserted, sorted by name; reused across calls.
    order: Vec<usize>,
}

impl SeenSeries<'_> {
    fn with_capacity(samples: usize) -> Self {
        SeenSeries::with_hasher(samples, RandomState::new())
    }
}

impl<'a, S: BuildHasher> SeenSeries<'a, S> {
    fn with_hasher(samples: usize, hasher: S) -> Self {
        SeenSeries {
            hasher,
            entries: Vec::with_capacity(samples),
            by_hash: HashMap::with_capacity_and_hasher(samples, Default::default()),
            collided: Vec::new(),
            order: Vec::new(),
        }
    }

    fn insert(&mut self, family: usize, sample: &'a Sample) -> Insert {
        let labels = &sample.labels;
        if !labels.iter().all(|(name, _)| is_valid_label_name(name)) {
            return Insert::Invalid;
        }
        self.order.clear();
        self.order.extend(0..labels.len());
        self.order
            .sort_unstable_by(|&a, &b| labels[a].0.cmp(&labels[b].0));
        if self
            .order
            .windows(2)
            .any(|w| labels[w[0]].0 == labels[w[1]].0)
        {
            return Insert::Invalid;
        }
        let mut h = self.hasher.build_hasher();
        family.hash(&mut h);
        sample.name.hash(&mut h);
        for &i in &self.order {
            labels[i].0.hash(&mut h);
            labels[i].1.hash(&mut h);
        }
        let hash = h.finish();
        let same = |&(f, other): &(usize, &Sample)| f == family && same_series(sample, other);
        let index = self.entries.len();
        match self.by_hash.get(&hash) {
            None => {
                self.by_hash.insert(hash, index);
            }
            Some(&first) => {
                let earlier = std::iter::once(first).chain(
                    self.collided
                        .iter()
                        .filter(|(h, _)| *h == hash)
                        .map(|&(_, i)| i),
                );
                if earlier.filter_map(|i| self.entries.get(i)).any(same) {
                    return Insert::Duplicate;
                }
                self.collided.push((hash, index));
            }
        }
        self.entries.push((family, sample));
        Insert::New
    }
}

/// Same name and same label set in any order. Both samples have passed the duplicate
/// label name check, so "every pair of one is in the other" plus equal length suffices.
fn same_series(a: &Sample, b: &Sample) -> bool {
    a.name == b.name
        && a.labels.len() == b.labels.len()
        && a.labels.iter().all(|pair| b.labels.contains(pair))
}

/// The keys are already SipHash outputs; hashing them again would only cost time.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::labels;

    /// Every key hashes alike, forcing the collision path that real hashes almost never
    /// reach.
    #[derive(Default)]
    struct Constant;

    impl Hasher for Constant {
        fn finish(&self) -> u64 {
            7
        }

        fn write(&mut self, _: &[u8]) {}
    }

    #[test]
    fn hash_collisions_still_compare_exactly() {
        let samples: Vec<Sample> = [
            ("a", &[("x", "1")][..]),
            ("a", &[("x", "2")][..]),
            ("b", &[("x", "1")][..]),
            ("a", &[("x", "2")][..]),
            ("b", &[("x", "1")][..]),
            ("a", &[][..]),
            ("a", &[("x", "1")][..]),
        ]
        .iter()
        .map(|(name, pairs)| Sample {
            name: (*name).to_owned(),
            labels: labels(pairs),
            value: 0.0,
            timestamp_ms: None,
        })
        .collect();
        let mut seen = SeenSeries::with_hasher(8, BuildHasherDefault::<Constant>::default());
        let results: Vec<bool> = samples
            .iter()
            .map(|s| matches!(seen.insert(0, s), Insert::New))
            .collect();
        assert_eq!(results, [true, true, true, false, false, true, false]);
        // Same series in another encoded family is not a duplicate.
        assert!(matches!(seen.insert(1, &samples[0]), Insert::New));
    }
}
