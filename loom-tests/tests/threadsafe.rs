//! loom models of the thread-safe sockets' own protocols, on top of the
//! multi-producer ring (modelled in `mpsc.rs`): the lock a socket's
//! receivers take turns on (`zeroring::threadsafe_spin`), the room its
//! writers wait in (also when its pipe's reader is in another process and
//! rings the writers' doorbell instead), and the credits toward a pipe's
//! high-water mark (`zeroring::threadsafe_pipe`).
//!
//! A counter loom tracks, written under the lock, is a data race unless
//! the lock orders its holders; a writer that sleeps forever is a deadlock
//! (blocked in the room's condition variable) or runs out of loom's branches
//! (a reader spinning for what that writer never sends). The sockets wait
//! with deadlines; loom has no clock, so the models wait without one, the
//! case where a lost wake-up would hang for good. (A tcp or ipc peer's
//! pipe is the same pipe, whose reader is an engine on the I/O thread.)
//!
//! Each protocol has a broken twin (a switch in `zeroring::mpsc::breaks`)
//! that must fail, proof that the model sees what the ordering, the barrier
//! or the order of the credit add is there for.
//!
//! Run: `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 \
//!       CARGO_TARGET_DIR=target/loom cargo test -p zeroring-loom-tests --release --test threadsafe`

#![cfg(loom)]

use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use loom::thread;
use std::cell::Cell;
use std::sync::Arc;
use zeroring::mpsc::breaks;
use zeroring::threadsafe_pipe::{InPipe, Pipe, Refused, Room, Taken};
use zeroring::threadsafe_spin::SpinLock;
use zeroring::Doorbell;
use zeroring_loom_tests::model;

/// Two threads each add one to a counter under the lock, twice: no race,
/// and the sum is four. (A third thread would make the model unbounded: loom
/// may keep two spinners yielding to each other while the holder never
/// runs, and run out of branches.)
fn spin_lock_counts() {
    let lock = Arc::new(SpinLock::<UnsafeCell<u64>>::default());
    let add = |lock: &SpinLock<UnsafeCell<u64>>| {
        for _ in 0..2 {
            let held = lock.lock();
            // SAFETY (of the model): the lock is held; loom checks that it
            // orders this access after the last holder's.
            held.with_mut(|n| unsafe { *n += 1 });
        }
    };
    let other = {
        let lock = lock.clone();
        thread::spawn(move || add(&lock))
    };
    add(&lock);
    other.join().unwrap();
    // SAFETY (of the model): as above.
    let sum = lock.lock().with(|n| unsafe { *n });
    assert_eq!(sum, 4);
}

#[test]
fn spin_lock_orders_holders() {
    model(spin_lock_counts);
}

/// Taken `Relaxed`, the lock lets a holder read the counter before the
/// last holder's write reaches it: loom reports the race.
#[test]
#[should_panic(expected = "Causality violation")]
fn spin_lock_relaxed_lock_is_caught() {
    model(|| {
        breaks::set(breaks::LOCK_RELAXED);
        spin_lock_counts();
    });
}

/// Given back `Relaxed`, likewise.
#[test]
#[should_panic(expected = "Causality violation")]
fn spin_lock_relaxed_unlock_is_caught() {
    model(|| {
        breaks::set(breaks::UNLOCK_RELAXED);
        spin_lock_counts();
    });
}

/// `writers` threads wait (no deadline) until a flag says there is room;
/// a reader makes room (as a release publishes `received`) and signals
/// once. Each writer either sees the room at once or is woken: none sleeps
/// for good.
fn room_wakes_writers(writers: usize) {
    let room = Arc::new(Room::default());
    let space = Arc::new(AtomicBool::new(false));
    let wait = |room: &Room, space: &AtomicBool| {
        let got = room.wait(None, || space.load(Ordering::Acquire).then_some(()));
        assert_eq!(got, Some(()), "no deadline: the wait ends with room only");
    };
    let others: Vec<_> = (1..writers)
        .map(|_| {
            let (room, space) = (room.clone(), space.clone());
            thread::spawn(move || wait(&room, &space))
        })
        .collect();
    let reader = {
        let (room, space) = (room.clone(), space.clone());
        thread::spawn(move || {
            space.store(true, Ordering::Release);
            room.signal();
        })
    };
    wait(&room, &space);
    reader.join().unwrap();
    for t in others {
        t.join().unwrap();
    }
}

fn room_wakes_writer() {
    room_wakes_writers(1);
}

