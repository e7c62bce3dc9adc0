//! Sans-IO HTTP/1.1 with WebDAV, CalDAV and CardDAV.
//!
//! [`http`] is the connection: a sans-IO HTTP/1.1 server session on
//! `proto-core`'s skeleton (heads, bodies, keep-alive, Basic credentials,
//! timeouts), whose main items are re-exported here. See its docs for the
//! driving loop. [`dav`] is the WebDAV wire format as pure functions: what
//! request bodies ask for, paths, and `207 Multi-Status` bodies; what a
//! resource holds is the caller's.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

pub mod dav;
pub mod http;

pub use http::{
    Action, BUSY_RESPONSE, Head, LoginError, Method, Peer, Request, Response, ServerConfig,
    ServerSession, Session,
};
