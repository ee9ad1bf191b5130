//! Variable interpolation exactly as the Compose specification describes it.
//!
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`,
//! `${VAR:+replacement}`, `${VAR+replacement}`, nested expressions inside the default or
//! replacement, `$$` for a literal `$`, and a `$` that starts nothing kept as it is (Compose v2).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?message}` or `${VAR?message}` with VAR missing (or empty, for `:?`).
    Required { variable: String, message: String },
    /// An unterminated `${`, or one without a variable name.
    Invalid { template: String },
    /// `${A:-${B:-...}}` nested deeper than `limit` levels.
    TooDeep { limit: usize },
}

impl fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterpolationError::Required { variable, message } => {
                if message.is_empty() {
                    write!(f, "required variable {variable} is missing a value")
                } else {
                    write!(
                        f,
                        "required variable {variable} is missing a value: {message}"
                    )
                }
            }
            // The template is not quoted: it may hold a secret (the caller says where it is).
            InterpolationError::Invalid { .. } => {
                write!(f, "invalid interpolation format (write $$ for a literal $)")
            }
            InterpolationError::TooDeep { limit } => {
                write!(f, "variables nested deeper than {limit} levels")
            }
        }
    }
}

/// What interpolating one string found besides its result.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables referenced without a default that were not set: Compose substitutes an empty
    /// string and warns.
    pub unset: Vec<String>,
}

/// Interpolates `template`, looking variables up with `lookup`.
pub fn interpolate(
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Interpolated, InterpolationError> {
    let mut out = Interpolated::default();
    if !template.contains('$') {
        out.value = template.to_owned();
        return Ok(out);
    }
    let mut p = Interp {
        src: template,
        lookup,
        unset: Vec::new(),
        depth: 0,
    };
    out.value = p.run(template)?;
    out.unset = p.unset;
    Ok(out)
}

/// How deep `${A:-${B:-...}}` may nest. Each level is a recursion and a scan of its own text, so
/// the bound keeps the stack safe and the work linear in the template's length (times this).
const MAX_NESTING: usize = 32;

struct Interp<'a> {
    src: &'a str,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    unset: Vec<String>,
    depth: usize,
}

fn is_name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

