//! Connections kept open a little while after a message went out, so the next message for
//! the same mail exchanger goes out on the same connection: no new TCP and TLS handshake,
//! no new greeting and `EHLO` (RFC 5321 allows any number of transactions per session).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use proto_smtp::client::ClientSession;

use crate::io::TlsCheck;

/// How long a connection waits for another message before it is dropped; servers keep an
/// idle client for minutes, so it is still there.
const IDLE_FOR: Duration = Duration::from_secs(10);
/// Connections kept at most, over every destination.
const MAX_IDLE: usize = 32;

/// One kept connection, ready for a message.
struct Parked<C> {
    host: String,
    addr: SocketAddr,
    /// How its certificate was checked; `None` when it has no TLS.
    tls: Option<TlsCheck>,
    session: ClientSession,
    conn: C,
    since: Instant,
}

/// The kept connections, shared by the delivery workers.
pub struct Pool<C> {
    idle: Mutex<Vec<Parked<C>>>,
}

impl<C> Default for Pool<C> {
    fn default() -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
        }
    }
}

impl<C> Pool<C> {
    /// A kept connection to `host` at `addr`, with the session on it and how its
    /// certificate was checked (`None`: no TLS).
    pub(crate) fn take(
        &self,
        host: &str,
        addr: SocketAddr,
    ) -> Option<(ClientSession, C, Option<TlsCheck>)> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        idle.retain(|p| now.duration_since(p.since) < IDLE_FOR);
        let at = idle.iter().position(|p| p.host == host && p.addr == addr)?;
        let parked = idle.swap_remove(at);
        Some((parked.session, parked.conn, parked.tls))
    }

    /// Keeps a connection whose session is ready for another message; the oldest goes when
    /// the pool is full.
    pub(crate) fn park(
        &self,
        host: &str,
        addr: SocketAddr,
        tls: Option<TlsCheck>,
        session: ClientSession,
        conn: C,
    ) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        idle.retain(|p| now.duration_since(p.since) < IDLE_FOR);
        if idle.len() >= MAX_IDLE
            && let Some(oldest) = idle
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.since)
                .map(|(i, _)| i)
        {
            idle.swap_remove(oldest);
        }
        idle.push(Parked {
            host: host.to_string(),
            addr,
            tls,
            session,
            conn,
            since: now,
        });
    }

    /// Drops the connections that waited too long (the workers call this when they wake).
    pub(crate) fn expire(&self) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        idle.retain(|p| now.duration_since(p.since) < IDLE_FOR);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proto_core::session::Peer;
    use proto_smtp::client::ClientConfig;

    use super::*;

    fn session(addr: SocketAddr) -> ClientSession {
        let config = Arc::new(ClientConfig::new("mx.test"));
        let peer = Peer {
            addr,
            implicit_tls: false,
        };
        ClientSession::new(config, peer, Instant::now())
    }

    #[test]
    fn a_kept_connection_serves_its_own_host_once() {
        let pool = Pool::<u32>::default();
        let a: SocketAddr = "192.0.2.1:25".parse().unwrap();
        let b: SocketAddr = "192.0.2.2:25".parse().unwrap();
        pool.park("mx.a.example", a, Some(TlsCheck::WebPki), session(a), 1);
        pool.park("mx.b.example", b, None, session(b), 2);
        assert!(pool.take("mx.a.example", b).is_none(), "another address");
        assert!(pool.take("mx.other.example", a).is_none(), "another host");
        let (_, conn, tls) = pool.take("mx.a.example", a).unwrap();
        assert_eq!((conn, tls), (1, Some(TlsCheck::WebPki)));
        assert!(pool.take("mx.a.example", a).is_none(), "taken once");
        let (_, conn, tls) = pool.take("mx.b.example", b).unwrap();
        assert_eq!((conn, tls), (2, None));
    }

    #[test]
    fn the_pool_is_bounded() {
        let pool = Pool::<usize>::default();
        let addr: SocketAddr = "192.0.2.1:25".parse().unwrap();
        for i in 0..(MAX_IDLE + 5) {
            pool.park(&format!("mx{i}.example"), addr, None, session(addr), i);
        }
        assert_eq!(pool.idle.lock().unwrap().len(), MAX_IDLE);
        assert!(
            pool.take("mx0.example", addr).is_none(),
            "the oldest went first"
        );
        assert!(
            pool.take(&format!("mx{}.example", MAX_IDLE + 4), addr)
                .is_some()
        );
    }
}
