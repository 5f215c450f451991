//! Basic and bearer authentication for `/metrics` and the status page.

use base64::Engine;

use crate::config::HttpAuth;

/// Whether the request's `Authorization` header satisfies `auth`.
pub fn authorized(auth: &HttpAuth, header: Option<&[u8]>) -> bool {
    let Some(header) = header.and_then(|h| std::str::from_utf8(h).ok()) else {
        return false;
    };
    let Some((scheme, credentials)) = header.trim().split_once(' ') else {
        return false;
    };
    let credentials = credentials.trim();
    match auth {
        HttpAuth::Basic { username, password } => {
            if !scheme.eq_ignore_ascii_case("basic") {
                return false;
            }
            let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(credentials) else {
                return false;
            };
            let expected = format!("{username}:{}", password.expose());
            constant_time_eq(&decoded, expected.as_bytes())
        }
        HttpAuth::Bearer { token } => {
            scheme.eq_ignore_ascii_case("bearer")
                && constant_time_eq(credentials.as_bytes(), token.expose().as_bytes())
        }
    }
}

/// The challenge sent with a 401, so browsers and curl know what to offer.
pub fn challenge(auth: &HttpAuth) -> &'static str {
    match auth {
        HttpAuth::Basic { .. } => "Basic realm=\"stack_exporter\", charset=\"UTF-8\"",
        HttpAuth::Bearer { .. } => "Bearer realm=\"stack_exporter\"",
    }
}

/// Compares without an early exit on the first differing byte, so response timing does
/// not reveal how much of a guessed secret was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn basic() -> HttpAuth {
        HttpAuth::Basic {
            username: "prom".into(),
            password: Secret::new("s3cret".to_owned()),
        }
    }

    #[test]
    fn basic_auth() {
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("prom:s3cret")
        );
        let bad = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("prom:s3cre")
        );
        assert!(authorized(&basic(), Some(good.as_bytes())));
        assert!(!authorized(&basic(), Some(bad.as_bytes())));
        assert!(!authorized(&basic(), Some(b"Basic !!!notbase64")));
        assert!(!authorized(&basic(), Some(b"Bearer s3cret")));
        assert!(!authorized(&basic(), None));
    }

    #[test]
    fn bearer_auth() {
        let auth = HttpAuth::Bearer {
            token: Secret::new("tok".to_owned()),
        };
        assert!(authorized(&auth, Some(b"Bearer tok")));
        assert!(authorized(&auth, Some(b"bearer tok")));
        assert!(!authorized(&auth, Some(b"Bearer tok2")));
        assert!(!authorized(&auth, Some(b"Bearer")));
    }

    #[test]
    fn constant_time_eq_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