impl Interp<'_> {
    fn invalid(&self) -> InterpolationError {
        InterpolationError::Invalid {
            template: self.src.to_owned(),
        }
    }

    fn run(&mut self, s: &str) -> Result<String, InterpolationError> {
        if self.depth >= MAX_NESTING {
            return Err(InterpolationError::TooDeep { limit: MAX_NESTING });
        }
        self.depth += 1;
        let out = self.run_level(s);
        self.depth -= 1;
        out
    }

    fn run_level(&mut self, s: &str) -> Result<String, InterpolationError> {
        let bytes = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut i = 0;
        while i < bytes.len() {
            let Some(rel) = s[i..].find('$') else {
                out.push_str(&s[i..]);
                break;
            };
            out.push_str(&s[i..i + rel]);
            i += rel;
            let next = bytes.get(i + 1).copied();
            match next {
                Some(b'$') => {
                    out.push('$');
                    i += 2;
                }
                Some(b'{') => {
                    let end = matching_brace(s, i + 1).ok_or_else(|| self.invalid())?;
                    let inner = &s[i + 2..end];
                    out.push_str(&self.braced(inner)?);
                    i = end + 1;
                }
                Some(c) if is_name_start(c) => {
                    let start = i + 1;
                    let mut j = start;
                    while j < bytes.len() && is_name_char(bytes[j]) {
                        j += 1;
                    }
                    let name = &s[start..j];
                    out.push_str(&self.get_or_empty(name));
                    i = j;
                }
                // A `$` that starts nothing stays itself, as in Compose v2: "a $ string",
                // "^REGEX$".
                _ => {
                    out.push('$');
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    fn get_or_empty(&mut self, name: &str) -> String {
        match (self.lookup)(name) {
            Some(v) => v,
            None => {
                if !self.unset.iter().any(|u| u == name) {
                    self.unset.push(name.to_owned());
                }
                String::new()
            }
        }
    }

    fn braced(&mut self, inner: &str) -> Result<String, InterpolationError> {
        let bytes = inner.as_bytes();
        if bytes.is_empty() || !is_name_start(bytes[0]) {
            return Err(self.invalid());
        }
        let mut j = 1;
        while j < bytes.len() && is_name_char(bytes[j]) {
            j += 1;
        }
        let name = &inner[..j];
        let rest = &inner[j..];
        if rest.is_empty() {
            return Ok(self.get_or_empty(name));
        }
        let (colon, op, arg) = if let Some(r) = rest.strip_prefix(':') {
            let mut chars = r.chars();
            match chars.next() {
                Some(op @ ('-' | '?' | '+')) => (true, op, chars.as_str()),
                _ => return Err(self.invalid()),
            }
        } else {
            let mut chars = rest.chars();
            match chars.next() {
                Some(op @ ('-' | '?' | '+')) => (false, op, chars.as_str()),
                _ => return Err(self.invalid()),
            }
        };
        let value = (self.lookup)(name);
        // With a colon, an empty value counts as missing.
        let present = match &value {
            Some(v) => !(colon && v.is_empty()),
            None => false,
        };
        match op {
            '-' => {
                if present {
                    Ok(value.unwrap_or_default())
                } else {
                    self.run(arg)
                }
            }
            '+' => {
                if present {
                    self.run(arg)
                } else {
                    Ok(String::new())
                }
            }
            _ => {
                if present {
                    Ok(value.unwrap_or_default())
                } else {
                    let message = self.run(arg)?;
                    Err(InterpolationError::Required {
                        variable: name.to_owned(),
                        message,
                    })
                }
            }
        }
    }
}

/// Index of the `}` closing the `{` at `open`, counting nested `${`.
fn matching_brace(s: &str, open: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'{' if i == open => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(t: &str) -> Result<String, InterpolationError> {
        let env: HashMap<&str, &str> = [("FOO", "first"), ("BAR", ""), ("N", "3")].into();
        interpolate(t, &|k| env.get(k).map(|v| v.to_string())).map(|i| i.value)
    }

    #[test]
    fn forms_follow_the_compose_reference() {
        // Cases from the Compose reference implementation's template tests.
        assert_eq!(run("$FOO").unwrap(), "first");
        assert_eq!(run("${FOO}").unwrap(), "first");
        assert_eq!(run("${UNSET:-def}").unwrap(), "def");
        assert_eq!(
            run("${BAR:-def}").unwrap(),
            "def",
            ":- treats empty as missing"
        );
        assert_eq!(run("${BAR-def}").unwrap(), "", "- keeps an empty value");
        assert_eq!(run("${UNSET-def}").unwrap(), "def");
        assert_eq!(run("${FOO:+alt}").unwrap(), "alt");
        assert_eq!(run("${BAR:+alt}").unwrap(), "");
        assert_eq!(
            run("${BAR+alt}").unwrap(),
            "alt",
            "+ only needs the variable set"
        );
        assert_eq!(run("${UNSET+alt}").unwrap(), "");
        assert_eq!(run("$$FOO").unwrap(), "$FOO");
        assert_eq!(run("a$$b$${FOO}").unwrap(), "a$b${FOO}");
        assert_eq!(run("${UNSET:-${FOO}}").unwrap(), "first");
        assert_eq!(run("${UNSET:-${ALSO:-deep}}").unwrap(), "deep");
        assert_eq!(run("${UNSET:-a ${N} b}").unwrap(), "a 3 b");
        assert_eq!(run("x${FOO}y$N.z").unwrap(), "xfirsty3.z");
        assert_eq!(run("${UNSET:-}").unwrap(), "");
        assert_eq!(
            run("${UNSET:-with:colon-and-dash}").unwrap(),
            "with:colon-and-dash"
        );
    }

    #[test]
    fn required_forms_name_the_variable_and_message() {
        assert_eq!(
            run("${UNSET:?set it in .env}").unwrap_err(),
            InterpolationError::Required {
                variable: "UNSET".into(),
                message: "set it in .env".into()
            }
        );
        assert!(run("${BAR:?empty}").is_err(), ":? rejects an empty value");
        assert_eq!(run("${BAR?empty}").unwrap(), "", "? accepts an empty value");
        assert_eq!(run("${FOO?x}").unwrap(), "first");
    }

    #[test]
    fn malformed_templates_are_errors_not_panics() {
        for t in ["${", "${}", "${FOO", "${9X}", "${FOO:}", "${FOO!x}"] {
            assert!(
                matches!(run(t), Err(InterpolationError::Invalid { .. })),
                "{t:?} should be rejected"
            );
        }
    }

    #[test]
    fn a_dollar_that_starts_nothing_stays_as_in_compose_v2() {
        for (t, want) in [
            ("$", "$"),
            ("a $ string", "a $ string"),
            ("^REGEX$", "^REGEX$"),
            ("$1", "$1"),
            ("cost: 5$ ${FOO}", "cost: 5$ first"),
        ] {
            assert_eq!(run(t).expect(t), want, "{t:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}x{}", "${A:-".repeat(100_000), "}".repeat(100_000));
        assert_eq!(
            run(&deep),
            Err(InterpolationError::TooDeep { limit: MAX_NESTING }),
            "a hundred thousand levels are refused with the limit"
        );
        let ok = format!(
            "{}x{}",
            "${A:-".repeat(MAX_NESTING - 1),
            "}".repeat(MAX_NESTING - 1)
        );
        assert_eq!(run(&ok).expect("within the limit"), "x");
    }

    #[test]
    fn errors_do_not_quote_the_value() {
        let e = run("hunter2-secret${").expect_err("unterminated");
        assert!(
            !e.to_string().contains("hunter2"),
            "the message must not quote a value that may be secret: {e}"
        );
    }

    #[test]
    fn unset_variables_are_reported() {
        let r = interpolate("${A}-$B-${C:-x}", &|_| None).unwrap();
        assert_eq!(r.value, "--x");
        assert_eq!(r.unset, vec!["A".to_string(), "B".to_string()]);
    }
}
