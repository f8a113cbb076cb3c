//! Thread-safe sockets in `zeroring::poll`: readiness as libzmq 4.3 reports
//! it per type, and a poll that sleeps until a message or room comes, from
//! any thread, beside classic sockets, over inproc and tcp.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::Duration;
use zeroring::{poll, Client, Context, Error, Server, SocketType, DONTWAIT, POLLIN, POLLOUT};

/// Long enough never to pass on a loaded machine unless something hangs.
const PATIENCE: Duration = Duration::from_secs(30);

/// A SERVER bound on `endpoint` and a CLIENT connected to it.
fn server_and_client(ctx: &Context, endpoint: &str) -> (Arc<Server>, Client) {
    let server = Arc::new(ctx.server().unwrap());
    server.bind(endpoint).unwrap();
    let client = ctx.client().unwrap();
    client.connect(endpoint).unwrap();
    (server, client)
}

/// Runs `f` on a thread of its own and returns what it returns, failing
/// the test loudly if it has not returned within [`PATIENCE`] (a poll that
/// never wakes).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {PATIENCE:?} (a lost wake-up?)"),
    }
}

#[test]
fn a_server_polled_without_limit_wakes_when_a_client_sends() {
    let ctx = Context::new();
    let (server, client) = server_and_client(&ctx, "inproc://tspoll-wake");

    let (started, polling) = mpsc::channel();
    let s = server.clone();
    let poller = thread::spawn(move || {
        let mut items = [s.as_poll_item(POLLIN)];
        started.send(()).unwrap();
        let n = poll(&mut items, -1).unwrap();
        (n, items[0].get_revents())
    });
    polling.recv_timeout(PATIENCE).unwrap();
    client.send("hello", 0).unwrap();
    let (n, revents) = within("poll", move || poller.join().unwrap());
    assert_eq!(n, 1);
    assert_eq!(revents, POLLIN);
    let (_, msg) = server.recv_from(DONTWAIT).unwrap();
    assert_eq!(msg, b"hello");
}

#[test]
fn in_a_mix_only_the_socket_that_got_a_message_is_ready() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::Pull).unwrap();
    pull.bind("inproc://tspoll-mix-pull").unwrap();
    let push = ctx.socket(SocketType::Push).unwrap();
    push.connect("inproc://tspoll-mix-pull").unwrap();
    let (server, client) = server_and_client(&ctx, "inproc://tspoll-mix-server");
    let dish = ctx.dish().unwrap();
    dish.bind("inproc://tspoll-mix-dish").unwrap();
    dish.join("g").unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect("inproc://tspoll-mix-dish").unwrap();

    let mut items = [
        pull.as_poll_item(POLLIN),
        server.as_poll_item(POLLIN),
        dish.as_poll_item(POLLIN),
    ];
    assert_eq!(poll(&mut items, 0).unwrap(), 0);

    radio.send("g", "to the dish", 0).unwrap();
    assert_eq!(poll(&mut items, 30_000).unwrap(), 1);
    assert!(!items[0].is_readable() && !items[1].is_readable());
    assert!(items[2].is_readable() && dish.owns(&items[2]) && !server.owns(&items[2]));
    assert_eq!(dish.recv_group(DONTWAIT).unwrap().1, b"to the dish");

    client.send("to the server", 0).unwrap();
    assert_eq!(poll(&mut items, 30_000).unwrap(), 1);
    assert!(items[1].is_readable() && server.owns(&items[1]));
    assert_eq!(server.recv_from(DONTWAIT).unwrap().1, b"to the server");

    push.send("to the pull", 0).unwrap();
    assert_eq!(poll(&mut items, 30_000).unwrap(), 1);
    assert!(items[0].is_readable() && items[0].has_socket(&pull));
}

#[test]
fn a_client_at_its_mark_is_writable_once_the_server_reads() {
    let ctx = Context::new();
    let server = Arc::new(ctx.server().unwrap());
    server.set_rcvhwm(2).unwrap();
    server.bind("inproc://tspoll-out").unwrap();
    let client = ctx.client().unwrap();
    client.set_sndhwm(2).unwrap();
    client.connect("inproc://tspoll-out").unwrap();

    let mut items = [client.as_poll_item(POLLOUT)];
    assert_eq!(poll(&mut items, 0).unwrap(), 1, "room at first");
    let mut sent = 0;
    while client.send([sent], DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent < 100, "the mark never held");
    }
    assert_eq!(poll(&mut items, 0).unwrap(), 0, "writable at the mark");

    let s = server.clone();
    let reader = thread::spawn(move || s.recv_from(0).unwrap().1);
    assert_eq!(poll(&mut items, 30_000).unwrap(), 1);
    assert_eq!(items[0].get_revents(), POLLOUT);
    assert_eq!(within("recv", move || reader.join().unwrap()), [0]);
    client.send("more", DONTWAIT).unwrap();
}

