// Generated from the Rust types by `src-tauri/src/bindings.rs`; do not edit.
// Regenerate: BERTH_BLESS=1 cargo test -p berth-app bindings

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type ErrorCode = "compose_not_found" | "compose_invalid" | "missing_variable" | "engine_unavailable" | "engine_failed" | "unknown_service" | "invalid_input" | "busy" | "cancelled" | "timed_out" | "port_conflict" | "unknown_session" | "tls" | "snapshot" | "internal";

export type ErrorDetail = { "kind": "port_in_use", address: string, service: string | null, } | { "kind": "port_conflicts", check: PortsView, } | { "kind": "unhealthy", service: string, output: string | null, } | { "kind": "image_missing", image: string, } | { "kind": "build_failed", service: string | null, step: string | null, last_lines: Array<string>, } | { "kind": "network_in_use", network: string, } | { "kind": "daemon_unreachable", tried: Array<string>, } | { "kind": "daemon_not_responding", host: string, } | { "kind": "busy", running: string, } | { "kind": "timed_out", waiting: Array<string>, } | { "kind": "position", file: string, line: number, column: number, } | { "kind": "missing_variable", variable: string, } | { "kind": "no_shell", service: string, tried: Array<string>, } | { "kind": "not_running", service: string, } | { "kind": "snapshot_refused", reason: Refusal, } | { "kind": "other", sentence: string, };

export type ApiError = { code: ErrorCode, message: string, detail: ErrorDetail | null, };

export type Action = { "kind": "up", remove_orphans: boolean, 
/**
 * Start even when the port check finds a host port taken (compose then fails on it).
 */
skip_port_check: boolean, } | { "kind": "down", volumes: boolean, remove_orphans: boolean, } | { "kind": "start" } | { "kind": "stop" } | { "kind": "restart" } | { "kind": "rebuild" } | { "kind": "recreate" } | { "kind": "pull" } | { "kind": "scale", replicas: number, } | { "kind": "snapshot" } | { "kind": "restore" } | { "kind": "reset" };

export type ActionOutcome = { action: Action, 
/**
 * After Up: the status once every service was ready.
 */
status: StatusView | null, };

export type InspectView = { project: string, working_dir: string, files: Array<string>, services: Array<ServiceView>, inactive_services: Array<string>, networks: Array<NetworkView>, volumes: Array<VolumeView>, edges: Array<EdgeView>, warnings: Array<string>, };

export type ServiceView = { name: string, image: string | null, build: boolean, role: string, container_name: string | null, command: string | null, ports: Array<PortView>, networks: Array<string>, volumes: Array<MountView>, 
/**
 * dependency -> condition
 */
depends_on: { [key in string]?: JsonValue }, 
/**
 * Masked unless secrets were asked for.
 */
environment: { [key in string]?: JsonValue }, healthcheck: boolean, 
/**
 * The probe as written (durations as written), or `null` when the file sets none.
 */
healthcheck_detail: HealthcheckView | null, profiles: Array<string>, restart: string | null, };

export type HealthcheckView = { 
/**
 * As Docker receives it: `["CMD-SHELL", "pg_isready"]`; empty when disabled.
 */
test: Array<string>, interval: string | null, timeout: string | null, retries: number | null, start_period: string | null, disabled: boolean, };

export type PortView = { 
/**
 * `null` means every interface.
 */
host_ip: string | null, 
/**
 * `null` when Docker picks the host port.
 */
host_port: number | null, host_port_range: [number, number] | null, container_port: number, protocol: string, };

export type MountView = { type: string, source: string | null, target: string, read_only: boolean, };

export type NetworkView = { name: string, internal: boolean, external: boolean, driver: string | null, services: Array<string>, };

export type VolumeView = { name: string, external: boolean, services: Array<string>, };

export type EdgeView = { from: string, to: string, kind: string, evidence: string, detail: string, condition: string | null, };

export type DiagramView = { groups: Array<GroupView>, services: Array<NodeView>, ports: Array<PortNodeView>, volumes: Array<VolumeNodeView>, edges: Array<PairView>, };

export type GroupView = { name: string, label: string, internal: boolean, 
/**
 * Drawn inside the group (their home network).
 */
members: Array<string>, 
/**
 * On this network too, drawn in another group with this network as a mark.
 */
joined_by: Array<string>, };

export type NodeView = { name: string, role: string, sublabel: string, group: string | null, networks: Array<string>, 
/**
 * Its networks besides its group's, drawn as marks on the node.
 */
also_on: Array<string>, };

