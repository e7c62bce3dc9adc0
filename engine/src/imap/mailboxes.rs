//! Commands about mailboxes as a whole: LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE),
//! LSUB, STATUS, CREATE, DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE.
//!
//! Names are stored as UTF-8 with `/` as the hierarchy delimiter. On the wire they are
//! modified UTF-7 unless the client enabled IMAP4rev2 (or UTF8=ACCEPT), see [`Names`].

use std::collections::{BTreeMap, BTreeSet};

use proto_imap::{
    Data, KnownAttr, ListCommand, ListExtended, ListItem, ListReturn, ListSelect,
    Mailbox as WireName, MailboxAttr, PlainCode, StatusItem,
};

use crate::imap::reply::Reply;
use crate::store::{AccountId, FLAG_DELETED, FLAG_SEEN, Mailbox, SpecialUse, Store, StoreError};

/// The hierarchy delimiter.
pub const DELIMITER: char = '/';

/// Turns wire names into stored names and back.
#[derive(Clone, Copy, Debug)]
pub struct Names {
    /// The client speaks UTF-8 names (IMAP4rev2 or UTF8=ACCEPT enabled).
    pub utf8: bool,
}

impl Names {
    /// The stored name for a wire name; `None` when it is not valid in the client's encoding.
    pub fn decode(self, name: &WireName<'_>) -> Option<String> {
        match name {
            WireName::Inbox => Some("INBOX".into()),
            WireName::Other(bytes) if self.utf8 => {
                std::str::from_utf8(bytes).ok().map(str::to_string)
            }
            WireName::Other(bytes) => proto_imap::mailbox::decode_utf7(bytes),
        }
    }

    /// The wire name for a stored name.
    pub fn encode(self, name: &str) -> WireName<'static> {
        if self.utf8 {
            WireName::new(name.as_bytes().to_vec())
        } else {
            WireName::new(proto_imap::mailbox::encode_utf7(name).into_bytes())
        }
    }

    fn decode_pattern(self, pattern: &[u8]) -> Option<String> {
        if self.utf8 {
            std::str::from_utf8(pattern).ok().map(str::to_string)
        } else {
            proto_imap::mailbox::decode_utf7(pattern)
        }
    }
}

/// Finds a mailbox of the account by stored name (`INBOX` in any case).
pub fn find<S: Store>(
    store: &S,
    account: AccountId,
    name: &str,
) -> Result<Option<Mailbox>, StoreError> {
    Ok(store
        .mailboxes(account)?
        .into_iter()
        .find(|m| m.name == name || (m.name == "INBOX" && name.eq_ignore_ascii_case("INBOX"))))
}

