//! FETCH and UID FETCH. The responses are built on the blocking pool — stored summaries for
//! ENVELOPE and BODYSTRUCTURE, stored bytes for sections — one chunk at a time by a
//! [`FetchCursor`], so a FETCH of a whole mailbox never sits in memory and no thread waits
//! for the client.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, Read};
use std::num::{NonZeroU32, NonZeroU64};
use std::ops::Range;

use proto_imap::{
    Data, EncodeOptions, FetchAttr, FetchAttrs, FetchItem, FetchModifiers, Partial, PlainCode,
    Section, SectionName, SequenceSet,
};

use crate::imap::convert::{datetime_from_unix, flags_fetch, sequence_set};
use crate::imap::reply::Reply;
use crate::imap::selected::{Client, flag_lists};
use crate::imap::view::MailboxView;
use crate::mail::{
    self, Piecewise, Summary, TransferEncoding, UnknownCte, binary_section, binary_size,
    body_section, fields_source, header_fields_section, section_range, top_header_section,
};
use crate::store::{BlobFact, BlobId, FLAG_SEEN, FlagChange, Flags, Message, Store, StoreError};

/// Output is handed to the socket in chunks of about this size.
pub const CHUNK: usize = 64 * 1024;

/// The content of a message larger than this is streamed from storage, never held in
/// memory: every section, decoded BINARY included.
const STREAM_MIN: u64 = 1024 * 1024;

/// What one FETCH asks for, owned so it can move to the blocking pool.
pub struct FetchRequest {
    pub uid: bool,
    pub set: SequenceSet,
    pub attrs: FetchAttrs<'static>,
    pub modifiers: FetchModifiers,
    pub options: EncodeOptions,
}

/// The summary of a stored message: kept with its body, derived and kept on first use.
pub fn summary_of<S: Store>(store: &S, message: &Message) -> Result<Summary, StoreError> {
    if let Some(bytes) = store.blob_fact(&message.blob, BlobFact::Summary)?
        && let Some(summary) = Summary::from_bytes(&bytes)
    {
        return Ok(summary);
    }
    // Read whole to be parsed: a large one waits for its place among the few that may be.
    let _whole = mail::whole_message(message.size);
    let bytes = read_message(store, message)?;
    let summary = Summary::derive(&bytes);
    store.set_blob_fact(&message.blob, BlobFact::Summary, &summary.to_bytes())?;
    Ok(summary)
}

/// A stored message's bytes.
pub fn read_message<S: Store>(store: &S, message: &Message) -> Result<Vec<u8>, StoreError> {
    read_prefix(store, message, message.size)
}

/// The first `len` bytes of a stored message (all of it when it is shorter).
fn read_prefix<S: Store>(store: &S, message: &Message, len: u64) -> Result<Vec<u8>, StoreError> {
    let len = len.min(message.size);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    store
        .read_blob(&message.blob)?
        .take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::Io(format!("cannot read message {}: {e}", message.blob)))?;
    Ok(bytes)
}

/// The octets `range` of a stored message, read past the ones before it.
fn read_range<S: Store>(store: &S, blob: BlobId, range: Range<u64>) -> Result<Vec<u8>, StoreError> {
    let len = range.end.saturating_sub(range.start);
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    skip_to(store, blob, range.start)?
        .take(len)
        .read_to_end(&mut bytes)
        .map_err(|e| StoreError::Io(format!("cannot read message {blob}: {e}")))?;
    Ok(bytes)
}

/// A reader of a stored message from octet `start` on (what comes before read past, not
/// kept).
fn skip_to<S: Store>(store: &S, blob: BlobId, start: u64) -> Result<S::BlobReader, StoreError> {
    let mut reader = store.read_blob(&blob)?;
    let skipped = io::copy(&mut reader.by_ref().take(start), &mut io::sink())
        .map_err(|e| StoreError::Io(format!("cannot read message {blob}: {e}")))?;
    if skipped < start {
        return Err(StoreError::Io(format!("message {blob} is truncated")));
    }
    Ok(reader)
}

