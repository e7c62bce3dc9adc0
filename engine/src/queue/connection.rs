//! One outbound SMTP connection, driven to its end: the [`ClientSession`] says what to write
//! and asks for bodies; this reads the bodies from the store, writes, reads the server's
//! replies and handles the TLS handshake. What became of each message comes back as the
//! session's [`Outcome`]s.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Instant;

use proto_smtp::client::{ClientAction, ClientSession, Failure, Message, Outcome};

use super::QueueId;
use super::shared::QueuedBody;
use crate::io::{Executor, Outgoing, ReadOutcome, TlsCheck};
use crate::store::{BlobId, BlobRead, Store};
use crate::{Engine, dkim};

/// Bytes read from a stored body at a time.
const BODY_CHUNK: usize = 16 * 1024;
/// Bytes read from the server at a time.
const READ_CHUNK: usize = 4096;

/// A message to hand over: its envelope, its body (queued message `id`'s, `blob`), and the
/// header fields that go before it (its DKIM signatures).
pub(crate) struct Job {
    pub(crate) message: Message,
    pub(crate) id: QueueId,
    pub(crate) blob: BlobId,
    pub(crate) signature: Vec<u8>,
}

/// What one connection achieved.
pub(crate) struct Exchange {
    /// One per message handed to the session, in order.
    pub(crate) outcomes: Vec<Outcome>,
    /// Why the session ended early, if it did: the messages after the last outcome were not
    /// tried.
    pub(crate) failure: Option<Failure>,
    /// The session, ready for another message, when it was to be kept rather than ended.
    pub(crate) idle: Option<ClientSession>,
    /// The session ran over TLS (from the start or after STARTTLS).
    pub(crate) encrypted: bool,
}

/// How a connection ended that produced no [`Exchange`].
pub(crate) enum Broken {
    /// The TLS handshake failed: the peer may be tried again without TLS.
    Tls(io::Error),
    /// Reading or writing failed in a way the session cannot word (the store, the socket).
    Io(io::Error),
}

/// Drives `session` over `conn`, handing it `jobs` one after the other, then either ends it
/// (`QUIT`) or, with `keep`, hands it back ready for more. `tls` is whom the certificate
/// must name, and how it is checked. A session taken from the pool is ready at once.
pub(crate) async fn exchange<S: Store, E: Executor, C: Outgoing>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    conn: &mut C,
    mut session: ClientSession,
    tls: (&str, &TlsCheck),
    jobs: Vec<Job>,
    keep: bool,
) -> Result<Exchange, Broken> {
    let mut jobs = jobs.into_iter();
    let mut outcomes = Vec::new();
    let mut body: Option<Body> = None;
    if session.is_ready()
        && let Some(job) = jobs.next()
    {
        body = Some(Body::open(engine, executor, job.id, job.blob, job.signature).await?);
        // Ready, so it takes the message.
        let _ = session.send(job.message, Instant::now());
    }
    let mut out = Vec::new();
    let mut buf = vec![0; READ_CHUNK];
    // What was read and the session has not taken yet.
    let mut unread = 0..0;
    loop {
        while let Some(action) = session.poll_action() {
            match action {
                ClientAction::Send(bytes) => out.extend_from_slice(bytes),
                ClientAction::StartTls => {
                    write(conn, &mut out).await.map_err(Broken::Io)?;
                    let (name, check) = tls;
                    conn.start_tls(name, check).await.map_err(Broken::Tls)?;
                    session.tls_started(Instant::now());
                }
                ClientAction::Ready => match jobs.next() {
                    Some(job) => {
                        body = Some(
                            Body::open(engine, executor, job.id, job.blob, job.signature).await?,
                        );
                        // A fresh session is ready for any message; nothing is handed back.
                        let _ = session.send(job.message, Instant::now());
                    }
                    None if keep => {
                        write(conn, &mut out).await.map_err(Broken::Io)?;
                        return Ok(Exchange {
                            outcomes,
                            failure: None,
                            encrypted: session.is_tls(),
                            idle: Some(session),
                        });
                    }
                    None => session.finish(Instant::now()),
                },
                // The body is fed below, as long as the session has room for it.
                ClientAction::WantBody => {}
                ClientAction::Sent(outcome) => {
                    body = None;
                    outcomes.push(outcome);
                }
                ClientAction::Close(failure) => {
                    let failure = failure.cloned();
                    // The last words (QUIT) are best effort: the outcomes are known.
                    let _ = write(conn, &mut out).await;
                    return Ok(Exchange {
                        outcomes,
                        failure,
                        idle: None,
                        encrypted: session.is_tls(),
                    });
                }
            }
        }
        write(conn, &mut out).await.map_err(Broken::Io)?;
        if session.wants_body() {
            if let Some(body) = body.as_mut() {
                body.feed(executor, &mut session).await?;
            }
            continue;
        }
        if !unread.is_empty() {
            // Pipelined replies: the session takes them as it gets to them.
            let input = buf.get(unread.clone()).unwrap_or_default();
            let taken = session.handle_input(input, Instant::now());
            if taken == 0 {
                return Err(Broken::Io(io::Error::other(
                    "the outbound session takes no input and asks for nothing",
                )));
            }
            unread.start += taken;
            continue;
        }
        let now = Instant::now();
        match conn.read(&mut buf, session.poll_timeout()).await {
            Ok(ReadOutcome::Data(n)) => unread = 0..n,
            Ok(ReadOutcome::TimedOut) => session.handle_timeout(now),
            Ok(ReadOutcome::Closed | ReadOutcome::Shutdown) | Err(_) => {
                session.connection_closed(now);
            }
        }
    }
}

