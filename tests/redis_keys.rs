//! Redis key checks, stream checks and queue presets against a real Redis (Debian's
//! 7.0), with key layouts written by redis-cli exactly as each library writes them.

mod common;

use common::{once_ok, samples, value, Samples};

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{ExporterProcess, TempRedis};
use stack_exporter::config::{load_str, Env, QueueLibrary};

fn count(s: &Samples, name: &str) -> usize {
    s.iter().filter(|(n, _, _)| n == name).count()
}

/// Feeds `script` to redis-cli on stdin, one command per line: unlike arguments, lines
/// are split the way redis-cli splits typed input, so `"a\x06\x163"` is a binary key.
fn cli_script(redis: &TempRedis, script: &str) {
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &redis.port().to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && !text.contains("ERR"),
        "redis-cli script failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn source(redis: &TempRedis, url_suffix: &str, extra: &str) -> String {
    format!(
        "defaults: {{ interval: 5s, timeout: 4s }}\nredis:\n  - name: cache\n    url: \"{}{url_suffix}\"\n{extra}",
        redis.url()
    )
}

fn fill_every_type(redis: &TempRedis) {
    cli_script(
        redis,
        "RPUSH jobs a b c\n\
         SADD tags x y\n\
         ZADD board 1 a 2 b 3 c 4 d\n\
         HSET user name ann age 3\n\
         SET greeting hello\n\
         SET counter 42\n\
         SET big 12345678901234567890123456789012345678901234567890123456789012345678901234567890\n\
         XADD log * k 1\nXADD log * k 2\nXADD log * k 3\n\
         SELECT 2\n\
         RPUSH jobs 1 2 3 4 5 6 7\n\
         HSET settings a 1\n\
         SET q:1 one\nSET q:2 two\nRPUSH q:3 x\n",
    );
}

#[test]
fn exact_keys_of_every_type_in_two_databases_and_missing_keys() {
    let redis = TempRedis::start();
    fill_every_type(&redis);
    let checks = "    check_keys: [jobs, tags, board, user, greeting, counter, big, log, missing, \"2:jobs\", \"2:settings\", \"2:nope\", \"2:q:*\"]\n";
    let s = samples(&once_ok(&source(&redis, "", checks)));
    let size = |db: &str, key: &str| value(&s, "redis_key_size", &[("db", db), ("key", key)]);
    assert_eq!(size("db0", "jobs"), Some(3.0));
    assert_eq!(size("db0", "tags"), Some(2.0));
    assert_eq!(size("db0", "board"), Some(4.0));
    assert_eq!(size("db0", "user"), Some(2.0));
    assert_eq!(size("db0", "greeting"), Some(5.0));
    assert_eq!(size("db0", "counter"), Some(2.0));
    assert_eq!(size("db0", "big"), Some(80.0));
    assert_eq!(size("db0", "log"), Some(3.0));
    assert_eq!(size("db2", "jobs"), Some(7.0));
    assert_eq!(size("db2", "settings"), Some(1.0));
    assert_eq!(size("db2", "q:1"), Some(3.0));
    assert_eq!(size("db2", "q:2"), Some(3.0));
    assert_eq!(size("db2", "q:3"), Some(1.0));
    // Missing keys are left out by default.
    assert_eq!(size("db0", "missing"), None);
    assert_eq!(size("db2", "nope"), None);
    assert_eq!(count(&s, "redis_key_size"), 13);
    // Only short numeric strings have a value.
    assert_eq!(
        value(&s, "redis_key_value", &[("db", "db0"), ("key", "counter")]),
        Some(42.0)
    );
    assert_eq!(count(&s, "redis_key_value"), 1);
    let keys = [("collector", "keys")];
    assert_eq!(
        value(&s, "redis_scrape_collector_success", &keys),
        Some(1.0)
    );
    assert_eq!(value(&s, "redis_key_checks_truncated", &keys), Some(0.0));
    assert_eq!(value(&s, "redis_key_checks_keys", &keys), Some(13.0));
    assert!(value(&s, "redis_scrape_collector_duration_seconds", &keys).is_some());
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0));

    let with_missing = format!("{checks}    key_checks: {{ report_missing: true }}\n");
    let s = samples(&once_ok(&source(&redis, "", &with_missing)));
    let size = |db: &str, key: &str| value(&s, "redis_key_size", &[("db", db), ("key", key)]);
    assert_eq!(size("db0", "missing"), Some(0.0));
    assert_eq!(size("db2", "nope"), Some(0.0));
    assert_eq!(size("db0", "jobs"), Some(3.0));
}

