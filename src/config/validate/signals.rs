//! Validation of `apps[].signals`: which of the app's metrics the standard per-app series
//! come from. Only what can be known without the app is checked here (name syntax, the
//! regex, the unit); whether a named family exists, and its type, is a poll-time matter
//! (reported on the status page, see `sources::http::signals`).

use std::time::Duration;

use url::Url;

use super::super::schema::{
    Dur, RawGaugeSignal, RawLatencySignal, RawQueueSignal, RawRequestsSignal, RawSignals, Text,
};
use super::super::{
    GaugeSignal, LatencySignal, MetricsTarget, OwnRequests, ProbeConfig, QueueName, QueueSignal,
    RequestsSignal, SignalsConfig, StatusMatcher, TimeUnit,
};
use super::app::REGEX_SIZE_LIMIT;
use super::{Builder, FieldPath};
use crate::model::{is_valid_label_name, is_valid_metric_name};

const DEFAULT_QUEUE_STATE: &str = "waiting";
/// A latency threshold above this is surely a typo (`50s` for `50ms`): no histogram
/// of request latency has bounds that far out worth alerting on.
const MAX_THRESHOLD: Duration = Duration::from_secs(600);

impl Builder {
    /// `has_metrics`: whether the app has a `metrics_url`, the only input of signals.
    /// `metrics` and `probes` are the app's validated requests: the exporter's own
    /// traffic to the app, which the signals must leave out.
    pub(super) fn signals(
        &mut self,
        raw: Option<RawSignals>,
        has_metrics: bool,
        metrics: &[MetricsTarget],
        probes: &[ProbeConfig],
        p: &FieldPath,
    ) -> SignalsConfig {
        let errors = |b: &mut Builder, raw: Option<Text>, at: &FieldPath| {
            let pattern = raw.map_or_else(|| StatusMatcher::DEFAULT_ERRORS.to_owned(), |t| t.0);
            StatusMatcher::new(&pattern, REGEX_SIZE_LIMIT).unwrap_or_else(|e| {
                b.issue(at.clone(), format!("invalid regular expression: {e}"));
                StatusMatcher::invalid(pattern)
            })
        };
        let own_paths = own_paths(metrics, probes);
        let Some(raw) = raw else {
            return SignalsConfig {
                latency: LatencySignal {
                    histogram: None,
                    unit: None,
                    threshold: LatencySignal::DEFAULT_THRESHOLD,
                },
                requests: RequestsSignal {
                    counter: None,
                    status_label: None,
                    errors: errors(self, None, &p.key("requests").key("errors")),
                },
                queues: Vec::new(),
                gauges: Vec::new(),
                own_requests: OwnRequests {
                    paths: own_paths,
                    routes: Vec::new(),
                },
                detect: true,
            };
        };
        if !has_metrics {
            self.issue(
                p.clone(),
                "signals are derived from the app's own metrics, and this app has no `metrics_url`",
            );
        }
        let latency = self.latency_signal(raw.latency, &p.key("latency"));
        let requests_path = p.key("requests");
        let (counter, status_label, errors_raw) = match raw.requests {
            Some(RawRequestsSignal {
                counter,
                status_label,
                errors,
            }) => (counter, status_label, errors),
            None => (None, None, None),
        };
        let counter = counter.and_then(|Text(name)| {
            self.metric_name(name, "counter", &requests_path.key("counter"))
        });
        let status_label = status_label
            .and_then(|Text(name)| self.label_name(name, &requests_path.key("status_label")));
        let errors = errors(self, errors_raw, &requests_path.key("errors"));
        let mut queues: Vec<QueueSignal> = Vec::new();
        for (i, q) in raw.queues.unwrap_or_default().into_iter().enumerate() {
            let at = p.key("queues").index(i);
            if let Some(q) = self.queue_signal(q, &at) {
                if queues.iter().any(|r| r.gauge == q.gauge) {
                    self.issue(
                        at.key("gauge"),
                        format!(
                            "gauge `{}` is listed twice; each gauge is one entry (its depths would be counted twice)",
                            q.gauge
                        ),
                    );
                }
                queues.push(q);
            }
        }
        let mut gauges: Vec<GaugeSignal> = Vec::new();
        for (i, g) in raw.gauges.unwrap_or_default().into_iter().enumerate() {
            let at = p.key("gauges").index(i);
            if let Some(g) = self.gauge_signal(g, &at) {
                if let Some(other) = gauges.iter().find(|o| o.name == g.name) {
                    self.issue(
                        at.clone(),
                        format!(
                            "gauge name `{}` is already used by `{}`; give each entry a distinct `name` (their series would be one)",
                            g.name, other.gauge
                        ),
                    );
                }
                gauges.push(g);
            }
        }
        let mut routes: Vec<String> = Vec::new();
        for (i, Text(route)) in raw
            .exclude_routes
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if route.is_empty() {
                self.issue(
                    p.key("exclude_routes").index(i),
                    "route must not be empty; expected a value of the app's route label (handler, route, path, view, …), e.g. `/internal/ping`",
                );
            } else if !routes.contains(&route) {
                routes.push(route);
            }
        }
        SignalsConfig {
            latency,
            requests: RequestsSignal {
                counter,
                status_label,
                errors,
            },
            queues,
            gauges,
            own_requests: OwnRequests {
                paths: own_paths,
                routes,
            },
            detect: raw.detect.is_none_or(|f| f.0),
        }
    }

    fn latency_signal(&mut self, raw: Option<RawLatencySignal>, p: &FieldPath) -> LatencySignal {
        let mut latency = LatencySignal {
            histogram: None,
            unit: None,
            threshold: LatencySignal::DEFAULT_THRESHOLD,
        };
        let Some(raw) = raw else {
            return latency;
        };
        latency.unit = match raw.unit.as_ref().map(|t| t.0.as_str()) {
            None => None,
            Some("s") => Some(TimeUnit::Seconds),
            Some("ms") => Some(TimeUnit::Milliseconds),
            Some("us") => Some(TimeUnit::Microseconds),
            Some(other) => {
                self.issue(
                    p.key("unit"),
                    format!("unknown unit `{other}`; expected s, ms or us"),
                );
                None
            }
        };
        if raw.unit.is_some() && raw.histogram.is_none() {
            // A detected histogram's unit comes from its name; a unit given for it
            // would silently apply to whichever family detection picks.
            self.issue(
                p.key("unit"),
                "`unit` is the unit of a configured `histogram`, and none is set; name the histogram or remove `unit`",
            );
        }
        match raw.threshold {
            None => {}
            Some(Dur(d)) if d.is_zero() || d > MAX_THRESHOLD => self.issue(
                p.key("threshold"),
                format!(
                    "latency threshold {} is out of range; expected more than 0 and at most {}, e.g. 50ms",
                    humantime::format_duration(d),
                    humantime::format_duration(MAX_THRESHOLD)
                ),
            ),
            Some(Dur(d)) => latency.threshold = d,
        }
        let Some(Text(histogram)) = raw.histogram else {
            return latency;
        };
        let Some(histogram) = self.metric_name(histogram, "histogram", &p.key("histogram")) else {
            return latency;
        };
        // The family is named without the suffix of its bucket samples; with it, the
        // name would never match and the mistake would only show at poll time.
        if let Some(family) = histogram.strip_suffix("_bucket") {
            self.issue(
                p.key("histogram"),
                format!(
                    "`{histogram}` names the bucket samples; name the histogram family, `{family}`"
                ),
            );
            return latency;
        }
        latency.histogram = Some(histogram);
        latency
    }

    fn gauge_signal(&mut self, raw: RawGaugeSignal, p: &FieldPath) -> Option<GaugeSignal> {
        let gauge = self.metric_name(raw.gauge.0, "gauge", &p.key("gauge"))?;
        let name = match raw.name {
            None => gauge.clone(),
            Some(Text(n)) if n.is_empty() => {
                self.issue(p.key("name"), "name must not be empty; it is the `gauge` label of stack_app_gauge, e.g. active_sessions");
                return None;
            }
            Some(Text(n)) => n,
        };
        Some(GaugeSignal { gauge, name })
    }

    fn queue_signal(&mut self, raw: RawQueueSignal, p: &FieldPath) -> Option<QueueSignal> {
        let gauge = self.metric_name(raw.gauge.0, "gauge", &p.key("gauge"));
        let queue = match (raw.queue_label, raw.queue) {
            (Some(_), Some(_)) => {
                self.issue(
                    p.key("queue"),
                    "set `queue_label` (a label of the gauge naming the queue) or `queue` (a fixed name), not both",
                );
                None
            }
            (None, None) => {
                self.issue(
                    p.clone(),
                    "one of `queue_label` (a label of the gauge naming the queue) or `queue` (a fixed name) is required",
                );
                None
            }
            (Some(Text(label)), None) => self
                .label_name(label, &p.key("queue_label"))
                .map(QueueName::Label),
            (None, Some(Text(name))) if name.is_empty() => {
                self.issue(p.key("queue"), "queue name must not be empty");
                None
            }
            (None, Some(Text(name))) => Some(QueueName::Fixed(name)),
        };
        let state = match raw.state {
            None => DEFAULT_QUEUE_STATE.to_owned(),
            Some(Text(s)) if s.is_empty() => {
                self.issue(p.key("state"), "state must not be empty");
                return None;
            }
            Some(Text(s)) => s,
        };
        Some(QueueSignal {
            gauge: gauge?,
            queue: queue?,
            state,
        })
    }

    fn metric_name(&mut self, name: String, what: &str, p: &FieldPath) -> Option<String> {
        if is_valid_metric_name(&name) {
            Some(name)
        } else {
            self.issue(
                p.clone(),
                format!("invalid {what} name `{name}`; expected a metric name, [a-zA-Z_:][a-zA-Z0-9_:]*"),
            );
            None
        }
    }

    fn label_name(&mut self, name: String, p: &FieldPath) -> Option<String> {
        if is_valid_label_name(&name) {
            Some(name)
        } else {
            self.issue(
                p.clone(),
                format!("invalid label name `{name}`; expected [a-zA-Z_][a-zA-Z0-9_]*, not starting with __"),
            );
            None
        }
    }
}

/// The URL paths of the exporter's own requests to the app: every `metrics_url`, and
/// each probe of a host that serves one of them (a probe of another host, say a
/// dependency's health page, never reaches this app's instrumentation).
fn own_paths(metrics: &[MetricsTarget], probes: &[ProbeConfig]) -> Vec<String> {
    let parse = |url: &str| Url::parse(url).ok();
    let metrics_hosts: Vec<String> = (metrics.iter())
        .filter_map(|t| parse(t.url.expose()))
        .filter_map(|u| u.host_str().map(str::to_owned))
        .collect();
    let mut paths: Vec<String> = Vec::new();
    let metrics_urls = metrics.iter().filter_map(|t| parse(t.url.expose()));
    let probe_urls = (probes.iter())
        .filter_map(|p| parse(p.url.expose()))
        .filter(|u| {
            u.host_str()
                .is_some_and(|h| metrics_hosts.iter().any(|m| m == h))
        });
    for url in metrics_urls.chain(probe_urls) {
        let path = url.path().to_owned();
        if !paths.contains(&path) {
            paths.push(path);
        }
    }
    paths
}
