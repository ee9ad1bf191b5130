use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use regex::Regex;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use crate::endpoint::Endpoint;
use crate::error::EngineError;

/// Which compose implementation the machine has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComposeFlavor {
    /// `docker compose`, the plugin.
    V2 { docker: PathBuf, version: String },
    /// `docker-compose`, the Python tool.
    V1 { program: PathBuf, version: String },
}

/// The stack a compose command acts on: the same options the user opened it with.
#[derive(Debug, Clone, Default)]
pub struct ComposeTarget {
    pub project: String,
    pub project_dir: PathBuf,
    pub files: Vec<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub profiles: Vec<String>,
}

/// One compose invocation: the verb, its flags, and the services it names. Service names go
/// after `--`, so a service called `--push` can never become a flag.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ComposeArgs {
    pub verb: String,
    pub flags: Vec<String>,
    pub services: Vec<String>,
}

impl ComposeArgs {
    pub fn new(verb: impl Into<String>) -> Self {
        ComposeArgs {
            verb: verb.into(),
            ..Default::default()
        }
    }

    /// Words exactly as given, verb first, no `--` added: for callers that wrote a whole
    /// command themselves (tests, clean-up), never for names a user typed.
    pub fn words(words: &[&str]) -> Self {
        let (verb, flags) = words
            .split_first()
            .map(|(v, f)| (*v, f))
            .unwrap_or(("", &[]));
        ComposeArgs {
            verb: verb.to_owned(),
            flags: flags.iter().map(|w| w.to_string()).collect(),
            services: Vec::new(),
        }
    }

    pub fn flag(mut self, f: impl Into<String>) -> Self {
        self.flags.push(f.into());
        self
    }

    pub fn services(mut self, s: &[String]) -> Self {
        self.services.extend(s.iter().cloned());
        self
    }

    fn push_to(&self, v: &mut Vec<OsString>, flavor: &ComposeFlavor) {
        v.push(self.verb.clone().into());
        v.extend(self.flags.iter().map(OsString::from));
        if !self.services.is_empty() {
            // Compose v1's docopt only knows `--` where its usage says `[--]`; `start`, `pause`,
            // `unpause`, `top` and `create` take no options there, so a name starting with `-`
            // is refused by it, never read as a flag (and Berth refuses such names first).
            let v1_without = matches!(flavor, ComposeFlavor::V1 { .. })
                && matches!(
                    self.verb.as_str(),
                    "start" | "pause" | "unpause" | "top" | "create"
                );
            if !v1_without {
                v.push("--".into());
            }
            v.extend(self.services.iter().map(OsString::from));
        }
    }
}

/// The one runner for compose lifecycle commands.
#[derive(Debug, Clone)]
pub struct ComposeCli {
    pub flavor: ComposeFlavor,
}

fn version_of(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    Some(text)
}

/// `name` found on `path` (a `PATH` value) as an absolute file. Relative and empty entries are
/// skipped: with the project folder as the working directory they would let a file in the
/// project named `docker` run instead of Docker.
pub fn resolve_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    let path = path?;
    for dir in std::env::split_paths(path) {
        if !dir.is_absolute() {
            continue;
        }
        let candidate = dir.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
        if cfg!(windows) {
            let exe = dir.join(format!("{name}.exe"));
            if exe.is_file() {
                return Some(exe);
            }
        }
    }
    None
}

impl ComposeCli {
    /// Prefers `docker compose` (v2) and falls back to `docker-compose` (v1). `docker` and
    /// `docker_compose` name the programs to try.
    pub fn detect_with(docker: &Path, docker_compose: &Path) -> Result<Self, EngineError> {
        if let Some(version) = version_of(docker, &["compose", "version", "--short"]) {
            return Ok(ComposeCli {
                flavor: ComposeFlavor::V2 {
                    docker: docker.to_path_buf(),
                    version,
                },
            });
        }
        if let Some(version) = version_of(docker_compose, &["version", "--short"]) {
            return Ok(ComposeCli {
                flavor: ComposeFlavor::V1 {
                    program: docker_compose.to_path_buf(),
                    version,
                },
            });
        }
        Err(EngineError::ComposeMissing)
    }

