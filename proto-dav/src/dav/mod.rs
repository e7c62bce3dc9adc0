//! WebDAV (RFC 4918) with CalDAV (RFC 4791) and CardDAV (RFC 6352), as pure functions the
//! engine calls around its storage: request bodies read ([`request`]), paths decoded and
//! encoded ([`href`]), the `Depth` and `Overwrite` headers ([`headers`]), and `207 Multi-Status`
//! bodies written ([`multistatus`]). What a resource holds and which properties it has is
//! the engine's; this module only speaks the wire formats.

pub mod headers;
pub mod href;
pub mod multistatus;
pub mod name;
pub mod request;
pub mod xml;

pub use headers::Depth;
pub use multistatus::{Multistatus, PropStat, Value};
pub use name::{APPLE_ICAL, CALDAV, CALENDARSERVER, CARDDAV, DAV, PropName};
pub use request::{Mkcol, PropChange, PropFind, Recurrences, Report, RequestError};
