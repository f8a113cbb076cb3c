//! `Message::gets` (libzmq's `zmq_msg_gets`): the properties of the
//! connection a message came on, over tcp and ipc, between zeroring
//! sockets and with libzmq on either side; METADATA's `X-` properties;
//! PLAIN's User-Id; none for inproc.

mod common;
#[path = "support/libzmq.rs"]
mod libzmq;

use common::*;
use libzmq::*;
use zeroring::{Context, Message, SocketType::*};

/// This process as libzmq spells an ipc peer: `localhost:uid:gid:pid`.
fn this_process() -> String {
    format!(
        "localhost:{}:{}:{}",
        nix::unistd::geteuid(),
        nix::unistd::getegid(),
        std::process::id()
    )
}

fn recv(s: &zeroring::Socket) -> Message {
    s.recv_msg(0).unwrap()
}

/// Two sockets of `kind` connected to `endpoint`, "first" and "second":
/// each its name as routing id and as property `X-name`.
fn named_peers(ctx: &Context, kind: zeroring::SocketType, endpoint: &str) -> Vec<zeroring::Socket> {
    ["first", "second"]
        .iter()
        .map(|name| {
            let peer = socket(ctx, kind);
            peer.set_routing_id(name.as_bytes()).unwrap();
            peer.set_metadata(&format!("X-name:{name}")).unwrap();
            peer.connect(endpoint).unwrap();
            peer
        })
        .collect()
}

#[test]
fn a_routers_messages_tell_of_their_tcp_dealer() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.bind("tcp://127.0.0.1:0").unwrap();
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"abc").unwrap();
    dealer.set_metadata("X-hello:world").unwrap();
    dealer.set_metadata("X-connection:primary").unwrap();
    dealer
        .connect(&router.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    dealer.send("hi", 0).unwrap();

    let mut id = recv(&router);
    assert_eq!(&id[..], b"abc");
    assert!(id.get_more());
    // The routing-id frame carries them too, as libzmq's does.
    assert_eq!(id.gets("Socket-Type"), Some("DEALER"));
    let mut body = recv(&router);
    assert_eq!(&body[..], b"hi");
    for msg in [&mut id, &mut body] {
        assert_eq!(msg.gets("Socket-Type"), Some("DEALER"));
        assert_eq!(msg.gets("Identity"), Some("abc"));
        assert_eq!(msg.gets("X-hello"), Some("world"));
        assert_eq!(msg.gets("X-connection"), Some("primary"));
        assert_eq!(msg.gets("Peer-Address"), Some("127.0.0.1"));
        assert_eq!(msg.gets("x-hello"), None, "names match exactly");
        assert_eq!(msg.gets("User-Id"), None, "no authenticator");
        assert_eq!(msg.gets("Routing-Id"), None, "libzmq peers send Identity");
        assert_eq!(msg.gets("X-foobar"), None);
    }

    // And the other way: the dealer hears of its router.
    router.send_multipart([&b"abc"[..], b"back"], 0).unwrap();
    let mut back = recv(&dealer);
    assert_eq!(&back[..], b"back");
    assert_eq!(back.gets("Socket-Type"), Some("ROUTER"));
    assert_eq!(
        back.gets("Identity"),
        Some(""),
        "ROUTER announces an empty one"
    );
    assert_eq!(back.gets("Peer-Address"), Some("127.0.0.1"));
}