async fn write<C: Outgoing>(conn: &mut C, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        conn.write_all(out).await?;
        out.clear();
    }
    Ok(())
}

/// The DKIM-Signature fields of a stored body (see [`dkim::signatures`]), computed on the
/// blocking pool over the body as [`Body`] sends it: without its `Return-Path:` line.
pub(crate) async fn signatures<S: Store, E: Executor>(
    engine: &Arc<Engine<S>>,
    executor: &E,
    (id, blob): (QueueId, BlobId),
    sender: &str,
) -> io::Result<Vec<u8>> {
    let engine = engine.clone();
    let sender = sender.to_owned();
    executor
        .unblock(move || {
            let store = engine.store();
            let mut reader = engine.queued_body(id, &blob).map_err(io::Error::other)?;
            let mut first = vec![0; BODY_CHUNK];
            let n = reader.read(&mut first)?;
            first.truncate(n);
            let mut sent = io::Cursor::new(first);
            sent.set_position(return_path_len(sent.get_ref()) as u64);
            dkim::signatures(&mut sent.chain(reader), &sender, |domain| {
                store.dkim_keys(Some(domain))
            })
        })
        .await
}

/// A stored body on its way out, after the header fields put before it.
struct Body {
    reader: Option<QueuedBody>,
    /// Read (or, at first, put before the body) and not yet taken by the session.
    pending: Vec<u8>,
    taken: usize,
    /// The first chunk was read (and its `Return-Path:` dropped).
    started: bool,
}

impl Body {
    async fn open<S: Store, E: Executor>(
        engine: &Arc<Engine<S>>,
        executor: &E,
        id: QueueId,
        blob: BlobId,
        before: Vec<u8>,
    ) -> Result<Self, Broken> {
        let engine = engine.clone();
        let reader = executor
            .unblock(move || engine.queued_body(id, &blob))
            .await
            .map_err(|e| Broken::Io(io::Error::other(e.to_string())))?;
        Ok(Self {
            reader: Some(reader),
            pending: before,
            taken: 0,
            started: false,
        })
    }

    /// Gives the session as much of the body as it takes now; ends the body at its end.
    async fn feed<E: Executor>(
        &mut self,
        executor: &E,
        session: &mut ClientSession,
    ) -> Result<(), Broken> {
        if self.taken == self.pending.len() {
            self.refill(executor).await.map_err(Broken::Io)?;
            if self.pending.is_empty() {
                session.body_end(Instant::now());
                return Ok(());
            }
        }
        let rest = self.pending.get(self.taken..).unwrap_or_default();
        self.taken += session.body_data(rest, Instant::now());
        Ok(())
    }

    /// Reads the next chunk; empty at the end.
    async fn refill<E: Executor>(&mut self, executor: &E) -> io::Result<()> {
        let Some(mut reader) = self.reader.take() else {
            self.pending.clear();
            self.taken = 0;
            return Ok(());
        };
        let mut chunk = std::mem::take(&mut self.pending);
        chunk.resize(BODY_CHUNK, 0);
        let (reader, chunk, read) = if reader.is_in_memory() {
            let read = reader.read(&mut chunk);
            (reader, chunk, read)
        } else {
            executor
                .unblock(move || {
                    let read = reader.read(&mut chunk);
                    (reader, chunk, read)
                })
                .await
        };
        let n = read?;
        self.pending = chunk;
        self.pending.truncate(n);
        self.taken = 0;
        if n > 0 {
            self.reader = Some(reader);
        }
        if !self.started {
            self.started = true;
            self.taken = return_path_len(&self.pending);
        }
        Ok(())
    }
}

/// The length of the `Return-Path:` line every stored message starts with: it records the
/// envelope sender at final delivery (RFC 5321 4.4) and must not travel on.
pub(crate) fn return_path_len(body: &[u8]) -> usize {
    if !body.starts_with(b"Return-Path:") {
        return 0;
    }
    body.windows(2)
        .position(|w| w == b"\r\n")
        .map_or(0, |end| end + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_return_path_line_is_dropped() {
        let stored = b"Return-Path: <a@b>\r\nReceived: x\r\n\r\nbody";
        assert_eq!(
            &stored[return_path_len(stored)..],
            b"Received: x\r\n\r\nbody"
        );
        assert_eq!(return_path_len(b"Received: x\r\n"), 0);
        assert_eq!(return_path_len(b"Return-Path: <unterminated"), 0);
    }
}
