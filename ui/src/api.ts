// Typed calls to the Rust commands. The views arrive ready to render; nothing is computed here.
import { Channel, invoke } from "@tauri-apps/api/core";

export interface Port { host_ip: string | null; host_port: number | null; container_port: number; protocol: string }
export interface ServiceView {
  name: string; image: string | null; build: boolean; role: string; ports: Port[]; networks: string[];
  environment: Record<string, string>; depends_on: Record<string, string>; healthcheck: boolean;
  volumes: { type: string; source: string | null; target: string; read_only: boolean }[];
}
export interface EdgeView { from: string; to: string; kind: string; evidence: string; detail: string }
export interface NetworkView { name: string; internal: boolean; services: string[] }
export interface InspectView {
  project: string; files: string[]; services: ServiceView[]; networks: NetworkView[];
  volumes: { name: string; services: string[] }[]; edges: EdgeView[]; warnings: string[];
}
export interface ServiceStatus {
  name: string; state: string; health: string | null; health_output: string | null; exit_code: number | null;
  replicas: { running: number; declared: number }; restarts: number; uptime_s: number | null; uptime: string | null;
  ports: { host_ip: string; host_port: number; container_port: number; protocol: string }[];
}
export interface StatusView {
  project: string; engine: { connected: boolean; host: string | null; version: string | null; message: string | null };
  services: ServiceStatus[];
}
export interface ApiError { code: string; message: string }

export const initialStack = () => invoke<string | null>("initial_stack");
export const openStack = (dir: string) => invoke<InspectView>("open_stack", { dir });
export const recentStacks = () => invoke<{ path: string; name: string }[]>("recent_stacks");
export interface DiscoveredProject { name: string; working_dir: string | null; running: number; containers: number }
export const discoveredProjects = () => invoke<DiscoveredProject[]>("discovered_projects");
export const forgetStack = (dir: string) => invoke<void>("forget_stack", { dir });

export const exportDiagram = (dir: string, format: "mermaid" | "dot") => invoke<string>("export_diagram", { dir, format });

export const serviceEnvironment = (dir: string, service: string, reveal: boolean) =>
  invoke<Record<string, string>>("service_environment", { dir, service, reveal });

export function watchStatus(dir: string, onUpdate: (v: StatusView) => void) {
  const ch = new Channel<StatusView>();
  ch.onmessage = onUpdate;
  return invoke<void>("watch_status", { dir, onUpdate: ch });
}

export interface LogCounts { total: number; evicted: number; kept: number }
export interface LogSpan { text: string; class: string; color?: string; background?: string }
export interface LogRow { seq: number; service: string; stderr: boolean; time?: string; spans: LogSpan[] }
export interface LogWindow { total: number; evicted: number; start: number; rows: LogRow[] }
export interface RowOptions { timestamps: boolean; utc_offset_min: number }

/// Opens a fresh log view in Rust; `onCounts` hears how many rows there are as lines arrive.
export function openLogs(dir: string, services: string[], onCounts: (c: LogCounts) => void) {
  const ch = new Channel<LogCounts>();
  ch.onmessage = onCounts;
  return invoke<void>("open_logs", { dir, services, onCounts: ch });
}
export const logWindow = (start: number, count: number, options: RowOptions) =>
  invoke<LogWindow>("log_window", { start, count, options });
export const logFilter = (query: string, regex: boolean) => invoke<LogCounts>("log_filter", { query, regex });
export const copyLogs = (timestamps: boolean) => invoke<number>("copy_logs", { timestamps });
export const exportLogs = (timestamps: boolean) => invoke<string | null>("export_logs", { timestamps });
export const saveExport = (fileName: string, content: number[]) => invoke<string | null>("save_export", { fileName, content });
export interface NodePosition { node: string; x: number; y: number }
export const nodePositions = (dir: string) => invoke<NodePosition[]>("node_positions", { dir });
export const saveNodePosition = (dir: string, node: string, x: number, y: number) => invoke<void>("save_node_position", { dir, node, x, y });
export const openPort = (hostPort: number, containerPort: number) => invoke<string>("open_port", { hostPort, containerPort });
export interface UiPrefs { log_timestamps: boolean; log_all_services: boolean }
export const uiPrefs = () => invoke<UiPrefs>("ui_prefs");
export const saveUiPrefs = (prefs: UiPrefs) => invoke<void>("save_ui_prefs", { prefs });
export interface SavedLayout { input: string; output: string }
export const savedLayout = (dir: string) => invoke<SavedLayout | null>("saved_layout", { dir });
export const saveLayout = (dir: string, input: string, output: string) => invoke<void>("save_layout", { dir, input, output });
export const resetLayout = (dir: string) => invoke<void>("reset_layout", { dir });
export const pickStackFolder = (current: string | null) => invoke<string | null>("pick_stack_folder", { current });

export interface StatsSample { container: string; service: string | null; cpu_percent: number; mem_used: number; mem_limit: number }

export function watchStats(dir: string, service: string, onSample: (s: StatsSample) => void) {
  const ch = new Channel<StatsSample>();
  ch.onmessage = onSample;
  return invoke<void>("watch_stats", { dir, service, onSample: ch });
}

export const stopStream = (kind: string) => invoke<void>("stop_stream", { kind });

export function stackAction(dir: string, action: string, services: string[], onProgress: (line: string) => void) {
  const ch = new Channel<string>();
  ch.onmessage = onProgress;
  return invoke<void>("stack_action", { dir, action, services, onProgress: ch });
}

export function errorText(e: unknown): string {
  if (e && typeof e === "object" && "message" in e) return String((e as ApiError).message);
  return String(e);
}