export type PortNodeView = { service: string, index: number, label: string, 
/**
 * The fixed host port, to show the port check's result on this entry point.
 */
host_port: number | null, };

export type VolumeNodeView = { name: string, label: string, users: Array<string>, };

export type PairView = { from: string, to: string, kinds: Array<string>, 
/**
 * "depends_on, env_url": the edge's label in text exports.
 */
label: string, 
/**
 * One small badge per kind, drawn on the edge: "depends: healthy", "env url", "proxy".
 */
badges: Array<string>, 
/**
 * One line per piece of evidence ("env_url: compose.yaml:19 — DATABASE_URL=…"), masked.
 */
evidence: Array<string>, };

export type StatusView = { project: string, engine: EngineView, services: Array<ServiceStatus>, 
/**
 * Counts and their sentence, computed here so the window and the CLI agree.
 */
summary: Summary, };

export type EngineView = { connected: boolean, host: string | null, version: string | null, 
/**
 * When not connected: what was tried and what to do.
 */
message: string | null, 
/**
 * The engine the stack is on (known after the first connection).
 */
endpoint: EndpointView | null, };

export type EndpointView = { host: string, 
/**
 * "Docker Engine (unix:///var/run/docker.sock)", "context remote (tcp://…)".
 */
label: string, };

export type ServiceStatus = { name: string, state: RunState, tone: Tone, health: HealthState | null, 
/**
 * Output of the last health probe of the least healthy container.
 */
health_output: string | null, failing_streak: number, exit_code: number | null, replicas: Replicas, restarts: number, uptime_s: number | null, 
/**
 * `uptime_s` as people read it: "45 s", "12 min", "3 h 12 min", "2 days 4 h".
 */
uptime: string | null, image: string | null, ports: Array<PublishedPort>, 
/**
 * False when a container was made from other compose settings than the files hold now.
 */
declared: boolean, 
/**
 * Whether the containers no longer match the files (`config`) or the local image
 * (`image`): they need a recreate. `None` when they match or when it was not checked.
 */
drift: Drift | null, containers: Array<ContainerBrief>, };

export type Tone = "good" | "warn" | "bad" | "idle";

export type Summary = { running: number, unhealthy: number, exited: number, not_created: number, text: string, };

export type ContainerBrief = { id: string, name: string, state: RunState, health: HealthState | null, exit_code: number | null, restarts: number, started_at: string | null, };

export type Replicas = { running: number, declared: number, };

export type RunState = "running" | "restarting" | "paused" | "exited" | "created" | "dead" | "removing" | "not_created";

export type HealthState = "starting" | "healthy" | "unhealthy";

export type PublishedPort = { host_ip: string, host_port: number, container_port: number, protocol: string, 
/**
 * "127.0.0.1:8080→80", "[::]:8080→80", "0.0.0.0:53→53/udp": as the diagram labels ports.
 */
label: string, };

export type StatsSample = { container: string, service: string | null, 
/**
 * Percent of one CPU times the number of CPUs, as `docker stats` shows it.
 */
cpu_percent: number, 
/**
 * Used memory without the page cache.
 */
mem_used: number, mem_limit: number, net_rx: number, net_tx: number, blk_read: number, blk_write: number, };

export type LogStream = "stdout" | "stderr";

export type LogCounts = { total: number, evicted: number, 
/**
 * Every line kept, filter or not.
 */
kept: number, };

export type LogWindow = { 
/**
 * Rows the view shows now (after the filter).
 */
total: number, 
/**
 * Lines ever dropped from the front because the view was full.
 */
evicted: number, start: number, rows: Array<LogRow>, };

export type LogRow = { 
/**
 * The line's number since the view opened; stable while it is kept.
 */
seq: number, service: string, stderr: boolean, time: string | null, spans: Array<Span>, };

export type Span = { text: string, 
/**
 * CSS classes: `fg0`..`fg15`, `bg0`..`bg15`, `bold`, `dim`, `italic`, `underline`, `mark`.
 */
class: string, 
/**
 * `#rrggbb` for 256-colour and true-colour foregrounds.
 */
color: string | null, background: string | null, };

export type RowOptions = { timestamps: boolean, 
/**
 * Minutes east of UTC (JavaScript's `-getTimezoneOffset()`).
 */
utc_offset_min: number, };

export type DiscoveredProject = { name: string, 
/**
 * The folder compose ran from, when its label says so: opening it opens the stack.
 */
working_dir: string | null, running: number, containers: number, };

