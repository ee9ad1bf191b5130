//! Bad input gives a clear error that names file, line and column, and never a panic.

use crate::Fixture;

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n   ports: [\"80:80\"\n",
    )])
    .err();
    assert!(
        e.starts_with("compose.yaml:4:"),
        "file and line of the bad text: {e}"
    );
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: \"unterminated\n",
    )])
    .err();
    assert!(e.starts_with("compose.yaml:"), "{e}");
    let e = Fixture::new(&[("compose.yaml", "services:\n\tweb: {}\n")]).err();
    assert!(
        e.starts_with("compose.yaml:2:"),
        "tabs are reported where they are: {e}"
    );
}

#[test]
fn duplicate_keys_are_errors() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: a\n    image: b\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:4:5") && e.contains("duplicate key `image`"),
        "{e}"
    );
}

#[test]
fn type_errors_name_the_path_and_position() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    ports: 80\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:4:12") && e.contains("services.web.ports"),
        "{e}"
    );
    let e = Fixture::new(&[("compose.yaml", "services:\n  web:\n    image: [nginx]\n")]).err();
    assert!(
        e.contains("compose.yaml:3:12") && e.contains("must be a string"),
        "{e}"
    );
    let e = Fixture::new(&[("compose.yaml", "services:\n  web:\n    image: nginx\n    depends_on:\n      db:\n        condition: service_ready\n  db:\n    image: pg\n")]).err();
    assert!(
        e.contains("compose.yaml:6:20") && e.contains("must be one of \"service_started\""),
        "{e}"
    );
    let e = Fixture::new(&[("compose.yaml", "services: [a, b]\n")]).err();
    assert!(e.contains("compose.yaml:1:11"), "{e}");
    let e = Fixture::new(&[("compose.yaml", "- just\n- a list\n")]).err();
    assert!(e.contains("must be a mapping"), "{e}");
}

#[test]
fn unknown_keys_are_refused_as_compose_v2_refuses_them() {
    // v2 validates against the compose-spec schema: a typo is an error, not a silent no-op.
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    imagee: typo\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:4:5") && e.contains("'imagee'") && e.contains("services.web"),
        "the unknown key is named at its place: {e}"
    );
    let e = Fixture::new(&[(
        "compose.yaml",
        "servics: {}\nservices:\n  web:\n    image: nginx\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:1:1") && e.contains("'servics'"),
        "{e}"
    );
    let p = Fixture::new(&[(
        "compose.yaml",
        "x-top: 1\nservices:\n  web:\n    image: nginx\n    x-mine: {any: thing}\n",
    )])
    .ok();
    assert!(p.services.contains_key("web"), "x- keys stay allowed");
}

#[test]
fn an_empty_file_is_refused() {
    for text in ["", "# only a comment\n", "version: '3.8'\n"] {
        let e = Fixture::new(&[("compose.yaml", text)]).err();
        assert!(
            e.contains("empty"),
            "{text:?} is an empty project for v2 too: {e}"
        );
    }
    let p = Fixture::new(&[("compose.yaml", "services: {}\n")]).ok();
    assert!(
        p.services.is_empty(),
        "an empty services map is a valid, empty project"
    );
}

#[test]
fn every_document_of_a_file_is_merged() {
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n---\nservices:\n  b:\n    image: y\n  a:\n    command: run\n",
    )])
    .ok();
    assert_eq!(
        p.services.len(),
        2,
        "both documents' services: {:?}",
        p.services.keys()
    );
    assert_eq!(
        p.services["a"].image.as_deref(),
        Some("x"),
        "the second document merges into the first"
    );
}

#[test]
fn dependency_cycles_name_every_service_in_them() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n  d:\n    image: x\n",
    )])
    .err();
    assert!(e.contains("cycle"), "{e}");
    for s in ["a", "b", "c"] {
        assert!(e.contains(s), "{s} is in the cycle: {e}");
    }
    assert!(
        !e.contains('d'.to_string().as_str()) || !e.contains(" d"),
        "d is not in it: {e}"
    );
}

#[test]
fn undefined_dependency_is_named() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: x\n    depends_on: [ghost]\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:4:18") && e.contains("\"ghost\""),
        "{e}"
    );
}

#[test]
fn invalid_interpolation_is_reported_with_position() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: \"nginx:${\"\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:3:12") && e.contains("invalid interpolation"),
        "{e}"
    );
}

#[test]
fn invalid_interpolation_in_a_secret_does_not_print_the_secret() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  db:\n    image: pg\n    environment:\n      DB_PASSWORD: \"hunter2${\"\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:5:20") && !e.contains("hunter2"),
        "{e}"
    );
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  db:\n    image: pg\n    environment:\n      - \"API_TOKEN=abc${\"\n",
    )])
    .err();
    assert!(e.contains("API_TOKEN") && !e.contains("abc"), "{e}");
}

#[test]
fn service_without_image_or_build() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    ports: [\"80:80\"]\n",
    )])
    .err();
    assert!(
        e.contains("\"web\"") && e.contains("neither an image nor a build"),
        "{e}"
    );
}

#[test]
fn no_compose_file_says_where_it_looked() {
    let f = Fixture::new(&[("readme.md", "hi")]);
    let e = f.err();
    assert!(e.contains("no compose file found"), "{e}");
}

#[test]
fn alias_bombs_and_deep_nesting_fail_cleanly() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in 'b'..='k' {
        bomb.push_str(&format!("{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        prev = c;
    }
    bomb.push_str("services: {}\n");
    let e = Fixture::new(&[("compose.yaml", &bomb)]).err();
    assert!(e.contains("too many nodes"), "{e}");
    let deep = format!("services: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let e = Fixture::new(&[("compose.yaml", &deep)]).err();
    assert!(e.contains("compose.yaml:1:"), "{e}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A cheap, deterministic sweep over mutated inputs; the cargo-fuzz target goes further.
    let seed = "services:\n  web:\n    image: nginx\n    ports: [\"127.0.0.1:80:80/tcp\"]\n    environment: {A: \"${B:-c}\"}\n    volumes: [\"./x:/y:ro\"]\n";
    let bytes = seed.as_bytes();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..1500 {
        let mut v = bytes.to_vec();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state as usize) % v.len();
            const ALPHABET: &[u8] = b"{}[]:,-&*!|>'\"%@`$\n\t #?x0";
            v[i] = ALPHABET[(state >> 32) as usize % ALPHABET.len()];
        }
        let text = String::from_utf8_lossy(&v).into_owned();
        let f = Fixture::new(&[("compose.yaml", &text)]);
        let _ = f.load();
    }
}
