//! Tests of the resolver: static answers and the overlay without any network, then the
//! network resolver against a name server of the test's own on 127.0.0.1.

mod network;
mod server;
mod table;

use super::MxHost;

pub(super) fn host(preference: u16, host: &str) -> MxHost {
    MxHost {
        preference,
        host: host.into(),
    }
}
