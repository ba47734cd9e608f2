//! Policy errors: each names its culprit.

use std::fmt;

/// Why a policy was refused: where (the culprit) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// `policy`, `upstream`, or `agent "ci-bot"` / `agents[2]`.
    pub culprit: String,
    pub message: String,
}

impl PolicyError {
    pub(crate) fn new(culprit: impl Into<String>, message: impl Into<String>) -> PolicyError {
        PolicyError { culprit: culprit.into(), message: message.into() }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.culprit, self.message)
    }
}

impl std::error::Error for PolicyError {}
