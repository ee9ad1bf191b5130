use crate::{berth, stderr};

#[test]
fn malformed_yaml_exits_non_zero_with_file_line_column() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "services:\n  web:\n    image: nginx\n  ports: [oops\n",
    )
    .expect("write");
    let o = berth(&["inspect", "--json"], dir.path());
    assert!(!o.status.success());
    assert!(o.stdout.is_empty(), "nothing on stdout on error");
    let e = stderr(&o);
    assert!(e.starts_with("berth: compose.yaml:"), "file first: {e}");
    let pos: Vec<&str> = e
        .trim_start_matches("berth: compose.yaml:")
        .splitn(3, ':')
        .collect();
    assert!(
        pos[0].parse::<u32>().is_ok() && pos[1].parse::<u32>().is_ok(),
        "line and column: {e}"
    );
}

#[test]
fn missing_required_variable_names_it() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("compose.yaml"), "services:\n  db:\n    image: pg\n    environment:\n      P: ${DB_PASSWORD:?copy .env.example to .env}\n").expect("write");
    let o = berth(&["inspect"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("DB_PASSWORD")
            && e.contains("copy .env.example to .env")
            && e.contains("compose.yaml:5:"),
        "{e}"
    );
}

#[test]
fn no_compose_file_is_exit_code_3() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = berth(&["inspect"], dir.path());
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("no compose file found"));
}
