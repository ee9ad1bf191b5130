//! `include:` as Compose v2 applies it: short and long form, project directories, env files,
//! nesting, conflicts and cycles.

use crate::Fixture;

#[test]
fn short_form_pulls_services_networks_and_volumes_in() {
    let p = Fixture::new(&[
        (
            "compose.yaml",
            "include:\n  - db/compose.yaml\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n",
        ),
        (
            "db/compose.yaml",
            "services:\n  db:\n    image: postgres\n    volumes: [pgdata:/var/lib/postgresql/data, ./init:/init]\n    networks: [back]\nnetworks:\n  back: {}\nvolumes:\n  pgdata: {}\n",
        ),
    ])
    .ok();
    assert!(
        p.services.contains_key("db"),
        "the included service is in the project"
    );
    assert!(p.networks.contains_key("back") && p.volumes.contains_key("pgdata"));
    let bind = p.services["db"]
        .volumes
        .iter()
        .find(|m| m.target == "/init")
        .expect("bind mount kept");
    let src = bind.source.as_deref().unwrap_or_default();
    assert!(
        src.ends_with("/db/init"),
        "relative paths of an included file resolve against its own folder: {src}"
    );
    assert!(
        p.sources.iter().any(|s| s.ends_with("db/compose.yaml")),
        "the included file is watched: {:?}",
        p.sources
    );
}

#[test]
fn long_form_with_project_directory_and_env_file() {
    let p = Fixture::new(&[
        (
            "compose.yaml",
            "include:\n  - path: [sub/base.yaml, sub/more.yaml]\n    project_directory: other\n    env_file: sub/vars.env\nservices:\n  web:\n    image: nginx\n",
        ),
        (
            "sub/base.yaml",
            "services:\n  api:\n    image: \"api:${TAG}\"\n    volumes: [./code:/code]\n    environment:\n      FROM_PARENT: ${PARENT_ONLY}\n",
        ),
        ("sub/more.yaml", "services:\n  api:\n    command: serve\n"),
        ("sub/vars.env", "TAG=7\nPARENT_ONLY=lost\n"),
    ])
    .env("PARENT_ONLY", "parent")
    .ok();
    let api = &p.services["api"];
    assert_eq!(
        api.image.as_deref(),
        Some("api:7"),
        "the include's env_file is used"
    );
    assert_eq!(
        api.command.as_deref(),
        Some("serve"),
        "the second path overrides the first"
    );
    assert_eq!(
        api.environment["FROM_PARENT"].value, "parent",
        "the including project's variables win over the include's env file"
    );
    let src = api.volumes[0].source.as_deref().unwrap_or_default();
    assert!(
        src.ends_with("/other/code"),
        "project_directory is where relative paths resolve: {src}"
    );
}

#[test]
fn default_env_file_is_the_project_directorys_dotenv() {
    let p = Fixture::new(&[
        ("compose.yaml", "include: [lib/compose.yaml]\n"),
        (
            "lib/compose.yaml",
            "services:\n  cache:\n    image: \"redis:${REDIS_TAG}\"\n",
        ),
        ("lib/.env", "REDIS_TAG=7-alpine\n"),
    ])
    .ok();
    assert_eq!(p.services["cache"].image.as_deref(), Some("redis:7-alpine"));
}

#[test]
fn nested_includes_and_equal_duplicates() {
    let p = Fixture::new(&[
        (
            "compose.yaml",
            "include: [a/compose.yaml, b/compose.yaml]\n",
        ),
        (
            "a/compose.yaml",
            "include: [../shared/net.yaml]\nservices:\n  a:\n    image: x\n",
        ),
        (
            "b/compose.yaml",
            "include: [../shared/net.yaml]\nservices:\n  b:\n    image: y\n",
        ),
        (
            "shared/net.yaml",
            "networks:\n  mesh:\n    driver: bridge\n",
        ),
    ])
    .ok();
    assert!(p.services.contains_key("a") && p.services.contains_key("b"));
    assert!(
        p.networks.contains_key("mesh"),
        "the same network included twice, identically, is not a conflict"
    );
}

#[test]
fn a_conflicting_definition_is_an_error_with_both_places() {
    let e = Fixture::new(&[
        (
            "compose.yaml",
            "include: [other.yaml]\nservices:\n  web:\n    image: nginx\n",
        ),
        ("other.yaml", "services:\n  web:\n    image: httpd\n"),
    ])
    .err();
    assert!(
        e.contains("services.web conflicts") && e.contains("other.yaml:2:"),
        "names the resource and where the included one is: {e}"
    );
}

#[test]
fn cycles_and_missing_files_are_errors() {
    let e = Fixture::new(&[
        (
            "compose.yaml",
            "include: [a.yaml]\nservices:\n  x:\n    image: x\n",
        ),
        (
            "a.yaml",
            "include: [b.yaml]\nservices:\n  a:\n    image: x\n",
        ),
        (
            "b.yaml",
            "include: [a.yaml]\nservices:\n  b:\n    image: x\n",
        ),
    ])
    .err();
    assert!(
        e.contains("loops back") && e.contains("a.yaml") && e.contains("b.yaml"),
        "{e}"
    );
    let e = Fixture::new(&[("compose.yaml", "include: [gone.yaml]\n")]).err();
    assert!(
        e.contains("gone.yaml") && e.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn the_include_entry_is_schema_checked() {
    let e = Fixture::new(&[("compose.yaml", "include:\n  - pth: a.yaml\n")]).err();
    assert!(e.contains("compose.yaml:2:") && e.contains("'pth'"), "{e}");
}
