//! Hostile peers over ipc://, in child processes: one that keeps zeroing
//! the doorbell words it was given (the socket must keep serving its other
//! peers), one of another user at an abstract name (refused at connect),
//! and shared-memory peers built by hand that offer forged segments.

mod common;
#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;
use common::proc::{self, hear, spawn, spawn_as, tell};
use common::*;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr};
use raw_zmtp::greeting;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zeroring::monitor::Event;
use zeroring::{Context, SocketType::*, WaitStrategy, DONTWAIT};

const WITHIN: Duration = Duration::from_secs(20);

/// An abstract endpoint of this test process.
fn abstract_endpoint(name: &str) -> String {
    format!("ipc://@zr-hostile-{}-{name}", std::process::id())
}

#[test]
fn child_entry() {
    let Some(role) = proc::role() else { return };
    let ctx = Context::new();
    match role[0].as_str() {
        // Connects a PUSH, then zeroes the `sleeping` word of the peer's
        // doorbell (a mapping that was not there before the connection) in
        // a loop, so that the peer's writers see nobody sleeping.
        "bell-zeroer" => {
            let push = socket(&ctx, Push);
            let own = proc::mappings("zeroring-bell");
            push.connect(&role[1]).unwrap();
            push.send("hello", 0).unwrap();
            let deadline = Instant::now() + WITHIN;
            let peer = loop {
                let found: Vec<_> = proc::mappings("zeroring-bell")
                    .into_iter()
                    .filter(|m| !own.contains(m))
                    .collect();
                if !found.is_empty() {
                    break found;
                }
                assert!(Instant::now() < deadline, "the peer's doorbell never came");
                std::thread::yield_now();
            };
            let stop = Arc::new(AtomicBool::new(false));
            let zeroer = {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        for &(lo, _) in &peer {
                            // SAFETY: the first page of a shared mapping
                            // of ours, writable; breaking the peer's trust
                            // in it is the point. The second word is
                            // `sleeping` (leaving the futex word alone
                            // keeps the sleeper asleep).
                            unsafe { (lo as *mut u32).add(1).write_volatile(0) };
                        }
                        std::hint::spin_loop();
                    }
                })
            };
            tell("zeroing");
            hear();
            stop.store(true, Ordering::Relaxed);
            zeroer.join().unwrap();
        }
        // Connects, says so, and waits for the parent to end it.
        "connecter" => {
            let push = socket(&ctx, Push);
            // A refused peer never takes what is queued: exit all the same.
            push.set_linger(0).unwrap();
            push.connect(&role[1]).unwrap();
            let _ = push.send("hello", DONTWAIT);
            tell("connecting");
            hear();
        }
        // Binds a PULL at a path, takes one message, and tells how many
        // doorbells of peers it mapped meanwhile.
        "path-server" => {
            let pull = socket(&ctx, Pull);
            let own = proc::mappings("zeroring-bell");
            pull.bind(&role[1]).unwrap();
            tell("bound");
            assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
            let peers = proc::mappings("zeroring-bell")
                .into_iter()
                .filter(|m| !own.contains(m))
                .count();
            tell(&format!("peer-bells:{peers}"));
            hear();
        }
        "forger" => forger(&role[1], &role[2]),
        other => panic!("no such role {other}"),
    }
}

/// A PULL bound on an abstract name and on tcp, a child of our user that
/// connected over the abstract name and now keeps zeroing the PULL's
/// doorbell, and a PUSH of ours connected over tcp. `park`: the PULL
/// sleeps on its doorbell at once, so that every message finds it asleep
/// (the words the attacker zeroes).
fn zeroed_bell_server(
    name: &str,
    park: bool,
) -> (Context, zeroring::Socket, zeroring::Socket, proc::Proc) {
    let ctx = Context::new();
    let server = socket(&ctx, Pull);
    if park {
        server.set_wait_strategy(WaitStrategy::Park).unwrap();
    }
    let ep = abstract_endpoint(name);
    server.bind(&ep).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let tcp = server.get_last_endpoint().unwrap().unwrap();
    let child = spawn(&["bell-zeroer", &ep]);
    assert_eq!(server.recv_bytes(0).unwrap(), b"hello");
    child.expect("zeroing", WITHIN);
    let client = socket(&ctx, Push);
    client.connect(&tcp).unwrap();
    (ctx, server, client, child)
}

