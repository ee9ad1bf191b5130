//! A YAML node tree that remembers where every node came from.
//!
//! Compose errors and graph evidence must name file, line and column, so we build our own tree
//! from saphyr-parser's events instead of deserialising straight into structs. Anchors, aliases
//! and `<<` merge keys are resolved here, once, so later stages never see them.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// Where a node starts. Lines and columns are 1-based, as editors show them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

impl Pos {
    /// `file:line`, the form used for graph evidence.
    pub fn short(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Compose's own tags: `!reset` drops an inherited value, `!override` replaces it instead of
/// merging.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeTag {
    None,
    Reset,
    Override,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    /// The scalar's text; `plain` is false for quoted and block scalars, which are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
    pub tag: MergeTag,
}

impl Node {
    pub fn new(value: Value, pos: Pos) -> Self {
        Node {
            value,
            pos,
            tag: MergeTag::None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// The text of a scalar (numbers and booleans included, as written).
    pub fn as_scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// Looks a key up in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_scalar() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

/// Caps alias expansion so a "billion laughs" document fails instead of eating memory: by nodes,
/// and by the bytes of text the expansion copies (a 1 MiB string referenced 3,000 times is few
/// nodes and 3 GB).
const MAX_NODES: usize = 2_000_000;
const MAX_BYTES: usize = 64 << 20;
/// Caps nesting so a deeply nested document fails instead of overflowing the stack later.
const MAX_DEPTH: usize = 256;

enum Frame {
    Seq {
        anchor: usize,
        pos: Pos,
        tag: MergeTag,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        pos: Pos,
        tag: MergeTag,
        entries: Vec<(Node, Node)>,
        pending_key: Option<Node>,
    },
}

struct Builder {
    file: Arc<str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    roots: Vec<Node>,
    nodes: usize,
    bytes: usize,
}

impl Builder {
    fn pos(&self, span: &Span) -> Pos {
        Pos {
            file: self.file.clone(),
            line: span.start.line() as u32,
            col: span.start.col() as u32 + 1,
        }
    }

    fn count(&mut self, (nodes, bytes): (usize, usize), pos: &Pos) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.nodes > MAX_NODES {
            return Err(YamlError {
                pos: pos.clone(),
                message: "document expands to too many nodes (alias bomb?)".into(),
            });
        }
        if self.bytes > MAX_BYTES {
            return Err(YamlError {
                pos: pos.clone(),
                message: format!(
                    "document expands to more than {} MiB of text (aliases of a long value?)",
                    MAX_BYTES >> 20
                ),
            });
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.roots.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    if !matches!(node.value, Value::Scalar { .. } | Value::Null) {
                        return Err(YamlError {
                            pos: node.pos,
                            message: "mapping keys must be scalars".into(),
                        });
                    }
                    *pending_key = Some(node);
                }
                Some(key) => entries.push((key, node)),
            },
        }
        Ok(())
    }

