//! Drives one `zeroring::mpsc` ring through an arbitrary interleaving of
//! operations by four producer handles (owners 0 to 3) and the consumer,
//! single-threaded, and checks every observable result against a model.
//!
//! The model keeps the ring's claims in position order, each claimed
//! (owner), published (bytes, flags) or padding, with its own byte
//! accounting: a record takes `8 + round_up(len, 8)` bytes; a claim is
//! `Full` iff `tail - released + size > capacity`; a claim that would cross
//! the region's end becomes padding and the producer claims again. From
//! that it predicts:
//!
//! * `claim`: `TooLarge` iff over `max_payload`, else `Full` or `Ok` at
//!   the predicted position; a claim raced by another producer's claim
//!   between its room check and its `fetch_add` (the `claim_racing` hook)
//!   lands after that one, and if that puts it beyond the consumer's head
//!   plus the capacity it is taken back (`Full`, tail restored).
//! * `peek`: the published records in claim order, byte-exact, padding
//!   (wrap, dropped claims, shortened commits, skipped claims) skipped,
//!   `None` at an unpublished claim, with `claimant` naming its owner.
//! * a producer that stops mid-write (its claim forgotten, the owner dead
//!   from then on) blocks the consumer until `skip_abandoned` of that owner,
//!   which must skip exactly that claim; a live owner's claim is never
//!   skipped (`skip_abandoned` is never called for it).
//! * space advanced past is reused only after `release`.
//!
//! Hostile steps write any word of the region or either cursor, as a peer
//! in another process could. From the first one on nothing is predicted:
//! every call must still return (records, `None`, `Corrupt`, `Full` ...)
//! without panicking or touching memory outside the ring.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use zeroring::mpsc::{self, hooks, Claim, ClaimError, Consumer, Producer, DESCRIPTOR};

#[derive(Arbitrary, Debug)]
struct Case {
    /// Region size is `64 << (cap_sel % 5)`: 64 ..= 1024 bytes.
    cap_sel: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Op {
    /// Producer `p % 4` claims `len % (max_payload + 9)` and fills it.
    Claim { p: u8, len: u16, seed: u8 },
    /// Producer `p`'s claim, raced by producer `q`'s push of `q_len`.
    Race { p: u8, q: u8, len: u16, q_len: u16, seed: u8 },
    /// Commit `claimed * frac / 255` bytes.
    Commit { p: u8, frac: u8, desc: bool },
    /// Claim, fill and commit in one (`push`).
    Push { p: u8, len: u16, seed: u8 },
    /// Drop the claim: padding.
    Drop { p: u8 },
    /// The producer stops mid-write for good (its process dies).
    Stop { p: u8 },
    /// The consumer skips the claim at its head if its owner is dead.
    Skip,
    Peek,
    Recv,
    Release,
    /// A peer rewrites a word of the region.
    HostileWord { off: u16, value: u64 },
    /// A peer rewrites the tail (`which` even) or the head.
    HostileCursor { which: u8, value: u64 },
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Claimed { owner: usize },
    Published { data: Vec<u8>, flags: u32 },
    Padding,
}

#[derive(Debug)]
struct Entry {
    pos: u64,
    size: u64,
    state: State,
}

fn size_of(len: usize) -> u64 {
    8 + ((len as u64 + 7) & !7)
}

struct Model {
    cap: u64,
    max: usize,
    tail: u64,
    head: u64,
    released: u64,
    entries: VecDeque<Entry>,
}

impl Model {
    /// A normal claim of `len` bytes by `owner`: its position, or the error.
    fn claim(&mut self, len: usize, owner: usize) -> Result<u64, ClaimError> {
        if len > self.max {
            return Err(ClaimError::TooLarge);
        }
        let need = size_of(len);
        loop {
            if self.tail - self.released + need > self.cap {
                return Err(ClaimError::Full);
            }
            let start = self.place(need, owner)?;
            return Ok(start);
        }
    }

    /// Takes `need` bytes at the tail, padding and claiming again where
    /// they would cross the region's end (no room check: done by callers).
    fn place(&mut self, need: u64, owner: usize) -> Result<u64, ClaimError> {
        let start = self.tail;
        self.tail += need;
        if start % self.cap + need > self.cap {
            self.entries.push_back(Entry {
                pos: start,
                size: need,
                state: State::Padding,
            });
            if self.tail - self.released + need > self.cap {
                return Err(ClaimError::Full);
            }
            return self.place(need, owner);
        }
        self.entries.push_back(Entry {
            pos: start,
            size: need,
            state: State::Claimed { owner },
        });
        Ok(start)
    }