/// A peer of our user that keeps zeroing our doorbell's words costs the
/// socket latency, not liveness: its tcp peer is served all along.
#[test]
fn zeroed_doorbell_does_not_freeze_the_socket() {
    let (_ctx, server, client, mut child) = zeroed_bell_server("zeroed", true);
    // No receive timeout: a frozen socket would wait for ever (and
    // `bounded` fail), where one that looks again every few milliseconds
    // takes these messages in a second or so.
    server.set_rcvtimeo(-1).unwrap();
    bounded(move || {
        for i in 0..2000u32 {
            client.send(i.to_le_bytes(), 0).unwrap();
            assert_eq!(server.recv_bytes(0).unwrap(), i.to_le_bytes());
        }
    });
    child.say("stop");
    child.success(WITHIN);
}

/// The same attack on a socket that waits in `poll` (notify mode: the
/// process's bridge thread carries wake-ups from other processes): its tcp
/// peer is served all along.
#[test]
fn zeroed_doorbell_does_not_freeze_a_polling_socket() {
    let (_ctx, server, client, mut child) = zeroed_bell_server("zeroed-poll", false);
    bounded(move || {
        for i in 0..2000u32 {
            client.send(i.to_le_bytes(), 0).unwrap();
            let mut items = [zeroring::PollItem::new(&server, zeroring::POLLIN)];
            // No timeout: only a wake-up ends this poll.
            while zeroring::poll(&mut items, -1).unwrap() == 0 {}
            assert_eq!(server.recv_bytes(DONTWAIT).unwrap(), i.to_le_bytes());
        }
    });
    child.say("stop");
    child.success(WITHIN);
}

/// Another user's process is refused at an abstract name (which has no
/// file mode to keep it out), before it can map anything of ours. Needs
/// root, to run the child as someone else.
#[test]
fn abstract_endpoint_refuses_another_user() {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: only root can start a child as another user");
        return;
    }
    let ctx = Context::new();
    let server = socket(&ctx, Pull);
    let events = monitor(&ctx, &server, "abstract-refused");
    let ep = abstract_endpoint("refused");
    server.bind(&ep).unwrap();
    expect_event(&events, Event::Listening);
    let nobody = 65534;
    let mut child = spawn_as(&["connecter", &ep], nobody);
    child.expect("connecting", WITHIN);
    let ev = expect_event(&events, Event::AcceptFailed);
    assert_eq!(ev.value, libc::EACCES as u32);
    // Nothing came through, and our own user is still welcome.
    assert!(server.recv_bytes(DONTWAIT).is_err());
    let mut friend = spawn(&["connecter", &ep]);
    friend.expect("connecting", WITHIN);
    loop {
        match next_event(&events).event {
            Event::Accepted => break,
            // The other user's reconnects.
            Event::AcceptFailed => continue,
            other => panic!("unexpected event {other:?}"),
        }
    }
    assert_eq!(server.recv_bytes(0).unwrap(), b"hello");
    child.say("stop");
    friend.say("stop");
    child.success(WITHIN);
    friend.success(WITHIN);
}

