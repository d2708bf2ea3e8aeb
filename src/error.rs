//! Errors, sorted by whose fault they are: the exit code follows from the kind.

use std::fmt;

/// A costsim failure. Each variant says who must act on it.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Bad input (fatal for the command, not a bug): a file, field or value the user supplied is
    /// wrong. `file` names the file, `location` the line or field path, `message` says what was
    /// expected. Exit code 2.
    Input {
        /// The file (or `<embedded default>`, `<command line>`) that holds the bad value.
        file: String,
        /// Line (`line 12`), field path (`baseline.backend.hpa.minReplicas`) or both.
        location: Option<String>,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Internal error (a bug, or an IO failure on output). Exit code 1.
    Internal(String),
}

impl Error {
    /// A bad-input error for `file`, at `location`, saying `message`.
    pub fn input(
        file: impl Into<String>,
        location: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Error::Input {
            file: file.into(),
            location,
            message: message.into(),
        }
    }

    /// A bad-input error at a line of `file`.
    pub fn at_line(file: impl Into<String>, line: u64, message: impl Into<String>) -> Self {
        Self::input(file, Some(format!("line {line}")), message)
    }

    /// A bad-input error at a field path of `file`.
    pub fn at_field(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::input(file, Some(field.into()), message)
    }

    /// A bad-input error for JSON that `e` rejected in `file`: at its line and column (and
    /// `field`, the path to the value, when known), saying `what` (when not empty) and
    /// serde_json's message without the position it repeats.
    pub fn json(
        file: impl Into<String>,
        field: Option<&str>,
        what: &str,
        e: &serde_json::Error,
    ) -> Self {
        let mut location = format!("line {}, column {}", e.line(), e.column());
        if let Some(f) = field.filter(|f| !f.is_empty() && *f != "." && *f != "?") {
            location.push_str(&format!(", field `{f}`"));
        }
        let mut message = e.to_string();
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        if !what.is_empty() {
            message = format!("{what}: {message}");
        }
        Self::input(file, Some(location), bound_quoted(&message))
    }

    /// The bad-input error for `path` (a `what`, e.g. `scenario file`) that the file system
    /// could not reach with `e`: `no such {what}` only when it does not exist; otherwise the
    /// system's reason (a symlink loop, no permission), which "no such file" would hide.
    pub fn unreachable_path(path: &std::path::Path, what: &str, e: &std::io::Error) -> Self {
        let message = if e.kind() == std::io::ErrorKind::NotFound {
            format!("no such {what}")
        } else {
            format!("cannot open the {what}: {e}")
        };
        Self::input(path.display().to_string(), None, message)
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }

    /// The process exit code for this error: 2 for bad input, 1 for internal errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } => 2,
            Error::Internal(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input {
                file,
                location: Some(loc),
                message,
            } => write!(f, "{file}: {loc}: {message}"),
            Error::Input {
                file,
                location: None,
                message,
            } => write!(f, "{file}: {message}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// The most characters of quoted input a parse error keeps (see [`bound_quoted`]).
pub const MAX_QUOTED_CHARS: usize = 80;

/// `message` with every double-quoted excerpt longer than [`MAX_QUOTED_CHARS`] cut to that
/// many characters and `…`, so that a parser error quoting a whole file stays short. Escaped
/// quotes (`\"`) inside an excerpt do not end it; an unterminated quote is cut the same way.
/// A number serde quotes in backticks in all its digits (`floating point `1000…0``, 309 of
/// them for 1e308) is written in exponent form ([`bound_numbers`]).
pub fn bound_quoted(message: &str) -> String {
    bound_numbers(&bound_quoted_excerpts(message))
}

/// Digits beyond which a backtick-quoted number of a message is written in exponent form.
const MAX_NUMBER_CHARS: usize = 24;

/// `message` with every backtick-quoted float (serde's `floating point `…``) longer than
/// [`MAX_NUMBER_CHARS`] characters written in exponent form (`1e308`): serde spells a float in
/// all its digits.
pub fn bound_numbers(message: &str) -> String {
    let parts: Vec<&str> = message.split('`').collect();
    let mut out = String::with_capacity(message.len());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('`');
        }
        // Odd parts lie between a pair of backticks; serde names a float `floating point`
        // (an integer keeps its digits).
        let quoted = i % 2 == 1 && i + 1 < parts.len() && parts[i - 1].ends_with("floating point ");
        match part.parse::<f64>() {
            Ok(v) if quoted && part.len() > MAX_NUMBER_CHARS && v.is_finite() => {
                out.push_str(&format!("{v:e}"));
            }
            _ => out.push_str(part),
        }
    }
    out
}

fn bound_quoted_excerpts(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(1024));
    let mut chars = message.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        let mut escaped = false;
        let mut closed = false;
        for (kept, c) in chars.by_ref().enumerate() {
            if !escaped && c == '"' {
                closed = true;
                break;
            }
            escaped = !escaped && c == '\\';
            if kept < MAX_QUOTED_CHARS {
                out.push(c);
            } else if kept == MAX_QUOTED_CHARS {
                out.push('…');
            }
        }
        if closed {
            out.push('"');
        }
    }
    out
}

