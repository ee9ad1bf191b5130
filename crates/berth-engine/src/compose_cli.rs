use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    #[error("neither `docker compose` (v2) nor `docker-compose` (v1) is installed; install Docker Compose and try again")]
    ComposeMissing,
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

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

    pub fn detect() -> Result<Self, EngineError> {
        Self::detect_with(Path::new("docker"), Path::new("docker-compose"))
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
    fn detect_reports_missing_compose() {
        let r = ComposeCli::detect_with(
            Path::new("/nonexistent/docker"),
            Path::new("/nonexistent/docker-compose"),
        );
        assert!(matches!(r, Err(EngineError::ComposeMissing)));
    }
}