#[test]
fn a_timeout_passes_when_nothing_comes() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    server.bind("inproc://tspoll-timeout").unwrap();
    let gather = ctx.gather().unwrap();
    gather.bind("inproc://tspoll-timeout-gather").unwrap();
    let radio = ctx.radio().unwrap();
    let scatter = ctx.scatter().unwrap();
    // A GATHER never sends and a RADIO never receives; a SCATTER with no
    // peer has nowhere to send.
    let mut items = [
        server.as_poll_item(POLLIN),
        gather.as_poll_item(POLLIN | POLLOUT),
        radio.as_poll_item(POLLIN),
        scatter.as_poll_item(POLLOUT),
    ];
    assert_eq!(poll(&mut items, 50).unwrap(), 0);
    assert!(items.iter().all(|i| i.get_revents().is_empty()));
}

#[test]
fn pollout_is_as_libzmq_reports_it_per_type() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    let radio = ctx.radio().unwrap();
    let dish = ctx.dish().unwrap();
    let client = ctx.client().unwrap();
    // SERVER, RADIO, DISH: always (libzmq's `xhas_out` returns true);
    // a CLIENT without a peer: no.
    let mut items = [
        server.as_poll_item(POLLOUT),
        radio.as_poll_item(POLLOUT),
        dish.as_poll_item(POLLOUT),
        client.as_poll_item(POLLOUT),
    ];
    assert_eq!(poll(&mut items, 0).unwrap(), 3);
    assert!(!items[3].is_writable());
}

#[test]
fn a_dish_is_not_ready_with_only_messages_of_a_group_it_left() {
    let ctx = Context::new();
    let dish = ctx.dish().unwrap();
    dish.bind("inproc://tspoll-left").unwrap();
    dish.join("a").unwrap();
    dish.join("b").unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect("inproc://tspoll-left").unwrap();
    // Large ones too: they travel outside the ring.
    let large = vec![7u8; 40 << 10];
    radio.send("a", "1", 0).unwrap();
    radio.send("a", &large, 0).unwrap();
    radio.send("b", &large, 0).unwrap();
    radio.send("b", "2", 0).unwrap();
    dish.leave("a").unwrap();
    let mut items = [dish.as_poll_item(POLLIN)];
    for want in [&large[..], b"2"] {
        assert_eq!(poll(&mut items, 0).unwrap(), 1);
        assert_eq!(
            dish.recv_group(DONTWAIT).unwrap(),
            (b"b".to_vec(), want.to_vec())
        );
    }
    radio.send("a", "3", 0).unwrap();
    assert_eq!(poll(&mut items, 0).unwrap(), 0);
    assert!(matches!(dish.recv_group(DONTWAIT), Err(Error::WouldBlock)));
}

/// Two threads poll one SERVER without a limit and receive what they find;
/// each stops at a "stop" message, of which there are two. A wake-up lost
/// by either (the other drained it, or took the message it woke for while
/// a second waited) leaves it asleep beside a message: the test hangs.
/// Half the messages go one at a time, each after the last was received,
/// so that both pollers are asleep when it comes; the rest in a burst.
#[test]
fn threads_polling_one_server_together_lose_nothing() {
    const N: usize = 2000;
    let ctx = Context::new();
    let (server, client) = server_and_client(&ctx, "inproc://tspoll-many");
    let got = Arc::new(Mutex::new(Vec::new()));
    let (ack, acks) = mpsc::channel();
    let pollers: Vec<_> = (0..2)
        .map(|_| {
            let (server, got, ack) = (server.clone(), got.clone(), ack.clone());
            thread::spawn(move || loop {
                let mut items = [server.as_poll_item(POLLIN)];
                assert_eq!(poll(&mut items, -1).unwrap(), 1);
                match server.recv_from(DONTWAIT) {
                    Ok((_, m)) if m == b"stop" => return,
                    Ok((_, m)) => {
                        got.lock().unwrap().push(m);
                        let _ = ack.send(());
                    }
                    // The other thread took it.
                    Err(Error::WouldBlock) => {}
                    Err(e) => panic!("recv: {e}"),
                }
            })
        })
        .collect();
    for i in 0..N {
        client.send((i as u32).to_le_bytes(), 0).unwrap();
        if i < N / 2 {
            acks.recv_timeout(PATIENCE)
                .expect("a message sent to two sleeping pollers was not received");
        }
    }
    client.send("stop", 0).unwrap();
    client.send("stop", 0).unwrap();
    within("two pollers", move || {
        for p in pollers {
            p.join().unwrap();
        }
    });
    let got = got.lock().unwrap();
    let distinct: HashSet<_> = got.iter().collect();
    assert_eq!(got.len(), N, "messages lost or repeated");
    assert_eq!(distinct.len(), N, "messages repeated");
}

