//! Why a use case could not be carried out, as a type: [`SessionError::Cancelled`] reaches the
//! window as a variant, and a [`SessionError::Setting`] names the setting so that each front
//! end words the fix (a flag on the command line, a control in the window).

use crate::explain::{ExplainError, Setting};

/// Why a session's use case failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The user asked to stop.
    #[error("cancelled")]
    Cancelled,
    /// A setting that cannot work: `value` and what is wrong with it.
    #[error("{} {value} {problem}", setting.name())]
    Setting {
        setting: Setting,
        value: String,
        problem: String,
    },
    /// The session has no data (or not the kind the use case needs).
    #[error("{0}")]
    NoData(String),
    #[error(transparent)]
    Explain(ExplainError),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl From<ExplainError> for SessionError {
    fn from(e: ExplainError) -> Self {
        match e {
            ExplainError::Cancelled => SessionError::Cancelled,
            ExplainError::Setting {
                setting,
                value,
                problem,
            } => SessionError::Setting {
                setting,
                value,
                problem,
            },
            e => SessionError::Explain(e),
        }
    }
}

impl From<crate::model::ModelError> for SessionError {
    fn from(e: crate::model::ModelError) -> Self {
        SessionError::Explain(ExplainError::Model(e))
    }
}

impl SessionError {
    /// The setting error in `err`'s chain, if any: (setting, value, problem).
    pub fn setting_in(err: &anyhow::Error) -> Option<(Setting, &str, &str)> {
        err.chain().find_map(|e| {
            if let Some(SessionError::Setting {
                setting,
                value,
                problem,
            }) = e.downcast_ref::<SessionError>()
            {
                return Some((*setting, value.as_str(), problem.as_str()));
            }
            if let Some(ExplainError::Setting {
                setting,
                value,
                problem,
            }) = e.downcast_ref::<ExplainError>()
            {
                return Some((*setting, value.as_str(), problem.as_str()));
            }
            None
        })
    }

    /// True when `err` says the work was cancelled.
    pub fn is_cancelled(err: &anyhow::Error) -> bool {
        err.chain().any(|e| {
            matches!(
                e.downcast_ref::<SessionError>(),
                Some(SessionError::Cancelled)
            ) || matches!(
                e.downcast_ref::<ExplainError>(),
                Some(ExplainError::Cancelled)
            )
        })
    }

    /// `err` on one line, with a setting error worded by `word(setting, value, problem)` and
    /// the rest of the chain as it is (`context: cause`).
    pub fn render(err: &anyhow::Error, word: impl Fn(Setting, &str, &str) -> String) -> String {
        let mut parts = Vec::new();
        for e in err.chain() {
            let setting = match (
                e.downcast_ref::<SessionError>(),
                e.downcast_ref::<ExplainError>(),
            ) {
                (
                    Some(SessionError::Setting {
                        setting,
                        value,
                        problem,
                    }),
                    _,
                )
                | (
                    _,
                    Some(ExplainError::Setting {
                        setting,
                        value,
                        problem,
                    }),
                ) => Some(word(*setting, value, problem)),
                _ => None,
            };
            match setting {
                Some(text) => {
                    parts.push(text);
                    break;
                }
                None => parts.push(e.to_string()),
            }
        }
        // A transparent error repeats its source's text: keep one of each.
        parts.dedup();
        parts
            .join(": ")
            .lines()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ")
    }
}
