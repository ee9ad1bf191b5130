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

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value as Json};

use crate::yaml::{MergeTag, Node, Pos, Value};

const SCHEMA: &str = include_str!("../schema/compose-spec.json");

/// One reason the file does not match the schema: where, the dotted path Compose would print,
/// and the sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaError {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

struct Compiled {
    root: Json,
    /// `pattern`/`patternProperties` regexes, compiled once (the schema has seven).
    regexes: Vec<(String, Regex)>,
}

fn compiled() -> &'static Compiled {
    static C: OnceLock<Compiled> = OnceLock::new();
    C.get_or_init(|| {
        // The schema is part of the build; a parse failure is a build defect caught by every
        // test, never a user's input.
        let root: Json = serde_json::from_str(SCHEMA).unwrap_or(Json::Bool(true));
        let mut patterns = Vec::new();
        collect_patterns(&root, &mut patterns);
        let regexes = patterns
            .into_iter()
            .filter_map(|p| Regex::new(&p).ok().map(|r| (p, r)))
            .collect();
        Compiled { root, regexes }
    })
}

fn collect_patterns(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, child) in m {
                if k == "pattern" {
                    if let Json::String(p) = child {
                        if !out.contains(p) {
                            out.push(p.clone());
                        }
                    }
                } else if k == "patternProperties" {
                    if let Json::Object(pp) = child {
                        for p in pp.keys() {
                            if !out.contains(p) {
                                out.push(p.clone());
                            }
                        }
                    }
                }
                collect_patterns(child, out);
            }
        }
        Json::Array(items) => items.iter().for_each(|i| collect_patterns(i, out)),
        _ => {}
    }
}

