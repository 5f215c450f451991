//! A real Prometheus server scraping the exporter: what it stores is what we serve.

mod common;

use std::time::Duration;

use common::{wait_until, ExporterProcess, TempPrometheus};

#[test]
fn prometheus_scrapes_the_exporter_and_stores_every_series() {
    let exporter = ExporterProcess::start(
        "defaults: { interval: 1s, timeout: 800ms }\n\
         postgres: [ { name: main, url: \"postgresql://postgres@127.0.0.1:5432/postgres\", labels: { team: core } } ]\n\
         redis: [ { name: cache, url: \"redis://127.0.0.1:6379\" } ]\n",
        &[],
    );
    wait_until(Duration::from_secs(10), "/ready", || {
        exporter.get("/ready").status == 200
    });
    let prometheus = TempPrometheus::start("stack", &[exporter.addr()]);
    let timeout = Duration::from_secs(30);
    prometheus.wait_for(
        "up{job=\"stack\"} == 1",
        |v| !common::vector_samples(v).is_empty(),
        timeout,
    );
    let pg = prometheus.wait_for(
        "pg_up{job=\"stack\"}",
        |v| !common::vector_samples(v).is_empty(),
        timeout,
    );
    let pg = common::vector_samples(&pg);
    assert_eq!(pg.len(), 1, "{pg:?}");
    let (labels, value) = &pg[0];
    assert_eq!(*value, 1.0);
    assert_eq!(labels.get("source").map(String::as_str), Some("main"));
    assert_eq!(labels.get("team").map(String::as_str), Some("core"));
    // Prometheus's own `instance` label is left to it: we never set one.
    assert_eq!(
        labels.get("instance").map(String::as_str),
        Some(exporter.addr())
    );

    let redis = prometheus.query_vector("redis_up{job=\"stack\",source=\"cache\"}");
    assert_eq!(redis.len(), 1, "{redis:?}");
    assert_eq!(redis[0].1, 1.0);
    let info = prometheus.query_vector("redis_instance_info{job=\"stack\",role=\"master\"}");
    assert_eq!(info.len(), 1, "{info:?}");
    let polls = prometheus.query_vector(
        "stack_exporter_source_polls_total{job=\"stack\",source=\"main\",kind=\"postgres\"}",
    );
    assert_eq!(polls.len(), 1, "{polls:?}");
    assert!(polls[0].1 >= 1.0);

    // Every sample line we serve became a stored sample: nothing was rejected as a
    // duplicate or a parse error.
    let served = exporter
        .get("/metrics")
        .text()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count() as f64;
    let scraped = prometheus.query_vector("scrape_samples_scraped{job=\"stack\"}");
    assert_eq!(scraped.len(), 1);
    assert_eq!(
        scraped[0].1, served,
        "Prometheus scraped a different number of samples"
    );
    let log = prometheus.log();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(exporter.addr()))
        .filter(|l| l.contains("level=warn") || l.contains("level=error"))
        .collect();
    assert!(
        complaints.is_empty(),
        "Prometheus complained about our target: {complaints:#?}"
    );
}
