//! Runs every conversation script under `scripts/`.

use std::path::Path;

#[test]
fn smtp_scripts() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/smtp");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("scripts/smtp")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "script"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 10,
        "expected the SMTP scripts, found {}",
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
