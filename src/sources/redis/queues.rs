//! Queue presets (`queues`): a job library's queue expanded into the keys that library
//! keeps it in, measured in one pipelined round trip for all presets, and reported as
//! `stack_queue_depth{queue,state,library}`.
//!
//! Every state of a preset is always reported: a key the library has not created yet
//! (an empty queue, a state never used) reads 0, since LLEN/ZCARD/HLEN answer 0 for a
//! missing key. That differs from `check_keys`, which leaves missing keys out: a
//! configured queue is known to exist, an arbitrary key is not.
//!
//! Presets read the URL's database. Libraries keep some sets for all queues together
//! (Sidekiq's retry/dead/schedule, Celery's unacked); those are reported once per
//! library with `queue="*"`.

use std::collections::BTreeMap;

use redis::Value;

use super::keys::int;
use super::RedisSource;
use crate::config::{QueueLibrary, QueuePreset};
use crate::model::{labels, MetricFamily};
use crate::sources::{QUEUE_DEPTH, QUEUE_DEPTH_HELP};

/// How a key is measured: the command for its Redis type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    List,
    Zset,
    Hash,
}

impl Kind {
    fn command(self) -> &'static str {
        match self {
            Kind::List => "LLEN",
            Kind::Zset => "ZCARD",
            Kind::Hash => "HLEN",
        }
    }
}

/// One key counted into one (queue, state) series; several keys may add up to one
/// series (Celery's priority lists).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Part {
    queue: String,
    state: &'static str,
    library: QueueLibrary,
    key: Vec<u8>,
    kind: Kind,
}

/// kombu's separator between a queue name and its priority step, and the default
/// steps (`PRIORITY_STEPS = [0, 3, 6, 9]`; step 0 is the bare queue name).
const KOMBU_SEP: &str = "\x06\x16";
const KOMBU_PRIORITY_STEPS: [u8; 3] = [3, 6, 9];

/// The keys of one preset. Layouts, from each library's source:
/// - BullMQ 5.x (`src/classes/queue-keys.ts`): `<prefix>:<name>:<type>`; lists `wait`,
///   `active`, `paused` (older releases: since its paused-key migration BullMQ keeps
///   a paused queue's jobs in `wait` and flags the queue in `meta`, so this key stays
///   empty), zsets `prioritized` (4.x+), `delayed`, `failed`, `waiting-children`.
///   `completed` is history, not depth, and is left out.
/// - Sidekiq 6.x/7.x (`lib/sidekiq/api.rb`): list `queue:<name>`; global zsets
///   `schedule`, `retry`, `dead`. A prefix is redis-namespace's `<prefix>:`.
/// - Celery with kombu 5.x's Redis transport (`kombu/transport/redis.py`): the list named
///   after the queue plus one list per priority step, `<name>\x06\x16<3|6|9>`; global
///   hash `unacked` (delivered to a worker, not yet acknowledged, prefetched messages
///   included). A prefix is kombu's `global_keyprefix`, prepended as is.
/// - RQ 1.x/2.x (`rq/queue.py`, `rq/registry.py`): list `rq:queue:<name>`; zsets
///   `rq:wip:<name>` (StartedJobRegistry), `rq:scheduled:<name>`, `rq:deferred:<name>`,
///   `rq:failed:<name>`.
fn parts(p: &QueuePreset) -> Vec<Part> {
    let part = |queue: &str, state, key: String, kind| Part {
        queue: queue.to_owned(),
        state,
        library: p.library,
        key: key.into_bytes(),
        kind,
    };
    let name = p.name.as_str();
    let prefix = p.prefix.as_str();
    match p.library {
        QueueLibrary::BullMq => {
            let key = |t: &str| format!("{prefix}:{name}:{t}");
            vec![
                part(name, "waiting", key("wait"), Kind::List),
                part(name, "active", key("active"), Kind::List),
                part(name, "paused", key("paused"), Kind::List),
                part(name, "prioritized", key("prioritized"), Kind::Zset),
                part(name, "delayed", key("delayed"), Kind::Zset),
                part(name, "failed", key("failed"), Kind::Zset),
                part(name, "deferred", key("waiting-children"), Kind::Zset),
            ]
        }
        QueueLibrary::Sidekiq => {
            let key = |k: &str| {
                if prefix.is_empty() {
                    k.to_owned()
                } else {
                    format!("{prefix}:{k}")
                }
            };
            vec![
                part(name, "waiting", key(&format!("queue:{name}")), Kind::List),
                part("*", "delayed", key("schedule"), Kind::Zset),
                part("*", "retry", key("retry"), Kind::Zset),
                part("*", "failed", key("dead"), Kind::Zset),
            ]
        }
        QueueLibrary::Celery => {
            let mut out = vec![part(name, "waiting", format!("{prefix}{name}"), Kind::List)];
            for step in KOMBU_PRIORITY_STEPS {
                out.push(part(
                    name,
                    "waiting",
                    format!("{prefix}{name}{KOMBU_SEP}{step}"),
                    Kind::List,
                ));
            }
            out.push(part("*", "active", format!("{prefix}unacked"), Kind::Hash));
            out
        }
        QueueLibrary::Rq => vec![
            part(name, "waiting", format!("rq:queue:{name}"), Kind::List),
            part(name, "active", format!("rq:wip:{name}"), Kind::Zset),
            part(name, "delayed", format!("rq:scheduled:{name}"), Kind::Zset),
            part(name, "deferred", format!("rq:deferred:{name}"), Kind::Zset),
            part(name, "failed", format!("rq:failed:{name}"), Kind::Zset),
        ],
    }
}

