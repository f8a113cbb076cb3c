//! How an async task waits on a thread-safe socket (feature `async`): the
//! `poll` steps of the sockets' `*_async` methods.
//!
//! Any number of tasks may wait on one socket at once, as poll calls do,
//! and they wait where poll calls wait (see `poll`): a task waiting to
//! receive keeps its `Waker` in the socket's `pollers`, woken through the
//! doorbell's notify mode; one waiting for room keeps it in the socket's
//! [`Room`], counted as a waiting writer. Each wake-up reaches every task
//! waiting for that event: those that find nothing wait again.
//!
//! The order is poll's, so no wake-up is lost:
//! - to receive: register the waker, announce the wait on the doorbell
//!   (`arm_notify`, with the socket's waker that wakes all of `pollers`),
//!   the heavy barrier (the writers fence lightly), then look again;
//! - to send: register the waker and count in ([`Room::watch`]), the heavy
//!   barrier, then try again.
//!
//! The registration stays from the first wait until the future completes or
//! is dropped ([`Registered`]'s drop), so a signal at any point between two
//! polls wakes the task. The doorbell's announcement is taken by the writer
//! that wakes it, so every poll that finds nothing announces again.
//!
//! Context shutdown wakes both lists (`Core::wake_all`), after marking the
//! context stopped; each poll looks at that mark after registering.

use super::core::Core;
use super::pipe::Room;
use super::wakers::Wakers;
use crate::error::Fail;
use crate::sync::barrier;
use std::task::{Context, Poll, Waker};

/// Where a waiting task's waker goes.
#[derive(Clone, Copy)]
enum List<'a> {
    /// Woken when a message comes in (the socket's `pollers`).
    Inbox(&'a Wakers),
    /// Woken when a pipe has room (or a peer comes).
    Room(&'a Room),
}

impl List<'_> {
    fn add(self, waker: &Waker) {
        match self {
            List::Inbox(w) => w.add(waker),
            List::Room(r) => r.watch(waker),
        }
    }

    fn remove(self, waker: &Waker) {
        match self {
            List::Inbox(w) => w.remove(waker),
            List::Room(r) => r.unwatch(waker),
        }
    }
}

/// One future's waker, registered while it waits and taken out when the
/// future completes or is dropped: no registration outlives its future.
pub(crate) struct Registered<'a> {
    list: List<'a>,
    waker: Option<Waker>,
}

impl<'a> Registered<'a> {
    /// Nothing registered yet, for a receive on `core`.
    pub fn inbox(core: &'a Core) -> Self {
        Self {
            list: List::Inbox(&core.pollers),
            waker: None,
        }
    }

    /// Nothing registered yet, for a send on `core`.
    pub fn room(core: &'a Core) -> Self {
        Self {
            list: List::Room(&core.room),
            waker: None,
        }
    }

    /// Registers `waker`, replacing the one of an earlier poll if the task
    /// moved (the new one first: the list is never without this future).
    fn register(&mut self, waker: &Waker) {
        if self.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            return;
        }
        self.list.add(waker);
        if let Some(old) = self.waker.replace(waker.clone()) {
            self.list.remove(&old);
        }
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.waker.take() {
            self.list.remove(&w);
        }
    }
}

impl Core {
    /// A receive's poll: a message through `f`, or `Pending` with the task
    /// registered in `reg`. Takes a message only when it returns it.
    pub(crate) fn poll_recv<R>(
        &self,
        cx: &mut Context<'_>,
        reg: &mut Registered<'_>,
        f: &mut impl FnMut(u32, &[u8]) -> R,
    ) -> Poll<Result<R, Fail>> {
        let mut look = || match self.stopped() {
            Some(fail) => Some(Err(fail)),
            None => self.try_recv(&mut Some(&mut *f), false).map(Ok),
        };
        if let Some(r) = look() {
            return Poll::Ready(r);
        }
        reg.register(cx.waker());
        self.arm_notify();
        barrier::heavy();
        match look() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }

    /// A send's poll: what `attempt` gives other than would-block, or
    /// `Pending` with the task registered in `reg`.
    pub(crate) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        reg: &mut Registered<'_>,
        mut attempt: impl FnMut() -> Result<(), Fail>,
    ) -> Poll<Result<(), Fail>> {
        let mut look = || match self.stopped() {
            Some(fail) => Some(Err(fail)),
            None => Some(attempt()).filter(|r| *r != Err(Fail::WouldBlock)),
        };
        if let Some(r) = look() {
            return Poll::Ready(r);
        }
        reg.register(cx.waker());
        if self.relays_room() {
            // Room a reader in another process makes rings the doorbell.
            self.arm_notify();
        }
        barrier::heavy();
        match look() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, DONTWAIT};
    use futures::task::noop_waker;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context as TaskContext, Poll};

    /// Polls `fut` once.
    fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
        let waker = noop_waker();
        fut.poll(&mut TaskContext::from_waker(&waker))
    }

    /// A receive that waits registers once however often it is polled,
    /// and its registration goes when it completes or is dropped.
    #[test]
    fn a_waiting_receive_leaves_no_waker_behind() {
        let ctx = Context::new();
        let server = ctx.server().unwrap();
        server.bind("inproc://tasks-recv").unwrap();
        let client = ctx.client().unwrap();
        client.connect("inproc://tasks-recv").unwrap();
        let pollers = &server.h.core.pollers;
        {
            let mut waiting = pin!(server.recv_from_async());
            assert!(poll_once(waiting.as_mut()).is_pending());
            assert!(poll_once(waiting.as_mut()).is_pending());
            assert_eq!(pollers.registered(), 1);
        }
        assert_eq!(pollers.registered(), 0, "dropped: unregistered");

        let mut waiting = pin!(server.recv_from_async());
        assert!(poll_once(waiting.as_mut()).is_pending());
        client.send("x", 0).unwrap();
        let Poll::Ready(Ok((_, msg))) = poll_once(waiting.as_mut()) else {
            panic!("the message is there");
        };
        assert_eq!(msg, b"x");
        // Still alive, but complete: an async fn's locals go as it returns.
        assert_eq!(pollers.registered(), 0, "completed: unregistered");
    }

    /// A send waiting for room counts in while it waits, and out when it
    /// completes or is dropped.
    #[test]
    fn a_waiting_send_leaves_no_watcher_behind() {
        let ctx = Context::new();
        let client = ctx.client().unwrap();
        let room = &client.h.core.room;
        {
            // No peer yet.
            let mut waiting = pin!(client.send_async("x"));
            assert!(poll_once(waiting.as_mut()).is_pending());
            assert!(poll_once(waiting.as_mut()).is_pending());
            assert_eq!(room.watchers(), (1, 1));
        }
        assert_eq!(room.watchers(), (0, 0), "dropped: counted out");

        let server = ctx.server().unwrap();
        server.bind("inproc://tasks-send").unwrap();
        let mut waiting = pin!(client.send_async("y"));
        assert!(poll_once(waiting.as_mut()).is_pending());
        client.connect("inproc://tasks-send").unwrap();
        assert!(matches!(poll_once(waiting.as_mut()), Poll::Ready(Ok(()))));
        assert_eq!(room.watchers(), (0, 0), "completed: counted out");
        assert_eq!(server.recv_from(DONTWAIT).unwrap().1, b"y");
    }
}
