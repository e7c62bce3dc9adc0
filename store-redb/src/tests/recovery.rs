//! Tests of a storage failure and the recovery from it: a disk that fills up and is freed.

use std::fs::File;
use std::io;
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use redb::backends::FileBackend;
use redb::{BackendError, Builder, StorageBackend};

use super::*;

/// The database file, whose writes fail as on a full disk while `full` is set.
#[derive(Debug)]
struct FullDisk {
    file: FileBackend,
    full: Arc<AtomicBool>,
}

impl FullDisk {
    fn check(&self) -> io::Result<()> {
        if self.full.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "no space left on device (injected)",
            ))
        } else {
            Ok(())
        }
    }
}

impl StorageBackend for FullDisk {
    fn len(&self) -> io::Result<u64> {
        self.file.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.file.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check()?;
        self.file.set_len(len)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.check()?;
        self.file.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check()?;
        self.file.write(offset, data)
    }

    fn close(&self) -> io::Result<()> {
        self.file.close()
    }

    // The file's locks, as they are: the reopen must release the old database's first.
    fn try_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.try_lock_range(start, end)
    }

    fn try_lock_shared_range(
        &self,
        start: Bound<u64>,
        end: Bound<u64>,
    ) -> Result<bool, BackendError> {
        self.file.try_lock_shared_range(start, end)
    }

    fn lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_range(start, end)
    }

    fn lock_shared_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.lock_shared_range(start, end)
    }

    fn unlock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<(), BackendError> {
        self.file.unlock_range(start, end)
    }

    fn query_lock_range(&self, start: Bound<u64>, end: Bound<u64>) -> Result<bool, BackendError> {
        self.file.query_lock_range(start, end)
    }
}

/// A disk that can be filled up, and the count of databases opened on it.
#[derive(Clone, Default)]
struct Disk {
    full: Arc<AtomicBool>,
    opens: Arc<AtomicUsize>,
}

impl Disk {
    fn fill(&self, full: bool) {
        self.full.store(full, Ordering::SeqCst);
    }

    fn opens(&self) -> usize {
        self.opens.load(Ordering::SeqCst)
    }

    /// A store in `dir` on this disk, with `ann` in it.
    fn store(&self, dir: &TempDir, reopen_interval: Duration) -> (RedbStore, Account) {
        let disk = self.clone();
        let open_file = move |file: File| {
            disk.opens.fetch_add(1, Ordering::SeqCst);
            let backend = FullDisk {
                file: FileBackend::new(file)?,
                full: Arc::clone(&disk.full),
            };
            Builder::new().create_with_backend(backend)
        };
        let store = RedbStore::open_with(dir.path(), Box::new(open_file), reopen_interval).unwrap();
        store.add_domain("example.org").unwrap();
        let ann = store
            .create_account(new_account("ann@example.org"))
            .unwrap();
        (store, ann)
    }
}

/// The bodies of the messages in ann's INBOX.
fn inbox_bodies(store: &RedbStore, ann: &Account) -> Vec<Vec<u8>> {
    let inbox = mailbox(store, ann, "INBOX");
    let messages = store.messages(inbox.id).unwrap();
    messages
        .iter()
        .map(|message| read_body(store, &message.blob))
        .collect()
}

#[test]
fn deliveries_fail_on_a_full_disk_and_succeed_once_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Disk::default();
    let (store, ann) = disk.store(&dir, Duration::ZERO);
    deliver(&store, b"first", &[to(&ann, "INBOX")]).unwrap();
    assert!(store.healthy());

    disk.fill(true);
    // Said to be a full disk, which clients are told (SMTP 452, WebDAV 507).
    let err = deliver(&store, b"second", &[to(&ann, "INBOX")]).unwrap_err();
    assert!(matches!(err, StoreError::Full(_)), "{err}");
    assert!(!store.healthy());
    // Still failing, and nothing of it acknowledged.
    let err = deliver(&store, b"second", &[to(&ann, "INBOX")]).unwrap_err();
    assert!(matches!(err, StoreError::Full(_)), "{err}");

    disk.fill(false);
    let delivered = deliver(&store, b"third", &[to(&ann, "INBOX")]).unwrap();
    assert!(store.healthy());
    assert_eq!(delivered[0].uid, 2);
    assert_eq!(inbox_bodies(&store, &ann), [&b"first"[..], b"third"]);
    assert_eq!(refs(&store, &blob_id(b"second")), 0);

    // What was committed is on disk, and nothing else.
    drop(store);
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(inbox_bodies(&store, &ann), [&b"first"[..], b"third"]);
    assert_eq!(store.account_by_id(ann.id).unwrap().unwrap().used, 10);
}

