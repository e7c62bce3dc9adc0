//! The control socket: a Unix socket in the data directory through which the CLI reaches a
//! running server (the database admits one process). One JSON request per line, one JSON
//! reply per line.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use engine::Engine;
use engine::queue::TransportCounts;
use engine::store::Store;
use serde::{Deserialize, Serialize};

use crate::admin::{self, Request};

/// Largest request accepted (a password and a path fit many times over).
const MAX_REQUEST: u64 = 64 * 1024;

/// One line of the answer: the last has the outcome; those before it, if any, say how far
/// a long request (an import) is.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub text: String,
    /// (done, total) of a request still running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<(u64, u64)>,
}

impl Reply {
    fn done(ok: bool, text: String) -> Reply {
        Reply {
            ok,
            text,
            progress: None,
        }
    }

    fn write_to(&self, mut stream: &UnixStream) -> std::io::Result<()> {
        let mut json = serde_json::to_string(self).map_err(std::io::Error::other)?;
        json.push('\n');
        stream.write_all(json.as_bytes())
    }
}

pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control.sock")
}

/// Binds the socket (replacing a stale one left by a crash), readable by the owner only,
/// and serves it on a background thread for the life of the process. `transports` are the
/// running server's delivery counts, which only it can report.
pub fn listen<S: Store>(
    data_dir: &Path,
    engine: Arc<Engine<S>>,
    transports: Arc<TransportCounts>,
) -> Result<PathBuf, String> {
    let path = socket_path(data_dir);
    if path.exists() {
        if UnixStream::connect(&path).is_ok() {
            return Err(format!(
                "another postern server is running on {} (its control socket answers)",
                data_dir.display()
            ));
        }
        let _ = std::fs::remove_file(&path);
    }
    let listener = UnixListener::bind(&path)
        .map_err(|e| format!("cannot create control socket {}: {e}", path.display()))?;
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    std::thread::Builder::new()
        .name("postern-control".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let (engine, transports) = (engine.clone(), transports.clone());
                let _ = std::thread::Builder::new()
                    .name("postern-control-client".into())
                    .spawn(move || serve_client(&engine, &transports, stream));
            }
        })
        .map_err(|e| format!("cannot start the control thread: {e}"))?;
    Ok(path)
}

fn serve_client<S: Store>(engine: &Engine<S>, transports: &TransportCounts, stream: UnixStream) {
    let mut line = String::new();
    let mut reader = BufReader::new((&stream).take(MAX_REQUEST));
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut progress = |done, total| {
        let line = Reply {
            progress: Some((done, total)),
            ..Reply::done(true, String::new())
        };
        // A client gone is noticed by the final write; the request still completes.
        let _ = line.write_to(&stream);
    };
    let reply = match serde_json::from_str::<Request>(&line) {
        Ok(request) => match admin::execute(engine, Some(transports), request, &mut progress) {
            Ok(text) => Reply::done(true, text),
            Err(text) => Reply::done(false, text),
        },
        Err(e) => Reply::done(false, format!("malformed request: {e}")),
    };
    let _ = reply.write_to(&stream);
}

/// Sends a request to a running server, passing on to `progress` how far it is.
/// `Ok(None)` when no server listens on `data_dir`.
pub fn send(
    data_dir: &Path,
    request: &Request,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Option<Reply>, String> {
    let path = socket_path(data_dir);
    let Ok(mut stream) = UnixStream::connect(&path) else {
        return Ok(None);
    };
    let mut json = serde_json::to_string(request).map_err(|e| e.to_string())?;
    json.push('\n');
    stream
        .write_all(json.as_bytes())
        .map_err(|e| format!("cannot talk to the server on {}: {e}", path.display()))?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .map_err(|e| format!("no answer from the server on {}: {e}", path.display()))?;
        let reply: Reply = serde_json::from_str(&line)
            .map_err(|e| format!("unreadable answer from the server: {e}"))?;
        match reply.progress {
            Some((done, total)) => progress(done, total),
            None => return Ok(Some(reply)),
        }
    }
}
