//! Banned client networks: one record per network in `bans`, read whole when the server
//! starts and written when a ban is added, renewed or lifted.

use crate::typed::{Open, ReadableTable};
use engine::store::{Ban, StoreResult};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{BANS, Decoder, Encoder};

const BAN_RECORD_VERSION: u8 = 1;
const WHAT: &str = "ban record";

pub(crate) fn bans(txn: &ReadTransaction) -> StoreResult<Vec<Ban>> {
    let table = txn.open(BANS).db()?;
    let mut found = Vec::new();
    for row in table.range::<&str>(..).db()? {
        let (network, record) = row.db()?;
        found.push(decode(network.value(), record.value())?);
    }
    Ok(found)
}

pub(crate) struct PutBan(pub(crate) Ban);

impl WriteOp for PutBan {
    type Plan = Ban;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Ban> {
        Ok(self.0)
    }

    fn apply(ban: Ban, batch: &mut Batch<'_>) -> StoreResult<()> {
        let record = encode(&ban);
        batch
            .tables
            .bans
            .insert(ban.network.as_str(), record.as_slice())
            .db()?;
        Ok(())
    }
}

pub(crate) struct RemoveBan(pub(crate) String);

impl WriteOp for RemoveBan {
    type Plan = String;
    type Output = bool;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<String> {
        Ok(self.0)
    }

    fn apply(network: String, batch: &mut Batch<'_>) -> StoreResult<bool> {
        Ok(batch.tables.bans.remove(network.as_str()).db()?.is_some())
    }
}

/// Layout: version, until (i64), count (u32), reason (length-prefixed). The network is the
/// key.
fn encode(ban: &Ban) -> Vec<u8> {
    let mut out = Encoder::new(BAN_RECORD_VERSION);
    out.bytes(&ban.until.to_le_bytes());
    out.u32(ban.count);
    out.str(&ban.reason);
    out.0
}

fn decode(network: &str, bytes: &[u8]) -> StoreResult<Ban> {
    let mut input = Decoder::new(bytes, WHAT, BAN_RECORD_VERSION)?;
    let until = i64::from_le_bytes(input.array()?);
    let count = input.u32()?;
    let reason = input.str()?.to_owned();
    input.finish()?;
    if network.is_empty() {
        return Err(corrupt(WHAT));
    }
    Ok(Ban {
        network: network.to_owned(),
        until,
        count,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_an_error() {
        let ban = Ban {
            network: "192.0.2.7/32".into(),
            until: 1_800_000_000,
            count: 3,
            reason: "failed logins".into(),
        };
        let bytes = encode(&ban);
        assert_eq!(decode(&ban.network, &bytes).unwrap(), ban);
        assert!(decode(&ban.network, &bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&ban.network, &[9]).is_err());
    }
}
