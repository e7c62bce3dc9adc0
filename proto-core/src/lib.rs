//! What every Postern protocol session shares, written once: the bounded
//! buffer of received bytes and the command lines in it ([`input`]), and the
//! SASL exchanges of `AUTH` and `AUTHENTICATE` ([`sasl`]).
//!
//! Like the protocol crates built on it, this crate is sans-IO: no runtime,
//! clock, socket or thread. Every buffer is bounded and no input can make it
//! panic.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
#![warn(missing_docs)]

pub mod input;
pub mod sasl;
