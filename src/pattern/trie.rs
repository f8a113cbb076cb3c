//! The prefix-subscription table of PUB/SUB: [`SubscriptionTrie`].
//!
//! # Invariants
//!
//! The table is a radix tree: a byte trie whose single-child chains are
//! compressed into one node with a multi-byte label. The *topic* of a node is
//! the concatenation of the labels from the root down to it, inclusive.
//!
//! 1. The root's label is empty and every other node's label is non-empty, so
//!    no two nodes share a topic and the root is the empty topic.
//! 2. `firsts[i] == children[i].label[0]` for every child, and `firsts` is
//!    strictly ascending: a child is found by its first byte alone.
//! 3. `subs` holds the keys subscribed to exactly the node's topic, strictly
//!    ascending by key, each with a count of at least 1.
//! 4. Every node but the root holds a subscription or has two or more
//!    children: there are no dead leaves and no chains left to merge.
//! 5. `topics` is the number of nodes whose `subs` is non-empty.
//!
//! No operation recurses, dropping included, so a peer that subscribes to
//! `a`, `aa`, `aaa`, ... cannot overflow the stack.
//!
//! # Semantics
//!
//! Those of libzmq 4.3's `trie_t` (SUB side, key `()`) and `mtrie_t` (XPUB
//! side, key = pipe id), with one deliberate difference: subscriptions are
//! counted per key, where `mtrie_t` keeps a set of pipes per topic. A libzmq
//! SUB never sends a duplicate upstream (its own `trie_t` counts), so the two
//! agree for well-behaved peers.

use std::fmt;
use std::mem;

/// Outcome of [`SubscriptionTrie::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Added {
    /// The key was not subscribed to this topic before (its count went from
    /// 0 to 1).
    pub first_for_key: bool,
    /// No key at all was subscribed to this topic before. In non-verbose
    /// mode XPUB passes a subscription on only when this is set.
    pub first_for_topic: bool,
}

/// Outcome of [`SubscriptionTrie::remove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    /// The key was subscribed to this topic. When false nothing changed and
    /// the other flags are false too.
    pub existed: bool,
    /// The key's count reached 0: it is no longer subscribed to this topic.
    pub last_for_key: bool,
    /// No key is subscribed to this topic any more.
    pub last_for_topic: bool,
}

const NOT_FOUND: Removed = Removed {
    existed: false,
    last_for_key: false,
    last_for_topic: false,
};

/// Matching nodes on a message's path that [`SubscriptionTrie::matches`]
/// dedupes without allocating; more spill into a `Vec`.
const INLINE_LISTS: usize = 8;

/// A set of counted prefix subscriptions `(topic, key)`.
///
/// A subscription matches a message when its topic is a prefix of the message;
/// the empty topic matches every message. Subscribing twice takes two
/// cancellations to undo. Counts saturate at `u32::MAX`.
pub struct SubscriptionTrie<K> {
    root: Node<K>,
    /// Distinct topics with at least one subscription.
    topics: usize,
}

/// One node of the radix tree; see the module's invariants.
struct Node<K> {
    /// The bytes on the edge from the parent; empty for the root only.
    label: Box<[u8]>,
    /// Keys subscribed to exactly this node's topic, with their counts.
    subs: Vec<(K, u32)>,
    /// The first byte of each child's label, ascending.
    firsts: Vec<u8>,
    children: Vec<Node<K>>,
}

impl<K: Copy + Ord> SubscriptionTrie<K> {
    /// An empty table.
    pub fn new() -> Self {
        SubscriptionTrie {
            root: Node::new(Box::default()),
            topics: 0,
        }
    }

    #[cfg(test)]
    /// Number of distinct topics that at least one key is subscribed to.
    #[inline]
    pub fn len(&self) -> usize {
        self.topics
    }

