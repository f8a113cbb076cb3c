//! poll readiness, and proxy / steerable proxy forwarding, after libzmq's
//! test_poller, test_proxy and test_proxy_steerable.

mod common;
use common::*;
use std::time::{Duration, Instant};
use zeroring::{
    poll, proxy_steerable, proxy_with_capture, Context, Error, PollEvents, PollItem, SocketType::*,
    DONTWAIT, POLLERR, POLLIN, POLLOUT,
};

#[test]
fn poll_reports_readable_and_writable() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://poll-rw");
    let mut items = [pull.as_poll_item(POLLIN), push.as_poll_item(POLLOUT)];
    assert_eq!(poll(&mut items, 0).unwrap(), 1);
    assert!(!items[0].is_readable() && items[1].is_writable());
    push.send("x", 0).unwrap();
    assert_eq!(poll(&mut items, 0).unwrap(), 2);
    assert!(items[0].is_readable());
    assert_eq!(pull.get_events().unwrap(), POLLIN);
    pull.recv_bytes(0).unwrap();
    assert!(pull.get_events().unwrap().is_empty());
    // A full pipe is not writable.
    while push.send("x", DONTWAIT).is_ok() {}
    assert!(!push.get_events().unwrap().contains(POLLOUT));
}

#[test]
fn poll_times_out_and_zero_does_not_wait() {
    let ctx = Context::new();
    let pull = ctx.socket(Pull).unwrap();
    let mut items = [pull.as_poll_item(POLLIN)];
    assert_eq!(poll(&mut items, 0).unwrap(), 0);
    let start = Instant::now();
    assert_eq!(poll(&mut items, 30).unwrap(), 0);
    assert!(start.elapsed() >= Duration::from_millis(30));
}

#[test]
fn poll_sleeps_until_any_socket_gets_a_message() {
    let ctx = Context::new();
    let a = ctx.socket(Pull).unwrap();
    a.bind("inproc://poll-a").unwrap();
    let b = ctx.socket(Pull).unwrap();
    b.bind("inproc://poll-b").unwrap();
    let push = socket(&ctx, Push);
    push.connect("inproc://poll-b").unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        push.send("wake", 0).unwrap();
        push
    });
    let result = bounded(move || {
        let mut items = [a.as_poll_item(POLLIN), b.as_poll_item(POLLIN)];
        go_tx.send(()).unwrap();
        let n = poll(&mut items, -1).unwrap();
        (
            n,
            items[0].is_readable(),
            items[1].is_readable(),
            b.recv_bytes(0).unwrap(),
        )
    });
    assert_eq!(result, (1, false, true, b"wake".to_vec()));
    sender.join().unwrap();
}

/// A pipe's two descriptors.
fn os_pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two new descriptors into `fds`, which we then own.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both are fresh descriptors nobody else owns.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

/// Sockets and a plain pipe descriptor in one poll, as zmq_poll's fd items:
/// either wakes it, each is reported for itself, and a closed write end
/// shows as POLLERR (hang-up), as libzmq maps it.
#[test]
fn poll_over_sockets_and_a_pipe_fd() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://poll-fd");
    let (rd, wr) = os_pipe();
    let rfd = rd.as_raw_fd();
    let mut items = [pull.as_poll_item(POLLIN), PollItem::from_fd(rfd, POLLIN)];
    assert_eq!(poll(&mut items, 0).unwrap(), 0);

    // The pipe wakes a sleeping poll, from another thread.
    let mut wr = std::fs::File::from(wr);
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        wr.write_all(b"x").unwrap();
        wr
    });
    let (pull, items_state) = bounded(move || {
        let mut items = [pull.as_poll_item(POLLIN), PollItem::from_fd(rfd, POLLIN)];
        go_tx.send(()).unwrap();
        let n = poll(&mut items, -1).unwrap();
        let state = (n, items[0].get_revents(), items[1].get_revents());
        (pull, state)
    });
    assert_eq!(items_state, (1, PollEvents::empty(), POLLIN));
    let wr = writer.join().unwrap();
    let mut byte = [0u8; 1];
    // SAFETY: reads one byte into `byte`, which outlives the call.
    assert_eq!(unsafe { libc::read(rfd, byte.as_mut_ptr().cast(), 1) }, 1);

    // Then a socket wakes it, with the pipe empty again.
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        push.send("m", 0).unwrap();
        push
    });
    let (pull, state) = bounded(move || {
        let mut items = [pull.as_poll_item(POLLIN), PollItem::from_fd(rfd, POLLIN)];
        go_tx.send(()).unwrap();
        let n = poll(&mut items, -1).unwrap();
        let state = (n, items[0].get_revents(), items[1].get_revents());
        (pull, state)
    });
    assert_eq!(state, (1, POLLIN, PollEvents::empty()));
    assert_eq!(pull.recv_bytes(DONTWAIT).unwrap(), b"m");
    let _push = sender.join().unwrap();

    // Both at once, and a hang-up.
    _push.send("n", 0).unwrap();
    drop(wr);
    let mut items = [pull.as_poll_item(POLLIN), PollItem::from_fd(rfd, POLLIN)];
    assert_eq!(poll(&mut items, 1000).unwrap(), 2);
    assert!(items[0].is_readable());
    // Linux reports an emptied pipe's hang-up as POLLHUP alone: POLLERR.
    assert_eq!(items[1].get_revents(), POLLERR);

    // A descriptor that is not open is an error event, not a failure. Not
    // the one just closed: a test running beside this one may be handed
    // its number at once. No process can hold i32::MAX (the kernel's
    // descriptor limit is far below it).
    drop(rd);
    let mut items = [PollItem::from_fd(i32::MAX, POLLIN)];
    assert_eq!(poll(&mut items, 0).unwrap(), 1);
    assert!(items[0].is_error());
}

