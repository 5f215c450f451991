//! Config errors that point at file, line, column and field.

use std::fmt;
use std::path::PathBuf;

/// One problem in the config.
///
/// `message` may carry a hint after the first `"; "` (e.g. ``invalid duration `15 sec`;
/// expected e.g. 15s, 1m30s``). Display puts the location between the two, so the reader
/// sees what is wrong and where before the advice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based.
    pub column: Option<usize>,
    /// Field path in `a.b[0].c` form; empty for problems with the file as a whole.
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: None,
            line: None,
            column: None,
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn in_file(mut self, file: Option<PathBuf>) -> Self {
        self.file = file;
        self
    }

    pub(crate) fn at(mut self, line: usize, column: usize) -> Self {
        self.line = Some(line);
        self.column = Some(column);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Without a line the location can only be the file, which reads best up front.
        if self.line.is_none() {
            if let Some(file) = &self.file {
                write!(f, "{}: ", file.display())?;
            }
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        let (head, hint) = match self.message.split_once("; ") {
            Some((head, hint)) => (head, Some(hint)),
            None => (self.message.as_str(), None),
        };
        f.write_str(head)?;
        if let Some(line) = self.line {
            let column = self.column.unwrap_or(1);
            match &self.file {
                Some(file) => write!(f, " at {}:{}:{}", file.display(), line, column)?,
                None => write!(f, " at line {line} column {column}")?,
            }
        }
        if let Some(hint) = hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_goes_before_the_hint() {
        let e = ConfigError::new(
            "postgres[0].interval",
            "invalid duration `15 sec`; expected e.g. 15s, 1m30s",
        )
        .in_file(Some("config.yaml".into()))
        .at(7, 15);
        assert_eq!(
            e.to_string(),
            "postgres[0].interval: invalid duration `15 sec` at config.yaml:7:15; expected e.g. 15s, 1m30s"
        );
    }

    #[test]
    fn file_only_and_no_location() {
        let e = ConfigError::new("", "config file is empty").in_file(Some("x.yml".into()));
        assert_eq!(e.to_string(), "x.yml: config file is empty");
        let e = ConfigError::new("apps[1].name", "bad").at(3, 9);
        assert_eq!(e.to_string(), "apps[1].name: bad at line 3 column 9");
        let all = ConfigErrors(vec![ConfigError::new("a", "x"), ConfigError::new("b", "y")]);
        assert_eq!(all.to_string(), "a: x\nb: y");
    }
}