    fn register(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn on_event(&mut self, ev: Event<'_>, span: Span) -> Result<(), YamlError> {
        match ev {
            Event::DocumentStart(_) => {
                // Anchors belong to their document.
                self.anchors.clear();
            }
            Event::Scalar(text, style, anchor, tag) => {
                let pos = self.pos(&span);
                self.count((1, text.len()), &pos)?;
                let plain = matches!(style, ScalarStyle::Plain);
                let merge_tag = merge_tag(tag.as_deref());
                let value = if plain && is_null_text(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                let mut node = Node::new(value, pos);
                node.tag = merge_tag;
                self.register(anchor, &node);
                self.push_node(node)?;
            }
            Event::Alias(id) => {
                let pos = self.pos(&span);
                let Some(size) = self.anchors.get(&id).map(node_size) else {
                    return Err(YamlError {
                        pos,
                        message: "alias refers to an unknown anchor".into(),
                    });
                };
                // Counted before the copy is made: the limit is on what would be copied.
                self.count(size, &pos)?;
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| Node::new(Value::Null, pos));
                self.push_node(node)?;
            }
            Event::SequenceStart(anchor, tag) => {
                let pos = self.pos(&span);
                self.depth_check(&pos)?;
                self.stack.push(Frame::Seq {
                    anchor,
                    pos,
                    tag: merge_tag(tag.as_deref()),
                    items: Vec::new(),
                });
            }
            Event::MappingStart(anchor, tag) => {
                let pos = self.pos(&span);
                self.depth_check(&pos)?;
                self.stack.push(Frame::Map {
                    anchor,
                    pos,
                    tag: merge_tag(tag.as_deref()),
                    entries: Vec::new(),
                    pending_key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    anchor,
                    pos,
                    tag,
                    items,
                }) = self.stack.pop()
                {
                    let mut node = Node::new(Value::Seq(items), pos);
                    node.tag = tag;
                    self.register(anchor, &node);
                    self.push_node(node)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    anchor,
                    pos,
                    tag,
                    entries,
                    ..
                }) = self.stack.pop()
                {
                    let entries = resolve_merge_keys(entries)?;
                    check_duplicate_keys(&entries)?;
                    let mut node = Node::new(Value::Map(entries), pos);
                    node.tag = tag;
                    self.register(anchor, &node);
                    self.push_node(node)?;
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn depth_check(&self, pos: &Pos) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                pos: pos.clone(),
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
        }
        Ok(())
    }
}

fn merge_tag(tag: Option<&saphyr_parser::Tag>) -> MergeTag {
    match tag {
        Some(t) if t.handle == "!" && t.suffix == "reset" => MergeTag::Reset,
        Some(t) if t.handle == "!" && t.suffix == "override" => MergeTag::Override,
        _ => MergeTag::None,
    }
}

fn is_null_text(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// (nodes, bytes of text) of a node and everything under it.
fn node_size(node: &Node) -> (usize, usize) {
    let add = |a: (usize, usize), b: (usize, usize)| (a.0 + b.0, a.1.saturating_add(b.1));
    match &node.value {
        Value::Seq(items) => items.iter().map(node_size).fold((1, 0), add),
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| add(node_size(k), node_size(v)))
            .fold((1, 0), add),
        Value::Scalar { text, .. } => (1, text.len()),
        _ => (1, 0),
    }
}

/// YAML 1.1 merge keys (`<<: *base` or `<<: [*a, *b]`): keys written in the mapping itself win,
/// then earlier sources win over later ones.
fn resolve_merge_keys(entries: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, YamlError> {
    let is_merge =
        |k: &Node| matches!(&k.value, Value::Scalar { text, plain: true } if text == "<<");
    if !entries.iter().any(|(k, _)| is_merge(k)) {
        return Ok(entries);
    }
    let mut own = Vec::new();
    let mut sources = Vec::new();
    for (k, v) in entries {
        if is_merge(&k) {
            match v.value {
                Value::Map(m) => sources.push(m),
                Value::Seq(items) => {
                    for item in items {
                        match item.value {
                            Value::Map(m) => sources.push(m),
                            _ => {
                                return Err(YamlError {
                                    pos: item.pos,
                                    message: "a `<<` merge list may only hold mappings".into(),
                                })
                            }
                        }
                    }
                }
                _ => {
                    return Err(YamlError {
                        pos: v.pos,
                        message: "a `<<` merge key needs a mapping or a list of mappings".into(),
                    })
                }
            }
        } else {
            own.push((k, v));
        }
    }
    for source in sources {
        for (k, v) in source {
            let key = k.as_scalar().map(str::to_owned);
            if !own
                .iter()
                .any(|(ok, _)| ok.as_scalar().map(str::to_owned) == key)
            {
                own.push((k, v));
            }
        }
    }
    Ok(own)
}

fn check_duplicate_keys(entries: &[(Node, Node)]) -> Result<(), YamlError> {
    if entries.len() < 2 {
        return Ok(());
    }
    let mut seen: HashMap<&str, ()> = HashMap::with_capacity(entries.len());
    for (k, _) in entries {
        if let Some(text) = k.as_scalar() {
            if seen.insert(text, ()).is_some() {
                return Err(YamlError {
                    pos: k.pos.clone(),
                    message: format!("duplicate key `{text}`"),
                });
            }
        }
    }
    Ok(())
}

/// Parses the first document of `text`. An empty stream gives `Null`.
pub fn parse(text: &str, file: &str) -> Result<Node, YamlError> {
    let mut docs = parse_documents(text, file)?;
    Ok(if docs.is_empty() {
        Node::new(
            Value::Null,
            Pos {
                file: Arc::from(file),
                line: 1,
                col: 1,
            },
        )
    } else {
        docs.swap_remove(0)
    })
}

/// Parses every document of `text` (Compose merges them in order, like override files). The
/// node and byte caps hold for the whole stream.
pub fn parse_documents(text: &str, file: &str) -> Result<Vec<Node>, YamlError> {
    let file: Arc<str> = Arc::from(file);
    let mut builder = Builder {
        file: file.clone(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        roots: Vec::new(),
        nodes: 0,
        bytes: 0,
    };
    for item in Parser::new_from_str(text) {
        match item {
            Ok((ev, span)) => builder.on_event(ev, span)?,
            Err(e) => {
                let m = e.marker();
                return Err(YamlError {
                    pos: Pos {
                        file,
                        line: m.line() as u32,
                        col: m.col() as u32 + 1,
                    },
                    message: e.info().to_owned(),
                });
            }
        }
    }
    Ok(builder.roots)
}
