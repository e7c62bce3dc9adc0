//! Sans-IO HTTP/1.1 with WebDAV, CalDAV and CardDAV; filled by the calendar and contacts work.
//!
//! [`http`] is the connection: a sans-IO HTTP/1.1 server session on
//! `proto-core`'s skeleton (heads, bodies, keep-alive, Basic credentials,
//! timeouts), whose main items are re-exported here. See its docs for the
//! driving loop.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

pub mod dav;
pub mod http;

pub use http::{
    Action, BUSY_RESPONSE, Head, LoginError, Method, Peer, Request, Response, ServerConfig,
    ServerSession, Session,
};
