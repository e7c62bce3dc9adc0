//! Sans-IO HTTP/1.1 with WebDAV, CalDAV and CardDAV; filled by the calendar and contacts work.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