/// A poller and a blocking receiver wait on one SERVER at once (the
/// doorbell's notify-mode and futex sleepers side by side): both hear of
/// the two messages.
#[test]
fn a_poller_beside_a_blocking_receiver_is_woken() {
    let ctx = Context::new();
    let (server, client) = server_and_client(&ctx, "inproc://tspoll-beside");
    let (started, ready) = mpsc::channel();
    let s = server.clone();
    let s2 = started.clone();
    let receiver = thread::spawn(move || {
        s2.send(()).unwrap();
        s.recv_from(0).unwrap().1
    });
    let s = server.clone();
    let poller = thread::spawn(move || {
        let mut items = [s.as_poll_item(POLLIN)];
        started.send(()).unwrap();
        poll(&mut items, -1).unwrap()
    });
    ready.recv_timeout(PATIENCE).unwrap();
    ready.recv_timeout(PATIENCE).unwrap();
    client.send("one", 0).unwrap();
    client.send("two", 0).unwrap();
    let (got, polled) = within("receiver and poller", move || {
        (receiver.join().unwrap(), poller.join().unwrap())
    });
    assert!(got == b"one" || got == b"two");
    assert_eq!(polled, 1);
}

#[test]
fn over_tcp_a_poll_wakes_on_arrival() {
    let ctx = Context::new();
    let server = Arc::new(ctx.server().unwrap());
    server.bind("tcp://127.0.0.1:*").unwrap();
    let endpoint = server.get_last_endpoint().unwrap();
    let client = ctx.client().unwrap();
    client.connect(&endpoint).unwrap();
    let s = server.clone();
    let poller = thread::spawn(move || {
        let mut items = [s.as_poll_item(POLLIN)];
        let n = poll(&mut items, -1).unwrap();
        (n, items[0].get_revents())
    });
    client.send("over tcp", 0).unwrap();
    let (n, revents) = within("poll over tcp", move || poller.join().unwrap());
    assert_eq!((n, revents), (1, POLLIN));
    let (id, msg) = server.recv_from(DONTWAIT).unwrap();
    assert_eq!(msg, b"over tcp");
    // And back: the CLIENT, polled, wakes on the reply.
    server.send_to(id, "back", 0).unwrap();
    let mut items = [client.as_poll_item(POLLIN)];
    assert_eq!(poll(&mut items, 30_000).unwrap(), 1);
    assert_eq!(client.recv_bytes(DONTWAIT).unwrap(), b"back");
}

/// At the context's shutdown a poll ends with `Terminated`, also one that
/// waits for an event that never comes (a GATHER's `POLLOUT`).
#[test]
fn a_poll_ends_when_the_context_is_shut_down() {
    let ctx = Context::new();
    let server = Arc::new(ctx.server().unwrap());
    let gather = Arc::new(ctx.gather().unwrap());
    let (started, polling) = mpsc::channel();
    let pollers: Vec<_> = [POLLIN, POLLOUT]
        .into_iter()
        .map(|events| {
            let (server, gather, started) = (server.clone(), gather.clone(), started.clone());
            thread::spawn(move || {
                let mut items = if events == POLLIN {
                    [server.as_poll_item(POLLIN)]
                } else {
                    [gather.as_poll_item(POLLOUT)]
                };
                started.send(()).unwrap();
                poll(&mut items, -1)
            })
        })
        .collect();
    polling.recv_timeout(PATIENCE).unwrap();
    polling.recv_timeout(PATIENCE).unwrap();
    ctx.shutdown();
    for p in pollers {
        let r = within("poll at shutdown", move || p.join().unwrap());
        assert!(matches!(r, Err(Error::Terminated)), "{r:?}");
    }
}
