//! Tests of the data directory as files: who may read it, and what is left in it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

/// The permission bits of `path`.
fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Every path under `root`, `root` included.
fn tree(root: &Path) -> Vec<std::path::PathBuf> {
    let mut paths = vec![root.to_path_buf()];
    let mut next = 0;
    while let Some(path) = paths.get(next).cloned() {
        next += 1;
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            paths.extend(
                fs::read_dir(&path)
                    .unwrap()
                    .map(|entry| entry.unwrap().path()),
            );
        }
    }
    paths
}

fn large_body(fill: u8) -> Vec<u8> {
    vec![fill; SMALL_BLOB_MAX + 1000]
}

/// The modes asserted here hold under any umask that leaves the owner's bits alone: what the
/// store creates is at most 0700 or 0600, and the umask can only take bits away.
#[test]
fn the_data_directory_is_private() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    let store = RedbStore::open(&data).unwrap();
    store.add_domain("example.org").unwrap();
    let ann = store
        .create_account(new_account("ann@example.org"))
        .unwrap();

    // A body being received is private while it is spooled, too.
    let body = large_body(b'p');
    let spool = spool(&store, &body);
    let spooled: Vec<_> = fs::read_dir(data.join("spool"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(spooled.len(), 1);
    assert_eq!(mode(&spooled[0]), 0o600);
    store.deliver(spool, &[to(&ann, "INBOX")]).unwrap();

    let hex = blob_id(&body).to_string();
    let blob_dir = data.join("blobs").join(&hex[..2]);
    for dir in [&data, &data.join("blobs"), &blob_dir, &data.join("spool")] {
        assert_eq!(mode(dir), 0o700, "{}", dir.display());
    }
    for file in [&data.join(DATABASE_FILE), &blob_dir.join(&hex[2..])] {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
}

#[test]
fn an_existing_open_tree_is_tightened() {
    let dir = tempfile::tempdir().unwrap();
    let body = large_body(b'o');
    {
        let (store, ann) = store_with_ann(&dir);
        deliver(&store, &body, &[to(&ann, "INBOX")]).unwrap();
    }
    // What an older version left under a umask of 022, and something the server keeps there.
    let tls = dir.path().join("tls");
    fs::create_dir(&tls).unwrap();
    fs::write(tls.join("self-signed.key"), b"key").unwrap();
    // An owner-only file keeps the bits it has; a link is not followed out of the directory.
    let read_only = dir.path().join("read-only");
    fs::write(&read_only, b"r").unwrap();
    set_mode(&read_only, 0o400);
    let outside = tempfile::tempdir().unwrap();
    set_mode(outside.path(), 0o755);
    std::os::unix::fs::symlink(outside.path(), dir.path().join("link")).unwrap();
    for path in tree(dir.path()) {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            set_mode(&path, 0o755);
        } else if meta.is_file() && path != read_only {
            set_mode(&path, 0o644);
        }
    }

    let store = RedbStore::open(dir.path()).unwrap();
    for path in tree(dir.path()) {
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            assert_eq!(mode(&path), 0o700, "{}", path.display());
        } else if meta.is_file() && path != read_only {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
    assert_eq!(mode(&read_only), 0o400);
    assert_eq!(mode(outside.path()), 0o755);
    // Nothing was lost on the way.
    let inbox = mailbox(
        &store,
        &store.account("ann@example.org").unwrap().unwrap(),
        "INBOX",
    );
    let messages = store.messages(inbox.id).unwrap();
    assert_eq!(read_body(&store, &messages[0].blob), body);
}

#[test]
fn a_linked_data_directory_is_tightened_too() {
    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("on-a-larger-disk");
    fs::create_dir(&target).unwrap();
    set_mode(&target, 0o755);
    let link = parent.path().join("data");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let _store = RedbStore::open(&link).unwrap();
    assert_eq!(mode(&target), 0o700);
    assert_eq!(mode(&target.join(DATABASE_FILE)), 0o600);
}

#[test]
fn orphaned_blob_files_are_swept_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let kept = large_body(b'k');
    let kept_id = blob_id(&kept);
    {
        let (store, ann) = store_with_ann(&dir);
        deliver(&store, &kept, &[to(&ann, "INBOX")]).unwrap();
    }
    // Bodies written by deliveries that never committed (the process was killed in between):
    // one beside the kept body, one in a directory of its own.
    let mut beside = kept_id;
    beside.0[31] ^= 1;
    let orphans = [beside, blob_id(&large_body(b'x'))];
    for orphan in &orphans {
        let path = blob_file(&dir, orphan);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, large_body(b'x')).unwrap();
    }
    // Files whose names are no body's are not the store's to remove.
    let unused_prefix = (0..=u8::MAX)
        .find(|byte| orphans.iter().chain([&kept_id]).all(|id| id.0[0] != *byte))
        .unwrap();
    let strangers = [
        dir.path().join("blobs").join("README"),
        dir.path()
            .join("blobs")
            .join(format!("{unused_prefix:02x}")),
        blob_file(&dir, &kept_id).with_extension("bak"),
    ];
    for stranger in &strangers {
        fs::write(stranger, b"not a body").unwrap();
    }

    let store = RedbStore::open(dir.path()).unwrap();
    for orphan in &orphans {
        assert!(!blob_file(&dir, orphan).exists(), "{orphan}");
    }
    for stranger in &strangers {
        assert!(stranger.exists(), "{}", stranger.display());
    }
    assert_eq!(fs::read(blob_file(&dir, &kept_id)).unwrap(), kept);
    assert_eq!(read_body(&store, &kept_id), kept);
    assert_eq!(refs(&store, &kept_id), 1);
}
