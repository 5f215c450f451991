//! Keeping secrets out of logs, labels, the status page and error messages.
//!
//! Two layers: URLs are displayed with their password replaced (`redact_url`), and any
//! free text that may echo a secret (driver errors) goes through a `Scrubber` that knows
//! every secret value of the running config, raw and percent-decoded.

use std::sync::{Arc, RwLock};

pub const MASK: &str = "***";

/// Query parameters that carry credentials (libpq's `password`, API tokens in probe URLs).
fn is_secret_param(key: &str) -> bool {
    const SECRET_PARAMS: [&str; 12] = [
        "password",
        "pass",
        "passwd",
        "pwd",
        "sslpassword",
        "secret",
        "token",
        "access_token",
        "auth",
        "api_key",
        "apikey",
        "key",
    ];
    SECRET_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p))
}

/// The URL with any password (userinfo or a credential query parameter) replaced by
/// `***`. Text that does not parse as a URL is still scrubbed of a `user:password@` part.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return redact_userinfo(raw);
    };
    let secret_query = url.query_pairs().any(|(k, _)| is_secret_param(&k));
    if url.password().is_none() && !secret_query {
        return raw.to_owned();
    }
    if url.password().is_some() && url.set_password(Some(MASK)).is_err() {
        return redact_userinfo(raw);
    }
    if secret_query {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_param(&k) {
                    MASK.to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

/// The password of a URL, percent-decoded, if it has one.
pub fn url_password(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw).ok()?;
    let password = url.password()?;
    Some(percent_decode(password))
}

/// Every credential a URL carries: its password and secret query parameters, decoded.
pub fn url_secrets(raw: &str) -> Vec<String> {
    let Ok(url) = url::Url::parse(raw) else {
        return Vec::new();
    };
    let mut out: Vec<String> = url_password(raw).into_iter().collect();
    out.extend(
        url.query_pairs()
            .filter(|(k, _)| is_secret_param(k))
            .map(|(_, v)| v.into_owned()),
    );
    out
}

pub(crate) fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

/// Replaces `scheme://user:secret@` with `scheme://user:***@` anywhere in `text`.
pub fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..colon + 1]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Scrubs known secret values out of free text. Cloning shares the secret list, so a
/// config reload that calls `set_secrets` reaches every holder.
#[derive(Clone, Default)]
pub struct Scrubber {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Scrubber {
    pub fn new(secrets: Vec<String>) -> Self {
        let s = Scrubber::default();
        s.set_secrets(secrets);
        s
    }

    pub fn set_secrets(&self, secrets: Vec<String>) {
        let mut all: Vec<String> = Vec::new();
        for secret in secrets {
            // Too short to scrub without mangling ordinary text; such a secret is weak anyway.
            if secret.len() < 3 {
                continue;
            }
            let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
            if encoded != secret {
                all.push(encoded);
            }
            all.push(secret);
        }
        // Longest first so that a secret containing another is masked whole.
        all.sort_by_key(|s| std::cmp::Reverse(s.len()));
        all.dedup();
        match self.secrets.write() {
            Ok(mut guard) => *guard = all,
            Err(poisoned) => *poisoned.into_inner() = all,
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = redact_userinfo(text);
        let guard = match self.secrets.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        for secret in guard.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_is_masked() {
        assert_eq!(
            redact_url("postgresql://app:s3cr%40t@db:5432/app?sslmode=require"),
            "postgresql://app:***@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("redis://:hunter2@h:1"), "redis://:***@h:1");
    }

    #[test]
    fn unparsable_url_is_still_masked() {
        assert_eq!(
            redact_userinfo("failed: postgres://u:p4ss@[bad/x and more"),
            "failed: postgres://u:***@[bad/x and more"
        );
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        let r = redact_url("postgresql://app@db/app?sslmode=require&password=hunter%212");
        assert!(!r.contains("hunter"), "{r}");
        assert!(r.contains("sslmode=require"), "{r}");
        assert!(
            r.contains("password=***") || r.contains("password=%2A%2A%2A"),
            "{r}"
        );
        assert_eq!(
            url_secrets("http://u:p1@h/health?token=t0k&x=1"),
            vec!["p1".to_owned(), "t0k".to_owned()]
        );
    }

    #[test]
    fn password_is_decoded() {
        assert_eq!(url_password("redis://u:a%2Fb@h").as_deref(), Some("a/b"));
        assert_eq!(url_password("redis://h"), None);
    }

    #[test]
    fn scrubber_masks_raw_and_encoded_forms() {
        let s = Scrubber::new(vec!["p@ss/word".into()]);
        assert_eq!(s.scrub("auth p@ss/word failed"), "auth *** failed");
        assert_eq!(s.scrub("x p%40ss%2Fword y"), "x *** y");
    }
}
