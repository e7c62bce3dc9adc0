//! What a domain's MX records mean for delivery.

/// The exchange of a null MX (RFC 7505): the root, which names no host.
pub(super) const ROOT: &str = ".";

/// One mail exchanger of a domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxHost {
    /// Lower is tried first.
    pub preference: u16,
    /// The exchanger's name, normalised ([`normalize_name`](super::normalize_name)).
    pub host: String,
}

/// Where a domain's mail goes, as its MX records say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MxAnswer {
    /// These hosts, most preferred first; hosts of equal preference keep the order of the
    /// answer. Never empty.
    Hosts(Vec<MxHost>),
    /// The domain exists but has no MX record (NOERROR without data): its mail goes to the
    /// domain's own addresses, the "implicit MX" of RFC 5321 §5.1.
    NoMx,
    /// The domain does not exist (NXDOMAIN): mail to it cannot be delivered at all.
    NxDomain,
    /// The domain accepts no mail (RFC 7505): its only MX record names the root `.`.
    NullMx,
}

impl MxAnswer {
    /// The answer a set of MX records gives. A root exchange alone is a null MX; next to
    /// other records (which RFC 7505 forbids) it is ignored, as it names no host to try.
    pub(crate) fn from_records(mut records: Vec<MxHost>) -> MxAnswer {
        if records.is_empty() {
            return MxAnswer::NoMx;
        }
        records.retain(|record| record.host != ROOT);
        if records.is_empty() {
            return MxAnswer::NullMx;
        }
        // Stable: equal preferences keep the answer's order, which servers already vary.
        records.sort_by_key(|record| record.preference);
        MxAnswer::Hosts(records)
    }
}

/// An answer and whether DNSSEC vouches for it. DANE (RFC 7672) trusts TLSA records, and
/// the MX and address records that lead to them, only when they are secure: an attacker
/// who can forge an unsigned answer could otherwise forge the TLSA records as well.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secured<T> {
    pub value: T,
    /// Validated from the DNS root's trust anchor down (Proof::Secure in hickory's words),
    /// or given by the operator in `[dns.static]`.
    pub secure: bool,
}

impl<T> Secured<T> {
    pub fn new(value: T, secure: bool) -> Self {
        Secured { value, secure }
    }
}
