//! The outbound queue: mail accepted from authenticated users for other domains, kept durably
//! until every recipient was delivered or given up on.
//!
//! A queued message is its body (a stored blob, shared with the local copies of the same
//! message), its envelope, and one [`Outbound`] state per remote recipient. The store keeps
//! them ([`Store::submit`](crate::store::Store::submit) queues in the same commit that delivers
//! the local copies, so the `250` means both are durable); [`schedule`] decides when a
//! recipient is tried again.

pub(crate) mod bounce;
pub mod breaker;
mod config;
mod connection;
pub mod dane;
pub mod deliver;
mod entries;
mod manage;
pub mod mta_sts;
pub mod pool;
pub mod schedule;
mod shared;
mod transport;
mod worker;

pub use config::{DeliveryConfig, Relay};
pub use deliver::Courier;
pub use shared::{SHARED_IDS, SharedQueue};
pub use transport::{Counted, Transport, TransportCounts};
pub use worker::Delivery;

pub use crate::store::outbound::{
    Body, HeldMessage, Lease, NewHeld, NewQueued, Notify, Outbound, OutboundEnvelope, QueueId,
    QueuedMessage, Ret, State,
};
