//! The hardware's own limits between two pinned cores, and pinning itself,
//! shared by the perf examples and benches that quote ratios against them
//! (`hw_limits`, `inproc_compare`, `benches/patterns.rs`, `scaling.rs`).

#![allow(dead_code)]

use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The machine's cores, read once: after a thread pins itself it would see
/// only its own core (and a thread it spawns inherits that).
pub fn cores() -> Vec<core_affinity::CoreId> {
    static CORES: std::sync::OnceLock<Vec<core_affinity::CoreId>> = std::sync::OnceLock::new();
    CORES
        .get_or_init(|| core_affinity::get_core_ids().unwrap_or_default())
        .clone()
}

/// Pins the calling thread to the `n`th of `cores` (read before any pinning:
/// a thread spawned later inherits a one-core mask).
pub fn pin(cores: &[core_affinity::CoreId], n: usize) {
    if !cores.is_empty() {
        core_affinity::set_for_current(cores[n % cores.len()]);
    }
}

/// One-way hand-off time in ns: half a ping-pong round trip, over `trips`.
pub fn ping_pong(cores: &[core_affinity::CoreId], trips: u64) -> f64 {
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

/// One-way hand-off time in ns when each direction has a line of its own
/// (one thread writes line A and waits on line B, the other the reverse):
/// the floor of a round trip through any pair of queues, a request's and a
/// reply's. Each line is only ever written by one core and read by the
/// other, so every write first takes the line back from the spinning
/// reader; on some CPUs that costs twice the shared line's hand-off.
pub fn ping_pong_two_lines(cores: &[core_affinity::CoreId], trips: u64) -> f64 {
    let a = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let b = Arc::new(CachePadded::new(AtomicU64::new(0)));
    let (a2, b2) = (a.clone(), b.clone());
    let c = cores.to_vec();
    let echo = std::thread::spawn(move || {
        pin(&c, 1);
        for i in 1..=trips {
            while a2.load(Ordering::Acquire) != i {
                std::hint::spin_loop();
            }
            b2.store(i, Ordering::Release);
        }
    });
    pin(cores, 0);
    let start = Instant::now();
    for i in 1..=trips {
        a.store(i, Ordering::Release);
        while b.load(Ordering::Acquire) != i {
            std::hint::spin_loop();
        }
    }
    let ns = start.elapsed().as_nanos() as f64;
    echo.join().unwrap();
    ns / (2 * trips) as f64
}

/// rtrb's queue of `[u8; 32]`, one element at a time: messages per second.
pub fn rtrb_spsc(cores: &[core_affinity::CoreId], count: u64) -> f64 {
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

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// The CPU's model name, from `/proc/cpuinfo`.
pub fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default()
}
