//! Drives one `zeroring::ring` pair through an arbitrary sequence of producer
//! and consumer operations (single-threaded) and checks every observable
//! result against a reference model built on `VecDeque`.
//!
//! The model mirrors the ring's byte accounting independently: positions are
//! monotonically increasing `u64`s, each record takes `8 + round_up(len, 8)`
//! bytes, a record that would cross the end of the region is preceded by
//! a padding record filling the rest of it, and after a message's last
//! record the next message starts on the next line, unless more than a
//! quarter of the ring waits for the consumer (as the producer last loaded
//! its head) and the next header's word is free: then it packs right behind.
//! From that it predicts, for every operation:
//!
//! * `claim`: `TooLarge` iff `len > max_payload()` or the record could never
//!   fit beside the unpublished bytes (`unpublished + pad + need > cap`);
//!   otherwise `Full` iff it does not fit in the space released by the
//!   consumer (`tail + pad + need - released > cap`); otherwise `Ok` with a
//!   slice of exactly `len` bytes. `Corrupt` is never expected.
//! * `peek`: exactly the published, not yet advanced records, FIFO, padding
//!   skipped, with byte-exact payloads and the flags given to `commit`.
//!   Nothing committed is visible before `publish`, which publishes whole
//!   messages only; `rollback` discards exactly the unpublished records
//!   (and padding). Stale bytes the producer abandoned (claims written and
//!   never committed, records rolled back) are never taken for records.
//! * `advance`d but unreleased space is not reusable until `release`.
//! * counters: `unpublished`, `unreleased`, `unreleased_msgs`, `caught_up`,
//!   `queued_msgs`, `below`, `max_payload`, `capacity`.
//!
//! The payload of a peeked record is re-checked right before it is advanced
//! past, so producer writes over unreleased bytes show up as a mismatch.
//!
//! Calls the API documents as panicking (commit without a claim, advance of a
//! record not peeked last) are never made: the harness skips them.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use zeroring::ring::{self, ClaimError, Consumer, Producer, Record, DESCRIPTOR, LINE, MORE};

#[derive(Arbitrary, Debug)]
struct Case {
    /// Region size is `64 << (cap_sel % 7)`: 64 ..= 4096 bytes.
    cap_sel: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// `claim(len % (max_payload + 17))` and fill the slice.
    Claim {
        len: u16,
        seed: u8,
    },
    /// `commit(claimed * frac / 255, flags)` if something is claimed.
    Commit {
        frac: u8,
        more: bool,
        desc: bool,
    },
    /// Claim, fill and commit the whole claim (if the claim succeeds).
    Send {
        len: u16,
        more: bool,
        seed: u8,
    },
    /// `push` of a whole one-frame message, when no message is in progress.
    Push {
        len: u16,
        seed: u8,
    },
    /// `push_delimited`: an empty frame then a body, as `Push`.
    PushDelimited {
        len: u16,
        seed: u8,
    },
    Publish,
    Rollback,
    Peek,
    /// Advance past the last peeked record, if any.
    Advance,
    Release,
    /// Peek and, if there is a record, advance past it.
    Recv,
    /// Send records of one size until the claim fails, then publish.
    Fill {
        len: u16,
        seed: u8,
    },
    /// Receive everything published, then release.
    Drain,
    /// `queued_msgs()` and `below(limit)`.
    Queries {
        limit: u8,
    },
}

const HEADER: u64 = 8;

fn record_size(len: u64) -> u64 {
    HEADER + ((len + 7) & !7)
}

/// Deterministic payload bytes, unique per claim so stale data is caught.
fn fill(buf: &mut [u8], serial: u64, seed: u8) -> Vec<u8> {
    let mut x = serial
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(seed as u64)
        | 1;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    buf.to_vec()
}

#[derive(Debug, Clone)]
enum Entry {
    Pad {
        pos: u64,
        size: u64,
    },
    /// `next`: where the consumer goes after it.
    Rec {
        pos: u64,
        flags: u32,
        data: Vec<u8>,
        next: u64,
    },
}

impl Entry {
    fn pos(&self) -> u64 {
        match self {
            Entry::Pad { pos, .. } | Entry::Rec { pos, .. } => *pos,
        }
    }
}

#[derive(Debug)]
struct Model {
    cap: u64,
    /// Producer: next free position (committed + padding of live claims).
    tail: u64,
    /// Producer: end of what is published.
    published: u64,
    /// Producer: end of the last whole message committed.
    msg_end: u64,
    /// Producer: its cached copy of the released head.
    cached: u64,
    /// Consumer: next position to read (advanced past, padding skipped).
    chead: u64,
    /// Consumer: released head.
    released: u64,
    /// The live claim: start position and the bytes written into it.
    claimed: Option<(u64, Vec<u8>)>,
    /// Committed (or padding), not yet published.
    unpub: VecDeque<Entry>,
    /// Published, not yet advanced past.
    pubq: VecDeque<Entry>,
    msgs: u64,
    msgs_published: u64,
    msgs_advanced: u64,
    msgs_released: u64,
}

