//! Sharing a calendar or address book with another user of the server (`postern share`):
//! the collection then shows in their home as `OWNER:NAME`, read-only or read-write.

use crate::store::dav::{Access, CollectionKind};
use crate::store::{Account, Store, StoreError};
use crate::{Engine, Error};

/// One share, as `postern share list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLine {
    pub kind: CollectionKind,
    pub collection: String,
    pub sharee: String,
    pub access: Access,
}

impl<S: Store> Engine<S> {
    /// Gives `sharee` `access` to `owner`'s collection `name` of `kind`, or (`None`) takes
    /// it away.
    pub fn share(
        &self,
        owner: &str,
        kind: CollectionKind,
        name: &str,
        sharee: &str,
        access: Option<Access>,
    ) -> Result<(), Error> {
        let owner = self.existing_account(owner)?;
        let sharee = self.existing_account(sharee)?;
        if owner.id == sharee.id {
            return Err(Error::Invalid(
                "a user cannot share a collection with themselves".into(),
            ));
        }
        let collection = self
            .own_collections(owner.id, kind)?
            .into_iter()
            .find(|collection| collection.name == name)
            .ok_or_else(|| {
                StoreError::NotFound(format!("{} {name} of {}", kind_name(kind), owner.email))
            })?;
        Ok(self.store().set_share(collection.id, sharee.id, access)?)
    }

    /// Every share of `owner`'s collections.
    pub fn shares(&self, owner: &str) -> Result<Vec<ShareLine>, Error> {
        let owner = self.existing_account(owner)?;
        let mut lines = Vec::new();
        for kind in [CollectionKind::Calendar, CollectionKind::AddressBook] {
            for collection in self.store().collections(owner.id, kind)? {
                for (sharee, access) in self.store().shares_of(collection.id)? {
                    if let Some(sharee) = self.store().account_by_id(sharee)? {
                        lines.push(ShareLine {
                            kind,
                            collection: collection.name.clone(),
                            sharee: sharee.email,
                            access,
                        });
                    }
                }
            }
        }
        Ok(lines)
    }

    pub(crate) fn existing_account(&self, email: &str) -> Result<Account, Error> {
        let address = crate::address::Address::parse(email)?;
        self.store()
            .account(address.as_str())?
            .ok_or_else(|| StoreError::NotFound(format!("the account {email}")).into())
    }
}

/// `calendar` or `address book`.
pub fn kind_name(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Calendar => "calendar",
        CollectionKind::AddressBook => "address book",
    }
}
