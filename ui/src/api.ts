// Typed calls to the Rust commands. Every type comes from `bindings.ts`, generated from the Rust
// types (a Rust test fails when it is stale); nothing here computes a rule.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  Action, ActionOutcome, ApiError, DiscoveredProject, Drift, MachineItem, InspectView, LogCounts, LogWindow, ModelUpdate, NodePosition,
  OpenedStack, OpenedTerminal, PortsView, RecentStackView, RemapView, RowOptions, SavedLayout, ServiceUsage, StatsSample, StatusView, TerminalEvent, UiPrefs,
  WrittenOverride, TlsView, TlsStep, TlsIssueView, StoreView, TrustView, SnapshotView, SnapshotProgress, RestoreView, ResetView,
  DoctorView, FixOutcome,
} from "./bindings";

export type * from "./bindings";

export const initialStack = () => invoke<string | null>("initial_stack");
export const openStack = (dir: string) => invoke<OpenedStack>("open_stack", { dir });
export const closeStack = (session: number) => invoke<boolean>("close_stack", { session });
export const recentStacks = () => invoke<RecentStackView[]>("recent_stacks");
export const serviceDrift = (session: number) => invoke<Record<string, Drift>>("service_drift", { session });
export const machineCheck = () => invoke<MachineItem[]>("machine_check");
export const discoveredProjects = () => invoke<DiscoveredProject[]>("discovered_projects");
export const forgetStack = (dir: string) => invoke<void>("forget_stack", { dir });

export const exportDiagram = (session: number, format: "mermaid" | "dot") => invoke<string>("export_diagram", { session, format });

/// With `key`, only that variable (one value revealed at a time).
export const serviceEnvironment = (session: number, service: string, reveal: boolean, key: string | null = null) =>
  invoke<Record<string, string>>("service_environment", { session, service, reveal, key });

export const serviceInspect = (session: number, service: string, reveal: boolean) =>
  invoke<string>("service_inspect", { session, service, reveal });

function channel<T>(on: (v: T) => void) {
  const ch = new Channel<T>();
  ch.onmessage = on;
  return ch;
}

/// The session's model, again after each edit of its files (or the error of a broken edit).
export const watchModel = (session: number, onUpdate: (u: ModelUpdate) => void) =>
  invoke<void>("watch_model", { session, onUpdate: channel(onUpdate) });

export const watchStatus = (session: number, onUpdate: (v: StatusView) => void) =>
  invoke<void>("watch_status", { session, onUpdate: channel(onUpdate) });

/// Opens a fresh log view in Rust; `onCounts` hears how many rows there are as lines arrive.
export const openLogs = (session: number, services: string[], onCounts: (c: LogCounts) => void) =>
  invoke<void>("open_logs", { session, services, onCounts: channel(onCounts) });
export const logWindow = (start: number, count: number, options: RowOptions) =>
  invoke<LogWindow>("log_window", { start, count, options });
export const logFilter = (query: string, regex: boolean) => invoke<LogCounts>("log_filter", { query, regex });
export const copyLogs = (timestamps: boolean) => invoke<number>("copy_logs", { timestamps });
export const exportLogs = (timestamps: boolean) => invoke<string | null>("export_logs", { timestamps });
export const saveExport = (fileName: string, content: number[]) => invoke<string | null>("save_export", { fileName, content });
export const nodePositions = (dir: string) => invoke<NodePosition[]>("node_positions", { dir });
export const saveNodePosition = (dir: string, node: string, x: number, y: number) => invoke<void>("save_node_position", { dir, node, x, y });
export const openPort = (hostPort: number, containerPort: number) => invoke<string>("open_port", { hostPort, containerPort });
export const uiPrefs = () => invoke<UiPrefs>("ui_prefs");
export const saveUiPrefs = (prefs: UiPrefs) => invoke<void>("save_ui_prefs", { prefs });
export const savedLayout = (dir: string) => invoke<SavedLayout | null>("saved_layout", { dir });
export const saveLayout = (dir: string, input: string, output: string) => invoke<void>("save_layout", { dir, input, output });
export const resetLayout = (dir: string) => invoke<void>("reset_layout", { dir });
export const pickStackFolder = (current: string | null) => invoke<string | null>("pick_stack_folder", { current });

export const watchStats = (session: number, service: string, onSample: (s: StatsSample) => void) =>
  invoke<void>("watch_stats", { session, service, onSample: channel(onSample) });

