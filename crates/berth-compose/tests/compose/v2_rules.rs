//! What Compose v2 adds or refuses on its own: implied `depends_on`, cleaned volume targets, and
//! a `platform` outside `build.platforms`.

use crate::Fixture;

#[test]
fn links_shared_namespaces_and_volumes_from_imply_depends_on() {
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:\n  app:\n    image: x\n    links: [\"db:database\"]\n    ipc: service:shm\n    volumes_from: [\"data:ro\", \"container:outside\"]\n  side:\n    image: x\n    network_mode: service:app\n    depends_on:\n      app:\n        condition: service_healthy\n  db:\n    image: x\n  shm:\n    image: x\n  data:\n    image: x\n",
    )])
    .ok();
    let app = &p.services["app"];
    for (dep, by, restart) in [
        ("db", "links", true),
        ("shm", "ipc", true),
        ("data", "volumes_from", false),
    ] {
        let d = app
            .depends_on
            .get(dep)
            .unwrap_or_else(|| panic!("app depends on {dep}: {:?}", app.depends_on.keys()));
        assert_eq!(d.implied_by, Some(by), "{dep}");
        assert_eq!(
            d.restart, restart,
            "{dep}: v2 sets restart only for links and namespaces"
        );
        assert!(d.required);
    }
    assert!(
        !app.depends_on.contains_key("outside"),
        "container: volumes_from names no service"
    );
    let side = &p.services["side"];
    assert_eq!(
        side.depends_on["app"].implied_by, None,
        "a written depends_on wins over the implied one"
    );
    assert_eq!(side.depends_on["app"].condition.as_str(), "service_healthy");
}

#[test]
fn implied_dependencies_on_missing_services_are_refused() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  app:\n    image: x\n    links: [ghost]\n",
    )])
    .err();
    assert!(e.contains("ghost"), "{e}");
}

#[test]
fn volume_targets_lose_trailing_slashes() {
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    volumes:\n      - ./d:/data/\n      - type: volume\n        source: v\n        target: /var//lib/./x/\nvolumes:\n  v: {}\n",
    )])
    .ok();
    let targets: Vec<&str> = p.services["a"]
        .volumes
        .iter()
        .map(|m| m.target.as_str())
        .collect();
    assert_eq!(targets, ["/data", "/var/lib/x"]);
}

#[test]
fn a_platform_outside_build_platforms_is_refused() {
    let e = Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    build:\n      context: .\n      platforms: [linux/amd64]\n    platform: linux/arm64\n",
    )])
    .err();
    assert!(
        e.contains("compose.yaml:6:15")
            && e.contains("linux/arm64")
            && e.contains("build.platforms"),
        "{e}"
    );
    Fixture::new(&[(
        "compose.yaml",
        "services:\n  a:\n    build:\n      context: .\n      platforms: [linux/amd64, linux/arm64]\n    platform: linux/arm64\n",
    )])
    .ok();
}
