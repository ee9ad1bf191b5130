//! Secret masking. A variable is secret when its name says so; URLs lose their password part; and
//! every secret value found in the project is masked wherever else it shows up (a healthcheck
//! command, a URL in another variable, an edge's evidence text).

use std::sync::LazyLock;

use regex::Regex;

use crate::model::Project;

pub const MASK: &str = "********";

const SECRET_MARKERS: [&str; 5] = ["PASSWORD", "PASS", "SECRET", "TOKEN", "KEY"];

/// True when a variable name marks its value as secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)@").unwrap()
});

/// Replaces the password of every `scheme://user:password@` in `text`.
pub fn mask_url_passwords(text: &str) -> String {
    if !text.contains("://") {
        return text.to_owned();
    }
    URL_PASSWORD
        .replace_all(text, |c: &regex::Captures<'_>| {
            format!("{}{MASK}@", &c["head"])
        })
        .into_owned()
}

/// The secret values of one project, longest first so that a value containing another is masked
/// whole.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
}

impl Secrets {
    pub fn from_project(project: &Project) -> Self {
        let mut values: Vec<String> = Vec::new();
        for svc in project.services.values() {
            for (k, v) in &svc.environment {
                if is_secret_name(k) {
                    values.push(v.value.clone());
                }
                for pw in URL_PASSWORD.captures_iter(&v.value) {
                    values.push(pw["pw"].to_owned());
                }
            }
        }
        // Very short values ("1", "no") would mask unrelated text everywhere.
        values.retain(|v| v.chars().count() >= 4);
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Secrets { values }
    }

    /// Masks URL passwords and every known secret value in `text`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = mask_url_passwords(text);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), MASK);
            }
        }
        out
    }

    /// The value of variable `name` as it may be shown.
    pub fn mask_var(&self, name: &str, value: &str) -> String {
        if is_secret_name(name) && !value.is_empty() {
            MASK.to_owned()
        } else {
            self.mask(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_mark_secrets() {
        for n in [
            "DB_PASSWORD",
            "POSTGRES_PASSWORD",
            "PMA_PASS",
            "APP_SECRET",
            "GITHUB_TOKEN",
            "OPENAI_API_KEY",
            "secret_key",
        ] {
            assert!(is_secret_name(n), "{n} should be secret");
        }
        for n in ["DB_HOST", "DATABASE_URL", "REDIS_PORT", "APP_ENV"] {
            assert!(!is_secret_name(n), "{n} should not be secret");
        }
    }

    #[test]
    fn url_passwords_are_masked_and_the_rest_kept() {
        assert_eq!(
            mask_url_passwords(
                "postgresql://luminai_user:LuminaiSecure2025!@database:5432/luminai_db"
            ),
            "postgresql://luminai_user:********@database:5432/luminai_db"
        );
        assert_eq!(
            mask_url_passwords("redis://redis:6379/0"),
            "redis://redis:6379/0"
        );
        assert_eq!(
            mask_url_passwords("redis://:pw1@redis:6379"),
            "redis://:********@redis:6379"
        );
    }
}