/// Every service's CPU and memory, about once a second, for the Services table.
export const watchUsage = (session: number, onUpdate: (rows: ServiceUsage[]) => void) =>
  invoke<void>("watch_usage", { session, onUpdate: channel(onUpdate) });

export const stopStream = (kind: string) => invoke<void>("stop_stream", { kind });

export const stackAction = (session: number, action: Action, services: string[], onProgress: (line: string) => void) =>
  invoke<ActionOutcome>("stack_action", { session, action, services, onProgress: channel(onProgress) });
export const cancelAction = (session: number) => invoke<boolean>("cancel_action", { session });

export function isApiError(e: unknown): e is ApiError {
  return !!e && typeof e === "object" && "code" in e && "message" in e;
}

export function errorText(e: unknown): string {
  if (isApiError(e)) return e.message;
  return String(e);
}

/// A terminal into a running service: output through `onEvent`, keys through `terminalInput`.
export const terminalOpen = (session: number, service: string, cols: number, rows: number, onEvent: (e: TerminalEvent) => void) =>
  invoke<OpenedTerminal>("terminal_open", { session, service, cols, rows, onEvent: channel(onEvent) });
export const terminalInput = (id: number, data: string) => invoke<void>("terminal_input", { id, data });
export const terminalResize = (id: number, cols: number, rows: number) => invoke<void>("terminal_resize", { id, cols, rows });
export const terminalClose = (id: number) => invoke<boolean>("terminal_close", { id });
export const terminalCopy = (text: string) => invoke<void>("terminal_copy", { text });
export const terminalPaste = (id: number) => invoke<number>("terminal_paste", { id });

export const checkPorts = (session: number) => invoke<PortsView>("check_ports", { session });
export const portRemaps = (session: number) => invoke<RemapView>("port_remaps", { session });
export const remapPort = (session: number, service: string, from: number, to: number) =>
  invoke<RemapView>("remap_port", { session, service, from, to });
export const unremapPort = (session: number, service: string, port: number) =>
  invoke<RemapView>("unremap_port", { session, service, port });
export const stopPortHolder = (session: number, service: string, hostPort: number) =>
  invoke<string>("stop_port_holder", { session, service, hostPort });
export const writePortOverride = (session: number) =>
  invoke<WrittenOverride>("write_port_override", { session });

export const tlsStatus = (session: number) => invoke<TlsView>("tls_status", { session });
export const tlsStores = () => invoke<StoreView[]>("tls_stores");
/// `stores`: "system", "nss" or "all" to trust Berth's CA there first (the user agreed); null to only issue.
export const tlsMakeTrusted = (session: number, stores: string | null, onStep: (s: TlsStep) => void) =>
  invoke<TlsIssueView>("tls_make_trusted", { session, stores, onStep: channel(onStep) });
export const tlsUntrust = () => invoke<TrustView>("tls_untrust");

// Snapshots of the stack's data. The long ones report their steps through `onProgress`;
// `cancelAction` cancels them between steps, as it cancels Up.
export const snapshotsList = (session: number) => invoke<SnapshotView[]>("snapshots_list", { session });
export const snapshotTake = (session: number, services: string[], label: string | null, onProgress: (p: SnapshotProgress) => void) =>
  invoke<SnapshotView>("snapshot_take", { session, services, label, onProgress: channel(onProgress) });
export const snapshotRestore = (session: number, id: string, services: string[], onProgress: (p: SnapshotProgress) => void) =>
  invoke<RestoreView>("snapshot_restore", { session, id, services, onProgress: channel(onProgress) });
export const stackReset = (session: number, rebuild: boolean, onProgress: (p: SnapshotProgress) => void) =>
  invoke<ResetView>("stack_reset", { session, rebuild, onProgress: channel(onProgress) });
export const snapshotDelete = (session: number, id: string) => invoke<void>("snapshot_delete", { session, id });
export const snapshotLabel = (session: number, id: string, label: string | null) =>
  invoke<SnapshotView>("snapshot_label", { session, id, label });

// The Checks view: the doctor's checklist and diagnoses, and its fixes. The `Path` pair is for a
// folder whose files did not load (Rust accepts only a folder `openStack` failed on).
export const doctorReport = (session: number) => invoke<DoctorView>("doctor_report", { session });
export const doctorFix = (session: number, id: string) => invoke<FixOutcome>("doctor_fix", { session, id });
export const doctorReportPath = (path: string) => invoke<DoctorView>("doctor_report_path", { path });
export const doctorFixPath = (path: string, id: string) => invoke<FixOutcome>("doctor_fix_path", { path, id });
