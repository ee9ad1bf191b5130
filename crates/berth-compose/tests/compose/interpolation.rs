use crate::{env_of, Fixture};

#[test]
fn shell_environment_wins_over_dot_env() {
    let f = Fixture::new(&[
        ("compose.yaml", "services:\n  app:\n    image: \"busybox:${TAG}\"\n    environment:\n      FROM_ENV: ${ONLY_DOTENV}\n      BOTH: ${BOTH}\n"),
        (".env", "TAG=1.36\nONLY_DOTENV=dotenv-value\nBOTH=from-dotenv\n"),
    ])
    .env("BOTH", "from-shell");
    let p = f.ok();
    assert_eq!(p.services["app"].image.as_deref(), Some("busybox:1.36"));
    assert_eq!(
        env_of(&p, "app", "FROM_ENV").as_deref(),
        Some("dotenv-value")
    );
    assert_eq!(
        env_of(&p, "app", "BOTH").as_deref(),
        Some("from-shell"),
        "the shell must win over .env"
    );
}

#[test]
fn every_form_in_a_compose_file() {
    let f = Fixture::new(&[(
        "compose.yaml",
        r#"services:
  app:
    image: busybox
    environment:
      PLAIN: $SET
      BRACED: ${SET}
      DEFAULT_UNSET: ${NOPE:-d1}
      DEFAULT_EMPTY_COLON: ${EMPTY:-d2}
      DEFAULT_EMPTY_NOCOLON: ${EMPTY-d3}
      ALT_SET: ${SET:+alt}
      ALT_EMPTY: ${EMPTY:+alt}
      ALT_EMPTY_NOCOLON: ${EMPTY+alt}
      NESTED: ${NOPE:-${ALSO_NOPE:-${SET}}}
      DOLLAR: "price: $$5 and $${SET}"
      REQUIRED_OK: ${SET:?never shown}
"#,
    )])
    .env("SET", "s")
    .env("EMPTY", "");
    let p = f.ok();
    let e = |k: &str| env_of(&p, "app", k).unwrap_or_else(|| panic!("{k} missing"));
    assert_eq!(e("PLAIN"), "s");
    assert_eq!(e("BRACED"), "s");
    assert_eq!(e("DEFAULT_UNSET"), "d1");
    assert_eq!(e("DEFAULT_EMPTY_COLON"), "d2");
    assert_eq!(e("DEFAULT_EMPTY_NOCOLON"), "");
    assert_eq!(e("ALT_SET"), "alt");
    assert_eq!(e("ALT_EMPTY"), "");
    assert_eq!(e("ALT_EMPTY_NOCOLON"), "alt");
    assert_eq!(e("NESTED"), "s");
    assert_eq!(e("DOLLAR"), "price: $5 and ${SET}", "$$ is a literal $");
    assert_eq!(e("REQUIRED_OK"), "s");
}

#[test]
fn unset_variables_warn_and_become_empty() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "services:\n  app:\n    image: busybox${MISSING_TAG}\n",
    )]);
    let p = f.ok();
    assert_eq!(p.services["app"].image.as_deref(), Some("busybox"));
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("MISSING_TAG") && w.contains("compose.yaml:3")),
        "the warning should name the variable and where it is used: {:?}",
        p.warnings
    );
}

#[test]
fn required_variable_error_names_variable_message_and_position() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "services:\n  db:\n    image: postgres\n    environment:\n      POSTGRES_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD in .env}\n",
    )]);
    let e = f.err();
    assert!(e.contains("DB_PASSWORD"), "{e}");
    assert!(e.contains("set DB_PASSWORD in .env"), "{e}");
    assert!(
        e.contains("compose.yaml:5:26"),
        "position of the value: {e}"
    );
}

