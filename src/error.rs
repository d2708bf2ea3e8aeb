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

/// Result with a costsim [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
