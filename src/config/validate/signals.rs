//! Validation of `apps[].signals`: which of the app's metrics the standard per-app series
//! come from. Only what can be known without the app is checked here (name syntax, the
//! regex, the unit); whether a named family exists, and its type, is a poll-time matter
//! (reported on the status page, see `sources::http::signals`).

use super::super::schema::{RawLatencySignal, RawQueueSignal, RawRequestsSignal, RawSignals, Text};
use super::super::{
    LatencySignal, QueueName, QueueSignal, RequestsSignal, SignalsConfig, StatusMatcher, TimeUnit,
};
use super::app::REGEX_SIZE_LIMIT;
use super::{Builder, FieldPath};
use crate::model::{is_valid_label_name, is_valid_metric_name};

const DEFAULT_QUEUE_STATE: &str = "waiting";

impl Builder {
    /// `has_metrics`: whether the app has a `metrics_url`, the only input of signals.
    pub(super) fn signals(
        &mut self,
        raw: Option<RawSignals>,
        has_metrics: bool,
        p: &FieldPath,
    ) -> SignalsConfig {
        let errors = |b: &mut Builder, raw: Option<Text>, at: &FieldPath| {
            let pattern = raw.map_or_else(|| StatusMatcher::DEFAULT_ERRORS.to_owned(), |t| t.0);
            StatusMatcher::new(&pattern, REGEX_SIZE_LIMIT).unwrap_or_else(|e| {
                b.issue(at.clone(), format!("invalid regular expression: {e}"));
                StatusMatcher::invalid(pattern)
            })
        };
        let Some(raw) = raw else {
            return SignalsConfig {
                latency: None,
                requests: RequestsSignal {
                    counter: None,
                    status_label: None,
                    errors: errors(self, None, &p.key("requests").key("errors")),
                },
                queues: Vec::new(),
                detect: true,
            };
        };
        if !has_metrics {
            self.issue(
                p.clone(),
                "signals are derived from the app's own metrics, and this app has no `metrics_url`",
            );
        }
        let latency = raw
            .latency
            .and_then(|l| self.latency_signal(l, &p.key("latency")));
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
        SignalsConfig {
            latency,
            requests: RequestsSignal {
                counter,
                status_label,
                errors,
            },
            queues,
            detect: raw.detect.is_none_or(|f| f.0),
        }
    }

    fn latency_signal(&mut self, raw: RawLatencySignal, p: &FieldPath) -> Option<LatencySignal> {
        let unit = match raw.unit.as_ref().map(|t| t.0.as_str()) {
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
        let histogram = self.metric_name(raw.histogram.0, "histogram", &p.key("histogram"))?;
        // The family is named without the suffix of its bucket samples; with it, the
        // name would never match and the mistake would only show at poll time.
        if let Some(family) = histogram.strip_suffix("_bucket") {
            self.issue(
                p.key("histogram"),
                format!(
                    "`{histogram}` names the bucket samples; name the histogram family, `{family}`"
                ),
            );
            return None;
        }
        Some(LatencySignal { histogram, unit })
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