#[test]
fn env_file_flag_replaces_dot_env() {
    let f = Fixture::new(&[
        (
            "compose.yaml",
            "services:\n  app:\n    image: \"busybox:${TAG:-latest}\"\n",
        ),
        (".env", "TAG=from-dotenv\n"),
        ("other.env", "TAG=from-other\n"),
    ]);
    let mut f = f;
    f.opts.env_files = vec![f.dir.path().join("other.env")];
    assert_eq!(
        f.ok().services["app"].image.as_deref(),
        Some("busybox:from-other")
    );
}

#[test]
fn env_file_forms_and_precedence() {
    let f = Fixture::new(&[
        (
            "compose.yaml",
            r#"services:
  a:
    image: busybox
    env_file: a.env
    environment:
      OVERRIDDEN: from-environment
  b:
    image: busybox
    env_file:
      - a.env
      - b.env
  c:
    image: busybox
    env_file:
      - path: a.env
      - path: missing.env
        required: false
"#,
        ),
        ("a.env", "SHARED=a\nOVERRIDDEN=from-file\nFROM_SHELL\n"),
        ("b.env", "SHARED=b\n"),
    ])
    .env("FROM_SHELL", "shell-value");
    let p = f.ok();
    assert_eq!(
        env_of(&p, "a", "OVERRIDDEN").as_deref(),
        Some("from-environment"),
        "environment beats env_file"
    );
    assert_eq!(
        env_of(&p, "a", "FROM_SHELL").as_deref(),
        Some("shell-value"),
        "a bare key takes the shell value"
    );
    assert_eq!(
        env_of(&p, "b", "SHARED").as_deref(),
        Some("b"),
        "later env files win"
    );
    assert_eq!(
        env_of(&p, "c", "SHARED").as_deref(),
        Some("a"),
        "an optional missing file is skipped"
    );
    let ev = &p.services["a"].environment["SHARED"];
    assert_eq!(
        ev.pos.short(),
        "a.env:1",
        "env file values remember their line"
    );
}

#[test]
fn missing_required_env_file_is_named() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    env_file: nope.env\n",
    )]);
    let e = f.err();
    assert!(e.contains("nope.env") && e.contains("not found"), "{e}");
}

#[test]
fn list_environment_without_value_comes_from_shell_or_is_dropped() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    image: busybox\n    environment:\n      - IN_SHELL\n      - NOT_IN_SHELL\n      - WITH=value=with=equals\n",
    )])
    .env("IN_SHELL", "yes");
    let p = f.ok();
    assert_eq!(env_of(&p, "a", "IN_SHELL").as_deref(), Some("yes"));
    assert_eq!(env_of(&p, "a", "NOT_IN_SHELL"), None);
    assert_eq!(
        env_of(&p, "a", "WITH").as_deref(),
        Some("value=with=equals")
    );
}

#[test]
fn project_name_precedence_and_normalisation() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "name: From-File\nservices:\n  a:\n    image: busybox\n",
    )]);
    assert_eq!(f.ok().name, "from-file");
    let f = f.env("COMPOSE_PROJECT_NAME", "from_env");
    assert_eq!(f.ok().name, "from_env", "COMPOSE_PROJECT_NAME beats name:");
    let mut f = f;
    f.opts.project_name = Some("flag-name".into());
    assert_eq!(f.ok().name, "flag-name", "-p wins");
    f.opts.project_name = Some("Flag.Name!".into());
    let e = f.err();
    assert!(
        e.contains("invalid project name") && e.contains("Flag.Name!"),
        "a name the user chose is refused, not rewritten, as v2 does: {e}"
    );
    f.opts.project_name = None;
    let f = f.env("COMPOSE_PROJECT_NAME", "MyProj");
    assert!(
        f.err().contains("invalid project name"),
        "COMPOSE_PROJECT_NAME too"
    );

    let g = Fixture::new(&[(
        "My Stack.v2/compose.yaml",
        "services:\n  a:\n    image: busybox\n",
    )]);
    let mut opts = g.opts.clone();
    opts.dir = Some(g.dir.path().join("My Stack.v2"));
    let p = berth_compose::load(&opts).expect("load");
    assert_eq!(
        p.name, "mystackv2",
        "folder name lowercased with invalid characters removed"
    );
}
