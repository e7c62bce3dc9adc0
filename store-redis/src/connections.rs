//! Connections to Redis, kept for reuse: each call takes one, and gives it back unless it
//! failed (a connection that timed out may be out of step with its replies).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use engine::store::{StoreError, StoreResult};
use redis::{Client, Connection, IntoConnectionInfo, RedisResult};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one reply may take. Bodies come in chunks, so no reply is large.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections kept at most.
const MAX_IDLE: usize = 16;

pub(crate) struct Connections {
    client: Client,
    idle: Mutex<Vec<Connection>>,
}

impl Connections {
    /// Checks `url` without connecting: a node starts while Redis is down, and waits.
    /// `password`, when given, is used over one in the URL.
    pub(crate) fn new(url: &str, password: Option<&str>) -> StoreResult<Arc<Self>> {
        let bad = |e: redis::RedisError| StoreError::Io(format!("Redis URL {url:?}: {e}"));
        let mut info = url.into_connection_info().map_err(bad)?;
        if let Some(password) = password {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = Client::open(info).map_err(bad)?;
        Ok(Arc::new(Self {
            client,
            idle: Mutex::new(Vec::new()),
        }))
    }

    /// An idle connection or a new one.
    pub(crate) fn take(&self) -> StoreResult<Connection> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        if let Some(conn) = idle {
            return Ok(conn);
        }
        let connect = || -> RedisResult<Connection> {
            let conn = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
            conn.set_read_timeout(Some(IO_TIMEOUT))?;
            conn.set_write_timeout(Some(IO_TIMEOUT))?;
            Ok(conn)
        };
        connect().map_err(unavailable)
    }

    /// Keeps a connection that did its last call well.
    pub(crate) fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// Runs `call` on a connection.
    pub(crate) fn run<T>(
        &self,
        call: impl FnOnce(&mut Connection) -> RedisResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.take()?;
        let result = call(&mut conn).map_err(unavailable)?;
        self.give_back(conn);
        Ok(result)
    }
}

/// A Redis failure, as the store words one.
pub(crate) fn unavailable(error: redis::RedisError) -> StoreError {
    StoreError::Io(format!("Redis: {error}"))
}
