//! What several Postern nodes share, kept in Redis: the outbound queue
//! ([`RedisQueue`], the engine's [`SharedQueue`]) and greylisting's triplets
//! ([`RedisGreylist`], see [`greylist`]).
//!
//! ```text
//! postern:queue:next-id       the last entry number handed out
//! postern:queue:msg:N         entry N: envelope and recipient states (JSON, see `record`)
//! postern:queue:body:N        its body
//! postern:queue:all           sorted set: every entry, by creation time
//! postern:queue:due           sorted set: entries with a recipient pending, by when it is due
//! postern:queue:lease:N       the process delivering entry N (expires on its own)
//! postern:queue:origin:O      the entry made from a node's queued message O
//! ```
//!
//! Every change that touches more than one key is a Lua script, which Redis runs atomically:
//! two nodes claiming at once get different messages, and a hand-over repeated after a crash
//! finds the entry it made. A lease expires by itself, so a node that dies mid-delivery holds
//! its message for [`LEASE`] at most; a delivery attempt must fit in it.

mod body;
mod connections;
pub mod greylist;
mod record;

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::mail::date::unix_now;
use engine::queue::{Lease, QueueId, QueuedMessage, SHARED_IDS, SharedQueue};
use engine::store::{BlobRead, StoreError, StoreResult};
use redis::{Commands, Script};

use body::RedisBody;
use connections::{Connections, unavailable};
pub use greylist::RedisGreylist;

/// What every key starts with.
const PREFIX: &str = "postern:queue";
/// How long a node holds a message it delivers.
pub const LEASE: Duration = Duration::from_secs(15 * 60);
/// How long a handed-over message is remembered by its origin: longer than any node takes
/// to retry a hand-over.
const ORIGIN_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Due messages a claim looks at; beyond that many held at once, a node waits its turn.
const CLAIM_SCAN: usize = 100;

/// The outbound queue in Redis, as one node uses it.
pub struct RedisQueue {
    connections: Arc<Connections>,
    /// This node's name, shown with its leases.
    node: String,
    /// What this process's leases hold: the node's name and the process, so a management
    /// command run on the same node never gives back the server's lease.
    holder: String,
    push: Script,
    claim: Script,
    update: Script,
    remove: Script,
}

impl RedisQueue {
    /// The queue at `url` (`redis://[:password@]host:port/db`), with `password` if given,
    /// used as node `node`. Connects on first use: a node may start while Redis is down.
    pub fn new(url: &str, password: Option<&str>, node: &str) -> StoreResult<Self> {
        let started = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Ok(Self {
            connections: Connections::new(url, password)?,
            node: node.to_string(),
            holder: format!("{node}#{}.{started}", std::process::id()),
            push: Script::new(include_str!("scripts/push.lua")),
            claim: Script::new(include_str!("scripts/claim.lua")),
            update: Script::new(include_str!("scripts/update.lua")),
            remove: Script::new(include_str!("scripts/remove.lua")),
        })
    }

    /// Greylisting's triplets in the same Redis.
    pub fn greylist(&self) -> RedisGreylist {
        RedisGreylist::new(self.connections.clone())
    }

    /// This node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether Redis answers: for `postern serve` to say so at start.
    pub fn check(&self) -> StoreResult<()> {
        self.connections
            .run(|conn| redis::cmd("PING").query::<String>(conn))
            .map(drop)
    }

    /// The message stored under entry `n`, with its lease.
    fn read(&self, n: u64) -> StoreResult<Option<QueuedMessage>> {
        let (record, holder, ttl): (Option<String>, Option<String>, i64) =
            self.connections.run(|conn| {
                redis::pipe()
                    .get(key("msg", n))
                    .get(key("lease", n))
                    .pttl(key("lease", n))
                    .query(conn)
            })?;
        let Some(record) = record else {
            return Ok(None);
        };
        let mut message = record::decode(id(n), &record)?;
        message.lease = holder.map(|holder| Lease {
            node: node_of(&holder).to_string(),
            until: unix_now().saturating_add(ttl.max(0) / 1000),
        });
        Ok(Some(message))
    }
}

