//! THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 3).
//!
//! REFERENCES follows the RFC's steps: (1) link messages by their References (or first
//! In-Reply-To ID), creating dummies for unknown IDs, never changing a parent set by an
//! earlier reference list except for the message's own, never making loops, a repeated or
//! missing Message-ID counting as unique; (2) the parentless containers are the root set;
//! (3) prune dummies; (4) sort the root set by sent date; (5) merge root threads with the
//! same base subject; (6) sort every set of siblings by sent date. Sent dates fall back to
//! the internal date; ties keep mailbox order.
//!
//! Traversals use explicit stacks, not recursion, because reference chains across a
//! mailbox can be arbitrarily deep. Only turning the result into nested [`Thread`]s
//! recurses, once per branching level; below [`MAX_NESTING`] branching levels the rest of
//! a thread is listed flat.

use std::collections::HashSet;
use std::collections::hash_map::{Entry as Slot, HashMap};
use std::num::NonZeroU32;

use proto_imap::{Thread, ThreadAlgorithm};

use super::sort::Entry;

/// Branching levels a thread is nested to before the rest of it is listed flat.
const MAX_NESTING: usize = 256;

/// The threads of `entries` by `algorithm`.
pub fn thread(entries: &[Entry<'_>], algorithm: ThreadAlgorithm) -> Vec<Thread> {
    let mut entries = entries.to_vec();
    entries.sort_by_key(|e| e.id);
    let mut forest = Forest { nodes: Vec::new() };
    let roots = match algorithm {
        ThreadAlgorithm::OrderedSubject => forest.ordered_subject(&entries),
        ThreadAlgorithm::References => forest.references(&entries),
    };
    roots
        .into_iter()
        .map(|root| forest.to_thread(root, 0))
        .collect()
}

/// A container of the algorithm: a message, or a dummy standing for a missing one.
#[derive(Debug)]
struct Node<'a> {
    entry: Option<Entry<'a>>,
    parent: Option<usize>,
    children: Vec<usize>,
}