/// Measures every preset in one round trip; false when any key could not be measured
/// (its series is then left out).
pub(super) async fn collect(
    source: &mut RedisSource,
    presets: &[QueuePreset],
    out: &mut Vec<MetricFamily>,
) -> bool {
    let mut all: Vec<Part> = Vec::new();
    for p in presets {
        for part in parts(p) {
            // A global set named by several presets of one library is counted once.
            if !all.contains(&part) {
                all.push(part);
            }
        }
    }
    let commands = all
        .iter()
        .map(|p| {
            let mut c = redis::cmd(p.kind.command());
            c.arg(&p.key);
            c
        })
        .collect();
    let url_db = source.key_checks_url_db();
    let replies = match source.pipeline_in_db(url_db, commands).await {
        Ok(r) => r,
        Err(m) => {
            source.key_check_problem("queues", &m);
            return false;
        }
    };
    let mut ok = true;
    // (library, queue, state) → depth, or None once one of its keys failed.
    let mut depth: BTreeMap<(QueueLibrary, String, &'static str), Option<f64>> = BTreeMap::new();
    for (part, reply) in all.iter().zip(&replies) {
        let n = int(reply);
        if n.is_none() {
            ok = false;
            let why = match reply {
                Value::ServerError(e) => e.to_string(),
                _ => "an unexpected reply".to_owned(),
            };
            source.key_check_problem(
                "queues",
                &format!(
                    "{} queue `{}`: {} `{}`: {why}",
                    part.library.as_str(),
                    part.queue,
                    part.kind.command(),
                    String::from_utf8_lossy(&part.key)
                ),
            );
        }
        let slot = depth
            .entry((part.library, part.queue.clone(), part.state))
            .or_insert(Some(0.0));
        *slot = match (*slot, n) {
            (Some(sum), Some(n)) => Some(sum + n as f64),
            _ => None,
        };
    }
    let mut family = MetricFamily::gauge(QUEUE_DEPTH, QUEUE_DEPTH_HELP);
    for ((library, queue, state), value) in depth {
        if let Some(v) = value {
            family.push(
                labels(&[
                    ("queue", &queue),
                    ("state", state),
                    ("library", library.as_str()),
                ]),
                v,
            );
        }
    }
    out.push(family);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(library: QueueLibrary, name: &str, prefix: &str) -> QueuePreset {
        QueuePreset {
            library,
            name: name.to_owned(),
            prefix: prefix.to_owned(),
        }
    }

    fn keys(p: &QueuePreset) -> Vec<(String, &'static str, String)> {
        parts(p)
            .into_iter()
            .map(|x| {
                (
                    x.queue,
                    x.state,
                    String::from_utf8_lossy(&x.key).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn layouts() {
        let b = keys(&preset(QueueLibrary::BullMq, "emails", "bull"));
        assert!(b.contains(&("emails".into(), "waiting", "bull:emails:wait".into())));
        assert!(b.contains(&(
            "emails".into(),
            "deferred",
            "bull:emails:waiting-children".into()
        )));
        let s = keys(&preset(QueueLibrary::Sidekiq, "default", ""));
        assert!(s.contains(&("default".into(), "waiting", "queue:default".into())));
        assert!(s.contains(&("*".into(), "failed", "dead".into())));
        let s = keys(&preset(QueueLibrary::Sidekiq, "default", "myapp"));
        assert!(s.contains(&("*".into(), "retry", "myapp:retry".into())));
        assert!(s.contains(&("default".into(), "waiting", "myapp:queue:default".into())));
        let c = keys(&preset(QueueLibrary::Celery, "celery", ""));
        assert_eq!(c.iter().filter(|k| k.1 == "waiting").count(), 4);
        assert!(c.contains(&("celery".into(), "waiting", "celery\x06\x169".into())));
        assert!(c.contains(&("*".into(), "active", "unacked".into())));
        let r = keys(&preset(QueueLibrary::Rq, "high", ""));
        assert!(r.contains(&("high".into(), "active", "rq:wip:high".into())));
        assert!(r.contains(&("high".into(), "delayed", "rq:scheduled:high".into())));
    }
}
