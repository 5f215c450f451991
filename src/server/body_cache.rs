//! The rendered `/metrics` body, rebuilt only when a source published a new snapshot (or
//! the self-metrics are over a second old), so a scrape is normally a copy of bytes that
//! already exist. Each format and encoding is rendered lazily, on first request.

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::exposition::{self, EncodedSnapshot, Format};
use crate::scheduler::Store;
use crate::selfmetrics::{self, RuntimeStatus};

/// How stale the process and self-metrics in a cached body may get.
const SELF_METRICS_MAX_AGE: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Rendered {
    generation: u64,
    built: Option<Instant>,
    /// Index: [format][gzip].
    bodies: [[Option<Bytes>; 2]; 2],
}

#[derive(Default)]
pub struct BodyCache {
    rendered: Mutex<Rendered>,
    /// Conflicts already logged, so a persisting conflict is logged once, not per render.
    logged_conflicts: Mutex<HashSet<(String, String)>>,
}

impl BodyCache {
    pub fn body(
        &self,
        store: &Store,
        runtime: &RuntimeStatus,
        format: Format,
        gzip: bool,
    ) -> Bytes {
        let generation = store.generation();
        let mut rendered = self.rendered.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = rendered.generation == generation
            && rendered
                .built
                .is_some_and(|b| b.elapsed() < SELF_METRICS_MAX_AGE);
        if !fresh {
            *rendered = Rendered {
                generation,
                built: Some(Instant::now()),
                bodies: Default::default(),
            };
        }
        let f = match format {
            Format::Classic => 0,
            Format::OpenMetrics => 1,
        };
        if let Some(body) = &rendered.bodies[f][usize::from(gzip)] {
            return body.clone();
        }
        let plain = match &rendered.bodies[f][0] {
            Some(body) => body.clone(),
            None => {
                let body = Bytes::from(self.render(store, runtime, format));
                rendered.bodies[f][0] = Some(body.clone());
                body
            }
        };
        if !gzip {
            return plain;
        }
        let compressed = Bytes::from(exposition::gzip(&plain));
        rendered.bodies[f][1] = Some(compressed.clone());
        compressed
    }

    fn render(&self, store: &Store, runtime: &RuntimeStatus, format: Format) -> Vec<u8> {
        let snapshots = store.snapshots();
        let own = EncodedSnapshot::encode(selfmetrics::collect(&store.statuses(), runtime));
        let mut parts: Vec<(&str, &EncodedSnapshot)> = Vec::with_capacity(snapshots.len() + 1);
        parts.push(("stack_exporter", &own));
        parts.extend(
            snapshots
                .iter()
                .map(|(name, snap)| (name.as_str(), snap.as_ref())),
        );
        // Roughly 100 bytes a series; a good guess saves the reallocations of a large body.
        let size_hint = snapshots.iter().map(|(_, s)| s.series()).sum::<usize>() * 100 + 16 * 1024;
        let mut body = Vec::with_capacity(size_hint);
        let conflicts = exposition::assemble(&parts, format, &mut body);
        let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
        let mut logged = self
            .logged_conflicts
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for c in &conflicts {
            *per_source.entry(c.source.clone()).or_default() += 1;
            if logged.insert((c.source.clone(), c.family.clone())) {
                tracing::warn!(
                    source = %c.source,
                    family = %c.family,
                    kept = %c.kept,
                    dropped = %c.dropped,
                    "metric family left out of /metrics: another source already serves it with a different type"
                );
            }
        }
        runtime.set_conflicts(per_source);
        body
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::model::{apply_source_labels, MetricFamily};
    use crate::scheduler::store::PollOutcome;
    use crate::scheduler::SourceStatus;
    use crate::sources::SourceKind;

    fn status(name: &str) -> SourceStatus {
        SourceStatus::pending(
            name,
            SourceKind::App,
            "",
            Duration::from_secs(15),
            Duration::from_secs(5),
        )
    }

    fn publish(store: &Store, id: u64, source: &str, mut families: Vec<MetricFamily>) {
        apply_source_labels(&mut families, source, &Default::default());
        store.publish(
            id,
            PollOutcome {
                finished: SystemTime::now(),
                duration: Duration::from_millis(1),
                result: Ok(()),
                snapshot: EncodedSnapshot::encode(families),
                remote: None,
                next_poll: SystemTime::now(),
                notes: Vec::new(),
                failing: Vec::new(),
                latency_threshold_resolved: None,
            },
        );
    }

    #[test]
    fn same_family_merges_and_a_type_conflict_drops_the_later_source() {
        let store = Store::new();
        store.set_sources(vec![(1, status("a")), (2, status("b")), (3, status("c"))]);
        publish(
            &store,
            1,
            "a",
            vec![MetricFamily::gauge("queue_depth", "Depth.").with_value(3.0)],
        );
        publish(
            &store,
            2,
            "b",
            vec![MetricFamily::gauge("queue_depth", "Depth.").with_value(4.0)],
        );
        publish(
            &store,
            3,
            "c",
            vec![MetricFamily::counter("queue_depth", "Not a gauge.").with_value(5.0)],
        );
        let runtime = RuntimeStatus::default();
        let cache = BodyCache::default();
        let body = cache.body(&store, &runtime, Format::Classic, false);
        let text = std::str::from_utf8(&body).unwrap();
        assert_eq!(
            text.matches("# TYPE queue_depth gauge").count(),
            1,
            "{text}"
        );
        assert!(text.contains("queue_depth{source=\"a\"} 3\n"), "{text}");
        assert!(text.contains("queue_depth{source=\"b\"} 4\n"), "{text}");
        assert!(!text.contains("source=\"c\"} 5"), "{text}");
        // The conflict shows up in the next render's self-metrics.
        std::thread::sleep(SELF_METRICS_MAX_AGE + Duration::from_millis(50));
        let body = cache.body(&store, &runtime, Format::Classic, false);
        let text = std::str::from_utf8(&body).unwrap();
        assert!(
            text.contains(
                "stack_exporter_source_series_dropped{source=\"c\",kind=\"app\",reason=\"type_conflict\"} 1\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn a_cached_body_is_reused_until_a_source_publishes() {
        let store = Store::new();
        store.set_sources(vec![(1, status("a"))]);
        publish(
            &store,
            1,
            "a",
            vec![MetricFamily::gauge("v", "V.").with_value(1.0)],
        );
        let runtime = RuntimeStatus::default();
        let cache = BodyCache::default();
        let first = cache.body(&store, &runtime, Format::Classic, false);
        let again = cache.body(&store, &runtime, Format::Classic, false);
        assert_eq!(
            first.as_ptr(),
            again.as_ptr(),
            "same bytes, not re-rendered"
        );
        publish(
            &store,
            1,
            "a",
            vec![MetricFamily::gauge("v", "V.").with_value(2.0)],
        );
        let after = cache.body(&store, &runtime, Format::Classic, false);
        assert!(std::str::from_utf8(&after)
            .unwrap()
            .contains("v{source=\"a\"} 2\n"));
        let gz = cache.body(&store, &runtime, Format::Classic, true);
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut plain)
            .unwrap();
        assert_eq!(plain.as_bytes(), &after[..]);
    }
}
