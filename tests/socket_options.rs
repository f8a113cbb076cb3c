//! Socket options that act on the kernel's sockets, each read back from
//! the kernel: SNDBUF, RCVBUF, TOS, TCP_MAXRT and BINDTODEVICE through
//! getsockopt on the descriptors the monitor's LISTENING, ACCEPTED and
//! CONNECTED events carry (as libzmq's do), BACKLOG through `ss` (the
//! kernel's socket diagnostics), USE_FD by serving on a listener made
//! here. (SOCKS_PROXY: tests/tcp_options.rs, through a mock proxy.)

mod common;

use common::*;
use socket2::SockRef;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;
use zeroring::monitor::Event;
use zeroring::{Context, Error, MonitorEvent, Socket, SocketType::*};

/// The next event of kind `want`, skipping others.
fn until_event(m: &Socket, want: Event) -> MonitorEvent {
    loop {
        let ev = next_event(m);
        if ev.event == want {
            return ev;
        }
    }
}

/// Runs `read` on the kernel socket behind a monitor event's descriptor.
/// The connection (or listener) must still be open: it is the I/O thread's.
fn with_fd<T>(ev: &MonitorEvent, read: impl FnOnce(SockRef<'_>) -> T) -> T {
    // SAFETY: the descriptor belongs to a listener or connection the test
    // keeps open until `read` returns; it is only read from here.
    let fd = unsafe { BorrowedFd::borrow_raw(ev.value as i32) };
    read(SockRef::from(&fd))
}

fn sndbuf(s: &SockRef<'_>) -> usize {
    s.send_buffer_size().unwrap()
}
fn rcvbuf(s: &SockRef<'_>) -> usize {
    s.recv_buffer_size().unwrap()
}

/// Sends one message through and back, so both connections are up.
fn exchange(push: &Socket, pull: &Socket) {
    push.send("through", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"through");
}

#[test]
fn buffer_sizes_tos_and_maxrt_reach_listener_accepted_and_connecting_sockets() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_sndbuf(48 * 1024).unwrap();
    pull.set_rcvbuf(40 * 1024).unwrap();
    pull.set_tos(0x28).unwrap();
    pull.set_tcp_maxrt(1500).unwrap();
    let pm = monitor(&ctx, &pull, "opts-pull");
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let listening = until_event(&pm, Event::Listening);

    let push = socket(&ctx, Push);
    push.set_sndbuf(36 * 1024).unwrap();
    push.set_rcvbuf(20 * 1024).unwrap();
    push.set_tos(0x48).unwrap();
    push.set_tcp_maxrt(2500).unwrap();
    let cm = monitor(&ctx, &push, "opts-push");
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    let connected = until_event(&cm, Event::Connected);
    let accepted = until_event(&pm, Event::Accepted);
    exchange(&push, &pull);

    // Linux keeps twice what it is given (room for its bookkeeping).
    with_fd(&listening, |s| {
        assert_eq!(sndbuf(&s), 2 * 48 * 1024);
        assert_eq!(rcvbuf(&s), 2 * 40 * 1024);
        assert_eq!(s.tos_v4().unwrap(), 0x28);
    });
    with_fd(&accepted, |s| {
        assert_eq!(sndbuf(&s), 2 * 48 * 1024, "inherited from the listener");
        assert_eq!(rcvbuf(&s), 2 * 40 * 1024, "inherited from the listener");
        assert_eq!(s.tos_v4().unwrap(), 0x28);
        assert_eq!(
            s.tcp_user_timeout().unwrap(),
            Some(Duration::from_millis(1500))
        );
    });
    with_fd(&connected, |s| {
        assert_eq!(sndbuf(&s), 2 * 36 * 1024);
        assert_eq!(rcvbuf(&s), 2 * 20 * 1024);
        assert_eq!(s.tos_v4().unwrap(), 0x48);
        assert_eq!(
            s.tcp_user_timeout().unwrap(),
            Some(Duration::from_millis(2500))
        );
    });
}

#[test]
fn defaults_leave_the_kernels_settings() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let pm = monitor(&ctx, &pull, "defaults-pull");
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = socket(&ctx, Push);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    let accepted = until_event(&pm, Event::Accepted);
    exchange(&push, &pull);
    let plain = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let os_sndbuf = SockRef::from(&plain).send_buffer_size().unwrap();
    with_fd(&accepted, |s| {
        assert_eq!(s.tos_v4().unwrap(), 0);
        assert_eq!(s.tcp_user_timeout().unwrap(), None);
        assert!(
            sndbuf(&s) >= os_sndbuf,
            "a default SNDBUF is the kernel's (autotuned upwards)"
        );
    });
}

/// The backlog of the listener on `what` (`-t` and a port, or `-x` and a
/// path), from `ss`, which asks the kernel; `None` without `ss`.
fn ss_backlog(args: &[&str]) -> Option<u32> {
    let out = std::process::Command::new("ss").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().next()?;
    // State, Recv-Q, Send-Q: for a listener Send-Q is its backlog.
    line.split_whitespace().nth(2)?.parse().ok()
}

