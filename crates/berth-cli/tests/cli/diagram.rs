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
    // mysql is only on data-network, so it is drawn inside it; nginx is on two, so outside.
    let data = m
        .split("subgraph net_data_network")
        .nth(1)
        .and_then(|s| s.split("end").next())
        .unwrap_or_default();
    assert!(
        data.contains("svc_mysql"),
        "mysql inside data-network: {data}"
    );
    assert!(
        !data.contains("svc_php_fpm"),
        "php-fpm is on two networks, so not inside one: {data}"
    );
    assert!(
        m.contains("svc_nginx -.- net_frontend_network")
            && m.contains("svc_nginx -.- net_backend_network"),
        "{m}"
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