/// The shared connection is left in the URL's database: CLIENT LIST shows it there
/// after polls that measured db 0 and db 2, and the queue presets (which read the URL's
/// database without SELECT) keep seeing the right keys.
#[test]
fn the_shared_connection_stays_in_the_urls_database() {
    let redis = TempRedis::start();
    fill_every_type(&redis);
    cli_script(
        &redis,
        "SELECT 3\nRPUSH rq:queue:high j1 j2\nRPUSH jobs z\n",
    );
    let yaml = format!(
        "defaults: {{ interval: 1s, timeout: 1s }}\nredis:\n  - name: cache\n    url: \"{}/3\"\n    check_keys: [\"0:jobs\", \"2:jobs\", \"2:q:*\", \"3:jobs\"]\n    queues: [{{ library: rq, name: high }}]\n",
        redis.url()
    );
    let exporter = ExporterProcess::start(&yaml, &[]);
    common::wait_until(Duration::from_secs(15), "three polls", || {
        let s = samples(&exporter.get("/metrics").text());
        value(
            &s,
            "stack_exporter_source_polls_total",
            &[("source", "cache")],
        )
        .is_some_and(|n| n >= 3.0)
    });
    let s = samples(&exporter.get("/metrics").text());
    let size = |db: &str, key: &str| value(&s, "redis_key_size", &[("db", db), ("key", key)]);
    assert_eq!(size("db0", "jobs"), Some(3.0));
    assert_eq!(size("db2", "jobs"), Some(7.0));
    assert_eq!(size("db3", "jobs"), Some(1.0));
    let waiting = [("queue", "high"), ("state", "waiting"), ("library", "rq")];
    assert_eq!(value(&s, "stack_queue_depth", &waiting), Some(2.0));
    let clients = redis.cli(&["CLIENT", "LIST"]);
    let ours: Vec<&str> = clients
        .lines()
        .filter(|l| l.contains("name=stack_exporter"))
        .collect();
    assert_eq!(ours.len(), 1, "{clients}");
    assert!(ours[0].contains(" db=3 "), "{clients}");
}

#[test]
fn a_pattern_over_100k_keys_is_cut_at_max_keys_and_at_the_time_budget() {
    let redis = TempRedis::start_with_args(&["--enable-debug-command", "yes"]);
    redis.cli(&["DEBUG", "POPULATE", "100000", "k:", "10"]);
    assert_eq!(redis.cli(&["DBSIZE"]), "100000");

    // Bounded by max_keys.
    let s = samples(&once_ok(&source(
        &redis,
        "",
        "    check_keys: [\"k:*\"]\n    key_checks: { max_keys: 500, scan_count: 100 }\n",
    )));
    assert_eq!(count(&s, "redis_key_size"), 500);
    let keys = [("collector", "keys")];
    assert_eq!(value(&s, "redis_key_checks_truncated", &keys), Some(1.0));
    assert_eq!(value(&s, "redis_key_checks_keys", &keys), Some(500.0));
    assert_eq!(
        value(&s, "redis_scrape_collector_success", &keys),
        Some(1.0)
    );

    // Bounded by time: 100000 allowed keys at 10 per SCAN would take thousands of round
    // trips; the budget stops it, the poll succeeds and /metrics answers.
    let yaml = format!(
        "defaults: {{ interval: 2s, timeout: 2s }}\nredis:\n  - name: cache\n    url: \"{}\"\n    check_keys: [\"k:*\"]\n    key_checks: {{ max_keys: 100000, scan_count: 10, time_budget: 200ms }}\n",
        redis.url()
    );
    let exporter = ExporterProcess::start(&yaml, &[]);
    common::wait_until(Duration::from_secs(15), "a poll", || {
        let s = samples(&exporter.get("/metrics").text());
        value(&s, "redis_key_checks_truncated", &keys).is_some()
    });
    let body = exporter.get("/metrics").text();
    let s = samples(&body);
    assert_eq!(value(&s, "redis_key_checks_truncated", &keys), Some(1.0));
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0));
    let measured = value(&s, "redis_key_checks_keys", &keys).unwrap_or_default();
    assert!(measured > 0.0 && measured < 100_000.0, "{measured}");
    let poll = value(
        &s,
        "stack_exporter_source_poll_duration_seconds",
        &[("source", "cache")],
    )
    .expect("poll duration");
    // The budget plus one round trip in flight and the rest of the poll.
    assert!(poll < 0.2 + 0.5, "poll took {poll}s");
    assert!(
        exporter.logs().contains("key checks stopped at max_keys"),
        "{}",
        exporter.logs()
    );
}