#[test]
fn backlog_reaches_tcp_and_ipc_listeners() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_backlog(7).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let port = pull
        .get_last_endpoint()
        .unwrap()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let dir = tempdir("backlog");
    let path = format!("{dir}/s");
    let ipc = socket(&ctx, Pull);
    ipc.set_backlog(9).unwrap();
    ipc.bind(&format!("ipc://{path}")).unwrap();
    let (Some(tcp), Some(unix)) = (
        ss_backlog(&["-ltnH", &format!("sport = :{port}")]),
        ss_backlog(&["-xlH", "src", &path]),
    ) else {
        eprintln!("no `ss` here: BACKLOG is checked only by listening with it");
        return;
    };
    assert_eq!(tcp, 7);
    assert_eq!(unix, 9);
}

/// A fresh directory under the system's temporary one.
fn tempdir(tag: &str) -> String {
    let dir = std::env::temp_dir().join(format!("zr-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.to_string_lossy().into_owned()
}

#[test]
fn bindtodevice_binds_listener_and_connecter_to_the_interface() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_bindtodevice("lo").unwrap();
    assert_eq!(pull.get_bindtodevice().unwrap().unwrap(), "lo");
    let pm = monitor(&ctx, &pull, "dev-pull");
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let listening = until_event(&pm, Event::Listening);
    let push = socket(&ctx, Push);
    push.set_bindtodevice("lo").unwrap();
    let cm = monitor(&ctx, &push, "dev-push");
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    let connected = until_event(&cm, Event::Connected);
    exchange(&push, &pull);
    with_fd(&listening, |s| {
        assert_eq!(s.device().unwrap().as_deref(), Some(&b"lo"[..]))
    });
    with_fd(&connected, |s| {
        assert_eq!(s.device().unwrap().as_deref(), Some(&b"lo"[..]))
    });
}

#[test]
fn bindtodevice_of_no_such_interface_fails_bind_and_retries_connect() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_bindtodevice("zr-nodev0").unwrap();
    match pull.bind("tcp://127.0.0.1:0") {
        Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(libc::ENODEV), "{e}"),
        other => panic!("bind on a missing device: {other:?}"),
    }
    let server = socket(&ctx, Pull);
    server.bind("tcp://127.0.0.1:0").unwrap();
    let push = socket(&ctx, Push);
    push.set_bindtodevice("zr-nodev0").unwrap();
    push.set_reconnect_ivl(10).unwrap();
    let cm = monitor(&ctx, &push, "nodev-push");
    push.connect(&server.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    // Each attempt fails making its socket, and is retried.
    for _ in 0..3 {
        let ev = next_event(&cm);
        assert_eq!(ev.event, Event::ConnectRetried, "{ev:?}");
    }
}

#[test]
fn use_fd_serves_tcp_on_the_applications_listener() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_use_fd(listener.as_raw_fd()).unwrap();
    assert_eq!(pull.get_use_fd().unwrap(), listener.as_raw_fd());
    // The endpoint's address is not used: the descriptor's is.
    pull.bind("tcp://127.0.0.1:*").unwrap();
    assert_eq!(
        pull.get_last_endpoint().unwrap().unwrap(),
        format!("tcp://{addr}")
    );
    let push = socket(&ctx, Push);
    push.connect(&format!("tcp://{addr}")).unwrap();
    exchange(&push, &pull);
    // Ours stays ours: zeroring listens on a copy.
    drop(pull);
    assert!(SockRef::from(&listener).is_listener().unwrap());
}

#[test]
fn use_fd_serves_ipc_on_the_applications_listener_and_leaves_its_file() {
    let dir = tempdir("usefd");
    let path = format!("{dir}/s");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_use_fd(listener.as_raw_fd()).unwrap();
    pull.bind(&format!("ipc://{path}")).unwrap();
    let push = socket(&ctx, Push);
    push.connect(&format!("ipc://{path}")).unwrap();
    exchange(&push, &pull);
    drop(push);
    drop(pull);
    assert!(
        std::path::Path::new(&path).exists(),
        "the application's socket file is the application's to remove"
    );
}

#[test]
fn use_fd_refuses_what_is_not_a_listener_of_the_transport() {
    let ctx = Context::new();
    let unix =
        std::os::unix::net::UnixListener::bind(format!("{}/s", tempdir("usefd-bad"))).unwrap();
    let pull = socket(&ctx, Pull);
    pull.set_use_fd(unix.as_raw_fd()).unwrap();
    assert!(
        pull.bind("tcp://127.0.0.1:0").is_err(),
        "a unix listener for tcp"
    );
    let file = std::fs::File::open("/proc/self/stat").unwrap();
    pull.set_use_fd(file.as_raw_fd()).unwrap();
    assert!(pull.bind("tcp://127.0.0.1:0").is_err(), "not a socket");
    assert!(pull.set_use_fd(-2).is_err());
    pull.set_use_fd(-1).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
}

/// HEARTBEAT_TTL goes on the wire in deciseconds, 16 bits: as libzmq's, the
/// option takes 0 to 6,553,599 ms and keeps it rounded down to 100 ms
/// (libzmq's test_heartbeats).
#[test]
fn heartbeat_ttl_is_kept_in_deciseconds() {
    let ctx = zeroring::Context::new();
    let s = ctx.socket(zeroring::SocketType::Pair).unwrap();
    for (set, kept) in [(99, 0), (2_050, 2_000), (6_553_599, 6_553_500)] {
        s.set_heartbeat_ttl(set).unwrap();
        assert_eq!(s.get_heartbeat_ttl().unwrap(), kept, "{set}");
    }
    for bad in [6_553_600, -1] {
        assert!(matches!(
            s.set_heartbeat_ttl(bad),
            Err(zeroring::Error::InvalidArgument(_))
        ));
    }
}