impl Model {
    fn new(cap: u64) -> Self {
        Self {
            cap,
            tail: 0,
            published: 0,
            msg_end: 0,
            cached: 0,
            chead: 0,
            released: 0,
            claimed: None,
            unpub: VecDeque::new(),
            pubq: VecDeque::new(),
            msgs: 0,
            msgs_published: 0,
            msgs_advanced: 0,
            msgs_released: 0,
        }
    }

    fn max_payload(&self) -> usize {
        (self.cap / 2 - HEADER) as usize
    }

    /// Predicts `claim(len)`; on success the start of the record, with any
    /// padding already accounted for.
    fn claim(&mut self, len: usize) -> Result<u64, ClaimError> {
        if len > self.max_payload() {
            return Err(ClaimError::TooLarge);
        }
        self.claim_room(record_size(len as u64))
    }

    /// Predicts the room `push_delimited(len)` takes: an empty frame's
    /// header and the body's record, together.
    fn claim_delimited(&mut self, len: usize) -> Result<u64, ClaimError> {
        if len + HEADER as usize > self.max_payload() {
            return Err(ClaimError::TooLarge);
        }
        self.claim_room(HEADER + record_size(len as u64))
    }

    fn claim_room(&mut self, need: u64) -> Result<u64, ClaimError> {
        let off = self.tail % self.cap;
        let pad = if need <= self.cap - off {
            0
        } else {
            self.cap - off
        };
        if self.tail + pad + need - self.cached > self.cap {
            self.cached = self.released;
        }
        if (self.tail - self.published) + pad + need > self.cap {
            return Err(ClaimError::TooLarge);
        }
        if self.tail + pad + need - self.cached > self.cap {
            return Err(ClaimError::Full);
        }
        if pad > 0 {
            self.unpub.push_back(Entry::Pad {
                pos: self.tail,
                size: pad,
            });
            self.tail += pad;
        }
        Ok(self.tail)
    }

    fn commit(&mut self, len: usize, flags: u32) {
        let (start, mut data) = self.claimed.take().expect("model: commit without claim");
        data.truncate(len);
        let end = start + record_size(len as u64);
        let next = if flags & MORE != 0 {
            end
        } else {
            self.msgs += 1;
            let quarter = self.cap / 4;
            let mut packed = false;
            if end % LINE != 0 && end - self.cached > quarter {
                if self.released >= self.cached && self.released <= self.published {
                    self.cached = self.released;
                }
                packed = end - self.cached > quarter && end + HEADER - self.cached <= self.cap;
            }
            let next = if packed {
                end
            } else {
                (end + LINE - 1) & !(LINE - 1)
            };
            self.msg_end = next;
            next
        };
        self.unpub.push_back(Entry::Rec {
            pos: start,
            flags,
            data,
            next,
        });
        self.tail = next;
    }

    fn publish(&mut self) {
        self.published = self.msg_end;
        while self.unpub.front().is_some_and(|e| e.pos() < self.msg_end) {
            self.pubq.push_back(self.unpub.pop_front().unwrap());
        }
        self.msgs_published = self.msgs;
    }

    fn rollback(&mut self) {
        self.claimed = None;
        self.tail = self.published;
        self.msg_end = self.published;
        self.unpub.clear();
        self.msgs = self.msgs_published;
    }

    /// Mirrors `Consumer::peek`: the front record, skipping padding.
    fn peek(&mut self) -> Option<(u32, Vec<u8>)> {
        loop {
            let front = self.pubq.front()?;
            assert_eq!(front.pos(), self.chead, "model: entry position drift");
            match front {
                Entry::Pad { size, .. } => {
                    self.chead += size;
                    self.pubq.pop_front();
                }
                Entry::Rec { flags, data, .. } => return Some((*flags, data.clone())),
            }
        }
    }

    fn advance(&mut self) {
        match self.pubq.pop_front() {
            Some(Entry::Rec {
                pos, flags, next, ..
            }) => {
                assert_eq!(pos, self.chead);
                self.chead = next;
                if flags & MORE == 0 {
                    self.msgs_advanced += 1;
                }
            }
            other => panic!("model: advance over {other:?}"),
        }
    }

    fn release(&mut self) {
        self.released = self.chead;
        self.msgs_released = self.msgs_advanced;
    }

