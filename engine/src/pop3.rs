//! Drives one POP3 session over a [`Connection`]: logins open the account's INBOX as a
//! maildrop (one POP3 session per account at a time), RETR/TOP stream the stored body in
//! chunks, and QUIT expunges the deleted messages durably.

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proto_core::sasl::Credentials;
use proto_core::session::{Peer, Session};
use proto_pop3::{
    Action, LoginError, Maildrop, MaildropEntry, Request, ServerConfig, ServerSession,
};

use crate::Engine;
use crate::directory::{LoginClient, log_in};
use crate::driver::{Protocol, Turn, drive};
use crate::io::{Connection, Executor, Reader};
use crate::store::{AccountId, BlobId, BlobRead, MailboxId, Store};

/// Bytes of a message body read from storage at a time.
const BODY_CHUNK: usize = 64 * 1024;

/// Accounts with an open POP3 maildrop (RFC 1939 §8: one session at a time may hold it).
#[derive(Default, Clone)]
pub struct MaildropLocks {
    held: Arc<Mutex<HashSet<AccountId>>>,
}

/// Holds an account's maildrop until dropped.
pub struct MaildropLock {
    locks: MaildropLocks,
    account: AccountId,
}

impl MaildropLocks {
    /// Takes the account's maildrop, or `None` when another session holds it.
    pub fn try_lock(&self, account: AccountId) -> Option<MaildropLock> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.insert(account).then(|| MaildropLock {
            locks: self.clone(),
            account,
        })
    }
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        self.locks
            .held
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.account);
    }
}

/// The UIDL of a message: its IMAP UID and the mailbox's UIDVALIDITY, as Dovecot's default
/// `%08Xu%08Xv`, so a message keeps its UIDL across sessions and matches what IMAP sees.
pub fn uidl(uid: u32, uid_validity: u32) -> String {
    format!("{uid:08X}{uid_validity:08X}")
}

/// An open maildrop: the login snapshot and the lock that keeps other sessions out.
struct Open {
    _lock: MaildropLock,
    mailbox: MailboxId,
    /// (UID, body, size) per message number - 1.
    messages: Vec<(u32, BlobId, u64)>,
}

/// Serves one POP3 connection until QUIT, a timeout, or the client going away.
pub fn serve<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    config: Arc<ServerConfig>,
    peer: Peer,
    conn: &mut C,
) -> impl Future<Output = io::Result<()>> + Send
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let pop3 = Pop3 {
        session: ServerSession::new(config, peer, Instant::now()),
        engine,
        executor,
        open: None,
        body: None,
        prefetch: None,
    };
    drive(pop3, conn)
}

/// A POP3 connection's part of the driving loop.
struct Pop3<S: Store, E> {
    engine: Arc<Engine<S>>,
    executor: E,
    session: ServerSession,
    /// The maildrop, once logged in.
    open: Option<Open>,
    /// The message being retrieved, and its position in the snapshot.
    body: Option<(usize, BodyStream<S::BlobReader>)>,
    /// The next message's body, being opened while the client reads the one before.
    prefetch: Option<Prefetch<S::BlobReader>>,
}

/// A body opened ahead of its RETR or TOP. Clients that download a maildrop ask for its
/// messages in order, one after the other: the next one is opened on the blocking pool
/// while the client still reads the last, so its RETR finds it open instead of waiting for
/// a blocking thread. At most one per session.
struct Prefetch<R> {
    index: usize,
    opened: async_channel::Receiver<Option<BodyStream<R>>>,
}

/// An action of the session that needs an await.
enum Step {
    Login(Credentials),
    /// RETR or TOP: open message `index` of the snapshot.
    Retrieve(usize),
    /// QUIT: remove the messages at these positions of the snapshot.
    Update {
        deleted: Vec<usize>,
    },
}

impl<S: Store, E: Executor, C: Connection> Protocol<C> for Pop3<S, E> {
    type Session = ServerSession;
    type Step = Step;

    fn session(&mut self) -> &mut ServerSession {
        &mut self.session
    }

