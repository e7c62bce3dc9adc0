//! The one loop every protocol driver runs: carry out what the session asks until it waits,
//! hand its output to the connection, then wait for what it waits on. A protocol supplies
//! only what is its own ([`Protocol`]): which of the session's actions need an await, how
//! to carry those out, and what to wait on.
//!
//! Most connections spend most of their life waiting (an IMAP client in IDLE for hours), so
//! what a waiting connection holds is kept to the session's own state and the wait: the
//! work between two waits (a command's state, a TLS handshake, a write) runs in a future of
//! its own, allocated while it runs, and the session gives back its buffers before the
//! wait ([`Session::rest`]).

use std::io;
use std::time::Instant;

use proto_core::session::Session;

use crate::io::{Connection, Reader, flush};

/// Output the loop lets accumulate before it hands it to the connection mid-turn.
const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// What a session's next action asks of the loop.
pub(crate) enum Turn<S> {
    /// Upgrade the connection to TLS, once what was written is out.
    StartTls,
    /// Close the connection, once what was written is out.
    Close,
    /// A protocol step that needs an await: a decision, storage, streaming.
    Step(S),
}

/// A protocol's part of the loop.
pub(crate) trait Protocol<C: Connection>: Send {
    type Session: Session + Send;
    /// An action of the session, copied out of it so that nothing borrowed from the
    /// session lives across an await.
    type Step: Send;

    fn session(&mut self) -> &mut Self::Session;

    /// The session's next action that needs the loop, if any. Output goes into `out`, and
    /// actions that need no await (body chunks into a spool) are carried out on the way.
    fn next(&mut self, out: &mut Vec<u8>) -> Option<Turn<Self::Step>>;

    /// Carries out one step; it may write to the connection itself (FETCH streams).
    fn act(
        &mut self,
        step: Self::Step,
        conn: &mut C,
        out: &mut Vec<u8>,
    ) -> impl Future<Output = io::Result<()>> + Send;

    /// Waits for what the session waits on (input, a message to stream, a mailbox change);
    /// `false` once the peer has gone.
    fn wait(
        &mut self,
        conn: &mut C,
        reader: &mut Reader,
        out: &mut Vec<u8>,
    ) -> impl Future<Output = io::Result<bool>> + Send;
}

/// Serves one connection with `protocol` to its end. Both are moved into the returned
/// future, which is the connection's whole state: written as a block over them, not as an
/// `async fn`, whose future would keep each argument twice (as passed, and as bound).
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn's future keeps its arguments twice"
)]
pub(crate) fn drive<C: Connection, P: Protocol<C>>(
    mut protocol: P,
    mut conn: C,
) -> impl Future<Output = io::Result<()>> + Send {
    async move {
        let mut out = Vec::new();
        let mut reader = Reader::default();
        loop {
            if !Box::pin(work(&mut protocol, &mut conn, &mut out)).await? {
                return Ok(());
            }
            protocol.session().rest();
            out = Vec::new();
            if !protocol.wait(&mut conn, &mut reader, &mut out).await? {
                return Ok(());
            }
        }
    }
}

/// Carries out what the session asks until it waits for its peer, and writes what it said;
/// `false` once the session has closed.
async fn work<C: Connection, P: Protocol<C>>(
    protocol: &mut P,
    conn: &mut C,
    out: &mut Vec<u8>,
) -> io::Result<bool> {
    while let Some(turn) = protocol.next(out) {
        match turn {
            Turn::StartTls => {
                flush(conn, out).await?;
                conn.start_tls().await?;
                protocol.session().tls_started(Instant::now());
            }
            Turn::Close => {
                flush(conn, out).await?;
                // The session has said its last word; a peer gone by now changes nothing.
                let _ = conn.close().await;
                return Ok(false);
            }
            Turn::Step(step) => protocol.act(step, conn, out).await?,
        }
        if out.len() >= OUTPUT_HIGH_WATER {
            flush(conn, out).await?;
        }
    }
    flush(conn, out).await?;
    Ok(!protocol.session().is_closed())
}
