//! The compose-spec JSON schema, applied to our position-carrying tree so that what Compose v2
//! rejects, Berth rejects too, and says where.
//!
//! The schema is the one Compose v2.40.3 embeds (compose-go v2.9.1, `schema/compose-spec.json`,
//! draft-07). It uses a small part of JSON Schema, and this module implements exactly that part:
//! `type`, `properties`, `patternProperties`, `additionalProperties`, `required`, `items`,
//! `oneOf`, `anyOf`, `allOf`, `not`, `enum`, `const`, `uniqueItems`, `minimum`, `maximum`,
//! `pattern`, and local `$ref`s. Anything else (`description`, `deprecated`, `format`, …) is
//! ignored, as compose-go's validator ignores formats it has not registered.
//!
//! Scalars are typed as Compose's YAML 1.2 decoder types them: a plain `8080` is an integer,
//! `true` a boolean, a quoted `"8080"` a string. A value produced by interpolation is a string
//! (the loader marks it not plain), as in compose-go.

use crate::yaml::{MergeTag, Node, Pos, Value};

/// One schema object, compiled by `build.rs` from `schema/compose-spec.json`. Sub-schemas are
/// indices into [`SCHEMA`]; index 0 is the root.
pub(crate) struct Sch {
    /// `true`/`false` schemas.
    always: Option<bool>,
    /// Bit set of JSON types (see [`type_bit`]); 0 means any.
    types: u8,
    reference: Option<u16>,
    properties: &'static [(&'static str, u16)],
    pattern_properties: &'static [(&'static str, u16)],
    additional: Additional,
    required: &'static [&'static str],
    items: Option<u16>,
    one_of: &'static [u16],
    any_of: &'static [u16],
    all_of: &'static [u16],
    not: Option<u16>,
    enumeration: &'static [Lit],
    constant: Option<Lit>,
    unique: bool,
    minimum: Option<f64>,
    maximum: Option<f64>,
    pattern: Option<&'static str>,
}

// The generator can emit every variant; the schema of today uses only some of them.
#[allow(dead_code)]
#[derive(Clone, Copy)]
enum Additional {
    Any,
    Deny,
    Schema(u16),
}

#[allow(dead_code)]
#[derive(Clone, Copy, Debug)]
enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(&'static str),
}

impl Sch {
    const ANY: Sch = Sch {
        always: None,
        types: 0,
        reference: None,
        properties: &[],
        pattern_properties: &[],
        additional: Additional::Any,
        required: &[],
        items: None,
        one_of: &[],
        any_of: &[],
        all_of: &[],
        not: None,
        enumeration: &[],
        constant: None,
        unique: false,
        minimum: None,
        maximum: None,
        pattern: None,
    };
}

include!(concat!(env!("OUT_DIR"), "/schema_gen.rs"));

fn sch(i: u16) -> &'static Sch {
    &SCHEMA[i as usize]
}

/// One reason the file does not match the schema: where, the dotted path Compose would print,
/// and the sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

/// The schema's seven `pattern`/`patternProperties` expressions, matched by hand: compiling
/// them with the regex crate cost more than the whole rest of a seed's load (its caches are
/// allocated and zeroed on every start). A pattern not listed here (a future schema) falls back
/// to a regex; a unit test keeps this list complete.
fn pattern_matches(pattern: &str, text: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    match pattern {
        "^x-" => text.starts_with("x-"),
        "^.+$" => !text.is_empty() && !text.contains('\n'),
        ".+" => text.chars().any(|c| c != '\n'),
        "^[a-zA-Z0-9._-]+$" => !text.is_empty() && text.chars().all(name_char),
        "^[a-z]+$" => !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase()),
        "[a-zA-Z0-9][a-zA-Z0-9_.-]+" => text
            .as_bytes()
            .windows(2)
            .any(|w| w[0].is_ascii_alphanumeric() && name_char(w[1] as char)),
        "always|never|build|if_not_present|missing|refresh|daily|weekly|every_([0-9]+[wdhms])+" => {
            [
                "always",
                "never",
                "build",
                "if_not_present",
                "missing",
                "refresh",
                "daily",
                "weekly",
            ]
            .iter()
            .any(|w| text.contains(w))
                || text.match_indices("every_").any(|(i, m)| {
                    let rest = &text[i + m.len()..];
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    digits > 0 && rest[digits..].starts_with(['w', 'd', 'h', 'm', 's'])
                })
        }
        other => regex::Regex::new(other).is_ok_and(|re| re.is_match(text)),
    }
}

