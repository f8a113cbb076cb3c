//! Context options (libzmq's `zmq_ctx_set`), each seen in effect: the I/O
//! threads' names, CPUs and scheduling read back from the kernel
//! (/proc/self/task, sched_getaffinity, sched_getscheduler), MAX_SOCKETS
//! by running out of sockets, IPV6 and BLOCKY in the sockets made after.

mod common;

use common::*;
use zeroring::{Context, Error, SocketType::*};

/// The thread ids of this process whose name is `name`.
fn threads_named(name: &str) -> Vec<i32> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|t| {
            let t = t.ok()?;
            let comm = std::fs::read_to_string(t.path().join("comm")).ok()?;
            (comm.trim() == name).then(|| t.file_name().to_str()?.parse().ok())?
        })
        .collect()
}

/// Waits (within `bounded`'s limit) for `n` threads named `name`: a new
/// thread names itself once it runs.
fn wait_threads(name: &'static str, n: usize) -> Vec<i32> {
    bounded(move || loop {
        let found = threads_named(name);
        if found.len() >= n {
            return found;
        }
        std::thread::yield_now();
    })
}

/// Field `i` (1-based, as proc(5) counts) of a thread's stat line.
fn stat_field(tid: i32, i: usize) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    // The name (field 2) may hold spaces: count from the ')' after it.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split_whitespace().nth(i - 3).unwrap().parse().unwrap()
}

fn cpus_of(tid: i32) -> Vec<usize> {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(tid)).unwrap();
    (0..nix::sched::CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap())
        .collect()
}

#[test]
fn io_threads_get_their_name_cpus_and_realtime_scheduling() {
    let ctx = Context::new();
    ctx.set_io_threads(2).unwrap();
    ctx.set_thread_name_prefix("zrt").unwrap();
    assert_eq!(ctx.get_thread_name_prefix().unwrap(), "zrt");
    ctx.add_thread_affinity_cpu(0).unwrap();
    ctx.add_thread_affinity_cpu(5).unwrap();
    ctx.remove_thread_affinity_cpu(5).unwrap();
    assert!(matches!(
        ctx.remove_thread_affinity_cpu(5),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(ctx.get_thread_affinity_cpus().unwrap(), vec![0]);
    ctx.set_thread_sched_policy(libc::SCHED_FIFO).unwrap();
    ctx.set_thread_priority(3).unwrap();

    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let tids = wait_threads("zrt/zeroring-io", 2);
    assert_eq!(tids.len(), 2);
    for tid in tids {
        assert_eq!(cpus_of(tid), vec![0], "thread {tid}'s CPUs");
        // SAFETY: sched_getscheduler only reads the thread's policy.
        let policy = unsafe { libc::sched_getscheduler(tid) };
        assert_eq!(policy, libc::SCHED_FIFO, "thread {tid}'s policy");
        assert_eq!(stat_field(tid, 40), 3, "thread {tid}'s rt_priority");
    }
    // The threads serve as usual.
    let push = socket(&ctx, Push);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    push.send("pinned", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"pinned");

    // Too late now, as libzmq documents.
    assert!(matches!(ctx.set_thread_priority(4), Err(Error::WrongState)));
    assert!(matches!(
        ctx.add_thread_affinity_cpu(1),
        Err(Error::WrongState)
    ));
    assert!(matches!(
        ctx.set_thread_name_prefix("late"),
        Err(Error::WrongState)
    ));
    assert!(matches!(ctx.set_io_threads(3), Err(Error::WrongState)));
}

#[test]
fn a_priority_under_a_normal_policy_sets_the_nice_value_as_libzmq() {
    let ctx = Context::new();
    ctx.set_thread_name_prefix("zrnice").unwrap();
    ctx.set_thread_priority(1).unwrap();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let tids = wait_threads("zrnice/zeroring", 1);
    // SAFETY: sched_getscheduler only reads the thread's policy.
    assert_eq!(
        unsafe { libc::sched_getscheduler(tids[0]) },
        libc::SCHED_OTHER
    );
    // nice(2) is relative: -20 from the nice value the thread started with
    // (this one's; `nice cargo test` runs at 10), and never below -20.
    let started = stat_field(nix::unistd::gettid().as_raw(), 19);
    assert_eq!(
        stat_field(tids[0], 19),
        (started - 20).max(-20),
        "the thread's nice value"
    );
}

#[test]
fn scheduling_the_os_refuses_fails_the_bind_and_may_be_fixed() {
    let ctx = Context::new();
    ctx.set_thread_name_prefix("zrbad").unwrap();
    ctx.set_thread_sched_policy(libc::SCHED_FIFO).unwrap();
    // SCHED_FIFO takes 1..=99.
    ctx.set_thread_priority(100).unwrap();
    let pull = socket(&ctx, Pull);
    match pull.bind("tcp://127.0.0.1:0") {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}"),
        other => panic!("bind with an impossible priority: {other:?}"),
    }
    // The thread that could not be scheduled told the bind, then ends.
    bounded(|| {
        while !threads_named("zrbad/zeroring-").is_empty() {
            std::thread::yield_now();
        }
    });
    // Nothing runs: the options may still change.
    ctx.set_thread_priority(2).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let tids = wait_threads("zrbad/zeroring-", 1);
    assert_eq!(stat_field(tids[0], 40), 2);
}

#[test]
fn max_sockets_refuses_with_emfile_until_one_closes() {
    let ctx = Context::new();
    assert_eq!(ctx.get_max_sockets().unwrap(), 1023);
    assert_eq!(ctx.get_socket_limit().unwrap(), 65535);
    let mut all: Vec<_> = (0..1023).map(|_| ctx.socket(Pair).unwrap()).collect();
    let refused = ctx.socket(Pair).unwrap_err();
    assert!(matches!(refused, Error::TooManySockets { max: 1023 }));
    assert_eq!(refused.to_raw(), libc::EMFILE);
    assert_eq!(refused, Error::EMFILE);
    all.pop();
    all.push(ctx.socket(Pair).unwrap());
    assert!(ctx.socket(Pair).is_err());
    drop(all);

    ctx.set_max_sockets(2).unwrap();
    let a = ctx.socket(Pub).unwrap();
    let _b = ctx.socket(Sub).unwrap();
    assert!(matches!(
        ctx.socket(Pull),
        Err(Error::TooManySockets { max: 2 })
    ));
    drop(a);
    ctx.socket(Pull).unwrap();
    assert!(ctx.set_max_sockets(0).is_err());
    assert!(ctx.set_max_sockets(65536).is_err());
}

#[test]
fn ipv6_and_blocky_shape_the_sockets_made_after() {
    let ctx = Context::new();
    let before = ctx.socket(Pull).unwrap();
    assert!(!ctx.get_ipv6().unwrap());
    assert!(ctx.get_blocky().unwrap());
    ctx.set_ipv6(true).unwrap();
    ctx.set_blocky(false).unwrap();
    let after = ctx.socket(Pull).unwrap();
    assert!(!before.get_ipv6().unwrap());
    assert_eq!(before.get_linger().unwrap(), -1);
    assert!(after.get_ipv6().unwrap());
    assert_eq!(after.get_linger().unwrap(), 0);
    // IPV6 in effect: an IPv6 address is taken (where the host has one).
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        after.bind("tcp://[::1]:0").unwrap();
    }
}
