//! What the status page and the log say about an app's probes: each probe's last result,
//! each service of its JSON health body, and each configured pointer the body did not
//! answer.
//!
//! The log speaks once per change, not every poll: a probe or service going down (or a
//! pointer going unanswered), then coming back. The first result after a start or
//! reload only speaks of failures: nothing "came back" that was never seen down. While
//! a probe gets no readable body, its services and pointers are unknown rather than
//! changed, so an outage of the whole endpoint is the probe's line alone, and a service
//! down before it and up after it is logged as back.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::ProbeConfig;
use crate::redact::Scrubber;
use crate::sources::SourceNote;

use super::probe::{ProbeResult, UnusablePointer};

/// One change worth a log line.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Change {
    ProbeFailing {
        probe: String,
        error: String,
    },
    ProbeRecovered {
        probe: String,
        failed_for: Duration,
    },
    ServiceDown {
        probe: String,
        service: String,
    },
    ServiceRecovered {
        probe: String,
        service: String,
    },
    PointerUnusable {
        probe: String,
        field: &'static str,
        text: String,
    },
    PointerAnswered {
        probe: String,
        field: &'static str,
        pointer: String,
    },
}

#[derive(Debug, Default)]
struct Watched {
    /// Whether the last result passed; None before the first.
    up: Option<bool>,
    /// When the current run of failures began.
    failing_since: Option<Instant>,
    /// Each service's last reported state (up or not).
    services: BTreeMap<String, bool>,
    /// The pointers the body did not answer the last time it was read.
    unusable: Vec<UnusablePointer>,
    /// The last result, as status-page notes.
    notes: Vec<SourceNote>,
    /// The last result's failing probe and down services, as short phrases.
    failing: Vec<String>,
}

/// The probes of one app source, in config order.
#[derive(Debug, Default)]
pub(super) struct ProbeWatch {
    probes: Vec<Watched>,
}

impl ProbeWatch {
    /// Takes one poll's results (in the order of `probes`) and returns what changed.
    pub(super) fn observe(
        &mut self,
        probes: &[ProbeConfig],
        results: &[ProbeResult],
        scrubber: &Scrubber,
        now: Instant,
    ) -> Vec<Change> {
        self.probes.resize_with(probes.len(), Watched::default);
        let mut changes = Vec::new();
        for ((config, result), watched) in probes.iter().zip(results).zip(&mut self.probes) {
            watched.observe(&config.name, result, scrubber, now, &mut changes);
        }
        changes
    }

    pub(super) fn notes(&self) -> impl Iterator<Item = &SourceNote> {
        self.probes.iter().flat_map(|w| &w.notes)
    }

    /// Short phrases such as `probe health failing`, `service cache down`: failing
    /// probes first, as the more direct symptom.
    pub(super) fn failing(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let phrases = self.probes.iter().flat_map(|w| &w.failing);
        let (probes, services): (Vec<_>, Vec<_>) = phrases.partition(|p| p.starts_with("probe "));
        for phrase in probes.into_iter().chain(services) {
            // Two probes may read the same health body.
            if !out.contains(phrase) {
                out.push(phrase.clone());
            }
        }
        out
    }
}

