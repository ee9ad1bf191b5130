//! Reading a YAML node as the shape a key expects (a string, a boolean, a list, a mapping), or a
//! type error that names the key's path and the node's position. Shared by the loader and the
//! port parser; depends only on the YAML tree and the error type.

use crate::error::LoadError;
use crate::yaml::{Node, Value};

pub(crate) fn scalar_of(n: &Node, path: &str) -> Result<String, LoadError> {
    n.as_scalar().map(str::to_owned).ok_or_else(|| {
        LoadError::ty(
            &n.pos,
            path,
            format!("expected a string, found {}", n.kind_name()),
        )
    })
}

pub(crate) fn bool_of(n: &Node, path: &str) -> Result<bool, LoadError> {
    match n.as_scalar() {
        Some("true" | "True" | "TRUE" | "yes" | "on") => Ok(true),
        Some("false" | "False" | "FALSE" | "no" | "off") => Ok(false),
        _ => Err(LoadError::ty(
            &n.pos,
            path,
            format!("expected true or false, found {}", describe(n)),
        )),
    }
}

fn describe(n: &Node) -> String {
    match n.as_scalar() {
        Some(s) => format!("{s:?}"),
        None => n.kind_name().to_owned(),
    }
}

pub(crate) fn seq_of<'a>(n: &'a Node, path: &str) -> Result<&'a [Node], LoadError> {
    match &n.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(&[]),
        _ => Err(LoadError::ty(
            &n.pos,
            path,
            format!("expected a list, found {}", n.kind_name()),
        )),
    }
}

pub(crate) fn map_of<'a>(n: &'a Node, path: &str) -> Result<&'a [(Node, Node)], LoadError> {
    match &n.value {
        Value::Map(m) => Ok(m),
        Value::Null => Ok(&[]),
        _ => Err(LoadError::ty(
            &n.pos,
            path,
            format!("expected a mapping, found {}", n.kind_name()),
        )),
    }
}
