//! The thread-safe sockets' `*_async` methods: tasks on multi-thread
//! runtimes sharing one socket to send and to receive, waiting for room,
//! cancellation, RADIO/DISH, tcp, and shutdown.

use futures::poll;
use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zeroring::{Client, Context, Error, Server, DONTWAIT};

/// Long enough never to pass on a loaded machine unless something hangs.
const PATIENCE: Duration = Duration::from_secs(30);

/// What `f` gives, failing the test loudly if it has not come within
/// [`PATIENCE`] (a task never woken).
async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(PATIENCE, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: nothing within {PATIENCE:?} (a lost wake-up?)"),
    }
}

/// A SERVER bound on `endpoint` and a CLIENT connected to it.
fn server_and_client(ctx: &Context, endpoint: &str) -> (Arc<Server>, Arc<Client>) {
    let server = Arc::new(ctx.server().unwrap());
    server.bind(endpoint).unwrap();
    let client = Arc::new(ctx.client().unwrap());
    client.connect(endpoint).unwrap();
    (server, client)
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn the_futures_are_send() {
    let ctx = Context::new();
    let (client, server) = (ctx.client().unwrap(), ctx.server().unwrap());
    let (scatter, gather) = (ctx.scatter().unwrap(), ctx.gather().unwrap());
    let (radio, dish) = (ctx.radio().unwrap(), ctx.dish().unwrap());
    let mut buf = [0u8; 4];
    assert_send(&client.send_async("x"));
    assert_send(&client.recv_bytes_async());
    assert_send(&client.recv_into_async(&mut buf));
    assert_send(&server.send_to_async(zeroring::RoutingId::new(1).unwrap(), "x"));
    assert_send(&server.recv_from_async());
    assert_send(&server.recv_from_into_async(&mut buf));
    assert_send(&scatter.send_async("x"));
    assert_send(&gather.recv_bytes_async());
    assert_send(&gather.recv_into_async(&mut buf));
    assert_send(&radio.send_async("g", "x"));
    assert_send(&dish.recv_group_async());
}

/// A SERVER awaiting in one task, two CLIENTs sending from others: each
/// message comes with its sender's routing id, and the reply sent to that
/// id reaches that client alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_task_replies_to_client_tasks() {
    let ctx = Context::new();
    let (server, a) = server_and_client(&ctx, "inproc://tsasync-reply");
    let b = Arc::new(ctx.client().unwrap());
    b.connect("inproc://tsasync-reply").unwrap();

    let echo = tokio::spawn({
        let server = server.clone();
        async move {
            let mut peers = HashSet::new();
            for _ in 0..2 {
                let (peer, msg) = server.recv_from_async().await.unwrap();
                peers.insert(peer);
                server
                    .send_to_async(peer, [b"re: ".as_slice(), &msg].concat())
                    .await
                    .unwrap();
            }
            peers
        }
    });
    let clients = [(a, "from a"), (b, "from b")].map(|(client, text)| {
        tokio::spawn(async move {
            client.send_async(text).await.unwrap();
            let reply = client.recv_bytes_async().await.unwrap();
            assert_eq!(reply, format!("re: {text}").as_bytes());
        })
    });
    for c in clients {
        within("a client's reply", c).await.unwrap();
    }
    let peers = within("the server task", echo).await.unwrap();
    assert_eq!(peers.len(), 2, "two clients, two routing ids");
}

/// Eight tasks on a multi-thread runtime send 2,000 messages each on one
/// CLIENT; a task receiving on the SERVER gets every one, each task's in
/// the order sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_tasks_send_on_one_client() {
    const TASKS: u32 = 8;
    const EACH: u32 = 2_000;
    let ctx = Context::new();
    let (server, client) = server_and_client(&ctx, "inproc://tsasync-eight");

    let senders: Vec<_> = (0..TASKS)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let msg = [t.to_le_bytes(), i.to_le_bytes()].concat();
                    client.send_async(msg).await.unwrap();
                }
            })
        })
        .collect();
    let receiver = tokio::spawn(async move {
        let mut next = [0u32; TASKS as usize];
        let mut sum = 0u64;
        for _ in 0..TASKS * EACH {
            let (_, msg) = server.recv_from_async().await.unwrap();
            let t = u32::from_le_bytes(msg[..4].try_into().unwrap()) as usize;
            let i = u32::from_le_bytes(msg[4..].try_into().unwrap());
            assert_eq!(i, next[t], "task {t}'s messages in order");
            next[t] += 1;
            sum += u64::from(i);
        }
        (next, sum)
    });
    for s in senders {
        within("a sender", s).await.unwrap();
    }
    let (next, sum) = within("the receiver", receiver).await.unwrap();
    assert_eq!(next, [EACH; TASKS as usize]);
    assert_eq!(sum, u64::from(TASKS) * u64::from(EACH * (EACH - 1) / 2));
}

