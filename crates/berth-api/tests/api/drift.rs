use berth_api::{Action, Drift, RunState};

use crate::{docker, shared, svc, LiveStack};

const COMPOSE: &str = "services:
  box:
    image: IMAGE
    init: true
    command: [\"sleep\", \"3600\"]
";

#[tokio::test(flavor = "multi_thread")]
async fn drift_says_config_or_image_and_recreate_clears_it() {
    let _g = shared();
    let dir = tempfile::tempdir().expect("tmp");
    let image = format!("berth-fixture/drift-{}:1", std::process::id());
    docker(&["tag", "berth-fixture/busybox:1", &image]);
    let file = dir.path().join("compose.yaml");
    std::fs::write(&file, COMPOSE.replace("IMAGE", &image)).expect("write");
    let stack = LiveStack::at(dir.path(), "drift");
    stack.compose(&["up", "-d"]).await;
    stack
        .until(30, "box running", |v| {
            svc(v, "box").state == RunState::Running
        })
        .await;
    let drift_of_box = || async {
        let v = stack.open.status_with_drift().await.expect("status");
        svc(&v, "box").drift
    };
    assert_eq!(
        drift_of_box().await,
        None,
        "just made from the files: no drift"
    );

    // The files change: the container's config hash no longer matches.
    std::fs::write(
        &file,
        COMPOSE.replace("IMAGE", &image).replace("3600", "3601"),
    )
    .expect("edit");
    assert_eq!(
        drift_of_box().await,
        Some(Drift::Config),
        "an edited command means a recreate is needed"
    );
    stack
        .open
        .act(Action::Recreate, &["box".to_owned()], |_| {})
        .await
        .expect("recreate");
    assert_eq!(
        drift_of_box().await,
        None,
        "recreated from the files: no drift"
    );

    // The image is replaced under the same name (a rebuild or a pull).
    docker(&["tag", "berth-fixture/servers:1", &image]);
    let d = drift_of_box().await;
    docker(&["rmi", &image]);
    assert_eq!(d, Some(Drift::Image), "a new image under the same name");
}