/// poll waits for room (POLLOUT) on a full pipe without spinning on the
/// socket's readability (a readable socket polled only for POLLOUT).
#[test]
fn poll_for_room_on_a_readable_socket() {
    let ctx = Context::new();
    let a = socket(&ctx, Pair);
    a.set_sndhwm(1).unwrap();
    a.bind("inproc://poll-room").unwrap();
    let b = socket(&ctx, Pair);
    b.set_rcvhwm(1).unwrap();
    b.connect("inproc://poll-room").unwrap();
    b.send("to a", 0).unwrap();
    while a.send("x", DONTWAIT).is_ok() {}
    // `a` is readable (b's message) but not writable.
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        go_rx.recv().unwrap();
        while b.recv_bytes(DONTWAIT).is_ok() {}
        b
    });
    let a = bounded(move || {
        let mut items = [a.as_poll_item(POLLOUT)];
        go_tx.send(()).unwrap();
        assert_eq!(poll(&mut items, -1).unwrap(), 1);
        assert!(items[0].is_writable());
        a
    });
    assert_eq!(a.recv_bytes(DONTWAIT).unwrap(), b"to a");
    reader.join().unwrap();
}

#[test]
fn poll_returns_terminated_on_shutdown() {
    let ctx = Context::new();
    let pull = ctx.socket(Pull).unwrap();
    let ctx2 = ctx.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let poller = std::thread::spawn(move || {
        ready_tx.send(()).unwrap();
        let mut items = [pull.as_poll_item(POLLIN)];
        poll(&mut items, -1).map_err(|e| e.to_string())
    });
    ready_rx.recv_timeout(BOUND).unwrap();
    let result = bounded(move || {
        ctx2.shutdown();
        poller.join().unwrap()
    });
    assert_eq!(result.unwrap_err(), Error::Terminated.to_string());
}

#[test]
fn proxy_forwards_both_ways_and_captures() {
    let ctx = Context::new();
    let frontend = socket(&ctx, Router);
    frontend.bind("inproc://proxy-front").unwrap();
    let backend = socket(&ctx, Dealer);
    backend.bind("inproc://proxy-back").unwrap();
    let capture = socket(&ctx, Push);
    capture.bind("inproc://proxy-capture").unwrap();
    let tap = socket(&ctx, Pull);
    tap.connect("inproc://proxy-capture").unwrap();
    let client = socket(&ctx, Req);
    client.connect("inproc://proxy-front").unwrap();
    let worker = socket(&ctx, Rep);
    worker.connect("inproc://proxy-back").unwrap();

    let ctx2 = ctx.clone();
    let proxy_thread = std::thread::spawn(move || {
        proxy_with_capture(&frontend, &backend, &capture).map_err(|e| e.to_string())
    });
    let (client, worker, tap) = bounded(move || {
        for i in 0..5 {
            client.send(format!("req {i}"), 0).unwrap();
            let q = worker.recv_bytes(0).unwrap();
            worker.send([b"rep: ".as_slice(), &q].concat(), 0).unwrap();
            assert_eq!(
                client.recv_bytes(0).unwrap(),
                format!("rep: req {i}").as_bytes()
            );
        }
        (client, worker, tap)
    });
    // Every frame of both directions went to the capture: id, "", body.
    let captured: Vec<Vec<u8>> = (0..30).map(|_| tap.recv_bytes(0).unwrap()).collect();
    assert_eq!(captured[2], b"req 0");
    assert_eq!(captured[5], b"rep: req 0");
    ctx2.shutdown();
    assert_eq!(
        proxy_thread.join().unwrap().unwrap_err(),
        Error::Terminated.to_string()
    );
    drop((client, worker));
}

