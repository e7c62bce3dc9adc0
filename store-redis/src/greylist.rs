//! Greylisting's triplets in Redis, one hash per triplet that expires by itself:
//!
//! ```text
//! postern:greylist:NETWORK|SENDER|RECIPIENT   first: when first seen; passed: 1 once through
//! ```
//!
//! A Lua script decides and records each message atomically, so two MX nodes receiving the
//! same sender's retries at once agree.

use std::sync::Arc;

use engine::store::StoreResult;
use engine::trust::greylist::{GreylistConfig, Greylisting, SharedGreylist, Triplet};
use redis::Script;

use crate::connections::Connections;

/// What every key starts with.
const PREFIX: &str = "postern:greylist";

/// Greylisting's triplets shared by the nodes of one Redis.
pub struct RedisGreylist {
    connections: Arc<Connections>,
    decide: Script,
}

impl RedisGreylist {
    pub(crate) fn new(connections: Arc<Connections>) -> Self {
        RedisGreylist {
            connections,
            decide: Script::new(include_str!("scripts/greylist.lua")),
        }
    }
}

impl SharedGreylist for RedisGreylist {
    fn check(
        &self,
        triplet: &Triplet,
        now: i64,
        config: &GreylistConfig,
    ) -> StoreResult<Greylisting> {
        let key = format!(
            "{PREFIX}:{}|{}|{}",
            triplet.network, triplet.sender, triplet.recipient
        );
        let wait: i64 = self.connections.run(|conn| {
            self.decide
                .key(key)
                .arg(now)
                .arg(config.min_delay.max(0))
                .arg(config.max_age.max(1))
                .invoke(conn)
        })?;
        Ok(match wait {
            0 => Greylisting::Pass,
            seconds => Greylisting::Wait(seconds),
        })
    }
}
