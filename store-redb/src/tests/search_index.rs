//! Each mailbox's search index: a block's rows kept together, read by the rows asked, told
//! apart from a block without an index, dropped alone or with the mailbox.

use engine::mail::search_index::{ROW_BYTES, ROWS};

use super::*;

/// A block's rows, each filled with its own number's low byte.
fn block_rows() -> Vec<u8> {
    (0..ROWS)
        .flat_map(|row| std::iter::repeat_n(row as u8, ROW_BYTES))
        .collect()
}

#[test]
fn rows_are_read_as_asked_and_a_block_without_an_index_is_none() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX");
    store
        .set_search_index(inbox.id, 1, Some(block_rows()))
        .unwrap();
    let read = store.search_index_rows(inbox.id, 0..3, &[7, 300]).unwrap();
    assert_eq!(read.len(), 3);
    assert_eq!(read[0], None);
    let expected: Vec<u8> = [7u8, 44].iter().flat_map(|&b| [b; ROW_BYTES]).collect();
    assert_eq!(read[1].as_deref(), Some(expected.as_slice()));
    assert_eq!(read[2], None);
    // No rows asked: only whether each block has its index.
    let probed = store.search_index_rows(inbox.id, 0..2, &[]).unwrap();
    assert_eq!(probed, [None, Some(Vec::new())]);
}

#[test]
fn a_block_is_dropped_alone_and_every_block_with_its_mailbox() {
    let (_dir, store, ann, _) = store_with_accounts();
    let folder = store.create_mailbox(ann.id, "Projects").unwrap();
    for block in 0..2 {
        store
            .set_search_index(folder.id, block, Some(block_rows()))
            .unwrap();
    }
    store.set_search_index(folder.id, 0, None).unwrap();
    let probed = store.search_index_rows(folder.id, 0..2, &[]).unwrap();
    assert_eq!(probed, [None, Some(Vec::new())]);
    store.delete_mailbox(folder.id).unwrap();
    let probed = store.search_index_rows(folder.id, 0..2, &[]).unwrap();
    assert_eq!(probed, [None, None]);
    assert!(matches!(
        store.set_search_index(folder.id, 0, Some(block_rows())),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn a_block_of_the_wrong_size_is_refused() {
    let (_dir, store, ann, _) = store_with_accounts();
    let inbox = mailbox(&store, &ann, "INBOX");
    assert!(
        store
            .set_search_index(inbox.id, 0, Some(vec![0; 10]))
            .is_err()
    );
    assert_eq!(
        store.search_index_rows(inbox.id, 0..1, &[]).unwrap(),
        [None]
    );
}
