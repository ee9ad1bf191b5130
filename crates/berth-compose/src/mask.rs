//! Secret masking. A variable is secret when its name says so; URLs lose their password part; and
//! every secret value found in the project is masked wherever else it shows up (a healthcheck
//! command, a URL in another variable, an edge's evidence text).

use std::sync::LazyLock;

use regex::Regex;

use crate::model::Project;

pub const MASK: &str = "********";

const SECRET_MARKERS: [&str; 10] = [
    "PASSWORD",
    "PASS",
    "PWD",
    "SECRET",
    "TOKEN",
    "KEY",
    "AUTH",
    "DSN",
    "CREDENTIAL",
    "PRIVATE",
];

/// True when a variable name marks its value as secret.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    // The password runs to the last `@` before the host, so one holding `/` or `@` is masked
    // whole (over-masking a path with an `@` in it is the safe side).
    #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>\S+)@(?P<host>[^@/\s?#]+)")
        .unwrap()
});

/// `https://KEY@host` (a Sentry DSN): a long user part without a password is a key.
static URL_KEY_USER: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<key>[A-Za-z0-9_\-]{12,})@").unwrap()
});

/// `?token=…`, `&api_key=…`, `?sig=…`: query values whose name marks them as secret.
static QUERY_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests
    Regex::new(r"(?P<head>[?&](?P<name>[A-Za-z0-9_.\-]+)=)(?P<value>[^&#\s]+)").unwrap()
});

fn is_secret_query_name(name: &str) -> bool {
    is_secret_name(name)
        || ["sig", "signature", "code"].contains(&name.to_ascii_lowercase().as_str())
}

/// Replaces the secret parts of every URL in `text`: `user:password@`, a key as the user
/// (`https://KEY@host`), and secret query values (`?token=`).
pub fn mask_url_passwords(text: &str) -> String {
    if !text.contains("://") && !text.contains('=') {
        return text.to_owned();
    }
    let out = URL_PASSWORD.replace_all(text, |c: &regex::Captures<'_>| {
        format!("{}{MASK}@{}", &c["head"], &c["host"])
    });
    let out = URL_KEY_USER.replace_all(&out, |c: &regex::Captures<'_>| {
        format!("{}{MASK}@", &c["head"])
    });
    QUERY_SECRET
        .replace_all(&out, |c: &regex::Captures<'_>| {
            if is_secret_query_name(&c["name"]) {
                format!("{}{MASK}", &c["head"])
            } else {
                c[0].to_owned()
            }
        })
        .into_owned()
}

/// The parts of `value` that [`mask_url_passwords`] hides, as secret values to mask elsewhere.
fn url_secrets(value: &str) -> Vec<String> {
    let mut out: Vec<String> = URL_PASSWORD
        .captures_iter(value)
        .map(|c| c["pw"].to_owned())
        .collect();
    out.extend(
        URL_KEY_USER
            .captures_iter(value)
            .map(|c| c["key"].to_owned()),
    );
    out.extend(
        QUERY_SECRET
            .captures_iter(value)
            .filter(|c| is_secret_query_name(&c["name"]))
            .map(|c| c["value"].to_owned()),
    );
    out
}

/// A value that is a secret whatever its name: a PEM private key or certificate block.
fn is_secret_value(value: &str) -> bool {
    value.contains("-----BEGIN") && value.contains("PRIVATE KEY")
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
                if is_secret_name(k) || is_secret_value(&v.value) {
                    values.push(v.value.clone());
                    // A multi-line value (a PEM block) is also masked line by line, where a
                    // tool prints only part of it.
                    values.extend(
                        v.value
                            .lines()
                            .filter(|l| !l.starts_with("-----"))
                            .map(str::to_owned),
                    );
                }
                values.extend(url_secrets(&v.value));
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
        if (is_secret_name(name) || is_secret_value(value)) && !value.is_empty() {
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
        for n in [
            "MYSQL_ROOT_PWD",
            "BASIC_AUTH",
            "SENTRY_DSN",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "PRIVATE_SIGNING",
        ] {
            assert!(is_secret_name(n), "{n} should be secret");
        }
        for n in ["DB_HOST", "DATABASE_URL", "REDIS_PORT", "APP_ENV"] {
            assert!(!is_secret_name(n), "{n} should not be secret");
        }
    }

    #[test]
    fn url_secrets_in_every_place_they_hide() {
        assert_eq!(
            mask_url_passwords("postgres://app:p/ss@w0rd@db:5432/app"),
            "postgres://app:********@db:5432/app",
            "a password with / and @ is masked whole"
        );
        assert_eq!(
            mask_url_passwords("https://0123456789abcdef0123@o1.ingest.sentry.io/42"),
            "https://********@o1.ingest.sentry.io/42",
            "a Sentry-style key as the user part"
        );
        assert_eq!(
            mask_url_passwords("https://api.example.com/v1?token=abc123&page=2&api_key=zz9"),
            "https://api.example.com/v1?token=********&page=2&api_key=********",
            "secret query values, the others kept"
        );
        assert_eq!(
            mask_url_passwords("ssh://git@github.com/x"),
            "ssh://git@github.com/x",
            "a short user name is not a key"
        );
    }

    #[test]
    fn a_pem_block_is_secret_whatever_its_name_and_masked_line_by_line() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----";
        assert!(is_secret_value(pem));
        let s = Secrets {
            values: vec!["MIIEvQIBADANBgkqhkiG9w0BAQEFAASC".into()],
        };
        assert_eq!(s.mask_var("TLS_MATERIAL", pem), MASK, "masked by its value");
        assert_eq!(
            s.mask("line 2: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
            "line 2: ********",
            "one line of it is masked where it shows up alone"
        );
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
