//! `.env` and `env_file` parsing, following the Compose reference implementation's dotenv rules:
//! `KEY=VALUE`, optional `export `, `#` comments, inline comments after a space in unquoted
//! values, single quotes taken literally, double quotes with escapes, quoted values spanning
//! lines, and interpolation of unquoted and double-quoted values.

use std::fmt;

use crate::interpolate::{interpolate, InterpolationError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    /// `None` for a bare `KEY` line: the value comes from the environment, if it is set there.
    pub value: Option<String>,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DotenvError {
    pub line: u32,
    pub message: String,
}

impl fmt::Display for DotenvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses an env file. `lookup` resolves variables the file does not define itself.
pub fn parse(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<EnvEntry>, DotenvError> {
    let mut entries: Vec<EnvEntry> = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i as u32 + 1;
        let raw = lines[i].trim_end_matches('\r');
        i += 1;
        let line = raw.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let (key, rest) = match line.find('=') {
            Some(eq) => (line[..eq].trim(), Some(&line[eq + 1..])),
            None => (line.trim(), None),
        };
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']'))
        {
            return Err(DotenvError {
                line: line_no,
                message: format!("invalid variable name {key:?}"),
            });
        }
        let Some(rest) = rest else {
            entries.push(EnvEntry {
                key: key.to_owned(),
                value: None,
                line: line_no,
            });
            continue;
        };
        let rest = rest.trim_start();
        let lookup_here = |name: &str| -> Option<String> {
            entries
                .iter()
                .rev()
                .find(|e| e.key == name)
                .and_then(|e| e.value.clone())
                .or_else(|| lookup(name))
        };
        let interp = |s: &str| -> Result<String, DotenvError> {
            interpolate(s, &lookup_here)
                .map(|r| r.value)
                .map_err(|e| DotenvError {
                    line: line_no,
                    message: match e {
                        InterpolationError::Required { .. }
                        | InterpolationError::Invalid { .. }
                        | InterpolationError::TooDeep { .. } => e.to_string(),
                    },
                })
        };
        let value = if let Some(quote @ ('\'' | '"')) = rest.chars().next() {
            // A quoted value may continue over the following lines until its closing quote.
            let mut body = String::from(&rest[1..]);
            let close = loop {
                if let Some(pos) = closing_quote(&body, quote) {
                    break pos;
                }
                if i >= lines.len() {
                    return Err(DotenvError {
                        line: line_no,
                        message: format!("unterminated {quote} quote"),
                    });
                }
                body.push('\n');
                body.push_str(lines[i].trim_end_matches('\r'));
                i += 1;
            };
            let inner = &body[..close];
            if quote == '\'' {
                inner.to_owned()
            } else {
                interp(&unescape_double(inner))?
            }
        } else {
            let v = match rest.find(" #") {
                Some(p) => &rest[..p],
                None => rest,
            };
            interp(v.trim())?
        };
        entries.push(EnvEntry {
            key: key.to_owned(),
            value: Some(value),
            line: line_no,
        });
    }
    Ok(entries)
}

fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (idx, c) in body.char_indices() {
        if quote == '"' && c == '\\' && !escaped {
            escaped = true;
            continue;
        }
        if c == quote && !escaped {
            return Some(idx);
        }
        escaped = false;
    }
    None
}

fn unescape_double(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            // `\$` keeps the dollar out of interpolation.
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<(String, Option<String>)> {
        parse(text, &|k| (k == "HOME_SET").then(|| "/home/x".to_string()))
            .unwrap()
            .into_iter()
            .map(|e| (e.key, e.value))
            .collect()
    }

    fn kv(k: &str, v: &str) -> (String, Option<String>) {
        (k.to_string(), Some(v.to_string()))
    }

    #[test]
    fn dotenv_cases_from_the_compose_reference() {
        let got = parse_ok(concat!(
            "# comment\n",
            "\n",
            "PLAIN=value\n",
            "export EXPORTED=yes\n",
            "SPACED = padded  \n",
            "INLINE=value # a comment\n",
            "HASH=no#comment\n",
            "SINGLE='lit $PLAIN \\n'\n",
            "DOUBLE=\"esc\\n $PLAIN\"\n",
            "REF=${PLAIN}-x\n",
            "DEF=${MISSING:-fallback}\n",
            "FROMENV=$HOME_SET\n",
            "EMPTY=\n",
            "BARE\n",
            "MULTI=\"line1\n",
            "line2\"\n",
            "CRLF=win\r\n",
            "URL=postgresql://u:p@db:5432/x?sslmode=disable\n",
        ));
        assert_eq!(
            got,
            vec![
                kv("PLAIN", "value"),
                kv("EXPORTED", "yes"),
                kv("SPACED", "padded"),
                kv("INLINE", "value"),
                kv("HASH", "no#comment"),
                kv("SINGLE", "lit $PLAIN \\n"),
                kv("DOUBLE", "esc\n value"),
                kv("REF", "value-x"),
                kv("DEF", "fallback"),
                kv("FROMENV", "/home/x"),
                kv("EMPTY", ""),
                ("BARE".to_string(), None),
                kv("MULTI", "line1\nline2"),
                kv("CRLF", "win"),
                kv("URL", "postgresql://u:p@db:5432/x?sslmode=disable"),
            ]
        );
    }

    #[test]
    fn errors_carry_the_line() {
        let e = parse("A=1\nB=\"open\n", &|_| None).unwrap_err();
        assert_eq!(e.line, 2, "the unterminated quote starts on line 2");
        let e = parse("A=1\n\nbad key=1\n", &|_| None).unwrap_err();
        assert_eq!(e.line, 3);
        let e = parse("X=${NEEDED:?please set}\n", &|_| None).unwrap_err();
        assert!(e.message.contains("NEEDED") && e.message.contains("please set"));
    }
}