    fn next(&mut self, out: &mut Vec<u8>) -> Option<Turn<Step>> {
        loop {
            return Some(Turn::Step(match self.session.poll_action()? {
                Action::Send(bytes) => {
                    out.extend_from_slice(bytes);
                    continue;
                }
                Action::StartTls => return Some(Turn::StartTls),
                Action::Close => return Some(Turn::Close),
                Action::Login(credentials) => Step::Login(credentials.clone()),
                Action::Request(Request::Retrieve { index, .. }) => Step::Retrieve(index),
                Action::Request(Request::Update { deleted }) => Step::Update {
                    deleted: deleted.to_vec(),
                },
            }));
        }
    }

    async fn act(&mut self, step: Step, _: &mut C, _: &mut Vec<u8>) -> io::Result<()> {
        match step {
            Step::Login(credentials) => {
                let result = login(
                    &self.engine,
                    &self.executor,
                    credentials,
                    self.session.peer(),
                );
                match result.await {
                    Ok((opened, maildrop)) => {
                        self.open = Some(opened);
                        self.session.login_result(Ok(maildrop), Instant::now());
                    }
                    Err(e) => self.session.login_result(Err(e), Instant::now()),
                }
            }
            Step::Retrieve(index) => {
                let stream = match self.prefetch.take() {
                    Some(ahead) if ahead.index == index => ahead.opened.recv().await.ok().flatten(),
                    _ => match self.blob(index) {
                        Some(body) => {
                            let engine = self.engine.clone();
                            self.executor
                                .unblock(move || open_body(&engine, body))
                                .await
                        }
                        None => None,
                    },
                };
                match stream {
                    Some(stream) => self.body = Some((index, stream)),
                    None => self.session.message_unavailable(Instant::now()),
                }
            }
            Step::Update { deleted } => {
                let ok = match &self.open {
                    Some(open) => expunge(&self.engine, &self.executor, open, &deleted).await,
                    None => true,
                };
                self.session.update_result(ok, Instant::now());
            }
        }
        Ok(())
    }

    /// Streams a message being retrieved, one chunk per turn, as the session makes room;
    /// otherwise waits for input.
    async fn wait(
        &mut self,
        conn: &mut C,
        reader: &mut Reader,
        _: &mut Vec<u8>,
    ) -> io::Result<bool> {
        match self.body.take() {
            Some((index, stream)) => {
                match stream_turn(&self.executor, &mut self.session, stream).await? {
                    Some(stream) => self.body = Some((index, stream)),
                    None => self.open_ahead(index + 1),
                }
                Ok(true)
            }
            None => reader.turn(conn, &mut self.session).await,
        }
    }
}

impl<S: Store, E: Executor> Pop3<S, E> {
    /// The body of message `index` of the snapshot, and its size.
    fn blob(&self, index: usize) -> Option<(BlobId, u64)> {
        let open = self.open.as_ref()?;
        open.messages
            .get(index)
            .map(|&(_, blob, size)| (blob, size))
    }

    /// Starts opening message `index`, if the snapshot has it, for the RETR or TOP that
    /// likely comes next.
    fn open_ahead(&mut self, index: usize) {
        let Some(body) = self.blob(index) else {
            return;
        };
        let (send, opened) = async_channel::bounded(1);
        let (engine, executor) = (self.engine.clone(), self.executor.clone());
        self.executor.spawn(async move {
            let stream = executor.unblock(move || open_body(&engine, body)).await;
            // The session may have asked for another message, or ended: nobody to tell.
            let _ = send.try_send(stream);
        });
        self.prefetch = Some(Prefetch { index, opened });
    }
}

/// Opens a body for RETR or TOP, on the blocking pool; `None` if it is gone. A body in
/// memory is read at once, while a file is read chunk by chunk as it is streamed.
fn open_body<S: Store>(
    engine: &Engine<S>,
    (blob, size): (BlobId, u64),
) -> Option<BodyStream<S::BlobReader>> {
    let stream = BodyStream::new(engine.store().read_blob(&blob).ok()?, size);
    if stream.reader.is_in_memory() {
        stream.fill().ok()
    } else {
        Some(stream)
    }
}