#[test]
fn steerable_proxy_pauses_resumes_reports_and_terminates() {
    let ctx = Context::new();
    let frontend = socket(&ctx, Pull);
    frontend.bind("inproc://steer-front").unwrap();
    let backend = socket(&ctx, Push);
    backend.bind("inproc://steer-back").unwrap();
    let control = socket(&ctx, Pair);
    control.bind("inproc://steer-control").unwrap();
    let input = socket(&ctx, Push);
    input.connect("inproc://steer-front").unwrap();
    let output = socket(&ctx, Pull);
    output.connect("inproc://steer-back").unwrap();
    let steer = socket(&ctx, Pair);
    steer.connect("inproc://steer-control").unwrap();

    let proxy_thread = std::thread::spawn(move || {
        proxy_steerable(&frontend, &backend, &control).map_err(|e| e.to_string())
    });
    let result = bounded(move || {
        // Commands are handled in order, so a STATISTICS reply proves the
        // commands before it took effect.
        let stats = |steer: &zeroring::Socket| -> Vec<u64> {
            steer.send("STATISTICS", 0).unwrap();
            let frames = steer.recv_multipart(0).unwrap();
            frames
                .iter()
                .map(|f| u64::from_ne_bytes(f.as_slice().try_into().unwrap()))
                .collect()
        };
        input.send("one", 0).unwrap();
        assert_eq!(output.recv_bytes(0).unwrap(), b"one");
        assert_eq!(stats(&steer), [1, 3, 0, 0, 0, 0, 1, 3]);

        steer.send("PAUSE", 0).unwrap();
        assert_eq!(stats(&steer)[0], 1);
        input.send("two", 0).unwrap();
        assert_eq!(stats(&steer)[0], 1, "paused: nothing forwarded");
        assert!(matches!(
            output.recv_bytes(DONTWAIT),
            Err(Error::WouldBlock)
        ));

        steer.send("RESUME", 0).unwrap();
        assert_eq!(output.recv_bytes(0).unwrap(), b"two");
        steer.send("TERMINATE", 0).unwrap();
        (input, output, steer)
    });
    assert_eq!(proxy_thread.join().unwrap(), Ok(()));
    drop(result);
}

#[test]
fn after_shutdown_every_call_says_terminated() {
    let ctx = Context::new();
    let pull = ctx.socket(Pull).unwrap();
    pull.bind("inproc://after-shutdown").unwrap();
    ctx.shutdown();
    let terminated = |r: Result<(), Error>| matches!(r, Err(Error::Terminated));
    assert!(terminated(pull.bind("inproc://y")));
    assert!(terminated(pull.connect("inproc://z")));
    assert!(terminated(pull.unbind("inproc://after-shutdown")));
    assert!(terminated(pull.recv_bytes(DONTWAIT).map(drop)));
    assert!(terminated(pull.get_events().map(drop)));
    let mut items = [pull.as_poll_item(POLLIN)];
    assert!(terminated(poll(&mut items, 0).map(drop)));
    assert!(terminated(ctx.socket(Push).map(drop)));
}

/// As libzmq's proxy: a message is taken from one side only while the
/// other can take it, so a backend with no room (a PUSH with no peer)
/// holds messages in the frontend and the control socket is still served.
#[test]
fn proxy_serves_its_control_while_the_backend_has_no_room() {
    let ctx = zeroring::Context::new();
    let front = ctx.socket(zeroring::SocketType::Pull).unwrap();
    front.bind("inproc://proxy-room-front").unwrap();
    let back = ctx.socket(zeroring::SocketType::Push).unwrap();
    back.bind("inproc://proxy-room-back").unwrap(); // nobody connects
    let control = ctx.socket(zeroring::SocketType::Pair).unwrap();
    control.bind("inproc://proxy-room-control").unwrap();
    let steer = ctx.socket(zeroring::SocketType::Pair).unwrap();
    steer.connect("inproc://proxy-room-control").unwrap();
    let sender = ctx.socket(zeroring::SocketType::Push).unwrap();
    sender.connect("inproc://proxy-room-front").unwrap();

    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let ended = zeroring::proxy_steerable(&front, &back, &control);
        done_tx.send(ended.is_ok()).unwrap();
    });
    sender.send("waits in the frontend", 0).unwrap();
    steer.send("TERMINATE", 0).unwrap();
    let ended = done_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the proxy blocked on a backend without room and never saw TERMINATE");
    assert!(ended);
}