impl Watched {
    fn observe(
        &mut self,
        probe: &str,
        result: &ProbeResult,
        scrubber: &Scrubber,
        now: Instant,
        changes: &mut Vec<Change>,
    ) {
        let probe_owned = || probe.to_owned();
        match (self.up, result.success) {
            (Some(true) | None, false) => {
                self.failing_since = Some(now);
                changes.push(Change::ProbeFailing {
                    probe: probe_owned(),
                    error: failure_reason(result),
                });
            }
            (Some(false), true) => changes.push(Change::ProbeRecovered {
                probe: probe_owned(),
                failed_for: self
                    .failing_since
                    .take()
                    .map_or(Duration::ZERO, |since| now.saturating_duration_since(since)),
            }),
            _ => {}
        }
        self.up = Some(result.success);

        let mut notes = vec![SourceNote {
            topic: "probe",
            text: probe_text(probe, result),
            problem: !result.success,
        }];
        let mut failing = Vec::new();
        if !result.success {
            failing.push(format!("probe {probe} failing"));
        }
        for (service, up, latency) in &result.services {
            let service = scrubber.scrub(service);
            match (self.services.insert(service.clone(), *up), *up) {
                (Some(true) | None, false) => changes.push(Change::ServiceDown {
                    probe: probe_owned(),
                    service: service.clone(),
                }),
                (Some(false), true) => changes.push(Change::ServiceRecovered {
                    probe: probe_owned(),
                    service: service.clone(),
                }),
                _ => {}
            }
            let state = if *up { "up" } else { "down" };
            let text = match latency {
                Some(s) => format!("{service}: {state}, latency {} (probe {probe})", ms(*s)),
                None => format!("{service}: {state} (probe {probe})"),
            };
            notes.push(SourceNote {
                topic: "service",
                text,
                problem: !up,
            });
            if !up {
                failing.push(format!("service {service} down"));
            }
        }

        if result.json_read {
            for u in &result.unusable {
                if !self.unusable.contains(u) {
                    changes.push(Change::PointerUnusable {
                        probe: probe_owned(),
                        field: u.field,
                        text: u.text.clone(),
                    });
                }
            }
            for u in &self.unusable {
                let still =
                    (result.unusable.iter()).any(|n| n.field == u.field && n.pointer == u.pointer);
                if !still {
                    changes.push(Change::PointerAnswered {
                        probe: probe_owned(),
                        field: u.field,
                        pointer: u.pointer.clone(),
                    });
                }
            }
            self.unusable.clone_from(&result.unusable);
        }
        notes.extend(result.unusable.iter().map(|u| SourceNote {
            topic: u.field,
            text: format!("probe {probe}: {}", u.text),
            problem: true,
        }));
        self.notes = notes;
        self.failing = failing;
    }
}

fn failure_reason(result: &ProbeResult) -> String {
    result
        .error
        .clone()
        .unwrap_or_else(|| "failed without a reason".to_owned())
}

/// `health: HTTP 200 in 3.2 ms`, or `health: failing, HTTP 503 in 3.2 ms: <why>`.
fn probe_text(probe: &str, result: &ProbeResult) -> String {
    let answer = match result.status {
        0 => format!("no response in {}", ms(result.duration.as_secs_f64())),
        status => format!("HTTP {status} in {}", ms(result.duration.as_secs_f64())),
    };
    if result.success {
        format!("{probe}: {answer}")
    } else {
        format!("{probe}: failing, {answer}: {}", failure_reason(result))
    }
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1000.0)
}