    /// The machine's compose CLI, with both programs resolved to absolute paths on this
    /// process's `PATH`. A found CLI is remembered (asking `docker-compose version` starts a
    /// Python interpreter, about half a second); a missing one is looked for again on the next
    /// call, so installing compose while Berth runs is noticed.
    pub fn detect() -> Result<Self, EngineError> {
        static DETECTED: Mutex<Option<ComposeCli>> = Mutex::new(None);
        if let Some(found) = DETECTED.lock().ok().and_then(|d| d.clone()) {
            return Ok(found);
        }
        let path = std::env::var_os("PATH");
        let docker = resolve_program("docker", path.as_deref());
        let v1 = resolve_program("docker-compose", path.as_deref());
        let missing = PathBuf::from("/nonexistent/berth-no-such-program");
        // `BERTH_COMPOSE=v1` (or `v2`) picks one when both are installed: the v1 compatibility
        // tests run this way, and so can a user whose project only works on one of them.
        let choice = std::env::var("BERTH_COMPOSE").unwrap_or_default();
        let (docker, v1) = match choice.as_str() {
            "v1" => (None, v1),
            "v2" => (docker, None),
            _ => (docker, v1),
        };
        let found = Self::detect_with(
            docker.as_deref().unwrap_or(&missing),
            v1.as_deref().unwrap_or(&missing),
        )?;
        if let Ok(mut d) = DETECTED.lock() {
            *d = Some(found.clone());
        }
        Ok(found)
    }

    /// Compose v1 (`docker-compose`), whose config hash also covers the image id.
    pub fn is_v1(&self) -> bool {
        matches!(self.flavor, ComposeFlavor::V1 { .. })
    }

    pub fn version(&self) -> &str {
        match &self.flavor {
            ComposeFlavor::V2 { version, .. } | ComposeFlavor::V1 { version, .. } => version,
        }
    }

    /// The full argument vector for `args` on `target`, program first.
    pub fn argv(&self, target: &ComposeTarget, args: &ComposeArgs) -> Vec<OsString> {
        let mut v: Vec<OsString> = Vec::new();
        match &self.flavor {
            ComposeFlavor::V2 { docker, .. } => {
                v.push(docker.into());
                v.push("compose".into());
            }
            ComposeFlavor::V1 { program, .. } => v.push(program.into()),
        }
        v.push("--project-name".into());
        v.push(target.project.clone().into());
        v.push("--project-directory".into());
        v.push(target.project_dir.clone().into());
        for f in &target.files {
            v.push("--file".into());
            v.push(f.into());
        }
        for e in &target.env_files {
            v.push("--env-file".into());
            v.push(e.into());
        }
        for p in &target.profiles {
            v.push("--profile".into());
            v.push(p.into());
        }
        args.push_to(&mut v, &self.flavor);
        v
    }

    /// A ready-to-run blocking command for `args` on `target` (tests' clean-up uses it).
    pub fn command(
        &self,
        target: &ComposeTarget,
        args: &ComposeArgs,
        endpoint: Option<&Endpoint>,
    ) -> Command {
        let argv = self.argv(target, args);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir(&target.project_dir);
        if let Some(e) = endpoint {
            for k in e.removed_env() {
                cmd.env_remove(k);
            }
            cmd.envs(e.child_env());
        }
        cmd
    }
}

impl ComposeCli {
    /// What `config --hash '*'` prints: the hash compose would label each service's containers
    /// with if they were made from the files now (`com.docker.compose.config-hash`). Reads the
    /// files only; the engine is not asked.
    pub fn config_hashes(
        &self,
        target: &ComposeTarget,
        endpoint: Option<&Endpoint>,
    ) -> Result<std::collections::BTreeMap<String, String>, EngineError> {
        let args = ComposeArgs::new("config").flag("--hash").flag("*");
        let out = self
            .command(target, &args, endpoint)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| EngineError::Spawn {
                program: "compose config --hash".into(),
                source,
            })?;
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr);
            return Err(EngineError::Compose {
                failure: explain_failure(&text),
                output: {
                    let lines: Vec<&str> = text.lines().collect();
                    lines[lines.len().saturating_sub(5)..].join("\n")
                },
            });
        }
        Ok(parse_hashes(&String::from_utf8_lossy(&out.stdout)))
    }
}

