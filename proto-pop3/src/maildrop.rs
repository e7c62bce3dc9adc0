//! The maildrop snapshot a session works on, and the deletion marks the
//! client sets on it until `QUIT`.

/// The messages of a maildrop when the user logged in, in order: message
/// number `n` is `messages[n - 1]`. POP3 numbers never change during a
/// session, so the engine hands over this snapshot once and the session keeps
/// it to the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maildrop {
    /// The messages, oldest first.
    pub messages: Vec<MaildropEntry>,
}

/// One message of a [`Maildrop`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaildropEntry {
    /// Size in octets with CRLF line ends, as `LIST` and `STAT` report it.
    pub size: u64,
    /// The `UIDL` identifier: 1 to 70 characters in `0x21..=0x7E`, stable
    /// across sessions (RFC 1939 7). Characters outside that range are dropped
    /// and longer identifiers cut, so a bad value cannot break the response.
    pub uid: String,
}

/// Longest `UIDL` identifier (RFC 1939 7).
const UID_MAX: usize = 70;

/// Why a message number names no message the client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Missing {
    /// Out of range: `-ERR no such message`.
    NoSuchMessage,
    /// Marked deleted: `-ERR message N already deleted`.
    Deleted,
}

/// The TRANSACTION state's view of the maildrop.
#[derive(Debug)]
pub(crate) struct Mailbox {
    messages: Vec<MaildropEntry>,
    deleted: Vec<bool>,
    /// Messages not marked deleted, and their total size.
    visible: (usize, u64),
}

impl Mailbox {
    pub(crate) fn new(maildrop: Maildrop) -> Self {
        let mut messages = maildrop.messages;
        for entry in &mut messages {
            entry.uid.retain(|c| c.is_ascii_graphic());
            entry.uid.truncate(UID_MAX);
        }
        let mut mailbox = Self {
            deleted: vec![false; messages.len()],
            messages,
            visible: (0, 0),
        };
        mailbox.reset();
        mailbox
    }

    /// Message number `msg` (1-based) as a 0-based index with its entry.
    pub(crate) fn find(&self, msg: u64) -> Result<(usize, &MaildropEntry), Missing> {
        let index = usize::try_from(msg)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .ok_or(Missing::NoSuchMessage)?;
        let entry = self.messages.get(index).ok_or(Missing::NoSuchMessage)?;
        match self.deleted.get(index) {
            Some(true) => Err(Missing::Deleted),
            _ => Ok((index, entry)),
        }
    }

    /// The entry at a 0-based index, unless it is marked deleted.
    pub(crate) fn visible(&self, index: usize) -> Option<&MaildropEntry> {
        match self.deleted.get(index) {
            Some(true) => None,
            _ => self.messages.get(index),
        }
    }

    /// All messages, deleted or not: the bound for walking numbers.
    pub(crate) fn len(&self) -> usize {
        self.messages.len()
    }

    /// Count and total size of the messages not marked deleted.
    pub(crate) fn stat(&self) -> (usize, u64) {
        self.visible
    }

    /// Marks the message at a 0-based index deleted.
    pub(crate) fn delete(&mut self, index: usize) {
        if let (Some(mark @ false), Some(entry)) =
            (self.deleted.get_mut(index), self.messages.get(index))
        {
            *mark = true;
            self.visible.0 = self.visible.0.saturating_sub(1);
            self.visible.1 = self.visible.1.saturating_sub(entry.size);
        }
    }

    /// Unmarks every message (`RSET`).
    pub(crate) fn reset(&mut self) {
        self.deleted.fill(false);
        let size = self
            .messages
            .iter()
            .fold(0u64, |sum, entry| sum.saturating_add(entry.size));
        self.visible = (self.messages.len(), size);
    }

    /// 0-based indexes of the messages marked deleted, ascending.
    pub(crate) fn deleted(&self) -> Vec<usize> {
        let marked = self
            .deleted
            .iter()
            .enumerate()
            .filter(|(_, marked)| **marked);
        marked.map(|(index, _)| index).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(sizes: &[u64]) -> Mailbox {
        let messages = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| MaildropEntry {
                size,
                uid: format!("uid-{i}"),
            })
            .collect();
        Mailbox::new(Maildrop { messages })
    }

    #[test]
    fn numbers_are_one_based() {
        let mb = mailbox(&[10, 20]);
        assert_eq!(mb.find(1).map(|(i, e)| (i, e.size)), Ok((0, 10)));
        assert_eq!(mb.find(2).map(|(i, _)| i), Ok(1));
        assert_eq!(mb.find(0).err(), Some(Missing::NoSuchMessage));
        assert_eq!(mb.find(3).err(), Some(Missing::NoSuchMessage));
        assert_eq!(mb.find(u64::MAX).err(), Some(Missing::NoSuchMessage));
    }

    #[test]
    fn deletion_marks() {
        let mut mb = mailbox(&[10, 20, 30]);
        assert_eq!(mb.stat(), (3, 60));
        mb.delete(1);
        mb.delete(1);
        mb.delete(7);
        assert_eq!(mb.stat(), (2, 40));
        assert_eq!(mb.find(2).err(), Some(Missing::Deleted));
        assert!(mb.visible(1).is_none());
        mb.delete(0);
        assert_eq!(mb.deleted(), [0, 1]);
        mb.reset();
        assert_eq!(mb.stat(), (3, 60));
        assert!(mb.deleted().is_empty());
    }

    #[test]
    fn uids_are_cleaned() {
        let mb = Mailbox::new(Maildrop {
            messages: vec![MaildropEntry {
                size: 1,
                uid: format!("a b\r\n{}", "x".repeat(100)),
            }],
        });
        let uid = &mb.visible(0).unwrap().uid;
        assert!(uid.starts_with("abxx"));
        assert_eq!(uid.len(), UID_MAX);
    }
}