#[test]
fn streams_with_two_consumer_groups() {
    let redis = TempRedis::start();
    cli_script(
        &redis,
        "XADD events 1700000000000-0 n 1\nXADD events 1700000000001-0 n 2\n\
         XADD events 1700000000002-0 n 3\nXADD events 1700000000003-0 n 4\n\
         XADD events 1700000000004-0 n 5\n\
         XGROUP CREATE events workers 0\n\
         XREADGROUP GROUP workers w1 COUNT 2 STREAMS events >\n\
         XGROUP CREATE events audit $ ENTRIESREAD 5\n\
         XGROUP CREATECONSUMER events audit a1\nXGROUP CREATECONSUMER events audit a2\n\
         XADD events 1700000000005-0 n 6\n\
         XGROUP CREATE events late $\nXADD events 1700000000006-0 n 7\n\
         XADD orders:eu * n 1\nXADD orders:us * n 1\nXADD orders:us * n 2\n\
         SET orders:note not-a-stream\n\
         SELECT 1\nXADD ev1 * n 1\n",
    );
    let s = samples(&once_ok(&source(
        &redis,
        "",
        "    check_streams: [events, \"orders:*\", \"1:ev1\", gone]\n",
    )));
    let st = |name: &str, stream: &str| value(&s, name, &[("db", "db0"), ("stream", stream)]);
    assert_eq!(st("redis_stream_length", "events"), Some(7.0));
    assert_eq!(st("redis_stream_groups", "events"), Some(3.0));
    assert_eq!(
        st("redis_stream_last_generated_id", "events"),
        Some(1_700_000_000_006.0)
    );
    assert_eq!(
        st("redis_stream_first_entry_id", "events"),
        Some(1_700_000_000_000.0)
    );
    assert_eq!(st("redis_stream_entries_added_total", "events"), Some(7.0));
    let g = |name: &str, group: &str| {
        value(
            &s,
            name,
            &[("db", "db0"), ("stream", "events"), ("group", group)],
        )
    };
    assert_eq!(g("redis_stream_group_consumers", "workers"), Some(1.0));
    assert_eq!(
        g("redis_stream_group_messages_pending", "workers"),
        Some(2.0)
    );
    assert_eq!(g("redis_stream_group_lag", "workers"), Some(5.0));
    assert_eq!(g("redis_stream_group_entries_read", "workers"), Some(2.0));
    assert_eq!(
        g("redis_stream_group_last_delivered_id", "workers"),
        Some(1_700_000_000_001.0)
    );
    assert_eq!(g("redis_stream_group_consumers", "audit"), Some(2.0));
    assert_eq!(g("redis_stream_group_messages_pending", "audit"), Some(0.0));
    assert_eq!(g("redis_stream_group_lag", "audit"), Some(2.0));
    // Created at `$` without ENTRIESREAD, Redis 7.0 cannot tell a group's lag: left out.
    assert_eq!(g("redis_stream_group_lag", "late"), None);
    assert_eq!(g("redis_stream_group_consumers", "late"), Some(0.0));
    assert_eq!(st("redis_stream_length", "orders:eu"), Some(1.0));
    assert_eq!(st("redis_stream_length", "orders:us"), Some(2.0));
    // SCAN ... TYPE stream skips the string that matches the pattern.
    assert_eq!(st("redis_stream_length", "orders:note"), None);
    assert_eq!(
        value(
            &s,
            "redis_stream_length",
            &[("db", "db1"), ("stream", "ev1")]
        ),
        Some(1.0)
    );
    assert_eq!(count(&s, "redis_stream_length"), 4);
    let streams = [("collector", "streams")];
    assert_eq!(
        value(&s, "redis_scrape_collector_success", &streams),
        Some(1.0)
    );
    assert_eq!(value(&s, "redis_key_checks_keys", &streams), Some(4.0));

    // A key that is not a stream is a problem of the streams collector only.
    let s = samples(&once_ok(&source(
        &redis,
        "",
        "    check_streams: [events, \"orders:note\"]\n",
    )));
    assert_eq!(
        value(&s, "redis_scrape_collector_success", &streams),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "redis_stream_length",
            &[("db", "db0"), ("stream", "events")]
        ),
        Some(7.0)
    );
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0));
}