/// libzmq's IPC_FILTER_UID/GID/PID: with any set, a listener admits only
/// the processes they name (here: another user, by uid, by group and by
/// pid), not even our own user otherwise; clearing them restores the
/// default.
#[test]
fn ipc_filters_admit_only_whom_they_name() {
    if nix::unistd::geteuid().as_raw() != 0 {
        println!("skipped: only root can start a child as another user");
        return;
    }
    let nobody = 65534;
    // Which filter admits `nobody`'s child, given its pid once spawned.
    type Filter<'a> = &'a dyn Fn(&zeroring::Socket, u32);
    let filters: [(&str, Filter); 3] = [
        ("uid", &|s, _| s.add_ipc_filter_uid(nobody).unwrap()),
        ("gid", &|s, _| s.add_ipc_filter_gid(nobody).unwrap()),
        ("pid", &|s, pid| s.add_ipc_filter_pid(pid as i32).unwrap()),
    ];
    for (name, filter) in filters {
        let ctx = Context::new();
        let server = socket(&ctx, Pull);
        let events = monitor(&ctx, &server, &format!("filter-{name}"));
        let ep = abstract_endpoint(&format!("filter-{name}"));
        // The other user connects first (it retries until we bind).
        let mut other = spawn_as(&["connecter", &ep], nobody);
        other.expect("connecting", WITHIN);
        filter(&server, other.child.id());
        server.bind(&ep).unwrap();
        expect_event(&events, Event::Listening);
        assert_eq!(server.recv_bytes(0).unwrap(), b"hello", "{name}: admitted");
        // Our own user is not named: refused.
        let mut own = spawn(&["connecter", &ep]);
        own.expect("connecting", WITHIN);
        loop {
            match next_event(&events).event {
                Event::AcceptFailed => break,
                Event::Accepted | Event::HandshakeSucceeded | Event::Connected => continue,
                other => panic!("{name}: unexpected event {other:?}"),
            }
        }
        assert!(
            server.recv_bytes(DONTWAIT).is_err(),
            "{name}: nothing from our own user"
        );
        other.say("stop");
        own.say("stop");
        other.success(WITHIN);
        own.success(WITHIN);
    }
    // Cleared, an abstract name admits our own user again.
    let ctx = Context::new();
    let server = socket(&ctx, Pull);
    server.add_ipc_filter_uid(nobody).unwrap();
    server.clear_ipc_filters().unwrap();
    let ep = abstract_endpoint("filter-cleared");
    server.bind(&ep).unwrap();
    let mut own = spawn(&["connecter", &ep]);
    own.expect("connecting", WITHIN);
    assert_eq!(server.recv_bytes(0).unwrap(), b"hello");
    own.say("stop");
    own.success(WITHIN);
}

// ---- a shared-memory peer built by hand ----

/// Reads one frame: its flags and body.
fn read_frame(s: &mut UnixStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).unwrap();
    let len = if head[0] & 0x02 != 0 {
        let mut rest = [0u8; 7];
        s.read_exact(&mut rest).unwrap();
        let mut be = [head[1], 0, 0, 0, 0, 0, 0, 0];
        be[1..].copy_from_slice(&rest);
        u64::from_be_bytes(be) as usize
    } else {
        head[1] as usize
    };
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    (head[0], body)
}

