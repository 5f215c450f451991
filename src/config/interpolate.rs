//! `${VAR}` / `${VAR:-default}` expansion inside single YAML scalars.
//!
//! Expansion happens per value during deserialization, never on the file text, so a
//! value holding `#` or `: ` cannot change the YAML structure, and errors point at the
//! value that referenced the variable.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// Where `${VAR}` values come from. Tests inject a map instead of the process
/// environment so they never have to mutate global state.
#[derive(Clone)]
pub struct Env {
    lookup: Arc<Lookup>,
}

impl Env {
    /// The process environment. A variable whose value is not valid UTF-8 counts as unset.
    pub fn process() -> Self {
        Env::from_fn(|name| std::env::var(name).ok())
    }

    pub fn from_map<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let map: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Env::from_fn(move |name| map.get(name).cloned())
    }

    /// An environment with no variables at all.
    pub fn empty() -> Self {
        Env::from_fn(|_| None)
    }

    pub fn from_fn(lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static) -> Self {
        Env {
            lookup: Arc::new(lookup),
        }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// The variable's value, treating set-but-empty as unset (as `${VAR:-default}` does);
    /// orchestrators often pass empty variables for "not configured".
    pub fn get_non_empty(&self, name: &str) -> Option<String> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets.
        f.write_str("Env { .. }")
    }
}

const SYNTAX_HINT: &str = "use `${NAME}` or `${NAME:-default}`, and `$$` for a literal `$`";

/// Expands `${NAME}`, `${NAME:-default}` and `$$`. A `$` followed by anything else is
/// kept as is, so passwords containing `$` mostly need no escaping.
///
/// Error messages never repeat the input: it may be a secret.
pub fn expand(input: &str, env: &Env) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let Some(body_and_tail) = after.strip_prefix('{') else {
            out.push('$');
            rest = after;
            continue;
        };
        let Some(end) = body_and_tail.find('}') else {
            return Err(format!("unterminated `${{`; {SYNTAX_HINT}"));
        };
        let body = &body_and_tail[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if !is_valid_var_name(name) {
            return Err(format!(
                "invalid variable name `{name}` (letters, digits and `_`, not starting with a digit); {SYNTAX_HINT}"
            ));
        }
        match (env.get(name), default) {
            (Some(value), Some(default)) if value.is_empty() => out.push_str(default),
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(format!(
                    "environment variable `{name}` is not set; set it or give a default: `${{{name}:-default}}`"
                ))
            }
        }
        rest = &body_and_tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn is_valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

thread_local! {
    // serde's derive gives Deserialize impls no context argument; the environment for the
    // document being parsed is parked here for the duration of `with_env`.
    static CURRENT: RefCell<Option<Env>> = const { RefCell::new(None) };
}

/// Runs `f` with `env` as the environment that `expand_current` uses.
pub(crate) fn with_env<R>(env: &Env, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Env>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace(env.clone()));
    let _restore = Restore(previous);
    f()
}

pub(crate) fn expand_current(input: &str) -> Result<String, String> {
    // Cloned out so the user's lookup function runs without the RefCell borrowed.
    let env = CURRENT.with(|c| c.borrow().clone());
    match env {
        Some(env) => expand(input, &env),
        None => Err("internal error: no environment set for `${...}` expansion".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env::from_map([("A", "alpha"), ("EMPTY", ""), ("HASH", "x # y: z")])
    }

    #[test]
    fn expands_variables_defaults_and_dollars() {
        let e = env();
        assert_eq!(expand("${A}", &e).unwrap(), "alpha");
        assert_eq!(expand("pre-${A}-post", &e).unwrap(), "pre-alpha-post");
        assert_eq!(expand("${B:-15s}", &e).unwrap(), "15s");
        assert_eq!(expand("${A:-x}", &e).unwrap(), "alpha");
        assert_eq!(expand("${EMPTY:-d}", &e).unwrap(), "d");
        assert_eq!(expand("${EMPTY}", &e).unwrap(), "");
        assert_eq!(expand("${B:-}", &e).unwrap(), "");
        assert_eq!(expand("$$", &e).unwrap(), "$");
        assert_eq!(expand("a$$${A}", &e).unwrap(), "a$alpha");
        assert_eq!(expand("$${A}", &e).unwrap(), "${A}");
        assert_eq!(expand("pa$s", &e).unwrap(), "pa$s");
        assert_eq!(expand("end$", &e).unwrap(), "end$");
        assert_eq!(expand("${HASH}", &e).unwrap(), "x # y: z");
        assert_eq!(expand("${U:-http://h:1/x}", &e).unwrap(), "http://h:1/x");
    }

    #[test]
    fn errors_name_the_variable() {
        let e = env();
        let err = expand("${MISSING}", &e).unwrap_err();
        assert!(err.contains("`MISSING` is not set"), "{err}");
        let err = expand("${A", &e).unwrap_err();
        assert!(err.starts_with("unterminated `${`"), "{err}");
        let err = expand("${1X}", &e).unwrap_err();
        assert!(err.contains("invalid variable name `1X`"), "{err}");
    }

    #[test]
    fn current_env_is_scoped() {
        assert!(expand_current("${A}").is_err());
        let got = with_env(&env(), || expand_current("${A}"));
        assert_eq!(got.unwrap(), "alpha");
        assert!(expand_current("${A}").is_err());
    }
}