/// Writes each change as one log line.
pub(super) fn log(source: &str, changes: &[Change]) {
    for change in changes {
        match change {
            Change::ProbeFailing { probe, error } => {
                tracing::warn!(source = %source, probe = %probe, error = %error, "probe failing");
            }
            Change::ProbeRecovered { probe, failed_for } => {
                let failed_for = Duration::from_secs(failed_for.as_secs());
                tracing::warn!(
                    source = %source,
                    probe = %probe,
                    failed_for = %humantime::format_duration(failed_for),
                    "probe recovered"
                );
            }
            Change::ServiceDown { probe, service } => {
                tracing::warn!(source = %source, probe = %probe, service = %service, "health service down");
            }
            Change::ServiceRecovered { probe, service } => {
                tracing::warn!(source = %source, probe = %probe, service = %service, "health service recovered");
            }
            Change::PointerUnusable { probe, field, text } => {
                tracing::warn!(
                    source = %source,
                    probe = %probe,
                    field = %field,
                    problem = %text,
                    "probe body lacks a configured value"
                );
            }
            Change::PointerAnswered {
                probe,
                field,
                pointer,
            } => {
                tracing::info!(
                    source = %source,
                    probe = %probe,
                    field = %field,
                    pointer = %pointer,
                    "probe body has the configured value again"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str) -> ProbeConfig {
        ProbeConfig {
            name: name.into(),
            url: crate::config::Secret::new("http://h/health"),
            display_url: "http://h/health".into(),
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            expected_status: Vec::new(),
            body_regex: None,
            body_not_regex: None,
            json_checks: Vec::new(),
            json_services: None,
            json_values: Vec::new(),
        }
    }

    fn passed(ms: u64) -> ProbeResult {
        ProbeResult {
            success: true,
            status: 200,
            duration: Duration::from_millis(ms),
            json_read: true,
            ..ProbeResult::default()
        }
    }

    fn failed(status: u16, error: &str) -> ProbeResult {
        ProbeResult {
            status,
            duration: Duration::from_micros(4_200),
            error: Some(error.into()),
            ..ProbeResult::default()
        }
    }

    fn with_services(mut r: ProbeResult, services: &[(&str, bool)]) -> ProbeResult {
        r.services = (services.iter())
            .map(|(s, up)| ((*s).to_owned(), *up, Some(0.015)))
            .collect();
        r
    }

    fn missing(pointer: &str) -> UnusablePointer {
        UnusablePointer {
            field: "json_values",
            pointer: pointer.into(),
            text: format!("no value at `{pointer}` in the body, so m is not exported"),
        }
    }

    struct Run {
        watch: ProbeWatch,
        probes: Vec<ProbeConfig>,
        start: Instant,
    }

    impl Run {
        fn new() -> Self {
            Run {
                watch: ProbeWatch::default(),
                probes: vec![probe("health")],
                start: Instant::now(),
            }
        }

        fn poll(&mut self, at_secs: u64, result: ProbeResult) -> Vec<Change> {
            let now = self.start + Duration::from_secs(at_secs);
            (self.watch).observe(&self.probes, &[result], &Scrubber::new(Vec::new()), now)
        }

        fn texts(&self) -> Vec<(&'static str, String, bool)> {
            (self.watch.notes())
                .map(|n| (n.topic, n.text.clone(), n.problem))
                .collect()
        }
    }

    #[test]
    fn a_probe_is_logged_once_when_it_fails_and_once_when_it_is_back() {
        let mut run = Run::new();
        // Never down before: nothing to say.
        assert_eq!(run.poll(0, passed(3)), []);
        assert_eq!(
            run.texts(),
            [("probe", "health: HTTP 200 in 3.0 ms".to_owned(), false)]
        );
        assert!(run.watch.failing().is_empty());

        let down = failed(503, "http://h/health: unexpected status 503");
        assert_eq!(
            run.poll(10, down.clone()),
            [Change::ProbeFailing {
                probe: "health".into(),
                error: "http://h/health: unexpected status 503".into()
            }]
        );
        assert_eq!(
            run.texts(),
            [(
                "probe",
                "health: failing, HTTP 503 in 4.2 ms: http://h/health: unexpected status 503"
                    .to_owned(),
                true
            )]
        );
        assert_eq!(run.watch.failing(), ["probe health failing"]);
        // Still failing, for another reason: no new line.
        assert_eq!(
            run.poll(20, failed(0, "http://h/health: connection refused")),
            []
        );
        assert_eq!(
            run.texts()[0].1,
            "health: failing, no response in 4.2 ms: http://h/health: connection refused"
        );
        assert_eq!(
            run.poll(45, passed(2)),
            [Change::ProbeRecovered {
                probe: "health".into(),
                failed_for: Duration::from_secs(35)
            }]
        );
        assert_eq!(run.poll(55, passed(2)), []);
        assert!(run.watch.failing().is_empty());
    }

    #[test]
    fn the_first_result_speaks_only_of_failures() {
        let mut run = Run::new();
        let changes = run.poll(
            0,
            with_services(failed(503, "x"), &[("db", true), ("cache", false)]),
        );
        assert_eq!(
            changes,
            [
                Change::ProbeFailing {
                    probe: "health".into(),
                    error: "x".into()
                },
                Change::ServiceDown {
                    probe: "health".into(),
                    service: "cache".into()
                },
            ]
        );
    }

    #[test]
    fn services_are_logged_on_change_and_kept_through_an_outage() {
        let mut run = Run::new();
        assert_eq!(
            run.poll(
                0,
                with_services(passed(1), &[("cache", true), ("db", true)])
            ),
            []
        );
        assert_eq!(
            run.poll(
                1,
                with_services(passed(1), &[("cache", false), ("db", true)])
            ),
            [Change::ServiceDown {
                probe: "health".into(),
                service: "cache".into()
            }]
        );
        assert_eq!(
            run.texts(),
            [
                ("probe", "health: HTTP 200 in 1.0 ms".to_owned(), false),
                (
                    "service",
                    "cache: down, latency 15.0 ms (probe health)".to_owned(),
                    true
                ),
                (
                    "service",
                    "db: up, latency 15.0 ms (probe health)".to_owned(),
                    false
                ),
            ]
        );
        assert_eq!(run.watch.failing(), ["service cache down"]);
        assert_eq!(
            run.poll(
                1,
                with_services(passed(1), &[("cache", false), ("db", true)])
            ),
            []
        );
        // The endpoint goes away: the probe's line only; services unknown, not down.
        assert_eq!(run.poll(2, failed(0, "refused")).len(), 1);
        assert_eq!(run.texts().len(), 1);
        // Back, and the cache with it.
        let changes = run.poll(
            3,
            with_services(passed(1), &[("cache", true), ("db", true)]),
        );
        assert_eq!(
            changes,
            [
                Change::ProbeRecovered {
                    probe: "health".into(),
                    failed_for: Duration::from_secs(1)
                },
                Change::ServiceRecovered {
                    probe: "health".into(),
                    service: "cache".into()
                },
            ]
        );
    }

    #[test]
    fn unanswered_pointers_are_notes_and_logged_on_change() {
        let mut run = Run::new();
        let mut r = passed(1);
        r.unusable = vec![missing("/queue/depth")];
        let changes = run.poll(0, r.clone());
        assert_eq!(
            changes,
            [Change::PointerUnusable {
                probe: "health".into(),
                field: "json_values",
                text: "no value at `/queue/depth` in the body, so m is not exported".into()
            }]
        );
        assert_eq!(
            run.texts()[1],
            (
                "json_values",
                "probe health: no value at `/queue/depth` in the body, so m is not exported"
                    .to_owned(),
                true
            )
        );
        // A problem with the config or the body, not the app's health.
        assert!(run.watch.failing().is_empty());
        assert_eq!(run.poll(1, r), []);
        // No readable body: the pointer is neither answered nor newly missing.
        assert_eq!(run.poll(2, failed(0, "refused")).len(), 1);
        assert_eq!(run.poll(3, passed(1)).len(), 2, "recovered, and answered");
        assert_eq!(run.texts().len(), 1);
    }

    #[test]
    fn phrases_are_not_repeated_across_probes() {
        let mut watch = ProbeWatch::default();
        let probes = [probe("a"), probe("b")];
        let results = [
            with_services(passed(1), &[("cache", false)]),
            with_services(failed(500, "x"), &[("cache", false)]),
        ];
        let scrubber = Scrubber::new(vec!["s3cret".into()]);
        watch.observe(&probes, &results, &scrubber, Instant::now());
        assert_eq!(watch.failing(), ["probe b failing", "service cache down"]);
        // Names from the body go through the scrubber like any other text.
        let results = [with_services(passed(1), &[("s3cret", true)]), passed(1)];
        watch.observe(&probes, &results, &scrubber, Instant::now());
        assert!(watch.notes().all(|n| !n.text.contains("s3cret")));
    }
}
