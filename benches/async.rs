//! Async sockets against the blocking API, in the same run:
//!
//! - `blocking`: REQ/REP round trips of 64 bytes over inproc, REP echoing
//!   on a thread of its own (the blocking API's natural shape; both cores).
//! - `async_one_thread`: the same round trips with REQ and REP as two tasks
//!   on one current-thread tokio runtime (the async API's natural shape:
//!   each wait hands the thread to the other task).
//! - `async_vs_blocking_thread`: an async REQ task against a blocking REP
//!   thread (every wake-up crosses threads and unparks the runtime).
//!
//! At the end it prints the ratio async / blocking per round trip (the
//! issue's bar: at most 3x over inproc).
//!
//! `cargo bench --bench async`

use criterion::{criterion_group, criterion_main, Criterion};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use zeroring::{AsyncSocket, Context, SocketType};

const MSG: [u8; 64] = [7; 64];

/// Best (lowest) time per round trip seen for each bench, for the ratio.
static BEST: Mutex<Vec<(&'static str, f64)>> = Mutex::new(Vec::new());

fn record(name: &'static str, elapsed: Duration, iters: u64) {
    let per = elapsed.as_secs_f64() / iters.max(1) as f64;
    let mut best = BEST.lock().unwrap();
    match best.iter_mut().find(|(n, _)| *n == name) {
        Some((_, b)) => *b = b.min(per),
        None => best.push((name, per)),
    }
}

fn echo_thread(rep: zeroring::Socket) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok(n) = rep.recv_into(&mut buf, 0) {
            if n == 0 {
                break;
            }
            rep.send(&buf[..n], 0).unwrap();
        }
    })
}

fn blocking(c: &mut Criterion) {
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.bind("inproc://bench-blocking").unwrap();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.connect("inproc://bench-blocking").unwrap();
    let echo = echo_thread(rep);
    let mut buf = [0u8; 64];
    c.bench_function("reqrep_roundtrip/blocking", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                req.send(MSG, 0).unwrap();
                req.recv_into(&mut buf, 0).unwrap();
            }
            let t = start.elapsed();
            record("blocking", t, iters);
            t
        })
    });
    req.send([], 0).unwrap();
    echo.join().unwrap();
}

fn async_one_thread(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.bind("inproc://bench-async").unwrap();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.connect("inproc://bench-async").unwrap();
    let req = std::sync::Arc::new(tokio::sync::Mutex::new(AsyncSocket::new(req).unwrap()));
    let mut rep = AsyncSocket::new(rep).unwrap();
    let echo = rt.spawn(async move {
        while let Ok(m) = rep.recv().await {
            if m.is_empty() {
                break;
            }
            rep.send(m).await.unwrap();
        }
    });
    c.bench_function("reqrep_roundtrip/async_one_thread", |b| {
        b.iter_custom(|iters| {
            let req = req.clone();
            // The client is a task too (not the block_on future), so both
            // sides wake each other through the scheduler's local queue.
            let t = rt.block_on(async move {
                tokio::spawn(async move {
                    let mut req = req.lock().await;
                    let start = Instant::now();
                    for _ in 0..iters {
                        req.send(MSG).await.unwrap();
                        req.recv().await.unwrap();
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            });
            record("async_one_thread", t, iters);
            t
        })
    });
    rt.block_on(async {
        req.lock().await.send([]).await.unwrap();
        echo.await.unwrap();
    });
}

fn async_vs_blocking_thread(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ctx = Context::new();
    let req = ctx.socket(SocketType::Req).unwrap();
    req.bind("inproc://bench-cross").unwrap();
    let rep = ctx.socket(SocketType::Rep).unwrap();
    rep.connect("inproc://bench-cross").unwrap();
    let echo = echo_thread(rep);
    let req = std::sync::Arc::new(tokio::sync::Mutex::new(AsyncSocket::new(req).unwrap()));
    c.bench_function("reqrep_roundtrip/async_vs_blocking_thread", |b| {
        b.iter_custom(|iters| {
            let req = req.clone();
            let t = rt.block_on(async move {
                tokio::spawn(async move {
                    let mut req = req.lock().await;
                    let start = Instant::now();
                    for _ in 0..iters {
                        req.send(MSG).await.unwrap();
                        req.recv().await.unwrap();
                    }
                    start.elapsed()
                })
                .await
                .unwrap()
            });
            record("async_vs_blocking_thread", t, iters);
            t
        })
    });
    rt.block_on(async { req.lock().await.send([]).await.unwrap() });
    echo.join().unwrap();
}

fn report(_: &mut Criterion) {
    let best = BEST.lock().unwrap();
    let get = |name| best.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
    if let Some(base) = get("blocking") {
        println!("\nbest round trip per iteration, same run:");
        for (name, t) in best.iter() {
            println!(
                "  {name:<26} {:>8.3} us   {:>5.2}x blocking",
                t * 1e6,
                t / base
            );
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = blocking, async_one_thread, async_vs_blocking_thread, report
}
criterion_main!(benches);