/// `service hash` lines, as both compose versions print them.
fn parse_hashes(text: &str) -> std::collections::BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next()) {
                (Some(s), Some(h), None)
                    if h.len() >= 32 && h.bytes().all(|b| b.is_ascii_hexdigit()) =>
                {
                    Some((s.to_owned(), h.to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// One line of compose output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct OutputLine {
    pub stderr: bool,
    pub text: String,
}

/// Hides secret values in what compose prints, before anyone sees or keeps it.
pub type Masker = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// How one compose child runs.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// The environment of the child on top of Berth's own (the stack's variables).
    pub env: Vec<(String, String)>,
    /// The engine the session is on: the child gets exactly its `DOCKER_HOST` and TLS files.
    pub endpoint: Option<Endpoint>,
    /// Killed (with every process it started) after this long.
    pub timeout: Option<Duration>,
    pub mask: Option<Masker>,
}

/// The longest output line kept whole; longer ones (a minified blob, a progress bar redrawn
/// with `\r` for minutes) are cut, so memory and CPU stay linear in what compose prints.
pub const MAX_LINE: usize = 16 * 1024;
/// Output lines kept for explaining a failure.
const TRANSCRIPT_LINES: usize = 400;

/// Splits bytes into lines at `\n` or `\r`, each at most [`MAX_LINE`] bytes, never holding more
/// than one partial line. Non-UTF-8 bytes are replaced, never an error.
#[derive(Default)]
pub struct BoundedLines {
    partial: Vec<u8>,
    /// The current line is longer than [`MAX_LINE`]: its rest is dropped up to the next break.
    cut: bool,
}

impl BoundedLines {
    pub fn push(&mut self, bytes: &[u8], mut out: impl FnMut(String)) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match rest.iter().position(|b| *b == b'\n' || *b == b'\r') {
                Some(i) => {
                    self.take(&rest[..i]);
                    self.emit(&mut out);
                    rest = &rest[i + 1..];
                }
                None => {
                    self.take(rest);
                    rest = &[];
                }
            }
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.cut {
            return;
        }
        let room = MAX_LINE - self.partial.len();
        if bytes.len() > room {
            self.partial.extend_from_slice(&bytes[..room]);
            self.cut = true;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn emit(&mut self, out: &mut impl FnMut(String)) {
        let cut = std::mem::take(&mut self.cut);
        if self.partial.is_empty() && !cut {
            return;
        }
        let mut text = String::from_utf8_lossy(&self.partial).into_owned();
        if cut {
            text.push_str(" …");
        }
        self.partial.clear();
        out(text);
    }

    pub fn finish(&mut self, mut out: impl FnMut(String)) {
        self.emit(&mut out);
    }
}

/// Kills a child's whole process group when dropped, so a cancelled `up` leaves no `docker`
/// or buildkit helper behind.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    fn kill(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.take() {
            if let Some(pid) = i32::try_from(pid)
                .ok()
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
        }
        #[cfg(not(unix))]
        {
            self.0 = None;
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

impl ComposeCli {
    /// Runs `args` on `target`, handing each (masked) output line to `on_line` as it comes,
    /// until the command ends, `cancel` resolves or the timeout passes (the child and its process
    /// group are then killed). A failure becomes a typed [`ComposeFailure`].
    pub async fn run<F, C>(
        &self,
        target: &ComposeTarget,
        args: &ComposeArgs,
        options: &RunOptions,
        mut on_line: F,
        cancel: C,
    ) -> Result<(), EngineError>
    where
        F: FnMut(OutputLine),
        C: std::future::Future<Output = ()>,
    {
        let argv = self.argv(target, args);
        let program = argv[0].to_string_lossy().into_owned();
        let mut cmd = tokio::process::Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .current_dir(&target.project_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        for (k, v) in &options.env {
            cmd.env(k, v);
        }
        if let Some(e) = &options.endpoint {
            for k in e.removed_env() {
                cmd.env_remove(k);
            }
            cmd.envs(e.child_env());
        }
        let mut child = cmd
            .spawn()
            .map_err(|source| EngineError::Spawn { program, source })?;
        let mut group = GroupGuard(child.id());
        let mut out = child.stdout.take().ok_or(EngineError::Cancelled)?;
        let mut err = child.stderr.take().ok_or(EngineError::Cancelled)?;
        let mask = |t: String| match &options.mask {
            Some(m) => m(&t),
            None => t,
        };
        let mut transcript: VecDeque<String> = VecDeque::new();
        let mut keep = |t: &str| {
            if transcript.len() == TRANSCRIPT_LINES {
                transcript.pop_front();
            }
            transcript.push_back(t.to_owned());
        };
        let (mut out_lines, mut err_lines) = (BoundedLines::default(), BoundedLines::default());
        let (mut out_buf, mut err_buf) = (vec![0u8; 8192], vec![0u8; 8192]);
        let (mut out_done, mut err_done) = (false, false);
        let deadline = async {
            match options.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(cancel, deadline);
        let mut emit = |stderr: bool, text: String| {
            let text = mask(text);
            keep(&text);
            on_line(OutputLine { stderr, text });
        };
        while !(out_done && err_done) {
            tokio::select! {
                _ = &mut cancel => {
                    group.kill();
                    let _ = child.kill().await;
                    return Err(EngineError::Cancelled);
                }
                _ = &mut deadline => {
                    group.kill();
                    let _ = child.kill().await;
                    return Err(EngineError::TimedOut { secs: options.timeout.unwrap_or_default().as_secs() });
                }
                n = out.read(&mut out_buf), if !out_done => match n {
                    Ok(0) | Err(_) => { out_done = true; out_lines.finish(|t| emit(false, t)); }
                    Ok(n) => out_lines.push(&out_buf[..n], |t| emit(false, t)),
                },
                n = err.read(&mut err_buf), if !err_done => match n {
                    Ok(0) | Err(_) => { err_done = true; err_lines.finish(|t| emit(true, t)); }
                    Ok(n) => err_lines.push(&err_buf[..n], |t| emit(true, t)),
                },
            }
        }
        let status = tokio::select! {
            _ = &mut cancel => {
                group.kill();
                let _ = child.kill().await;
                return Err(EngineError::Cancelled);
            }
            s = child.wait() => s.map_err(|source| EngineError::Spawn { program: "compose".into(), source })?,
        };
        // The child is gone; its group may still hold helpers it left running detached on
        // purpose (none do today), so only a cancel or timeout kills the group.
        group.0 = None;
        if status.success() {
            Ok(())
        } else {
            let transcript: Vec<String> = transcript.into_iter().collect();
            let text = transcript.join("\n");
            Err(EngineError::Compose {
                failure: explain_failure(&text),
                output: text,
            })
        }
    }
}

/// Why a compose command failed, as the UI and the CLI's JSON branch on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ComposeFailure {
    /// A host port the stack publishes is taken (by a process or another container).
    PortInUse {
        address: String,
        service: Option<String>,
    },
    /// A container compose waited for failed its health check.
    Unhealthy {
        service: String,
        /// The last probe output, when known.
        output: Option<String>,
    },
    /// An image is neither local nor pullable.
    ImageMissing { image: String },
    /// Building a service's image failed.
    BuildFailed {
        service: Option<String>,
        /// The Dockerfile step that failed, as the builder printed it.
        step: Option<String>,
        last_lines: Vec<String>,
    },
    /// `down` removed the stack's containers but not its network: other containers of the
    /// project (made from another set of compose files) still use it, and were kept.
    NetworkInUse { network: String },
    /// Compose could not reach the Docker daemon.
    DaemonUnreachable,
    /// Anything else, as one sentence.
    Other { sentence: String },
}

impl std::fmt::Display for ComposeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComposeFailure::PortInUse {
                address,
                service: Some(s),
            } => write!(
                f,
                "service {s} cannot start: host port {address} is already in use"
            ),
            ComposeFailure::PortInUse {
                address,
                service: None,
            } => write!(f, "host port {address} is already in use"),
            ComposeFailure::Unhealthy { service, output } => {
                write!(f, "{service} is unhealthy, so the services that wait for it were not started")?;
                if let Some(o) = output {
                    write!(f, "; its last health check said: {o}")?;
                }
                Ok(())
            }
            ComposeFailure::ImageMissing { image } => write!(
                f,
                "image {image} is not on this engine and cannot be pulled; build it or check its name"
            ),
            ComposeFailure::BuildFailed {
                service,
                step,
                last_lines,
            } => {
                match service {
                    Some(s) => write!(f, "building {s} failed")?,
                    None => write!(f, "the build failed")?,
                }
                if let Some(st) = step {
                    write!(f, " at {st}")?;
                }
                if let Some(l) = last_lines.last() {
                    write!(f, ": {l}")?;
                }
                Ok(())
            }
            ComposeFailure::NetworkInUse { network } => write!(
                f,
                "network {network} was kept: other containers of this project, made from another set of compose files, still use it; remove them too with \"remove orphans\""
            ),
            ComposeFailure::DaemonUnreachable => write!(
                f,
                "compose cannot reach the Docker daemon; start Docker and try again"
            ),
            ComposeFailure::Other { sentence } => f.write_str(sentence),
        }
    }
}

static PORT_IN_USE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"(?:listen (?:tcp|udp)[46]? (\S+): bind: address already in use|Bind for (\S+) failed: port is already allocated)").unwrap()
});
static SERVICE_OF_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"Cannot start service ([A-Za-z0-9._-]+):").unwrap()
});
static UNHEALTHY: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r#"(?:Container "?([^"\s]+)"? is unhealthy|dependency failed to start: container ([^\s]+) is unhealthy)"#).unwrap()
});