/// Checks one compose file's tree (after interpolation, before any normalisation). Returns the
/// most specific failure, as Compose reports only one.
pub fn validate(root: &Node) -> Result<(), SchemaError> {
    let mut v = Validator { depth: 0 };
    let mut path = Vec::new();
    v.check(0, root, None, &mut path).map_err(|mut errs| {
        // The deepest failure names the actual mistake; a shallower one ("does not match any
        // of oneOf") only says that something below it is wrong.
        errs.sort_by_key(|e| std::cmp::Reverse(e.depth));
        let e = errs.swap_remove(0);
        SchemaError {
            pos: e.pos,
            path: if e.path.is_empty() {
                "(root)".into()
            } else {
                e.path
            },
            message: e.message,
        }
    })
}

struct Failure {
    pos: Pos,
    path: String,
    depth: usize,
    message: String,
}

/// The JSON type of a node as Compose's decoder would give it.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Null,
    Bool,
    Integer,
    Number,
    String,
    Array,
    Object,
}

fn kind(node: &Node) -> Kind {
    match &node.value {
        Value::Null => Kind::Null,
        Value::Seq(_) => Kind::Array,
        Value::Map(_) => Kind::Object,
        Value::Scalar { text, plain } => {
            if !plain {
                Kind::String
            } else {
                scalar_kind(text)
            }
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar, as go-yaml v3 applies it.
fn scalar_kind(text: &str) -> Kind {
    match text {
        "true" | "True" | "TRUE" | "false" | "False" | "FALSE" => return Kind::Bool,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => return Kind::Number,
        _ => {}
    }
    let t = text.replace('_', "");
    let digits = t.strip_prefix(['-', '+']).unwrap_or(&t);
    let is_int = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        || digits
            .strip_prefix("0x")
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        || digits
            .strip_prefix("0o")
            .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        || digits
            .strip_prefix("0b")
            .is_some_and(|o| !o.is_empty() && o.bytes().all(|b| b == b'0' || b == b'1'));
    if is_int {
        return Kind::Integer;
    }
    if is_float(digits) {
        return Kind::Number;
    }
    Kind::String
}

/// `1.5`, `.5`, `1.`, `1e3`, `1.5E-3` (sign already stripped).
fn is_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (mantissa, None),
    };
    let all_digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match frac {
        Some(f) => all_digits(int) && all_digits(f) && !(int.is_empty() && f.is_empty()),
        None => !int.is_empty() && all_digits(int),
    };
    let exp_ok = exp.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && all_digits(e)
    });
    mantissa_ok && exp_ok && (frac.is_some() || exp.is_some())
}

fn type_bit(k: Kind) -> u8 {
    match k {
        Kind::Null => 1,
        Kind::Bool => 2,
        // An integer is a number too.
        Kind::Integer => 4 | 8,
        Kind::Number => 8,
        Kind::String => 16,
        Kind::Array => 32,
        Kind::Object => 64,
    }
}

/// The names of a type bit set, for messages.
fn type_names(bits: u8) -> Vec<&'static str> {
    [
        (16, "string"),
        (4, "integer"),
        (8, "number"),
        (2, "boolean"),
        (32, "array"),
        (64, "mapping"),
        (1, "null"),
    ]
    .iter()
    .filter(|(b, _)| bits & b != 0)
    .map(|(_, n)| *n)
    .collect()
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Null => "null",
        Kind::Bool => "boolean",
        Kind::Integer => "integer",
        Kind::Number => "number",
        Kind::String => "string",
        Kind::Array => "array",
        Kind::Object => "mapping",
    }
}

/// The schema nests about 12 levels and compose files a little more; this guards against a
/// `$ref` loop in a future schema, not against input (the YAML tree depth is capped already).
const MAX_DEPTH: usize = 512;

struct Validator {
    depth: usize,
}

type Checked = Result<(), Vec<Failure>>;

impl Validator {
    fn fail(&self, node: &Node, path: &[String], message: String) -> Vec<Failure> {
        vec![Failure {
            pos: node.pos.clone(),
            path: path.join("."),
            depth: path.len(),
            message,
        }]
    }

