//! Cost of the exposition path: encoding a poll (once per poll per source), assembling
//! a scrape body (once per scrape) and gzipping it; and parsing a scraped app body.
//!
//! Fixture: four sources, families of 100 series with 3-5 labels, every fifth family a
//! histogram (10 label sets x 10 lines), one family shared by all sources. The parse of
//! a large app body (`parse_app_10mb`) has its own, app-shaped fixture (`app_families`).

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
                    remote: None,
                    next_poll: SystemTime::now(),
                    notes: Vec::new(),
                    failing: Vec::new(),
                    latency_threshold_resolved: None,
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

/// Parse throughput on a realistic app body of about 10 MB: what `apps[].metrics_url`
/// costs per scrape of a large app. See [`app_families`] for its shape.
fn bench_parse_app_body(c: &mut Criterion) {
    use stack_exporter::exposition::parse::{parse, ParseLimits};

    const TARGET_BYTES: usize = 10_000_000;
    let body_of = |routes: usize, format: Format| {
        let snapshot = EncodedSnapshot::encode(app_families(routes));
        let mut body = Vec::new();
        assemble(&[("app", &snapshot)], format, &mut body);
        (body, snapshot.series())
    };
    // Scale the route count so the classic body lands near the target.
    let (probe, _) = body_of(100, Format::Classic);
    let routes = 100 * TARGET_BYTES / probe.len();

    let limits = ParseLimits::unlimited();
    let mut group = c.benchmark_group("parse_app_10mb");
    group.sample_size(10);
    for (label, format) in [
        ("classic", Format::Classic),
        ("openmetrics", Format::OpenMetrics),
    ] {
        let (body, series) = body_of(routes, format);
        // The bench measures the parse only if the body is valid.
        let parsed = parse(&body, format, &limits).expect("app body parses");
        let parsed_series: usize = parsed.iter().map(|f| f.samples.len()).sum();
        assert_eq!(parsed_series, series);
        eprintln!(
            "parse_app_10mb/{label}: {} bytes, {series} series, {} families",
            body.len(),
            parsed.len()
        );
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(label, |b| {
            b.iter(|| black_box(parse(black_box(&body), format, &limits).map(|f| f.len())))
        });
    }
    group.finish();
}

const SERVICES: [&str; 6] = ["checkout", "cart", "catalog", "payments", "search", "users"];
const METHODS: [&str; 2] = ["GET", "POST"];
const STATUSES: [&str; 3] = ["200", "404", "500"];
const LATENCY_BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];
const QUANTILES: [&str; 3] = ["0.5", "0.9", "0.99"];
/// Error messages as apps put them in labels, some needing escapes.
const ERRORS: [&str; 6] = [
    "connection reset by peer",
    "upstream \"inventory\" timed out",
    "open C:\\data\\cache.db: access denied",
    "constraint violation\ndetail: key (id)=(42) exists",
    "context deadline exceeded",
    "tls: bad certificate",
];

/// What a large web app exposes, 39 series per route: per route, request counters by
/// method and status (5 labels), a latency histogram per method (10 buckets), an
/// upstream-call summary (3 quantiles), in-flight gauges, a 6-label cache gauge and an
/// error counter whose message label needs escapes. Values are random (fixed seed):
/// large counts, fractional seconds, small gauges.
fn app_families(routes: usize) -> Vec<MetricFamily> {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut requests = MetricFamily::counter(
        "http_server_requests",
        "Requests handled, by route, method and status.",
    );
    let mut latency = MetricFamily::new(
        "http_server_request_duration_seconds",
        MetricType::Histogram,
        "Time to the last byte of the response.",
    );
    latency.unit = "seconds".to_owned();
    let mut upstream = MetricFamily::new(
        "upstream_call_duration_seconds",
        MetricType::Summary,
        "Calls to upstream services (\"peers\"), sliding 10m window.",
    );
    upstream.unit = "seconds".to_owned();
    let mut inflight =
        MetricFamily::gauge("http_server_requests_in_flight", "Requests being served.");
    let mut cache = MetricFamily::gauge(
        "app_cache_entries",
        "Entries per cache shard.\nTiers: l1 (in process), l2 (redis \\ memcached).",
    );
    let mut errors = MetricFamily::counter("app_errors", "Errors by class and message.");

    for r in 0..routes {
        let service = SERVICES[r % SERVICES.len()];
        let instance = format!("10.0.{}.{}:8080", r % 7, 10 + r % 23);
        let route = format!("/api/v{}/{service}/items/{{id}}/r{r}", 1 + r % 2);
        let pod = format!("{service}-7d9f8b6c5-{:05x}", r * 7919 % 0xfffff);
        for method in METHODS {
            let base = [
                ("service", service),
                ("instance", instance.as_str()),
                ("method", method),
                ("route", route.as_str()),
            ];
            for status in STATUSES {
                let mut l = labels_of(&base);
                l.push(("status".to_owned(), status.to_owned()));
                requests.push(l, rng.u64(0..50_000_000) as f64);
            }
            let mut cumulative = 0u64;
            for le in LATENCY_BUCKETS {
                cumulative += rng.u64(0..100_000);
                let mut l = labels_of(&base);
                l.push(("le".to_owned(), le.to_owned()));
                latency.samples.push(sample(
                    "http_server_request_duration_seconds_bucket".to_owned(),
                    l,
                    cumulative as f64,
                ));
            }
            let hist = labels_of(&base);
            latency.samples.push(sample(
                "http_server_request_duration_seconds_sum".to_owned(),
                hist.clone(),
                cumulative as f64 * rng.f64() * 0.3,
            ));
            latency.samples.push(sample(
                "http_server_request_duration_seconds_count".to_owned(),
                hist,
                cumulative as f64,
            ));
            inflight.push(labels_of(&base), rng.u64(0..64) as f64);
        }
        let peer = format!("{}.internal:443", SERVICES[(r + 1) % SERVICES.len()]);
        let call = [
            ("service", service),
            ("peer", peer.as_str()),
            ("operation", "GetItem"),
        ];
        for q in QUANTILES {
            let mut l = labels_of(&call);
            l.push(("quantile".to_owned(), q.to_owned()));
            upstream.samples.push(sample(
                "upstream_call_duration_seconds".to_owned(),
                l,
                rng.f64() * 0.5,
            ));
        }
        let count = rng.u64(0..10_000_000) as f64;
        upstream.samples.push(sample(
            "upstream_call_duration_seconds_sum".to_owned(),
            labels_of(&call),
            count * 0.042,
        ));
        upstream.samples.push(sample(
            "upstream_call_duration_seconds_count".to_owned(),
            labels_of(&call),
            count,
        ));
        let shard = format!("{}", r % 16);
        cache.push(
            labels_of(&[
                ("service", service),
                ("pod", pod.as_str()),
                ("cache", "items"),
                ("tier", if r % 3 == 0 { "l2" } else { "l1" }),
                ("region", "eu-west-1"),
                ("shard", shard.as_str()),
            ]),
            rng.u64(0..1_000_000) as f64,
        );
        let error = format!("{} (r{r})", ERRORS[r % ERRORS.len()]);
        errors.push(
            labels_of(&[
                ("service", service),
                ("class", if r % 2 == 0 { "io" } else { "app" }),
                ("message", error.as_str()),
            ]),
            rng.u64(0..1_000) as f64,
        );
    }
    vec![requests, latency, upstream, inflight, cache, errors]
}

fn labels_of(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

criterion_group!(
    benches,
    bench_encode,
    bench_assemble,
    bench_gzip,
    bench_serve_cached,
    bench_parse,
    bench_parse_app_body
);
criterion_main!(benches);