export type ModelState = { generation: number, error: ApiError | null, };

export type NodePosition = { node: string, x: number, y: number, };

export type SavedLayout = { input: string, output: string, };

export type OpenedStack = { session: number, view: InspectView, diagram: DiagramView, };

export type ModelUpdate = { view: InspectView | null, diagram: DiagramView | null, error: ApiError | null, };

export type RecentStackView = { path: string, name: string, };

export type UiPrefs = { log_timestamps: boolean, log_all_services: boolean, };

export type TerminalInfo = { service: string, container: string, shell: string, };

export type ServiceUsage = { service: string, cpu_percent: number, mem_used: number, 
/**
 * "3.2 %".
 */
cpu_text: string, 
/**
 * "41 MiB".
 */
mem_text: string, };

export type MachineItem = { 
/**
 * "engine", "compose".
 */
id: string, ok: boolean, 
/**
 * "Docker 20.10.24 at unix:///var/run/docker.sock".
 */
title: string, 
/**
 * What to do when it is not ok (or a remark when it is, such as v1 being end-of-life).
 */
detail: string | null, };

export type Drift = "config" | "image";

export type PortsView = { project: string, ports: Array<PortCheck>, };

export type PortCheck = { service: string, 
/**
 * As the engine will bind it: "0.0.0.0" when the file names no address.
 */
host_ip: string, host_port: number, container_port: number, protocol: string, status: PortStatus, owner: PortOwner | null, suggestion: PortSuggestion | null, 
/**
 * Who holds it, for a person: "python3 (PID 812, postgresql.service)"; empty when free.
 */
held_by: string, 
/**
 * One sentence for a terminal: who holds it and the commands that fix it.
 */
message: string, 
/**
 * For a host process, the command that stops it, for a person to copy (Berth never kills a
 * host process itself).
 */
stop_command: string | null, 
/**
 * For a container of another compose stack whose folder is known, what Berth can stop
 * with one click ("nginx of luminai"), through that stack's own `compose stop`.
 */
stop_holder: string | null, };

export type PortStatus = "free" | "ours" | "conflict";

export type PortOwner = { "kind": "process", pid: number, name: string, command: string, user: string, unit: string | null, } | { "kind": "container", container: string, project: string | null, service: string | null, stack_dir: string | null, } | { "kind": "stack", service: string, } | { "kind": "unknown", detail: string, };

export type PortSuggestion = { host_port: number, };

export type RemapView = { remaps: Array<RemapEntry>, 
/**
 * Where the override lives (absent when there is no remap).
 */
override_file: string, content: string, 
/**
 * Places that still name a moved port ("APP_URL=http://localhost:8000 in .env").
 */
references: Array<string>, };

export type RemapEntry = { service: string, 
/**
 * The host port the project's files publish.
 */
from: number, 
/**
 * The one Berth publishes instead.
 */
to: number, };

export type WrittenOverride = { path: string, message: string, };

export type TlsView = { project: string, 
/**
 * `None` until the CA is made (the first issue or trust makes it).
 */
ca: CaView | null, endpoints: Array<TlsEndpoint>, 
/**
 * Services whose certificate file is missing or expired: nginx refuses to start ("cannot
 * load certificate"), and "Make HTTPS trusted" is the fix to offer.
 */
cannot_start: Array<string>, };

export type TlsEndpoint = { service: string, 
/**
 * The published host port that reaches the TLS listener (`None`: not published).
 */
host_port: number | null, names: Array<string>, cert_path: string | null, key_path: string | null, state: TlsState, 
/**
 * RFC 3339, of the certificate in the file.
 */
not_after: string | null, 
/**
 * A real handshake to the published port, with Berth's CA as the only root, accepted every
 * name, and the server served the very certificate in the file.
 */
verified: boolean, 
/**
 * `file:line` of the listen directive.
 */
evidence: string, 
/**
 * What is wrong and what fixes it, for a person; `None` when trusted and verified.
 */
problem: string | null, 
/**
 * Names written in the config that a local certificate cannot cover, with why.
 */
skipped_names: Array<string>, };

export type TlsState = "missing" | "untrusted" | "trusted" | "expired" | "mismatch";

export type CaView = { cert_path: string, fingerprint_sha256: string, 
/**
 * RFC 3339.
 */
not_after: string, 
/**
 * The stores that trust it, as sentences ("Chromium's certificate database (…)").
 */
trusted_by: Array<string>, 
/**
 * Every store found on this machine, trusted or not.
 */
stores: Array<StoreView>, };