/// A READY command with these properties.
fn ready(props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = vec![5u8];
    body.extend_from_slice(b"READY");
    for (name, value) in props {
        body.push(name.len() as u8);
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(value);
    }
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// The value of property `name` in a READY body.
fn property(body: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut at = 1 + body[0] as usize;
    while at < body.len() {
        let n = body[at] as usize;
        let key = &body[at + 1..at + 1 + n];
        at += 1 + n;
        let len = u32::from_be_bytes(body[at..at + 4].try_into().unwrap()) as usize;
        let value = &body[at + 4..at + 4 + len];
        at += 4 + len;
        if key == name.as_bytes() {
            return Some(value.to_vec());
        }
    }
    None
}

/// The pipe segment's magic (`shm.rs`), and its header's length.
const PIPE_MAGIC: &[u8; 8] = b"ZRSHM\0\0\x02";
const PIPE_HEAD: usize = 128;

/// A ring's header span, learnt from a real pipe segment of this process:
/// an ipc pair with 4 KiB rings, whose segment's size tells it.
fn ring_header_span() -> usize {
    let ctx = Context::new();
    let dir = std::env::temp_dir().join(format!("zr-probe-{}", std::process::id()));
    let _ = std::fs::remove_file(&dir);
    let ep = format!("ipc://{}", dir.display());
    let pull = socket(&ctx, Pull);
    pull.set_ring_capacity(4096).unwrap();
    pull.bind(&ep).unwrap();
    let push = socket(&ctx, Push);
    push.set_ring_capacity(4096).unwrap();
    push.connect(&ep).unwrap();
    push.send("probe", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"probe");
    let (lo, hi) = *proc::mappings("zeroring-pipe")
        .first()
        .expect("a pipe segment");
    let file = std::fs::File::open(format!("/proc/self/map_files/{lo:x}-{hi:x}"))
        .expect("map_files (root)");
    let len = file.metadata().unwrap().len() as usize;
    (len - PIPE_HEAD) / 2 - 4096
}

/// A memfd of `len` bytes with `seals` added (after `write` at 0).
fn memfd(len: usize, write: &[u8], seals: libc::c_int) -> OwnedFd {
    // SAFETY: a NUL-terminated name and flags; returns a new descriptor.
    let fd = unsafe {
        libc::memfd_create(
            c"zeroring-forged".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    assert!(fd >= 0);
    // SAFETY: a descriptor just made, owned here.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let file = std::fs::File::from(fd.try_clone().unwrap());
    file.set_len(len as u64).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_all_at(write, 0).unwrap();
    if seals != 0 {
        // SAFETY: fcntl on our descriptor with an int argument.
        assert_eq!(
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) },
            0
        );
    }
    fd
}

const SEALED: libc::c_int = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;

/// Maps `fd` shared, writable, `len` bytes.
fn map(fd: &OwnedFd, len: usize) -> *mut u64 {
    // SAFETY: a fresh shared mapping of a descriptor we hold; checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    assert_ne!(p, libc::MAP_FAILED);
    p.cast()
}

/// The forger: a hand-made zeroring peer over a unix socket that offers
/// shared memory as `case` says, then reports whether the server closed
/// the connection ("closed") or took the offer ("attached").
fn forger(endpoint: &str, case: &str) {
    let span = ring_header_span();
    let path = endpoint.strip_prefix("ipc://").unwrap();
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(WITHIN)).unwrap();
    s.write_all(&greeting()).unwrap();
    let mut theirs = [0u8; 64];
    s.read_exact(&mut theirs).unwrap();
    let (_, body) = read_frame(&mut s);
    let offer = property(&body, "X-ZR-Shm").expect("the server offers shared memory");
    // Both sides use the larger ring of the two offers: ours is theirs,
    // or the largest there is.
    let theirs_ring = u64::from_be_bytes(offer[11..19].try_into().unwrap()) as usize;
    let capacity: usize = if case == "huge-ring" {
        1 << 31
    } else {
        theirs_ring
    };
    // Their version, ring layout and fence flags; our marks and ring.
    let mut ours = offer[..3].to_vec();
    ours.extend_from_slice(&0u64.to_be_bytes());
    ours.extend_from_slice(&(capacity as u64).to_be_bytes());
    s.write_all(&ready(&[("Socket-Type", b"PUSH"), ("X-ZR-Shm", &ours)]))
        .unwrap();

    let seg_len = PIPE_HEAD + 2 * (span + capacity);
    let mut head = PIPE_MAGIC.to_vec();
    head.extend_from_slice(&(capacity as u64).to_le_bytes());
    let bell = || memfd(4096, &[], SEALED);
    let mut flags = 0u8;
    let fds: Vec<OwnedFd> = match case {
        "unsealed" => vec![memfd(seg_len, &head, 0), bell()],
        "shrinkable" => {
            // Sealed against growing only: it could be cut short later.
            let seg = memfd(seg_len, &head, libc::F_SEAL_GROW | libc::F_SEAL_SEAL);
            vec![seg, bell()]
        }
        "wrong-size" => vec![memfd(seg_len + 4096, &head, SEALED), bell()],
        "not-memfd" => vec![std::fs::File::open("/dev/zero").unwrap().into(), bell()],
        "bad-magic" => vec![memfd(seg_len, b"ZRSHM\0\0\x01", SEALED), bell()],
        "other-capacity" => {
            let mut other = PIPE_MAGIC.to_vec();
            other.extend_from_slice(&8192u64.to_le_bytes());
            vec![memfd(seg_len, &other, SEALED), bell()]
        }
        "small-bell" => vec![memfd(seg_len, &head, SEALED), memfd(64, &[], SEALED)],
        "fake-pool" => {
            // A pool must be a pool (of its size, its magic).
            flags = 1;
            vec![memfd(seg_len, &head, SEALED), bell(), bell()]
        }
        "no-bell" => vec![memfd(seg_len, &head, SEALED)],
        "no-fds" => vec![],
        "huge-ring" | "scribble" => vec![memfd(seg_len, &head, SEALED), bell()],
        other => panic!("no such case {other}"),
    };
    let mut msg = [0u8; 16];
    msg[..8].copy_from_slice(PIPE_MAGIC);
    msg[8] = 1; // from the connecter
    msg[9] = flags;
    let raw: Vec<RawFd> = fds.iter().map(|f| f.as_raw_fd()).collect();
    let cmsg = [ControlMessage::ScmRights(&raw)];
    let cmsgs: &[ControlMessage] = if raw.is_empty() { &[] } else { &cmsg };
    sendmsg::<UnixAddr>(
        s.as_raw_fd(),
        &[IoSlice::new(&msg)],
        cmsgs,
        MsgFlags::empty(),
        None,
    )
    .unwrap();

    // The server's attach message, with its doorbell (and pool).
    let mut reply = [0u8; 16];
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let mut theirs: Vec<OwnedFd> = Vec::new();
    let got = {
        let mut iov = [IoSliceMut::new(&mut reply)];
        match recvmsg::<UnixAddr>(s.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::empty()) {
            Ok(m) => {
                for c in m.cmsgs().unwrap() {
                    if let ControlMessageOwned::ScmRights(fds) = c {
                        // SAFETY: installed for us by this very message.
                        theirs.extend(
                            fds.into_iter()
                                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                        );
                    }
                }
                m.bytes
            }
            Err(_) => 0,
        }
    };
    let closed = |s: &mut UnixStream| {
        let mut rest = [0u8; 64];
        loop {
            match s.read(&mut rest) {
                Ok(0) | Err(_) => return true,
                Ok(_) => continue,
            }
        }
    };
    if got == 0 || !matches!(case, "huge-ring" | "scribble") {
        // The server refuses: whatever it sent, the connection ends.
        assert!(got == 0 || closed(&mut s));
        tell("closed");
        return;
    }
    tell("attached");
    if case == "scribble" {
        // Every word of the pipe segment and of the server's doorbell,
        // over and over, until told to stop.
        let seg = map(&fds[0], seg_len);
        let bell = map(&theirs[0], 4096);
        let stop = Arc::new(AtomicBool::new(false));
        let scribbler = {
            let stop = stop.clone();
            let (seg, bell) = (seg as usize, bell as usize);
            std::thread::spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15u64;
                while !stop.load(Ordering::Relaxed) {
                    for (base, words) in [(seg, seg_len / 8), (bell, 4096 / 8)] {
                        for i in 0..words {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            // SAFETY: inside a shared mapping of ours, of
                            // at least `words` words.
                            unsafe { (base as *mut u64).add(i).write_volatile(x) };
                        }
                    }
                }
            })
        };
        tell("scribbling");
        hear();
        stop.store(true, Ordering::Relaxed);
        scribbler.join().unwrap();
    } else {
        hear();
    }
}

