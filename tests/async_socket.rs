//! Async sockets: tasks on one runtime thread, every transport, cancellation,
//! waiting for room, shutdown, and idleness (no polls, no CPU).

mod common;
use common::*;
use futures::{SinkExt, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use zeroring::{AsyncSocket, Context, Error, SocketType::*};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn wrap(s: zeroring::Socket) -> AsyncSocket {
    AsyncSocket::new(s).unwrap()
}

/// REQ and REP tasks on one runtime thread, over `endpoint`.
fn reqrep_on_one_thread(endpoint: &'static str) {
    bounded(move || {
        rt().block_on(async {
            let ctx = Context::new();
            let rep = socket(&ctx, Rep);
            rep.bind(endpoint).unwrap();
            let req = socket(&ctx, Req);
            req.connect(&rep.get_last_endpoint().unwrap().unwrap())
                .unwrap();
            let (mut rep, mut req) = (wrap(rep), wrap(req));
            let server = tokio::spawn(async move {
                for _ in 0..100 {
                    let q = rep.recv_multipart().await.unwrap();
                    rep.send_multipart(q).await.unwrap();
                }
            });
            for i in 0..100u32 {
                req.send_multipart([&i.to_le_bytes()[..], b"x"])
                    .await
                    .unwrap();
                let reply = req.recv_multipart().await.unwrap();
                assert_eq!(reply, [i.to_le_bytes().to_vec(), b"x".to_vec()]);
            }
            server.await.unwrap();
        })
    });
}

#[test]
fn reqrep_inproc() {
    reqrep_on_one_thread("inproc://async-reqrep");
}

#[test]
fn reqrep_tcp() {
    reqrep_on_one_thread("tcp://127.0.0.1:0");
}

#[test]
fn reqrep_ipc() {
    // Shared-memory pipes: the peer's rings reach the task through the bridge.
    let endpoint = format!("ipc://@zr-async-reqrep-{}", std::process::id());
    reqrep_on_one_thread(Box::leak(endpoint.into_boxed_str()));
}

/// A thousand tasks, each with its own socket (500 PAIR pairs), all on one
/// runtime thread, each pair ping-ponging; all complete.
#[test]
fn a_thousand_tasks_on_one_thread() {
    const PAIRS: usize = 500;
    const ROUNDS: u32 = 20;
    bounded(|| {
        rt().block_on(async {
            let ctx = Context::new();
            let mut tasks = Vec::new();
            for p in 0..PAIRS {
                let endpoint = format!("inproc://async-many-{p}");
                let (a, b) = pair_of(&ctx, Pair, Pair, &endpoint);
                let (mut a, mut b) = (wrap(a), wrap(b));
                tasks.push(tokio::spawn(async move {
                    for r in 0..ROUNDS {
                        a.send(r.to_le_bytes()).await.unwrap();
                        assert_eq!(a.recv().await.unwrap(), (r + 1).to_le_bytes());
                    }
                }));
                tasks.push(tokio::spawn(async move {
                    for r in 0..ROUNDS {
                        let got = b.recv().await.unwrap();
                        assert_eq!(got, r.to_le_bytes());
                        b.send((r + 1).to_le_bytes()).await.unwrap();
                    }
                }));
            }
            assert_eq!(tasks.len(), 1000);
            for t in tasks {
                t.await.unwrap();
            }
        })
    });
}

/// Polls `fut` once with a waker that counts its wakes.
fn poll_once<F: Future + Unpin>(fut: &mut F, wakes: &Arc<Counter>) -> Poll<F::Output> {
    let waker = futures::task::waker(wakes.clone());
    fut.poll_unpin_with(&mut TaskContext::from_waker(&waker))
}

#[derive(Default)]
struct Counter(AtomicUsize);
impl futures::task::ArcWake for Counter {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

trait PollUnpin: Future + Unpin {
    fn poll_unpin_with(&mut self, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(self).poll(cx)
    }
}
impl<F: Future + Unpin> PollUnpin for F {}

/// A recv future that was polled (and so registered its task), then woken
/// by the message's arrival, then dropped, took nothing: the next recv gets
/// the message. Likewise one dropped before any message came.
#[test]
fn a_dropped_recv_loses_nothing() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://async-cancel");
    let mut pull = wrap(pull);
    for i in 0..50u32 {
        let wakes = Arc::new(Counter::default());
        {
            // Polled with nothing to take, dropped.
            let mut fut = Box::pin(pull.recv());
            assert!(poll_once(&mut fut, &wakes).is_pending());
        }
        {
            let mut fut = Box::pin(pull.recv());
            assert!(poll_once(&mut fut, &wakes).is_pending());
            push.send(i.to_le_bytes(), 0).unwrap();
            assert!(wakes.0.load(Ordering::SeqCst) >= 1, "the send woke nobody");
            // Dropped here, woken but never polled again.
        }
        let mut fut = Box::pin(pull.recv());
        match poll_once(&mut fut, &wakes) {
            Poll::Ready(got) => assert_eq!(got.unwrap(), i.to_le_bytes()),
            Poll::Pending => panic!("message {i} lost with the dropped future"),
        }
    }
}

/// `select!` against a timer that often wins: every message still arrives,
/// once, in order.
#[test]
fn recv_in_select_loses_nothing() {
    const N: u32 = 300;
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://async-select");
    let sender = std::thread::spawn(move || {
        for i in 0..N {
            push.send(i.to_le_bytes(), 0).unwrap();
            if i % 7 == 0 {
                std::thread::yield_now();
            }
        }
        push
    });
    let got = bounded(move || {
        rt().block_on(async move {
            let mut pull = wrap(pull);
            let mut got = Vec::new();
            let mut interval = tokio::time::interval(Duration::from_micros(50));
            while got.len() < N as usize {
                tokio::select! {
                    m = pull.recv() => got.push(u32::from_le_bytes(m.unwrap().try_into().unwrap())),
                    _ = interval.tick() => {}
                }
            }
            got
        })
    });
    assert_eq!(got, (0..N).collect::<Vec<_>>());
    sender.join().unwrap();
}

/// A send that must wait for room (high-water mark 1 each side) completes
/// when the reader takes messages, and a dropped one sent nothing.
#[test]
fn send_waits_for_room() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    pull.bind("inproc://async-room").unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect("inproc://async-room").unwrap();
    let mut push = wrap(push);
    let wakes = Arc::new(Counter::default());
    let mut sent = 0u32;
    loop {
        let mut fut = Box::pin(push.send(sent.to_le_bytes()));
        match poll_once(&mut fut, &wakes) {
            Poll::Ready(r) => {
                r.unwrap();
                sent += 1;
            }
            Poll::Pending => break,
        }
    }
    assert!(sent >= 1);
    // Pending: dropped, it sends nothing; the one after it waits for room.
    let mut fut = Box::pin(push.send(u32::MAX.to_le_bytes()));
    assert!(poll_once(&mut fut, &wakes).is_pending());
    drop(fut);
    let mut fut = Box::pin(push.send(sent.to_le_bytes()));
    assert!(poll_once(&mut fut, &wakes).is_pending());
    let before = wakes.0.load(Ordering::SeqCst);
    for i in 0..sent {
        assert_eq!(pull.recv_bytes(0).unwrap(), i.to_le_bytes());
    }
    assert!(wakes.0.load(Ordering::SeqCst) > before, "room woke nobody");
    assert!(poll_once(&mut fut, &wakes).is_ready());
    assert_eq!(pull.recv_bytes(0).unwrap(), sent.to_le_bytes());
    assert!(
        pull.recv_bytes(zeroring::DONTWAIT).is_err(),
        "dropped send was sent"
    );
}

