//! What a listening socket serves, and the one entry point runtimes call for every accepted
//! connection, whatever its protocol.

use std::any::Any;
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures_lite::FutureExt;
use proto_core::session::Peer;

use crate::Engine;
use crate::io::{Connection, Executor};
use crate::store::Store;

/// A protocol and its session configuration.
#[derive(Clone)]
pub enum Protocol {
    Smtp(Arc<proto_smtp::ServerConfig>),
    Pop3(Arc<proto_pop3::ServerConfig>),
    Imap(Arc<proto_imap::ServerConfig>),
    Http(Arc<proto_dav::ServerConfig>),
    ManageSieve(Arc<proto_managesieve::ServerConfig>),
}

/// How connections accepted on one socket are served.
#[derive(Clone)]
pub struct Listener {
    pub protocol: Protocol,
    /// Connections start with a TLS handshake (SMTPS, IMAPS, POP3S, HTTPS) instead of offering
    /// STARTTLS.
    pub implicit_tls: bool,
    /// The TLS configuration handshakes on this listener use; `None`: no TLS.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// This listener's places for each source of connections.
    pub per_source: Arc<crate::admission::PerSource>,
}

impl Protocol {
    /// Its name in metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::Smtp(_) => "smtp",
            Protocol::Pop3(_) => "pop3",
            Protocol::Imap(_) => "imap",
            Protocol::Http(_) => "http",
            Protocol::ManageSieve(_) => "managesieve",
        }
    }
}

impl Listener {
    /// A listener serving `protocol` with `tls`, at most `per_source` connections from one
    /// source at once.
    pub fn new(
        protocol: Protocol,
        implicit_tls: bool,
        tls: Option<Arc<rustls::ServerConfig>>,
        per_source: usize,
    ) -> Self {
        Listener {
            protocol,
            implicit_tls,
            tls,
            per_source: crate::admission::PerSource::new(per_source),
        }
    }

    /// What a client is told when it cannot be served now: its protocol's "try again
    /// later". `None` on implicit-TLS listeners, where nothing can be said before a
    /// handshake that is not worth its cost then.
    pub fn busy_greeting(&self) -> Option<&'static [u8]> {
        if self.implicit_tls {
            return None;
        }
        Some(match self.protocol {
            Protocol::Smtp(_) => proto_smtp::BUSY_GREETING,
            Protocol::Pop3(_) => proto_pop3::BUSY_GREETING,
            Protocol::Imap(_) => proto_imap::BUSY_GREETING,
            Protocol::Http(_) => proto_dav::BUSY_RESPONSE,
            Protocol::ManageSieve(_) => proto_managesieve::BUSY_GREETING,
        })
    }
}

/// A bound listening socket and how to serve it; runtimes take these from the server.
pub struct ListenSocket {
    pub socket: std::net::TcpListener,
    pub listener: Listener,
}

/// Serves an accepted connection to its end, with implicit TLS first where the listener
/// has it, then lets go of `held` (the places it took); how it ended is logged. Runtimes
/// spawn this for every connection, so this future is what a connection costs while it
/// waits: it is a block over its arguments, not an `async fn`, whose future would keep each
/// of them twice.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn's future keeps its arguments twice"
)]
pub fn accepted<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    listener: Arc<Listener>,
    mut conn: C,
    peer: SocketAddr,
    held: impl Send + 'static,
) -> impl Future<Output = ()> + Send + 'static
where
    S: Store,
    C: Connection + 'static,
    E: Executor,
{
    async move {
        let served = async {
            if listener.implicit_tls {
                conn.start_tls().await?;
            }
            serve(engine, executor, &listener, peer, &mut conn).await
        };
        if let Err(e) = served.await {
            tracing::debug!(%peer, error = %e, "connection ended with an error");
        }
        drop(held);
    }
}

/// Serves one connection to its end. Implicit TLS must already be in place.
///
/// A panic anywhere in the session's work (its blocking work included: both runtimes pass
/// such panics on to the task that awaits the work) ends this session with an error and
/// a log line naming the peer; the server and every other session go on.
pub async fn serve<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    listener: &Listener,
    peer: SocketAddr,
    conn: &mut C,
) -> io::Result<()>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let session = AssertUnwindSafe(serve_protocol(engine, executor, listener, peer, conn));
    match session.catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let panic = panic_message(&*panic);
            tracing::error!(%peer, panic, "session ended by an internal error");
            Err(io::Error::other("the session ended on an internal error"))
        }
    }
}

/// The message a panic was raised with, when it has one.
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("")
}

async fn serve_protocol<S, C, E>(
    engine: Arc<Engine<S>>,
    executor: E,
    listener: &Listener,
    peer: SocketAddr,
    conn: &mut C,
) -> io::Result<()>
where
    S: Store,
    C: Connection,
    E: Executor,
{
    let peer = Peer {
        addr: peer,
        implicit_tls: listener.implicit_tls,
    };
    let _counted = engine.metrics().connection(listener.protocol.name());
    // Each protocol's future is boxed, so that a connection's task holds the one it runs and
    // not room for the largest of the three (an idle IMAP connection carried SMTP's). Boxed
    // as `dyn Future + Send` here, where the generic types are still known: rustc cannot
    // otherwise prove the large IMAP future `Send` for every lifetime when the runtime spawns
    // it (the "not general enough" limitation).
    let serving: Pin<Box<dyn Future<Output = io::Result<()>> + Send + '_>> =
        match &listener.protocol {
            Protocol::Smtp(config) => Box::pin(crate::smtp::serve(
                engine,
                executor,
                config.clone(),
                peer,
                conn,
            )),
            Protocol::Pop3(config) => Box::pin(crate::pop3::serve(
                engine,
                executor,
                config.clone(),
                peer,
                conn,
            )),
            Protocol::Imap(config) => Box::pin(crate::imap::serve::serve(
                engine,
                executor,
                config.clone(),
                peer,
                conn,
            )),
            Protocol::Http(config) => Box::pin(crate::http::serve(
                engine,
                executor,
                config.clone(),
                peer,
                conn,
            )),
            Protocol::ManageSieve(config) => Box::pin(crate::managesieve::serve(
                engine,
                executor,
                config.clone(),
                peer,
                conn,
            )),
        };
    serving.await
}