/// Several tasks await receives on one SERVER at once: each of N messages
/// is received exactly once. A task ends at a "stop" message, sent one per
/// task after the others, so every task ends (none waits forever) once
/// all are sent, whoever took what.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_tasks_receive_on_one_server() {
    const RECEIVERS: usize = 6;
    const N: u32 = 3_000;
    let ctx = Context::new();
    let (server, client) = server_and_client(&ctx, "inproc://tsasync-many");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let (started, mut all_started) = tokio::sync::mpsc::channel(RECEIVERS);
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let (server, seen, started) = (server.clone(), seen.clone(), started.clone());
            tokio::spawn(async move {
                started.send(()).await.unwrap();
                let mut mine = 0;
                loop {
                    let (_, msg) = server.recv_from_async().await.unwrap();
                    if msg == b"stop" {
                        return mine;
                    }
                    let i = u32::from_le_bytes(msg[..].try_into().unwrap());
                    seen.lock().unwrap().push(i);
                    mine += 1;
                }
            })
        })
        .collect();
    for _ in 0..RECEIVERS {
        within("receivers starting", all_started.recv())
            .await
            .unwrap();
    }
    // One client, one pipe: the stops come after every number.
    for i in 0..N {
        client.send_async(i.to_le_bytes()).await.unwrap();
    }
    for _ in 0..RECEIVERS {
        client.send_async("stop").await.unwrap();
    }
    let mut total = 0;
    for r in receivers {
        total += within("a receiver", r).await.unwrap();
    }
    assert_eq!(total, N as usize);
    let mut seen = std::mem::take(&mut *seen.lock().unwrap());
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>(), "each received once");
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
}

/// A CLIENT with room for `hwm` messages to its SERVER (SNDHWM + RCVHWM
/// over inproc), filled to its mark: what it took.
fn full_pipe(ctx: &Context, endpoint: &str) -> (Arc<Server>, Arc<Client>, u32) {
    let server = Arc::new(ctx.server().unwrap());
    server.set_rcvhwm(1).unwrap();
    server.bind(endpoint).unwrap();
    let client = Arc::new(ctx.client().unwrap());
    client.set_sndhwm(2).unwrap();
    client.connect(endpoint).unwrap();
    let mut sent = 0u32;
    while client.send(sent.to_le_bytes(), DONTWAIT).is_ok() {
        sent += 1;
    }
    assert_eq!(sent, 3, "one thread sees the mark exactly");
    (server, client, sent)
}

/// A send that waits at the high-water mark completes once the server
/// reads, after the messages ahead of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_waiting_at_the_mark_completes_when_the_server_reads() {
    let ctx = Context::new();
    let (server, client, sent) = full_pipe(&ctx, "inproc://tsasync-hwm");
    let mut late = pin!(client.send_async("late"));
    assert!(poll!(late.as_mut()).is_pending(), "waits at the mark");

    let (_, first) = within("a receive", server.recv_from_async()).await.unwrap();
    assert_eq!(first, 0u32.to_le_bytes());
    within("the waiting send", late).await.unwrap();
    for i in 1..sent {
        let (_, msg) = within("a receive", server.recv_from_async()).await.unwrap();
        assert_eq!(msg, i.to_le_bytes());
    }
    let (_, last) = within("a receive", server.recv_from_async()).await.unwrap();
    assert_eq!(last, b"late");
}

/// A send waiting at the mark, dropped, sent nothing: the server receives
/// exactly the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_send_sends_nothing() {
    let ctx = Context::new();
    let (server, client, sent) = full_pipe(&ctx, "inproc://tsasync-drop");
    {
        let mut dropped = pin!(client.send_async("dropped"));
        assert!(poll!(dropped.as_mut()).is_pending(), "waits at the mark");
    }
    for i in 0..sent {
        let (_, msg) = within("a receive", server.recv_from_async()).await.unwrap();
        assert_eq!(msg, i.to_le_bytes());
    }
    assert!(matches!(server.recv_from(DONTWAIT), Err(Error::WouldBlock)));
    // And the pipe works on: the next message is the next sent.
    within("a send", client.send_async("after")).await.unwrap();
    let (_, msg) = within("a receive", server.recv_from_async()).await.unwrap();
    assert_eq!(msg, b"after");
}

/// A DISH task awaits a message of the group it joined; the RADIO's
/// message to another group does not reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dish_task_receives_its_group_from_a_radio() {
    let ctx = Context::new();
    let dish = Arc::new(ctx.dish().unwrap());
    dish.bind("inproc://tsasync-radio").unwrap();
    dish.join("weather").unwrap();
    let radio = ctx.radio().unwrap();
    radio.connect("inproc://tsasync-radio").unwrap();

    let listener = tokio::spawn({
        let dish = dish.clone();
        async move { dish.recv_group_async().await.unwrap() }
    });
    radio.send_async("sport", "2-1").await.unwrap();
    radio.send_async("weather", "sunny").await.unwrap();
    let (group, msg) = within("the dish", listener).await.unwrap();
    assert_eq!((&group[..], &msg[..]), (&b"weather"[..], &b"sunny"[..]));
    assert!(matches!(dish.recv_group(DONTWAIT), Err(Error::WouldBlock)));
}

