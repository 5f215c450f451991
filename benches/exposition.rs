//! Cost of the exposition path: encoding a poll (once per poll per source), assembling
//! a scrape body (once per scrape) and gzipping it; and parsing a scraped app body.
//!
//! Fixture: four sources, families of 100 series with 3-5 labels, every fifth family a
//! histogram (10 label sets x 10 lines), one family shared by all sources.

use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use stack_exporter::exposition::{assemble, gzip, EncodedSnapshot, Format};
use stack_exporter::model::{MetricFamily, MetricType, Sample};

const SOURCES: [&str; 4] = ["postgres", "redis", "app_a", "app_b"];
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];
const BUCKETS: [&str; 8] = ["0.005", "0.01", "0.05", "0.1", "0.5", "1", "5", "+Inf"];

fn labels(source: &str, extra: &[(&str, String)]) -> Vec<(String, String)> {
    let mut l = vec![
        ("source".to_owned(), source.to_owned()),
        ("env".to_owned(), "production".to_owned()),
        (
            "instance".to_owned(),
            "db-primary-0.internal:5432".to_owned(),
        ),
    ];
    l.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    l
}

fn sample(name: String, labels: Vec<(String, String)>, value: f64) -> Sample {
    Sample {
        name,
        labels,
        value,
        timestamp_ms: None,
    }
}

/// One source's families totalling about `series` samples.
fn source_families(source: &str, series: usize, shared: bool) -> Vec<MetricFamily> {
    let mut families = Vec::new();
    let mut made = 0;
    let mut f = 0;
    while made < series {
        let (name, kind) = match (f, f % 5) {
            (0, _) if shared => (
                "stack_scrape_duration_seconds".to_owned(),
                MetricType::Gauge,
            ),
            (_, 0) => (
                format!("{source}_op{f}_duration_seconds"),
                MetricType::Histogram,
            ),
            (_, 1) | (_, 3) => (format!("{source}_op{f}_events"), MetricType::Counter),
            _ => (format!("{source}_op{f}_size_bytes"), MetricType::Gauge),
        };
        let mut family = MetricFamily::new(&name, kind, "Synthetic family for the bench.");
        for i in 0..100 {
            let value = (i * 37 + f) as f64 * 1.25;
            match kind {
                MetricType::Histogram => {
                    if i % 10 != 0 {
                        continue;
                    }
                    let extra = [("route", format!("/api/v1/items/{i}"))];
                    for (b, le) in BUCKETS.iter().enumerate() {
                        let mut l = labels(source, &extra);
                        l.push(("le".to_owned(), (*le).to_owned()));
                        family
                            .samples
                            .push(sample(format!("{name}_bucket"), l, (b * i) as f64));
                    }
                    family.samples.push(sample(
                        format!("{name}_sum"),
                        labels(source, &extra),
                        value,
                    ));
                    family.samples.push(sample(
                        format!("{name}_count"),
                        labels(source, &extra),
                        (8 * i) as f64,
                    ));
                }
                MetricType::Counter => {
                    let extra = [
                        ("database", format!("db{}", i % 7)),
                        ("table", format!("table_{i}")),
                    ];
                    family.samples.push(sample(
                        format!("{name}_total"),
                        labels(source, &extra),
                        value,
                    ));
                }
                _ => {
                    let extra = [("shard", format!("{i}"))];
                    family
                        .samples
                        .push(sample(name.clone(), labels(source, &extra), value + 0.5));
                }
            }
        }
        made += family.samples.len();
        families.push(family);
        f += 1;
    }
    families
}

fn fixture(series: usize) -> Vec<(&'static str, Vec<MetricFamily>)> {
    SOURCES
        .iter()
        .map(|s| (*s, source_families(s, series / SOURCES.len(), true)))
        .collect()
}

fn encoded(series: usize) -> Vec<(&'static str, EncodedSnapshot)> {
    fixture(series)
        .into_iter()
        .map(|(s, f)| (s, EncodedSnapshot::encode(f)))
        .collect()
}

fn bench_encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for &n in &SIZES {
        // Encoding happens per source; one source holding all `n` series is the
        // worst case for a single poll.
        let families = source_families("postgres", n, true);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &families, |b, fams| {
            b.iter_batched(
                || fams.clone(),
                |f| black_box(EncodedSnapshot::encode(f)),
                BatchSize::LargeInput,
            )
        });
        // What the caller would pay anyway to free a poll's model; part of `encode`
        // above because encode consumes its input.
        group.bench_with_input(
            BenchmarkId::new("drop_input_only", n),
            &families,
            |b, fams| b.iter_batched(|| fams.clone(), drop, BatchSize::LargeInput),
        );
    }
    group.finish();
}

