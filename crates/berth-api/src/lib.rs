//! The API surface shared by the desktop app and the `berth` CLI: one function per user action,
//! returning view-ready data. Lower crates never depend on this one.

mod error;
mod inspect;
mod live;
pub mod log_view;

pub use berth_compose::diagram::DiagramFormat;
pub use berth_engine::logs::LogLine;
pub use berth_engine::model::{HealthState, LogRequest, StatsSample};
pub use berth_engine::OutputLine;
pub use error::{ApiError, ErrorCode};
pub use inspect::{
    diagram, inspect, EdgeView, InspectView, NetworkView, PortView, ServiceView, StackRequest,
    VolumeView,
};
pub use live::{
    discover_projects, parse_since, Action, DiscoveredProject, EngineView, OpenStack, StatusView,
};
