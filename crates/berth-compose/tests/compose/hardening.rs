//! Hostile or broken input: bounded work, no hang, no file read from outside the project.

use crate::Fixture;

#[test]
fn an_alias_of_a_long_string_used_thousands_of_times_is_refused_by_size() {
    // 1 MiB referenced 3,000 times: few nodes, 3 GB of copies.
    let long = "x".repeat(1 << 20);
    let mut yaml =
        format!("x-big: &big \"{long}\"\nservices:\n  app:\n    image: busybox\n    labels:\n");
    for i in 0..3000 {
        yaml.push_str(&format!("      l{i}: *big\n"));
    }
    let e = Fixture::new(&[("compose.yaml", &yaml)]).err();
    assert!(
        e.contains("MiB of text"),
        "the expansion is refused by the bytes it would copy: {e}"
    );
    assert!(e.contains("compose.yaml:"), "with its place: {e}");
}

#[test]
fn deeply_nested_variables_are_an_error_with_the_place() {
    let deep = format!("{}x{}", "${A:-".repeat(5000), "}".repeat(5000));
    let yaml = format!("services:\n  app:\n    image: \"{deep}\"\n");
    let e = Fixture::new(&[("compose.yaml", &yaml)]).err();
    assert!(
        e.contains("nested deeper than") && e.contains("compose.yaml:3"),
        "{e}"
    );
}

#[test]
fn a_lone_dollar_is_kept_as_compose_v2_keeps_it() {
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:\n  app:\n    image: busybox\n    environment:\n      MSG: \"a $ string\"\n      RE: \"^REGEX$\"\n",
    )])
    .ok();
    assert_eq!(
        crate::env_of(&p, "app", "MSG").as_deref(),
        Some("a $ string")
    );
    assert_eq!(crate::env_of(&p, "app", "RE").as_deref(), Some("^REGEX$"));
}

#[test]
fn a_device_as_compose_file_is_refused_not_read_forever() {
    let e = Fixture::new(&[
        ("compose.yaml", "services:\n  app:\n    image: busybox\n"),
        (".env", "COMPOSE_FILE=/dev/zero\n"),
    ])
    .err();
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_fifo_as_env_file_is_refused_without_blocking() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "services:\n  app:\n    image: busybox\n    env_file: ./pipe.env\n",
    )]);
    let fifo = f.dir.path().join("pipe.env");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo");
    // Opening a FIFO for reading blocks until a writer comes: the loader must not open it.
    let e = f.err();
    assert!(
        e.contains("pipe.env") && e.contains("not a regular file"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn a_mounted_config_that_links_outside_the_project_is_not_read() {
    let f = Fixture::new(&[
        (
            "compose.yaml",
            "services:\n  nginx:\n    image: nginx:alpine\n    volumes:\n      - ./nginx:/etc/nginx/conf.d:ro\n  app:\n    image: busybox\n",
        ),
        ("nginx/site.conf", "server { location / { proxy_pass http://app:8000; } }\n"),
    ]);
    let outside = tempfile::tempdir().expect("tmp");
    let secret = outside.path().join("secret.conf");
    std::fs::write(
        &secret,
        "server { location / { proxy_pass http://app:9999; } }\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(&secret, f.dir.path().join("nginx/linked.conf")).expect("symlink");
    let p = f.ok();
    let read: Vec<String> = p.configs["nginx"]
        .iter()
        .map(|c| c.path.display().to_string())
        .collect();
    assert!(
        read.iter().any(|r| r.ends_with("site.conf")),
        "the project's own config is read: {read:?}"
    );
    assert!(
        !read.iter().any(|r| r.ends_with("linked.conf")),
        "a symlink to a file outside the project is not followed: {read:?}"
    );
}
