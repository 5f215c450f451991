//! Grouping parsed lines into the owned model: which family a sample belongs to, the
//! per-format metadata rules, duplicate series and the series limit.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

use super::{Exemplar, ParseLimits, Parsed};
use crate::exposition::Format;
use crate::model::{MetricFamily, MetricType, Sample};

/// Longest exemplar label set OpenMetrics allows, in characters of names plus values.
const EXEMPLAR_MAX_LABEL_CHARS: usize = 128;

/// Why the builder refused a line; the caller adds the position.
pub(super) enum BuildError {
    Invalid(String),
    Limit(String),
    SampleLimit(String),
}

/// A parsed sample line, borrowing from the body.
pub(super) struct RawSample<'a, 'b> {
    pub name: &'a str,
    pub labels: &'b [(&'a str, Cow<'a, str>)],
    pub value: f64,
    pub timestamp_ms: Option<i64>,
}

struct Family {
    model: MetricFamily,
    /// The name samples are matched against: the TYPE line's name in classic text (so
    /// `foo_total` for a counter family `foo`), the family name in OpenMetrics.
    base: String,
    typed: bool,
    help_set: bool,
    unit_set: bool,
}

pub(super) struct Builder<'l> {
    format: Format,
    limits: &'l ParseLimits,
    families: Vec<Family>,
    current: Option<usize>,
    /// Metadata name → family (classic: TYPE/HELP name; OpenMetrics: family name).
    by_meta: HashMap<String, usize>,
    /// Every sample name a family could take → the first family that could take it.
    by_sample: HashMap<String, usize>,
    seen: Seen,
    series: usize,
    duplicates: usize,
    exemplars: Vec<Exemplar>,
    exemplars_dropped: usize,
}

/// Sample-name suffixes each type allows, relative to `Family::base`.
fn suffixes(format: Format, kind: MetricType) -> &'static [&'static str] {
    match (format, kind) {
        // Classic counters, gauges and untyped series are named exactly as their TYPE.
        (Format::Classic, MetricType::Histogram) => &["_bucket", "_sum", "_count"],
        (Format::Classic, MetricType::Summary) => &["", "_sum", "_count"],
        (Format::Classic, _) => &[""],
        (Format::OpenMetrics, MetricType::Counter) => &["_total", "_created"],
        (Format::OpenMetrics, MetricType::Histogram) => &["_bucket", "_sum", "_count", "_created"],
        (Format::OpenMetrics, MetricType::GaugeHistogram) => &["_bucket", "_gsum", "_gcount"],
        (Format::OpenMetrics, MetricType::Summary) => &["", "_sum", "_count", "_created"],
        (Format::OpenMetrics, MetricType::Info) => &["_info"],
        (Format::OpenMetrics, _) => &[""],
    }
}

