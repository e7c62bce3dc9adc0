//! Runs every conversation script under `scripts/`.

use std::path::Path;

fn run_dir(name: &str, at_least: usize) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "script"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= at_least,
        "expected the {name} scripts, found {}",
        paths.len()
    );
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|path| testkit::run_file(path).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} scripts failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n\n")
    );
}

#[test]
fn smtp_scripts() {
    run_dir("smtp", 11);
}

#[test]
fn pop3_scripts() {
    run_dir("pop3", 3);
}
