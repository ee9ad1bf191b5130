//! The engine side of Berth. Lifecycle actions go through the user's own compose CLI, always with
//! `-p` and the `-f` list of the opened stack, as argument vectors (never a shell).

mod compose_cli;

pub use compose_cli::{ComposeCli, ComposeFlavor, ComposeTarget, EngineError};