/// How many bytes from its start an item needs of a message of `size` bytes: none for what
/// the summary tells, the top-level header alone for HEADER and HEADER.FIELDS (what mail
/// clients fetch to list messages), up to a part's end for what lies in a part, up to a
/// partial fetch's end for a piece of the message or its text, everything otherwise.
fn needed_len(attr: &FetchAttr<'_>, summary: &Summary, size: u64) -> u64 {
    let part_end =
        |path: &[NonZeroU32]| summary.part(path).map_or(size, |part| u64::from(part.end));
    let header_end = u64::from(summary.header_end);
    let within = |start: u64, partial: &Partial| {
        start
            .saturating_add(partial.offset)
            .saturating_add(partial.length.get())
    };
    let needed = match attr {
        FetchAttr::Rfc822Header => header_end,
        // A piece of the whole message or of its text (message previews).
        FetchAttr::BodySection {
            section: None,
            partial: Some(partial),
            ..
        } => within(0, partial),
        FetchAttr::BodySection {
            section: Some(Section::Text(None)),
            partial: Some(partial),
            ..
        } => within(header_end, partial),
        FetchAttr::BodySection {
            section: Some(section),
            ..
        } => match section {
            Section::Header(None)
            | Section::HeaderFields(None, _)
            | Section::HeaderFieldsNot(None, _) => header_end,
            Section::Part(part)
            | Section::Mime(part)
            | Section::Header(Some(part))
            | Section::HeaderFields(Some(part), _)
            | Section::HeaderFieldsNot(Some(part), _)
            | Section::Text(Some(part)) => part_end(part.as_slice()),
            Section::Text(None) => size,
        },
        FetchAttr::Binary { part, .. } | FetchAttr::BinarySize { part } if !part.is_empty() => {
            part_end(part)
        }
        FetchAttr::Rfc822
        | FetchAttr::Rfc822Text
        | FetchAttr::BodySection { .. }
        | FetchAttr::Binary { .. }
        | FetchAttr::BinarySize { .. } => size,
        // Told by the summary or the message's record.
        _ => 0,
    };
    needed.min(size)
}

/// A FETCH in progress. It is resumable so that the driver runs it on the blocking pool one
/// chunk at a time and writes each chunk itself: no thread ever waits for a slow or vanished
/// client, and at most one chunk of output exists at a time.
pub struct FetchCursor<R> {
    request: FetchRequest,
    attrs: Vec<FetchAttr<'static>>,
    changed_since: Option<u64>,
    want_modseq: bool,
    /// The sequence numbers still to answer.
    seqs: std::vec::IntoIter<u32>,
    /// The mailbox's messages, or with CHANGEDSINCE only those changed since (see
    /// `vanished`).
    stored: Vec<Message>,
    /// With CHANGEDSINCE, the UIDs expunged since, ascending: a message neither in
    /// `stored` nor here is unchanged. `None` when `stored` holds every message.
    vanished: Option<Vec<u32>>,
    /// UIDs this FETCH set `\Seen` on, ascending: their flags are reported.
    seen_now: Vec<u32>,
    out: Vec<u8>,
    /// The item being streamed, at the end of a response.
    body: Option<Streaming<R>>,
    /// The items of that response to stream after it.
    queued: VecDeque<Streamed>,
    expunged: bool,
    undecodable: bool,
}

/// An item of a large message, sent as a literal streamed from storage after the
/// response's other items.
struct Streamed {
    name: SectionName<'static>,
    /// The literal's length.
    len: u64,
    source: Source,
    blob: BlobId,
}

/// Where a streamed item's octets come from.
enum Source {
    /// These octets of the stored message, as stored.
    Stored(Range<u64>),
    /// The content of the part stored at `part` with its transfer encoding undone, from
    /// decoded octet `skip` on.
    Decoded {
        part: Range<u64>,
        encoding: TransferEncoding,
        skip: u64,
    },
}

/// The item being streamed: where it is read from and how far it got.
struct Streaming<R> {
    reader: io::Take<R>,
    /// Octets of the literal still to send.
    remaining: u64,
    /// Decoding a part: its decoder (`None` once its input ended), and decoded octets not
    /// sent yet, from `at` on, after `skip` more are left out.
    decoding: Option<Decoding>,
    /// In a `{n}` literal (not BINARY's `~{n}`): no NUL may be sent.
    literal: bool,
    blob: BlobId,
}

struct Decoding {
    decoder: Option<Piecewise>,
    decoded: Vec<u8>,
    at: usize,
    skip: u64,
}

