//! Typed library errors. The binary maps them to exit codes: input problems are 2,
//! infeasible plans and failed checks are 1.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in an input file a problem sits. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: Option<u64>,
    pub column: Option<usize>,
    /// Header name of the CSV column, or the TOML key.
    pub field: Option<String>,
}

impl Location {
    pub fn file(file: &Path) -> Self {
        Location {
            file: file.to_path_buf(),
            line: None,
            column: None,
            field: None,
        }
    }

    pub fn at(file: &Path, line: u64, column: usize) -> Self {
        Location {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            field: None,
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, " ({field})")?;
        }
        Ok(())
    }
}

/// A problem with user input: the message says what is wrong, the hint what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{location}: {message}{}", hint.as_ref().map(|h| format!("\n  hint: {h}")).unwrap_or_default())]
pub struct InputError {
    pub location: Location,
    pub message: String,
    pub hint: Option<String>,
}

impl InputError {
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        InputError {
            location,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    /// Several input problems found in one pass; the user fixes them together.
    #[error("{} problems in the input:\n{}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Inputs(Vec<InputError>),
    #[error("usage: {0}")]
    Usage(String),
    #[error("infeasible: {0}")]
    Infeasible(String),
    #[error("check failed:\n{}", .0.join("\n"))]
    CheckFailed(Vec<String>),
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("LP solver failed: {0}")]
    Solver(String),
}

impl Error {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// Exit code contract of INTERFACE.md: 1 infeasible or failed check, 2 bad input or usage.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input(_) | Error::Inputs(_) | Error::Usage(_) => 2,
            Error::Io { action, .. } if action.starts_with("read") || *action == "open" => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