#[test]
fn stream_and_sink() {
    bounded(|| {
        rt().block_on(async {
            let ctx = Context::new();
            let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://async-stream");
            let (mut pull, mut push) = (wrap(pull), wrap(push));
            let producer = tokio::spawn(async move {
                for i in 0..10u8 {
                    SinkExt::send(&mut push, vec![vec![i], b"tail".to_vec()])
                        .await
                        .unwrap();
                }
                push
            });
            for i in 0..10u8 {
                let msg = pull.next().await.unwrap().unwrap();
                assert_eq!(msg, [vec![i], b"tail".to_vec()]);
            }
            let _push = producer.await.unwrap();
            ctx.shutdown();
            assert!(pull.next().await.is_none(), "stream ends at shutdown");
        })
    });
}

/// A blocking sender on another thread wakes a task (a cross-thread wake).
#[test]
fn blocking_peer_on_another_thread() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://async-cross");
    let sender = std::thread::spawn(move || {
        for i in 0..1000u32 {
            push.send(i.to_le_bytes(), 0).unwrap();
        }
        push
    });
    bounded(move || {
        rt().block_on(async move {
            let mut pull = wrap(pull);
            for i in 0..1000u32 {
                assert_eq!(pull.recv().await.unwrap(), i.to_le_bytes());
            }
        })
    });
    sender.join().unwrap();
}

