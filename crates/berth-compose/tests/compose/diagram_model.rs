//! The one diagram model the window draws and the exports are written from.

use berth_compose::build_graph;
use berth_compose::diagram::model;

use crate::Fixture;

#[test]
fn one_edge_per_pair_with_every_kind_groups_and_entry_points() {
    let p = Fixture::new(&[(
        "compose.yaml",
        "services:
  web:
    image: nginx:1.27
    ports: [\"127.0.0.1:8080:80\", \"[::1]:8443:443\"]
    depends_on: [app]
    networks: [front, back]
  app:
    image: php:fpm
    environment:
      DATABASE_URL: postgres://u:pw-secret@db:5432/x
    depends_on: [db]
    links: [db]
    networks: [back]
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data]
    networks: [back]
networks:
  front: {}
  back: {internal: true}
volumes:
  data: {}
",
    )])
    .ok();
    let g = build_graph(&p);
    let m = model(&p, &g, &|d| d.replace("pw-secret", "********"));
    let app_db: Vec<_> = m
        .edges
        .iter()
        .filter(|e| e.from == "app" && e.to == "db")
        .collect();
    assert_eq!(app_db.len(), 1, "one edge per service pair: {:?}", m.edges);
    let kinds = &app_db[0].kinds;
    for k in ["depends_on", "links", "env_url"] {
        assert!(kinds.contains(&k), "{k} among {kinds:?}");
    }
    assert!(
        app_db[0]
            .evidence
            .iter()
            .all(|e| !e.detail.contains("pw-secret")),
        "evidence is masked: {:?}",
        app_db[0].evidence
    );
    assert!(
        app_db[0].badges.iter().any(|b| b == "depends")
            && app_db[0].badges.iter().any(|b| b == "env url"),
        "one short badge per kind: {:?}",
        app_db[0].badges
    );
    let back = m.groups.iter().find(|g| g.name == "back").expect("back");
    assert_eq!(back.label, "back (internal)");
    assert_eq!(back.members, vec!["app", "db"]);
    assert_eq!(
        back.joined_by,
        vec!["web"],
        "web is on back too, but its home is the smaller front tier"
    );
    let web = m.services.iter().find(|s| s.name == "web").expect("web");
    assert_eq!(
        web.group.as_deref(),
        Some("front"),
        "a service on several networks lives in the most specific one"
    );
    assert_eq!(web.also_on, vec!["back"], "and carries the others as marks");
    assert_eq!(
        web.sublabel,
        format!("{} · nginx:1.27", web.role.replace('_', " "))
    );
    let ports: Vec<&str> = m.ports.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(ports, vec!["127.0.0.1:8080→80", "[::1]:8443→443"]);
    assert_eq!(m.volumes.len(), 1);
    assert_eq!(m.volumes[0].users, vec!["db"]);
}