struct Forest<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Forest<'a> {
    fn add(&mut self, entry: Option<Entry<'a>>) -> usize {
        self.nodes.push(Node {
            entry,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    fn node(&self, n: usize) -> Option<&Node<'a>> {
        self.nodes.get(n)
    }

    fn children(&self, n: usize) -> &[usize] {
        self.node(n).map_or(&[], |node| &node.children)
    }

    fn is_dummy(&self, n: usize) -> bool {
        self.node(n).is_some_and(|node| node.entry.is_none())
    }

    /// The message a container stands for: itself, or a dummy's first child (RFC 5256
    /// dates and subjects of a dummy are those of its first child).
    fn message(&self, mut n: usize) -> Option<Entry<'a>> {
        for _ in 0..self.nodes.len() {
            let node = self.node(n)?;
            match node.entry {
                Some(entry) => return Some(entry),
                None => n = *node.children.first()?,
            }
        }
        None
    }

    /// Sort key: sent date, then mailbox order.
    fn key(&self, n: usize) -> (i64, NonZeroU32) {
        self.message(n)
            .map_or((i64::MAX, NonZeroU32::MAX), |e| (e.sent(), e.id))
    }

    fn subject(&self, n: usize) -> &'a str {
        self.message(n)
            .map_or("", |e| e.summary.sort.subject.as_str())
    }

    fn is_reply(&self, n: usize) -> bool {
        self.node(n)
            .and_then(|node| node.entry)
            .is_some_and(|e| e.summary.thread.is_reply)
    }

    fn link(&mut self, parent: usize, child: usize) {
        if let Some(node) = self.nodes.get_mut(child) {
            node.parent = Some(parent);
        }
        if let Some(node) = self.nodes.get_mut(parent) {
            node.children.push(child);
        }
    }

    fn unlink(&mut self, child: usize) {
        let Some(parent) = self
            .nodes
            .get_mut(child)
            .and_then(|node| node.parent.take())
        else {
            return;
        };
        if let Some(node) = self.nodes.get_mut(parent) {
            node.children.retain(|&c| c != child);
        }
    }

    /// Whether `ancestor` is `n` or above it: linking `ancestor` below `n` would loop.
    fn is_ancestor(&self, ancestor: usize, mut n: usize) -> bool {
        for _ in 0..=self.nodes.len() {
            if n == ancestor {
                return true;
            }
            match self.node(n).and_then(|node| node.parent) {
                Some(parent) => n = parent,
                None => return false,
            }
        }
        true
    }

    /// Every container below `roots` (roots included), children before parents.
    fn post_order(&self, roots: &[usize]) -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack: Vec<(usize, bool)> = roots.iter().map(|&r| (r, false)).collect();
        while let Some((n, expanded)) = stack.pop() {
            if expanded {
                out.push(n);
            } else {
                stack.push((n, true));
                stack.extend(self.children(n).iter().map(|&c| (c, false)));
            }
        }
        out
    }

    /// Sorts every set of siblings, then the roots, by sent date.
    fn sort_all(&mut self, roots: &mut [usize]) {
        for n in self.post_order(roots) {
            let mut children = std::mem::take(&mut self.nodes[n].children);
            children.sort_by_key(|&c| self.key(c));
            self.nodes[n].children = children;
        }
        roots.sort_by_key(|&r| self.key(r));
    }

    /// ORDEREDSUBJECT: messages with the same base subject form a thread, ordered by sent
    /// date, all but the first being children of the first; threads ordered by their first
    /// message.
    fn ordered_subject(&mut self, entries: &[Entry<'a>]) -> Vec<usize> {
        let mut order: Vec<Entry<'a>> = entries.to_vec();
        order.sort_by(|a, b| {
            let key = |e: &Entry<'_>| (e.sent(), e.id);
            a.summary
                .sort
                .subject
                .cmp(&b.summary.sort.subject)
                .then(key(a).cmp(&key(b)))
        });
        let mut roots: Vec<usize> = Vec::new();
        for entry in order {
            let node = self.add(Some(entry));
            match roots.last() {
                Some(&root) if self.subject(root) == entry.summary.sort.subject.as_str() => {
                    self.link(root, node);
                }
                _ => roots.push(node),
            }
        }
        roots.sort_by_key(|&r| self.key(r));
        roots
    }

    /// REFERENCES, steps 1 to 6.
    fn references(&mut self, entries: &[Entry<'a>]) -> Vec<usize> {
        let mut ids: HashMap<&'a str, usize> = HashMap::new();
        for &entry in entries {
            let keys = &entry.summary.thread;
            let own = match keys
                .message_id
                .as_deref()
                .map(|id| (id, ids.get(id).copied()))
            {
                Some((_, Some(node))) if self.is_dummy(node) => {
                    self.nodes[node].entry = Some(entry);
                    node
                }
                Some((id, None)) => {
                    let node = self.add(Some(entry));
                    ids.insert(id, node);
                    node
                }
                // No Message-ID, or one an earlier message has: a unique container.
                _ => self.add(Some(entry)),
            };
            // (1A) Each reference is the parent of the next, unless that one has a parent.
            let mut chain = Vec::with_capacity(keys.references.len());
            for reference in &keys.references {
                let node = if let Some(&node) = ids.get(reference.as_str()) {
                    node
                } else {
                    let node = self.add(None);
                    ids.insert(reference, node);
                    node
                };
                chain.push(node);
            }
            for pair in chain.windows(2) {
                if let &[parent, child] = pair {
                    let orphan = self.node(child).is_some_and(|c| c.parent.is_none());
                    if orphan && !self.is_ancestor(child, parent) {
                        self.link(parent, child);
                    }
                }
            }
            // (1B) The last reference is the message's parent, whatever it had before.
            self.unlink(own);
            if let Some(&parent) = chain.last()
                && !self.is_ancestor(own, parent)
            {
                self.link(parent, own);
            }
        }
        // (2) The root set.
        let roots: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| self.node(n).is_some_and(|node| node.parent.is_none()))
            .collect();
        // (3) - (6)
        let mut roots = self.prune(roots);
        self.sort_all(&mut roots);
        let mut roots = self.merge_subjects(roots);
        self.sort_all(&mut roots);
        roots
    }

    /// (3) Dummies go: without children they are deleted, with children these take their
    /// place, except that a root dummy keeps two or more children under it.
    fn prune(&mut self, roots: Vec<usize>) -> Vec<usize> {
        for n in self.post_order(&roots) {
            let children = std::mem::take(&mut self.nodes[n].children);
            let mut kept = Vec::with_capacity(children.len());
            for child in children {
                if self.is_dummy(child) {
                    kept.append(&mut self.nodes[child].children);
                } else {
                    kept.push(child);
                }
            }
            for &child in &kept {
                self.nodes[child].parent = Some(n);
            }
            self.nodes[n].children = kept;
        }
        let mut out = Vec::with_capacity(roots.len());
        for root in roots {
            match self.children(root) {
                _ if !self.is_dummy(root) => out.push(root),
                [] => {}
                &[only] => {
                    self.nodes[only].parent = None;
                    out.push(only);
                }
                _ => out.push(root),
            }
        }
        out
    }

    /// (5) Root threads with the same base subject are merged.
    fn merge_subjects(&mut self, mut roots: Vec<usize>) -> Vec<usize> {
        let mut table: HashMap<&'a str, usize> = HashMap::new();
        for &root in &roots {
            let subject = self.subject(root);
            if subject.is_empty() {
                continue;
            }
            match table.entry(subject) {
                Slot::Vacant(slot) => {
                    slot.insert(root);
                }
                Slot::Occupied(mut slot) => {
                    let held = *slot.get();
                    let better =
                        self.is_dummy(root) || (self.is_reply(held) && !self.is_reply(root));
                    if !self.is_dummy(held) && better {
                        slot.insert(root);
                    }
                }
            }
        }
        let mut merged = HashSet::new();
        for i in 0..roots.len() {
            let Some(&root) = roots.get(i) else { continue };
            let subject = self.subject(root);
            let Some(&held) = table.get(subject) else {
                continue;
            };
            if held == root {
                continue;
            }
            merged.insert(root);
            if self.is_dummy(root) && self.is_dummy(held) {
                let children = std::mem::take(&mut self.nodes[root].children);
                for child in children {
                    self.link(held, child);
                }
            } else if self.is_dummy(held) || (self.is_reply(root) && !self.is_reply(held)) {
                self.link(held, root);
            } else {
                let dummy = self.add(None);
                self.link(dummy, held);
                self.link(dummy, root);
                table.insert(subject, dummy);
                if let Some(slot) = roots.iter_mut().find(|r| **r == held) {
                    *slot = dummy;
                }
            }
        }
        roots.retain(|r| !merged.contains(r));
        roots
    }

    /// The [`Thread`] of a container: the chain of single children, then the branches.
    fn to_thread(&self, root: usize, depth: usize) -> Thread {
        let mut messages = Vec::new();
        let mut n = root;
        loop {
            messages.extend(self.node(n).and_then(|node| node.entry).map(|e| e.id));
            match self.children(n) {
                &[only] => n = only,
                _ => break,
            }
        }
        let children = if depth < MAX_NESTING {
            self.children(n)
                .iter()
                .map(|&c| self.to_thread(c, depth + 1))
                .collect()
        } else {
            let mut below = self.post_order(self.children(n));
            below.reverse();
            messages.extend(
                below
                    .into_iter()
                    .filter_map(|c| self.node(c)?.entry.map(|e| e.id)),
            );
            Vec::new()
        };
        Thread { messages, children }
    }
}
