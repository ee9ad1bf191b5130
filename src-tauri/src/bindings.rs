//! The TypeScript declarations of every type the window receives or sends, generated from the
//! Rust types (ts-rs: derive-based, no runtime cost, and it reads the serde attributes, so the
//! JSON and its declaration cannot disagree). `ui/src/bindings.ts` is checked in; this test fails
//! when it is stale. `BERTH_BLESS=1 cargo test -p berth-app bindings` rewrites it.

use ts_rs::TS;

fn decl<T: TS>() -> String {
    format!("export {}", T::decl())
}

fn generated() -> String {
    use berth_api::log_view::{LogCounts, LogRow, LogWindow, RowOptions, Span};
    use berth_api::*;
    let decls = [
        decl::<serde_json::Value>(),
        decl::<ErrorCode>(),
        decl::<ErrorDetail>(),
        decl::<ApiError>(),
        decl::<Action>(),
        decl::<ActionOutcome>(),
        decl::<InspectView>(),
        decl::<ServiceView>(),
        decl::<HealthcheckView>(),
        decl::<PortView>(),
        decl::<MountView>(),
        decl::<NetworkView>(),
        decl::<VolumeView>(),
        decl::<EdgeView>(),
        decl::<DiagramView>(),
        decl::<GroupView>(),
        decl::<NodeView>(),
        decl::<PortNodeView>(),
        decl::<VolumeNodeView>(),
        decl::<PairView>(),
        decl::<StatusView>(),
        decl::<EngineView>(),
        decl::<EndpointView>(),
        decl::<ServiceStatus>(),
        decl::<Tone>(),
        decl::<Summary>(),
        decl::<ContainerBrief>(),
        decl::<Replicas>(),
        decl::<RunState>(),
        decl::<HealthState>(),
        decl::<PublishedPort>(),
        decl::<StatsSample>(),
        decl::<LogStream>(),
        decl::<LogCounts>(),
        decl::<LogWindow>(),
        decl::<LogRow>(),
        decl::<Span>(),
        decl::<RowOptions>(),
        decl::<DiscoveredProject>(),
        decl::<ModelState>(),
        decl::<berth_store::NodePosition>(),
        decl::<berth_store::SavedLayout>(),
        decl::<crate::commands::stack::OpenedStack>(),
        decl::<crate::commands::stack::ModelUpdate>(),
        decl::<crate::commands::stack::RecentStackView>(),
        decl::<crate::commands::prefs::UiPrefs>(),
        decl::<TerminalInfo>(),
        decl::<ServiceUsage>(),
        decl::<MachineItem>(),
        decl::<Drift>(),
        decl::<PortsView>(),
        decl::<PortCheck>(),
        decl::<PortStatus>(),
        decl::<PortOwner>(),
        decl::<PortSuggestion>(),
        decl::<RemapView>(),
        decl::<RemapEntry>(),
        decl::<berth_api::WrittenOverride>(),
        decl::<berth_api::tls::TlsView>(),
        decl::<berth_api::tls::TlsEndpoint>(),
        decl::<berth_api::tls::TlsState>(),
        decl::<berth_api::tls::CaView>(),
        decl::<berth_api::tls::StoreView>(),
        decl::<berth_api::tls::TlsStep>(),
        decl::<berth_api::tls::StepStatus>(),
        decl::<berth_api::tls::TlsIssueView>(),
        decl::<berth_api::tls::TrustView>(),
        decl::<SnapshotView>(),
        decl::<SnapshotItemView>(),
        decl::<ItemKind>(),
        decl::<SnapshotState>(),
        decl::<Origin>(),
        decl::<RestoreView>(),
        decl::<ResetView>(),
        decl::<SnapshotProgress>(),
        decl::<Refusal>(),
        decl::<berth_api::doctor::DoctorView>(),
        decl::<berth_api::doctor::CheckView>(),
        decl::<berth_api::doctor::CheckStatus>(),
        decl::<berth_api::doctor::FixView>(),
        decl::<berth_api::doctor::Diagnosis>(),
        decl::<berth_api::doctor::Evidence>(),
        decl::<berth_api::doctor::EvidenceKind>(),
        decl::<berth_api::doctor::ProbeView>(),
        decl::<berth_api::doctor::ProbeResult>(),
        decl::<crate::commands::checks::FixOutcome>(),
        decl::<crate::commands::terminal::TerminalEvent>(),
        decl::<crate::commands::terminal::OpenedTerminal>(),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by `src-tauri/src/bindings.rs`; do not edit.\n\
         // Regenerate: BERTH_BLESS=1 cargo test -p berth-app bindings\n\n",
    );
    for d in decls {
        // 64-bit integers cross as JSON numbers (counts and seconds, far below 2^53), not
        // BigInt.
        out.push_str(&d.replace("bigint", "number"));
        out.push_str("\n\n");
    }
    out.trim_end().to_owned() + "\n"
}

#[test]
fn bindings_are_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
    let want = generated();
    if std::env::var_os("BERTH_BLESS").is_some() {
        std::fs::write(&path, &want).expect("write bindings");
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/bindings.ts is stale: a type the UI receives changed. Run `BERTH_BLESS=1 cargo test -p berth-app bindings` and commit the result."
    );
}