fn suffix_list(base: &str, format: Format, kind: MetricType) -> String {
    suffixes(format, kind)
        .iter()
        .map(|s| format!("{base}{s}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Family {
    fn fits(&self, format: Format, name: &str) -> bool {
        name.strip_prefix(self.base.as_str())
            .is_some_and(|s| suffixes(format, self.model.kind).contains(&s))
    }
}

impl<'l> Builder<'l> {
    pub(super) fn new(format: Format, limits: &'l ParseLimits, body_len: usize) -> Self {
        // A rough guess (≈ 80 bytes a line) that saves rehashing on big bodies.
        let guess = (body_len / 80).min(limits.max_series).min(1 << 20);
        Builder {
            format,
            limits,
            families: Vec::new(),
            current: None,
            by_meta: HashMap::new(),
            by_sample: HashMap::new(),
            seen: Seen::with_capacity(guess),
            series: 0,
            duplicates: 0,
            exemplars: Vec::new(),
            exemplars_dropped: 0,
        }
    }

    pub(super) fn finish(mut self) -> Parsed {
        if self.format == Format::Classic {
            self.keep_clashing_counters_bare();
        }
        Parsed {
            families: self.families.into_iter().map(|f| f.model).collect(),
            exemplars: self.exemplars,
            duplicates: self.duplicates,
            exemplars_dropped: self.exemplars_dropped,
        }
    }

    /// A classic `foo_total` counter is the model's counter `foo` — unless another
    /// family is already called `foo` (Go's `go_memstats_alloc_bytes` gauge beside the
    /// `go_memstats_alloc_bytes_total` counter). Two families named `foo` would make the
    /// encoder drop one as a type conflict, so such a counter keeps its TYPE-line name
    /// with bare samples: written back exactly as it came in classic text (as `unknown`
    /// in OpenMetrics, the same series either way). A `foo_created` family beside it (the
    /// Python client's classic `foo_created` gauge) is no reason: the encoder claims
    /// `foo_created` only for a family with `_created` samples, and a bare counter would
    /// reach Prometheus typed `unknown` over OpenMetrics where the app says `counter`.
    fn keep_clashing_counters_bare(&mut self) {
        let mut names: HashMap<&str, usize> = HashMap::with_capacity(self.families.len());
        for f in &self.families {
            *names.entry(f.model.name.as_str()).or_default() += 1;
        }
        let clashing: Vec<usize> = self
            .families
            .iter()
            .enumerate()
            .filter(|(_, f)| f.model.kind == MetricType::Counter && f.model.name != f.base)
            .filter(|(_, f)| names.get(f.model.name.as_str()).copied().unwrap_or(0) > 1)
            .map(|(i, _)| i)
            .collect();
        for i in clashing {
            if let Some(f) = self.families.get_mut(i) {
                f.model.name = f.base.clone();
            }
        }
    }

    fn create(&mut self, base: &str, kind: MetricType) -> usize {
        let index = self.families.len();
        self.families.push(Family {
            model: MetricFamily::new(base, kind, ""),
            base: base.to_owned(),
            typed: false,
            help_set: false,
            unit_set: false,
        });
        self.by_meta.insert(base.to_owned(), index);
        self.register(index);
        self.current = Some(index);
        index
    }

    /// Records the sample names family `index` can take now. Earlier registrations stay
    /// (and are re-checked with `fits` on use); the first family to claim a name keeps it.
    fn register(&mut self, index: usize) {
        let Some(family) = self.families.get(index) else {
            return;
        };
        for suffix in suffixes(self.format, family.model.kind) {
            let name = format!("{}{}", family.base, suffix);
            self.by_sample.entry(name).or_insert(index);
        }
    }

    /// The family a HELP/TYPE/UNIT line names, created if new.
    fn meta_family(&mut self, name: &str, what: &str) -> Result<usize, BuildError> {
        if let Some(c) = self.current {
            if self.families.get(c).is_some_and(|f| f.base == name) {
                let sampled = self
                    .families
                    .get(c)
                    .is_some_and(|f| !f.model.samples.is_empty());
                if self.format == Format::OpenMetrics && sampled {
                    return Err(BuildError::Invalid(format!(
                        "{what} for {name} after its samples: OpenMetrics puts a family's metadata first"
                    )));
                }
                return Ok(c);
            }
        }
        match self.by_meta.get(name).copied() {
            Some(index) if self.format == Format::Classic => {
                // Classic text tolerates a family appearing twice: Prometheus keeps no
                // family state there, so the two parts are merged.
                self.current = Some(index);
                Ok(index)
            }
            Some(_) => Err(BuildError::Invalid(format!(
                "family {name} appears again after other families; OpenMetrics requires a family's lines to be contiguous"
            ))),
            None => Ok(self.create(name, MetricType::Unknown)),
        }
    }

    pub(super) fn help(&mut self, name: &str, text: Cow<'_, str>) -> Result<(), BuildError> {
        let index = self.meta_family(name, "HELP")?;
        let format = self.format;
        let Some(family) = self.families.get_mut(index) else {
            return Ok(());
        };
        if family.help_set {
            if format == Format::OpenMetrics {
                return Err(BuildError::Invalid(format!("second HELP line for {name}")));
            }
            // Classic: a repeated HELP is tolerated and the first one kept.
            return Ok(());
        }
        family.help_set = true;
        family.model.help = text.into_owned();
        Ok(())
    }

    pub(super) fn unit(&mut self, name: &str, unit: &str) -> Result<(), BuildError> {
        let index = self.meta_family(name, "UNIT")?;
        let Some(family) = self.families.get_mut(index) else {
            return Ok(());
        };
        if family.unit_set {
            return Err(BuildError::Invalid(format!("second UNIT line for {name}")));
        }
        let suffix_ok = name
            .strip_suffix(unit)
            .is_some_and(|head| head.len() > 1 && head.ends_with('_'));
        if !unit.is_empty() && !suffix_ok {
            return Err(BuildError::Invalid(format!(
                "unit {unit:?} is not a suffix of metric {name:?}"
            )));
        }
        family.unit_set = true;
        family.model.unit = unit.to_owned();
        Ok(())
    }

    pub(super) fn type_(&mut self, name: &str, kind: MetricType) -> Result<(), BuildError> {
        let index = self.meta_family(name, "TYPE")?;
        let format = self.format;
        let Some(family) = self.families.get_mut(index) else {
            return Ok(());
        };
        if family.typed {
            if format == Format::OpenMetrics {
                return Err(BuildError::Invalid(format!("second TYPE line for {name}")));
            }
            if family.model.kind != kind {
                return Err(BuildError::Invalid(format!(
                    "TYPE {kind} for {name} conflicts with its earlier TYPE {}",
                    family.model.kind.classic_name()
                )));
            }
            return Ok(());
        }
        // Classic only (OpenMetrics refused metadata after samples above): series that
        // came before their TYPE must fit it.
        let old_kind = family.model.kind;
        family.model.kind = kind;
        if let Some(bad) = family
            .model
            .samples
            .iter()
            .find(|s| !family.fits(format, &s.name))
        {
            let message = format!(
                "TYPE {} for {name} comes after sample {}, which does not fit that type",
                kind.classic_name(),
                bad.name
            );
            family.model.kind = old_kind;
            return Err(BuildError::Invalid(message));
        }
        family.typed = true;
        if format == Format::Classic && kind == MetricType::Counter {
            // The model names counters the OpenMetrics way: `foo_total` → family `foo`.
            if let Some(stem) = name.strip_suffix("_total").filter(|s| !s.is_empty()) {
                family.model.name = stem.to_owned();
            }
        }
        self.register(index);
        Ok(())
    }

    /// Adds a sample; returns its (family, sample) index, or `None` for a duplicate.
    pub(super) fn sample(
        &mut self,
        raw: &RawSample<'_, '_>,
    ) -> Result<Option<(usize, usize)>, BuildError> {
        if raw.labels.len() > self.limits.max_label_count {
            return Err(BuildError::Limit(format!(
                "{} labels, more than the limit of {}",
                raw.labels.len(),
                self.limits.max_label_count
            )));
        }
        let index = self.family_for(raw.name)?;
        match self.seen.insert(raw, &self.families)? {
            Insert::Duplicate => {
                self.duplicates += 1;
                return Ok(None);
            }
            Insert::New => {}
        }
        if self.series >= self.limits.max_series {
            return Err(BuildError::SampleLimit(format!(
                "more than the limit of {} series",
                self.limits.max_series
            )));
        }
        self.series += 1;
        let Some(family) = self.families.get_mut(index) else {
            return Ok(None);
        };
        family.model.samples.push(Sample {
            name: raw.name.to_owned(),
            labels: raw
                .labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.as_ref().to_owned()))
                .collect(),
            value: raw.value,
            timestamp_ms: raw.timestamp_ms,
        });
        let sample = family.model.samples.len() - 1;
        self.seen.commit(index, sample);
        Ok(Some((index, sample)))
    }

    fn family_for(&mut self, name: &str) -> Result<usize, BuildError> {
        let format = self.format;
        if let Some(c) = self.current {
            if self.families.get(c).is_some_and(|f| f.fits(format, name)) {
                return Ok(c);
            }
        }
        if let Some(index) = self.by_sample.get(name).copied() {
            let Some(family) = self.families.get(index) else {
                return Err(BuildError::Invalid("internal: bad family index".to_owned()));
            };
            let fits = family.fits(format, name);
            match format {
                Format::Classic if fits => {
                    self.current = Some(index);
                    return Ok(index);
                }
                Format::OpenMetrics if fits => {
                    return Err(BuildError::Invalid(format!(
                        "sample {name} belongs to family {}, which ended earlier; OpenMetrics requires a family's lines to be contiguous",
                        family.model.name
                    )));
                }
                _ if family.base == name => {
                    return Err(BuildError::Invalid(format!(
                        "sample {name} does not fit the {} family declared as {name} (its samples are named {})",
                        match format {
                            Format::Classic => family.model.kind.classic_name(),
                            Format::OpenMetrics => family.model.kind.openmetrics_name(),
                        },
                        suffix_list(&family.base, format, family.model.kind)
                    )));
                }
                _ => {}
            }
        }
        // No TYPE covers it: an untyped/unknown family of its own name, as Prometheus
        // ingests such series.
        Ok(self.create(name, MetricType::Unknown))
    }

    /// Keeps an exemplar if OpenMetrics allows it there; otherwise counts it dropped
    /// (Prometheus, too, drops such exemplars at storage without failing the scrape).
    pub(super) fn exemplar(&mut self, at: (usize, usize), exemplar: Exemplar) {
        let (family, sample) = at;
        let placed_ok = self.families.get(family).is_some_and(|f| {
            let name = f.model.samples.get(sample).map_or("", |s| s.name.as_str());
            let suffix = name.strip_prefix(f.base.as_str()).unwrap_or("");
            matches!(
                (f.model.kind, suffix),
                (MetricType::Counter, "_total")
                    | (
                        MetricType::Histogram | MetricType::GaugeHistogram,
                        "_bucket"
                    )
            )
        });
        let chars: usize = exemplar
            .labels
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum();
        if placed_ok && chars <= EXEMPLAR_MAX_LABEL_CHARS {
            self.exemplars.push(exemplar);
        } else {
            self.exemplars_dropped += 1;
        }
    }
}

