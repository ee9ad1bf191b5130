use std::path::PathBuf;

/// Everything that can go wrong in this crate, worded for the person who has to act on it.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A private key others can read may already have been copied, so it is not used, and its
    /// mode is not changed behind the user's back either.
    #[error(
        "{} can be read by other users (mode {mode:04o}); Berth does not use a private key others can read. Make it private (chmod 600) or delete the folder to make a new CA",
        path.display()
    )]
    KeyTooOpen { path: PathBuf, mode: u32 },

    /// Another user who can write the CA folder could swap the certificate users trust.
    #[error(
        "{} can be written by other users (mode {mode:04o}); Berth keeps its CA only in a folder nobody else can change (chmod 700)",
        path.display()
    )]
    FolderTooOpen { path: PathBuf, mode: u32 },

    /// Half a CA is never completed on its own: a new key would not match a certificate the
    /// user may already trust, and a new certificate would silently replace it.
    #[error(
        "{} is missing while {} is there; move the CA folder away to make a new CA",
        missing.display(),
        present.display()
    )]
    CaIncomplete { missing: PathBuf, present: PathBuf },

    #[error("{name} is not a name Berth's local CA can sign: {why}")]
    NameNotAllowed { name: String, why: String },

    #[error("Berth's local CA expired at {not_after} (unix time); delete the CA folder to make a new one")]
    CaExpired { not_after: i64 },

    #[error("no certificate could be read{}: {reason}", what.as_deref().map(|w| format!(" from {w}")).unwrap_or_default())]
    Parse {
        what: Option<String>,
        reason: String,
    },

    #[error("could not make the certificate: {0}")]
    Generate(String),
}

impl TlsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TlsError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(reason: impl std::fmt::Display) -> Self {
        TlsError::Parse {
            what: None,
            reason: reason.to_string(),
        }
    }

    pub(crate) fn parse_in(what: impl std::fmt::Display, reason: impl std::fmt::Display) -> Self {
        TlsError::Parse {
            what: Some(what.to_string()),
            reason: reason.to_string(),
        }
    }
}

impl From<rcgen::Error> for TlsError {
    fn from(e: rcgen::Error) -> Self {
        TlsError::Generate(e.to_string())
    }
}

pub type Result<T, E = TlsError> = std::result::Result<T, E>;
