//! API tokens: one record per token in `api_tokens`, keyed by the SHA-256 digest of its
//! secret, so a request's token is found with one lookup and the secret is never stored.

use crate::typed::{Open, ReadableTable};
use engine::store::{ApiToken, StoreResult, TokenScope};
use redb::ReadTransaction;

use crate::error::{DbResultExt, corrupt};
use crate::group_commit::{Batch, WriteOp};
use crate::tables::{API_TOKENS, Decoder, Encoder};

const TOKEN_RECORD_VERSION: u8 = 1;
const WHAT: &str = "API token record";

pub(crate) fn token(txn: &ReadTransaction, digest: &[u8; 32]) -> StoreResult<Option<ApiToken>> {
    let table = txn.open(API_TOKENS).db()?;
    let found = table.get(digest).db()?;
    found
        .map(|record| decode(*digest, record.value()))
        .transpose()
}

pub(crate) fn tokens(txn: &ReadTransaction) -> StoreResult<Vec<ApiToken>> {
    let table = txn.open(API_TOKENS).db()?;
    let mut found = Vec::new();
    for row in table.iter().db()? {
        let (digest, record) = row.db()?;
        found.push(decode(*digest.value(), record.value())?);
    }
    Ok(found)
}

pub(crate) struct PutToken(pub(crate) ApiToken);

impl WriteOp for PutToken {
    type Plan = ApiToken;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<ApiToken> {
        Ok(self.0)
    }

    fn apply(token: ApiToken, batch: &mut Batch<'_>) -> StoreResult<()> {
        let record = encode(&token);
        batch
            .tables
            .api_tokens
            .insert(&token.digest, record.as_slice())
            .db()?;
        Ok(())
    }
}

pub(crate) struct RemoveToken(pub(crate) [u8; 32]);

impl WriteOp for RemoveToken {
    type Plan = [u8; 32];
    type Output = bool;

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<[u8; 32]> {
        Ok(self.0)
    }

    fn apply(digest: [u8; 32], batch: &mut Batch<'_>) -> StoreResult<bool> {
        Ok(batch.tables.api_tokens.remove(&digest).db()?.is_some())
    }
}

/// Layout: version, created (i64), scope (0 admin, 1 user), the user's address (empty for
/// admin), note. The digest is the key.
fn encode(token: &ApiToken) -> Vec<u8> {
    let mut out = Encoder::new(TOKEN_RECORD_VERSION);
    out.bytes(&token.created.to_le_bytes());
    match &token.scope {
        TokenScope::Admin => {
            out.u8(0);
            out.str("");
        }
        TokenScope::User(email) => {
            out.u8(1);
            out.str(email);
        }
    }
    out.str(&token.note);
    out.0
}

fn decode(digest: [u8; 32], bytes: &[u8]) -> StoreResult<ApiToken> {
    let mut input = Decoder::new(bytes, WHAT, TOKEN_RECORD_VERSION)?;
    let created = i64::from_le_bytes(input.array()?);
    let kind = input.u8()?;
    let email = input.str()?.to_owned();
    let scope = match kind {
        0 => TokenScope::Admin,
        1 if !email.is_empty() => TokenScope::User(email),
        _ => return Err(corrupt(WHAT)),
    };
    let note = input.str()?.to_owned();
    input.finish()?;
    Ok(ApiToken {
        digest,
        scope,
        note,
        created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_as_written() {
        for scope in [
            TokenScope::Admin,
            TokenScope::User("ann@example.org".into()),
        ] {
            let token = ApiToken {
                digest: [7; 32],
                scope,
                note: "backup script".into(),
                created: 1_800_000_000,
            };
            assert_eq!(decode([7; 32], &encode(&token)).unwrap(), token);
        }
        assert!(decode([0; 32], &[TOKEN_RECORD_VERSION, 1, 2]).is_err());
        let mut user_without_address = encode(&ApiToken {
            digest: [0; 32],
            scope: TokenScope::Admin,
            note: String::new(),
            created: 0,
        });
        user_without_address[9] = 1;
        assert!(decode([0; 32], &user_without_address).is_err());
    }
}
