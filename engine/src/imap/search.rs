//! SEARCH (with ESEARCH returns and SEARCHRES `$`), SORT and THREAD over the selected
//! mailbox, evaluated against stored summaries; message bytes are read only for keys that
//! look into headers or text.

use std::borrow::Cow;
use std::cell::Cell;
use std::num::{NonZeroU32, NonZeroU64};

use proto_imap::{
    Code, Data, ESearch, SearchKey, SearchReturn, SortCriterion, Tag, ThreadAlgorithm,
};

use crate::imap::convert::sequence_set;
use crate::imap::fetch::{read_message, summary_of};
use crate::imap::reply::Reply;
use crate::imap::view::MailboxView;
use crate::mail::{self, Entry, LazyContent, MessageFacts, ResolvedSets, SearchScope, Summary};
use crate::search_index::Index;
use crate::store::{BlobFact, Message, Store, StoreError};

/// Charsets a search string may be in: both are UTF-8 to us.
const CHARSETS: [&str; 2] = ["UTF-8", "US-ASCII"];

/// One matching message.
struct Hit {
    seq: u32,
    message: Message,
    summary: Summary,
}

/// Whether a charset is one we search in; `Err` is the BADCHARSET answer.
fn check_charset(charset: Option<&[u8]>) -> Result<(), Reply> {
    match charset {
        Some(cs)
            if !CHARSETS
                .iter()
                .any(|c| cs.eq_ignore_ascii_case(c.as_bytes())) =>
        {
            let supported = CHARSETS
                .iter()
                .map(|c| Cow::Borrowed(c.as_bytes()))
                .collect();
            Err(Reply::no(None, "Unsupported charset").with_code(Code::BadCharset(supported)))
        }
        _ => Ok(()),
    }
}