impl<R: Read> FetchCursor<R> {
    /// Resolves the request against the view and sets `\Seen` where it reads bodies; the
    /// VANISHED (EARLIER) response QRESYNC asks for comes first.
    pub fn start<S: Store<BlobReader = R>>(
        store: &S,
        view: &mut MailboxView,
        request: FetchRequest,
    ) -> Result<Self, StoreError> {
        let attrs = request.attrs.expand().into_owned();
        let changed_since = request.modifiers.changed_since.map(NonZeroU64::get);
        let want_modseq = changed_since.is_some() || attrs.contains(&FetchAttr::ModSeq);
        let seqs = view.resolve(&request.set, request.uid);
        // A client resyncing with CHANGEDSINCE reads what changed since, not the mailbox:
        // from the older of its modseq and the view's, so a message expunged after either
        // is known as such.
        let (mut stored, vanished) = match changed_since {
            Some(since) if !reads_body(&attrs) => {
                let from = since.min(view.highest_modseq);
                match store.mailbox_changes(view.id, from)? {
                    Some(now) => (now.changed, Some(now.vanished)),
                    None => (Vec::new(), None),
                }
            }
            _ => (store.messages(view.id)?, None),
        };
        let seen_now = if reads_body(&attrs) && !view.read_only {
            mark_seen(store, view, &mut stored, &seqs, changed_since)?
        } else {
            Vec::new()
        };
        let seqs = seqs.into_iter();
        let mut out = Vec::new();
        if request.modifiers.vanished
            && let Some(since) = changed_since
        {
            let named = request.set.intervals(view.uid_next.saturating_sub(1));
            let vanished: Vec<u32> = store
                .expunged_since(view.id, since)?
                .into_iter()
                .filter(|&uid| named.contains(uid))
                .collect();
            if let Some(uids) = sequence_set(&vanished) {
                Data::Vanished {
                    earlier: true,
                    uids,
                }
                .encode(&mut out, request.options);
            }
        }
        // Flags are reported as they are now: a keyword another session set since this one
        // last heard comes with FLAGS and PERMANENTFLAGS first (RFC 3501 §7.2.6), as after a
        // STORE of its own.
        let reports_flags = attrs.contains(&FetchAttr::Flags) || !seen_now.is_empty();
        if reports_flags && view.learn_keywords(stored.iter().flat_map(|m| &m.keywords)) {
            for data in flag_lists(view.keywords(), view.read_only) {
                data.encode(&mut out, request.options);
            }
        }
        Ok(FetchCursor {
            request,
            attrs,
            changed_since,
            want_modseq,
            seqs,
            stored,
            vanished,
            seen_now,
            out,
            body: None,
            queued: VecDeque::new(),
            expunged: false,
            undecodable: false,
        })
    }

    /// The next chunk of output (about [`CHUNK`] bytes), or `None` once every response is
    /// written; then [`finish`](Self::finish) gives the completion.
    pub fn next_chunk<S: Store<BlobReader = R>>(
        &mut self,
        store: &S,
        client: Client,
        view: &MailboxView,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        loop {
            if self.out.len() >= CHUNK {
                return Ok(Some(std::mem::take(&mut self.out)));
            }
            if let Some(body) = &mut self.body {
                if body.remaining > 0 {
                    body.read_into(&mut self.out)?;
                } else if let Some(next) = self.queued.pop_front() {
                    // Opened before it is announced: up to here the response is whole.
                    *body = Streaming::open(store, &next)?;
                    proto_imap::encode_fetch_next(&mut self.out, next.name, next.len);
                } else {
                    proto_imap::encode_fetch_end(&mut self.out);
                    self.body = None;
                }
                continue;
            }
            let Some(seq) = self.seqs.next() else {
                return Ok((!self.out.is_empty()).then(|| std::mem::take(&mut self.out)));
            };
            match self.respond(store, client, view, seq) {
                // Expunged and its body released since the FETCH started (RFC 2180 §4.1.3:
                // what still exists is served, the rest is reported as expunged).
                Err(StoreError::NotFound(_)) => self.expunged = true,
                other => other?,
            }
        }
    }

    /// Whether every response has been handed out, so [`finish`](Self::finish) may be
    /// called without another step.
    pub fn is_done(&self) -> bool {
        self.out.is_empty() && self.body.is_none() && self.seqs.as_slice().is_empty()
    }

    /// Whether output stopped inside a literal whose length was promised: after a failure
    /// there, the connection cannot go on.
    pub fn in_literal(&self) -> bool {
        self.body.is_some()
    }

    /// The completion, once [`next_chunk`](Self::next_chunk) returned `None`.
    pub fn finish(self) -> Reply {
        if self.undecodable {
            return Reply::no(
                Some(PlainCode::UnknownCte),
                "A part's content transfer encoding cannot be decoded",
            );
        }
        if self.expunged {
            return Reply::no(
                Some(PlainCode::ExpungeIssued),
                "Some messages were expunged meanwhile",
            );
        }
        Reply::ok("FETCH completed")
    }