    fn entry(&mut self, pos: u64) -> &mut Entry {
        self.entries
            .iter_mut()
            .find(|e| e.pos == pos)
            .expect("claim in the model")
    }

    /// What `peek` finds: padding skipped (moving the head), then the
    /// record at the head if published.
    fn peek(&mut self) -> Option<(Vec<u8>, u32)> {
        loop {
            if self.head - self.released >= self.cap {
                return None;
            }
            let e = self.entries.front()?;
            assert_eq!(e.pos, self.head, "model: entries start at the head");
            match &e.state {
                State::Padding => {
                    self.head += e.size;
                    self.entries.pop_front();
                }
                State::Claimed { .. } => return None,
                State::Published { data, flags } => return Some((data.clone(), *flags)),
            }
        }
    }

    fn claimant(&self) -> Option<usize> {
        if self.head - self.released >= self.cap {
            return None;
        }
        match self.entries.front()?.state {
            State::Claimed { owner } => Some(owner),
            _ => None,
        }
    }
}

fn fill(c: &mut Claim<'_>, seed: u8) -> Vec<u8> {
    let buf = c.payload();
    for (k, b) in buf.iter_mut().enumerate() {
        *b = seed ^ (k as u8).wrapping_mul(13);
    }
    buf.to_vec()
}

struct Held<'a> {
    claim: Claim<'a>,
    data: Vec<u8>,
}

