//! A signal handler that runs while a call blocks makes the call return
//! `Error::Interrupted` (libzmq's EINTR), so that a program sees what its
//! handler set (zguide's `interrupt`: Ctrl-C stops a blocked `recv`).

mod common;

use common::{bounded, socket, BOUND};
use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Once;
use std::time::{Duration, Instant};
use zeroring::{Context, Error, Socket, SocketType, POLLIN};

static SEEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_usr1(_: libc::c_int) {
    SEEN.store(true, Ordering::SeqCst);
}

/// SIGUSR1 runs `on_usr1`, without SA_RESTART (as a C program's handler).
fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let action = SigAction::new(
            SigHandler::Handler(on_usr1),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe { sigaction(Signal::SIGUSR1, &action) }.unwrap();
    });
}

/// Runs `call` on a thread of its own and signals that thread until the
/// call returns (a signal that lands before the call sleeps is not one it
/// must see, so it is sent again); returns what the call returned.
fn signalled<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    install_handler();
    let (tid_tx, tid_rx) = mpsc::channel::<Pthread>();
    let (done_tx, done_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        tid_tx.send(pthread_self()).unwrap();
        done_tx.send(call()).unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    let start = Instant::now();
    let got = loop {
        pthread_kill(tid, Signal::SIGUSR1).unwrap();
        match done_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(got) => break got,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(start.elapsed() < BOUND, "signals never ended the call")
            }
            Err(e) => panic!("the call panicked: {e}"),
        }
    };
    worker.join().unwrap();
    assert!(SEEN.load(Ordering::SeqCst), "the handler never ran");
    got
}

fn interrupted<T: std::fmt::Debug>(r: zeroring::Result<T>) {
    assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
}

#[test]
fn recv_with_no_peer_returns_interrupted() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://interrupt-recv").unwrap();
    interrupted(signalled(move || pull.recv_bytes(0)));
}

#[test]
fn recv_over_tcp_returns_interrupted_and_the_socket_still_works() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.connect(&endpoint).unwrap();
    let (got, pull) = signalled(move || (pull.recv_bytes(0), pull));
    interrupted(got);
    // Nothing was lost or half-read: the next message arrives whole.
    push.send("after", 0).unwrap();
    assert_eq!(bounded(move || pull.recv_bytes(0).unwrap()), b"after");
}

#[test]
fn send_blocked_at_hwm_returns_interrupted() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://interrupt-send").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://interrupt-send").unwrap();
    // Fill the pipe until a send would block.
    let mut sent = 0;
    while push.send("x", zeroring::DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent < 1_000_000, "the pipe never filled");
    }
    interrupted(signalled(move || push.send("x", 0)));
    drop(pull);
}

#[test]
fn poll_returns_interrupted() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://interrupt-poll").unwrap();
    interrupted(signalled(move || {
        let mut items = [pull.as_poll_item(POLLIN)];
        zeroring::poll(&mut items, -1)
    }));
}

#[test]
fn proxy_returns_interrupted() {
    let ctx = Context::new();
    let front = socket(&ctx, SocketType::Router);
    front.bind("inproc://interrupt-proxy-front").unwrap();
    let back = socket(&ctx, SocketType::Dealer);
    back.bind("inproc://interrupt-proxy-back").unwrap();
    interrupted(signalled(move || -> zeroring::Result<()> {
        let (front, back): (Socket, Socket) = (front, back);
        zeroring::proxy(&front, &back)
    }));
}
