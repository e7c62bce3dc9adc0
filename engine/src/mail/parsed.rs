//! A mail-parser [`Message`] that is dropped without recursion.
//!
//! mail-parser parses encapsulated messages without recursing, but nests them as values,
//! and dropping them recurses once per level: a 3 MB message of 100 000 nested
//! `message/rfc822` parts overflows a 2 MiB thread stack and aborts the process. Every
//! parse in this module is held in a [`Parsed`], whose drop takes the nested messages
//! apart one level at a time.

use std::ops::Deref;

use mail_parser::{Message, MessagePart, PartType};

/// Owns a parse; see the module documentation.
pub(super) struct Parsed<'x>(Message<'x>);

impl<'x> Parsed<'x> {
    pub(super) fn new(message: Message<'x>) -> Self {
        Parsed(message)
    }

    /// The top-level part's header fields and offsets, without its body.
    pub(super) fn into_header(mut self) -> Option<MessagePart<'x>> {
        let root = self.0.parts.first_mut()?;
        Some(MessagePart {
            headers: std::mem::take(&mut root.headers),
            offset_header: root.offset_header,
            offset_body: root.offset_body,
            offset_end: root.offset_end,
            ..MessagePart::default()
        })
    }
}

impl<'x> Deref for Parsed<'x> {
    type Target = Message<'x>;

    fn deref(&self) -> &Message<'x> {
        &self.0
    }
}

impl Drop for Parsed<'_> {
    fn drop(&mut self) {
        let mut pending = vec![std::mem::take(&mut self.0)];
        while let Some(mut message) = pending.pop() {
            for part in &mut message.parts {
                if let PartType::Message(inner) = std::mem::take(&mut part.body) {
                    pending.push(inner);
                }
            }
        }
    }
}