#[test]
fn libzmq_reads_our_metadata_and_we_read_libzmqs() {
    let zctx = zmq::Context::new();
    let zrouter = zmq_socket(&zctx, zmq::ROUTER);
    let endpoint = zmq_bind(&zrouter);
    let ctx = Context::new();
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"zr").unwrap();
    dealer.set_metadata("X-hello:world").unwrap();
    dealer.connect(&endpoint).unwrap();
    dealer.send("to libzmq", 0).unwrap();
    let _id = zrouter.recv_msg(0).unwrap();
    let mut m = zrouter.recv_msg(0).unwrap();
    assert_eq!(&m[..], b"to libzmq");
    assert_eq!(m.gets("Socket-Type"), Some("DEALER"));
    assert_eq!(m.gets("Identity"), Some("zr"));
    assert_eq!(m.gets("X-hello"), Some("world"));
    assert_eq!(m.gets("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(m.gets("Routing-Id"), None);

    // A libzmq dealer, a zeroring router: the same answers.
    let router = socket(&ctx, Router);
    router.bind("tcp://127.0.0.1:0").unwrap();
    let zdealer = zmq_socket(&zctx, zmq::DEALER);
    zdealer.set_identity(b"lz").unwrap();
    zdealer
        .connect(&router.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    zdealer.send("from libzmq", 0).unwrap();
    let _id = recv(&router);
    let mut ours = recv(&router);
    assert_eq!(&ours[..], b"from libzmq");
    assert_eq!(ours.gets("Socket-Type"), Some("DEALER"));
    assert_eq!(ours.gets("Identity"), Some("lz"));
    assert_eq!(ours.gets("Peer-Address"), Some("127.0.0.1"));
    assert_eq!(ours.gets("Routing-Id"), None);
}

#[test]
fn over_ipc_the_peer_address_names_the_process_as_libzmq_does() {
    let dir = std::env::temp_dir().join(format!("zr-md-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = Context::new();
    let zctx = zmq::Context::new();

    // zeroring to zeroring: shared memory after the handshake.
    let pull = socket(&ctx, Pull);
    let shm = format!("ipc://{}/shm", dir.display());
    pull.bind(&shm).unwrap();
    let push = socket(&ctx, Push);
    push.set_metadata("X-via:shm").unwrap();
    push.connect(&shm).unwrap();
    push.send("a", 0).unwrap();
    let mut m = recv(&pull);
    assert_eq!(m.gets("Socket-Type"), Some("PUSH"));
    assert_eq!(m.gets("X-via"), Some("shm"));
    assert_eq!(m.gets("Peer-Address"), Some(this_process().as_str()));

    // libzmq's own view of a zeroring ipc peer, and ours of libzmq's.
    let zpull = zmq_socket(&zctx, zmq::PULL);
    let lz = format!("ipc://{}/lz", dir.display());
    zpull.bind(&lz).unwrap();
    let to_libzmq = socket(&ctx, Push);
    to_libzmq.connect(&lz).unwrap();
    to_libzmq.send("b", 0).unwrap();
    let mut z = zpull.recv_msg(0).unwrap();
    assert_eq!(z.gets("Socket-Type"), Some("PUSH"));
    // libzmq appends `:uid:gid:pid` where its build defines
    // ZMQ_HAVE_SO_PEERCRED, as its CMake build does on Linux; the copy the
    // `zmq` crate builds (zeromq-src) does not, so it says `localhost` only.
    let theirs = z.gets("Peer-Address").unwrap();
    assert!(
        theirs == "localhost" || theirs == this_process(),
        "libzmq's ipc Peer-Address: {theirs}"
    );

    let from_libzmq = socket(&ctx, Pull);
    let zr = format!("ipc://{}/zr", dir.display());
    from_libzmq.bind(&zr).unwrap();
    let zpush = zmq_socket(&zctx, zmq::PUSH);
    zpush.connect(&zr).unwrap();
    zpush.send("c", 0).unwrap();
    let mut ours = recv(&from_libzmq);
    assert_eq!(ours.gets("Socket-Type"), Some("PUSH"));
    assert_eq!(ours.gets("Peer-Address"), Some(this_process().as_str()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_plain_servers_messages_carry_the_user_its_authenticator_let_in() {
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    rep.set_plain_server(true).unwrap();
    rep.set_plain_authenticator(|c| c.username == "admin" && c.password == b"pw")
        .unwrap();
    rep.bind("tcp://127.0.0.1:0").unwrap();
    let req = socket(&ctx, Req);
    req.set_plain_username(Some("admin")).unwrap();
    req.set_plain_password(Some("pw")).unwrap();
    req.connect(&rep.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    req.send("who", 0).unwrap();
    let mut m = recv(&rep);
    assert_eq!(&m[..], b"who");
    assert_eq!(m.gets("User-Id"), Some("admin"));
    assert_eq!(m.gets("Socket-Type"), Some("REQ"));
    rep.send("you", 0).unwrap();
    let mut back = recv(&req);
    assert_eq!(&back[..], b"you");
    assert_eq!(back.gets("Socket-Type"), Some("REP"));
    assert_eq!(back.gets("User-Id"), None, "a client authenticates nobody");
}

#[test]
fn inproc_messages_have_no_metadata() {
    let ctx = Context::new();
    let (pull, push) = pair_of(&ctx, Pull, Push, "inproc://md");
    push.send("x", 0).unwrap();
    let mut m = recv(&pull);
    assert_eq!(m.gets("Socket-Type"), None);
    assert_eq!(Message::from("x").gets("Socket-Type"), None);
}

#[test]
fn one_message_received_into_again_and_again_follows_each_frames_connection() {
    // `Socket::recv` into one `Message` keeps its properties while frames
    // come from one connection (no reference count touched) and must take
    // the new connection's at once when they come from another.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = pull.get_last_endpoint().unwrap().unwrap();
    let pushes = named_peers(&ctx, Push, &endpoint);
    // Alternate the senders, several frames in a row from each.
    let mut sent = Vec::new();
    for round in 0..6 {
        let (push, name) = (&pushes[round % 2], ["first", "second"][round % 2]);
        for _ in 0..3 {
            push.send(name, 0).unwrap();
            sent.push(name);
        }
    }
    let mut msg = Message::new();
    let mut seen = std::collections::HashMap::new();
    for _ in 0..sent.len() {
        pull.recv(&mut msg, 0).unwrap();
        let name = std::str::from_utf8(&msg).unwrap().to_owned();
        assert_eq!(msg.gets("X-name"), Some(name.as_str()), "frame {name}");
        *seen.entry(name).or_insert(0) += 1;
    }
    assert_eq!(seen.get("first"), Some(&9));
    assert_eq!(seen.get("second"), Some(&9));
    // The same through `recv_with_properties`, one slot for all frames.
    let mut slot = None;
    for round in 0..4 {
        let name = ["first", "second"][round % 2];
        pushes[round % 2].send(name, 0).unwrap();
        let (got, more) = pull
            .recv_with_properties(0, &mut slot, |data| data.to_vec())
            .unwrap();
        assert!(!more);
        let props = slot.as_ref().expect("a tcp frame has properties");
        assert_eq!(props.get("X-name"), Some(&got[..]));
    }
    // The same through `Frame::properties_into`, one slot for all frames.
    let mut slot = None;
    for round in 0..4 {
        let name = ["first", "second"][round % 2];
        pushes[round % 2].send(name, 0).unwrap();
        let mut frame = pull.recv_frame(0).unwrap();
        frame.properties_into(&mut slot);
        let props = slot.as_ref().expect("a tcp frame has properties");
        assert_eq!(props.get("X-name"), Some(&frame[..]));
    }
}

/// `recv_with_properties` on a ROUTER (its frames pass through the
/// pattern's own receive, the routing id a frame of its own): each frame,
/// routing id and body, carries the properties of the dealer it came from,
/// with the dealers taking turns.
#[test]
fn a_routers_frames_through_recv_with_properties_follow_their_dealer() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = router.get_last_endpoint().unwrap().unwrap();
    let dealers = named_peers(&ctx, Dealer, &endpoint);
    let mut slot = None;
    for round in 0..6 {
        let name = ["first", "second"][round % 2];
        dealers[round % 2].send(name, 0).unwrap();
        for (frame, more) in [("routing id", true), ("body", false)] {
            let (got, got_more) = router
                .recv_with_properties(0, &mut slot, |data| data.to_vec())
                .unwrap();
            assert_eq!(got, name.as_bytes(), "round {round}, {frame}");
            assert_eq!(got_more, more, "round {round}, {frame}");
            let props = slot.as_ref().expect("a tcp frame has properties");
            assert_eq!(
                props.get("X-name"),
                Some(name.as_bytes()),
                "round {round}, {frame}"
            );
        }
    }
}

/// libzmq's deprecated ZMQ_SRCFD (test_srcfd): the descriptor of the
/// connection a message came on, whose peer is the sender; none for inproc.
#[test]
fn a_message_tells_the_descriptor_it_came_on() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let push = socket(&ctx, Push);
    push.connect(&pull.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    push.send("x", 0).unwrap();
    let mut frame = pull.recv_frame(0).unwrap();
    let fd = frame
        .properties()
        .and_then(|p| p.src_fd())
        .expect("a tcp peer's descriptor");
    // SAFETY: the descriptor stays open while the connection lasts, and is
    // only borrowed here.
    let sock = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let conn = std::net::TcpStream::from(sock.try_clone_to_owned().unwrap());
    let peer = conn.peer_addr().unwrap();
    assert_eq!(peer.ip(), std::net::Ipv4Addr::LOCALHOST);
    drop(frame);

    let (inproc_pull, inproc_push) = pair_of(&ctx, Pull, Push, "inproc://srcfd");
    inproc_push.send("x", 0).unwrap();
    let mut frame = inproc_pull.recv_frame(0).unwrap();
    assert!(frame.properties().is_none(), "no connection behind inproc");
}
