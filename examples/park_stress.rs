//! Stress for the doorbell's sleep/wake path: PAIR ping-pong with both
//! sockets on `WaitStrategy::Park` (every wait sleeps on the futex) while two
//! threads hog the CPUs, in fresh contexts round after round. A lost wake-up
//! shows as a receive timing out: the program then exits with code 3.
//!
//! `cargo run --release --example park_stress -- 120` (seconds)

use zeroring::{Context, SocketType, WaitStrategy};
fn main() {
    let secs: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hogs: Vec<_> = (0..2)
        .map(|_| {
            let s = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !s.load(std::sync::atomic::Ordering::Relaxed) {
                    x = x.wrapping_mul(31).wrapping_add(1);
                    std::hint::black_box(x);
                }
            })
        })
        .collect();
    let start = std::time::Instant::now();
    let mut rounds = 0u64;
    while start.elapsed().as_secs() < secs {
        let ctx = Context::new();
        let a = ctx.socket(SocketType::Pair).unwrap();
        a.bind("inproc://s").unwrap();
        let b = ctx.socket(SocketType::Pair).unwrap();
        b.connect("inproc://s").unwrap();
        for s in [&a, &b] {
            s.set_wait_strategy(WaitStrategy::Park).unwrap();
            s.set_rcvtimeo(5000).unwrap();
        }
        let t = std::thread::spawn(move || {
            for i in 0..20000u32 {
                match b.recv_bytes(0) {
                    Ok(m) => b.send(m, 0).unwrap(),
                    Err(e) => {
                        eprintln!("echo stuck at {i}: {e}");
                        std::process::exit(3)
                    }
                }
            }
        });
        for i in 0..20000u32 {
            a.send(i.to_le_bytes(), 0).unwrap();
            match a.recv_bytes(0) {
                Ok(m) => assert_eq!(m, i.to_le_bytes()),
                Err(e) => {
                    eprintln!("main stuck at {i}: {e}");
                    std::process::exit(3)
                }
            }
        }
        t.join().unwrap();
        rounds += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in hogs {
        h.join().unwrap();
    }
    println!("ok: {rounds} rounds of 20000 round trips");
}