    /// `key` is the mapping key node when `node` is a mapping value: errors about the value's
    /// presence point at the key.
    fn check(
        &mut self,
        schema: u16,
        node: &Node,
        key: Option<&Node>,
        path: &mut Vec<String>,
    ) -> Checked {
        // `!reset` removes the value before Compose validates.
        if node.tag == MergeTag::Reset {
            return Ok(());
        }
        let s = sch(schema);
        match s.always {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(self.fail(key.unwrap_or(node), path, "is not allowed".into()))
            }
            None => {}
        }
        if self.depth > MAX_DEPTH {
            return Ok(());
        }
        self.depth += 1;
        let r = self.check_object(s, node, key, path);
        self.depth -= 1;
        r
    }

    fn check_object(
        &mut self,
        s: &'static Sch,
        node: &Node,
        key: Option<&Node>,
        path: &mut Vec<String>,
    ) -> Checked {
        let mut errors = Vec::new();
        if let Some(target) = s.reference {
            if let Err(e) = self.check(target, node, key, path) {
                errors.extend(e);
            }
        }
        let k = kind(node);
        if s.types != 0 && s.types & type_bit(k) == 0 {
            let names = type_names(s.types);
            let article = if names[0].starts_with(['a', 'i']) {
                "an"
            } else {
                "a"
            };
            errors.extend(self.fail(
                node,
                path,
                format!(
                    "must be {article} {}, found {}",
                    names.join(" or "),
                    kind_name(k)
                ),
            ));
            // The other keywords assume the right type; Compose stops at this one too.
            return Err(errors);
        }
        if !s.enumeration.is_empty() && !s.enumeration.iter().any(|o| lit_equal(o, node)) {
            let shown: Vec<String> = s.enumeration.iter().map(lit_text).collect();
            errors.extend(self.fail(node, path, format!("must be one of {}", shown.join(", "))));
        }
        if let Some(c) = &s.constant {
            if !lit_equal(c, node) {
                errors.extend(self.fail(node, path, format!("must be {}", lit_text(c))));
            }
        }
        if let Some(p) = s.pattern {
            if let Value::Scalar { text, .. } = &node.value {
                if k == Kind::String && !pattern_matches(p, text) {
                    errors.extend(self.fail(node, path, format!("does not match pattern {p:?}")));
                }
            }
        }
        for (limit, below) in [(s.minimum, true), (s.maximum, false)] {
            if let (Some(limit), Value::Scalar { text, .. }) = (limit, &node.value) {
                if matches!(k, Kind::Integer | Kind::Number) {
                    if let Some(n) = number_value(text) {
                        if (below && n < limit) || (!below && n > limit) {
                            let rel = if below { "greater" } else { "less" };
                            errors.extend(self.fail(
                                node,
                                path,
                                format!("must be {rel} than or equal to {limit}"),
                            ));
                        }
                    }
                }
            }
        }
        if !s.all_of.is_empty() {
            for &sub in s.all_of {
                if let Err(e) = self.check(sub, node, key, path) {
                    errors.extend(e);
                }
            }
        }
        if !s.any_of.is_empty() {
            let mut sub_errors = Vec::new();
            let mut matched = false;
            for &sub in s.any_of {
                match self.check(sub, node, key, path) {
                    Ok(()) => {
                        matched = true;
                        break;
                    }
                    Err(e) => sub_errors.extend(e),
                }
            }
            if !matched {
                errors.extend(sub_errors);
            }
        }
        if !s.one_of.is_empty() {
            let mut sub_errors = Vec::new();
            let mut matched = 0;
            for &sub in s.one_of {
                match self.check(sub, node, key, path) {
                    Ok(()) => matched += 1,
                    Err(e) => sub_errors.extend(e),
                }
            }
            if matched == 0 {
                // Only the branches of the node's own type say something useful: "must be a
                // string" from the string branch of a mapping is noise.
                let own: Vec<Failure> = sub_errors
                    .into_iter()
                    .filter(|f| f.depth > path.len() || !f.message.starts_with("must be a"))
                    .collect();
                if own.is_empty() {
                    errors.extend(self.fail(
                        node,
                        path,
                        format!("{} is not a valid form here", kind_name(k)),
                    ));
                } else {
                    errors.extend(own);
                }
            } else if matched > 1 {
                errors.extend(self.fail(node, path, "matches more than one form".into()));
            }
        }
        if let Some(not) = s.not {
            if self.check(not, node, key, path).is_ok() {
                errors.extend(self.fail(node, path, "is not allowed".into()));
            }
        }
        match &node.value {
            Value::Map(entries) => self.check_map(s, node, entries, path, &mut errors),
            Value::Seq(items) => self.check_seq(s, node, items, path, &mut errors),
            _ => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check_map(
        &mut self,
        s: &'static Sch,
        node: &Node,
        entries: &[(Node, Node)],
        path: &mut Vec<String>,
        errors: &mut Vec<Failure>,
    ) {
        for &r in s.required {
            {
                if !entries.iter().any(|(k, _)| k.as_scalar() == Some(r)) {
                    errors.extend(self.fail(node, path, format!("missing property '{r}'")));
                }
            }
        }
        if s.properties.is_empty()
            && s.pattern_properties.is_empty()
            && matches!(s.additional, Additional::Any)
        {
            return;
        }
        for (k, v) in entries {
            let name = key_text(k);
            let mut known = false;
            path.push(name.clone());
            if let Some(&(_, sub)) = s.properties.iter().find(|(p, _)| *p == name) {
                known = true;
                if let Err(e) = self.check(sub, v, Some(k), path) {
                    errors.extend(e);
                }
            }
            {
                for &(pattern, sub) in s.pattern_properties {
                    if pattern_matches(pattern, &name) {
                        known = true;
                        if let Err(e) = self.check(sub, v, Some(k), path) {
                            errors.extend(e);
                        }
                    }
                }
            }
            if !known {
                match s.additional {
                    Additional::Deny => {
                        path.pop();
                        errors.extend(self.fail(
                            k,
                            path,
                            format!("additional properties '{name}' not allowed"),
                        ));
                        continue;
                    }
                    Additional::Schema(sub) => {
                        if let Err(e) = self.check(sub, v, Some(k), path) {
                            errors.extend(e);
                        }
                    }
                    Additional::Any => {}
                }
            }
            path.pop();
        }
    }

    fn check_seq(
        &mut self,
        s: &'static Sch,
        node: &Node,
        items: &[Node],
        path: &mut Vec<String>,
        errors: &mut Vec<Failure>,
    ) {
        if let Some(sub) = s.items {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                if let Err(e) = self.check(sub, item, None, path) {
                    errors.extend(e);
                }
                path.pop();
            }
        }
        if s.unique {
            for (i, a) in items.iter().enumerate() {
                if let Some(j) = items[..i].iter().position(|b| same_value(a, b)) {
                    errors.extend(self.fail(node, path, format!("items at {j} and {i} are equal")));
                    break;
                }
            }
        }
    }
}