    #[cfg(test)]
    /// No subscriptions at all.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.topics == 0
    }

    /// Subscribes `key` to `topic` once more.
    pub fn add(&mut self, topic: &[u8], key: K) -> Added {
        let node = self.root.find_or_insert(topic);
        let first_for_topic = node.subs.is_empty();
        let first_for_key = match node.subs.binary_search_by_key(&key, |&(k, _)| k) {
            Ok(i) => {
                let count = &mut node.subs[i].1;
                *count = count.saturating_add(1);
                false
            }
            Err(i) => {
                node.subs.insert(i, (key, 1));
                true
            }
        };
        self.topics += usize::from(first_for_topic);
        Added {
            first_for_key,
            first_for_topic,
        }
    }

    /// Cancels one subscription of `key` to `topic`; a no-op (with
    /// `existed == false`) if there is none.
    pub fn remove(&mut self, topic: &[u8], key: K) -> Removed {
        self.remove_impl(topic, key, false)
    }

    /// Drops every subscription of `key`, whatever its counts (its pipe went
    /// away), calling `on_topic_gone` with each topic, in ascending byte
    /// order, that no key is subscribed to any more.
    pub fn remove_key(&mut self, key: K, mut on_topic_gone: impl FnMut(&[u8])) {
        // Collect, then remove one by one: restructuring the tree while
        // walking it would need parent links or recursion.
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        self.root.walk(|topic, node| {
            if node.position(key).is_ok() {
                bytes.extend_from_slice(topic);
                ends.push(bytes.len());
            }
        });
        let mut start = 0;
        for end in ends {
            let topic = &bytes[start..end];
            start = end;
            if self.remove_impl(topic, key, true).last_for_topic {
                on_topic_gone(topic);
            }
        }
    }

    #[cfg(test)]
    /// How many times `key` is subscribed to exactly `topic` (0 if not).
    pub fn count(&self, topic: &[u8], key: K) -> u32 {
        self.root
            .find(topic)
            .and_then(|node| node.position(key).ok().map(|i| node.subs[i].1))
            .unwrap_or(0)
    }

    /// Calls `f` once for each key that has at least one subscription whose
    /// topic is a prefix of `msg`, in ascending key order.
    ///
    /// Allocates nothing unless more than eight distinct subscribed topics are
    /// prefixes of `msg`.
    #[inline]
    pub fn matches(&self, msg: &[u8], mut f: impl FnMut(K)) {
        if self.root.children.is_empty() {
            // Only the empty topic, if anything: every message matches it.
            for &(key, _) in &self.root.subs {
                f(key);
            }
            return;
        }
        let mut path = self.path(msg);
        let Some(first) = path.next() else { return };
        let Some(second) = path.next() else {
            // One matching topic: its keys are distinct already.
            for &(key, _) in first {
                f(key);
            }
            return;
        };
        merge_more(first, second, path, f);
    }

    /// Whether any subscription's topic is a prefix of `msg` (SUB-side
    /// filtering).
    #[inline]
    pub fn is_match(&self, msg: &[u8]) -> bool {
        // The empty topic (everything) is the usual subscription: no walk.
        !self.root.subs.is_empty() || self.path(msg).next().is_some()
    }

    /// Calls `f(topic, key, count)` for every subscription, topics in
    /// ascending byte order and keys ascending within a topic.
    pub fn for_each_topic(&self, mut f: impl FnMut(&[u8], K, u32)) {
        self.root.walk(|topic, node| {
            for &(key, count) in &node.subs {
                f(topic, key, count);
            }
        });
    }

    #[inline]
    fn path<'a>(&'a self, msg: &'a [u8]) -> Path<'a, K> {
        Path {
            node: Some(&self.root),
            rest: msg,
        }
    }

    /// Cancels one subscription, or with `all` every one, of `key` to `topic`.
    fn remove_impl(&mut self, topic: &[u8], key: K, all: bool) -> Removed {
        let removed = if topic.is_empty() {
            self.root.unsubscribe(key, all)
        } else {
            let Some((parent, i)) = self.root.parent_of(topic) else {
                return NOT_FOUND;
            };
            let removed = parent.children[i].unsubscribe(key, all);
            if removed.last_for_topic {
                parent.prune(i);
            }
            removed
        };
        self.topics -= usize::from(removed.last_for_topic);
        removed
    }
}

/// The `&[(key, count)]` lists of the nodes on a message's path that hold
/// subscriptions, root first.
struct Path<'a, K> {
    node: Option<&'a Node<K>>,
    rest: &'a [u8],
}

impl<'a, K> Iterator for Path<'a, K> {
    type Item = &'a [(K, u32)];

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        while let Some(node) = self.node {
            self.node = node.step(&mut self.rest);
            if !node.subs.is_empty() {
                return Some(&node.subs);
            }
        }
        None
    }
}

