use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;

use regex::Regex;
use tokio::io::{AsyncBufReadExt, BufReader};

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

impl ComposeCli {
    /// Prefers `docker compose` (v2) and falls back to `docker-compose` (v1). `docker` and
    /// `docker_compose` name the programs to try (normally just "docker" and "docker-compose",
    /// found on PATH).
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

    /// The machine's compose CLI, detected once per process: asking `docker-compose version`
    /// starts a Python interpreter (about half a second), which no action should pay twice.
    pub fn detect() -> Result<Self, EngineError> {
        static DETECTED: std::sync::OnceLock<Option<ComposeCli>> = std::sync::OnceLock::new();
        DETECTED
            .get_or_init(|| {
                Self::detect_with(Path::new("docker"), Path::new("docker-compose")).ok()
            })
            .clone()
            .ok_or(EngineError::ComposeMissing)
    }

    /// The full argument vector for `args` on `target`, program first.
    pub fn argv(&self, target: &ComposeTarget, args: &[&str]) -> Vec<OsString> {
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
        v.extend(args.iter().map(OsString::from));
        v
    }

    /// A ready-to-run command for `args` on `target`.
    pub fn command(&self, target: &ComposeTarget, args: &[&str]) -> Command {
        let argv = self.argv(target, args);
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir(&target.project_dir);
        cmd
    }
}

/// One line of compose output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stderr: bool,
    pub text: String,
}

impl ComposeCli {
    /// Runs `args` on `target`, handing each output line to `on_line` as it comes, until the
    /// command ends or `cancel` resolves (the child is then killed). A failure becomes one
    /// sentence a person can act on.
    pub async fn run<F, C>(
        &self,
        target: &ComposeTarget,
        args: &[&str],
        envs: &[(String, String)],
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
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|source| EngineError::Spawn { program, source })?;
        let mut out = BufReader::new(child.stdout.take().ok_or(EngineError::Cancelled)?).lines();
        let mut err = BufReader::new(child.stderr.take().ok_or(EngineError::Cancelled)?).lines();
        let mut transcript = String::new();
        let (mut out_done, mut err_done) = (false, false);
        tokio::pin!(cancel);
        while !(out_done && err_done) {
            tokio::select! {
                _ = &mut cancel => {
                    let _ = child.kill().await;
                    return Err(EngineError::Cancelled);
                }
                line = out.next_line(), if !out_done => match line {
                    Ok(Some(text)) => { transcript.push_str(&text); transcript.push('\n'); on_line(OutputLine { stderr: false, text }); }
                    _ => out_done = true,
                },
                line = err.next_line(), if !err_done => match line {
                    Ok(Some(text)) => { transcript.push_str(&text); transcript.push('\n'); on_line(OutputLine { stderr: true, text }); }
                    _ => err_done = true,
                },
            }
        }
        let status = tokio::select! {
            _ = &mut cancel => {
                let _ = child.kill().await;
                return Err(EngineError::Cancelled);
            }
            s = child.wait() => s.map_err(|source| EngineError::Spawn { program: "compose".into(), source })?,
        };
        if status.success() {
            Ok(())
        } else {
            Err(EngineError::Compose {
                message: explain_failure(&transcript),
                output: transcript,
            })
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

/// Turns compose's output on failure into the sentence that explains it. Compose v1 says "Host is
/// already in use by another container" even when a host process holds the port: the daemon's own
/// `bind: address already in use` line is the truth, so it wins.
pub fn explain_failure(transcript: &str) -> String {
    if let Some(c) = PORT_IN_USE.captures(transcript) {
        let addr = c
            .get(1)
            .or(c.get(2))
            .map(|m| m.as_str())
            .unwrap_or_default();
        let service = transcript
            .lines()
            .find(|l| PORT_IN_USE.is_match(l))
            .and_then(|l| SERVICE_OF_ERROR.captures(l))
            .map(|c| c[1].to_owned());
        return match service {
            Some(s) => format!("service {s} cannot start: host port {addr} is already in use"),
            None => format!("host port {addr} is already in use"),
        };
    }
    if let Some(c) = UNHEALTHY.captures(transcript) {
        let name = c
            .get(1)
            .or(c.get(2))
            .map(|m| m.as_str())
            .unwrap_or_default();
        return format!(
            "container {name} is unhealthy, so the services that wait for it were not started"
        );
    }
    let last: Vec<&str> = transcript
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .rev()
        .take(3)
        .collect();
    let last: Vec<&str> = last.into_iter().rev().collect();
    if last.is_empty() {
        "compose failed without saying why".to_owned()
    } else {
        last.join(" / ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_always_carries_project_and_files_without_a_shell() {
        let cli = ComposeCli {
            flavor: ComposeFlavor::V1 {
                program: "docker-compose".into(),
                version: "1.29.2".into(),
            },
        };
        let t = ComposeTarget {
            project: "demo".into(),
            project_dir: "/p".into(),
            files: vec!["/p/a.yml".into(), "/p/b; rm -rf x.yml".into()],
            env_files: vec!["/p/.env".into()],
            profiles: vec!["dev".into()],
        };
        let argv: Vec<String> = cli
            .argv(&t, &["up", "-d"])
            .into_iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
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
                docker: "docker".into(),
                version: "2.29.0".into(),
            },
        };
        let argv = v2.argv(&t, &["ps"]);
        assert_eq!(argv[0], "docker");
        assert_eq!(argv[1], "compose");
    }

    #[test]
    fn the_daemons_bind_error_beats_compose_v1s_misleading_line() {
        let v1 = "Creating p_nginx_1 ... error\n\nERROR: for p_nginx_1  Cannot start service nginx: driver failed programming external connectivity on endpoint p_nginx_1 (3f2a): Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use\n\nERROR: for nginx  Cannot start service nginx: driver failed programming external connectivity on endpoint p_nginx_1 (3f2a): Error starting userland proxy: listen tcp4 127.0.0.1:18081: bind: address already in use\nERROR: Host is already in use by another container\n";
        assert_eq!(
            explain_failure(v1),
            "service nginx cannot start: host port 127.0.0.1:18081 is already in use"
        );
        let other = "Error response from daemon: driver failed programming external connectivity on endpoint x: Bind for 0.0.0.0:8080 failed: port is already allocated";
        assert_eq!(
            explain_failure(other),
            "host port 0.0.0.0:8080 is already in use"
        );
        assert_eq!(
            explain_failure("ERROR: for app  Container \"3c1f2d\" is unhealthy.\nERROR: Encountered errors while bringing up the project.\n"),
            "container 3c1f2d is unhealthy, so the services that wait for it were not started"
        );
        assert_eq!(explain_failure("a\n\nb\nc\nd\n"), "b / c / d");
    }

    #[test]
    fn detect_reports_missing_compose() {
        let r = ComposeCli::detect_with(
            Path::new("/nonexistent/docker"),
            Path::new("/nonexistent/docker-compose"),
        );
        assert!(matches!(r, Err(EngineError::ComposeMissing)));
    }
}
