//! Maildir++ export and import, the format Dovecot and most IMAP servers keep mail in:
//! `cur/`, `new/`, `tmp/` for INBOX, a `.Name` folder per other mailbox (`.A.B` for `A/B`),
//! flags in the file name after `:2,`, and the received date as the file's mtime. Imported
//! messages get CRLF line ends (Maildir files often use bare LF), as all stored mail has.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::Engine;
use engine::address::Address;
use engine::delivery::spool::SummarizingSpool;
use engine::mail::crlf::CrlfWriter;
use engine::store::{
    Account, BlobId, Delivery, FLAG_ANSWERED, FLAG_DELETED, FLAG_DRAFT, FLAG_FLAGGED, FLAG_SEEN,
    Flags, Store, StoreError, Stored,
};
use sha2::{Digest, Sha256};

/// Maildir info letters and the flags they stand for, in the alphabetical order the
/// format requires.
const FLAG_LETTERS: [(char, Flags); 5] = [
    ('D', FLAG_DRAFT),
    ('F', FLAG_FLAGGED),
    ('R', FLAG_ANSWERED),
    ('S', FLAG_SEEN),
    ('T', FLAG_DELETED),
];

/// Writes every mailbox of `email` under `root`; returns how many messages were written.
pub fn export<S: Store>(engine: &Engine<S>, email: &str, root: &Path) -> Result<usize, String> {
    let account = find_account(engine, email)?;
    let store = engine.store();
    let mut count = 0;
    for mailbox in store.mailboxes(account.id).map_err(err)? {
        let dir = folder_path(root, &mailbox.name);
        for sub in ["cur", "new", "tmp"] {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir.join(sub))
                .map_err(|e| io_err(&dir.join(sub), e))?;
        }
        for message in store.messages(mailbox.id).map_err(err)? {
            let name = format!(
                "{}.P{}U{}V{}.{},S={}:2,{}",
                message.internal_date,
                std::process::id(),
                message.uid,
                mailbox.uid_validity,
                engine.hostname(),
                message.size,
                flag_letters(message.flags)
            );
            let tmp = dir.join("tmp").join(&name);
            let mut reader = store.read_blob(&message.blob).map_err(err)?;
            // Mail is private: readable by whoever exports it, not by everyone.
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(|e| io_err(&tmp, e))?;
            io::copy(&mut reader, &mut file).map_err(|e| io_err(&tmp, e))?;
            let mtime = UNIX_EPOCH + Duration::from_secs(message.internal_date.max(0) as u64);
            let _ = file.set_modified(mtime);
            file.sync_all().map_err(|e| io_err(&tmp, e))?;
            let cur = dir.join("cur").join(&name);
            fs::rename(&tmp, &cur).map_err(|e| io_err(&cur, e))?;
            count += 1;
        }
    }
    Ok(count)
}

/// What an import did.
#[derive(Debug, PartialEq, Eq)]
pub struct Imported {
    pub added: usize,
    /// Messages the mailbox held already (the same bytes), left as they were.
    pub skipped: usize,
}

