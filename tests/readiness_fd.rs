//! The readiness descriptor is level-triggered on every transport: readable
//! exactly while a message can be received, and until it is taken.

mod common;
use common::*;
use std::os::fd::{AsRawFd, RawFd};
use zeroring::{Context, Socket, SocketType::*, DONTWAIT, POLLIN};

fn readable_now(fd: RawFd) -> bool {
    readable_within(fd, 0)
}

/// Waits (bounded) until the connection carries a message: connections over
/// tcp and ipc come up on the I/O thread, and a new pipe may signal the
/// descriptor once before any message (documented).
fn first_message(pull: &Socket, push: &Socket, fd: RawFd) {
    push.send("first", 0).unwrap();
    let deadline = std::time::Instant::now() + BOUND;
    loop {
        assert!(
            readable_within(fd, TIMEO_MS),
            "descriptor never turned readable"
        );
        if pull.get_events().unwrap().contains(POLLIN) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no first message");
    }
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"first");
}

/// The level-triggered contract, on a connected PULL (`fd` its descriptor).
fn level_triggered(pull: &Socket, push: &Socket) {
    let fd = pull.as_raw_fd();
    first_message(pull, push, fd);
    assert!(!readable_now(fd), "readable with nothing to receive");
    for round in 0..20u32 {
        push.send(round.to_le_bytes(), 0).unwrap();
        push.send((round + 1000).to_le_bytes(), 0).unwrap();
        assert!(
            readable_within(fd, TIMEO_MS),
            "round {round}: never readable"
        );
        // Level: stays readable, however often it is asked, until taken.
        for _ in 0..3 {
            assert!(readable_now(fd), "round {round}: readability lost");
        }
        // Exactly: readable means a message is there.
        assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), round.to_le_bytes());
        // The second may still be on its way (tcp); once it is there, the
        // descriptor says so, and stays so until it is taken.
        assert!(readable_within(fd, TIMEO_MS), "round {round}: second lost");
        assert!(readable_now(fd));
        assert_eq!(
            pull.recv_bytes(DONTWAIT).unwrap(),
            (round + 1000).to_le_bytes()
        );
        assert!(!readable_now(fd), "round {round}: readable after all taken");
    }
    // A multipart message: readable until its last frame is taken.
    push.send_multipart(["a", "b"], 0).unwrap();
    assert!(readable_within(fd, TIMEO_MS));
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"a");
    assert!(readable_now(fd), "rest of a message not readable");
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"b");
    assert!(!readable_now(fd));
}

#[test]
fn inproc_is_level_triggered() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://fd-level");
    bounded(move || level_triggered(&pull, &push));
}

#[test]
fn tcp_is_level_triggered() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = socket(&ctx, Push);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    bounded(move || level_triggered(&pull, &push));
}

#[test]
fn ipc_is_level_triggered() {
    // Both ends zeroring: the pipe is shared memory, and the writer wakes
    // the reader's futex only; the bridge passes it on to the descriptor.
    let ctx = Context::new();
    let endpoint = format!("ipc://@zr-fd-level-{}", std::process::id());
    let (pull, push) = pair_of(&ctx, Pull, Push, &endpoint);
    bounded(move || level_triggered(&pull, &push));
}

#[test]
fn readable_when_messages_wait_before_the_descriptor_exists() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://fd-early");
    push.send("early", 0).unwrap();
    let fd = pull.as_raw_fd();
    assert!(readable_now(fd));
    pull.recv_bytes(0).unwrap();
    assert!(!readable_now(fd));
}

#[test]
fn a_connect_before_bind_with_queued_messages_turns_it_readable() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.connect("inproc://fd-late-bind").unwrap();
    push.send("queued", 0).unwrap();
    let pull = socket(&ctx, Pull);
    let fd = pull.as_raw_fd();
    assert!(!readable_now(fd));
    pull.bind("inproc://fd-late-bind").unwrap();
    assert!(readable_now(fd));
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"queued");
    assert!(!readable_now(fd));
}

#[test]
fn wakes_an_epoll_sleeper_in_another_thread() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://fd-thread");
    let fd = pull.as_raw_fd();
    let (armed_tx, armed_rx) = std::sync::mpsc::channel();
    let sender = std::thread::spawn(move || {
        armed_rx.recv().unwrap();
        push.send("wake", 0).unwrap();
        push
    });
    let got = bounded(move || {
        armed_tx.send(()).unwrap();
        assert!(readable_within(fd, TIMEO_MS));
        pull.recv_bytes(DONTWAIT).unwrap()
    });
    assert_eq!(got, b"wake");
    sender.join().unwrap();
}

#[test]
fn shutdown_turns_it_readable() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let fd = pull.as_raw_fd();
    assert!(!readable_now(fd));
    ctx.shutdown();
    assert!(readable_within(fd, TIMEO_MS));
    assert!(matches!(
        pull.recv_bytes(DONTWAIT),
        Err(zeroring::Error::Terminated)
    ));
}