#[test]
fn queue_presets_read_each_librarys_layout() {
    let redis = TempRedis::start();
    cli_script(
        &redis,
        // BullMQ 5: job hashes, id counter, meta hash, and the state lists and zsets.
        "HSET bull:emails:meta opts.maxLenEvents 10000 version bullmq:5.12.0\n\
         SET bull:emails:id 12\n\
         LPUSH bull:emails:wait 9 8 7\n\
         LPUSH bull:emails:active 6\n\
         ZADD bull:emails:delayed 1700000000000 5 1700000001000 4\n\
         ZADD bull:emails:prioritized 2 3\n\
         ZADD bull:emails:failed 1700000000000 2\n\
         ZADD bull:emails:completed 1700000000000 1 1700000000000 10 1700000000000 11\n\
         ZADD bull:emails:waiting-children 1700000000000 12\n\
         LPUSH myapp:reports:wait 1 2\n\
         SADD queues default mailers\n\
         LPUSH queue:default \"{\\\"jid\\\":\\\"a\\\"}\" \"{\\\"jid\\\":\\\"b\\\"}\"\n\
         ZADD schedule 1700000000 \"{\\\"jid\\\":\\\"c\\\"}\"\n\
         ZADD retry 1700000000 \"{\\\"jid\\\":\\\"d\\\"}\" 1700000001 \"{\\\"jid\\\":\\\"e\\\"}\"\n\
         ZADD dead 1700000000 \"{\\\"jid\\\":\\\"f\\\"}\"\n\
         LPUSH celery m1 m2 m3\n\
         LPUSH \"celery\\x06\\x163\" m4\n\
         LPUSH \"celery\\x06\\x169\" m5 m6\n\
         HSET unacked tag1 m7 tag2 m8\n\
         ZADD unacked_index 1700000000 tag1 1700000000 tag2\n\
         SADD rq:queues rq:queue:high\n\
         RPUSH rq:queue:high j1 j2 j3 j4\n\
         HSET rq:job:j1 status queued\n\
         ZADD rq:wip:high 1700000000 j5:exec1\n\
         ZADD rq:scheduled:high 1700000000 j6\n\
         ZADD rq:deferred:high 1700000000 j7 1700000000 j8\n\
         ZADD rq:failed:high 1700000000 j9\n",
    );
    let yaml = source(
        &redis,
        "",
        "    queues:\n\
         \x20     - { library: bullmq, name: emails }\n\
         \x20     - { library: bullmq, name: reports, prefix: myapp }\n\
         \x20     - { library: sidekiq, name: default }\n\
         \x20     - { library: sidekiq, name: mailers }\n\
         \x20     - { library: celery, name: celery }\n\
         \x20     - { library: rq, name: high }\n",
    );
    let exporter = ExporterProcess::start(&yaml, &[]);
    common::wait_until(Duration::from_secs(15), "a poll", || {
        exporter
            .get("/metrics")
            .text()
            .contains("stack_queue_depth")
    });
    let body = exporter.get("/metrics").text();
    let s = samples(&body);
    let depth = |library: &str, queue: &str, state: &str| {
        value(
            &s,
            "stack_queue_depth",
            &[("library", library), ("queue", queue), ("state", state)],
        )
    };
    for (state, want) in [
        ("waiting", 3.0),
        ("active", 1.0),
        ("paused", 0.0),
        ("prioritized", 1.0),
        ("delayed", 2.0),
        ("failed", 1.0),
        ("deferred", 1.0),
    ] {
        assert_eq!(
            depth("bullmq", "emails", state),
            Some(want),
            "bullmq {state}"
        );
    }
    assert_eq!(depth("bullmq", "reports", "waiting"), Some(2.0));
    assert_eq!(depth("bullmq", "reports", "failed"), Some(0.0));
    assert_eq!(depth("sidekiq", "default", "waiting"), Some(2.0));
    // A configured queue without keys reads 0.
    assert_eq!(depth("sidekiq", "mailers", "waiting"), Some(0.0));
    assert_eq!(depth("sidekiq", "*", "delayed"), Some(1.0));
    assert_eq!(depth("sidekiq", "*", "retry"), Some(2.0));
    assert_eq!(depth("sidekiq", "*", "failed"), Some(1.0));
    // The bare list and the priority lists together.
    assert_eq!(depth("celery", "celery", "waiting"), Some(6.0));
    assert_eq!(depth("celery", "*", "active"), Some(2.0));
    for (state, want) in [
        ("waiting", 4.0),
        ("active", 1.0),
        ("delayed", 1.0),
        ("deferred", 2.0),
        ("failed", 1.0),
    ] {
        assert_eq!(depth("rq", "high", state), Some(want), "rq {state}");
    }
    // 7 + 7 BullMQ, 2 + 3 Sidekiq (+ 3 global), 1 + 1 Celery, 5 RQ.
    assert_eq!(count(&s, "stack_queue_depth"), 7 + 7 + 2 + 3 + 2 + 5);
    assert!(s.iter().all(|(n, l, _)| n != "stack_queue_depth"
        || l.get("source").map(String::as_str) == Some("cache")));
    assert_eq!(
        value(
            &s,
            "redis_scrape_collector_success",
            &[("collector", "queues")]
        ),
        Some(1.0)
    );
    let findings: Vec<String> = common::promtool_findings(&body)
        .into_iter()
        .filter(|f| f.contains("queue") || f.contains("redis_"))
        .collect();
    assert!(findings.is_empty(), "{findings:#?}");

    // A key of the wrong type fails the queues collector alone; the rest is served.
    redis.cli(&["DEL", "queue:default"]);
    redis.cli(&["SET", "queue:default", "oops"]);
    let s = samples(&once_ok(&yaml));
    assert_eq!(
        value(
            &s,
            "redis_scrape_collector_success",
            &[("collector", "queues")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &s,
            "stack_queue_depth",
            &[
                ("library", "sidekiq"),
                ("queue", "default"),
                ("state", "waiting")
            ]
        ),
        None
    );
    assert_eq!(
        value(
            &s,
            "stack_queue_depth",
            &[("library", "rq"), ("queue", "high"), ("state", "waiting")]
        ),
        Some(4.0)
    );
    assert_eq!(value(&s, "redis_up", &[]), Some(1.0));
}

#[test]
fn every_new_name_passes_promtool() {
    let redis = TempRedis::start();
    fill_every_type(&redis);
    cli_script(
        &redis,
        "XGROUP CREATE log g 0\nLPUSH bull:q:wait 1\nLPUSH queue:default x\n",
    );
    let body = once_ok(&source(
        &redis,
        "",
        "    check_keys: [jobs, counter, \"2:q:*\"]\n    check_streams: [log]\n    queues: [{ library: bullmq, name: q }, { library: sidekiq, name: default }]\n",
    ));
    for name in [
        "redis_key_size",
        "redis_key_value",
        "redis_stream_group_lag",
        "stack_queue_depth",
        "redis_scrape_collector_success",
        "redis_key_checks_truncated",
    ] {
        assert!(
            body.contains(&format!("\n{name}{{")),
            "{name} missing:\n{body}"
        );
    }
    let findings = common::promtool_findings(&body);
    assert!(findings.is_empty(), "{findings:#?}");
}

fn config_errors(yaml: &str) -> Vec<String> {
    match load_str(yaml, Some(Path::new("c.yml")), &Env::empty()) {
        Ok(c) => panic!("expected errors, got {c:#?}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn config_is_validated_with_locations() {
    let base = "redis:\n  - name: cache\n    url: redis://127.0.0.1:6379\n    timeout: 2s\n";
    let c = load_str(
        &format!("{base}    check_keys: [\"3:queue:*\", jobs]\n    check_streams: [events]\n    key_checks: {{ max_keys: 50, time_budget: 500ms }}\n    queues: [{{ library: BullMQ, name: emails }}, {{ library: celery, name: celery, prefix: \"app-\" }}]\n"),
        Some(Path::new("c.yml")),
        &Env::empty(),
    )
    .unwrap();
    let k = &c.redis[0].key_checks;
    assert_eq!(
        (k.keys[0].db, k.keys[0].key.as_str(), k.keys[0].pattern),
        (3, "queue:*", true)
    );
    assert!(!k.keys[1].pattern);
    assert_eq!(k.options.max_keys, 50);
    assert_eq!(k.options.scan_count, 1000);
    assert_eq!(k.options.time_budget, Duration::from_millis(500));
    assert_eq!(k.queues[0].library, QueueLibrary::BullMq);
    assert_eq!(k.queues[0].prefix, "bull");
    assert_eq!(k.queues[1].prefix, "app-");
    let yaml = c.to_redacted_yaml();
    assert!(
        yaml.contains("check_keys:\n  - 3:queue:*\n  - jobs"),
        "{yaml}"
    );
    assert!(yaml.contains("time_budget: 500ms"), "{yaml}");
    assert!(yaml.contains("library: bullmq"), "{yaml}");

    // The default budget never exceeds a shorter source timeout.
    let c = load_str(
        "redis:\n  - name: c\n    url: redis://h\n    timeout: 300ms\n    check_keys: [a]\n",
        None,
        &Env::empty(),
    )
    .unwrap();
    assert_eq!(
        c.redis[0].key_checks.options.time_budget,
        Duration::from_millis(300)
    );

    let errs = config_errors(&format!(
        "{base}    check_keys: [\"3:\", jobs, jobs]\n    key_checks: {{ max_keys: 0, scan_count: 200000, time_budget: 3s }}\n    queues:\n      - {{ library: resque, name: a }}\n      - {{ library: rq, name: a, prefix: x }}\n      - {{ library: sidekiq, name: a }}\n      - {{ library: sidekiq, name: b, prefix: ns }}\n      - {{ library: sidekiq, name: a }}\n      - {{ library: bullmq, name: \"\" }}\n"
    ));
    let expect = [
        "redis[0].check_keys[0]: `3:` names no key at c.yml:5",
        "redis[0].check_keys[2]: `jobs` is listed twice",
        "redis[0].key_checks.max_keys: max_keys 0 is out of range at c.yml:6",
        "redis[0].key_checks.scan_count: scan_count 200000 is out of range",
        "redis[0].key_checks.time_budget: time_budget 3s is longer than the source's timeout 2s",
        "redis[0].queues[0].library: unknown queue library `resque` at c.yml:8",
        "redis[0].queues[1].prefix: rq has no key prefix setting",
        "redis[0].queues[3].prefix: all sidekiq queues of one source must share one prefix",
        "redis[0].queues[4].name: sidekiq queue `a` is listed twice",
        "redis[0].queues[5].name: queue name must not be empty",
    ];
    for want in expect {
        assert!(
            errs.iter().any(|e| e.starts_with(want)),
            "missing {want:?} in {errs:#?}"
        );
    }
    assert_eq!(errs.len(), expect.len(), "{errs:#?}");

    // Unknown keys are rejected as everywhere else.
    let errs = config_errors(&format!("{base}    key_checks: {{ max_key: 5 }}\n"));
    assert!(errs[0].contains("max_key"), "{errs:#?}");
}