/// The slow path of `matches`: two or more topics matched, and a key may be
/// in several of them. Each list is sorted, so a k-way merge dedupes them.
#[cold]
fn merge_more<'a, K: Copy + Ord>(
    first: &'a [(K, u32)],
    second: &'a [(K, u32)],
    rest: Path<'a, K>,
    f: impl FnMut(K),
) {
    let mut inline: [&[(K, u32)]; INLINE_LISTS] = [&[]; INLINE_LISTS];
    inline[0] = first;
    inline[1] = second;
    let mut n = 2;
    let mut spilled = Vec::new();
    for subs in rest {
        if n < INLINE_LISTS {
            inline[n] = subs;
            n += 1;
        } else {
            if spilled.is_empty() {
                spilled.extend_from_slice(&inline);
            }
            spilled.push(subs);
        }
    }
    if spilled.is_empty() {
        merge_keys(&mut inline[..n], f);
    } else {
        merge_keys(&mut spilled, f);
    }
}

/// Calls `f` once for each key in the union of the sorted `lists`, in
/// ascending order; consumes the lists.
fn merge_keys<K: Copy + Ord>(lists: &mut [&[(K, u32)]], mut f: impl FnMut(K)) {
    loop {
        let Some(min) = lists
            .iter()
            .filter_map(|l| l.first().map(|&(k, _)| k))
            .min()
        else {
            return;
        };
        f(min);
        for list in lists.iter_mut() {
            if list.first().is_some_and(|&(k, _)| k == min) {
                *list = &list[1..];
            }
        }
    }
}

impl<K> Node<K> {
    fn new(label: Box<[u8]>) -> Self {
        Node {
            label,
            subs: Vec::new(),
            firsts: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Steps into the child whose label `rest` starts with, and consumes the
    /// label from `rest`.
    #[inline]
    fn step<'a>(&'a self, rest: &mut &[u8]) -> Option<&'a Node<K>> {
        let &byte = rest.first()?;
        let i = self.firsts.binary_search(&byte).ok()?;
        let child = &self.children[i];
        let tail = rest.strip_prefix(&*child.label)?;
        *rest = tail;
        Some(child)
    }

    #[cfg(test)]
    /// The node whose topic is exactly `topic`, below this one.
    fn find(&self, mut topic: &[u8]) -> Option<&Node<K>> {
        let mut node = self;
        while !topic.is_empty() {
            node = node.step(&mut topic)?;
        }
        Some(node)
    }

    /// The node whose topic is exactly `topic`, below this one, made if need
    /// be. May leave a node that breaks invariant 4 until it gets a
    /// subscription.
    fn find_or_insert(&mut self, topic: &[u8]) -> &mut Node<K> {
        let mut node = self;
        let mut rest = topic;
        while let Some(&byte) = rest.first() {
            let i = match node.firsts.binary_search(&byte) {
                Ok(i) => i,
                Err(i) => {
                    node.firsts.insert(i, byte);
                    node.children.insert(i, Node::new(rest.into()));
                    return &mut node.children[i];
                }
            };
            let child = &mut node.children[i];
            let common = child
                .label
                .iter()
                .zip(rest)
                .take_while(|(a, b)| a == b)
                .count();
            if common < child.label.len() {
                child.split(common);
            }
            rest = &rest[common..];
            node = child;
        }
        node
    }

    /// The parent of the node whose topic is exactly `topic` (non-empty),
    /// below this one, and that node's index among the parent's children.
    fn parent_of(&mut self, topic: &[u8]) -> Option<(&mut Node<K>, usize)> {
        let mut node = self;
        let mut rest = topic;
        loop {
            let i = node.firsts.binary_search(rest.first()?).ok()?;
            rest = rest.strip_prefix(&*node.children[i].label)?;
            if rest.is_empty() {
                return Some((node, i));
            }
            node = &mut node.children[i];
        }
    }

    /// Cuts the label after `at` bytes (`0 < at < label.len()`): this node
    /// keeps the head and gets one child, which takes the tail and everything
    /// this node held.
    fn split(&mut self, at: usize) {
        debug_assert!(0 < at && at < self.label.len());
        let tail = Node {
            label: self.label[at..].into(),
            subs: mem::take(&mut self.subs),
            firsts: mem::take(&mut self.firsts),
            children: mem::take(&mut self.children),
        };
        self.label = self.label[..at].into();
        self.firsts = vec![tail.label[0]];
        self.children = vec![tail];
    }

    /// Absorbs the only child of a non-root node that holds no subscription.
    fn merge_only_child(&mut self) {
        debug_assert!(!self.label.is_empty() && self.subs.is_empty() && self.children.len() == 1);
        let Some(mut child) = self.children.pop() else {
            return;
        };
        let mut label = Vec::with_capacity(self.label.len() + child.label.len());
        label.extend_from_slice(&self.label);
        label.extend_from_slice(&child.label);
        self.label = label.into();
        self.subs = mem::take(&mut child.subs);
        self.firsts = mem::take(&mut child.firsts);
        self.children = mem::take(&mut child.children);
    }