/// Reads a Maildir++ tree into the account, creating mailboxes as needed. A message the
/// mailbox holds already (its bytes, CRLF line ends made, are those of one there) is
/// skipped, so an import interrupted or run twice adds each message once. `progress` is
/// told (done, total) after each message.
pub fn import<S: Store>(
    engine: &Engine<S>,
    email: &str,
    root: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Imported, String> {
    let account = find_account(engine, email)?;
    let store = engine.store();
    if !root.join("cur").is_dir() && !root.join("new").is_dir() {
        return Err(format!(
            "{} is not a Maildir (it has no cur/ or new/ folder)",
            root.display()
        ));
    }
    let mut folders = vec![("INBOX".to_string(), root.to_path_buf())];
    for entry in fs::read_dir(root).map_err(|e| io_err(root, e))? {
        let entry = entry.map_err(|e| io_err(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(folder) = name.strip_prefix('.')
            && !folder.is_empty()
            && folder != "."
            && entry.path().is_dir()
        {
            folders.push((folder.replace('.', "/"), entry.path()));
        }
    }
    // Every file first, so that progress can say how many there are.
    let mut work = Vec::new();
    for (mailbox, dir) in folders {
        work.push((mailbox, message_files(&dir)?));
    }
    let total: usize = work.iter().map(|(_, files)| files.len()).sum();
    let mut imported = Imported {
        added: 0,
        skipped: 0,
    };
    for (name, files) in work {
        let existing = store.mailboxes(account.id).map_err(err)?;
        let mailbox = match existing
            .into_iter()
            .find(|m| m.name.eq_ignore_ascii_case(&name))
        {
            Some(mailbox) => mailbox,
            None => store.create_mailbox(account.id, &name).map_err(err)?,
        };
        let mut held: HashSet<BlobId> = (store.messages(mailbox.id).map_err(err)?)
            .into_iter()
            .map(|message| message.blob)
            .collect();
        for file in files {
            if import_file(engine, &account, &mailbox.name, &file, &mut held)? {
                imported.added += 1;
            } else {
                imported.skipped += 1;
            }
            let done = imported.added + imported.skipped;
            progress(done as u64, total as u64);
        }
        // The first search of an imported mailbox then finds its index made.
        engine.index_full_blocks(mailbox.id).map_err(err)?;
    }
    Ok(imported)
}

/// Imports one file unless `held` has its body; `false` when it was skipped.
fn import_file<S: Store>(
    engine: &Engine<S>,
    account: &Account,
    mailbox: &str,
    path: &Path,
    held: &mut HashSet<BlobId>,
) -> Result<bool, String> {
    let store = engine.store();
    let spool = SummarizingSpool::new(store.create_spool().map_err(err)?);
    let mut spool = CrlfWriter::new(Hashing::new(spool));
    let mut file = File::open(path).map_err(|e| io_err(path, e))?;
    io::copy(&mut file, &mut spool).map_err(|e| io_err(path, e))?;
    let (spool, body) = spool.into_inner().finish();
    // Bodies are content-addressed: the same bytes, the same id. The unused spool is
    // removed as it is dropped.
    if !held.insert(body) {
        return Ok(false);
    }
    let spool = spool.finish();
    let internal_date = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or_else(now, |d| d.as_secs() as i64);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let delivery = Delivery {
        account: account.id,
        mailbox: mailbox.to_string(),
        flags: parse_flags(&name),
        keywords: Vec::new(),
        internal_date,
    };
    let stored = store.deliver(spool, &[delivery]);
    stored
        .and_then(Stored::all_or_over_quota)
        .map_err(|e| match e {
            StoreError::OverQuota { .. } => format!(
                "{} is over quota; imported messages before {} are kept",
                account.email,
                path.display()
            ),
            other => other.to_string(),
        })?;
    Ok(true)
}

/// Passes writes on, computing the SHA-256 of what went through: the id the store gives
/// the body.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    fn finish(self) -> (W, BlobId) {
        (self.inner, BlobId(self.hasher.finalize().into()))
    }
}

impl<W: io::Write> io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The message files of one Maildir folder, `new/` then `cur/`, in name order (which for
/// Maildir names is arrival order).
fn message_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for sub in ["new", "cur"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        let mut names: Vec<PathBuf> = fs::read_dir(&path)
            .map_err(|e| io_err(&path, e))?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|p| p.is_file())
            .collect();
        names.sort();
        files.extend(names);
    }
    Ok(files)
}

fn folder_path(root: &Path, mailbox: &str) -> PathBuf {
    if mailbox.eq_ignore_ascii_case("INBOX") {
        root.to_path_buf()
    } else {
        root.join(format!(".{}", mailbox.replace('/', ".")))
    }
}

fn flag_letters(flags: Flags) -> String {
    FLAG_LETTERS
        .iter()
        .filter(|(_, bit)| flags & bit != 0)
        .map(|(letter, _)| *letter)
        .collect()
}

fn parse_flags(file_name: &str) -> Flags {
    let Some((_, info)) = file_name.rsplit_once(":2,") else {
        return 0;
    };
    FLAG_LETTERS
        .iter()
        .filter(|(letter, _)| info.contains(*letter))
        .fold(0, |flags, (_, bit)| flags | bit)
}

fn find_account<S: Store>(engine: &Engine<S>, email: &str) -> Result<Account, String> {
    let address = Address::parse(email).map_err(|e| e.to_string())?;
    engine
        .store()
        .account(address.as_str())
        .map_err(err)?
        .ok_or_else(|| format!("no user {address} (add it with `postern user add {address}`)"))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn err(e: StoreError) -> String {
    e.to_string()
}

fn io_err(path: &Path, e: io::Error) -> String {
    format!("{}: {e}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_through_names() {
        for flags in 0..32u8 {
            let name = format!("123.host:2,{}", flag_letters(flags));
            assert_eq!(parse_flags(&name), flags);
        }
        assert_eq!(parse_flags("no-info-part"), 0);
        assert_eq!(flag_letters(FLAG_SEEN | FLAG_DRAFT), "DS");
    }

    #[test]
    fn folders_use_maildir_plus_plus_names() {
        let root = Path::new("/m");
        assert_eq!(folder_path(root, "INBOX"), PathBuf::from("/m"));
        assert_eq!(
            folder_path(root, "Work/2026"),
            PathBuf::from("/m/.Work.2026")
        );
    }
}