#[test]
fn shutdown_wakes_a_pending_recv() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ctx2 = ctx.clone();
    let r = bounded(move || {
        rt().block_on(async move {
            let mut pull = wrap(pull);
            let killer = tokio::spawn(async move {
                tokio::task::yield_now().await;
                ctx2.shutdown();
            });
            let r = pull.recv().await;
            killer.await.unwrap();
            r
        })
    });
    assert!(matches!(r, Err(Error::Terminated)));
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Counts how often the future inside is polled.
struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}
impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Tasks awaiting recv on idle sockets of every transport are polled once
/// and then left alone, and the runtime thread sleeps: over an idle spell
/// it uses (almost) no CPU. Then a message still wakes them.
#[test]
fn idle_sockets_use_no_cpu() {
    bounded(|| {
        rt().block_on(async {
            let ctx = Context::new();
            let ipc = format!("ipc://@zr-async-idle-{}", std::process::id());
            let mut pushes = Vec::new();
            let mut waiting = Vec::new();
            for endpoint in ["inproc://async-idle", "tcp://127.0.0.1:0", &ipc] {
                let pull = socket(&ctx, Pull);
                pull.bind(endpoint).unwrap();
                let push = socket(&ctx, Push);
                push.connect(&pull.get_last_endpoint().unwrap().unwrap())
                    .unwrap();
                pushes.push(push);
                let polls = Arc::new(AtomicUsize::new(0));
                let mut pull = wrap(pull);
                let fut = Counted {
                    inner: Box::pin(async move { pull.recv().await }),
                    polls: polls.clone(),
                };
                waiting.push((tokio::spawn(fut), polls));
            }
            // Let connections come up and the tasks settle into waiting.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let polls_before: Vec<usize> = waiting
                .iter()
                .map(|(_, p)| p.load(Ordering::SeqCst))
                .collect();
            let cpu = thread_cpu();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let used = thread_cpu() - cpu;
            let polls_after: Vec<usize> = waiting
                .iter()
                .map(|(_, p)| p.load(Ordering::SeqCst))
                .collect();
            assert_eq!(polls_before, polls_after, "idle tasks were polled");
            assert!(
                used < Duration::from_millis(25),
                "runtime thread used {used:?} of CPU in 500 ms idle"
            );
            for (i, push) in pushes.iter().enumerate() {
                push.send([i as u8], 0).unwrap();
            }
            for (i, (task, _)) in waiting.into_iter().enumerate() {
                assert_eq!(task.await.unwrap().unwrap(), [i as u8]);
            }
        })
    });
}