    /// Restores invariant 4 after child `i` lost its last subscription.
    fn prune(&mut self, i: usize) {
        let child = &mut self.children[i];
        match child.children.len() {
            0 => {
                self.firsts.remove(i);
                self.children.remove(i);
                // A non-root node without subscriptions had two children.
                if !self.label.is_empty() && self.subs.is_empty() && self.children.len() == 1 {
                    self.merge_only_child();
                }
            }
            1 => child.merge_only_child(),
            _ => {}
        }
    }

    /// Calls `f(topic, node)` for this node and every node below it, in
    /// ascending topic order, `topic` being relative to this node's parent.
    fn walk(&self, mut f: impl FnMut(&[u8], &Node<K>)) {
        let mut topic = Vec::new();
        let mut stack = vec![(self, 0)];
        while let Some((node, len)) = stack.pop() {
            topic.truncate(len);
            topic.extend_from_slice(&node.label);
            f(&topic, node);
            let len = topic.len();
            stack.extend(node.children.iter().rev().map(|child| (child, len)));
        }
    }
}

impl<K: Copy + Ord> Node<K> {
    #[inline]
    fn position(&self, key: K) -> Result<usize, usize> {
        self.subs.binary_search_by_key(&key, |&(k, _)| k)
    }

    /// Cancels one subscription, or with `all` every one, of `key` to this
    /// node's topic. The tree's shape is the caller's business.
    fn unsubscribe(&mut self, key: K, all: bool) -> Removed {
        let Ok(i) = self.position(key) else {
            return NOT_FOUND;
        };
        let count = &mut self.subs[i].1;
        if *count > 1 && !all {
            *count -= 1;
            return Removed {
                existed: true,
                last_for_key: false,
                last_for_topic: false,
            };
        }
        self.subs.remove(i);
        let last_for_topic = self.subs.is_empty();
        if last_for_topic {
            self.subs = Vec::new();
        }
        Removed {
            existed: true,
            last_for_key: true,
            last_for_topic,
        }
    }
}

impl<K> Drop for Node<K> {
    /// Iterative, so that a deep tree cannot overflow the stack.
    fn drop(&mut self) {
        let mut stack = mem::take(&mut self.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}

impl<K: Copy + Ord> Default for SubscriptionTrie<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy + Ord + fmt::Debug> fmt::Debug for SubscriptionTrie<K> {
    /// Lists `topic: [(key, count), ...]` entries, topics byte-escaped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        self.root.walk(|topic, node| {
            if !node.subs.is_empty() {
                map.entry(&format_args!("\"{}\"", topic.escape_ascii()), &node.subs);
            }
        });
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched<K: Copy + Ord>(t: &SubscriptionTrie<K>, msg: &[u8]) -> Vec<K> {
        let mut out = Vec::new();
        t.matches(msg, |k| out.push(k));
        out
    }

    fn entries<K: Copy + Ord>(t: &SubscriptionTrie<K>) -> Vec<(Vec<u8>, K, u32)> {
        let mut out = Vec::new();
        t.for_each_topic(|topic, k, c| out.push((topic.to_vec(), k, c)));
        out
    }

