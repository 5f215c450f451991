//! A position-tracking cursor over one exposition body: the shared lexer of both formats.
//!
//! Every token is a slice of the (already UTF-8-validated) body; nothing is copied until
//! the builder makes the owned model, and label values are unescaped into a fresh
//! `String` only when they contain a backslash. All special bytes of both formats are
//! ASCII, so byte-wise scanning never splits a multi-byte character at a token edge.

use std::borrow::Cow;

use super::{ParseError, ParseErrorKind};

pub(super) struct Cursor<'a> {
    src: &'a str,
    pub(super) pos: usize,
    /// 1-based number of the line `pos` is on.
    line: usize,
    line_start: usize,
    /// Index of the current line's `\n`, or the body length for a last unterminated line.
    line_end: usize,
    max_line: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(src: &'a str, max_line: usize) -> Self {
        Cursor {
            src,
            pos: 0,
            line: 1,
            line_start: 0,
            line_end: 0,
            max_line,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    pub(super) fn is_done(&self) -> bool {
        self.pos >= self.src.len()
    }

    /// Begins the line at `pos`: finds where it ends and enforces the line-length limit
    /// before any of it is tokenized.
    pub(super) fn start_line(&mut self) -> Result<(), ParseError> {
        self.line_start = self.pos;
        self.find_line_end()
    }

    fn find_line_end(&mut self) -> Result<(), ParseError> {
        let rest = self.bytes().get(self.line_start..).unwrap_or_default();
        self.line_end = self.line_start + find_newline(rest).unwrap_or(rest.len());
        let len = self.line_end - self.line_start;
        if len > self.max_line {
            return Err(self.error_kind(
                self.line_start + self.max_line,
                ParseErrorKind::Limit,
                format!("line is longer than the limit of {} bytes", self.max_line),
            ));
        }
        Ok(())
    }

    /// Moves past the current line and its newline.
    pub(super) fn finish_line(&mut self) {
        self.pos = self.line_end + 1;
        self.line += 1;
    }

    /// The next byte of the current line, `None` at its end.
    pub(super) fn peek(&self) -> Option<u8> {
        if self.pos < self.line_end {
            self.bytes().get(self.pos).copied()
        } else {
            None
        }
    }

    pub(super) fn bump(&mut self) {
        if self.pos < self.line_end {
            self.pos += 1;
        }
    }

    /// Consumes `b` if it is next.
    pub(super) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn starts_with(&self, s: &str) -> bool {
        self.rest_ref().starts_with(s)
    }

    /// Skips `n` bytes of the line (only ever ASCII just matched by `starts_with`).
    pub(super) fn skip(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.line_end);
    }

    /// Skips spaces and tabs (classic text's separators); returns how many.
    pub(super) fn skip_ws(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos - start
    }

    pub(super) fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.pos += 1;
        }
        self.slice(start, self.pos)
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`, or `""` when the next byte cannot start a name.
    pub(super) fn metric_name(&mut self) -> &'a str {
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':' => {
                self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            }
            _ => "",
        }
    }

    /// `[a-zA-Z_][a-zA-Z0-9_]*`, or `""`.
    pub(super) fn label_name(&mut self) -> &'a str {
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => {
                self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_')
            }
            _ => "",
        }
    }

    /// The rest of the current line, consumed.
    pub(super) fn rest(&mut self) -> &'a str {
        let start = self.pos;
        self.pos = self.line_end.max(self.pos);
        self.slice(start, self.pos)
    }

    fn rest_ref(&self) -> &'a str {
        self.slice(self.pos, self.line_end)
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        // Positions only ever stop on ASCII bytes or line ends, so this never falls
        // back; `get` keeps a logic slip from becoming a panic on input.
        self.src.get(start..end).unwrap_or_default()
    }

    /// A `"…"` label value starting at the opening quote; returns it unescaped.
    /// `multiline`: classic text's lexer lets a quoted value run over raw newlines.
    pub(super) fn quoted(&mut self, multiline: bool) -> Result<Cow<'a, str>, ParseError> {
        let open = self.mark();
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            let Some(&b) = self.bytes().get(self.pos) else {
                return Err(self.error_at(open, "unterminated label value"));
            };
            match b {
                b'"' => break,
                b'\\' => match self.bytes().get(self.pos + 1) {
                    None | Some(b'\n') => {
                        return Err(self.error_at(open, "unterminated label value"))
                    }
                    Some(_) => {
                        escaped = true;
                        // May stop inside a multi-byte character; only ASCII is
                        // compared below, which continuation bytes never are.
                        self.pos += 2;
                    }
                },
                b'\n' if multiline => {
                    self.line += 1;
                    self.line_start = self.pos + 1;
                    self.find_line_end()?;
                    self.pos += 1;
                }
                b'\n' => return Err(self.error_at(open, "unterminated label value")),
                _ => self.pos += 1,
            }
        }
        let raw = self.slice(start, self.pos);
        self.pos += 1;
        Ok(if escaped {
            Cow::Owned(unescape(raw, true))
        } else {
            Cow::Borrowed(raw)
        })
    }

    /// Where the cursor is, for errors about a token that may span lines.
    pub(super) fn mark(&self) -> Mark {
        Mark {
            line: self.line,
            column: self.pos.saturating_sub(self.line_start) + 1,
        }
    }

    fn error_at(&self, mark: Mark, message: &str) -> ParseError {
        mark.error(ParseErrorKind::Invalid, message.to_owned())
    }

    /// An error about the end of the body (after the last line was finished).
    pub(super) fn end_error(&self, message: String) -> ParseError {
        let ends_with_newline = self.src.ends_with('\n');
        ParseError {
            line: if ends_with_newline {
                self.line
            } else {
                self.line.saturating_sub(1).max(1)
            },
            column: if ends_with_newline {
                1
            } else {
                self.src.len().saturating_sub(self.line_start) + 1
            },
            kind: ParseErrorKind::Invalid,
            message,
        }
    }

    pub(super) fn error(&self, pos: usize, message: String) -> ParseError {
        self.error_kind(pos, ParseErrorKind::Invalid, message)
    }

    pub(super) fn error_kind(
        &self,
        pos: usize,
        kind: ParseErrorKind,
        message: String,
    ) -> ParseError {
        ParseError {
            line: self.line,
            column: pos.saturating_sub(self.line_start) + 1,
            kind,
            message,
        }
    }
}

/// A token's start, kept while the token is read.
#[derive(Clone, Copy)]
pub(super) struct Mark {
    line: usize,
    column: usize,
}

impl Mark {
    pub(super) fn error(self, kind: ParseErrorKind, message: String) -> ParseError {
        ParseError {
            line: self.line,
            column: self.column,
            kind,
            message,
        }
    }
}

/// Index of the first `\n`. Eight bytes at a time: bodies are mostly long lines, and
/// this is the one pass every byte goes through.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ NL;
        // Classic has-zero-byte test: nonzero iff some byte of x is 0.
        if (x.wrapping_sub(LO) & !x & HI) != 0 {
            break;
        }
        offset += 8;
    }
    bytes
        .get(offset..)
        .and_then(|tail| tail.iter().position(|&b| b == b'\n'))
        .map(|i| offset + i)
}

/// Undoes `\\`, `\n` and (when `quote`) `\"`. Any other backslash sequence is kept as
/// written, backslash included, as Prometheus's parsers do; so is a trailing `\`.
pub(super) fn unescape(raw: &str, quote: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('"') if quote => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Unescapes only when needed.
pub(super) fn unescape_cow(raw: &str, quote: bool) -> Cow<'_, str> {
    if raw.contains('\\') {
        Cow::Owned(unescape(raw, quote))
    } else {
        Cow::Borrowed(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newline_search_matches_naive() {
        let mut buf = vec![b'a'; 40];
        assert_eq!(find_newline(&buf), None);
        for i in 0..40 {
            buf.fill(b'a');
            buf[i] = b'\n';
            assert_eq!(find_newline(&buf), Some(i), "at {i}");
            // A high byte before must not confuse the zero-byte test.
            if i > 0 {
                buf[i - 1] = 0x8b;
                assert_eq!(find_newline(&buf), Some(i), "at {i} after 0x8b");
            }
        }
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape(r#"a\\b\"c\nd"#, true), "a\\b\"c\nd");
        assert_eq!(unescape(r#"a\"b"#, false), "a\\\"b");
        assert_eq!(unescape(r"\t\x", true), "\\t\\x");
        assert_eq!(unescape("end\\", false), "end\\");
        assert_eq!(unescape(r"\\n", true), "\\n");
        assert_eq!(unescape("ü\\ü", true), "ü\\ü");
    }
}