/// `LIST` (all forms) and `LSUB`; `append_limit` answers `RETURN (STATUS (APPENDLIMIT))`.
pub fn list<S: Store>(
    store: &S,
    account: AccountId,
    command: &ListCommand<'_>,
    lsub: bool,
    names: Names,
    append_limit: u32,
) -> Result<Reply, StoreError> {
    let reference = names.decode(&command.reference);
    let patterns: Option<Vec<String>> = command
        .patterns
        .iter()
        .map(|raw| names.decode_pattern(raw))
        .collect();
    let verb = if lsub { "LSUB" } else { "LIST" };
    let (Some(reference), Some(patterns)) = (reference, patterns) else {
        // A pattern that is not modified UTF-7 matches no mailbox: nothing to list, no
        // error (Dovecot answers the same).
        return Ok(Reply::ok(format!("{verb} completed")));
    };
    if patterns.iter().all(String::is_empty) && !lsub {
        return Ok(hierarchy_root());
    }
    let subscribed_only = lsub || command.selection.contains(&ListSelect::Subscribed);
    let special_only = command.selection.contains(&ListSelect::SpecialUse);
    let return_subscribed = subscribed_only || command.returns.contains(&ListReturn::Subscribed);
    let status_items = command.returns.iter().find_map(|r| match r {
        ListReturn::Status(items) => Some(items.clone()),
        _ => None,
    });

    let mailboxes = store.mailboxes(account)?;
    let tree = Tree::new(&mailboxes);
    let subscriptions: BTreeSet<String> = if return_subscribed {
        store.subscriptions(account)?.into_iter().collect()
    } else {
        BTreeSet::new()
    };
    // Selecting SUBSCRIBED (and LSUB) lists the subscribed names, whether a mailbox has the
    // name or not (RFC 5258 §3.1); otherwise the mailboxes and the parents their names imply.
    // Parents of subscribed names the patterns hide come too: RECURSIVEMATCH reports them with
    // CHILDINFO (RFC 5258 §3.5; RFC 9051 §7.3.1 lists such a parent only for a descendant
    // "that does not match the list pattern"), LSUB with \Noselect when `%` stops above the
    // subscribed name (RFC 3501 §6.3.9). A subscribed descendant that is listed itself says
    // all there is to say.
    let recursive = command.selection.contains(&ListSelect::RecursiveMatch);
    let parents_of_subscribed = if subscribed_only {
        parents(&subscriptions)
    } else {
        BTreeSet::new()
    };
    let candidates: Vec<&String> = if subscribed_only {
        subscriptions.union(&parents_of_subscribed).collect()
    } else {
        tree.nodes.keys().collect()
    };
    let matches_any = |name: &str| {
        patterns
            .iter()
            .any(|p| matches(&format!("{reference}{p}"), name))
    };
    let mut data = Vec::new();
    for name in candidates {
        if !matches_any(name) {
            continue;
        }
        let subscribed = subscriptions.contains(name);
        let hides_subscribed = parents_of_subscribed.contains(name) && {
            let prefix = format!("{name}{DELIMITER}");
            subscriptions
                .iter()
                .any(|s| s.starts_with(&prefix) && !matches_any(s))
        };
        if subscribed_only && !subscribed && !((recursive || lsub) && hides_subscribed) {
            // A parent only, and nothing it stands for is hidden from the patterns.
            continue;
        }
        let node = tree.nodes.get(name);
        let mailbox = node.and_then(|n| n.mailbox);
        let has_children = node.is_some_and(|n| n.has_children);
        if special_only && mailbox.is_none_or(|m| m.special_use.is_none()) {
            continue;
        }
        let listed = Listed {
            lsub,
            subscribed,
            show_subscribed: return_subscribed && !lsub,
            mailbox,
            has_children,
            child_info: recursive && hides_subscribed,
        };
        data.push(listed.data(names.encode(name)));
        if let (Some(items), Some(m)) = (&status_items, mailbox) {
            data.push(status_data(store, m, items, names, append_limit)?);
        }
    }
    Ok(Reply::ok(format!("{verb} completed")).with_data(data))
}

/// The `LIST` response for one mailbox of `account`, as IMAP4rev2's SELECT and EXAMINE
/// give it (RFC 9051 §6.3.2): its special use and whether it has children.
pub fn list_one<S: Store>(
    store: &S,
    account: AccountId,
    mailbox: &Mailbox,
    names: Names,
) -> Result<Data<'static>, StoreError> {
    let prefix = format!("{}{DELIMITER}", mailbox.name);
    let has_children = store
        .mailboxes(account)?
        .iter()
        .any(|m| m.name.starts_with(&prefix));
    let listed = Listed {
        lsub: false,
        subscribed: false,
        show_subscribed: false,
        mailbox: Some(mailbox),
        has_children,
        child_info: false,
    };
    Ok(listed.data(names.encode(&mailbox.name)))
}

/// `LIST "" ""`: the delimiter and root, nothing else (RFC 3501 6.3.8).
fn hierarchy_root() -> Reply {
    let item = ListItem {
        attributes: vec![MailboxAttr::Known(KnownAttr::NoSelect)],
        delimiter: Some(DELIMITER),
        mailbox: WireName::new(Vec::new()),
        extended: Vec::new(),
    };
    Reply::ok("LIST completed").with_data(vec![Data::List(item)])
}

/// Every parent the names imply: `a` and `a/b` for `a/b/c`.
fn parents(names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut parents = BTreeSet::new();
    for name in names {
        let mut rest = name.as_str();
        while let Some((parent, _)) = rest.rsplit_once(DELIMITER) {
            parents.insert(parent.to_string());
            rest = parent;
        }
    }
    parents
}

/// What LIST or LSUB says of one name.
struct Listed<'a> {
    lsub: bool,
    subscribed: bool,
    /// `\Subscribed` is reported (LIST with RETURN (SUBSCRIBED) or selecting SUBSCRIBED).
    show_subscribed: bool,
    /// The mailbox of that name, if one exists.
    mailbox: Option<&'a Mailbox>,
    has_children: bool,
    /// RECURSIVEMATCH: it has subscribed descendants the patterns do not list (RFC 5258 3.5).
    child_info: bool,
}