/// The messages of the view that match every key, in sequence order.
fn matching<S: Store>(
    store: &S,
    view: &MailboxView,
    keys: &[SearchKey<'static>],
    now: i64,
    saved: &[u32],
) -> Result<Vec<Hit>, StoreError> {
    let stored = store.messages(view.id)?;
    let sets = ResolvedSets::of(keys, view.len(), view.max_uid());
    let scope = SearchScope {
        messages: view.len(),
        max_uid: view.max_uid(),
        saved,
        recent: view.recent(),
        now,
        sets: &sets,
    };
    // With a text string among the keys, the mailbox's search index rules out most
    // messages first, and each one left has its search filter read: most of those are ruled
    // out by it before their summary is read.
    let prefilter = keys.iter().any(mail::needs_content);
    let index = if prefilter {
        Index::read(
            store,
            view.id,
            view.uid_next,
            &stored,
            &mail::index_rows(keys),
        )?
    } else {
        Index::default()
    };
    let mut hits = Vec::new();
    for (seq, uid) in view.iter() {
        if !index.admits(uid) {
            continue;
        }
        let Ok(at) = stored.binary_search_by_key(&uid, |m| m.uid) else {
            continue;
        };
        let message = &stored[at];
        let filter = || {
            store
                .blob_fact(&message.blob, BlobFact::SearchFilter)
                .ok()
                .flatten()
        };
        let preloaded = prefilter.then(filter);
        if let Some(Some(filter)) = &preloaded
            && mail::ruled_out_by_filter(keys, filter)
        {
            continue;
        }
        let summary = match summary_of(store, message) {
            Ok(summary) => summary,
            // Expunged and its body released since the list was read: not a match.
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        // A large message read whole keeps its place (see `mail::whole_message`) for as
        // long as its bytes are kept, to the end of this message.
        let whole = Cell::new(None);
        let read = || {
            whole.set(Some(mail::whole_message(message.size)));
            read_message(store, message).ok().map(Cow::Owned)
        };
        let facts = MessageFacts {
            seq,
            message,
            summary: &summary,
            content: LazyContent::new(read).with_filter(|| preloaded.unwrap_or_else(filter)),
            scope,
        };
        let matched = keys.iter().all(|key| mail::matches(key, &facts));
        if let Some(filter) = facts.content.made_filter() {
            // Kept for the next search; one that cannot be kept is made again then.
            let _ = store.set_blob_fact(&message.blob, BlobFact::SearchFilter, &filter);
        }
        drop(facts);
        if matched {
            hits.push(Hit {
                seq,
                message: message.clone(),
                summary,
            });
        }
    }
    index.keep_up(store, view.id, &stored);
    Ok(hits)
}

/// Whether any key is MODSEQ (which also turns CONDSTORE on, RFC 7162 §3.1).
pub(crate) fn uses_modseq(keys: &[SearchKey<'_>]) -> bool {
    keys.iter().any(|k| match k {
        SearchKey::ModSeq { .. } => true,
        SearchKey::Not(inner) => uses_modseq(std::slice::from_ref(inner)),
        SearchKey::Or(a, b) => {
            uses_modseq(std::slice::from_ref(a)) || uses_modseq(std::slice::from_ref(b))
        }
        SearchKey::And(list) => uses_modseq(list),
        _ => false,
    })
}

fn nonzero(ids: impl IntoIterator<Item = u32>) -> Vec<NonZeroU32> {
    ids.into_iter().filter_map(NonZeroU32::new).collect()
}

/// What a `[UID] SEARCH` asks.
pub struct SearchRequest<'a> {
    pub uid: bool,
    pub returns: Option<&'a [SearchReturn]>,
    pub charset: Option<&'a [u8]>,
    pub keys: &'a [SearchKey<'static>],
}

/// `[UID] SEARCH [RETURN (...)] [CHARSET cs] keys`; `rev2` for an IMAP4rev2 client.
pub fn search<S: Store>(
    store: &S,
    view: &mut MailboxView,
    tag: &Tag<'static>,
    rev2: bool,
    request: &SearchRequest<'_>,
    now: i64,
) -> Result<Reply, StoreError> {
    let &SearchRequest {
        uid,
        returns,
        charset,
        keys,
    } = request;
    if let Err(reply) = check_charset(charset) {
        return Ok(reply);
    }
    let saved = view.saved().to_vec();
    let hits = matching(store, view, keys, now, &saved)?;
    let modseq = uses_modseq(keys);
    let highest = |hits: &mut dyn Iterator<Item = &Hit>| {
        modseq
            .then(|| hits.map(|h| h.message.modseq).max())
            .flatten()
            .and_then(NonZeroU64::new)
    };
    let ids: Vec<u32> = hits
        .iter()
        .map(|h| if uid { h.message.uid } else { h.seq })
        .collect();
    // IMAP4rev2 has no SEARCH response: a plain SEARCH answers as `RETURN ()` (RFC 9051).
    let returns = returns.or(rev2.then_some(&[][..]));
    let Some(returns) = returns else {
        let data = Data::Search {
            ids: nonzero(ids),
            modseq: highest(&mut hits.iter()),
        };
        return Ok(Reply::ok("SEARCH completed").with_data(vec![data]));
    };
    let all_returns = [SearchReturn::All];
    let returns = if returns.is_empty() {
        &all_returns[..]
    } else {
        returns
    };
    if returns.contains(&SearchReturn::Save) {
        // With MIN and/or MAX but neither ALL nor COUNT, only those are saved (RFC 5182).
        let seqs: Vec<u32> = hits.iter().map(|h| h.seq).collect();
        let extremes = !returns.contains(&SearchReturn::All)
            && !returns.contains(&SearchReturn::Count)
            && (returns.contains(&SearchReturn::Min) || returns.contains(&SearchReturn::Max));
        if extremes {
            let mut saved = Vec::new();
            if returns.contains(&SearchReturn::Min) {
                saved.extend(seqs.first());
            }
            if returns.contains(&SearchReturn::Max) {
                saved.extend(seqs.last().filter(|last| Some(*last) != seqs.first()));
            }
            view.save(&saved);
        } else {
            view.save(&seqs);
        }
    }
    let wants = |r: SearchReturn| returns.contains(&r);
    let only_save = returns.iter().all(|r| *r == SearchReturn::Save);
    // The highest modseq of the messages returned: of MIN and MAX alone when only they
    // are (RFC 7162 3.1.5).
    let modseq = if wants(SearchReturn::All) || wants(SearchReturn::Count) {
        highest(&mut hits.iter())
    } else {
        let min = hits.first().filter(|_| wants(SearchReturn::Min));
        let max = hits.last().filter(|_| wants(SearchReturn::Max));
        highest(&mut min.into_iter().chain(max))
    };
    let mut data = Vec::new();
    if !only_save {
        data.push(Data::ESearch(ESearch {
            tag: Some(tag.clone()),
            uid,
            min: wants(SearchReturn::Min)
                .then(|| ids.first().copied().and_then(NonZeroU32::new))
                .flatten(),
            max: wants(SearchReturn::Max)
                .then(|| ids.last().copied().and_then(NonZeroU32::new))
                .flatten(),
            all: wants(SearchReturn::All)
                .then(|| {
                    let mut sorted = ids.clone();
                    sorted.sort_unstable();
                    sequence_set(&sorted)
                })
                .flatten(),
            count: wants(SearchReturn::Count).then_some(ids.len() as u32),
            modseq,
        }));
    }
    Ok(Reply::ok("SEARCH completed").with_data(data))
}

/// How SORT or THREAD arranges the matching messages.
pub enum Arrange<'a> {
    Sort(&'a [SortCriterion]),
    Thread(ThreadAlgorithm),
}

/// `[UID] SORT (criteria) charset keys` and `[UID] THREAD algorithm charset keys`.
pub fn arrange<S: Store>(
    store: &S,
    view: &MailboxView,
    uid: bool,
    how: Arrange<'_>,
    charset: &[u8],
    keys: &[SearchKey<'static>],
    now: i64,
) -> Result<Reply, StoreError> {
    if let Err(reply) = check_charset(Some(charset)) {
        return Ok(reply);
    }
    let hits = matching(store, view, keys, now, &[])?;
    let entries = entries(&hits, uid);
    Ok(match how {
        Arrange::Sort(criteria) => {
            let ids = mail::sort(&entries, criteria);
            Reply::ok("SORT completed").with_data(vec![Data::Sort { ids, modseq: None }])
        }
        Arrange::Thread(algorithm) => {
            let threads = mail::thread(&entries, algorithm);
            Reply::ok("THREAD completed").with_data(vec![Data::Thread(threads)])
        }
    })
}

fn entries(hits: &[Hit], uid: bool) -> Vec<Entry<'_>> {
    hits.iter()
        .filter_map(|h| {
            Some(Entry {
                id: NonZeroU32::new(if uid { h.message.uid } else { h.seq })?,
                summary: &h.summary,
                internal_date: h.message.internal_date,
                size: h.message.size,
            })
        })
        .collect()
}
