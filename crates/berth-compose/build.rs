//! Compiles `schema/compose-spec.json` into static Rust data (`$OUT_DIR/schema_gen.rs`), so a
//! load pays nothing to parse or allocate the schema: parsing the JSON at start-up cost about a
//! millisecond of every `berth inspect`.
//!
//! Each schema object becomes one `Sch` in a flat array; `$ref`s, `items`, `oneOf`… are indices
//! into it, resolved here. Only the keywords the validator implements are kept.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde_json::Value;

struct Gen {
    out: Vec<String>,
    /// `#/definitions/x` → index, filled before anything refers to them.
    defs: HashMap<String, usize>,
}

fn lit(v: &Value) -> String {
    match v {
        Value::Null => "Lit::Null".into(),
        Value::Bool(b) => format!("Lit::Bool({b})"),
        Value::Number(n) => format!("Lit::Num({:?})", n.as_f64().unwrap_or(0.0)),
        Value::String(s) => format!("Lit::Str({s:?})"),
        _ => "Lit::Null".into(),
    }
}

fn type_bits(v: &Value) -> u8 {
    let bit = |t: &str| match t {
        "null" => 1,
        "boolean" => 2,
        "integer" => 4,
        "number" => 8,
        "string" => 16,
        "array" => 32,
        "object" => 64,
        _ => 0,
    };
    match v {
        Value::String(s) => bit(s),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .map(bit)
            .fold(0, |x, y| x | y),
        _ => 0,
    }
}

impl Gen {
    /// Reserves an index so that definitions can be referred to before they are emitted.
    fn reserve(&mut self) -> usize {
        self.out.push(String::new());
        self.out.len() - 1
    }

    fn schema(&mut self, v: &Value) -> usize {
        let i = self.reserve();
        self.fill(i, v);
        i
    }

    fn list(&mut self, v: Option<&Value>) -> String {
        let items: Vec<String> = v
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|s| self.schema(s).to_string())
            .collect();
        format!("&[{}]", items.join(", "))
    }

    fn named(&mut self, v: Option<&Value>) -> String {
        let items: Vec<String> = v
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, s)| format!("({k:?}, {})", self.schema(s)))
            .collect();
        format!("&[{}]", items.join(", "))
    }

    fn fill(&mut self, i: usize, v: &Value) {
        let o = match v {
            Value::Bool(b) => {
                self.out[i] = format!("Sch {{ always: Some({b}), ..Sch::ANY }}");
                return;
            }
            Value::Object(o) => o,
            _ => {
                self.out[i] = "Sch::ANY".into();
                return;
            }
        };
        let mut s = String::from("Sch { ");
        if let Some(r) = o.get("$ref").and_then(Value::as_str) {
            let target = self
                .defs
                .get(r)
                .copied()
                .unwrap_or_else(|| panic!("unresolved $ref {r}"));
            let _ = write!(s, "reference: Some({target}), ");
        }
        if let Some(t) = o.get("type") {
            let _ = write!(s, "types: {}, ", type_bits(t));
        }
        if o.contains_key("properties") {
            let p = self.named(o.get("properties"));
            let _ = write!(s, "properties: {p}, ");
        }
        if o.contains_key("patternProperties") {
            let p = self.named(o.get("patternProperties"));
            let _ = write!(s, "pattern_properties: {p}, ");
        }
        match o.get("additionalProperties") {
            Some(Value::Bool(false)) => s.push_str("additional: Additional::Deny, "),
            Some(sub @ Value::Object(_)) => {
                let j = self.schema(sub);
                let _ = write!(s, "additional: Additional::Schema({j}), ");
            }
            _ => {}
        }
        if let Some(r) = o.get("required").and_then(Value::as_array) {
            let names: Vec<String> = r
                .iter()
                .filter_map(Value::as_str)
                .map(|n| format!("{n:?}"))
                .collect();
            let _ = write!(s, "required: &[{}], ", names.join(", "));
        }
        if let Some(items) = o.get("items") {
            let j = self.schema(items);
            let _ = write!(s, "items: Some({j}), ");
        }
        for (key, field) in [
            ("oneOf", "one_of"),
            ("anyOf", "any_of"),
            ("allOf", "all_of"),
        ] {
            if o.contains_key(key) {
                let l = self.list(o.get(key));
                let _ = write!(s, "{field}: {l}, ");
            }
        }
        if let Some(not) = o.get("not") {
            let j = self.schema(not);
            let _ = write!(s, "not: Some({j}), ");
        }
        if let Some(e) = o.get("enum").and_then(Value::as_array) {
            let lits: Vec<String> = e.iter().map(lit).collect();
            let _ = write!(s, "enumeration: &[{}], ", lits.join(", "));
        }
        if let Some(c) = o.get("const") {
            let _ = write!(s, "constant: Some({}), ", lit(c));
        }
        if o.get("uniqueItems") == Some(&Value::Bool(true)) {
            s.push_str("unique: true, ");
        }
        for (key, field) in [("minimum", "minimum"), ("maximum", "maximum")] {
            if let Some(n) = o.get(key).and_then(Value::as_f64) {
                let _ = write!(s, "{field}: Some({n:?}), ");
            }
        }
        if let Some(p) = o.get("pattern").and_then(Value::as_str) {
            let _ = write!(s, "pattern: Some({p:?}), ");
        }
        s.push_str("..Sch::ANY }");
        self.out[i] = s;
    }
}

fn main() {
    let src = PathBuf::from("schema/compose-spec.json");
    println!("cargo:rerun-if-changed={}", src.display());
    let text = std::fs::read_to_string(&src).expect("schema/compose-spec.json");
    let root: Value = serde_json::from_str(&text).expect("the compose-spec schema is JSON");

    let mut g = Gen {
        out: Vec::new(),
        defs: HashMap::new(),
    };
    let root_index = g.reserve();
    let defs = root
        .get("definitions")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut def_index = Vec::new();
    for (name, _) in &defs {
        let i = g.reserve();
        g.defs.insert(format!("#/definitions/{name}"), i);
        def_index.push(i);
    }
    for ((_, def), i) in defs.iter().zip(def_index) {
        g.fill(i, def);
    }
    g.fill(root_index, &root);

    let mut code = String::new();
    let _ = writeln!(
        code,
        "/// Generated by build.rs from schema/compose-spec.json.\npub(crate) static SCHEMA: [Sch; {}] = [",
        g.out.len()
    );
    for s in &g.out {
        let _ = writeln!(code, "    {s},");
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("schema_gen.rs");
    std::fs::write(out, code).expect("write schema_gen.rs");
}
