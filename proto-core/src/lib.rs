//! What every Postern protocol session shares, written once: the bounded
//! buffer of received bytes and the command lines in it ([`input`]), the
//! SASL exchanges of `AUTH` and `AUTHENTICATE` ([`sasl`]), the buffer of
//! replies ([`output`]), the stages of a connection's life and its error
//! budget ([`lifecycle`]), the verdict on a login ([`login`]), bytes a
//! debug print must not show ([`opaque`]), the calendar dates protocols write
//! ([`calendar`]), and the
//! skeleton that puts them together ([`session`]): what a session hands its
//! runtime ([`session::Action`]), in which order, and when its idle deadline
//! falls.
//!
//! Like the protocol crates built on it, this crate is sans-IO: no runtime,
//! clock, socket or thread; time comes from the caller. Every buffer is
//! bounded and no input can make it panic.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

pub mod calendar;
pub mod input;
pub mod lifecycle;
pub mod login;
pub mod opaque;
pub mod output;
pub mod sasl;
pub mod session;
