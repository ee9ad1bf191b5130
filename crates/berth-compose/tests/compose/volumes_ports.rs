use berth_compose::model::MountKind;

use crate::Fixture;

#[test]
fn port_forms_short_and_long() {
    let p = Fixture::new(&[(
        "compose.yaml",
        r#"services:
  web:
    image: nginx
    ports:
      - 3000
      - "8000:8000"
      - "9000-9002:8000-8002"
      - "127.0.0.1:8001:8001"
      - "[::1]:6001:6001"
      - "127.0.0.1::5000"
      - "6060:6060/udp"
      - target: 443
        published: "8443"
        host_ip: 127.0.0.1
        protocol: tcp
      - target: 53
        protocol: udp
"#,
    )])
    .ok();
    let got: Vec<(Option<&str>, Option<u16>, u16, &str)> = p.services["web"]
        .ports
        .iter()
        .map(|m| {
            (
                m.host_ip.as_deref(),
                m.host_port,
                m.container_port,
                m.protocol.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (None, None, 3000, "tcp"),
            (None, Some(8000), 8000, "tcp"),
            (None, Some(9000), 8000, "tcp"),
            (None, Some(9001), 8001, "tcp"),
            (None, Some(9002), 8002, "tcp"),
            (Some("127.0.0.1"), Some(8001), 8001, "tcp"),
            (Some("::1"), Some(6001), 6001, "tcp"),
            (Some("127.0.0.1"), None, 5000, "tcp"),
            (None, Some(6060), 6060, "udp"),
            (Some("127.0.0.1"), Some(8443), 443, "tcp"),
            (None, None, 53, "udp"),
        ]
    );
}

#[test]
fn volume_forms() {
    let f = Fixture::new(&[(
        "compose.yaml",
        r#"services:
  db:
    image: postgres
    volumes:
      - pgdata:/var/lib/postgresql/data
      - ./init:/docker-entrypoint-initdb.d:ro
      - /abs/path:/abs
      - /anonymous
      - type: bind
        source: ./conf
        target: /etc/conf
        read_only: true
      - type: tmpfs
        target: /tmp
volumes:
  pgdata:
"#,
    )]);
    let p = f.ok();
    let v = &p.services["db"].volumes;
    assert_eq!(v[0].kind, MountKind::Volume);
    assert_eq!(v[0].source.as_deref(), Some("pgdata"));
    assert_eq!(v[1].kind, MountKind::Bind);
    assert_eq!(
        v[1].source.as_deref(),
        Some(f.dir.path().join("init").to_str().expect("utf8")),
        "relative binds resolve against the project folder"
    );
    assert!(v[1].read_only);
    assert_eq!(v[2].source.as_deref(), Some("/abs/path"));
    assert_eq!(v[3].kind, MountKind::Anonymous);
    assert_eq!(v[4].kind, MountKind::Bind);
    assert!(v[4].read_only);
    assert!(v[4]
        .source
        .as_deref()
        .unwrap_or_default()
        .ends_with("/conf"));
    assert_eq!(v[5].kind, MountKind::Tmpfs);
}

#[test]
fn networks_list_and_map_with_aliases() {
    let p = Fixture::new(&[(
        "compose.yaml",
        r#"services:
  a:
    image: x
    networks: [front, back]
  b:
    image: x
    networks:
      back:
        aliases: [database, db.local]
  c:
    image: x
networks:
  front:
  back:
    internal: true
"#,
    )])
    .ok();
    assert_eq!(
        p.services["a"].networks.keys().collect::<Vec<_>>(),
        vec!["front", "back"]
    );
    assert_eq!(
        p.services["b"].networks["back"].aliases,
        vec!["database", "db.local"]
    );
    assert_eq!(
        p.services["c"].networks.keys().collect::<Vec<_>>(),
        vec!["default"],
        "no networks means the default network"
    );
    assert!(p.networks["back"].internal);
    assert!(p.networks.contains_key("default"));
}
