//! Management requests: what `postern domain|user|alias|export|import` ask for. The same
//! [`execute`] runs them whether they arrive over the control socket of a running server or
//! the CLI opened the data directory itself.

use std::fmt::Write;
use std::path::PathBuf;

use engine::Engine;
use engine::store::Store;
use serde::{Deserialize, Serialize};

use crate::maildir;

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    DomainAdd {
        name: String,
    },
    DomainList,
    DomainRemove {
        name: String,
    },
    UserAdd {
        email: String,
        password: String,
        quota: Option<u64>,
    },
    UserList {
        domain: Option<String>,
    },
    UserPasswd {
        email: String,
        password: String,
    },
    UserQuota {
        email: String,
        quota: Option<u64>,
    },
    UserDisable {
        email: String,
    },
    UserEnable {
        email: String,
    },
    UserRemove {
        email: String,
    },
    AliasAdd {
        source: String,
        target: String,
    },
    AliasList {
        domain: Option<String>,
    },
    AliasRemove {
        source: String,
        target: String,
    },
    /// `dir` is absolute: the server resolves it, not the CLI's working directory.
    Export {
        email: String,
        dir: PathBuf,
    },
    Import {
        email: String,
        dir: PathBuf,
    },
}

/// Carries out a request; `Ok` holds the text to print (possibly empty).
pub fn execute<S: Store>(engine: &Engine<S>, request: Request) -> Result<String, String> {
    let text = |r: Result<String, engine::Error>| r.map_err(|e| e.to_string());
    match request {
        Request::DomainAdd { name } => text(
            engine
                .add_domain(&name)
                .map(|d| format!("added domain {d}")),
        ),
        Request::DomainList => text(engine.domains().map(lines)),
        Request::DomainRemove { name } => text(
            engine
                .remove_domain(&name)
                .map(|()| format!("removed domain {name}")),
        ),
        Request::UserAdd {
            email,
            password,
            quota,
        } => text(
            engine
                .add_user(&email, &password, quota)
                .map(|account| format!("added user {}", account.email)),
        ),
        Request::UserList { domain } => text(engine.users(domain.as_deref()).map(|accounts| {
            let mut out = String::new();
            for a in accounts {
                let quota = a.quota.map_or("unlimited".into(), |q| format!("{q} bytes"));
                let state = if a.disabled { "  disabled" } else { "" };
                let _ = writeln!(
                    out,
                    "{}  used {} bytes  quota {quota}{state}",
                    a.email, a.used
                );
            }
            out
        })),
        Request::UserPasswd { email, password } => text(
            engine
                .set_password(&email, &password)
                .map(|()| format!("changed the password of {email}")),
        ),
        Request::UserQuota { email, quota } => {
            text(engine.set_quota(&email, quota).map(|()| match quota {
                Some(q) => format!("quota of {email} is now {q} bytes"),
                None => format!("quota of {email} is now unlimited"),
            }))
        }
        Request::UserDisable { email } => text(
            engine
                .set_disabled(&email, true)
                .map(|()| format!("disabled {email}")),
        ),
        Request::UserEnable { email } => text(
            engine
                .set_disabled(&email, false)
                .map(|()| format!("enabled {email}")),
        ),
        Request::UserRemove { email } => text(
            engine
                .remove_user(&email)
                .map(|()| format!("removed user {email}")),
        ),
        Request::AliasAdd { source, target } => text(
            engine
                .add_alias(&source, &target)
                .map(|a| format!("added alias {} -> {}", a.source, a.target)),
        ),
        Request::AliasList { domain } => text(engine.aliases(domain.as_deref()).map(|aliases| {
            lines(
                aliases
                    .into_iter()
                    .map(|a| format!("{} -> {}", a.source, a.target)),
            )
        })),
        Request::AliasRemove { source, target } => text(
            engine
                .remove_alias(&source, &target)
                .map(|()| format!("removed alias {source} -> {target}")),
        ),
        Request::Export { email, dir } => maildir::export(engine, &email, &dir)
            .map(|n| format!("exported {n} messages of {email} to {}", dir.display())),
        Request::Import { email, dir } => maildir::import(engine, &email, &dir)
            .map(|n| format!("imported {n} messages into {email} from {}", dir.display())),
    }
}

fn lines<I: IntoIterator<Item = String>>(items: I) -> String {
    items.into_iter().fold(String::new(), |mut out, item| {
        out.push_str(&item);
        out.push('\n');
        out
    })
}
