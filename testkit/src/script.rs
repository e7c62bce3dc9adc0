//! Parsing and running conversation scripts (the format is described at the crate root).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use engine::Engine;
use engine::smtp::{self, Listener};
use engine::store::Store;
use proto_smtp::{BareLf, Mode, ServerConfig};
use store_redb::RedbStore;

use crate::wire::{Event, InlineExecutor, ScriptConnection, glob};

/// Runs the script in `path`; the error names the file and the failing line.
pub fn run_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    run_script(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs one SMTP conversation script against a fresh store.
pub fn run_script(text: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let engine = Arc::new(Engine::new(
        RedbStore::open(dir.path()).map_err(|e| e.to_string())?,
        "mx.test",
    ));
    let mut config = ServerConfig::new("mx.test");
    let mut implicit_tls = false;
    let mut events = Vec::new();
    let mut checks = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fail = |msg: &str| format!("line {line}: {msg}: {raw:?}");
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(pattern) = raw.strip_prefix("S: ") {
            events.push(Event::Expect {
                pattern: pattern.to_string(),
                line,
            });
        } else if let Some(text) = raw.strip_prefix("C: ").or(raw.strip_prefix("C:")) {
            let mut bytes = unescape(text);
            bytes.extend_from_slice(b"\r\n");
            events.push(Event::Send(bytes));
        } else if let Some(text) = raw.strip_prefix("R: ") {
            events.push(Event::Send(unescape(text)));
        } else if let Some(directive) = trimmed.strip_prefix('@') {
            let words: Vec<&str> = directive.split_whitespace().collect();
            match words.as_slice() {
                ["timeout"] => events.push(Event::Timeout),
                ["shutdown"] => events.push(Event::Shutdown),
                ["mailbox" | "message", ..] => checks.push((line, directive)),
                _ if !events.is_empty() => {
                    return Err(fail("set-up directives must come before the conversation"));
                }
                ["domain", name] => {
                    engine.add_domain(name).map_err(|e| fail(&e.to_string()))?;
                }
                ["user", email, password] => {
                    engine
                        .add_user(email, password, None)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["user", email, password, quota] => {
                    let quota = quota.parse().map_err(|_| fail("quota must be a number"))?;
                    engine
                        .add_user(email, password, Some(quota))
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["alias", source, target] => {
                    engine
                        .add_alias(source, target)
                        .map_err(|e| fail(&e.to_string()))?;
                }
                ["config", key, value] => {
                    configure(&mut config, &mut implicit_tls, key, value).map_err(|e| fail(&e))?;
                }
                _ => return Err(fail("unknown directive")),
            }
        } else {
            return Err(fail("a line must start with S:, C:, R:, @ or #"));
        }
    }

    let listener = Listener {
        config: Arc::new(config),
        implicit_tls,
    };
    let peer = "192.0.2.1:40000"
        .parse()
        .map_err(|_| "bad peer".to_string())?;
    let mut conn = ScriptConnection::new(events);
    let served = futures_lite::future::block_on(smtp::serve(
        engine.clone(),
        InlineExecutor,
        &listener,
        peer,
        &mut conn,
    ));
    served.map_err(|e| format!("session failed: {e}"))?;
    conn.finish()?;
    for (line, directive) in checks {
        check(&engine, directive).map_err(|e| format!("line {line}: {e}"))?;
    }
    Ok(())
}

/// Session settings a script can change with `@config KEY VALUE`.
fn configure(
    config: &mut ServerConfig,
    implicit_tls: &mut bool,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let flag = || match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key} takes true or false")),
    };
    match key {
        "mode" => {
            config.mode = match value {
                "mx" => Mode::Mx,
                "submission" => Mode::Submission,
                _ => return Err("mode is mx or submission".into()),
            }
        }
        "bare_lf" => {
            config.bare_lf = match value {
                "normalize" => BareLf::Normalize,
                "reject" => BareLf::Reject,
                _ => return Err("bare_lf is normalize or reject".into()),
            }
        }
        "auth_without_tls" => config.auth_without_tls = flag()?,
        "starttls" => config.starttls = flag()?,
        "implicit_tls" => *implicit_tls = flag()?,
        "max_message_size" => {
            config.max_message_size = value.parse().map_err(|_| "not a number".to_string())?;
        }
        "max_recipients" => {
            config.max_recipients = value.parse().map_err(|_| "not a number".to_string())?;
        }
        _ => return Err(format!("unknown setting {key}")),
    }
    Ok(())
}

/// `@mailbox EMAIL MAILBOX COUNT` and `@message EMAIL MAILBOX N PATTERN`.
fn check<S: Store>(engine: &Engine<S>, directive: &str) -> Result<(), String> {
    let mut words = directive.splitn(5, ' ');
    let (kind, email, mailbox, number) = (
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
        words.next().unwrap_or(""),
    );
    let store = engine.store();
    let account = store
        .account(email)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no account {email}"))?;
    let mailbox_id = store
        .mailboxes(account.id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|m| m.name == mailbox)
        .ok_or_else(|| format!("no mailbox {mailbox}"))?
        .id;
    let messages = store.messages(mailbox_id).map_err(|e| e.to_string())?;
    let number: usize = number
        .parse()
        .map_err(|_| format!("{number:?} is not a number"))?;
    match kind {
        "mailbox" if messages.len() == number => Ok(()),
        "mailbox" => Err(format!(
            "{email} {mailbox} holds {} messages, not {number}",
            messages.len()
        )),
        _ => {
            let pattern =
                String::from_utf8_lossy(&unescape(words.next().unwrap_or("*"))).into_owned();
            let message = messages
                .get(number.wrapping_sub(1))
                .ok_or_else(|| format!("{email} {mailbox} has no message {number}"))?;
            let mut body = Vec::new();
            store
                .read_blob(&message.blob)
                .map_err(|e| e.to_string())?
                .read_to_end(&mut body)
                .map_err(|e| e.to_string())?;
            let body = String::from_utf8_lossy(&body);
            if glob(&pattern, &body) {
                Ok(())
            } else {
                Err(format!(
                    "message {number} of {email} {mailbox} does not match {pattern:?}:\n{body}"
                ))
            }
        }
    }
}

/// Turns `\r`, `\n`, `\t` and `\\` into the bytes they name.
fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut utf8 = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
            continue;
        }
        match chars.next() {
            Some('r') => out.push(b'\r'),
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some(other) => {
                let mut utf8 = [0; 4];
                out.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    out
}
