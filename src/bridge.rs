//! Carries wake-ups from writers in other processes to notify-mode readers.
//!
//! An ipc peer in another process rings a socket's doorbell through the
//! shared words only: it bumps the futex word and wakes the futex. A socket
//! that waits in notify mode (an async task, an event loop on its readiness
//! descriptor) is not on that futex, so one thread per process waits there
//! for all of them, with `futex_waitv`, and passes each wake-up on to the
//! socket's task and eventfd. Only sockets with such peers use it, and only
//! while they wait; the thread starts on first use and sleeps otherwise.

use crate::pipe::doorbell::EXPOSED_WAIT;
use crate::pipe::{futex, Doorbell};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// `futex_waitv` takes at most 128 words; one is the bridge's own.
const MAX_WATCHED: usize = 127;

struct Bridge {
    /// Bumped (and woken) whenever the watch list changes.
    ctl: AtomicU32,
    /// Doorbells waited on, each with the futex value its reader saw
    /// before re-checking (a different value means a writer rang since),
    /// and when the wait began.
    watched: Mutex<Vec<Watched>>,
}

/// A doorbell waited on: the futex value its reader saw, and since when.
type Watched = (Weak<Doorbell>, u32, Instant);

/// The longest a reader waits on an exposed doorbell (one a peer process
/// can write, see `Doorbell::expose`) without being woken to look again.
/// A peer that clears the `sleeping` word is seen at the next sweep (every
/// `EXPOSED_WAIT`); one that clears it and sets it again at once, so that
/// no sweep sees it, costs its victims at most this much latency.
const EXPOSED_RECHECK: Duration = Duration::from_secs(2);

static BRIDGE: OnceLock<Option<&'static Bridge>> = OnceLock::new();

/// Wakes `bell`'s notify-mode reader when the futex word moves on from
/// `seen`. Call after [`Doorbell::arm_notify`] and the re-check, when the
/// reader goes to wait; one wake-up per call.
pub(crate) fn watch(bell: &Arc<Doorbell>, seen: u32) {
    let Some(bridge) = BRIDGE.get_or_init(start) else {
        // No thread (the system refused one): wake at once, so the reader
        // looks again rather than waiting forever.
        bell.wake_notify();
        return;
    };
    {
        let mut watched = bridge.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched.retain(|(w, ..)| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), &**bell));
        watched.push((Arc::downgrade(bell), seen, Instant::now()));
    }
    bridge.ctl.fetch_add(1, Ordering::Release);
    futex::wake_all(&bridge.ctl);
}

/// Stops watching `bell` (its socket is closing), so that the bridge does
/// not keep its doorbell (and the segment it lies in) alive.
pub(crate) fn forget(bell: &Arc<Doorbell>) {
    let Some(Some(bridge)) = BRIDGE.get() else {
        return;
    };
    bridge
        .watched
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|(w, ..)| !std::ptr::eq(w.as_ptr(), &**bell));
    bridge.ctl.fetch_add(1, Ordering::Release);
    futex::wake_all(&bridge.ctl);
}

fn start() -> Option<&'static Bridge> {
    let bridge: &'static Bridge = Box::leak(Box::new(Bridge {
        ctl: AtomicU32::new(0),
        watched: Mutex::new(Vec::new()),
    }));
    std::thread::Builder::new()
        .name("zeroring-bridge".into())
        .spawn(move || bridge.run())
        .ok()?;
    Some(bridge)
}

impl Bridge {
    fn run(&self) {
        let mut last_sweep = Instant::now();
        loop {
            let ctl = self.ctl.load(Ordering::Acquire);
            let mut fired = Vec::new();
            // A peer can clear an exposed doorbell's `sleeping` word so that
            // writers skip the wake-up. Every EXPOSED_WAIT, such readers
            // are woken (a spurious wake-up at worst) if their announcement
            // is gone while the futex word has not moved (no honest writer
            // clears one without moving the other), or if they have waited
            // EXPOSED_RECHECK.
            let sweep = last_sweep.elapsed() >= EXPOSED_WAIT;
            if sweep {
                last_sweep = Instant::now();
            }
            let waiting: Vec<(Arc<Doorbell>, u32)> = {
                let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
                watched.retain(|(w, seen, since)| match w.upgrade() {
                    Some(bell)
                        if bell.word().load(Ordering::Acquire) != *seen
                            || (sweep
                                && bell.exposed()
                                && (!bell.notify_armed()
                                    || since.elapsed() >= EXPOSED_RECHECK)) =>
                    {
                        fired.push(bell);
                        false
                    }
                    Some(_) => true,
                    None => false,
                });
                watched
                    .iter()
                    .filter_map(|(w, seen, _)| Some((w.upgrade()?, *seen)))
                    .collect()
            };
            for bell in fired {
                bell.wake_notify();
            }
            let mut words = vec![(&self.ctl, ctl)];
            words.extend(
                waiting
                    .iter()
                    .take(MAX_WATCHED)
                    .map(|(bell, seen)| (bell.word(), *seen)),
            );
            // Past the limit, the rest are looked at every millisecond.
            let timeout = if waiting.len() > MAX_WATCHED {
                Some(Duration::from_millis(1))
            } else {
                waiting
                    .iter()
                    .any(|(bell, _)| bell.exposed())
                    .then(|| EXPOSED_WAIT.saturating_sub(last_sweep.elapsed()))
            };
            if !futex::wait_many(&words, timeout) {
                // No futex_waitv (Linux < 5.16): look every millisecond.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}
