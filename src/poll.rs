//! `poll`: wait until any of several sockets can receive or send, as
//! `zmq_poll` does.
//!
//! It checks every socket; if none is ready it spins briefly, then arms every
//! socket's doorbell, re-checks (the doorbell handshake), and sleeps on all
//! of their futex words at once with `futex_waitv`, so a long wait costs no
//! CPU. Any peer that publishes, releases room or closes wakes it.

use crate::error::{Error, Result};
use crate::pipe::doorbell;
use crate::Socket;
use std::time::{Duration, Instant};

/// Poll for readability: a message can be received (`ZMQ_POLLIN`).
pub const POLLIN: i16 = 1;
/// Poll for writability: a message can be sent (`ZMQ_POLLOUT`).
pub const POLLOUT: i16 = 2;

/// A socket and the events to wait for; [`poll`] fills in what happened.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: &'a Socket,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// Waits for `events` ([`POLLIN`], [`POLLOUT`], or both) on `socket`.
    pub fn new(socket: &'a Socket, events: i16) -> Self {
        Self {
            socket,
            events,
            revents: 0,
        }
    }
    /// The events that happened in the last [`poll`].
    pub fn get_revents(&self) -> i16 {
        self.revents
    }
    /// Whether the last [`poll`] found the socket readable.
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }
    /// Whether the last [`poll`] found the socket writable.
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }
}

impl Socket {
    /// A [`PollItem`] for this socket (the `zmq` crate's `as_poll_item`).
    pub fn as_poll_item(&self, events: i16) -> PollItem<'_> {
        PollItem::new(self, events)
    }

    /// The events ready now: [`POLLIN`] and/or [`POLLOUT`] (`ZMQ_EVENTS`).
    pub fn get_events(&self) -> Result<i16> {
        let mut events = 0;
        if self.readable()? {
            events |= POLLIN;
        }
        if self.writable()? {
            events |= POLLOUT;
        }
        Ok(events)
    }
}

/// Fills in each item's events and returns how many items have any.
fn check(items: &mut [PollItem<'_>]) -> Result<i32> {
    let mut ready = 0;
    for item in items.iter_mut() {
        item.revents = 0;
        if item.events & POLLIN != 0 && item.socket.readable()? {
            item.revents |= POLLIN;
        }
        if item.events & POLLOUT != 0 && item.socket.writable()? {
            item.revents |= POLLOUT;
        }
        if item.revents != 0 {
            ready += 1;
        }
    }
    Ok(ready)
}

/// Waits until at least one item is ready, or `timeout_ms` passes (-1: no
/// limit, 0: don't wait). Returns the number of items with events, which are
/// in each item's `revents`, like `zmq::poll`.
///
/// ```
/// use zeroring::{poll, Context, SocketType, POLLIN};
/// let ctx = Context::new();
/// let a = ctx.socket(SocketType::Pull).unwrap();
/// let b = ctx.socket(SocketType::Pull).unwrap();
/// a.bind("inproc://doc-poll-a").unwrap();
/// b.bind("inproc://doc-poll-b").unwrap();
/// let push = ctx.socket(SocketType::Push).unwrap();
/// push.connect("inproc://doc-poll-b").unwrap();
/// push.send("hi", 0).unwrap();
/// let mut items = [a.as_poll_item(POLLIN), b.as_poll_item(POLLIN)];
/// assert_eq!(poll(&mut items, 1000).unwrap(), 1);
/// assert!(items[1].is_readable() && !items[0].is_readable());
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<i32> {
    let ready = check(items)?;
    if ready > 0 || timeout_ms == 0 {
        return Ok(ready);
    }
    let start = Instant::now();
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| start + Duration::from_millis(ms));
    // A short spin catches a peer that is about to answer, without a sleep.
    while start.elapsed() < Duration::from_micros(10) {
        std::hint::spin_loop();
        let ready = check(items)?;
        if ready > 0 {
            return Ok(ready);
        }
    }
    loop {
        if items.iter().any(|i| i.socket.context_terminated()) {
            return Err(Error::Terminated);
        }
        let left = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return check(items),
            },
            None => None,
        };
        let bells: Vec<_> = items.iter().map(|i| i.socket.bell()).collect();
        let words: Vec<_> = bells.iter().map(|b| (b.word(), b.arm())).collect();
        for item in items.iter().filter(|i| i.events & POLLOUT != 0) {
            item.socket.want_room();
        }
        doorbell::barrier_before_check();
        let ready = check(items);
        if !matches!(ready, Ok(0)) {
            bells.iter().for_each(|b| b.disarm());
            return ready;
        }
        let slept = crate::pipe::futex::wait_many(&words, left);
        bells.iter().for_each(|b| b.disarm());
        if !slept {
            // No futex_waitv (Linux < 5.16): nap briefly and look again.
            std::thread::sleep(
                left.unwrap_or(Duration::MAX)
                    .min(Duration::from_micros(200)),
            );
        }
        let ready = check(items)?;
        if ready > 0 {
            return Ok(ready);
        }
    }
}
