//! The hardware's own limits between two pinned cores, for the ratios the
//! other perf tools quote: what no messaging library on this machine can
//! beat, measured in the same run as the thing compared with it.
//!
//! - **cache-line ping-pong**: two threads take turns writing one counter on
//!   a line of its own; a round trip is two line transfers, and half of it
//!   is the floor of any one-way hand-off between the cores.
//! - **rtrb SPSC**: the `rtrb` crate's wait-free queue of `[u8; 32]`, one
//!   element pushed and popped at a time: a well-made fixed-size queue,
//!   which a ring of variable-length frames should match.
//!
//! `cargo run --release --example hw_limits [-- <rounds>]` prints medians of
//! `<rounds>` (default 5) and the CPU it ran on.

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

/// One-way hand-off time in ns: half a ping-pong round trip, over `trips`.
fn ping_pong(cores: &[core_affinity::CoreId], trips: u64) -> f64 {
    let line = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let l = line.clone();
    let c = cores.to_vec();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        let mut want = 1;
        while want < 2 * trips {
            while l.load(Ordering::Acquire) != want {
                std::hint::spin_loop();
            }
            l.store(want + 1, Ordering::Release);
            want += 2;
        }
    });
    pin(cores, 0);
    let start = Instant::now();
    let mut next = 0;
    while next < 2 * trips {
        line.store(next + 1, Ordering::Release);
        while line.load(Ordering::Acquire) != next + 2 {
            std::hint::spin_loop();
        }
        next += 2;
    }
    let ns = start.elapsed().as_nanos() as f64;
    echo.join().unwrap();
    ns / (2 * trips) as f64
}

/// rtrb's queue of `[u8; 32]`, one element at a time: messages per second.
fn rtrb_spsc(cores: &[core_affinity::CoreId], count: u64) -> f64 {
    let (mut tx, mut rx) = rtrb::RingBuffer::<[u8; 32]>::new(8192);
    let c = cores.to_vec();
    let consumer = std::thread::spawn(move || {
        pin(&c, 1);
        let mut sum = 0u64;
        for _ in 0..count {
            loop {
                if let Ok(v) = rx.pop() {
                    sum = sum.wrapping_add(v[0] as u64);
                    break;
                }
                std::hint::spin_loop();
            }
        }
        sum
    });
    pin(cores, 0);
    let start = Instant::now();
    for i in 0..count {
        let mut v = [0x5au8; 32];
        v[0] = i as u8;
        while tx.push(v).is_err() {
            std::hint::spin_loop();
        }
    }
    std::hint::black_box(consumer.join().unwrap());
    count as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("rounds"))
        .unwrap_or(5);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    println!("cpu: {cpu}, {} cores", cores.len());
    // Each measurement on fresh threads: pinning is per thread.
    let run = |f: &(dyn Fn() -> f64 + Sync)| {
        median(
            (0..rounds)
                .map(|_| std::thread::scope(|s| s.spawn(f).join().unwrap()))
                .collect(),
        )
    };
    let hop = run(&|| ping_pong(&cores, 2_000_000));
    println!("cache-line hand-off (half a ping-pong round trip): {hop:.1} ns");
    let q = run(&|| rtrb_spsc(&cores, 20_000_000));
    println!("rtrb SPSC [u8; 32], one at a time: {:.1} M msg/s", q / 1e6);
}
