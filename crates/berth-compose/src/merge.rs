//! Normalising services to one canonical shape, and merging them the way the Compose
//! specification merges override files and `extends`.
//!
//! List forms of `environment`, `labels`, `depends_on` and `networks` become mappings, and short
//! volume syntax becomes the long form, *before* merging: otherwise `- A=1` in an override could
//! not replace `A: 0` in the base file.

use std::path::Path;

use crate::error::LoadError;
use crate::paths::{absolutize, is_windows_absolute};
use crate::yaml::{MergeTag, Node, Value};

fn scalar(text: impl Into<String>, like: &Node) -> Node {
    Node::new(
        Value::Scalar {
            text: text.into(),
            plain: false,
        },
        like.pos.clone(),
    )
}

fn map_node(entries: Vec<(Node, Node)>, like: &Node) -> Node {
    Node::new(Value::Map(entries), like.pos.clone())
}

fn entry(key: &str, value: Node, like: &Node) -> (Node, Node) {
    (scalar(key, like), value)
}

/// Rewrites one service in place into canonical form. Relative paths resolve against `base_dir`.
pub(crate) fn normalize_service(
    service: &mut Node,
    name: &str,
    base_dir: &Path,
    home: Option<&str>,
    _warnings: &mut Vec<String>,
) -> Result<(), LoadError> {
    let Value::Map(entries) = &mut service.value else {
        return Ok(());
    };
    for (k, v) in entries.iter_mut() {
        let key = k.as_scalar().unwrap_or_default().to_owned();
        let path = format!("services.{name}.{key}");
        match key.as_str() {
            "environment" | "labels" | "annotations" | "sysctls" => list_to_map(v, &path, true)?,
            "depends_on" | "networks" => list_to_map(v, &path, false)?,
            "volumes" => {
                if let Value::Seq(items) = &mut v.value {
                    for item in items.iter_mut() {
                        *item = normalize_volume(item, &path, base_dir, home)?;
                    }
                } else if !v.is_null() {
                    return Err(LoadError::ty(&v.pos, &path, "expected a list"));
                }
            }
            "env_file" => {
                let items: Vec<Node> = match &v.value {
                    Value::Scalar { .. } => vec![v.clone()],
                    Value::Seq(items) => items.clone(),
                    Value::Null => vec![],
                    Value::Map(_) => {
                        return Err(LoadError::ty(&v.pos, &path, "expected a path or a list"))
                    }
                };
                let mut out = Vec::new();
                for item in items {
                    let (p, required) = match &item.value {
                        Value::Scalar { text, .. } => (text.clone(), None),
                        Value::Map(_) => (
                            item.get("path")
                                .and_then(Node::as_scalar)
                                .map(str::to_owned)
                                .ok_or_else(|| {
                                    LoadError::ty(
                                        &item.pos,
                                        &path,
                                        "an env_file entry needs a `path`",
                                    )
                                })?,
                            item.get("required").cloned(),
                        ),
                        _ => return Err(LoadError::ty(&item.pos, &path, "expected a path")),
                    };
                    let abs = absolutize(base_dir, &p, home);
                    let mut fields =
                        vec![entry("path", scalar(abs.to_string_lossy(), &item), &item)];
                    if let Some(r) = required {
                        fields.push(entry("required", r, &item));
                    }
                    out.push(map_node(fields, &item));
                }
                v.value = Value::Seq(out);
            }
            "build" => {
                if let Value::Scalar { text, .. } = &v.value {
                    let ctx = resolve_context(base_dir, text, home);
                    *v = map_node(vec![entry("context", scalar(ctx, v), v)], v);
                } else if let Value::Map(bm) = &mut v.value {
                    for (bk, bv) in bm.iter_mut() {
                        if bk.as_scalar() == Some("context") {
                            if let Some(text) = bv.as_scalar() {
                                let ctx = resolve_context(base_dir, text, home);
                                bv.value = Value::Scalar {
                                    text: ctx,
                                    plain: false,
                                };
                            }
                        } else if bk.as_scalar() == Some("args") {
                            list_to_map(bv, &format!("{path}.args"), true)?;
                        }
                    }
                    if !bm.iter().any(|(k, _)| k.as_scalar() == Some("context")) {
                        let ctx = base_dir.to_string_lossy().into_owned();
                        let like = v.clone();
                        if let Value::Map(bm) = &mut v.value {
                            bm.push(entry("context", scalar(ctx, &like), &like));
                        }
                    }
                } else {
                    return Err(LoadError::ty(&v.pos, &path, "expected a path or a mapping"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn resolve_context(base_dir: &Path, ctx: &str, home: Option<&str>) -> String {
    // Remote contexts (git URLs and the like) are left alone.
    if ctx.contains("://") || ctx.starts_with("git@") {
        return ctx.to_owned();
    }
    absolutize(base_dir, ctx, home)
        .to_string_lossy()
        .into_owned()
}

/// `- KEY=VALUE` / `- KEY` lists become mappings. With `split_eq` false the list items are keys
/// (`depends_on: [db]`, `networks: [front]`).
fn list_to_map(v: &mut Node, path: &str, split_eq: bool) -> Result<(), LoadError> {
    match &v.value {
        Value::Seq(items) => {
            let mut out: Vec<(Node, Node)> = Vec::with_capacity(items.len());
            for item in items {
                let Some(text) = item.as_scalar() else {
                    return Err(LoadError::ty(
                        &item.pos,
                        path,
                        format!("list items must be strings, found {}", item.kind_name()),
                    ));
                };
                let (k, val) = if split_eq {
                    match text.split_once('=') {
                        Some((k, val)) => (k.to_owned(), scalar(val, item)),
                        None => (text.to_owned(), Node::new(Value::Null, item.pos.clone())),
                    }
                } else {
                    (text.to_owned(), Node::new(Value::Null, item.pos.clone()))
                };
                out.retain(|(ek, _)| ek.as_scalar() != Some(k.as_str()));
                out.push((scalar(k, item), val));
            }
            v.value = Value::Map(out);
            Ok(())
        }
        Value::Map(_) | Value::Null => Ok(()),
        Value::Scalar { .. } => Err(LoadError::ty(
            &v.pos,
            path,
            "expected a list or a mapping, found a scalar",
        )),
    }
}

fn is_path_source(s: &str) -> bool {
    s.starts_with('.') || s.starts_with('/') || s.starts_with('~') || is_windows_absolute(s)
}

fn normalize_volume(
    item: &Node,
    path: &str,
    base_dir: &Path,
    home: Option<&str>,
) -> Result<Node, LoadError> {
    match &item.value {
        Value::Scalar { text, .. } => {
            let mut parts: Vec<String> = text.split(':').map(str::to_owned).collect();
            // A Windows drive letter is not a separator: `C:\data:/data`.
            if parts.len() > 1
                && parts[0].len() == 1
                && parts[0].chars().all(|c| c.is_ascii_alphabetic())
                && (parts[1].starts_with('\\') || parts[1].starts_with('/'))
            {
                let drive = parts.remove(0);
                parts[0] = format!("{drive}:{}", parts[0]);
            }
            let (source, target, mode) = match parts.as_slice() {
                [t] => (None, t.clone(), String::new()),
                [s, t] => (Some(s.clone()), t.clone(), String::new()),
                [s, t, m] => (Some(s.clone()), t.clone(), m.clone()),
                _ => {
                    return Err(LoadError::ty(
                        &item.pos,
                        path,
                        format!("invalid volume {text:?}: expected [SOURCE:]TARGET[:MODE]"),
                    ))
                }
            };
            if target.is_empty() {
                return Err(LoadError::ty(
                    &item.pos,
                    path,
                    format!("invalid volume {text:?}: empty target"),
                ));
            }
            let read_only = mode.split(',').any(|m| m == "ro");
            let mut fields = Vec::new();
            match source {
                None => fields.push(entry("type", scalar("volume", item), item)),
                Some(s) if is_path_source(&s) => {
                    fields.push(entry("type", scalar("bind", item), item));
                    let abs = absolutize(base_dir, &s, home);
                    fields.push(entry("source", scalar(abs.to_string_lossy(), item), item));
                }
                Some(s) => {
                    fields.push(entry("type", scalar("volume", item), item));
                    fields.push(entry("source", scalar(s, item), item));
                }
            }
            fields.push(entry("target", scalar(clean_target(&target), item), item));
            if read_only {
                fields.push(entry("read_only", scalar("true", item), item));
            }
            Ok(map_node(fields, item))
        }
        Value::Map(entries) => {
            let is_bind = item.get("type").and_then(Node::as_scalar) == Some("bind");
            let mut out = entries.clone();
            for (k, v) in out.iter_mut() {
                if k.as_scalar() == Some("target") {
                    if let Value::Scalar { text, .. } = &mut v.value {
                        *text = clean_target(text);
                    }
                }
            }
            if is_bind {
                for (k, v) in out.iter_mut() {
                    if k.as_scalar() == Some("source") {
                        if let Some(s) = v.as_scalar() {
                            let abs = absolutize(base_dir, s, home);
                            v.value = Value::Scalar {
                                text: abs.to_string_lossy().into_owned(),
                                plain: false,
                            };
                        }
                    }
                }
            }
            Ok(Node::new(Value::Map(out), item.pos.clone()))
        }
        _ => Err(LoadError::ty(
            &item.pos,
            path,
            format!("expected a string or a mapping, found {}", item.kind_name()),
        )),
    }
}

/// A container path as Compose v2 stores it: Go's `path.Clean` (no trailing `/`, no `//`, `.`
/// and `..` resolved lexically), so `/data/` and `/data` are the same mount.
pub(crate) fn clean_target(t: &str) -> String {
    let rooted = t.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in t.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Sequences that an override replaces instead of extending.
const REPLACED_SEQUENCES: &[&str] = &["command", "entrypoint", "healthcheck.test"];
/// Sequences merged by their `target`, later entries winning.
const TARGETED_SEQUENCES: &[&str] = &["volumes", "secrets", "configs", "devices"];

/// Merges `over` onto `base`, both canonical service mappings.
pub(crate) fn merge_service(base: &Node, over: &Node) -> Node {
    merge_value("", base, over)
}

/// Merges two whole compose files.
pub(crate) fn merge_top_level(base: &Node, over: &Node) -> Node {
    let (Some(bm), Some(om)) = (base.as_map(), over.as_map()) else {
        return if over.is_null() {
            base.clone()
        } else {
            over.clone()
        };
    };
    let mut out: Vec<(Node, Node)> = bm.to_vec();
    for (k, v) in om {
        let key = k.as_scalar().unwrap_or_default();
        let existing = out.iter().position(|(ek, _)| ek.as_scalar() == Some(key));
        let merged = match (existing, key) {
            (Some(i), "services") => {
                let base_services = &out[i].1;
                let mut services: Vec<(Node, Node)> = base_services
                    .as_map()
                    .map(<[_]>::to_vec)
                    .unwrap_or_default();
                for (sk, sv) in v.as_map().unwrap_or_default() {
                    let sname = sk.as_scalar();
                    if sv.tag == MergeTag::Reset {
                        services.retain(|(ek, _)| ek.as_scalar() != sname);
                        continue;
                    }
                    match services.iter().position(|(ek, _)| ek.as_scalar() == sname) {
                        Some(j) => services[j].1 = merge_service(&services[j].1, sv),
                        None => services.push((sk.clone(), sv.clone())),
                    }
                }
                Node::new(Value::Map(services), base_services.pos.clone())
            }
            (Some(i), _) => merge_value(&format!("#{key}"), &out[i].1, v),
            (None, _) => v.clone(),
        };
        match existing {
            Some(i) => out[i].1 = merged,
            None => out.push((k.clone(), merged)),
        }
    }
    Node::new(Value::Map(out), base.pos.clone())
}

fn merge_value(path: &str, base: &Node, over: &Node) -> Node {
    if over.tag == MergeTag::Override {
        let mut n = over.clone();
        n.tag = MergeTag::None;
        return n;
    }
    match (&base.value, &over.value) {
        (Value::Map(bm), Value::Map(om)) => {
            let mut out: Vec<(Node, Node)> = bm.clone();
            for (k, v) in om {
                let key = k.as_scalar().unwrap_or_default();
                if v.tag == MergeTag::Reset {
                    out.retain(|(ek, _)| ek.as_scalar() != Some(key));
                    continue;
                }
                let child = if path.is_empty() {
                    key.to_owned()
                } else {
                    format!("{path}.{key}")
                };
                match out.iter().position(|(ek, _)| ek.as_scalar() == Some(key)) {
                    Some(i) => out[i].1 = merge_value(&child, &out[i].1, v),
                    None => out.push((k.clone(), v.clone())),
                }
            }
            Node::new(Value::Map(out), base.pos.clone())
        }
        (Value::Seq(bs), Value::Seq(os)) => {
            if REPLACED_SEQUENCES.contains(&path) {
                return over.clone();
            }
            let mut out: Vec<Node> = bs.clone();
            if TARGETED_SEQUENCES.contains(&path) {
                for item in os {
                    let t = target_of(item);
                    if let Some(i) = out.iter().position(|e| t.is_some() && target_of(e) == t) {
                        out[i] = item.clone();
                    } else {
                        out.push(item.clone());
                    }
                }
            } else {
                for item in os {
                    let text = canonical(item);
                    if !out.iter().any(|e| canonical(e) == text) {
                        out.push(item.clone());
                    }
                }
            }
            Node::new(Value::Seq(out), base.pos.clone())
        }
        _ => over.clone(),
    }
}

fn target_of(n: &Node) -> Option<String> {
    match &n.value {
        Value::Map(_) => n.get("target").and_then(Node::as_scalar).map(str::to_owned),
        Value::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// A text form for de-duplicating list items, ignoring positions.
fn canonical(n: &Node) -> String {
    match &n.value {
        Value::Null => "~".into(),
        Value::Scalar { text, .. } => text.clone(),
        Value::Seq(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Map(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}={}", canonical(k), canonical(v)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clean_target;

    #[test]
    fn targets_are_cleaned_as_go_path_clean_does() {
        for (given, want) in [
            ("/data/", "/data"),
            ("/data", "/data"),
            ("//a//b/", "/a/b"),
            ("/a/./b/../c", "/a/c"),
            ("/", "/"),
            ("/..", "/"),
            ("rel/dir/", "rel/dir"),
            ("../x", "../x"),
            ("", "."),
        ] {
            assert_eq!(clean_target(given), want, "{given:?}");
        }
    }
}
