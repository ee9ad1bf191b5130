//! Feeds arbitrary bytes to every parser of the loader, and to the whole loader through a real
//! file: nothing may panic, hang or blow up memory.
#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("berth-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("fuzz dir");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = berth_compose::yaml::parse(text, "f.yml");
    let _ = berth_compose::interpolate::interpolate(text, &|k| (k.len() % 2 == 0).then(|| k.to_owned()));
    let _ = berth_compose::dotenv::parse(text, &|_| None);
    let d = dir();
    std::fs::write(d.join("compose.yaml"), text).expect("write");
    let opts = berth_compose::LoadOptions {
        dir: Some(d.to_path_buf()),
        env: HashMap::from([("A".to_owned(), "1".to_owned())]),
        ..Default::default()
    };
    if let Ok(p) = berth_compose::load(&opts) {
        let g = berth_compose::build_graph(&p);
        let _ = berth_compose::diagram::render(&p, &g, berth_compose::diagram::DiagramFormat::Mermaid);
    }
});
