use crate::{env_of, Fixture};

#[test]
fn extends_in_the_same_file_and_another_file() {
    let f = Fixture::new(&[
        (
            "compose.yaml",
            r#"services:
  base:
    image: php:8.3
    environment:
      ROLE: base
      SHARED: "1"
    volumes:
      - ./src:/app
  web:
    extends: base
    environment:
      ROLE: web
  worker:
    extends:
      service: common
      file: common/common.yml
    command: php artisan queue:work
  inherited:
    image: redis
"#,
        ),
        (
            "common/common.yml",
            "services:\n  common:\n    image: php:cli\n    env_file: app.env\n    volumes:\n      - ./code:/code\n    depends_on: [inherited]\n",
        ),
        ("common/app.env", "FROM_COMMON_ENV=yes\n"),
    ]);
    let p = f.ok();
    assert_eq!(p.services["web"].image.as_deref(), Some("php:8.3"));
    assert_eq!(
        env_of(&p, "web", "ROLE").as_deref(),
        Some("web"),
        "local values win"
    );
    assert_eq!(
        env_of(&p, "web", "SHARED").as_deref(),
        Some("1"),
        "inherited values stay"
    );
    let w = &p.services["worker"];
    assert_eq!(w.image.as_deref(), Some("php:cli"));
    assert_eq!(
        env_of(&p, "worker", "FROM_COMMON_ENV").as_deref(),
        Some("yes"),
        "env_file relative to the extended file"
    );
    let src = w.volumes[0].source.clone().unwrap_or_default();
    assert!(
        src.ends_with("common/code"),
        "bind paths in an extended file are relative to it: {src}"
    );
    assert!(
        w.depends_on.contains_key("inherited"),
        "Compose v2 inherits depends_on through extends: {:?}",
        w.depends_on.keys()
    );
}

#[test]
fn extends_errors_name_what_is_missing() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    extends:\n      service: base\n      file: nope.yml\n",
    )])
    .err();
    assert!(
        e.contains("nope.yml") && e.contains("does not exist"),
        "{e}"
    );
    let e = Fixture::new(&[("compose.yaml", "services:\n  web:\n    extends: ghost\n")]).err();
    assert!(e.contains("\"ghost\"") && e.contains("not defined"), "{e}");
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    extends: b\n  b:\n    extends: a\n",
    )])
    .err();
    assert!(e.contains("loops"), "{e}");
}

#[test]
fn anchors_merge_keys_and_extension_fields() {
    let f = Fixture::new(&[(
        "compose.yaml",
        r#"version: "3.8"
x-logging: &logging
  driver: json-file
x-common: &common
  image: app:1
  restart: unless-stopped
  environment: &env
    A: "1"
    B: "2"
  logging: *logging
services:
  one:
    <<: *common
  two:
    <<: *common
    restart: "no"
    environment:
      <<: *env
      B: overridden
"#,
    )]);
    let p = f.ok();
    assert_eq!(p.services["one"].restart.as_deref(), Some("unless-stopped"));
    assert_eq!(
        p.services["two"].restart.as_deref(),
        Some("no"),
        "own keys win over <<"
    );
    assert_eq!(env_of(&p, "two", "A").as_deref(), Some("1"));
    assert_eq!(env_of(&p, "two", "B").as_deref(), Some("overridden"));
    assert!(
        p.warnings.is_empty(),
        "version and x-* are accepted silently: {:?}",
        p.warnings
    );
}