impl Listed<'_> {
    /// The `LIST` (or `LSUB`) response for the mailbox named `name`.
    fn data(&self, name: WireName<'static>) -> Data<'static> {
        let extended = if self.child_info {
            vec![ListExtended::ChildInfo(vec![ListSelect::Subscribed])]
        } else {
            Vec::new()
        };
        let item = ListItem {
            attributes: self.attributes(),
            delimiter: Some(DELIMITER),
            mailbox: name,
            extended,
        };
        if self.lsub {
            Data::Lsub(item)
        } else {
            Data::List(item)
        }
    }

    fn attributes(&self) -> Vec<MailboxAttr<'static>> {
        let mut attributes = Vec::new();
        if self.show_subscribed && self.subscribed {
            attributes.push(MailboxAttr::Known(KnownAttr::Subscribed));
        }
        match self.mailbox {
            _ if self.lsub && !self.subscribed => {
                attributes.push(MailboxAttr::Known(KnownAttr::NoSelect));
            }
            None if self.lsub => attributes.push(MailboxAttr::Known(KnownAttr::NoSelect)),
            None => attributes.push(MailboxAttr::Known(KnownAttr::NonExistent)),
            Some(m) => {
                if let Some(special) = m.special_use {
                    attributes.push(MailboxAttr::Known(special_attr(special)));
                }
            }
        }
        if !self.lsub {
            attributes.push(MailboxAttr::Known(if self.has_children {
                KnownAttr::HasChildren
            } else {
                KnownAttr::HasNoChildren
            }));
        }
        attributes
    }
}

/// `STATUS mailbox (items)`; `append_limit` is what the `APPENDLIMIT=` capability says.
pub fn status<S: Store>(
    store: &S,
    account: AccountId,
    name: &str,
    items: &[StatusItem],
    names: Names,
    append_limit: u32,
) -> Result<Reply, StoreError> {
    let Some(mailbox) = find(store, account, name)? else {
        return Ok(Reply::no(Some(PlainCode::NonExistent), "No such mailbox"));
    };
    let data = status_data(store, &mailbox, items, names, append_limit)?;
    Ok(Reply::ok("STATUS completed").with_data(vec![data]))
}

fn status_data<S: Store>(
    store: &S,
    mailbox: &Mailbox,
    items: &[StatusItem],
    names: Names,
    append_limit: u32,
) -> Result<Data<'static>, StoreError> {
    let needs_messages = items.iter().any(|i| {
        matches!(
            i,
            StatusItem::Messages
                | StatusItem::Unseen
                | StatusItem::Deleted
                | StatusItem::Size
                | StatusItem::Recent
        )
    });
    let messages = if needs_messages {
        store.messages(mailbox.id)?
    } else {
        Vec::new()
    };
    // Recent for whichever session selects the mailbox next.
    let first_recent = if items.contains(&StatusItem::Recent) {
        store.first_recent_uid(mailbox.id)?
    } else {
        u32::MAX
    };
    let count = |f: &dyn Fn(&crate::store::Message) -> bool| {
        messages.iter().filter(|m| f(m)).count() as u64
    };
    let values = items
        .iter()
        .map(|&item| {
            let value = match item {
                StatusItem::Messages => messages.len() as u64,
                StatusItem::UidNext => u64::from(mailbox.uid_next),
                StatusItem::UidValidity => u64::from(mailbox.uid_validity),
                StatusItem::Unseen => count(&|m| m.flags & FLAG_SEEN == 0),
                StatusItem::Deleted => count(&|m| m.flags & FLAG_DELETED != 0),
                StatusItem::Size => messages.iter().map(|m| m.size).sum(),
                StatusItem::Recent => count(&|m| m.uid >= first_recent),
                StatusItem::HighestModSeq => mailbox.highest_modseq,
                StatusItem::AppendLimit => u64::from(append_limit),
            };
            (item, value)
        })
        .collect();
    Ok(Data::Status {
        mailbox: names.encode(&mailbox.name),
        items: values,
    })
}

/// Checks a name a client wants to create, rename to or subscribe to; returns it without a
/// trailing delimiter.
fn valid_name(name: &str) -> Result<String, Reply> {
    let name = name.trim_end_matches(DELIMITER);
    if name.is_empty()
        || name.starts_with(DELIMITER)
        || name.contains("//")
        || name.chars().any(|c| c == '*' || c == '%' || c.is_control())
        || name.len() > 512
    {
        return Err(Reply::no(Some(PlainCode::Cannot), "Invalid mailbox name"));
    }
    Ok(name.to_string())
}