/// Checks one compose file's tree (after interpolation, before any normalisation). Returns the
/// most specific failure, as Compose reports only one.
pub fn validate(root: &Node) -> Result<(), SchemaError> {
    let c = compiled();
    let mut v = Validator { c, depth: 0 };
    let mut path = Vec::new();
    v.check(&c.root, root, None, &mut path).map_err(|mut errs| {
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

fn type_matches(want: &str, k: Kind) -> bool {
    match want {
        "null" => k == Kind::Null,
        "boolean" => k == Kind::Bool,
        "integer" => k == Kind::Integer,
        "number" => matches!(k, Kind::Integer | Kind::Number),
        "string" => k == Kind::String,
        "array" => k == Kind::Array,
        "object" => k == Kind::Object,
        _ => true,
    }
}

/// The schema nests about 12 levels and compose files a little more; this guards against a
/// `$ref` loop in a future schema, not against input (the YAML tree depth is capped already).
const MAX_DEPTH: usize = 512;

struct Validator<'a> {
    c: &'a Compiled,
    depth: usize,
}

type Checked = Result<(), Vec<Failure>>;

impl Validator<'_> {
    fn fail(&self, node: &Node, path: &[String], message: String) -> Vec<Failure> {
        vec![Failure {
            pos: node.pos.clone(),
            path: path.join("."),
            depth: path.len(),
            message,
        }]
    }

    fn resolve<'s>(&'s self, reference: &str) -> Option<&'s Json> {
        let pointer = reference.strip_prefix('#')?;
        self.c.root.pointer(pointer)
    }

    fn regex(&self, pattern: &str) -> Option<&Regex> {
        self.c
            .regexes
            .iter()
            .find(|(p, _)| p == pattern)
            .map(|(_, r)| r)
    }

    /// `key` is the mapping key node when `node` is a mapping value: errors about the value's
    /// presence point at the key.
    fn check(
        &mut self,
        schema: &Json,
        node: &Node,
        key: Option<&Node>,
        path: &mut Vec<String>,
    ) -> Checked {
        // `!reset` removes the value before Compose validates.
        if node.tag == MergeTag::Reset {
            return Ok(());
        }
        let s = match schema {
            Json::Bool(true) => return Ok(()),
            Json::Bool(false) => {
                return Err(self.fail(key.unwrap_or(node), path, "is not allowed".into()))
            }
            Json::Object(s) => s,
            _ => return Ok(()),
        };
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
        s: &Map<String, Json>,
        node: &Node,
        key: Option<&Node>,
        path: &mut Vec<String>,
    ) -> Checked {
        let mut errors = Vec::new();
        if let Some(Json::String(r)) = s.get("$ref") {
            if let Some(target) = self.resolve(r) {
                let target = target.clone();
                if let Err(e) = self.check(&target, node, key, path) {
                    errors.extend(e);
                }
            }
        }
        let k = kind(node);
        if let Some(t) = s.get("type") {
            let wanted: Vec<&str> = match t {
                Json::String(one) => vec![one.as_str()],
                Json::Array(many) => many.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            if !wanted.is_empty() && !wanted.iter().any(|w| type_matches(w, k)) {
                let names: Vec<&str> = wanted
                    .iter()
                    .map(|w| if *w == "object" { "mapping" } else { w })
                    .collect();
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
        }
        if let Some(Json::Array(options)) = s.get("enum") {
            if !options.iter().any(|o| json_equal(o, node)) {
                let shown: Vec<String> = options.iter().map(|o| o.to_string()).collect();
                errors.extend(self.fail(
                    node,
                    path,
                    format!("must be one of {}", shown.join(", ")),
                ));
            }
        }
        if let Some(c) = s.get("const") {
            if !json_equal(c, node) {
                errors.extend(self.fail(node, path, format!("must be {c}")));
            }
        }
        if let Some(Json::String(p)) = s.get("pattern") {
            if let (Value::Scalar { text, .. }, Some(re)) = (&node.value, self.regex(p)) {
                if k == Kind::String && !re.is_match(text) {
                    errors.extend(self.fail(node, path, format!("does not match pattern {p:?}")));
                }
            }
        }
        for (word, below) in [("minimum", true), ("maximum", false)] {
            if let (Some(limit), Value::Scalar { text, .. }) =
                (s.get(word).and_then(Json::as_f64), &node.value)
            {
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
        if let Some(Json::Array(all)) = s.get("allOf") {
            for sub in all {
                if let Err(e) = self.check(sub, node, key, path) {
                    errors.extend(e);
                }
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            let mut sub_errors = Vec::new();
            let mut matched = false;
            for sub in any {
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
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let mut sub_errors = Vec::new();
            let mut matched = 0;
            for sub in one {
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
        if let Some(not) = s.get("not") {
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
        s: &Map<String, Json>,
        node: &Node,
        entries: &[(Node, Node)],
        path: &mut Vec<String>,
        errors: &mut Vec<Failure>,
    ) {
        let props = s.get("properties").and_then(Json::as_object);
        let pattern_props = s.get("patternProperties").and_then(Json::as_object);
        let additional = s.get("additionalProperties");
        if let Some(Json::Array(required)) = s.get("required") {
            for r in required.iter().filter_map(Json::as_str) {
                if !entries.iter().any(|(k, _)| k.as_scalar() == Some(r)) {
                    errors.extend(self.fail(node, path, format!("missing property '{r}'")));
                }
            }
        }
        if props.is_none() && pattern_props.is_none() && additional.is_none() {
            return;
        }
        for (k, v) in entries {
            let name = key_text(k);
            let mut known = false;
            path.push(name.clone());
            if let Some(sub) = props.and_then(|p| p.get(&name)) {
                known = true;
                if let Err(e) = self.check(sub, v, Some(k), path) {
                    errors.extend(e);
                }
            }
            if let Some(pp) = pattern_props {
                for (pattern, sub) in pp {
                    if self.regex(pattern).is_some_and(|re| re.is_match(&name)) {
                        known = true;
                        if let Err(e) = self.check(sub, v, Some(k), path) {
                            errors.extend(e);
                        }
                    }
                }
            }
            if !known {
                match additional {
                    Some(Json::Bool(false)) => {
                        path.pop();
                        errors.extend(self.fail(
                            k,
                            path,
                            format!("additional properties '{name}' not allowed"),
                        ));
                        continue;
                    }
                    Some(sub @ Json::Object(_)) => {
                        if let Err(e) = self.check(sub, v, Some(k), path) {
                            errors.extend(e);
                        }
                    }
                    _ => {}
                }
            }
            path.pop();
        }
    }

    fn check_seq(
        &mut self,
        s: &Map<String, Json>,
        node: &Node,
        items: &[Node],
        path: &mut Vec<String>,
        errors: &mut Vec<Failure>,
    ) {
        if let Some(sub) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                if let Err(e) = self.check(sub, item, None, path) {
                    errors.extend(e);
                }
                path.pop();
            }
        }
        if s.get("uniqueItems") == Some(&Json::Bool(true)) {
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
fn json_equal(j: &Json, node: &Node) -> bool {
    match (j, &node.value) {
        (Json::Null, Value::Null) => true,
        (Json::String(s), Value::Scalar { text, .. }) => kind(node) == Kind::String && s == text,
        (Json::Bool(b), Value::Scalar { text, .. }) => {
            kind(node) == Kind::Bool && text.eq_ignore_ascii_case(if *b { "true" } else { "false" })
        }
        (Json::Number(n), Value::Scalar { text, .. }) => {
            matches!(kind(node), Kind::Integer | Kind::Number)
                && number_value(text)
                    .zip(n.as_f64())
                    .is_some_and(|(a, b)| a == b)
        }
        _ => false,
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
    fn the_embedded_schema_parses() {
        assert!(
            compiled().root.get("definitions").is_some(),
            "the embedded compose-spec schema must parse and have its definitions"
        );
        assert_eq!(compiled().regexes.len(), 7, "every pattern compiles");
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
