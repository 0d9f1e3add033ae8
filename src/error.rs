//! How a run ends: its exit status, and the errors that end it early.

use crate::state::StateError;
use std::io;

/// How the run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// All input was read.
    Success,
    /// An input could not be read, output could not be written, or `--strict` met a bad record.
    Failure,
    /// Stopped by a signal (SIGINT, SIGTERM) after releasing and flushing everything: 128 + it.
    Signal(u8),
}

impl Exit {
    /// The process's exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Signal(s) => 128 + s,
        }
    }
}

/// Errors that end a run.
#[derive(Debug)]
pub enum Error {
    /// Writing the output failed (other than a closed pipe, which is a normal end).
    Write(io::Error),
    /// `--reject FILE` could not be created or written.
    Reject(std::path::PathBuf, io::Error),
    /// Signal handlers could not be installed.
    Signals(io::Error),
    /// `--state FILE` was refused at start or could not be saved.
    State(std::path::PathBuf, StateError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Write(e) => write!(f, "writing output: {e}"),
            Error::Reject(p, e) => write!(f, "{}: {e}", p.display()),
            Error::Signals(e) => write!(f, "installing signal handlers: {e}"),
            Error::State(p, e @ StateError::Write(_)) => write!(f, "{}: {e}", p.display()),
            Error::State(p, e @ (StateError::InUse { .. } | StateError::Lock(..))) => {
                write!(f, "{}: {e}; refusing to start", p.display())
            }
            Error::State(p, e) => write!(
                f,
                "{}: {e}; refusing to start (the file is left as it is; --fresh-state starts with an empty session table and replaces it)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for Error {}