#[test]
fn a_large_body_on_a_full_disk_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Disk::default();
    let (store, ann) = disk.store(&dir, Duration::ZERO);
    let large = vec![b'L'; SMALL_BLOB_MAX + 1];

    disk.fill(true);
    deliver(&store, &large, &[to(&ann, "INBOX")]).unwrap_err();

    disk.fill(false);
    deliver(&store, b"small", &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(inbox_bodies(&store, &ann), [b"small"]);
    assert_eq!(refs(&store, &blob_id(&large)), 0);
    // The file placed for the failed commit went when the database was reopened.
    assert!(!blob_file(&dir, &blob_id(&large)).exists());
    assert_eq!(spool_files(&dir), 0);
    // And the body can still be delivered.
    deliver(&store, &large, &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(inbox_bodies(&store, &ann), [&b"small"[..], &large]);
}

#[test]
fn a_body_that_cannot_be_spooled_stores_nothing() {
    let (dir, store, ann, _) = store_with_accounts();
    let spool_dir = dir.path().join("spool");
    let mut spool = spool(&store, b"head\r\n");
    // Where the body would spill to is gone, as if the disk refused it.
    fs::remove_dir(&spool_dir).unwrap();
    spool.write_all(&vec![b'b'; SMALL_BLOB_MAX]).unwrap_err();
    store.deliver(spool, &[to(&ann, "INBOX")]).unwrap_err();
    assert!(inbox_bodies(&store, &ann).is_empty());
    assert_eq!(store.account_by_id(ann.id).unwrap().unwrap().used, 0);
    assert!(store.healthy());

    fs::create_dir(&spool_dir).unwrap();
    let body = vec![b'b'; SMALL_BLOB_MAX + 1];
    deliver(&store, &body, &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(inbox_bodies(&store, &ann), [body]);
}

#[test]
fn reads_of_committed_data_work_again_after_recovery() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Disk::default();
    let (store, ann) = disk.store(&dir, Duration::ZERO);
    deliver(&store, b"kept", &[to(&ann, "INBOX")]).unwrap();

    disk.fill(true);
    deliver(&store, b"lost", &[to(&ann, "INBOX")]).unwrap_err();
    disk.fill(false);
    // A read reopens the failed database as a write would.
    assert_eq!(inbox_bodies(&store, &ann), [b"kept"]);
    assert_eq!(disk.opens(), 2);
    deliver(&store, b"next", &[to(&ann, "INBOX")]).unwrap();
    assert!(store.healthy());
    assert_eq!(disk.opens(), 2);
}

#[test]
fn reopening_is_rate_limited() {
    const INTERVAL: Duration = Duration::from_secs(1);
    let dir = tempfile::tempdir().unwrap();
    let disk = Disk::default();
    let (store, ann) = disk.store(&dir, INTERVAL);
    assert_eq!(disk.opens(), 1);

    disk.fill(true);
    deliver(&store, b"a", &[to(&ann, "INBOX")]).unwrap_err();
    // The first reopen is not delayed; it fails on the disk that is still full.
    deliver(&store, b"b", &[to(&ann, "INBOX")]).unwrap_err();
    assert_eq!(disk.opens(), 2);
    // Until the interval has passed, calls fail without trying again, even once space is free.
    deliver(&store, b"c", &[to(&ann, "INBOX")]).unwrap_err();
    disk.fill(false);
    let err = deliver(&store, b"d", &[to(&ann, "INBOX")]).unwrap_err();
    assert!(err.to_string().contains("storage failure"), "{err}");
    assert!(store.domains().is_err());
    assert_eq!(disk.opens(), 2);
    assert!(!store.healthy());

    thread::sleep(INTERVAL);
    deliver(&store, b"e", &[to(&ann, "INBOX")]).unwrap();
    assert_eq!(disk.opens(), 3);
    assert!(store.healthy());
    assert_eq!(inbox_bodies(&store, &ann), [b"e"]);
}

#[test]
fn concurrent_writers_and_readers_get_through_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let disk = Disk::default();
    let (store, ann) = disk.store(&dir, Duration::ZERO);
    deliver(&store, b"before", &[to(&ann, "INBOX")]).unwrap();
    let inbox = mailbox(&store, &ann, "INBOX").id;
    let store = Arc::new(store);

    disk.fill(true);
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let (store, ann) = (Arc::clone(&store), ann.clone());
            thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for round in 0..20 {
                    // Either outcome is fine while the disk fills and frees: no panic, no hang.
                    let body = format!("{worker}-{round}").into_bytes();
                    if deliver(&store, &body, &[to(&ann, "INBOX")]).is_ok() {
                        acknowledged.push(body);
                    }
                    let _ = store.messages(inbox);
                }
                acknowledged
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(20));
    disk.fill(false);
    let mut expected = vec![b"before".to_vec()];
    for worker in workers {
        expected.extend(worker.join().unwrap());
    }

    // Exactly what was acknowledged is there, and the store works.
    deliver(&store, b"after", &[to(&ann, "INBOX")]).unwrap();
    expected.push(b"after".to_vec());
    assert!(store.healthy());
    let mut bodies = inbox_bodies(&store, &ann);
    bodies.sort();
    expected.sort();
    assert_eq!(bodies, expected);
}

/// Whether opening the database at `dir` has to repair it.
fn needs_repair(dir: &std::path::Path) -> bool {
    let repaired = Arc::new(AtomicBool::new(false));
    let seen = repaired.clone();
    let db = Builder::new()
        .set_repair_callback(move |_| seen.store(true, Ordering::SeqCst))
        .open(dir.join(DATABASE_FILE))
        .unwrap();
    drop(db);
    repaired.load(Ordering::SeqCst)
}

#[test]
fn a_closed_store_needs_no_repair_and_refuses_calls() {
    let (dir, store) = open_store();
    store.add_domain("example.test").unwrap();
    store.close().unwrap();
    assert!(store.domains().is_err(), "calls after close fail");
    // Closed while another owner of the store still lives, as the server's control thread.
    assert!(!needs_repair(dir.path()));
    drop(store);
    let store = RedbStore::open(dir.path()).unwrap();
    assert_eq!(store.domains().unwrap().len(), 1);
}