impl SharedQueue for RedisQueue {
    fn push(&self, message: &QueuedMessage, body: &mut dyn Read) -> StoreResult<QueueId> {
        let mut bytes = Vec::new();
        body.read_to_end(&mut bytes)
            .map_err(|e| StoreError::Io(format!("cannot read a queued message: {e}")))?;
        let origin = format!("{}/{}/{}", self.node, message.id, message.created);
        let due = message
            .next_attempt()
            .map(|at| at.to_string())
            .unwrap_or_default();
        let n: u64 = self.connections.run(|conn| {
            self.push
                .arg(PREFIX)
                .arg(origin)
                .arg(record::encode(message))
                .arg(bytes)
                .arg(message.created)
                .arg(due)
                .arg(ORIGIN_KEPT.as_secs())
                .invoke(conn)
        })?;
        Ok(id(n))
    }

    fn claim(&self, now: i64) -> StoreResult<Option<QueuedMessage>> {
        let lease_ms = u64::try_from(LEASE.as_millis()).unwrap_or(u64::MAX);
        let claimed: Option<(u64, String)> = self.connections.run(|conn| {
            self.claim
                .arg(PREFIX)
                .arg(now)
                .arg(&self.holder)
                .arg(lease_ms)
                .arg(CLAIM_SCAN)
                .invoke(conn)
        })?;
        let Some((n, record)) = claimed else {
            return Ok(None);
        };
        let mut message = record::decode(id(n), &record)?;
        message.lease = Some(Lease {
            node: self.node.clone(),
            until: now.saturating_add(i64::try_from(LEASE.as_secs()).unwrap_or(i64::MAX)),
        });
        Ok(Some(message))
    }

    fn next_due(&self) -> StoreResult<Option<i64>> {
        let first: Vec<(u64, f64)> = self
            .connections
            .run(|conn| conn.zrange_withscores(key_of("due"), 0, 0))?;
        // Scores are Unix seconds, exact in a double.
        Ok(first.first().map(|&(_, at)| at as i64))
    }

    fn update(&self, message: &QueuedMessage) -> StoreResult<()> {
        let n = number(message.id)?;
        let due = message
            .next_attempt()
            .map(|at| at.to_string())
            .unwrap_or_default();
        let found: u8 = self.connections.run(|conn| {
            self.update
                .arg(PREFIX)
                .arg(n)
                .arg(record::encode(message))
                .arg(due)
                .arg(&self.holder)
                .invoke(conn)
        })?;
        if found == 0 {
            return Err(StoreError::NotFound(format!(
                "queued message {}",
                message.id
            )));
        }
        Ok(())
    }

    fn list(&self) -> StoreResult<Vec<QueuedMessage>> {
        let all: Vec<u64> = self
            .connections
            .run(|conn| conn.zrange(key_of("all"), 0, -1))?;
        let mut messages = Vec::with_capacity(all.len());
        for n in all {
            // Gone since the listing: not an error.
            messages.extend(self.read(n)?);
        }
        Ok(messages)
    }

    fn get(&self, id: QueueId) -> StoreResult<Option<QueuedMessage>> {
        match number(id) {
            Ok(n) => self.read(n),
            Err(_) => Ok(None),
        }
    }

    fn remove(&self, id: QueueId) -> StoreResult<bool> {
        let Ok(n) = number(id) else {
            return Ok(false);
        };
        let existed: u8 = self
            .connections
            .run(|conn| self.remove.arg(PREFIX).arg(n).invoke(conn))?;
        Ok(existed == 1)
    }

    fn body(&self, id: QueueId) -> StoreResult<Box<dyn BlobRead>> {
        let n = number(id)?;
        let body_key = key("body", n);
        let mut conn = self.connections.take()?;
        let len: usize = conn.strlen(&body_key).map_err(unavailable)?;
        if len == 0 {
            self.connections.give_back(conn);
            return Err(StoreError::NotFound(format!(
                "the body of queued message {id}"
            )));
        }
        let connections = self.connections.clone();
        Ok(Box::new(RedisBody::new(connections, conn, body_key, len)))
    }
}

/// The queue id of entry `n`.
fn id(n: u64) -> QueueId {
    QueueId(SHARED_IDS.saturating_add(n))
}

/// The entry number of a queue id.
fn number(id: QueueId) -> StoreResult<u64> {
    id.0.checked_sub(SHARED_IDS)
        .ok_or_else(|| StoreError::NotFound(format!("queued message {id}")))
}

fn key(kind: &str, n: u64) -> String {
    format!("{PREFIX}:{kind}:{n}")
}

fn key_of(kind: &str) -> String {
    format!("{PREFIX}:{kind}")
}

/// The node part of a lease's holder.
fn node_of(holder: &str) -> &str {
    holder.rsplit_once('#').map_or(holder, |(node, _)| node)
}
