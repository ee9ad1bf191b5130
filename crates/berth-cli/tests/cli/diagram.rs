use crate::{berth, fixture, stdout};

#[test]
fn mermaid_has_network_subgraphs_ports_volumes_and_labelled_edges() {
    let o = berth(
        &["diagram", "--format", "mermaid"],
        &fixture("functionalfit").join("infra"),
    );
    assert!(o.status.success());
    let m = stdout(&o);
    assert!(m.starts_with("flowchart LR\n"), "{m}");
    assert!(
        m.contains("subgraph net_data_network[\"network: data-network (internal)\"]"),
        "{m}"
    );
    // Networks are tiers: mysql is only on data-network, so it is drawn inside it; php-fpm is
    // on backend and data, and lives in the more specific backend tier, marked as on data too.
    let data = m
        .split("subgraph net_data_network")
        .nth(1)
        .and_then(|s| s.split("\n  end").next())
        .unwrap_or_default();
    assert!(
        data.contains("svc_mysql"),
        "mysql inside data-network: {data}"
    );
    assert!(
        !data.contains("svc_php_fpm"),
        "php-fpm's home is the backend tier, not data: {data}"
    );
    let backend = m
        .split("subgraph net_backend_network")
        .nth(1)
        .and_then(|s| s.split("\n  end").next())
        .unwrap_or_default();
    assert!(
        backend.contains("svc_php_fpm") && backend.contains("svc_queue_worker"),
        "the backend tier holds the app and its workers: {backend}"
    );
    assert!(
        m.contains("svc_php_fpm -.- net_data_network")
            && m.contains("svc_nginx -.- net_backend_network"),
        "a service's other networks are dotted links: {m}"
    );
    assert!(
        !m.contains("svc_nginx -.- net_frontend_network"),
        "no link to the network a service is drawn in: {m}"
    );
    assert!(
        m.contains("svc_nginx -->|depends_on, fastcgi_pass| svc_php_fpm"),
        "{m}"
    );
    assert!(
        m.contains("0.0.0.0:8080→80"),
        "published port as an entry point: {m}"
    );
    assert!(m.contains("vol_mysql_data[(\"mysql-data\")]"), "{m}");
}

#[test]
fn dot_output_is_a_digraph_with_clusters() {
    let o = berth(&["diagram", "--format", "dot"], &fixture("luminai"));
    assert!(o.status.success());
    let d = stdout(&o);
    assert!(d.starts_with("digraph \"luminai\" {"), "{d}");
    assert!(d.contains("subgraph cluster_net_default {"), "{d}");
    assert!(
        d.contains("svc_nginx -> svc_app [label=\"depends_on, proxy_pass\"];"),
        "{d}"
    );
    assert!(d.trim_end().ends_with('}'));
}