/// Hands the session the next chunk of the message being retrieved, as it makes room, and
/// reads the one after; `None` once the message is out (or TOP has its lines).
async fn stream_turn<R: BlobRead, E: Executor>(
    executor: &E,
    session: &mut ServerSession,
    mut stream: BodyStream<R>,
) -> io::Result<Option<BodyStream<R>>> {
    if !session.is_retrieving() {
        // TOP had its lines before the end of the message: drop the reader.
        return Ok(None);
    }
    if stream.filled > 0 {
        if !session.wants_message_data() {
            return Ok(Some(stream));
        }
        session.message_data(&stream.chunk[..stream.filled], Instant::now());
        stream.filled = 0;
    }
    if stream.eof {
        session.message_end(Instant::now());
        Ok(None)
    } else if stream.reader.is_in_memory() {
        stream.fill().map(Some)
    } else {
        // Once the +OK line is out, the only honest way to fail is to hang up.
        executor.unblock(move || stream.fill()).await.map(Some)
    }
}

/// Removes the messages marked deleted (UPDATE state, at QUIT); whether it worked.
async fn expunge<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    open: &Open,
    deleted: &[usize],
) -> bool {
    let uids: Vec<u32> = deleted
        .iter()
        .filter_map(|&i| open.messages.get(i).map(|m| m.0))
        .collect();
    if uids.is_empty() {
        return true;
    }
    let (engine, mailbox) = (engine.clone(), open.mailbox);
    executor
        .unblock(move || {
            let expunged = engine.store().expunge(mailbox, &uids);
            engine.changes().notify(mailbox);
            expunged
        })
        .await
        .inspect_err(|e| tracing::error!(error = %e, "POP3 expunge failed"))
        .is_ok()
}

/// Checks the credentials, takes the maildrop lock and snapshots INBOX.
async fn login<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    credentials: Credentials,
    peer: SocketAddr,
) -> Result<(Open, Maildrop), LoginError> {
    let account = log_in(
        engine,
        executor,
        credentials,
        LoginClient {
            ip: peer.ip(),
            protocol: "pop3",
        },
    )
    .await?;
    let lock = engine
        .maildrop_locks
        .try_lock(account.id)
        .ok_or(LoginError::InUse)?;
    let engine = engine.clone();
    executor
        .unblock(move || {
            let store = engine.store();
            let inbox = store
                .mailboxes(account.id)?
                .into_iter()
                .find(|m| m.name == "INBOX")
                .ok_or_else(|| crate::store::StoreError::NotFound("INBOX".into()))?;
            let messages = store.messages(inbox.id)?;
            let maildrop = Maildrop {
                messages: messages
                    .iter()
                    .map(|m| MaildropEntry {
                        size: m.size,
                        uid: uidl(m.uid, inbox.uid_validity),
                    })
                    .collect(),
            };
            let open = Open {
                _lock: lock,
                mailbox: inbox.id,
                messages: messages.iter().map(|m| (m.uid, m.blob, m.size)).collect(),
            };
            Ok((open, maildrop))
        })
        .await
        .map_err(|e: crate::store::StoreError| {
            tracing::error!(error = %e, "cannot open a POP3 maildrop");
            LoginError::Unavailable
        })
}

/// A stored body being read for RETR/TOP: a chunk at a time, off the async threads.
struct BodyStream<R> {
    reader: R,
    chunk: Vec<u8>,
    /// Bytes of `chunk` read and not yet given to the session.
    filled: usize,
    eof: bool,
}

impl<R: BlobRead> BodyStream<R> {
    /// A stream of a body of `size` bytes: a small one is read whole in one chunk of its
    /// size (and one byte more, to see its end in the same read).
    fn new(reader: R, size: u64) -> Self {
        let chunk =
            usize::try_from(size.saturating_add(1)).map_or(BODY_CHUNK, |n| n.min(BODY_CHUNK));
        BodyStream {
            reader,
            chunk: vec![0; chunk],
            filled: 0,
            eof: false,
        }
    }

    /// Reads until the chunk is full or the body ends.
    fn fill(mut self) -> io::Result<Self> {
        while self.filled < self.chunk.len() {
            match self.reader.read(&mut self.chunk[self.filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidl_is_stable_and_printable() {
        assert_eq!(uidl(1, 0x5f00_0000), "000000015F000000");
        assert!(
            uidl(u32::MAX, u32::MAX)
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b))
        );
    }

    #[test]
    fn one_lock_per_account() {
        let locks = MaildropLocks::default();
        let first = locks.try_lock(7).unwrap();
        assert!(locks.try_lock(7).is_none());
        assert!(locks.try_lock(8).is_some());
        drop(first);
        assert!(locks.try_lock(7).is_some());
    }
}
