//! The one place in this crate that starts another program. A command is an argument vector,
//! never a shell string, so a path or a nickname is always one argument whatever it holds. The
//! program gets no standard input (a tool that would prompt fails instead of waiting for a
//! terminal nobody sees), its output is kept up to a bound, and it is killed when its time is up
//! (a locked database or a password prompt left open never hangs Berth).

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// What is kept of each of stdout and stderr. The rest is still read (and dropped), so a chatty
/// program never blocks on a full pipe.
pub const OUTPUT_CAP: usize = 64 * 1024;

/// How long to wait for the pipes to close once the program has exited: a grandchild it left
/// running (a daemon it started) may hold them open forever.
const PIPE_GRACE: Duration = Duration::from_millis(500);

/// A program and its arguments, exactly as they are handed to the operating system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argv {
    pub program: OsString,
    pub args: Vec<OsString>,
}

impl Argv {
    pub fn new(program: impl Into<OsString>) -> Self {
        Argv {
            program: program.into(),
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The same command started through `program` (`pkexec`), which becomes the program and
    /// takes the old one as its first argument.
    pub fn run_through(self, program: impl Into<OsString>) -> Self {
        let mut args = Vec::with_capacity(self.args.len() + 1);
        args.push(self.program);
        args.extend(self.args);
        Argv {
            program: program.into(),
            args,
        }
    }

    /// Program and arguments as text (lossy where a path is not UTF-8): for tests and logs.
    pub fn words(&self) -> Vec<String> {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|w| w.to_string_lossy().into_owned())
            .collect()
    }
}

/// The command as a person would type it into a POSIX shell, each word quoted where it needs
/// to be. For showing only: nothing ever runs this text.
impl fmt::Display for Argv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, w) in self.words().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-+=.,/:@%".contains(c));
            if plain {
                f.write_str(w)?;
            } else {
                write!(f, "'{}'", w.replace('\'', r"'\''"))?;
            }
        }
        Ok(())
    }
}

/// How a program ended and what it printed (each stream cut at [`OUTPUT_CAP`]).
#[derive(Debug)]
pub struct RunOutput {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.status.success()
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The program is not installed (or not on PATH): the one failure a caller can explain
    /// with "install X".
    #[error("{program} is not installed (not found on PATH)")]
    NotFound { program: String },

    #[error("cannot start `{command}`: {source}")]
    Start {
        command: String,
        #[source]
        source: io::Error,
    },

    #[error("`{command}` did not finish within {} s and was stopped", after.as_secs())]
    TimedOut { command: String, after: Duration },

    #[error("lost track of `{command}`: {source}")]
    Wait {
        command: String,
        #[source]
        source: io::Error,
    },
}

/// Runs `argv` to its end, or kills it after `timeout`.
pub fn run(argv: &Argv, timeout: Duration) -> Result<RunOutput, SpawnError> {
    let mut child = Command::new(&argv.program)
        .args(&argv.args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound {
                program: argv.program.to_string_lossy().into_owned(),
            },
            _ => SpawnError::Start {
                command: argv.to_string(),
                source,
            },
        })?;
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);

    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(2);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SpawnError::Wait {
                    command: argv.to_string(),
                    source,
                });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            // A program that became root (pkexec's, once the password is given) cannot be
            // killed by us: it is left to end on its own, reaped by a thread rather than waited
            // for here.
            if child.kill().is_ok() {
                let _ = child.wait();
            } else {
                thread::spawn(move || child.wait());
            }
            return Err(SpawnError::TimedOut {
                command: argv.to_string(),
                after: timeout,
            });
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    let grace = Instant::now() + PIPE_GRACE;
    Ok(RunOutput {
        status,
        stdout: stdout.map(|rx| collect(rx, grace)).unwrap_or_default(),
        stderr: stderr.map(|rx| collect(rx, grace)).unwrap_or_default(),
    })
}

/// Reads a pipe to its end on a thread of its own, sending on at most [`OUTPUT_CAP`] bytes.
fn drain(mut pipe: impl Read + Send + 'static) -> Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = 0;
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let take = n.min(OUTPUT_CAP - kept);
                    if take > 0 {
                        kept += take;
                        if tx.send(buf[..take].to_vec()).is_err() {
                            break; // the caller stopped listening (a grandchild held the pipe)
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    rx
}

/// What a pipe's reader sent, until the pipe closed or `until` passed.
fn collect(rx: Receiver<Vec<u8>>, until: Instant) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => out.extend(chunk),
            Err(RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout) => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_a_shell_would_split() {
        let a = Argv::new("certutil")
            .args(["-d", "sql:/home/a b/.pki/nssdb", "-n", "Berth's CA", ""])
            .arg("plain-word_1.crt");
        assert_eq!(
            a.to_string(),
            r"certutil -d 'sql:/home/a b/.pki/nssdb' -n 'Berth'\''s CA' '' plain-word_1.crt"
        );
    }

    #[test]
    fn run_through_puts_the_program_first() {
        let a = Argv::new("update-ca-certificates").run_through("pkexec");
        assert_eq!(a.words(), ["pkexec", "update-ca-certificates"]);
    }

    #[test]
    fn a_missing_program_is_named() {
        let err = run(
            &Argv::new("berth-no-such-program-xyz"),
            Duration::from_secs(5),
        )
        .err();
        assert!(
            matches!(&err, Some(SpawnError::NotFound { program }) if program == "berth-no-such-program-xyz"),
            "{err:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn output_is_captured_and_capped() {
        let big = run(
            &Argv::new("head").args(["-c", "200000", "/dev/zero"]),
            Duration::from_secs(10),
        );
        let big = big.unwrap_or_else(|e| panic!("{e}"));
        assert!(big.success());
        assert_eq!(big.stdout.len(), OUTPUT_CAP);

        let failed = run(
            &Argv::new("ls").args(["--", "/berth-no-such-file"]),
            Duration::from_secs(10),
        );
        let failed = failed.unwrap_or_else(|e| panic!("{e}"));
        assert!(!failed.success());
        assert!(failed.stdout.is_empty());
        assert!(failed.stderr_text().contains("/berth-no-such-file"));
    }

    #[cfg(unix)]
    #[test]
    fn a_program_past_its_time_is_killed() {
        let started = Instant::now();
        let err = run(&Argv::new("sleep").arg("30"), Duration::from_millis(200)).err();
        assert!(matches!(err, Some(SpawnError::TimedOut { .. })), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
