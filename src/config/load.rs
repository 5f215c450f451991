//! Reading a config file: YAML → raw structs (with `${VAR}` expansion) → validated
//! `Config`, with every error located by file, line, column and field path.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::{ConfigError, ConfigErrors};
use super::interpolate::with_env;
pub use super::interpolate::Env;
use super::schema::RawConfig;
use super::validate::{self, FieldPath, Seg};
use super::{Config, ConfigOrigin};

/// Searched in this order when no `--config` is given.
pub const CONFIG_SEARCH_PATHS: [&str; 2] = [
    "./stack_exporter.yml",
    "/etc/stack_exporter/stack_exporter.yml",
];

pub fn find_config_file() -> Option<PathBuf> {
    CONFIG_SEARCH_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

pub fn load_file(path: &Path, env: &Env) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError::new("", format!("cannot read config file: {e}"))
            .in_file(Some(path.to_path_buf()))
    })?;
    load_str(&text, Some(path), env)
}

/// Parses and validates config text. `file` is used for error locations, for the
/// origin, and as the base for relative secret-file paths; without it the origin is
/// recorded as the file `<string>`, and relative paths resolve against the working
/// directory.
pub fn load_str(text: &str, file: Option<&Path>, env: &Env) -> Result<Config, ConfigErrors> {
    let file_buf = file.map(Path::to_path_buf);
    let located = |e: ConfigError| e.in_file(file_buf.clone());

    // A plain YAML pass first, so that a syntax error is reported as such even when the
    // typed pass would have stumbled on an unknown field earlier in the file, and so that
    // a file of only comments (null) gets a clear message rather than "expected struct".
    let plain: Result<serde_yaml::Value, _> =
        serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text));
    match plain {
        Err(e) => return Err(located(parse_error(e)).into()),
        Ok(serde_yaml::Value::Null) => {
            return Err(located(ConfigError::new("", "config file is empty")).into())
        }
        Ok(_) => {}
    }

    let raw: RawConfig = with_env(env, || {
        serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text))
    })
    .map_err(|e| located(parse_error(e)))?;

    let origin = ConfigOrigin::File(file_buf.clone().unwrap_or_else(|| "<string>".into()));
    let base_dir = file.and_then(Path::parent);
    validate::build(raw, origin, base_dir).map_err(|issues| {
        ConfigErrors(
            issues
                .into_iter()
                .map(|issue| {
                    let mut e = ConfigError::new(issue.path.to_string(), issue.message);
                    if let Some((line, column)) = locate(text, &issue.path) {
                        e = e.at(line, column);
                    }
                    located(e)
                })
                .collect(),
        )
    })
}

fn parse_error(e: serde_path_to_error::Error<serde_yaml::Error>) -> ConfigError {
    let path = match e.path().to_string() {
        p if p == "." => String::new(),
        p => p,
    };
    let inner = e.into_inner();
    let location = inner.location();
    let mut message = inner.to_string();
    // serde_yaml appends " at line L column C" and prefixes its own copy of the path;
    // both are shown by ConfigError's Display in our format instead.
    if let Some(loc) = &location {
        let suffix = format!(" at line {} column {}", loc.line(), loc.column());
        if let Some(m) = message.strip_suffix(&suffix) {
            message = m.to_owned();
        }
    }
    if let Some(m) = message.strip_prefix(&format!("{path}: ")) {
        message = m.to_owned();
    } else if let Some((head, tail)) = message.split_once(": ") {
        if !head.is_empty() && !head.contains([' ', '`']) {
            message = tail.to_owned();
        }
    }
    // libyaml syntax errors read "{problem} at line L column C, while parsing {context}
    // at line ..."; the problem and its position are what matters, and a field path is
    // meaningless when the structure itself is broken.
    if let Some((problem, _)) = message.split_once(" at line ") {
        let problem = format!("invalid YAML: {problem}");
        let error = ConfigError::new("", problem);
        return match location {
            Some(loc) => error.at(loc.line(), loc.column()),
            None => error,
        };
    }
    let error = ConfigError::new(path, message);
    match location {
        Some(loc) => error.at(loc.line(), loc.column()),
        None => error,
    }
}

/// Line and column (1-based) of the value at `path`, found by walking the document
/// again and failing on purpose at the target: serde_yaml stamps the failing value's
/// position on the error. Only runs when there are errors to report.
fn locate(text: &str, path: &FieldPath) -> Option<(usize, usize)> {
    let de = serde_yaml::Deserializer::from_str(text);
    match (Walk { path: &path.0 }).deserialize(de) {
        Ok(()) => None,
        Err(e) => e.location().map(|l| (l.line(), l.column())),
    }
}

struct Walk<'a> {
    path: &'a [Seg],
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Seg::Key(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom("found"));
        };
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if key.as_str() == Some(want.as_str()) {
                map.next_value_seed(Walk { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Seg::Index(want), rest)) = self.path.split_first() else {
            return Err(de::Error::custom("found"));
        };
        for _ in 0..*want {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Walk { path: rest })?;
        // serde_yaml reports unconsumed elements as an error, which would be mistaken
        // for the target.
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.scalar()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar()
    }
}

impl Walk<'_> {
    fn scalar<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom("found"))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_finds_values() {
        let text = "a: 1\nlist:\n  - x: 1\n  - x: 2\n    y: { z: hi }\n";
        let p = FieldPath::default().key("list").index(1).key("y").key("z");
        assert_eq!(locate(text, &p), Some((5, 13)));
        let p = FieldPath::default().key("list").index(1).key("x");
        assert_eq!(locate(text, &p), Some((4, 8)));
        let p = FieldPath::default().key("list").index(1);
        assert_eq!(locate(text, &p), Some((4, 5)));
        let p = FieldPath::default().key("nope");
        assert_eq!(locate(text, &p), None);
        let p = FieldPath::default().key("list").index(7);
        assert_eq!(locate(text, &p), None);
    }
}