/// Checks a name a client wants to create or rename to.
pub fn valid_new_name(name: &str) -> Result<String, Reply> {
    let name = valid_name(name)?;
    if name.eq_ignore_ascii_case("INBOX") {
        return Err(Reply::no(
            Some(PlainCode::AlreadyExists),
            "INBOX always exists",
        ));
    }
    Ok(name)
}

/// `CREATE`. Clients SUBSCRIBE to new mailboxes themselves: a name is subscribed only if it was
/// before.
pub fn create<S: Store>(store: &S, account: AccountId, name: &str) -> Result<Reply, StoreError> {
    let name = match valid_new_name(name) {
        Ok(name) => name,
        Err(reply) => return Ok(reply),
    };
    if find(store, account, &name)?.is_none() {
        create_parents(store, account, &name)?;
    }
    match store.create_mailbox(account, &name) {
        Ok(_) => Ok(Reply::ok("CREATE completed")),
        Err(StoreError::AlreadyExists(_)) => Ok(Reply::no(
            Some(PlainCode::AlreadyExists),
            "Mailbox already exists",
        )),
        Err(e) => Err(e),
    }
}

/// Creates the superior names of `name` that do not exist yet (`a` and `a/b` for
/// `a/b/c`), as RFC 3501 §6.3.3 and §6.3.5 ask of CREATE and RENAME.
fn create_parents<S: Store>(store: &S, account: AccountId, name: &str) -> Result<(), StoreError> {
    for (at, _) in name.match_indices(DELIMITER) {
        let parent = &name[..at];
        if !parent.is_empty() && find(store, account, parent)?.is_none() {
            match store.create_mailbox(account, parent) {
                Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// `DELETE`: the mailbox and its messages; children stay, and so does a subscription to the
/// name (RFC 3501 §6.3.6).
pub fn delete<S: Store>(store: &S, account: AccountId, name: &str) -> Result<Reply, StoreError> {
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok(Reply::no(
            Some(PlainCode::Cannot),
            "INBOX cannot be deleted",
        ));
    }
    match find(store, account, name)? {
        Some(mailbox) => {
            store.delete_mailbox(mailbox.id)?;
            Ok(Reply::ok("DELETE completed"))
        }
        None => Ok(Reply::no(Some(PlainCode::NonExistent), "No such mailbox")),
    }
}

/// `RENAME`; subscriptions to the old names move to the new ones. Renaming INBOX moves its
/// messages into a new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
pub fn rename<S: Store>(
    store: &S,
    account: AccountId,
    from: &str,
    to: &str,
) -> Result<Reply, StoreError> {
    let to = match valid_new_name(to) {
        Ok(name) => name,
        Err(reply) => return Ok(reply),
    };
    let Some(source) = find(store, account, from)? else {
        return Ok(Reply::no(Some(PlainCode::NonExistent), "No such mailbox"));
    };
    if find(store, account, &to)?.is_some() {
        return Ok(Reply::no(
            Some(PlainCode::AlreadyExists),
            "Target mailbox already exists",
        ));
    }
    // (INBOX is not moved, only its messages are: INBOX/Old is fine.)
    if source.name != "INBOX" && to.starts_with(&format!("{}{DELIMITER}", source.name)) {
        return Ok(Reply::no(
            Some(PlainCode::Cannot),
            "A mailbox cannot be renamed under itself",
        ));
    }
    // The superior names the new name needs (RFC 3501 §6.3.5), as for CREATE.
    create_parents(store, account, &to)?;
    if source.name == "INBOX" {
        let target = store.create_mailbox(account, &to)?;
        let uids: Vec<u32> = store.messages(source.id)?.iter().map(|m| m.uid).collect();
        if !uids.is_empty() {
            store.move_messages(source.id, &uids, target.id)?;
        }
    } else {
        store.rename_mailbox(source.id, &to)?;
    }
    Ok(Reply::ok("RENAME completed"))
}

/// `SUBSCRIBE` / `UNSUBSCRIBE`. Subscriptions are names: a client may subscribe to one that no
/// mailbox has (RFC 9051 §6.3.7 lets a server check, it need not), and unsubscribing a name
/// that is not subscribed is no error either.
pub fn subscribe<S: Store>(
    store: &S,
    account: AccountId,
    name: &str,
    subscribed: bool,
) -> Result<Reply, StoreError> {
    if !subscribed {
        store.subscribe(account, name.trim_end_matches(DELIMITER), false)?;
        return Ok(Reply::ok("UNSUBSCRIBE completed"));
    }
    match valid_name(name) {
        Ok(name) => {
            store.subscribe(account, &name, true)?;
            Ok(Reply::ok("SUBSCRIBE completed"))
        }
        Err(reply) => Ok(reply),
    }
}

fn special_attr(special: SpecialUse) -> KnownAttr {
    match special {
        SpecialUse::Drafts => KnownAttr::Drafts,
        SpecialUse::Sent => KnownAttr::Sent,
        SpecialUse::Junk => KnownAttr::Junk,
        SpecialUse::Trash => KnownAttr::Trash,
        SpecialUse::Archive => KnownAttr::Archive,
    }
}

/// Mailboxes with the parents their names imply (which may not exist themselves).
struct Tree<'a> {
    nodes: BTreeMap<String, Node<'a>>,
}

struct Node<'a> {
    mailbox: Option<&'a Mailbox>,
    has_children: bool,
}

impl<'a> Tree<'a> {
    fn new(mailboxes: &'a [Mailbox]) -> Self {
        let mut nodes: BTreeMap<String, Node<'a>> = BTreeMap::new();
        for mailbox in mailboxes {
            nodes
                .entry(mailbox.name.clone())
                .or_insert(Node {
                    mailbox: None,
                    has_children: false,
                })
                .mailbox = Some(mailbox);
            let mut name = mailbox.name.as_str();
            while let Some((parent, _)) = name.rsplit_once(DELIMITER) {
                nodes
                    .entry(parent.to_string())
                    .or_insert(Node {
                        mailbox: None,
                        has_children: false,
                    })
                    .has_children = true;
                name = parent;
            }
        }
        Tree { nodes }
    }
}

/// LIST wildcard matching: `*` matches anything, `%` anything but the delimiter. `INBOX`
/// matches in any case.
pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = normalize_inbox(pattern).chars().collect();
    let name: Vec<char> = normalize_inbox(name).chars().collect();
    let (mut p, mut n) = (0, 0);
    // Backtracking point for the last wildcard: (pattern index, name index, stops at '/').
    let mut star: Option<(usize, usize, bool)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n, false));
                p += 1;
            }
            Some('%') => {
                star = Some((p, n, true));
                p += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn, percent)) if !(percent && name[sn] == DELIMITER) => {
                    star = Some((sp, sn + 1, percent));
                    p = sp + 1;
                    n = sn + 1;
                }
                _ => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*' || c == '%')
}

