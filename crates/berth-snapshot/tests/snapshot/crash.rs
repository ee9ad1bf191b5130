//! A writer killed mid-artifact (SIGKILL: no destructor runs) leaves only its temporary file,
//! never a file under the final name, and clean_leftovers removes it.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use berth_snapshot::{clean_leftovers, ArtifactWriter};

use super::names;

const CHILD: &str = "BERTH_SNAPSHOT_CRASH_CHILD";
const FILE: &str = "endless.zst";

/// Run by the test below in a child process, where it writes until killed; a no-op in a normal
/// test run.
#[test]
fn child_writer() {
    let Some(dir) = std::env::var_os(CHILD) else {
        return;
    };
    let mut writer = ArtifactWriter::create(Path::new(&dir), FILE).expect("create");
    // Incompressible bytes, so the file on disk grows as fast as it is written.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut chunk = vec![0u8; 64 * 1024];
    let started = Instant::now();
    // Bounded so an orphaned child ends on its own if the parent died first.
    while started.elapsed() < Duration::from_secs(120) {
        for word in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        writer.write_all(&chunk).expect("write");
    }
    panic!("the parent did not kill this writer within 120 s");
}

#[test]
fn a_killed_writer_leaves_only_a_temp_file_that_clean_leftovers_removes() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let root = tmp.path().join("snapshots");
    let dir = root.join("20260101-120000-abcd");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash::child_writer", "--nocapture"])
        .env(CHILD, &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the writer");
    let temp = dir.join(format!(".{FILE}.tmp-{}", child.id()));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let size = std::fs::metadata(&temp).map(|m| m.len()).unwrap_or(0);
        if size > 1024 * 1024 {
            break;
        }
        if let Some(status) = child.try_wait().expect("poll child") {
            panic!("the writer ended on its own ({status}) with {size} bytes written");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the writer wrote only {size} bytes in 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL the writer mid-artifact");
    child.wait().expect("reap");

    assert!(
        !dir.join(FILE).exists(),
        "a killed writer never leaves a file under the final name"
    );
    assert!(temp.is_file(), "its temporary file is what remains");
    let removed = clean_leftovers(&root, &|_| true).expect("clean");
    assert_eq!(
        removed,
        vec![temp.clone()],
        "cleanup removes the temporary file"
    );
    assert!(names(&dir).is_empty(), "and the folder is empty after");
}
