use crate::Fixture;

const FILE: &str = r#"services:
  app:
    image: app
  frontend-dev:
    image: node:20
    profiles: ["dev"]
  debug:
    image: busybox
    profiles: [debug, dev]
  admin:
    image: adminer
    profiles: [tools]
"#;

fn names(p: &berth_compose::Project) -> Vec<&str> {
    p.services.keys().map(String::as_str).collect()
}

#[test]
fn services_with_profiles_are_off_by_default() {
    let p = Fixture::new(&[("compose.yaml", FILE)]).ok();
    assert_eq!(names(&p), vec!["app"]);
    assert_eq!(p.inactive_services, vec!["frontend-dev", "debug", "admin"]);
}

#[test]
fn profile_flag_enables_its_services() {
    let p = Fixture::new(&[("compose.yaml", FILE)])
        .profiles(&["dev"])
        .ok();
    assert_eq!(names(&p), vec!["app", "frontend-dev", "debug"]);
}

#[test]
fn compose_profiles_variable_and_star() {
    let p = Fixture::new(&[("compose.yaml", FILE)])
        .env("COMPOSE_PROFILES", "tools,debug")
        .ok();
    assert_eq!(names(&p), vec!["app", "debug", "admin"]);
    let p = Fixture::new(&[("compose.yaml", FILE)])
        .profiles(&["*"])
        .ok();
    assert_eq!(p.services.len(), 4, "* enables every profile");
}

#[test]
fn dependency_on_a_disabled_service_is_refused_unless_optional() {
    let f = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    depends_on: [vite]\n  vite:\n    image: node\n    profiles: [dev]\n",
    )]);
    let e = f.err();
    assert!(
        e.contains("compose.yaml:4:18") && e.contains("\"vite\"") && e.contains("--profile dev"),
        "v2 refuses it; Berth says which profile to enable: {e}"
    );
    let p = f.profiles(&["dev"]).ok();
    assert!(p.services.contains_key("vite"));
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:\n  web:\n    image: nginx\n    depends_on:\n      vite:\n        condition: service_started\n        required: false\n  vite:\n    image: node\n    profiles: [dev]\n",
    )])
    .ok();
    assert!(
        !p.services.contains_key("vite"),
        "an optional dependency stays off"
    );
}