    /// Encodes the response for one message into the output; a large message asked for
    /// whole (`BODY[]`, `RFC822`) is left in `body` to stream.
    fn respond<S: Store<BlobReader = R>>(
        &mut self,
        store: &S,
        client: Client,
        view: &MailboxView,
        seq: u32,
    ) -> Result<(), StoreError> {
        let Some(uid) = view.uid(seq) else {
            return Ok(());
        };
        let Some(message) = self
            .stored
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .and_then(|i| self.stored.get(i))
        else {
            self.expunged = match &self.vanished {
                Some(vanished) => {
                    self.expunged || view.is_expunged(uid) || vanished.binary_search(&uid).is_ok()
                }
                None => true,
            };
            return Ok(());
        };
        if self
            .changed_since
            .is_some_and(|since| message.modseq <= since)
        {
            return Ok(());
        }
        // A large message's content is streamed from storage, after the other items.
        let (rest, ready, streamed) = match message.size > STREAM_MIN {
            true => {
                let plan = plan_large(store, message, &self.attrs, &mut self.undecodable)?;
                (Cow::Owned(plan.rest), plan.ready, plan.streamed)
            }
            false => (Cow::Borrowed(&self.attrs[..]), Vec::new(), Vec::new()),
        };
        let reported = Reported {
            recent: !client.rev2 && view.is_recent(uid),
            flags: message.flags,
            keywords: &message.keywords,
            modseq: message.modseq,
            with_uid: self.request.uid,
            flags_changed: self.seen_now.binary_search(&uid).is_ok(),
            want_modseq: self.want_modseq,
        };
        let mut items = items_for(
            store,
            client,
            message,
            &rest,
            &reported,
            &mut self.undecodable,
        )?;
        items.extend(ready);
        // The grammar wants at least one item (none is left when every item was undecodable).
        let Some(seq) = NonZeroU32::new(seq).filter(|_| !items.is_empty() || !streamed.is_empty())
        else {
            return Ok(());
        };
        let mut streamed = VecDeque::from(streamed);
        let Some(first) = streamed.pop_front() else {
            Data::Fetch { seq, items }.encode(&mut self.out, self.request.options);
            return Ok(());
        };
        let body = Streaming::open(store, &first)?;
        items.push(FetchItem::BodySectionHeader {
            name: first.name,
            len: first.len,
        });
        Data::Fetch { seq, items }.encode(&mut self.out, self.request.options);
        self.body = Some(body);
        self.queued = streamed;
        Ok(())
    }
}

/// How a large message's items are answered without it in memory: every section and
/// BINARY item is streamed from storage (BINARY decoded piece by piece), BINARY.SIZE of a
/// part is counted by decoding it so, HEADER.FIELDS is made of the header it picks from
/// alone; what is `rest` needs none of the message's octets.
struct LargePlan {
    rest: Vec<FetchAttr<'static>>,
    ready: Vec<FetchItem<'static>>,
    streamed: Vec<Streamed>,
}

