//! Berth's pure compose domain: it reads compose projects the way Compose does and infers the
//! architecture graph. It never talks to Docker and has no async runtime, so the diagram and the
//! checks work with Docker stopped.

pub mod diagram;
pub mod dotenv;
pub mod error;
pub mod graph;
pub mod interpolate;
pub mod load;
pub mod mask;
mod merge;
pub mod model;
mod paths;
pub mod port_plan;
mod ports;
pub mod schema;
mod shape;
pub mod snapshot_plan;
pub mod tls_plan;
pub mod yaml;

pub use error::LoadError;
pub use graph::{build_graph, Edge, EdgeKind, Graph, Role};
pub use load::{load, LoadOptions};
pub use model::Project;
