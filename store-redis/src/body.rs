//! A queued body read from Redis in chunks (`GETRANGE`), so that a large message is never
//! whole in memory and its reading can stream it to the remote server.

use std::io::{self, Read};
use std::sync::Arc;

use engine::store::BlobRead;
use redis::{Commands, Connection};

use crate::connections::Connections;

/// Bytes asked for at a time.
const CHUNK: usize = 64 * 1024;

pub(crate) struct RedisBody {
    connections: Arc<Connections>,
    conn: Option<Connection>,
    key: String,
    /// The body's length when it was opened.
    len: usize,
    /// Bytes read so far.
    at: usize,
    chunk: Vec<u8>,
    taken: usize,
}

impl RedisBody {
    pub(crate) fn new(
        connections: Arc<Connections>,
        conn: Connection,
        key: String,
        len: usize,
    ) -> Self {
        Self {
            connections,
            conn: Some(conn),
            key,
            len,
            at: 0,
            chunk: Vec::new(),
            taken: 0,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| io::Error::other("Redis connection lost"))?;
        let end = self.at.saturating_add(CHUNK).min(self.len);
        let last = isize::try_from(end.saturating_sub(1)).map_err(io::Error::other)?;
        let first = isize::try_from(self.at).map_err(io::Error::other)?;
        let chunk: Vec<u8> = match conn.getrange(&self.key, first, last) {
            Ok(chunk) => chunk,
            Err(error) => {
                // Out of step with its replies, maybe: not kept.
                self.conn = None;
                return Err(io::Error::other(format!("Redis: {error}")));
            }
        };
        if chunk.len() != end - self.at {
            // Removed from the queue while being read: a short body must not go out as if
            // it were whole.
            return Err(io::Error::other(
                "the queued message was removed while being read",
            ));
        }
        self.at = end;
        self.chunk = chunk;
        self.taken = 0;
        Ok(())
    }
}

impl Read for RedisBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.taken == self.chunk.len() {
            if self.at == self.len {
                return Ok(0);
            }
            self.refill()?;
        }
        let rest = self.chunk.get(self.taken..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.taken += n;
        Ok(n)
    }
}

impl BlobRead for RedisBody {
    fn is_in_memory(&self) -> bool {
        false
    }
}

impl Drop for RedisBody {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.connections.give_back(conn);
        }
    }
}