fn plan_large<S: Store>(
    store: &S,
    message: &Message,
    attrs: &[FetchAttr<'static>],
    undecodable: &mut bool,
) -> Result<LargePlan, StoreError> {
    let summary = summary_of(store, message)?;
    let size = usize::try_from(message.size).unwrap_or(usize::MAX);
    let stored = |name, range: Range<usize>| Streamed {
        name,
        len: range.len() as u64,
        source: Source::Stored(range.start as u64..range.end as u64),
        blob: message.blob,
    };
    let mut plan = LargePlan {
        rest: Vec::new(),
        ready: Vec::new(),
        streamed: Vec::new(),
    };
    for attr in attrs {
        let (name, section, partial) = match attr {
            FetchAttr::Rfc822 => (SectionName::Rfc822, None, None),
            FetchAttr::Rfc822Header => {
                (SectionName::Rfc822Header, Some(Section::Header(None)), None)
            }
            FetchAttr::Rfc822Text => (SectionName::Rfc822Text, Some(Section::Text(None)), None),
            FetchAttr::BodySection {
                section, partial, ..
            } => (
                SectionName::Body {
                    section: section.clone(),
                    origin: partial.map(|p| p.offset),
                },
                section.clone(),
                *partial,
            ),
            FetchAttr::Binary { part, partial, .. } => {
                let name = SectionName::Binary {
                    part: part.clone(),
                    origin: partial.map(|p| p.offset),
                };
                match binary_source(store, message, &summary, part)? {
                    Ok((source, len)) => {
                        let (source, len) = source.window(len, *partial);
                        plan.streamed.push(Streamed {
                            name,
                            len,
                            source,
                            blob: message.blob,
                        });
                    }
                    Err(UnknownCte) => *undecodable = true,
                }
                continue;
            }
            FetchAttr::BinarySize { part } => {
                match binary_source(store, message, &summary, part)? {
                    Ok((_, size)) => plan.ready.push(FetchItem::BinarySize {
                        part: part.clone(),
                        size,
                    }),
                    Err(UnknownCte) => *undecodable = true,
                }
                continue;
            }
            _ => {
                plan.rest.push(attr.clone());
                continue;
            }
        };
        if let Some(range) = section_range(&summary, size, section.as_ref(), partial) {
            plan.streamed.push(stored(name, range));
            continue;
        }
        // HEADER.FIELDS[.NOT]: picked from the header it names, read alone.
        let picked = match section.as_ref().and_then(|s| Some((s, fields_source(s)?))) {
            Some((section, source)) => {
                let range = section_range(&summary, size, Some(&source), None).unwrap_or(0..0);
                let range = range.start as u64..range.end as u64;
                let header = read_range(store, message.blob, range)?;
                header_fields_section(&header, section, partial)
                    .map(|content| content.bytes(&header).to_vec())
            }
            None => None,
        };
        plan.ready.push(FetchItem::BodySection {
            name,
            data: Some(Cow::Owned(picked.unwrap_or_default())),
        });
    }
    Ok(plan)
}

/// What `BINARY[part]` of a large message is sent from, and its length: the stored octets
/// of the message (an empty `part`) or of a part in an identity encoding, else the part
/// decoded piece by piece, counted here by decoding it once without keeping anything.
fn binary_source<S: Store>(
    store: &S,
    message: &Message,
    summary: &Summary,
    part: &[NonZeroU32],
) -> Result<Result<(Source, u64), UnknownCte>, StoreError> {
    if part.is_empty() {
        return Ok(Ok((Source::Stored(0..message.size), message.size)));
    }
    let Some(info) = summary.part(part) else {
        // A part that does not exist is the empty string.
        return Ok(Ok((Source::Stored(0..0), 0)));
    };
    let end = u64::from(info.end).min(message.size);
    let range = u64::from(info.body_start).min(end)..end;
    let mut decoder = match Piecewise::new(&info.encoding) {
        Ok(Some(decoder)) => decoder,
        Ok(None) => return Ok(Ok((Source::Stored(range.clone()), range.end - range.start))),
        Err(unknown) => return Ok(Err(unknown)),
    };
    let mut reader = skip_to(store, message.blob, range.start)?.take(range.end - range.start);
    let mut chunk = vec![0; CHUNK];
    let mut decoded = Vec::with_capacity(CHUNK);
    let mut len = 0u64;
    loop {
        let n = reader
            .read(&mut chunk)
            .map_err(|e| StoreError::Io(format!("cannot read message {}: {e}", message.blob)))?;
        let fed = match chunk.get(..n) {
            Some(input) if n > 0 => decoder.feed(input, &mut decoded),
            _ => break,
        };
        if let Err(unknown) = fed {
            return Ok(Err(unknown));
        }
        len += decoded.len() as u64;
        decoded.clear();
    }
    if let Err(unknown) = decoder.finish(&mut decoded) {
        return Ok(Err(unknown));
    }
    len += decoded.len() as u64;
    let source = Source::Decoded {
        part: range,
        encoding: info.encoding.clone(),
        skip: 0,
    };
    Ok(Ok((source, len)))
}

impl Source {
    /// Narrowed to `<offset.length>` of its `len` octets; with the new length.
    fn window(self, len: u64, partial: Option<Partial>) -> (Source, u64) {
        let Some(Partial { offset, length }) = partial else {
            return (self, len);
        };
        let start = offset.min(len);
        let end = start.saturating_add(length.get()).min(len);
        let source = match self {
            Source::Stored(range) => Source::Stored(range.start + start..range.start + end),
            Source::Decoded { part, encoding, .. } => Source::Decoded {
                part,
                encoding,
                skip: start,
            },
        };
        (source, end - start)
    }
}

impl<R: Read> Streaming<R> {
    /// Opens `item` where its octets start.
    fn open<S: Store<BlobReader = R>>(store: &S, item: &Streamed) -> Result<Self, StoreError> {
        let (range, decoding) = match &item.source {
            Source::Stored(range) => (range.clone(), None),
            Source::Decoded {
                part,
                encoding,
                skip,
            } => {
                let decoder = Piecewise::new(encoding).ok().flatten().ok_or_else(|| {
                    StoreError::Io("internal error: a streamed part has no decoder".into())
                })?;
                let decoding = Decoding {
                    decoder: Some(decoder),
                    decoded: Vec::new(),
                    at: 0,
                    skip: *skip,
                };
                (part.clone(), Some(decoding))
            }
        };
        let reader = skip_to(store, item.blob, range.start)?.take(range.end - range.start);
        Ok(Streaming {
            reader,
            remaining: item.len,
            decoding,
            literal: !matches!(item.name, SectionName::Binary { .. }),
            blob: item.blob,
        })
    }
    /// Appends the next piece of the item to `out`, filling it up to [`CHUNK`].
    fn read_into(&mut self, out: &mut Vec<u8>) -> Result<(), StoreError> {
        let start = out.len();
        let room = CHUNK.saturating_sub(start).max(1);
        let want = usize::try_from(self.remaining).map_or(room, |r| r.min(room));
        let n = match &mut self.decoding {
            None => {
                out.resize(start + want, 0);
                let read = self.reader.read(&mut out[start..]);
                let n = read.map_err(|e| self.read_error(e))?;
                out.truncate(start + n);
                n
            }
            Some(decoding) => decoding.read_into(&mut self.reader, out, want, self.blob)?,
        };
        if self.literal
            && let Some(read) = out.get_mut(start..)
        {
            proto_imap::literal_safe(read);
        }
        if n == 0 {
            // Shorter than recorded: the literal's length is promised, so the connection
            // cannot go on.
            return Err(StoreError::Io(format!(
                "message {} is truncated",
                self.blob
            )));
        }
        self.remaining -= n as u64;
        Ok(())
    }

    fn read_error(&self, e: io::Error) -> StoreError {
        StoreError::Io(format!("cannot read message {}: {e}", self.blob))
    }
}

impl Decoding {
    /// Appends up to `want` decoded octets to `out`, decoding more of `reader` when none
    /// are waiting; how many were appended (none: the part ended).
    fn read_into(
        &mut self,
        reader: &mut impl Read,
        out: &mut Vec<u8>,
        want: usize,
        blob: BlobId,
    ) -> Result<usize, StoreError> {
        loop {
            let waiting = self.decoded.get(self.at..).unwrap_or_default();
            let skipped =
                usize::try_from(self.skip).map_or(waiting.len(), |s| s.min(waiting.len()));
            self.at += skipped;
            self.skip -= skipped as u64;
            let waiting = self.decoded.get(self.at..).unwrap_or_default();
            if !waiting.is_empty() {
                let n = waiting.len().min(want);
                out.extend_from_slice(waiting.get(..n).unwrap_or_default());
                self.at += n;
                return Ok(n);
            }
            let Some(decoder) = self.decoder.as_mut() else {
                return Ok(0);
            };
            self.decoded.clear();
            self.at = 0;
            let mut chunk = [0; 16 * 1024];
            let n = reader
                .read(&mut chunk)
                .map_err(|e| StoreError::Io(format!("cannot read message {blob}: {e}")))?;
            let decoded = match chunk.get(..n) {
                Some(input) if n > 0 => decoder.feed(input, &mut self.decoded),
                _ => match self.decoder.take() {
                    Some(decoder) => decoder.finish(&mut self.decoded),
                    None => Ok(()),
                },
            };
            // It decoded when its length was counted.
            decoded.map_err(|UnknownCte| {
                StoreError::Io(format!("message {blob} no longer decodes as it did"))
            })?;
        }
    }
}

/// What a FETCH response reports of a message's state, besides what was asked for.
struct Reported<'a> {
    /// `\Recent` in this session.
    recent: bool,
    flags: Flags,
    keywords: &'a [String],
    modseq: u64,
    /// UID FETCH: the UID is always reported.
    with_uid: bool,
    /// This FETCH set `\Seen`: the flags are reported (with the modseq under CONDSTORE).
    flags_changed: bool,
    /// CHANGEDSINCE or MODSEQ: the modseq is reported.
    want_modseq: bool,
}