fn bench_assemble(c: &mut Criterion) {
    let mut group = c.benchmark_group("assemble");
    for &n in &SIZES {
        let snapshots = encoded(n);
        let parts: Vec<(&str, &EncodedSnapshot)> = snapshots.iter().map(|(s, e)| (*s, e)).collect();
        let series: usize = snapshots.iter().map(|(_, e)| e.series()).sum();
        group.throughput(Throughput::Elements(series as u64));
        for (label, format) in [
            ("classic", Format::Classic),
            ("openmetrics", Format::OpenMetrics),
        ] {
            let mut out = Vec::new();
            group.bench_function(BenchmarkId::new(label, n), |b| {
                b.iter(|| {
                    out.clear();
                    let conflicts = assemble(black_box(&parts), format, &mut out);
                    black_box((conflicts, out.len()))
                })
            });
        }
    }
    group.finish();
}

fn bench_gzip(c: &mut Criterion) {
    let snapshots = encoded(10_000);
    let parts: Vec<(&str, &EncodedSnapshot)> = snapshots.iter().map(|(s, e)| (*s, e)).collect();
    let mut body = Vec::new();
    assemble(&parts, Format::Classic, &mut body);
    let fast = gzip(&body).len();
    let default_level = gzip_level(&body, flate2::Compression::default()).len();
    eprintln!(
        "gzip 10k body: {} bytes -> fast {} bytes ({:.1}x), default {} bytes ({:.1}x)",
        body.len(),
        fast,
        body.len() as f64 / fast as f64,
        default_level,
        body.len() as f64 / default_level as f64,
    );
    let mut group = c.benchmark_group("gzip_10k");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("fast", |b| b.iter(|| black_box(gzip(black_box(&body)))));
    group.bench_function("default_level", |b| {
        b.iter(|| black_box(gzip_level(black_box(&body), flate2::Compression::default())))
    });
    group.finish();
}

/// The comparison point for the level choice in `exposition::gzip`.
fn gzip_level(body: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), level);
    e.write_all(body).expect("write to Vec");
    e.finish().expect("finish to Vec")
}

/// What a scrape costs through the server's body cache, against `assemble` above (what
/// every scrape would cost if the body were rendered per request).
fn bench_serve_cached(c: &mut Criterion) {
    use stack_exporter::scheduler::store::PollOutcome;
    use stack_exporter::scheduler::{SourceStatus, Store};
    use stack_exporter::selfmetrics::RuntimeStatus;
    use stack_exporter::server::BodyCache;
    use stack_exporter::sources::SourceKind;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    let mut group = c.benchmark_group("serve_cached");
    for &n in &SIZES {
        let store = Arc::new(Store::new());
        let snapshots = encoded(n);
        let statuses = snapshots
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                (
                    i as u64,
                    SourceStatus::pending(
                        *name,
                        SourceKind::App,
                        "",
                        Duration::from_secs(15),
                        Duration::from_secs(5),
                    ),
                )
            })
            .collect();
        store.set_sources(statuses);
        for (i, (_, snapshot)) in snapshots.into_iter().enumerate() {
            store.publish(
                i as u64,
                PollOutcome {
                    finished: SystemTime::now(),
                    duration: Duration::from_millis(1),
                    result: Ok(()),
                    snapshot,
                    next_poll: SystemTime::now(),
                    notes: Vec::new(),
                },
            );
        }
        let runtime = RuntimeStatus::default();
        let cache = BodyCache::default();
        group.bench_function(BenchmarkId::new("classic", n), |b| {
            b.iter(|| black_box(cache.body(&store, &runtime, Format::Classic, false).len()))
        });
        group.bench_function(BenchmarkId::new("classic_gzip", n), |b| {
            b.iter(|| black_box(cache.body(&store, &runtime, Format::Classic, true).len()))
        });
    }
    group.finish();
}

/// Parsing a scraped body back into the model (the app-scrape path): bodies our own
/// encoder produced from the fixture, 10k and 100k series, in both formats.
fn bench_parse(c: &mut Criterion) {
    use stack_exporter::exposition::parse::{parse, ParseLimits};

    let limits = ParseLimits::unlimited();
    let mut group = c.benchmark_group("parse");
    group.sample_size(20);
    for &n in &SIZES[1..] {
        let snapshots = encoded(n);
        let parts: Vec<(&str, &EncodedSnapshot)> = snapshots.iter().map(|(s, e)| (*s, e)).collect();
        for (label, format) in [
            ("classic", Format::Classic),
            ("openmetrics", Format::OpenMetrics),
        ] {
            let mut body = Vec::new();
            assemble(&parts, format, &mut body);
            group.throughput(Throughput::Bytes(body.len() as u64));
            group.bench_function(BenchmarkId::new(label, n), |b| {
                b.iter(|| black_box(parse(black_box(&body), format, &limits).map(|f| f.len())))
            });
        }
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_encode,
    bench_assemble,
    bench_gzip,
    bench_serve_cached,
    bench_parse
);
criterion_main!(benches);