/// Root may reach another user's socket file, but the two do not share
/// memory (each could write the other's doorbell): they talk ZMTP over the
/// unix socket. Needs root, to run the server as someone else.
#[test]
fn another_users_peer_gets_no_shared_memory() {
    // SAFETY: geteuid takes nothing and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        println!("skipped: only root can start a child as another user");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("zr-other-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let ep = format!("ipc://{}/s", dir.display());
    let mut child = spawn_as(&["path-server", &ep], 65534);
    child.expect("bound", WITHIN);
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.connect(&ep).unwrap();
    push.send("hello", 0).unwrap();
    assert_eq!(child.next(WITHIN), "peer-bells:0");
    child.say("stop");
    child.success(WITHIN);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits for the next disconnection on `events`; returns whether a failed
/// handshake with EPROTO was reported before it.
fn failed_then_disconnected(events: &zeroring::Socket) -> bool {
    let mut failed = false;
    loop {
        let ev = next_event(events);
        match ev.event {
            Event::Disconnected => return failed,
            Event::HandshakeFailedNoDetail => failed |= ev.value == libc::EPROTO as u32,
            _ => {}
        }
    }
}

/// A PULL bound on an ipc path (for the hostile peer; returned) and on
/// tcp, where a PUSH of ours (returned) already got a message through.
fn served_on_ipc_and_tcp(name: &str) -> (Context, zeroring::Socket, String, zeroring::Socket) {
    let ctx = Context::new();
    let server = socket(&ctx, Pull);
    let path = std::env::temp_dir().join(format!("zr-{name}-{}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let ep = format!("ipc://{}", path.display());
    server.bind(&ep).unwrap();
    server.bind("tcp://127.0.0.1:0").unwrap();
    let client = socket(&ctx, Push);
    client
        .connect(&server.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    client.send("first", 0).unwrap();
    assert_eq!(server.recv_bytes(0).unwrap(), b"first");
    (ctx, server, ep, client)
}

/// Offers a hand-made peer forges (unsealed, resizable, the wrong size,
/// not a memfd, a foreign header, a doorbell too small, a pool that is
/// not one, descriptors missing) are refused: the connection closes with
/// a failed handshake (EPROTO) reported, and the server goes on serving
/// its other peer. Nothing faults (a SIGBUS would end this process).
#[test]
fn forged_segments_are_refused_and_others_served() {
    let (ctx, server, ep, client) = served_on_ipc_and_tcp("forged");
    let events = monitor(&ctx, &server, "forged");
    for case in [
        "unsealed",
        "shrinkable",
        "wrong-size",
        "not-memfd",
        "bad-magic",
        "other-capacity",
        "small-bell",
        "fake-pool",
        "no-bell",
        "no-fds",
    ] {
        let mut child = spawn(&["forger", &ep, case]);
        child.expect("closed", WITHIN);
        child.success(WITHIN);
        assert!(
            failed_then_disconnected(&events),
            "{case}: no failed handshake reported"
        );
        client.send(format!("after {case}"), 0).unwrap();
        assert_eq!(
            server.recv_bytes(0).unwrap(),
            format!("after {case}").as_bytes()
        );
    }
}

/// A peer that scribbles random words over every word of the pipe
/// segment and of our doorbell, without pause: the server may read
/// garbage from that peer's ring, or drop it as corrupt, but it neither
/// faults nor hangs, and serves its other peer all along.
#[test]
fn scribbling_shm_peer_does_not_stop_the_server() {
    let (ctx, server, ep, client) = served_on_ipc_and_tcp("scribble");
    let events = monitor(&ctx, &server, "scribbled");
    let mut child = spawn(&["forger", &ep, "scribble"]);
    child.expect("attached", WITHIN);
    child.expect("scribbling", WITHIN);
    server.set_rcvtimeo(-1).unwrap();
    let server = bounded(move || {
        for i in 0..1000u32 {
            let want = format!("ok {i}");
            client.send(want.as_bytes(), 0).unwrap();
            // Garbage from the scribbled ring may come in between.
            while server.recv_bytes(0).unwrap() != want.as_bytes() {}
        }
        server
    });
    child.say("stop");
    child.success(WITHIN);
    // The peer's end was seen. Whether its offer was taken or refused
    // depends on whether the scribbling began before our attach had read
    // the segment's header (the child cannot see when we have): both are
    // right, and either way the server went on serving.
    let _ = failed_then_disconnected(&events);
    drop(server);
}

/// A peer may ask for the largest ring (2 GiB each way): the segment is
/// mapped, not filled, so it costs address space, not memory.
#[test]
fn huge_ring_offer_costs_no_memory() {
    let rss = || {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = statm.split(' ').nth(1).unwrap().parse().unwrap();
        pages * 4096
    };
    let (ctx, server, ep, client) = served_on_ipc_and_tcp("huge");
    let events = monitor(&ctx, &server, "huge");
    let before = rss();
    let mut child = spawn(&["forger", &ep, "huge-ring"]);
    child.expect("attached", WITHIN);
    client.send("second", 0).unwrap();
    assert_eq!(server.recv_bytes(0).unwrap(), b"second");
    let grown = rss().saturating_sub(before);
    assert!(grown < 64 << 20, "a 2 GiB ring offer cost {grown} bytes");
    child.say("stop");
    child.success(WITHIN);
    assert!(!failed_then_disconnected(&events), "the offer was refused");
}