enum Insert {
    New,
    Duplicate,
}

/// Series seen so far, keyed by name, label set (in any order) and timestamp: what
/// Prometheus treats as one sample. Only a hash and the sample's position are kept;
/// label sets are compared exactly when hashes match.
struct Seen {
    hasher: RandomState,
    by_hash: HashMap<u64, (usize, usize)>,
    collided: Vec<(u64, usize, usize)>,
    /// Label indices sorted by name; reused across samples.
    order: Vec<usize>,
    pending: u64,
}

impl Seen {
    fn with_capacity(n: usize) -> Self {
        Seen {
            hasher: RandomState::new(),
            by_hash: HashMap::with_capacity(n),
            collided: Vec::new(),
            order: Vec::new(),
            pending: 0,
        }
    }

    fn insert(
        &mut self,
        raw: &RawSample<'_, '_>,
        families: &[Family],
    ) -> Result<Insert, BuildError> {
        let labels = raw.labels;
        self.order.clear();
        self.order.extend(0..labels.len());
        self.order.sort_unstable_by(|&a, &b| {
            let name = |i: usize| labels.get(i).map_or("", |l| l.0);
            name(a).cmp(name(b))
        });
        let mut h = self.hasher.build_hasher();
        raw.name.hash(&mut h);
        raw.timestamp_ms.hash(&mut h);
        let mut previous: Option<&str> = None;
        for &i in &self.order {
            let Some((k, v)) = labels.get(i) else {
                continue;
            };
            if previous == Some(*k) {
                return Err(BuildError::Invalid(format!("label name {k:?} is repeated")));
            }
            if *k == "__name__" {
                return Err(BuildError::Invalid(
                    "label name \"__name__\" is reserved for the metric name".to_owned(),
                ));
            }
            previous = Some(k);
            k.hash(&mut h);
            v.as_ref().hash(&mut h);
        }
        let hash = h.finish();
        self.pending = hash;
        let same = |&(f, s): &(usize, usize)| {
            families
                .get(f)
                .and_then(|fam| fam.model.samples.get(s))
                .is_some_and(|other| same_series(raw, other))
        };
        if let Some(first) = self.by_hash.get(&hash) {
            let earlier = std::iter::once(*first).chain(
                self.collided
                    .iter()
                    .filter(|(h, _, _)| *h == hash)
                    .map(|&(_, f, s)| (f, s)),
            );
            if earlier.into_iter().any(|at| same(&at)) {
                return Ok(Insert::Duplicate);
            }
        }
        Ok(Insert::New)
    }

    /// Records the sample last passed to `insert` as stored at `(family, sample)`.
    fn commit(&mut self, family: usize, sample: usize) {
        let hash = self.pending;
        match self.by_hash.entry(hash) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.collided.push((hash, family, sample));
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((family, sample));
            }
        }
    }
}

/// Same name, timestamp and label set in any order (label names are unique by now).
fn same_series(raw: &RawSample<'_, '_>, other: &Sample) -> bool {
    raw.name == other.name
        && raw.timestamp_ms == other.timestamp_ms
        && raw.labels.len() == other.labels.len()
        && raw.labels.iter().all(|(k, v)| {
            other
                .labels
                .iter()
                .any(|(ok, ov)| ok == k && ov == v.as_ref())
        })
}