    fn gone<K: Copy + Ord>(t: &mut SubscriptionTrie<K>, key: K) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        t.remove_key(key, |topic| out.push(topic.to_vec()));
        out
    }

    /// Checks the module's invariants; returns the number of nodes.
    fn check<K: Copy + Ord>(t: &SubscriptionTrie<K>) -> usize {
        assert!(t.root.label.is_empty(), "root label");
        let mut nodes = 0;
        let mut topics = 0;
        let mut stack = vec![(&t.root, true)];
        while let Some((node, is_root)) = stack.pop() {
            nodes += 1;
            if !is_root {
                assert!(!node.label.is_empty(), "empty label below the root");
                assert!(
                    !node.subs.is_empty() || node.children.len() >= 2,
                    "mergeable or dead node"
                );
            }
            assert_eq!(node.firsts.len(), node.children.len());
            assert!(
                node.firsts.windows(2).all(|w| w[0] < w[1]),
                "firsts not ascending"
            );
            for (b, c) in node.firsts.iter().zip(&node.children) {
                assert_eq!(*b, c.label[0], "firsts out of step");
            }
            assert!(
                node.subs.windows(2).all(|w| w[0].0 < w[1].0),
                "keys not ascending"
            );
            assert!(node.subs.iter().all(|&(_, c)| c >= 1), "zero count");
            topics += usize::from(!node.subs.is_empty());
            stack.extend(node.children.iter().map(|c| (c, false)));
        }
        assert_eq!(t.len(), topics, "topic count");
        assert_eq!(t.is_empty(), topics == 0);
        nodes
    }

    fn added(first_for_key: bool, first_for_topic: bool) -> Added {
        Added {
            first_for_key,
            first_for_topic,
        }
    }

    fn removed(existed: bool, last_for_key: bool, last_for_topic: bool) -> Removed {
        Removed {
            existed,
            last_for_key,
            last_for_topic,
        }
    }

    #[test]
    fn empty_table_matches_nothing() {
        let t = SubscriptionTrie::<u64>::new();
        assert!(t.is_empty());
        assert_eq!(t.len(), 0);
        assert!(!t.is_match(b""));
        assert!(!t.is_match(b"abc"));
        assert!(matched(&t, b"abc").is_empty());
        assert!(entries(&t).is_empty());
        assert_eq!(check(&t), 1);
    }

    #[test]
    fn empty_topic_matches_everything() {
        let mut t = SubscriptionTrie::new();
        assert_eq!(t.add(b"", 7u64), added(true, true));
        assert_eq!(t.len(), 1);
        for msg in [&b""[..], b"a", b"\x00\xff", &[0xAB; 1000]] {
            assert!(t.is_match(msg));
            assert_eq!(matched(&t, msg), [7]);
        }
        assert_eq!(entries(&t), [(vec![], 7, 1)]);
        assert_eq!(t.remove(b"", 7), removed(true, true, true));
        assert!(t.is_empty());
        assert!(!t.is_match(b"a"));
        check(&t);
    }

    #[test]
    fn prefix_matching() {
        let mut t = SubscriptionTrie::new();
        t.add(b"weather.", 1u64);
        t.add(b"weather.zip.10001", 2);
        t.add(b"news", 3);
        check(&t);
        assert_eq!(matched(&t, b"weather.zip.10001 72F"), [1, 2]);
        assert_eq!(matched(&t, b"weather.zip.10002"), [1]);
        assert_eq!(matched(&t, b"weather."), [1]);
        assert_eq!(matched(&t, b"weather"), Vec::<u64>::new());
        assert_eq!(matched(&t, b"newsflash"), [3]);
        assert_eq!(matched(&t, b"new"), Vec::<u64>::new());
        assert_eq!(matched(&t, b""), Vec::<u64>::new());
        assert_eq!(matched(&t, b"x"), Vec::<u64>::new());
        assert!(t.is_match(b"weather.rain"));
        assert!(t.is_match(b"news"));
        assert!(!t.is_match(b"weathe"));
        assert!(!t.is_match(b"neWs"));
    }

    #[test]
    fn message_ending_inside_a_label_does_not_match() {
        let mut t = SubscriptionTrie::new();
        t.add(b"abcdef", 1u64);
        assert!(!t.is_match(b"abc"));
        assert!(!t.is_match(b"abcdeX"));
        assert!(t.is_match(b"abcdef"));
        assert!(t.is_match(b"abcdefg"));
        assert_eq!(t.count(b"abc", 1), 0);
        assert_eq!(t.remove(b"abc", 1), NOT_FOUND);
        assert_eq!(t.remove(b"abcdefg", 1), NOT_FOUND);
        assert_eq!(t.count(b"abcdef", 1), 1);
        check(&t);
    }

    #[test]
    fn counting_add_twice_remove_once() {
        let mut t = SubscriptionTrie::new();
        assert_eq!(t.add(b"topic", 1u64), added(true, true));
        assert_eq!(t.add(b"topic", 1), added(false, false));
        assert_eq!(t.count(b"topic", 1), 2);
        assert_eq!(entries(&t), [(b"topic".to_vec(), 1, 2)]);
        assert_eq!(t.remove(b"topic", 1), removed(true, false, false));
        assert!(t.is_match(b"topic!"));
        assert_eq!(t.len(), 1);
        assert_eq!(t.remove(b"topic", 1), removed(true, true, true));
        assert!(!t.is_match(b"topic!"));
        assert_eq!(t.remove(b"topic", 1), NOT_FOUND);
        assert!(t.is_empty());
        assert_eq!(check(&t), 1);
    }

    #[test]
    fn sub_side_unit_key() {
        let mut t = SubscriptionTrie::<()>::new();
        assert!(t.add(b"A", ()).first_for_topic);
        assert!(!t.add(b"A", ()).first_for_topic);
        assert!(t.add(b"AB", ()).first_for_topic);
        assert!(t.is_match(b"AZ"));
        assert_eq!(matched(&t, b"ABC"), [()]);
        assert!(!t.remove(b"A", ()).last_for_topic);
        assert!(t.remove(b"A", ()).last_for_topic);
        assert!(!t.is_match(b"AZ"));
        assert!(t.is_match(b"ABZ"));
        assert_eq!(entries(&t), [(b"AB".to_vec(), (), 1)]);
        check(&t);
    }

    #[test]
    fn distinct_keys_and_first_last_flags() {
        let mut t = SubscriptionTrie::new();
        assert_eq!(t.add(b"x", 1u64), added(true, true));
        assert_eq!(t.add(b"x", 2), added(true, false));
        assert_eq!(t.add(b"x", 2), added(false, false));
        assert_eq!(t.len(), 1);
        assert_eq!(matched(&t, b"xy"), [1, 2]);
        assert_eq!(t.remove(b"x", 3), NOT_FOUND);
        assert_eq!(t.remove(b"x", 1), removed(true, true, false));
        assert_eq!(matched(&t, b"xy"), [2]);
        assert_eq!(t.remove(b"x", 2), removed(true, false, false));
        assert_eq!(t.remove(b"x", 2), removed(true, true, true));
        assert!(t.is_empty());
        check(&t);
    }

    #[test]
    fn matches_calls_each_key_once() {
        let mut t = SubscriptionTrie::new();
        t.add(b"a", 1u64);
        t.add(b"ab", 1);
        t.add(b"ab", 2);
        t.add(b"", 2);
        t.add(b"abc", 3);
        t.add(b"abc", 1);
        assert_eq!(matched(&t, b"abcd"), [1, 2, 3]);
        assert_eq!(matched(&t, b"ab"), [1, 2]);
        assert_eq!(matched(&t, b"a"), [1, 2]);
        assert_eq!(matched(&t, b"b"), [2]);
    }

    #[test]
    fn matches_dedupes_past_the_inline_lists() {
        // Twenty nested topics, each held by three of five keys, all
        // prefixes of the message: the merge spills to the heap.
        let mut t = SubscriptionTrie::new();
        let msg = [b'z'; 40];
        for len in 0..20 {
            for k in 0..3u64 {
                t.add(&msg[..len], (len as u64 + k) % 5);
            }
        }
        check(&t);
        assert_eq!(matched(&t, &msg), [0, 1, 2, 3, 4]);
        assert_eq!(matched(&t, &msg[..1]), [0, 1, 2, 3]);
        assert_eq!(matched(&t, &msg[..9]), [0, 1, 2, 3, 4]);
        assert_eq!(matched(&t, b"q"), [0, 1, 2]);
    }

    #[test]
    fn remove_key_reports_topics_no_one_holds() {
        let mut t = SubscriptionTrie::new();
        t.add(b"a", 1u64);
        t.add(b"a", 1);
        t.add(b"ab", 1);
        t.add(b"ab", 2);
        t.add(b"", 1);
        t.add(b"b", 1);
        t.add(b"c", 2);
        assert_eq!(
            gone(&mut t, 1),
            [b"".to_vec(), b"a".to_vec(), b"b".to_vec()]
        );
        check(&t);
        assert_eq!(entries(&t), [(b"ab".to_vec(), 2, 1), (b"c".to_vec(), 2, 1)]);
        assert_eq!(t.count(b"a", 1), 0);
        assert!(gone(&mut t, 1).is_empty());
        assert_eq!(gone(&mut t, 2), [b"ab".to_vec(), b"c".to_vec()]);
        assert!(t.is_empty());
        assert_eq!(check(&t), 1);
    }

    #[test]
    fn binary_topics() {
        let mut t = SubscriptionTrie::new();
        t.add(b"\x00", 1u64);
        t.add(b"\x00\x00", 2);
        t.add(b"\xff", 3);
        t.add(b"\xff\x00\xff", 4);
        t.add(b"\x7f\x80", 5);
        check(&t);
        assert_eq!(matched(&t, b"\x00"), [1]);
        assert_eq!(matched(&t, b"\x00\x00\x01"), [1, 2]);
        assert_eq!(matched(&t, b"\x01"), Vec::<u64>::new());
        assert_eq!(matched(&t, b"\xff\x00\xff\xff"), [3, 4]);
        assert_eq!(matched(&t, b"\xff\x00"), [3]);
        assert_eq!(matched(&t, b"\x7f\x80"), [5]);
        assert_eq!(matched(&t, b"\x7f\x7f"), Vec::<u64>::new());
        let topics: Vec<_> = entries(&t).into_iter().map(|(topic, _, _)| topic).collect();
        assert_eq!(
            topics,
            [
                &b"\x00"[..],
                b"\x00\x00",
                b"\x7f\x80",
                b"\xff",
                b"\xff\x00\xff"
            ]
        );
        assert!(t.remove(b"\x00", 1).last_for_topic);
        assert!(!t.is_match(b"\x00\x01"));
        assert!(t.is_match(b"\x00\x00"));
        check(&t);
    }

    #[test]
    fn every_byte_value_as_a_child() {
        let mut t = SubscriptionTrie::new();
        for b in (0..=255u8).rev() {
            t.add(&[b, b], u64::from(b));
        }
        assert_eq!(t.len(), 256);
        check(&t);
        for b in 0..=255u8 {
            assert_eq!(matched(&t, &[b, b, 0]), [u64::from(b)]);
            assert!(!t.is_match(&[b, b.wrapping_add(1)]));
        }
        for b in 0..=255u8 {
            assert!(t.remove(&[b, b], u64::from(b)).last_for_topic);
        }
        assert_eq!(check(&t), 1);
    }

    #[test]
    fn splits_and_merges_keep_the_tree_compact() {
        let mut t = SubscriptionTrie::new();
        t.add(b"abcdef", 1u64);
        assert_eq!(check(&t), 2);
        t.add(b"abcxyz", 2); // splits "abcdef" at 3
        assert_eq!(check(&t), 4);
        t.add(b"abc", 3); // lands on the split node
        assert_eq!(check(&t), 4);
        t.add(b"ab", 4); // splits "abc" at 2
        assert_eq!(check(&t), 5);
        t.remove(b"abc", 3); // "c" keeps two children
        assert_eq!(check(&t), 5);
        t.remove(b"abcxyz", 2); // leaf goes; "c" merges with "def"
        assert_eq!(check(&t), 3);
        t.remove(b"ab", 4); // "ab" merges with "cdef"
        assert_eq!(check(&t), 2);
        assert_eq!(entries(&t), [(b"abcdef".to_vec(), 1, 1)]);
        assert!(t.is_match(b"abcdefg"));
        assert!(!t.is_match(b"abcde"));
    }

    #[test]
    fn long_topics() {
        let mut t = SubscriptionTrie::new();
        let long: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        t.add(&long, 1u64);
        t.add(&long[..5_000], 2);
        t.add(&long[..9_999], 3);
        check(&t);
        let mut msg = long.clone();
        msg.push(0);
        assert_eq!(matched(&t, &msg), [1, 2, 3]);
        assert_eq!(matched(&t, &long[..9_999]), [2, 3]);
        assert_eq!(matched(&t, &long[..4_999]), Vec::<u64>::new());
        assert_eq!(t.count(&long, 1), 1);
        assert_eq!(gone(&mut t, 2), [long[..5_000].to_vec()]);
        assert_eq!(entries(&t).len(), 2);
        assert_eq!(check(&t), 3);
    }

    #[test]
    fn deep_tree_does_not_recurse() {
        // "a", "aa", ..., each a node of its own: 3000 levels deep. Every
        // operation runs on a 128 KiB stack, which recursion would overflow.
        const DEPTH: usize = 3000;
        let run = || {
            let mut t = SubscriptionTrie::new();
            let msg = vec![b'a'; DEPTH + 1];
            for len in 1..=DEPTH {
                t.add(&msg[..len], 1u64);
            }
            t.add(&msg[..DEPTH], 2);
            assert_eq!(t.len(), DEPTH);
            assert_eq!(matched(&t, &msg), [1, 2]);
            assert!(t.is_match(&msg));
            let mut n = 0;
            t.for_each_topic(|_, _, _| n += 1);
            assert_eq!(n, DEPTH + 1);
            assert!(t.remove(&msg[..DEPTH / 2], 1u64).last_for_topic);
            let mut gone = 0;
            t.remove_key(1, |_| gone += 1);
            assert_eq!(gone, DEPTH - 2);
            assert_eq!(t.len(), 1);
            for len in 1..DEPTH {
                t.add(&msg[..len], 3);
            }
            drop(t);
        };
        std::thread::Builder::new()
            .stack_size(128 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn debug_lists_entries() {
        let mut t = SubscriptionTrie::new();
        t.add(b"a\x00", 1u64);
        t.add(b"a\x00", 1);
        assert_eq!(format!("{t:?}"), r#"{"a\x00": [(1, 2)]}"#);
    }

    /// xorshift64*: deterministic, good enough to shuffle operations.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// Short strings over a four-byte alphabet, so that topics share
        /// prefixes and messages often match.
        fn bytes(&mut self, max_len: u64) -> Vec<u8> {
            const ALPHABET: [u8; 4] = [0x00, b'a', b'b', 0xFF];
            let len = self.below(max_len + 1);
            (0..len).map(|_| ALPHABET[self.below(4) as usize]).collect()
        }
    }

    /// The obvious implementation: a list of (topic, key, count).
    #[derive(Default)]
    struct Model(Vec<(Vec<u8>, u64, u32)>);

    impl Model {
        fn count(&self, topic: &[u8], key: u64) -> u32 {
            self.0
                .iter()
                .find(|(t, k, _)| t == topic && *k == key)
                .map_or(0, |e| e.2)
        }

        fn holds_topic(&self, topic: &[u8]) -> bool {
            self.0.iter().any(|(t, _, _)| t == topic)
        }

        fn add(&mut self, topic: &[u8], key: u64) -> Added {
            let first_for_topic = !self.holds_topic(topic);
            if let Some(e) = self.0.iter_mut().find(|(t, k, _)| t == topic && *k == key) {
                e.2 += 1;
                return added(false, first_for_topic);
            }
            self.0.push((topic.to_vec(), key, 1));
            added(true, first_for_topic)
        }

        fn remove(&mut self, topic: &[u8], key: u64) -> Removed {
            let Some(i) = self.0.iter().position(|(t, k, _)| t == topic && *k == key) else {
                return NOT_FOUND;
            };
            self.0[i].2 -= 1;
            if self.0[i].2 > 0 {
                return removed(true, false, false);
            }
            self.0.remove(i);
            removed(true, true, !self.holds_topic(topic))
        }

        fn remove_key(&mut self, key: u64) -> Vec<Vec<u8>> {
            let mut topics: Vec<Vec<u8>> = self
                .0
                .iter()
                .filter(|e| e.1 == key)
                .map(|e| e.0.clone())
                .collect();
            self.0.retain(|e| e.1 != key);
            topics.retain(|t| !self.holds_topic(t));
            topics.sort();
            topics
        }

        fn matches(&self, msg: &[u8]) -> Vec<u64> {
            let mut keys: Vec<u64> = self
                .0
                .iter()
                .filter(|e| msg.starts_with(&e.0))
                .map(|e| e.1)
                .collect();
            keys.sort_unstable();
            keys.dedup();
            keys
        }

        fn entries(&self) -> Vec<(Vec<u8>, u64, u32)> {
            let mut all = self.0.clone();
            all.sort();
            all
        }

        fn topics(&self) -> usize {
            let mut topics: Vec<&Vec<u8>> = self.0.iter().map(|e| &e.0).collect();
            topics.sort();
            topics.dedup();
            topics.len()
        }
    }

    #[test]
    fn randomized_against_a_naive_model() {
        for seed in 1..=40u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
            let mut t = SubscriptionTrie::new();
            let mut m = Model::default();
            let keys = 1 + rng.below(6);
            for step in 0..2_000 {
                let topic = rng.bytes(6);
                let key = rng.below(keys);
                match rng.below(100) {
                    0..=44 => {
                        let want = m.add(&topic, key);
                        assert_eq!(t.add(&topic, key), want, "add {seed}/{step}");
                    }
                    45..=84 => {
                        let want = m.remove(&topic, key);
                        assert_eq!(t.remove(&topic, key), want, "rm {seed}/{step}");
                    }
                    85..=87 => {
                        let want = m.remove_key(key);
                        assert_eq!(gone(&mut t, key), want, "rm key {seed}/{step}");
                    }
                    _ => {
                        let msg = rng.bytes(9);
                        let want = m.matches(&msg);
                        assert_eq!(matched(&t, &msg), want, "matches {seed}/{step}");
                        assert_eq!(t.is_match(&msg), !want.is_empty(), "is_match {seed}/{step}");
                    }
                }
                assert_eq!(t.count(&topic, key), m.count(&topic, key));
                assert_eq!(t.len(), m.topics());
                if step % 50 == 0 {
                    check(&t);
                    assert_eq!(entries(&t), m.entries(), "entries {seed}/{step}");
                }
            }
            check(&t);
            assert_eq!(entries(&t), m.entries());
            for key in 0..keys {
                assert_eq!(gone(&mut t, key), m.remove_key(key));
            }
            assert!(t.is_empty());
            assert_eq!(check(&t), 1);
        }
    }
}