fn key_text(k: &Node) -> String {
    match &k.value {
        Value::Scalar { text, .. } => text.clone(),
        Value::Null => "null".into(),
        _ => String::new(),
    }
}

fn number_value(text: &str) -> Option<f64> {
    let t = text.replace('_', "");
    t.parse::<f64>().ok().or_else(|| {
        let (neg, d) = match t.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, t.strip_prefix('+').unwrap_or(&t)),
        };
        let (radix, digits) = if let Some(h) = d.strip_prefix("0x") {
            (16, h)
        } else if let Some(o) = d.strip_prefix("0o") {
            (8, o)
        } else if let Some(b) = d.strip_prefix("0b") {
            (2, b)
        } else {
            return None;
        };
        let v = i64::from_str_radix(digits, radix).ok()? as f64;
        Some(if neg { -v } else { v })
    })
}

/// A schema constant against a node, by JSON value.
fn lit_equal(l: &Lit, node: &Node) -> bool {
    match (l, &node.value) {
        (Lit::Null, Value::Null) => true,
        (Lit::Str(s), Value::Scalar { text, .. }) => kind(node) == Kind::String && s == text,
        (Lit::Bool(b), Value::Scalar { text, .. }) => {
            kind(node) == Kind::Bool && text.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (Lit::Num(n), Value::Scalar { text, .. }) => {
            matches!(kind(node), Kind::Integer | Kind::Number) && number_value(text) == Some(*n)
        }
        _ => false,
    }
}

fn lit_text(l: &Lit) -> String {
    match l {
        Lit::Null => "null".into(),
        Lit::Bool(b) => b.to_string(),
        Lit::Num(n) => n.to_string(),
        Lit::Str(s) => format!("{s:?}"),
    }
}

/// Equality of two nodes as JSON values (positions and scalar styles of equal strings ignored).
pub(crate) fn same_value(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Scalar { text: x, .. }, Value::Scalar { text: y, .. }) => {
            let (ka, kb) = (kind(a), kind(b));
            if ka == kb && x == y {
                return true;
            }
            matches!(ka, Kind::Integer | Kind::Number)
                && matches!(kb, Kind::Integer | Kind::Number)
                && number_value(x).is_some()
                && number_value(x) == number_value(y)
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .any(|(k2, v2)| key_text(k) == key_text(k2) && same_value(v, v2))
                })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn check(src: &str) -> Result<(), SchemaError> {
        validate(&parse(src, "compose.yaml").expect("test YAML parses"))
    }

    #[test]
    fn the_compiled_schema_is_the_compose_spec() {
        let names: Vec<&str> = sch(0).properties.iter().map(|(n, _)| *n).collect();
        for want in ["services", "networks", "volumes", "include", "name"] {
            assert!(names.contains(&want), "the root allows {want}: {names:?}");
        }
        assert!(
            matches!(sch(0).additional, Additional::Deny),
            "unknown top-level keys are refused"
        );
        assert!(
            SCHEMA.len() > 300,
            "every definition compiled: {}",
            SCHEMA.len()
        );
    }

    #[test]
    fn scalars_are_typed_as_yaml_1_2() {
        for (t, k) in [
            ("80", Kind::Integer),
            ("-3", Kind::Integer),
            ("0x1F", Kind::Integer),
            ("1_000", Kind::Integer),
            ("1.5", Kind::Number),
            ("1e3", Kind::Number),
            (".5", Kind::Number),
            ("true", Kind::Bool),
            ("yes", Kind::String),
            ("8080:80", Kind::String),
            ("1.2.3", Kind::String),
            ("", Kind::String),
            ("e3", Kind::String),
        ] {
            assert_eq!(scalar_kind(t), k, "{t:?}");
        }
    }

    #[test]
    fn an_unknown_service_key_is_refused_at_the_key() {
        let e = check("services:\n  web:\n    image: nginx\n    imagee: x\n").unwrap_err();
        assert_eq!(e.path, "services.web");
        assert!(e.message.contains("'imagee'"), "{}", e.message);
        assert_eq!((e.pos.line, e.pos.col), (4, 5), "points at the key");
    }

    #[test]
    fn extension_keys_stay_allowed() {
        check("x-any: {a: 1}\nservices:\n  web:\n    image: nginx\n    x-note: [1, 2]\n")
            .expect("x- keys are allowed at the top and in a service");
    }

    #[test]
    fn a_wrong_type_names_the_path_and_the_types() {
        let e = check("services:\n  web:\n    image: nginx\n    ports: \"80:80\"\n").unwrap_err();
        assert_eq!(e.path, "services.web.ports");
        assert!(e.message.contains("array"), "{}", e.message);
        let e = check(
            "services:\n  web:\n    image: nginx\n    ports:\n      - {target: 80, hostt: 1}\n",
        )
        .unwrap_err();
        assert!(
            e.message.contains("'hostt'"),
            "the deepest oneOf branch wins: {e:?}"
        );
    }

    #[test]
    fn quoted_numbers_are_strings_and_plain_ones_are_not() {
        check("services:\n  web:\n    image: nginx\n    ports: [80, \"81:81\"]\n")
            .expect("both forms");
        let e = check("services:\n  web:\n    image: 5\n").unwrap_err();
        assert!(e.message.contains("string"), "{}", e.message);
        check("services:\n  web:\n    image: \"5\"\n").expect("a quoted 5 is a string");
    }

    #[test]
    fn reset_values_are_not_validated() {
        check("services:\n  web:\n    image: nginx\n    ports: !reset null\n")
            .expect("!reset removes the value before validation");
    }

    #[test]
    fn duplicate_list_items_are_refused_where_the_schema_says_unique() {
        let e = check("services:\n  web:\n    image: nginx\n    dns: [1.1.1.1, 1.1.1.1]\n");
        // dns is string_or_list: a list of unique strings.
        assert!(e.is_err(), "duplicate dns entries are refused by v2");
    }
}