#[test]
fn room_wakes_a_waiting_writer() {
    model(room_wakes_writer);
}

/// Without the epoch check, a signal that comes between the writer's
/// re-check and its sleep is lost: loom reports the deadlock.
#[test]
#[should_panic(expected = "deadlock")]
fn room_epoch_unchecked_is_caught() {
    model(|| {
        breaks::set(breaks::EPOCH_UNCHECKED);
        room_wakes_writer();
    });
}

/// One signal wakes every writer that waits.
#[test]
fn room_wakes_every_waiting_writer() {
    model(|| room_wakes_writers(2));
}

/// Without the reader's barrier, the reader can miss the writer's
/// `waiters` while the writer misses the room (store buffering): the
/// writer sleeps for good and loom reports the deadlock.
#[test]
#[should_panic(expected = "deadlock")]
fn room_signal_without_barrier_is_caught() {
    model(|| {
        breaks::set(breaks::SIGNAL_NO_BARRIER);
        room_wakes_writer();
    });
}

/// A poll call waits for room as a writer does, but through its waker
/// (in zeroring, one that writes the poller's eventfd): counted in once
/// with `watch`, then each round the heavy barrier (a `SeqCst` fence under
/// loom) and the re-check. The reader's signal reaches it whenever the
/// re-check finds nothing: `block_on` parks until the waker is woken, and
/// loom reports a deadlock if it never is.
fn room_wakes_poller() {
    let room = Arc::new(Room::default());
    let space = Arc::new(AtomicBool::new(false));
    let reader = {
        let (room, space) = (room.clone(), space.clone());
        thread::spawn(move || {
            space.store(true, Ordering::Release);
            room.signal();
        })
    };
    let mut watched = None;
    loom::future::block_on(std::future::poll_fn(|cx| {
        if watched.is_none() {
            room.watch(cx.waker());
            watched = Some(cx.waker().clone());
        }
        loom::sync::atomic::fence(Ordering::SeqCst);
        if space.load(Ordering::Acquire) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }));
    room.unwatch(&watched.expect("watched"));
    reader.join().unwrap();
}

#[test]
fn room_wakes_a_polling_writer() {
    model(room_wakes_poller);
}

/// Without the reader's barrier, the poller sleeps for good as a writer
/// would.
#[test]
#[should_panic(expected = "deadlock")]
fn room_signal_without_barrier_is_caught_by_a_poller() {
    model(|| {
        breaks::set(breaks::SIGNAL_NO_BARRIER);
        room_wakes_poller();
    });
}

/// Passes a doorbell's notify-mode wake-up on to a room (the socket's
/// `RoomRelay`; across processes the bridge thread comes between).
struct Relay(Arc<Room>);

impl std::task::Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.0.signal();
    }
}

/// A writer waits for room in a pipe whose reader is in another process
/// (`threadsafe::shared`): the reader makes room and rings the writers'
/// socket doorbell, never their room. The writer, inside its room's wait
/// (no deadline), announces itself on that doorbell in notify mode with a
/// waker that signals the room, runs the sleeper's barrier, then looks
/// (`Core::arm_relay`). Unarmed (`arm` false), the ring finds nobody to
/// wake and the writer sleeps for good: loom reports the deadlock.
fn room_relayed_from_the_doorbell(arm: bool) {
    let room = Arc::new(Room::default());
    let bell = Arc::new(Doorbell::new());
    let space = Arc::new(AtomicBool::new(false));
    let relay = std::task::Waker::from(Arc::new(Relay(room.clone())));
    let reader = {
        let (bell, space) = (bell.clone(), space.clone());
        thread::spawn(move || {
            space.store(true, Ordering::Release);
            bell.ring();
        })
    };
    let got = room.wait(None, || {
        let check = || space.load(Ordering::Acquire).then_some(());
        if !arm {
            return check();
        }
        let mut cx = std::task::Context::from_waker(&relay);
        match bell.poll_until(&mut cx, false, check) {
            std::task::Poll::Ready(()) => Some(()),
            std::task::Poll::Pending => None,
        }
    });
    assert_eq!(got, Some(()));
    reader.join().unwrap();
}

#[test]
fn room_relayed_from_the_doorbell_wakes_a_writer() {
    model(|| room_relayed_from_the_doorbell(true));
}

#[test]
#[should_panic(expected = "deadlock")]
fn room_not_armed_on_the_doorbell_is_caught() {
    model(|| room_relayed_from_the_doorbell(false));
}