fuzz_target!(|case: Case| {
    let cap = 64usize << (case.cap_sel % 5);
    let (tx, mut rx) = mpsc::mpsc(cap);
    let producers: Vec<Producer> = (0..4).map(|o| tx.with_owner(o)).collect();
    let mut held: Vec<Option<Held<'_>>> = (0..4).map(|_| None).collect();
    let mut dead = [false; 4];
    let max = tx.max_payload();
    let mut m = Model {
        cap: cap as u64,
        max,
        tail: 0,
        head: 0,
        released: 0,
        entries: VecDeque::new(),
    };
    let mut hostile = false;

    for op in case.ops.iter().copied().take(2000) {
        match op {
            Op::Claim { p, len, seed } => {
                let p = p as usize % 4;
                if dead[p] || held[p].is_some() {
                    continue;
                }
                let len = len as usize % (max + 9);
                let got = producers[p].claim(len);
                let want = (!hostile).then(|| m.claim(len, p));
                match got {
                    Ok(mut c) => {
                        if let Some(want) = want {
                            assert_eq!(Ok(c.position()), want, "claim {len} by {p}");
                        }
                        let data = fill(&mut c, seed);
                        held[p] = Some(Held { claim: c, data });
                    }
                    Err(e) => {
                        if let Some(want) = want {
                            assert_eq!(Err(e), want, "claim {len} by {p}");
                        }
                    }
                }
            }
            Op::Race { p, q, len, q_len, seed } => {
                let (p, q) = (p as usize % 4, q as usize % 4);
                if p == q || dead[p] || held[p].is_some() || dead[q] {
                    continue;
                }
                let len = len as usize % (max + 1);
                let q_len = q_len as usize % (max + 1);
                let need = size_of(len);
                // The model: p's room check, then q's push, then p's add.
                let mut ran = false;
                let mut q_got = None;
                let got = hooks::claim_racing(&producers[p], len, || {
                    ran = true;
                    q_got = Some(producers[q].push(&vec![seed; q_len]));
                });
                if hostile {
                    if let Ok(mut c) = got {
                        let data = fill(&mut c, seed);
                        held[p] = Some(Held { claim: c, data });
                    }
                    continue;
                }
                let fits_first = m.tail - m.released + need <= m.cap;
                assert_eq!(ran, fits_first, "the race runs after the room check");
                if !fits_first {
                    assert_eq!(got.err(), Some(ClaimError::Full));
                    continue;
                }
                // q's push.
                let q_want = m.claim(q_len, q).map(|pos| {
                    m.entry(pos).state = State::Published {
                        data: vec![seed; q_len],
                        flags: 0,
                    };
                });
                assert_eq!(q_got.unwrap(), q_want, "q's push inside the race");
                // p's add lands at the tail, wherever it is now.
                let want = if m.tail + need - m.released > m.cap {
                    Err(ClaimError::Full) // taken back
                } else {
                    m.place(need, p)
                };
                match got {
                    Ok(mut c) => {
                        assert_eq!(Ok(c.position()), want, "raced claim by {p}");
                        let data = fill(&mut c, seed);
                        held[p] = Some(Held { claim: c, data });
                    }
                    Err(e) => assert_eq!(Err(e), want, "raced claim by {p}"),
                }
            }
            Op::Commit { p, frac, desc } => {
                let p = p as usize % 4;
                let Some(Held { claim, data }) = held[p].take() else {
                    continue;
                };
                let pos = claim.position();
                let len = claim.len() * frac as usize / 255;
                let flags = if desc { DESCRIPTOR } else { 0 };
                claim.commit_len(len, flags);
                if !hostile {
                    let e = m.entry(pos);
                    let full = e.size;
                    e.size = size_of(len);
                    e.state = State::Published {
                        data: data[..len].to_vec(),
                        flags,
                    };
                    if size_of(len) < full {
                        let i = m.entries.iter().position(|e| e.pos == pos).unwrap();
                        m.entries.insert(
                            i + 1,
                            Entry {
                                pos: pos + size_of(len),
                                size: full - size_of(len),
                                state: State::Padding,
                            },
                        );
                    }
                }
            }
            Op::Push { p, len, seed } => {
                let p = p as usize % 4;
                if dead[p] || held[p].is_some() {
                    continue;
                }
                let len = len as usize % (max + 9);
                let data = vec![seed; len];
                let got = producers[p].push(&data);
                if !hostile {
                    let want = m.claim(len, p).map(|pos| {
                        m.entry(pos).state = State::Published { data, flags: 0 };
                    });
                    assert_eq!(got, want, "push {len} by {p}");
                }
            }
            Op::Drop { p } => {
                let p = p as usize % 4;
                if let Some(h) = held[p].take() {
                    let pos = h.claim.position();
                    drop(h);
                    if !hostile {
                        m.entry(pos).state = State::Padding;
                    }
                }
            }
            Op::Stop { p } => {
                let p = p as usize % 4;
                if let Some(h) = held[p].take() {
                    std::mem::forget(h.claim);
                    dead[p] = true;
                }
            }
            Op::Skip => {
                let peeked = rx.peek();
                let who = rx.claimant();
                if !hostile {
                    assert_eq!(peeked.map(|r| r.is_some()), Ok(m.peek().is_some()));
                    assert_eq!(who.map(usize::from), m.claimant(), "claimant");
                }
                if let Some(o) = who {
                    if o < 4 && dead[o as usize] {
                        // SAFETY: owner `o` forgot its claim and never
                        // claims again; no other handle has its id.
                        let skipped = unsafe { rx.skip_abandoned(o) };
                        if !hostile {
                            assert_eq!(skipped, Ok(true));
                            m.entries.front_mut().unwrap().state = State::Padding;
                        }
                    }
                }
            }
            Op::Peek | Op::Recv => match rx.peek() {
                Ok(Some(rec)) => {
                    let payload = rx.payload(&rec).to_vec();
                    if !hostile {
                        let (data, flags) = m.peek().expect("model has a record");
                        assert_eq!(payload, data);
                        assert_eq!(rec.flags(), flags);
                    }
                    if matches!(op, Op::Recv) {
                        rx.advance(rec);
                        if !hostile {
                            let e = m.entries.pop_front().unwrap();
                            m.head += e.size;
                        }
                    }
                }
                Ok(None) => {
                    if !hostile {
                        assert_eq!(m.peek(), None);
                        assert!(rx.caught_up());
                    }
                }
                Err(_) => assert!(hostile, "corrupt without a hostile peer"),
            },
            Op::Release => {
                rx.release();
                m.released = m.head;
                if !hostile {
                    assert_eq!(rx.unreleased(), 0);
                    assert_eq!(rx.position(), m.head);
                }
            }
            Op::HostileWord { off, value } => {
                hooks::hostile_word(&rx, off as usize, value);
                hostile = true;
            }
            Op::HostileCursor { which, value } => {
                hooks::hostile_cursor(&rx, which % 2, value);
                hostile = true;
            }
        }
    }
    drop(held);
    drain(&mut rx, hostile);
});

/// Reads what is left: bounded, whatever the ring holds.
fn drain(rx: &mut Consumer, hostile: bool) {
    for _ in 0..4096 {
        match rx.peek() {
            Ok(Some(rec)) => {
                std::hint::black_box(rx.payload(&rec));
                rx.advance(rec);
                rx.release();
            }
            Ok(None) => return,
            Err(_) => {
                assert!(hostile, "corrupt without a hostile peer");
                return;
            }
        }
    }
}
