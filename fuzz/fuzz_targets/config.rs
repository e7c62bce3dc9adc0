//! The configuration file and the `POSTERN_*` variables that override it: any text and any
//! variables give a checked configuration or an error, never a panic.
//!
//! The server crate is a binary, so its `config.rs` (std, serde, toml and the engine's DNS
//! table) is compiled into this target as it is, through `#[path]`: the file under test is
//! the server's own.
//!
//! Input: the file's text, then variables as `NUL NAME=VALUE` (NAME without `POSTERN_`).
#![no_main]

#[allow(dead_code)]
#[path = "../../server/src/config.rs"]
mod config;

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use config::Config;
use libfuzzer_sys::fuzz_target;

/// Where the text goes: `Config::load` reads a file. One per process, on tmpfs if there is
/// one, rewritten for each input; those of processes that are gone are removed first.
static FILE: LazyLock<PathBuf> = LazyLock::new(|| {
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    // Only where /proc tells which processes live.
    let proc = Path::new("/proc/self").exists();
    let entries = std::fs::read_dir(&dir).into_iter().flatten().flatten();
    for entry in entries.filter(|_| proc) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.strip_suffix(".toml"));
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    dir.join(format!("{PREFIX}{}.toml", std::process::id()))
});

const PREFIX: &str = "postern-fuzz-config-";

fuzz_target!(|data: &[u8]| {
    let mut fields = data.split(|&b| b == 0);
    let text = fields.next().unwrap_or_default();
    let env: Vec<(String, String)> = fields
        .map(|field| {
            let field = String::from_utf8_lossy(field);
            let (name, value) = field.split_once('=').unwrap_or((&field, ""));
            (format!("POSTERN_{name}"), value.to_string())
        })
        .collect();
    std::fs::write(&*FILE, text).expect("cannot write the config file");
    if let Ok(config) = Config::load(Some(&FILE), env) {
        assert!(!config.hostname.is_empty() && !config.hostname.contains(char::is_whitespace));
        assert!(config.limits.max_message_size.0 >= 1024);
        assert!(config.limits.max_connections >= 1);
    }
});
