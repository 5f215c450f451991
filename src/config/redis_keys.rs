//! The validated key, stream and queue checks of a Redis source (`check_keys`,
//! `check_streams`, `key_checks`, `queues`). Kept apart from `mod.rs` so the Redis
//! source's other settings can grow without touching these.

use std::time::Duration;

/// Everything a Redis source measures key by key. `Default` is "nothing configured".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RedisKeyChecks {
    /// `check_keys`: keys or glob patterns whose size is reported.
    pub keys: Vec<KeyRef>,
    /// `check_streams`: stream keys or patterns whose consumer groups are reported.
    pub streams: Vec<KeyRef>,
    pub options: KeyCheckOptions,
    /// `queues`: job-queue library presets.
    pub queues: Vec<QueuePreset>,
}

impl RedisKeyChecks {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.streams.is_empty() && self.queues.is_empty()
    }
}

/// One `check_keys` / `check_streams` entry: `[<db>:]<key or pattern>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub db: u32,
    /// The key, or a SCAN MATCH pattern when `pattern` is true (kept as written,
    /// backslash escapes included, since SCAN interprets them).
    pub key: String,
    pub pattern: bool,
}

impl KeyRef {
    /// Parses an entry. A leading run of digits followed by `:` is the database; every
    /// other key is in db 0, so a db-0 key that starts with digits and `:` is written
    /// with an explicit `0:` in front. A key with an unescaped `*`, `?` or `[` is a
    /// pattern, as SCAN MATCH would read it.
    pub fn parse(text: &str) -> Result<KeyRef, String> {
        let (db, key) = match text.split_once(':') {
            Some((digits, rest))
                if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) =>
            {
                let db = digits
                    .parse::<u32>()
                    .map_err(|_| format!("database number `{digits}` in `{text}` is too large"))?;
                (db, rest)
            }
            _ => (0, text),
        };
        if key.is_empty() {
            return Err(format!("`{text}` names no key"));
        }
        Ok(KeyRef {
            db,
            key: key.to_owned(),
            pattern: is_glob(key),
        })
    }

    /// As written in the config (`3:queue:*`), for `--check-config`.
    pub fn to_config_text(&self) -> String {
        let ambiguous = self
            .key
            .split_once(':')
            .is_some_and(|(d, _)| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        if self.db == 0 && !ambiguous {
            self.key.clone()
        } else {
            format!("{}:{}", self.db, self.key)
        }
    }
}

/// True when SCAN MATCH would treat `key` as a pattern rather than a literal.
fn is_glob(key: &str) -> bool {
    let mut escaped = false;
    for c in key.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Bounds on key and stream checks, per poll.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCheckOptions {
    /// At most this many keys (and, separately, this many streams) are measured.
    pub max_keys: usize,
    /// The COUNT hint of each SCAN.
    pub scan_count: usize,
    /// Pattern expansion and measuring stop after this long.
    pub time_budget: Duration,
    /// Exact keys that do not exist are reported as size 0 instead of left out.
    pub report_missing: bool,
}

impl Default for KeyCheckOptions {
    fn default() -> Self {
        KeyCheckOptions {
            max_keys: 1000,
            scan_count: 1000,
            time_budget: Duration::from_secs(1),
            report_missing: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueueLibrary {
    BullMq,
    Sidekiq,
    Celery,
    Rq,
}

impl QueueLibrary {
    pub const ALL: [QueueLibrary; 4] = [
        QueueLibrary::BullMq,
        QueueLibrary::Sidekiq,
        QueueLibrary::Celery,
        QueueLibrary::Rq,
    ];

    /// The config spelling and the `library` label.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueLibrary::BullMq => "bullmq",
            QueueLibrary::Sidekiq => "sidekiq",
            QueueLibrary::Celery => "celery",
            QueueLibrary::Rq => "rq",
        }
    }

    /// The key prefix the library uses unless configured otherwise.
    pub fn default_prefix(self) -> &'static str {
        match self {
            QueueLibrary::BullMq => "bull",
            QueueLibrary::Sidekiq | QueueLibrary::Celery | QueueLibrary::Rq => "",
        }
    }
}

/// A queue of a job library, expanded into that library's keys by the Redis source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePreset {
    pub library: QueueLibrary,
    pub name: String,
    /// The effective key prefix (the library's default applied); empty for none.
    pub prefix: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_prefix_and_patterns() {
        let k = KeyRef::parse("1:bull:*:wait").unwrap();
        assert_eq!((k.db, k.key.as_str(), k.pattern), (1, "bull:*:wait", true));
        let k = KeyRef::parse("queue:default").unwrap();
        assert_eq!(
            (k.db, k.key.as_str(), k.pattern),
            (0, "queue:default", false)
        );
        let k = KeyRef::parse("jobs").unwrap();
        assert_eq!((k.db, k.pattern), (0, false));
        let k = KeyRef::parse(r"0:12:lit\*eral").unwrap();
        assert_eq!(
            (k.db, k.key.as_str(), k.pattern),
            (0, r"12:lit\*eral", false)
        );
        assert_eq!(k.to_config_text(), r"0:12:lit\*eral");
        assert!(KeyRef::parse("a?c").unwrap().pattern);
        assert!(KeyRef::parse("a[bc]").unwrap().pattern);
        assert!(KeyRef::parse("3:").is_err());
        assert!(KeyRef::parse("").is_err());
        assert!(KeyRef::parse("99999999999:x").is_err());
        assert_eq!(KeyRef::parse("2:x").unwrap().to_config_text(), "2:x");
        assert_eq!(KeyRef::parse("x").unwrap().to_config_text(), "x");
    }
}