static IMAGE_MISSING: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"(?:pull access denied for ([^\s,]+)|No such image: ([^\s]+)|manifest for ([^\s]+) not found|manifest unknown[^\n]*?([\w./:-]+:[\w.-]+)|repository ([^\s]+) not found)").unwrap()
});
static BUILD_FAILED: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"(?:Service '([^']+)' failed to build|target ([A-Za-z0-9._-]+): failed to solve|failed to solve:|did not complete successfully|returned a non-zero code)").unwrap()
});
static NETWORK_IN_USE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"(?:network ([^\s]+) id [0-9a-f]+ has active endpoints|Network ([^\s]+)\s+Resource is still in use|network ([^\s]+) has active endpoints)").unwrap()
});
static BUILD_SERVICE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"(?:Service '([^']+)' failed to build|target ([A-Za-z0-9._-]+): failed to solve)")
        .unwrap()
});
static BUILD_STEP: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern, covered by tests
    Regex::new(r"^(?:#\d+ )?(\[[^\]]*\d+/\d+\] .+|Step \d+/\d+ : .+)$").unwrap()
});

fn first_group(c: &regex::Captures<'_>) -> String {
    c.iter()
        .skip(1)
        .flatten()
        .next()
        .map(|m| m.as_str().trim_end_matches(':').to_owned())
        .unwrap_or_default()
}

