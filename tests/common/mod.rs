//! Helpers shared by the behaviour tests: bounded waits that fail loudly.
#![allow(dead_code)]

pub mod proc;

use std::sync::mpsc;
use std::time::Duration;
use zeroring::{Context, Socket, SocketType};

/// Generous bound for anything that should happen "at once".
pub const BOUND: Duration = Duration::from_secs(20);
/// RCVTIMEO/SNDTIMEO for sockets in tests, so a lost message fails, not hangs.
pub const TIMEO_MS: i32 = 20_000;

/// Runs `f` on its own thread and returns its result, panicking if it takes
/// longer than [`BOUND`] (a hang) or panics.
pub fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    bounded_within(BOUND, f)
}

/// As [`bounded`], for work that takes seconds on its own (hundreds of
/// megabytes moved) and many times that on a machine busy with the other
/// tests: a hang detector with a longer `limit`.
pub fn bounded_within<T: Send + 'static>(
    limit: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => {
            handle.join().unwrap();
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("hung: no result within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(handle.join().unwrap_err())
        }
    }
}

/// A socket whose blocking calls give up after [`TIMEO_MS`].
pub fn socket(ctx: &Context, kind: SocketType) -> Socket {
    let s = ctx.socket(kind).unwrap();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s.set_sndtimeo(TIMEO_MS).unwrap();
    s
}

/// A connected pair: `a` binds `endpoint`, `b` connects.
pub fn pair_of(ctx: &Context, a: SocketType, b: SocketType, endpoint: &str) -> (Socket, Socket) {
    let sa = socket(ctx, a);
    sa.bind(endpoint).unwrap();
    let sb = socket(ctx, b);
    sb.connect(endpoint).unwrap();
    (sa, sb)
}

/// Starts a monitor of every event on `s` and returns the PAIR socket that
/// reads it (connected before anything happens, so no event is missed).
pub fn monitor(ctx: &Context, s: &Socket, name: &str) -> Socket {
    let endpoint = format!("inproc://{name}");
    s.monitor(&endpoint, zeroring::monitor::EVENT_ALL).unwrap();
    let m = socket(ctx, SocketType::Pair);
    m.connect(&endpoint).unwrap();
    m
}

/// The next monitor event; panics if none comes within [`TIMEO_MS`].
pub fn next_event(m: &Socket) -> zeroring::MonitorEvent {
    zeroring::MonitorEvent::recv(m, 0)
        .unwrap_or_else(|e| panic!("no monitor event within {TIMEO_MS} ms: {e}"))
}

/// The next monitor event, which must be `want`.
pub fn expect_event(m: &Socket, want: zeroring::monitor::Event) -> zeroring::MonitorEvent {
    let ev = next_event(m);
    assert_eq!(ev.event, want, "unexpected monitor event {ev:?}");
    ev
}

/// Whether `fd` polls readable within `ms` milliseconds.
pub fn readable_within(fd: std::os::fd::RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd, which outlives the call.
    let n = unsafe { libc::poll(&mut p, 1, ms) };
    assert!(n >= 0, "poll: {}", std::io::Error::last_os_error());
    n == 1 && p.revents & libc::POLLIN != 0
}
