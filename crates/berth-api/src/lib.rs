//! The API surface shared by the desktop app and the `berth` CLI: one function per user action,
//! returning view-ready data. Lower crates never depend on this one.

mod action;
mod connect;
mod data;
mod discover;
pub mod doctor;
mod error;
mod inspect;
pub mod log_view;
mod ports;
mod remap;
mod session;
mod sessions;
mod since;
pub mod snapshot;
pub mod tls;

pub use action::{compose_args, valid_service_name, Action};
pub use berth_compose::diagram::DiagramFormat;
pub use berth_engine::logs::LogLine;
pub use berth_engine::model::{
    HealthState, LogRequest, LogStream, PublishedPort, RunState, StatsSample,
};
pub use berth_engine::status::{ContainerBrief, Drift, Replicas, ServiceStatus, Summary, Tone};
pub use berth_engine::{Endpoint, OutputLine};
pub use connect::{Connector, DockerConnector, FakeConnector};
pub use data::{data_dir, APP_ID};
pub use discover::{
    discover_projects, discover_projects_on, machine_check, DiscoveredProject, MachineItem,
};
pub use error::{ApiError, ErrorCode, ErrorDetail};
pub use inspect::{
    diagram, inspect, DiagramView, EdgeView, GroupView, HealthcheckView, InspectView, MountView,
    NetworkView, NodeView, PairView, PortNodeView, PortView, ServiceView, StackRequest,
    VolumeNodeView, VolumeView,
};
pub use ports::{PortCheck, PortOwner, PortStatus, PortSuggestion, PortsView};
pub use remap::{
    remap, remaps, unremap, write_override_to_project, RemapEntry, RemapView, WrittenOverride,
    OVERRIDE_NAME,
};
pub use session::{
    ActionOutcome, EndpointView, EngineView, Loaded, ModelState, OpenStack, ServiceUsage,
    StatusView, Terminal, TerminalControl, TerminalInfo, SHELLS,
};
pub use sessions::{SessionId, Sessions};
pub use since::parse_since;
pub use snapshot::{
    open_catalog, ItemKind, Origin, Refusal, ResetView, RestoreView, SnapshotItemView,
    SnapshotProgress, SnapshotState, SnapshotView,
};