/// Turns compose's output on failure into what went wrong. Compose v1 says "Host is already in
/// use by another container" even when a host process holds the port: the daemon's own
/// `bind: address already in use` line is the truth, so it wins.
pub fn explain_failure(transcript: &str) -> ComposeFailure {
    if let Some(c) = PORT_IN_USE.captures(transcript) {
        let service = transcript
            .lines()
            .find(|l| PORT_IN_USE.is_match(l))
            .and_then(|l| SERVICE_OF_ERROR.captures(l))
            .map(|c| c[1].to_owned());
        return ComposeFailure::PortInUse {
            address: first_group(&c),
            service,
        };
    }
    if let Some(c) = UNHEALTHY.captures(transcript) {
        return ComposeFailure::Unhealthy {
            service: format!("container {}", first_group(&c)),
            output: None,
        };
    }
    if let Some(c) = NETWORK_IN_USE.captures(transcript) {
        return ComposeFailure::NetworkInUse {
            network: first_group(&c),
        };
    }
    if transcript.contains("Cannot connect to the Docker daemon")
        || transcript.contains("Is the docker daemon running")
        || transcript.contains("Couldn't connect to Docker daemon")
    {
        return ComposeFailure::DaemonUnreachable;
    }
    let lines: Vec<&str> = transcript
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if BUILD_FAILED.is_match(transcript) {
        let service = BUILD_SERVICE.captures(transcript).map(|c| first_group(&c));
        let step = lines
            .iter()
            .rev()
            .find_map(|l| BUILD_STEP.captures(l))
            .map(|c| c[1].to_owned());
        let last_lines = lines
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(|l| l.to_string())
            .collect();
        return ComposeFailure::BuildFailed {
            service,
            step,
            last_lines,
        };
    }
    if let Some(c) = IMAGE_MISSING.captures(transcript) {
        return ComposeFailure::ImageMissing {
            image: first_group(&c),
        };
    }
    let last: Vec<&str> = lines.iter().rev().take(3).rev().copied().collect();
    ComposeFailure::Other {
        sentence: if last.is_empty() {
            "compose failed without saying why".to_owned()
        } else {
            last.join(" / ")
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> ComposeTarget {
        ComposeTarget {
            project: "demo".into(),
            project_dir: "/p".into(),
            files: vec!["/p/a.yml".into(), "/p/b; rm -rf x.yml".into()],
            env_files: vec!["/p/.env".into()],
            profiles: vec!["dev".into()],
        }
    }

    fn strings(v: Vec<OsString>) -> Vec<String> {
        v.into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn argv_always_carries_project_and_files_without_a_shell() {
        let cli = ComposeCli {
            flavor: ComposeFlavor::V1 {
                program: "docker-compose".into(),
                version: "1.29.2".into(),
            },
        };
        let argv = strings(cli.argv(&target(), &ComposeArgs::new("up").flag("-d")));
        assert_eq!(
            argv,
            vec![
                "docker-compose",
                "--project-name",
                "demo",
                "--project-directory",
                "/p",
                "--file",
                "/p/a.yml",
                "--file",
                "/p/b; rm -rf x.yml",
                "--env-file",
                "/p/.env",
                "--profile",
                "dev",
                "up",
                "-d"
            ],
            "a file name with shell characters stays one argument"
        );
        let v2 = ComposeCli {
            flavor: ComposeFlavor::V2 {
                docker: "/usr/bin/docker".into(),
                version: "2.29.0".into(),
            },
        };
        let argv = strings(v2.argv(&target(), &ComposeArgs::new("ps")));
        assert_eq!(argv[0], "/usr/bin/docker");
        assert_eq!(argv[1], "compose");
    }

    #[test]
    fn service_names_come_after_a_double_dash() {
        let cli = ComposeCli {
            flavor: ComposeFlavor::V2 {
                docker: "/usr/bin/docker".into(),
                version: "2.29.0".into(),
            },
        };
        let args = ComposeArgs::new("build").services(&["--push".to_owned()]);
        let argv = strings(cli.argv(&target(), &args));
        let at = argv.iter().position(|a| a == "build").expect("verb");
        assert_eq!(
            &argv[at..],
            &["build", "--", "--push"],
            "a service named --push must stay a service name, never a flag"
        );
        let v1 = ComposeCli {
            flavor: ComposeFlavor::V1 {
                program: "/usr/bin/docker-compose".into(),
                version: "1.29.2".into(),
            },
        };
        let argv = strings(v1.argv(
            &target(),
            &ComposeArgs::new("start").services(&["web".to_owned()]),
        ));
        assert_eq!(
            &argv[argv.len() - 2..],
            &["start", "web"],
            "v1's start has no `--`"
        );
        let argv = strings(v1.argv(
            &target(),
            &ComposeArgs::new("stop").services(&["web".to_owned()]),
        ));
        assert_eq!(&argv[argv.len() - 3..], &["stop", "--", "web"]);
    }

    #[test]
    fn programs_are_found_only_in_absolute_path_entries() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("docker"), "").expect("write");
        let cwd = std::env::current_dir().expect("cwd");
        std::fs::write(cwd.join("docker-berth-test-relative"), "").ok();
        let path = std::env::join_paths([Path::new("."), Path::new(""), dir.path()]).expect("join");
        assert_eq!(
            resolve_program("docker", Some(&path)),
            Some(dir.path().join("docker"))
        );
        let rel = std::env::join_paths([Path::new(".")]).expect("join");
        assert_eq!(
            resolve_program("docker-berth-test-relative", Some(&rel)),
            None,
            "a relative PATH entry (the project folder) is never searched"
        );
        std::fs::remove_file(cwd.join("docker-berth-test-relative")).ok();
    }

    #[test]
    fn lines_are_bounded_and_bytes_never_stop_the_reader() {
        let mut s = BoundedLines::default();
        let mut out = Vec::new();
        s.push(b"one\ntw", |l| out.push(l));
        s.push(b"o\r\n\xff\xfe bad utf8\n", |l| out.push(l));
        assert_eq!(out, vec!["one", "two", "\u{fffd}\u{fffd} bad utf8"]);
        // 64 MiB without a newline, then \r-only progress: linear, and one bounded line each.
        out.clear();
        let chunk = vec![b'x'; 1 << 20];
        for _ in 0..64 {
            s.push(&chunk, |l| out.push(l));
        }
        s.push(b"\n", |l| out.push(l));
        assert_eq!(out.len(), 1);
        assert!(out[0].len() <= MAX_LINE + 4, "{}", out[0].len());
        assert!(out[0].ends_with('…'));
        out.clear();
        for i in 0..10_000 {
            s.push(format!("\rprogress {i}%").as_bytes(), |l| out.push(l));
        }
        s.finish(|l| out.push(l));
        assert_eq!(out.len(), 10_000);
        assert_eq!(out.last().map(String::as_str), Some("progress 9999%"));
    }

    #[test]
    fn the_daemons_bind_error_beats_compose_v1s_misleading_line() {
        let v1 = "Creating p_nginx_1 ... error\n\nERROR: for p_nginx_1  Cannot start service nginx: driver failed programming external connectivity on endpoint p_nginx_1 (3f2a): Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use\n\nERROR: for nginx  Cannot start service nginx: driver failed programming external connectivity on endpoint p_nginx_1 (3f2a): Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use\nERROR: Host is already in use by another container\n";
        let f = explain_failure(v1);
        assert_eq!(
            f,
            ComposeFailure::PortInUse {
                address: "127.0.0.1:18081".into(),
                service: Some("nginx".into())
            }
        );
        assert_eq!(
            f.to_string(),
            "service nginx cannot start: host port 127.0.0.1:18081 is already in use"
        );
        let other = "Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:8080 failed: port is already allocated";
        assert_eq!(
            explain_failure(other).to_string(),
            "host port 0.0.0.0:8080 is already in use"
        );
        assert_eq!(
            explain_failure("ERROR: for app  Container \"3c1f2d\" is unhealthy.\nERROR: Encountered errors while bringing up the project.\n").to_string(),
            "container 3c1f2d is unhealthy, so the services that wait for it were not started"
        );
        assert_eq!(
            explain_failure("a\n\nb\nc\nd\n"),
            ComposeFailure::Other {
                sentence: "b / c / d".into()
            }
        );
    }

    #[test]
    fn build_failures_missing_images_and_a_missing_daemon_are_typed() {
        let v1 = "Step 1/3 : FROM berth-fixture/busybox:1\n ---> 1a2b\nStep 2/3 : RUN exit 3\n ---> Running in 9f\nThe command '/bin/sh -c exit 3' returned a non-zero code: 3\nERROR: Service 'talker' failed to build : Build failed\n";
        match explain_failure(v1) {
            ComposeFailure::BuildFailed {
                service,
                step,
                last_lines,
            } => {
                assert_eq!(service.as_deref(), Some("talker"));
                assert_eq!(step.as_deref(), Some("Step 2/3 : RUN exit 3"));
                assert!(last_lines.iter().any(|l| l.contains("non-zero code: 3")));
            }
            other => panic!("a build failure, not {other:?}"),
        }
        let v2 = "#5 [talker 2/3] RUN exit 3\n#5 ERROR: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3\ntarget talker: failed to solve: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3\n";
        match explain_failure(v2) {
            ComposeFailure::BuildFailed { service, step, .. } => {
                assert_eq!(service.as_deref(), Some("talker"));
                assert_eq!(step.as_deref(), Some("[talker 2/3] RUN exit 3"));
            }
            other => panic!("a build failure, not {other:?}"),
        }
        assert_eq!(
            explain_failure("Pulling db (nosuch/image:1)...\nERROR: pull access denied for nosuch/image, repository does not exist or may require 'docker login'\n"),
            ComposeFailure::ImageMissing { image: "nosuch/image".into() }
        );
        assert_eq!(
            explain_failure("Removing p_two_1 ... done\nRemoving network p_default\nerror while removing network: network p_default id b1582838b683 has active endpoints\n"),
            ComposeFailure::NetworkInUse { network: "p_default".into() }
        );
        assert_eq!(
            explain_failure("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"),
            ComposeFailure::DaemonUnreachable
        );
    }

    #[test]
    fn detect_reports_missing_compose() {
        let r = ComposeCli::detect_with(
            Path::new("/nonexistent/docker"),
            Path::new("/nonexistent/docker-compose"),
        );
        assert!(matches!(r, Err(EngineError::ComposeMissing)));
    }

    /// A stand-in "compose" program: a shell script that ignores its arguments.
    #[cfg(unix)]
    fn script(dir: &Path, body: &str) -> ComposeCli {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-compose");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        ComposeCli {
            flavor: ComposeFlavor::V1 {
                program: path,
                version: "test".into(),
            },
        }
    }

    #[cfg(unix)]
    fn here(dir: &Path) -> ComposeTarget {
        ComposeTarget {
            project: "p".into(),
            project_dir: dir.to_path_buf(),
            ..Default::default()
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn binary_output_and_huge_lines_neither_hang_nor_grow_memory() {
        let dir = tempfile::tempdir().expect("tmp");
        // 4 MiB of random bytes (invalid UTF-8, few newlines) on stdout, a secret on stderr.
        let cli = script(
            dir.path(),
            "head -c 4194304 /dev/urandom; echo 'password is hunter2' >&2; exit 3",
        );
        let mut lines = 0usize;
        let mut longest = 0usize;
        let options = RunOptions {
            mask: Some(Arc::new(|t: &str| t.replace("hunter2", "********"))),
            timeout: Some(Duration::from_secs(30)),
            ..Default::default()
        };
        let mut saw_secret = false;
        let r = cli
            .run(
                &here(dir.path()),
                &ComposeArgs::new("up"),
                &options,
                |l| {
                    lines += 1;
                    longest = longest.max(l.text.len());
                    saw_secret |= l.text.contains("hunter2");
                },
                std::future::pending(),
            )
            .await;
        let Err(EngineError::Compose { output, .. }) = r else {
            panic!("exit 3 is a compose failure, got {r:?}");
        };
        assert!(lines > 0);
        assert!(
            longest <= MAX_LINE * 3 + 8,
            "a line is bounded (lossy UTF-8 may triple bytes): {longest}"
        );
        assert!(!saw_secret, "secrets are masked before anyone sees a line");
        assert!(
            output.contains("password is ********"),
            "and in what is kept"
        );
        assert!(
            output.len() < TRANSCRIPT_LINES * (MAX_LINE * 3 + 8),
            "the transcript is bounded"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn cancel_and_timeout_kill_the_whole_process_group() {
        let dir = tempfile::tempdir().expect("tmp");
        let pidfile = dir.path().join("grandchild.pid");
        let cli = script(
            dir.path(),
            &format!("sleep 300 & echo $! > {}; wait", pidfile.display()),
        );
        let cancel = async {
            while !pidfile.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let started = std::time::Instant::now();
        let r = cli
            .run(
                &here(dir.path()),
                &ComposeArgs::new("up"),
                &RunOptions::default(),
                |_| {},
                cancel,
            )
            .await;
        assert!(matches!(r, Err(EngineError::Cancelled)), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .expect("pid")
            .trim()
            .parse()
            .expect("a pid");
        let mut alive = true;
        for _ in 0..50 {
            alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
                && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .unwrap_or_default()
                    .contains(") Z ");
            if !alive {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            !alive,
            "the grandchild (a build helper, say) died with the cancelled child"
        );

        let slow = script(dir.path(), "sleep 300");
        let r = slow
            .run(
                &here(dir.path()),
                &ComposeArgs::new("up"),
                &RunOptions {
                    timeout: Some(Duration::from_millis(300)),
                    ..Default::default()
                },
                |_| {},
                std::future::pending(),
            )
            .await;
        assert!(matches!(r, Err(EngineError::TimedOut { .. })), "{r:?}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_child_gets_exactly_the_sessions_endpoint() {
        let dir = tempfile::tempdir().expect("tmp");
        let cli = script(
            dir.path(),
            "echo \"host=$DOCKER_HOST context=${DOCKER_CONTEXT:-none} certs=${DOCKER_CERT_PATH:-none} verify=${DOCKER_TLS_VERIFY:-none}\"",
        );
        let endpoint = Endpoint {
            host: "tcp://build-box:2376".into(),
            source: crate::EndpointSource::Context {
                name: "remote".into(),
            },
            tls: Some(crate::endpoint::TlsFiles {
                dir: "/certs/remote".into(),
                verify: true,
            }),
        };
        let mut out = Vec::new();
        cli.run(
            &here(dir.path()),
            &ComposeArgs::new("ps"),
            &RunOptions {
                // What the user's shell had: another engine entirely.
                env: vec![
                    ("DOCKER_HOST".into(), "unix:///elsewhere.sock".into()),
                    ("DOCKER_CONTEXT".into(), "other".into()),
                ],
                endpoint: Some(endpoint),
                ..Default::default()
            },
            |l| out.push(l.text),
            std::future::pending(),
        )
        .await
        .expect("runs");
        assert_eq!(
            out,
            vec!["host=tcp://build-box:2376 context=none certs=/certs/remote verify=1"],
            "bollard and compose must talk to the same engine"
        );
    }
}