/// Whether a FETCH reads some message content without PEEK, which sets `\Seen` (RFC 3501
/// §6.4.5).
fn reads_body(attrs: &[FetchAttr<'_>]) -> bool {
    attrs.iter().any(|a| match a {
        FetchAttr::BodySection { peek, .. } | FetchAttr::Binary { peek, .. } => !peek,
        FetchAttr::Rfc822 | FetchAttr::Rfc822Text => true,
        _ => false,
    })
}

/// Sets `\Seen`, in one write, on the messages of `seqs` that lack it (and that a
/// CHANGEDSINCE does not leave out), and brings `stored` up to date with the change.
/// Returns their UIDs, ascending.
fn mark_seen<S: Store>(
    store: &S,
    view: &mut MailboxView,
    stored: &mut [Message],
    seqs: &[u32],
    changed_since: Option<u64>,
) -> Result<Vec<u32>, StoreError> {
    let position = |stored: &[Message], uid: u32| stored.binary_search_by_key(&uid, |m| m.uid);
    let unseen: Vec<u32> = view
        .live_uids(seqs)
        .into_iter()
        .filter(|&uid| {
            position(stored, uid)
                .ok()
                .and_then(|i| stored.get(i))
                .is_some_and(|m| {
                    m.flags & FLAG_SEEN == 0 && changed_since.is_none_or(|since| m.modseq > since)
                })
        })
        .collect();
    if unseen.is_empty() {
        return Ok(Vec::new());
    }
    let add_seen = FlagChange::Add {
        flags: FLAG_SEEN,
        keywords: Vec::new(),
    };
    let outcome = store.set_flags(view.id, &unseen, &add_seen, None)?;
    let mut changed = Vec::with_capacity(outcome.changed.len());
    for update in outcome.changed {
        view.record_own(update.uid, update.modseq);
        if let Some(message) = position(stored, update.uid)
            .ok()
            .and_then(|i| stored.get_mut(i))
        {
            message.flags = update.flags;
            message.modseq = update.modseq;
            message.keywords = update.keywords;
        }
        changed.push(update.uid);
    }
    changed.sort_unstable();
    Ok(changed)
}

/// The items of one message's FETCH response.
fn items_for<S: Store>(
    store: &S,
    client: Client,
    message: &Message,
    attrs: &[FetchAttr<'static>],
    reported: &Reported<'_>,
    undecodable: &mut bool,
) -> Result<Vec<FetchItem<'static>>, StoreError> {
    let &Reported {
        recent,
        flags,
        keywords,
        modseq,
        with_uid,
        flags_changed,
        want_modseq,
    } = reported;
    let needs_content = !attrs.iter().all(from_record);
    // What clients list a mailbox with (the top-level header's fields) is answered from the
    // header kept apart at delivery alone: one row, not the summary too.
    let header = match needs_content && attrs.iter().all(|a| from_record(a) || from_header(a)) {
        true => store.blob_fact(&message.blob, BlobFact::Header)?,
        false => None,
    };
    let summary = match needs_content && header.is_none() {
        true => Some(summary_of(store, message)?),
        false => None,
    };
    // Only as much of the message as the items need.
    let needed = summary.as_ref().map_or(0, |summary| {
        attrs
            .iter()
            .map(|attr| needed_len(attr, summary, message.size))
            .max()
            .unwrap_or(0)
    });
    let bytes = match needed {
        0 => Vec::new(),
        _ => read_prefix(store, message, needed)?,
    };
    let uid = NonZeroU32::new(message.uid).unwrap_or(NonZeroU32::MIN);
    let mut items = Vec::new();
    // Flags this FETCH changed (\Seen) come with the UID and MODSEQ once CONDSTORE is on
    // (RFC 7162 §3.1).
    if with_uid || attrs.contains(&FetchAttr::Uid) || (client.condstore && flags_changed) {
        items.push(FetchItem::Uid(uid));
    }
    if attrs.contains(&FetchAttr::Flags) || flags_changed {
        items.push(FetchItem::Flags(flags_fetch(flags, keywords, recent)));
    }
    if want_modseq || (client.condstore && flags_changed) {
        items.push(FetchItem::ModSeq(
            NonZeroU64::new(modseq).unwrap_or(NonZeroU64::MIN),
        ));
    }
    for attr in attrs {
        let item = match (&summary, &header) {
            (Some(summary), _) => content_item(attr, message, summary, &bytes, undecodable),
            (None, Some(header)) => header_item(attr, message, header),
            (None, None) => record_item(attr, message),
        };
        items.extend(item);
    }
    Ok(items)
}

/// Whether an item is told by the message's record (or reported besides what was asked).
fn from_record(attr: &FetchAttr<'_>) -> bool {
    matches!(
        attr,
        FetchAttr::Flags
            | FetchAttr::InternalDate
            | FetchAttr::Rfc822Size
            | FetchAttr::Uid
            | FetchAttr::ModSeq
    )
}

/// Whether an item is a section of the top-level header: `RFC822.HEADER`, `BODY[HEADER]`,
/// `BODY[HEADER.FIELDS (...)]`, `BODY[HEADER.FIELDS.NOT (...)]`.
fn from_header(attr: &FetchAttr<'_>) -> bool {
    match attr {
        FetchAttr::Rfc822Header => true,
        FetchAttr::BodySection {
            section: Some(section),
            ..
        } => matches!(
            section,
            Section::Header(None)
                | Section::HeaderFields(None, _)
                | Section::HeaderFieldsNot(None, _)
        ),
        _ => false,
    }
}

/// The item of an attribute the record tells (`INTERNALDATE`, `RFC822.SIZE`); `None` for
/// those reported elsewhere (UID, FLAGS, MODSEQ) and any other.
fn record_item(attr: &FetchAttr<'static>, message: &Message) -> Option<FetchItem<'static>> {
    match attr {
        FetchAttr::InternalDate => Some(FetchItem::InternalDate(datetime_from_unix(
            message.internal_date,
        ))),
        FetchAttr::Rfc822Size => Some(FetchItem::Rfc822Size(message.size)),
        _ => None,
    }
}

/// The item of an attribute [`from_header`] or [`from_record`] answers, made of the
/// message's top-level `header` (its octets up to the body, as kept apart at delivery).
fn header_item(
    attr: &FetchAttr<'static>,
    message: &Message,
    header: &[u8],
) -> Option<FetchItem<'static>> {
    let (name, section, partial) = match attr {
        FetchAttr::Rfc822Header => (SectionName::Rfc822Header, Section::Header(None), None),
        FetchAttr::BodySection {
            section: Some(section),
            partial,
            ..
        } => (
            SectionName::Body {
                section: Some(section.clone()),
                origin: partial.map(|p| p.offset),
            },
            section.clone(),
            *partial,
        ),
        _ => return record_item(attr, message),
    };
    let content = top_header_section(header, &section, partial)?;
    Some(FetchItem::BodySection {
        name,
        data: Some(Cow::Owned(content.bytes(header).to_vec())),
    })
}

/// The item of one content attribute of a message (what needs its summary or bytes);
/// `None` for attributes reported elsewhere, or a part that cannot be decoded (noted in
/// `undecodable`).
fn content_item(
    attr: &FetchAttr<'static>,
    message: &Message,
    summary: &Summary,
    bytes: &[u8],
    undecodable: &mut bool,
) -> Option<FetchItem<'static>> {
    let section = |name: SectionName<'static>, data: &[u8]| FetchItem::BodySection {
        name,
        data: Some(Cow::Owned(data.to_vec())),
    };
    let encoded = |name, value: &[u8]| FetchItem::Encoded {
        name,
        value: Cow::Owned(value.to_owned()),
    };
    Some(match attr {
        FetchAttr::Flags
        | FetchAttr::InternalDate
        | FetchAttr::Rfc822Size
        | FetchAttr::Uid
        | FetchAttr::ModSeq => return record_item(attr, message),
        FetchAttr::Envelope => encoded("ENVELOPE", &summary.envelope),
        FetchAttr::Body => encoded("BODY", &summary.body),
        FetchAttr::BodyStructure => encoded("BODYSTRUCTURE", &summary.body_structure),
        FetchAttr::Rfc822 => section(SectionName::Rfc822, bytes),
        FetchAttr::Rfc822Header => {
            let header = proto_imap::Section::Header(None);
            let content = body_section(bytes, summary, Some(&header), None);
            section(SectionName::Rfc822Header, content.bytes(bytes))
        }
        FetchAttr::Rfc822Text => {
            let text = proto_imap::Section::Text(None);
            let content = body_section(bytes, summary, Some(&text), None);
            section(SectionName::Rfc822Text, content.bytes(bytes))
        }
        FetchAttr::BodySection {
            section: wanted,
            partial,
            ..
        } => {
            let content = body_section(bytes, summary, wanted.as_ref(), *partial);
            let name = SectionName::Body {
                section: wanted.clone(),
                origin: partial.map(|p| p.offset),
            };
            section(name, content.bytes(bytes))
        }
        FetchAttr::Binary { part, partial, .. } => {
            let name = SectionName::Binary {
                part: part.clone(),
                origin: partial.map(|p| p.offset),
            };
            match binary_section(bytes, summary, part, *partial) {
                Ok(content) => section(name, content.bytes(bytes)),
                Err(_) => {
                    *undecodable = true;
                    return None;
                }
            }
        }
        FetchAttr::BinarySize { part } => match binary_size(bytes, summary, part) {
            Ok(size) => FetchItem::BinarySize {
                part: part.clone(),
                size,
            },
            Err(_) => {
                *undecodable = true;
                return None;
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::BlobId;

    const MESSAGE: &str = "From: a@example.org\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\ninner body\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b--\r\nepilogue\r\n";

    /// Every item answers the same from the prefix `needed_len` asks for as from the whole
    /// message, and HEADER needs only the header; the top-level header's sections answer the
    /// same from the header kept apart, without the summary.
    #[test]
    fn a_prefix_answers_as_the_whole_message() {
        let bytes = MESSAGE.as_bytes();
        let summary = Summary::derive(bytes);
        let message = Message {
            uid: 1,
            blob: BlobId([0; 32]),
            size: bytes.len() as u64,
            internal_date: 0,
            flags: 0,
            keywords: Vec::new(),
            modseq: 1,
        };
        let items = "BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (SUBJECT)] \
            BODY.PEEK[HEADER.FIELDS.NOT (FROM)] BODY.PEEK[1] BODY.PEEK[1.MIME] BODY.PEEK[2] \
            BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT] BODY.PEEK[2.1] BODY.PEEK[3] BODY.PEEK[TEXT] \
            BODY.PEEK[] BODY.PEEK[1]<2.3> BODY.PEEK[]<10.20> BODY.PEEK[TEXT]<5.40> \
            BODY.PEEK[]<900.50> BODY.PEEK[TEXT]<0.100000> BINARY.PEEK[3] BINARY.SIZE[3] BINARY.PEEK[1] \
            RFC822.HEADER RFC822.TEXT RFC822 BODY.PEEK[9] ENVELOPE BODY.PEEK[HEADER]<5.10> \
            BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]<3.8> INTERNALDATE RFC822.SIZE";
        let line = format!("a FETCH 1 ({items})\r\n");
        let command = proto_imap::parse_command(line.as_bytes()).expect("a FETCH");
        let proto_imap::CommandBody::Fetch { attrs, .. } = command.body else {
            panic!("not a FETCH");
        };
        let attrs = attrs.into_owned().expand().into_owned();
        for attr in &attrs {
            let needed = needed_len(attr, &summary, message.size) as usize;
            let prefix = &bytes[..needed];
            let (mut a, mut b) = (false, false);
            let whole = content_item(attr, &message, &summary, bytes, &mut b);
            assert_eq!(
                content_item(attr, &message, &summary, prefix, &mut a),
                whole,
                "{attr:?} from {needed} bytes"
            );
            if from_header(attr) || from_record(attr) {
                let header = &bytes[..summary.header_end as usize];
                assert_eq!(
                    header_item(attr, &message, header),
                    whole,
                    "{attr:?} from the header alone"
                );
            }
        }
        let header = FetchAttr::BodySection {
            peek: true,
            section: Some(Section::Header(None)),
            partial: None,
        };
        assert_eq!(
            needed_len(&header, &summary, message.size),
            u64::from(summary.header_end)
        );
        assert!(summary.header_end < 100);
    }
}