    fn queued(&self) -> u64 {
        self.msgs_published - self.msgs_released
    }

    /// Cursors and entries without payload bytes, for failure messages.
    fn summary(&self) -> String {
        let show = |q: &VecDeque<Entry>| {
            q.iter()
                .map(|e| match e {
                    Entry::Pad { pos, size } => format!("pad@{pos}+{size}"),
                    Entry::Rec {
                        pos, flags, data, ..
                    } => {
                        format!("rec@{pos} len={} flags={flags}", data.len())
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "model cap={} tail={} published={} cached={} chead={} released={} claimed={:?} \
             msgs={}/{} pub, {}/{} adv/rel; unpublished=[{}] published=[{}]",
            self.cap,
            self.tail,
            self.published,
            self.cached,
            self.chead,
            self.released,
            self.claimed.as_ref().map(|(p, d)| (*p, d.len())),
            self.msgs,
            self.msgs_published,
            self.msgs_advanced,
            self.msgs_released,
            show(&self.unpub),
            show(&self.pubq),
        )
    }

    fn check_self(&self) {
        assert!(self.released <= self.chead);
        assert!(self.chead <= self.published && self.msg_end <= self.tail);
        assert!(self.published <= self.tail);
        // The last message's end rounds up to its line.
        assert!(self.tail - self.released <= self.cap + LINE - HEADER);
        assert!(self.tail % 8 == 0 && self.chead % 8 == 0);
    }
}

struct Harness {
    tx: Producer,
    rx: Consumer,
    m: Model,
    /// The record `peek` returned last, while not yet advanced past.
    peeked: Option<Record>,
    serial: u64,
}

impl Harness {
    fn claim(&mut self, len: usize, seed: u8) -> bool {
        let want = self.m.claim(len);
        self.serial += 1;
        let serial = self.serial;
        match (self.tx.claim(len), want) {
            (Ok(buf), Ok(start)) => {
                assert_eq!(
                    buf.len(),
                    len,
                    "claim({len}) returned a slice of {}",
                    buf.len()
                );
                let data = fill(buf, serial, seed);
                self.m.claimed = Some((start, data));
                true
            }
            (Err(got), Err(exp)) => {
                assert_eq!(
                    got,
                    exp,
                    "claim({len}): ring said {got:?}, model {exp:?}; {}",
                    self.m.summary()
                );
                false
            }
            (Ok(_), Err(exp)) => panic!(
                "claim({len}) succeeded, model expected {exp:?}; {}",
                self.m.summary()
            ),
            (Err(got), Ok(_)) => panic!(
                "claim({len}) failed with {got:?}, model expected Ok; {}",
                self.m.summary()
            ),
        }
    }

    fn commit(&mut self, frac: u8, flags: u32) {
        let Some((_, data)) = &self.m.claimed else {
            return;
        };
        let len = data.len() * frac as usize / 255;
        self.tx.commit(len, flags);
        self.m.commit(len, flags);
    }

    fn send(&mut self, len: usize, seed: u8, flags: u32) -> bool {
        if !self.claim(len, seed) {
            return false;
        }
        self.tx.commit(len, flags);
        self.m.commit(len, flags);
        true
    }

    fn push(&mut self, len: usize, seed: u8, delimited: bool) {
        if self.m.tail != self.m.published {
            return;
        }
        let want = if delimited {
            self.m.claim_delimited(len)
        } else {
            self.m.claim(len)
        };
        self.serial += 1;
        let data = fill(&mut vec![0; len], self.serial, seed);
        let got = if delimited {
            self.tx.push_delimited(&data)
        } else {
            self.tx.push(&data)
        };
        match (got, want) {
            (Ok(()), Ok(mut start)) => {
                if delimited {
                    self.m.claimed = Some((start, Vec::new()));
                    self.m.commit(0, MORE);
                    start += HEADER;
                }
                self.m.claimed = Some((start, data));
                self.m.commit(len, 0);
                self.m.publish();
            }
            (Err(got), Err(exp)) => assert_eq!(
                got,
                exp,
                "push({len}): ring said {got:?}, model {exp:?}; {}",
                self.m.summary()
            ),
            (got, exp) => panic!(
                "push({len}): ring {got:?}, model {exp:?}; {}",
                self.m.summary()
            ),
        }
    }

    fn peek(&mut self) -> bool {
        let got = self.rx.peek().expect("peek reported Corrupt");
        let exp = self.m.peek();
        match (got, exp) {
            (None, None) => {
                self.peeked = None;
                false
            }
            (Some(rec), Some((flags, data))) => {
                assert_eq!(rec.len(), data.len(), "peeked record length");
                assert_eq!(rec.flags(), flags, "peeked record flags");
                assert_eq!(rec.more(), flags & MORE != 0);
                assert_eq!(rec.is_empty(), data.is_empty());
                assert!(self.rx.payload(&rec) == &data[..], "peeked payload differs");
                if let Some(prev) = self.peeked {
                    assert_eq!(prev, rec, "second peek returned another record");
                }
                self.peeked = Some(rec);
                true
            }
            (got, exp) => panic!("peek: ring {got:?}, model {exp:?}; {}", self.m.summary()),
        }
    }

    fn advance(&mut self) {
        let Some(rec) = self.peeked.take() else {
            return;
        };
        // Still intact after whatever the producer did since the peek?
        let Some(Entry::Rec { data, .. }) = self.m.pubq.front() else {
            panic!("model: peeked record missing")
        };
        assert!(
            self.rx.payload(&rec) == &data[..],
            "payload changed between peek and advance"
        );
        self.rx.advance(rec);
        self.m.advance();
    }

    fn release(&mut self) {
        self.rx.release();
        self.m.release();
    }

    fn check(&mut self) {
        let m = &self.m;
        m.check_self();
        assert_eq!(
            self.tx.unpublished() as u64,
            m.tail - m.published,
            "unpublished(); {}",
            self.m.summary()
        );
        assert_eq!(
            self.rx.unreleased() as u64,
            m.chead - m.released,
            "unreleased(); {}",
            self.m.summary()
        );
        assert_eq!(
            self.rx.unreleased_msgs(),
            m.msgs_advanced - m.msgs_released,
            "unreleased_msgs(); {}",
            self.m.summary()
        );
        assert_eq!(
            self.rx.caught_up(),
            m.pubq.is_empty(),
            "caught_up(); {}",
            self.m.summary()
        );
        assert_eq!(self.tx.max_payload(), m.max_payload());
        assert_eq!(self.tx.capacity() as u64, m.cap);
        assert_eq!(self.rx.capacity() as u64, m.cap);
    }

    fn run(&mut self, op: Op) {
        let span = self.m.max_payload() + 17;
        match op {
            Op::Claim { len, seed } => {
                self.claim(len as usize % span, seed);
            }
            Op::Commit { frac, more, desc } => {
                let flags = if more { MORE } else { 0 } | if desc { DESCRIPTOR } else { 0 };
                self.commit(frac, flags);
            }
            Op::Send { len, more, seed } => {
                self.send(len as usize % span, seed, if more { MORE } else { 0 });
            }
            Op::Push { len, seed } => self.push(len as usize % span, seed, false),
            Op::PushDelimited { len, seed } => self.push(len as usize % span, seed, true),
            Op::Publish => {
                self.tx.publish();
                self.m.publish();
            }
            Op::Rollback => {
                self.tx.rollback();
                self.m.rollback();
            }
            Op::Peek => {
                self.peek();
            }
            Op::Advance => self.advance(),
            Op::Release => self.release(),
            Op::Recv => {
                if self.peek() {
                    self.advance();
                }
            }
            Op::Fill { len, seed } => {
                let len = len as usize % span;
                // Each record is >= 8 bytes, so this ends within cap / 8 + 1 rounds.
                for _ in 0..=self.m.cap / 8 {
                    if !self.send(len, seed, 0) {
                        break;
                    }
                }
                self.tx.publish();
                self.m.publish();
            }
            Op::Drain => {
                while self.peek() {
                    self.advance();
                }
                self.release();
            }
            Op::Queries { limit } => {
                let limit = limit as u64 % 8;
                let q = self.m.queued();
                assert_eq!(
                    self.tx.below(limit, 1),
                    q < limit,
                    "below({limit}) with {q} queued"
                );
                assert_eq!(
                    self.tx.queued_msgs(1),
                    q,
                    "queued_msgs(); {}",
                    self.m.summary()
                );
                assert_eq!(
                    self.tx.below(limit, 1),
                    q < limit,
                    "below({limit}) with {q} queued"
                );
            }
        }
        self.check();
    }
}

fuzz_target!(|case: Case| {
    let cap = 64usize << (case.cap_sel % 7);
    let (tx, rx) = ring::ring(cap);
    let mut h = Harness {
        tx,
        rx,
        m: Model::new(cap as u64),
        peeked: None,
        serial: 0,
    };
    h.check();
    for op in case.ops {
        h.run(op);
    }
    // Everything published must still come out, in order and intact.
    while h.peek() {
        h.advance();
    }
    h.release();
    h.check();
    assert_eq!(h.tx.queued_msgs(1), 0);
});