/// `inbox/…` and `INBOX` compare case-insensitively on their first component.
fn normalize_inbox(name: &str) -> String {
    let head_len = name.find(DELIMITER).unwrap_or(name.len());
    if name[..head_len].eq_ignore_ascii_case("INBOX") {
        format!("INBOX{}", &name[head_len..])
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("*", "a/b/c"));
        assert!(matches("%", "INBOX"));
        assert!(!matches("%", "a/b"));
        assert!(matches("a/%", "a/b"));
        assert!(!matches("a/%", "a/b/c"));
        assert!(matches("a/*", "a/b/c"));
        assert!(matches("inbox", "INBOX"));
        assert!(matches("*b*", "abc"));
        assert!(!matches("x*", "abc"));
        assert!(matches("%/%", "a/b"));
        assert!(!matches("", "a"));
    }

    #[test]
    fn new_names_are_checked() {
        assert_eq!(valid_new_name("Work/").unwrap(), "Work");
        assert!(valid_new_name("").is_err());
        assert!(valid_new_name("a*b").is_err());
        assert!(valid_new_name("inbox").is_err());
        assert!(valid_new_name("/abs").is_err());
    }

    #[test]
    fn names_round_trip_in_both_encodings() {
        for utf8 in [false, true] {
            let names = Names { utf8 };
            let wire = names.encode("Entwürfe/Privé");
            assert_eq!(names.decode(&wire).unwrap(), "Entwürfe/Privé");
        }
        assert_eq!(
            Names { utf8: false }.encode("Entwürfe").as_bytes(),
            b"Entw&APw-rfe"
        );
    }
}