/// Result with a costsim [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// The one of `known` that `word` is a near miss of (another case, or letters inserted,
/// deleted or replaced: one in a word of 4 letters or more, two in one of 8 or more), for a
/// "did you mean" hint.
pub fn near_miss<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known.iter().copied().find(|k| {
        let allowed = match k.len() {
            0..=3 => 0,
            4..=7 => 1,
            _ => 2,
        };
        *k != word && (k.eq_ignore_ascii_case(word) || edit_distance(word, k) <= allowed)
    })
}

/// Levenshtein distance between `a` and `b` (in chars).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_of_known_words_are_found_and_others_not() {
        let kinds = ["Deployment", "HorizontalPodAutoscaler", "ConfigMap"];
        assert_eq!(
            near_miss("HorizontalPodAutoscalr", &kinds),
            Some("HorizontalPodAutoscaler")
        );
        assert_eq!(near_miss("deployment", &kinds), Some("Deployment"));
        assert_eq!(near_miss("Deploymnet", &kinds), Some("Deployment"));
        assert_eq!(near_miss("configmap", &kinds), Some("ConfigMap"));
        assert_eq!(near_miss("mongdb", &["mongodb", "redis"]), Some("mongodb"));
        assert_eq!(near_miss("rediss", &["mongodb", "redis"]), Some("redis"));
        assert_eq!(near_miss("cache", &["mongodb", "redis"]), None);
        for other in [
            "Service",
            "Ingress",
            "StatefulSet",
            "Deployment",
            "Secret",
            "",
        ] {
            assert_eq!(near_miss(other, &kinds), None, "{other}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn long_quoted_input_is_cut_short_ones_kept() {
        let long = "x".repeat(70_000);
        let msg = format!("invalid type: string \"{long}\", expected struct Config");
        let cut = bound_quoted(&msg);
        assert_eq!(
            cut,
            format!(
                "invalid type: string \"{}…\", expected struct Config",
                "x".repeat(MAX_QUOTED_CHARS)
            )
        );
        let exact = "y".repeat(MAX_QUOTED_CHARS);
        for kept in [
            "unknown field `cpus`, expected one of `cpu`, `memory`".to_string(),
            "invalid quantity \"512MB\": unknown suffix \"MB\"".to_string(),
            format!("value \"{exact}\" here"),
            "a \"quote with \\\" escape\" b".to_string(),
        ] {
            assert_eq!(bound_quoted(&kept), kept);
        }
        // An escaped quote does not end the excerpt; an unterminated one is cut too.
        let escaped = format!("\"{}\\\"{}\" tail", "a".repeat(50), "b".repeat(50));
        let cut = bound_quoted(&escaped);
        assert!(cut.ends_with("…\" tail"), "{cut}");
        assert!(cut.chars().count() < 100, "{cut}");
        let open = format!("string \"{long}");
        assert_eq!(
            bound_quoted(&open),
            format!("string \"{}…", "x".repeat(MAX_QUOTED_CHARS))
        );
        // Multi-byte characters are counted as characters, never split.
        let wide = format!("\"{}\"", "é".repeat(200));
        assert_eq!(
            bound_quoted(&wide),
            format!("\"{}…\"", "é".repeat(MAX_QUOTED_CHARS))
        );
    }
}