export type StoreView = { 
/**
 * "system", "nss" (what `--store` takes).
 */
kind: string, name: string, trusted: boolean, 
/**
 * Changing it needs root (pkexec from the window, sudo from a terminal).
 */
needs_root: boolean, };

export type TlsStep = { 
/**
 * "trust", "ca", "find", "place", "write", "restart", "verify".
 */
step: string, status: StepStatus, detail: string, };

export type StepStatus = "ok" | "fail" | "skip";

export type TlsIssueView = { steps: Array<TlsStep>, project: string, 
/**
 * `None` until the CA is made (the first issue or trust makes it).
 */
ca: CaView | null, endpoints: Array<TlsEndpoint>, 
/**
 * Services whose certificate file is missing or expired: nginx refuses to start ("cannot
 * load certificate"), and "Make HTTPS trusted" is the fix to offer.
 */
cannot_start: Array<string>, };

export type TrustView = { ca: CaView, 
/**
 * One sentence per store: added, removed, already there, or why it failed.
 */
results: Array<string>, failed: boolean, };

export type SnapshotView = { id: string, 
/**
 * UTC, RFC 3339.
 */
created: string, label: string | null, status: SnapshotState, origin: Origin, project: string, 
/**
 * The engine's version when it was taken.
 */
engine: string, items: Array<SnapshotItemView>, 
/**
 * Stored size of every file.
 */
bytes: number, 
/**
 * Services it holds data of, in order.
 */
services: Array<string>, };

export type SnapshotItemView = { service: string, kind: ItemKind, 
/**
 * The engine's name of the volume (volumes only).
 */
volume: string | null, 
/**
 * The database inside the server; `None` for PostgreSQL's roles, Redis and volumes.
 */
database: string | null, 
/**
 * The server's version at snapshot time ("15.18", "10.11.6", "7.0.15").
 */
version: string | null, 
/**
 * Size of the stored (compressed) file.
 */
bytes: number, 
/**
 * Size before compression.
 */
raw_bytes: number, sha256: string, 
/**
 * Rows per table, keys per Redis database, files and bytes of a volume.
 */
counts: Record<string, number>, };

export type ItemKind = "postgres" | "mysql" | "mariadb" | "redis" | "volume";

export type SnapshotState = "pending" | "complete";

export type Origin = "manual" | "reset" | "import";

export type RestoreView = { id: string, 
/**
 * Each item restored, with its counts checked against those recorded.
 */
restored: Array<SnapshotItemView>, 
/**
 * Services stopped or recreated for it, started again.
 */
restarted: Array<string>, };

export type ResetView = { 
/**
 * The safety snapshot taken first: restore it to have the data back.
 */
safety: SnapshotView, rebuilt: boolean, status: StatusView, };

export type SnapshotProgress = { 
/**
 * "dump app (postgres)", "archive volume shop_files", "down -v".
 */
step: string, service: string | null, bytes: number, total: number | null, 
/**
 * Bytes per second over the step so far.
 */
rate: number, };

export type Refusal = "checksum" | "version" | "not_restorable";

export type DoctorView = { project: string, checks: Array<CheckView>, diagnoses: Array<Diagnosis>, probes: Array<ProbeView>, };

export type CheckView = { 
/**
 * Stable: `engine`, `compose`, `files`, `env`, `ports`, `certificates`, `images`, `disk`,
 * `running`, `drift`.
 */
id: string, status: CheckStatus, title: string, detail: string, fix: FixView | null, };

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export type FixView = { id: string, label: string, };

export type Diagnosis = { 
/**
 * `rule:service[:other]`, e.g. `oom:worker`, `nginx-stale-upstream:web:app`.
 */
id: string, service: string | null, sentence: string, evidence: Array<Evidence>, fix: FixView | null, };

export type Evidence = { kind: EvidenceKind, text: string, };

export type EvidenceKind = "log" | "exit_code" | "inspect" | "probe" | "config";

export type ProbeView = { from: string, to: string, host: string, port: number, result: ProbeResult, ms: number | null, };

export type ProbeResult = "ok" | "refused" | "timeout" | "nxdomain";

export type FixOutcome = { message: string, report: DoctorView, };

export type TerminalEvent = { "kind": "output", data: string, } | { "kind": "exit", code: number | null, };

export type OpenedTerminal = { id: number, info: TerminalInfo, };
