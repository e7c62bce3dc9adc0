//! How long mail is kept in a domain's accounts, in `domain_retention`: domain → seconds.
//! A domain without a row keeps mail until its users delete it.

use crate::typed::{Open, ReadableTable};
use engine::store::StoreResult;
use redb::ReadTransaction;

use crate::error::DbResultExt;
use crate::group_commit::{Batch, WriteOp};
use crate::tables::DOMAIN_RETENTION;

pub(crate) fn all(txn: &ReadTransaction) -> StoreResult<Vec<(String, i64)>> {
    let table = txn.open(DOMAIN_RETENTION).db()?;
    let mut found = Vec::new();
    for row in table.range::<&str>(..).db()? {
        let (domain, seconds) = row.db()?;
        found.push((domain.value().to_owned(), seconds.value()));
    }
    Ok(found)
}

/// Sets a domain's retention, or removes it (`None`).
pub(crate) struct Set {
    pub(crate) domain: String,
    pub(crate) seconds: Option<i64>,
}

impl WriteOp for Set {
    type Plan = Set;
    type Output = ();

    fn prepare(self, _: &mut Batch<'_>) -> StoreResult<Set> {
        Ok(self)
    }

    fn apply(set: Set, batch: &mut Batch<'_>) -> StoreResult<()> {
        let table = &mut batch.tables.domain_retention;
        match set.seconds {
            Some(seconds) => table.insert(set.domain.as_str(), seconds).db()?,
            None => table.remove(set.domain.as_str()).db()?,
        };
        Ok(())
    }
}
