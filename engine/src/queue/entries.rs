//! The queue entries of a message from a local user: one from its sender to its remote
//! recipients, and one per domain whose aliases forward some of its local recipients out,
//! from the sender rewritten in that domain (SRS). SMTP and the HTTP send API make them
//! alike.

use std::collections::BTreeMap;

use crate::Engine;
use crate::mail::date::unix_now;
use crate::queue::{NewQueued, Outbound, OutboundEnvelope};
use crate::store::Store;

impl<S: Store> Engine<S> {
    /// The outbound queue entries for a message with `envelope`: its `remote` recipients,
    /// and `forwards`, the addresses (with the local domain that forwards each) local
    /// recipients lead to.
    pub(crate) fn queue_entries(
        &self,
        envelope: &OutboundEnvelope,
        remote: Vec<Outbound>,
        forwards: Vec<(String, Outbound)>,
    ) -> Vec<NewQueued> {
        let sender = envelope.sender.clone();
        let now = unix_now();
        let entry = |sender: String, recipients: Vec<Outbound>| NewQueued {
            created: now,
            envelope: OutboundEnvelope {
                sender,
                ..envelope.clone()
            },
            recipients,
        };
        let mut queued = Vec::new();
        if !remote.is_empty() {
            queued.push(entry(sender.clone(), remote));
        }
        let mut by_domain: BTreeMap<String, Vec<Outbound>> = BTreeMap::new();
        for (via, forward) in forwards {
            by_domain.entry(via).or_default().push(forward);
        }
        for (via, recipients) in by_domain {
            let rewritten = match self.srs() {
                Some(srs) => srs.forward(&sender, &via, now),
                None => sender.clone(),
            };
            queued.push(entry(rewritten, recipients));
        }
        queued
    }
}