/// Two writers send `counts` messages each (tagged writer, index) into a
/// pipe with mark `hwm`, as the socket does: try, and on `Full` wait in
/// the room (no deadline) trying again; then give back unused credits.
/// Writer 0 has sent `prefill` messages before the others start (on one
/// thread, so loom spends no branches there): the pipe starts near its
/// mark, and writer 0 may hold credits it has not used. The reader takes
/// every message, each writer's in order, and nothing more.
///
/// After each send a writer checks that the messages sent and not yet
/// taken do not exceed the mark: `taken` is counted before the reader
/// releases (and so before writers get those credits back), and `sent` is
/// read before `taken`, so the difference never overstates what is in
/// flight.
fn credits(hwm: u64, prefill: u8, counts: [u8; 2]) {
    let bell = Arc::new(Doorbell::new());
    let room = Arc::new(Room::default());
    let (pipe, rx) = Pipe::new(CAPACITY, hwm, bell, room.clone());
    let mut credit = [Cell::new(0), Cell::new(0)];
    for i in 0..prefill {
        assert_eq!(pipe.try_send(&[0], &[i], &credit[0]), Ok(()), "prefill {i}");
    }
    let sent = Arc::new(AtomicU64::new(prefill.into()));
    let taken = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..2u8)
        .map(|w| {
            let (pipe, room) = (pipe.clone(), room.clone());
            let (sent, taken) = (sent.clone(), taken.clone());
            let credit = std::mem::take(&mut credit[w as usize]);
            let first = if w == 0 { prefill } else { 0 };
            thread::spawn(move || {
                for i in first..first + counts[w as usize] {
                    let send = || match pipe.try_send(&[w], &[i], &credit) {
                        Ok(()) => Some(()),
                        Err(Refused::Full) => None,
                        Err(e) => panic!("writer {w}: {e:?}"),
                    };
                    if send().is_none() {
                        room.wait(None, &send).expect("no deadline");
                    }
                    let s = sent.fetch_add(1, Ordering::SeqCst) + 1;
                    let t = taken.load(Ordering::SeqCst);
                    assert!(
                        s.saturating_sub(t) <= hwm,
                        "{s} sent, {t} taken: over the mark {hwm}"
                    );
                }
                pipe.return_credits(credit.get());
            })
        })
        .collect();
    let mut rx = InPipe::new(pipe, rx, 1);
    let mut next = [0u8; 2];
    let total = prefill + counts.iter().sum::<u8>();
    let mut got = 0;
    while got < total {
        let took = rx.take(|_, m| {
            taken.fetch_add(1, Ordering::SeqCst);
            [m[0], m[1]]
        });
        match took {
            Taken::Message([w, i]) => {
                let w = w as usize;
                assert!(w < 2, "no writer {w}");
                assert_eq!(i, next[w], "writer {w}: message lost or reordered");
                next[w] += 1;
                got += 1;
            }
            Taken::Empty => thread::yield_now(),
            Taken::Done => panic!("pipe closed with {got} of {total} taken"),
        }
    }
    for t in writers {
        t.join().unwrap();
    }
    assert!(
        matches!(rx.take(|_, _| ()), Taken::Empty),
        "nothing beyond what was sent"
    );
}

/// Room for the largest model's messages (16 bytes each with the header).
const CAPACITY: usize = 512;

/// Mark 1 (a batch of one): one writer is admitted, the other is refused
/// at the mark and waits until the reader takes and releases the first
/// message.
#[test]
fn credits_keep_the_mark_and_admit_a_waiting_writer() {
    model(|| credits(1, 0, [1, 1]));
}

/// Reading `sent` before adding to it, two writers at the mark's last
/// slot both take it: two messages in flight over a mark of one.
#[test]
#[should_panic(expected = "over the mark")]
fn credits_load_then_add_is_caught() {
    model(|| {
        breaks::set(breaks::CREDITS_LOAD_THEN_ADD);
        credits(1, 0, [1, 1]);
    });
}

/// Mark 16, so batches of 2: writer 0 has sent 15 and holds one credit it
/// has not used, so writer 1 is refused one below the mark (as the module
/// doc allows), and admitted when writer 0 sends its 16th and gives nothing
/// back, or the reader releases.
#[test]
fn credits_in_batches_keep_the_mark() {
    model(|| credits(16, 15, [1, 1]));
}

/// As above, but writer 0 sends nothing more: the credit it gives back
/// (its signal) admits writer 1, or the reader's release does.
#[test]
fn credits_given_back_admit_a_waiting_writer() {
    model(|| credits(16, 15, [0, 1]));
}