/// CLIENT and SERVER tasks over tcp: the client's send waits for the
/// connection, the server's reply comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_and_server_tasks_over_tcp() {
    let ctx = Context::new();
    let server = Arc::new(ctx.server().unwrap());
    server.bind("tcp://127.0.0.1:0").unwrap();
    let client = ctx.client().unwrap();
    client
        .connect(&server.get_last_endpoint().unwrap())
        .unwrap();

    let echo = tokio::spawn({
        let server = server.clone();
        async move {
            for _ in 0..100 {
                let (peer, msg) = server.recv_from_async().await.unwrap();
                server.send_to_async(peer, msg).await.unwrap();
            }
        }
    });
    for i in 0..100u32 {
        within("a send", client.send_async(i.to_le_bytes()))
            .await
            .unwrap();
        let reply = within("a reply", client.recv_bytes_async()).await.unwrap();
        assert_eq!(reply, i.to_le_bytes());
    }
    within("the server task", echo).await.unwrap();
}

/// A receive and a send waiting when the context shuts down end with
/// `Terminated`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_waiting_tasks_with_terminated() {
    let ctx = Context::new();
    let server = ctx.server().unwrap();
    let client = ctx.client().unwrap(); // no peer: its send waits
    let mut recv = pin!(server.recv_from_async());
    let mut send = pin!(client.send_async("x"));
    assert!(poll!(recv.as_mut()).is_pending());
    assert!(poll!(send.as_mut()).is_pending());

    let killer = tokio::spawn({
        let ctx = ctx.clone();
        async move { ctx.shutdown() }
    });
    let (r, s) = within("the waiting tasks", async { (recv.await, send.await) }).await;
    assert!(matches!(r, Err(Error::Terminated)), "{r:?}");
    assert!(matches!(s, Err(Error::Terminated)), "{s:?}");
    killer.await.unwrap();
}

/// A task and a thread blocked in `recv_from` receive on one SERVER at
/// once (the doorbell's notify-mode and futex sleepers side by side):
/// each message goes to one of them. Each ends at a "stop", sent after
/// the numbers; the thread's RCVTIMEO fails it loudly instead of hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_and_a_blocked_thread_receive_on_one_server() {
    const N: u32 = 2_000;
    let ctx = Context::new();
    let (server, client) = server_and_client(&ctx, "inproc://tsasync-mixed");
    server.set_rcvtimeo(PATIENCE.as_millis() as i32).unwrap();

    let collect = |mut got: Vec<u32>, msg: &[u8]| {
        if msg == b"stop" {
            return Err(got);
        }
        got.push(u32::from_le_bytes(msg.try_into().unwrap()));
        Ok(got)
    };
    let thread = std::thread::spawn({
        let server = server.clone();
        move || {
            let mut got = Vec::new();
            loop {
                let (_, msg) = server.recv_from(0).unwrap();
                match collect(got, &msg) {
                    Ok(more) => got = more,
                    Err(done) => return done,
                }
            }
        }
    });
    let task = tokio::spawn({
        let server = server.clone();
        async move {
            let (mut got, mut buf) = (Vec::new(), [0u8; 8]);
            loop {
                let (_, len) = server.recv_from_into_async(&mut buf).await.unwrap();
                match collect(got, &buf[..len]) {
                    Ok(more) => got = more,
                    Err(done) => return done,
                }
            }
        }
    });
    for i in 0..N {
        client.send_async(i.to_le_bytes()).await.unwrap();
    }
    client.send_async("stop").await.unwrap();
    client.send_async("stop").await.unwrap();
    let mut got = within("the task", task).await.unwrap();
    got.extend(
        within(
            "the thread",
            tokio::task::spawn_blocking(|| thread.join().unwrap()),
        )
        .await
        .unwrap(),
    );
    got.sort_unstable();
    assert_eq!(got, (0..N).collect::<Vec<_>>(), "each received once");
}

/// Four tasks send on one SCATTER, a task gathers into a buffer: all
/// arrive, each task's in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scatter_tasks_to_a_gather_task() {
    const TASKS: u8 = 4;
    const EACH: u32 = 500;
    let ctx = Context::new();
    let gather = Arc::new(ctx.gather().unwrap());
    gather.bind("inproc://tsasync-scatter").unwrap();
    let scatter = Arc::new(ctx.scatter().unwrap());
    scatter.connect("inproc://tsasync-scatter").unwrap();

    let senders: Vec<_> = (0..TASKS)
        .map(|t| {
            let scatter = scatter.clone();
            tokio::spawn(async move {
                for i in 0..EACH {
                    let msg = [&[t][..], &i.to_le_bytes()].concat();
                    scatter.send_async(msg).await.unwrap();
                }
            })
        })
        .collect();
    let mut next = [0u32; TASKS as usize];
    let mut buf = [0u8; 5];
    for _ in 0..u32::from(TASKS) * EACH {
        let len = within("a message", gather.recv_into_async(&mut buf))
            .await
            .unwrap();
        assert_eq!(len, 5);
        let t = usize::from(buf[0]);
        assert_eq!(u32::from_le_bytes(buf[1..].try_into().unwrap()), next[t]);
        next[t] += 1;
    }
    for s in senders {
        within("a sender", s).await.unwrap();
    }
    assert_eq!(next, [EACH; TASKS as usize]);
}
