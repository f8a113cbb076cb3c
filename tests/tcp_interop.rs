//! zeroring against real libzmq 4.3.4 (the `zmq` crate) over tcp: every
//! legal socket-type pair with either library binding (over ipc too), subscriptions and
//! cancels, routing ids, PLAIN security, heartbeats, and reconnecting to a
//! restarted peer. (tests/tcp.rs has the first few interop cases.)

mod common;
#[path = "support/libzmq.rs"]
mod libzmq;
#[path = "support/raw_zmtp.rs"]
mod raw_zmtp;

use common::*;
use libzmq::*;
use raw_zmtp::{command, Frame, Peer};
use std::net::{SocketAddr, TcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use zeroring::{Context, SocketType};

fn msg(frames: &[&[u8]]) -> Vec<Vec<u8>> {
    frames.iter().map(|f| f.to_vec()).collect()
}

/// A socket of either library, behind one face.
trait Side {
    /// Binds `endpoint` (an ephemeral tcp port, or an ipc path) and says
    /// where it ended up.
    fn bind_any(&self, endpoint: &str) -> String;
    fn connect_to(&self, endpoint: &str);
    fn send_msg(&self, frames: &[&[u8]]);
    fn recv_msg(&self) -> Vec<Vec<u8>>;
    /// A message, if one arrives within `ms`.
    fn recv_within(&self, ms: i32) -> Option<Vec<Vec<u8>>>;
    fn subscribe(&self, topic: &[u8]);
    /// Lets the socket take in new connections without receiving anything.
    fn poke(&self);
}

impl Side for zeroring::Socket {
    fn bind_any(&self, endpoint: &str) -> String {
        self.bind(endpoint).unwrap();
        self.get_last_endpoint().unwrap().unwrap()
    }
    fn connect_to(&self, endpoint: &str) {
        self.connect(endpoint).unwrap();
    }
    fn send_msg(&self, frames: &[&[u8]]) {
        self.send_multipart(frames, 0).unwrap();
    }
    fn recv_msg(&self) -> Vec<Vec<u8>> {
        self.recv_multipart(0).unwrap()
    }
    fn recv_within(&self, ms: i32) -> Option<Vec<Vec<u8>>> {
        self.set_rcvtimeo(ms).unwrap();
        let got = self.recv_multipart(0);
        self.set_rcvtimeo(TIMEO_MS).unwrap();
        match got {
            Ok(m) => Some(m),
            Err(zeroring::Error::TimedOut | zeroring::Error::WouldBlock) => None,
            Err(e) => panic!("{e}"),
        }
    }
    fn subscribe(&self, topic: &[u8]) {
        self.set_subscribe(topic).unwrap();
    }
    fn poke(&self) {
        self.readable().unwrap();
    }
}

impl Side for zmq::Socket {
    fn bind_any(&self, endpoint: &str) -> String {
        match endpoint.strip_suffix(":0") {
            Some(host) => self.bind(&format!("{host}:*")).unwrap(),
            None => self.bind(endpoint).unwrap(),
        }
        self.get_last_endpoint().unwrap().unwrap()
    }
    fn connect_to(&self, endpoint: &str) {
        self.connect(endpoint).unwrap();
    }
    fn send_msg(&self, frames: &[&[u8]]) {
        self.send_multipart(frames, 0).unwrap();
    }
    fn recv_msg(&self) -> Vec<Vec<u8>> {
        self.recv_multipart(0).unwrap()
    }
    fn recv_within(&self, ms: i32) -> Option<Vec<Vec<u8>>> {
        self.set_rcvtimeo(ms).unwrap();
        let got = self.recv_multipart(0);
        self.set_rcvtimeo(ZMQ_TIMEO).unwrap();
        match got {
            Ok(m) => Some(m),
            Err(zmq::Error::EAGAIN) => None,
            Err(e) => panic!("{e}"),
        }
    }
    fn subscribe(&self, topic: &[u8]) {
        self.set_subscribe(topic).unwrap();
    }
    fn poke(&self) {
        // ZMQ_EVENTS makes libzmq process its pending commands.
        self.get_events().unwrap();
    }
}

/// Receives on `side` while keeping `peer` busy. A socket takes in a new
/// connection only when its own thread calls into it (libzmq and zeroring
/// alike), so an idle bound SUB, XSUB or PROBE_ROUTER ROUTER never sends
/// what it sends to a new peer.
fn recv_poking(side: &dyn Side, peer: &dyn Side) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + BOUND;
    loop {
        peer.poke();
        if let Some(m) = side.recv_within(10) {
            return m;
        }
        assert!(Instant::now() < deadline, "nothing arrived");
    }
}

fn zmq_kind(kind: SocketType) -> zmq::SocketType {
    match kind {
        SocketType::Pair => zmq::PAIR,
        SocketType::Pub => zmq::PUB,
        SocketType::Sub => zmq::SUB,
        SocketType::Req => zmq::REQ,
        SocketType::Rep => zmq::REP,
        SocketType::Dealer => zmq::DEALER,
        SocketType::Router => zmq::ROUTER,
        SocketType::Pull => zmq::PULL,
        SocketType::Push => zmq::PUSH,
        SocketType::XPub => zmq::XPUB,
        SocketType::XSub => zmq::XSUB,
        other => panic!("no libzmq twin for {other:?}"),
    }
}

/// A socket of `kind` talking to a `peer`. ROUTER-ROUTER needs routing ids
/// (`name`) and PROBE_ROUTER, so each side learns the other's id before
/// sending to it.
fn make_side(
    ctx: &Context,
    zctx: &zmq::Context,
    zeroring: bool,
    kind: SocketType,
    peer: SocketType,
    name: &[u8],
) -> Box<dyn Side> {
    let router_pair = kind == SocketType::Router && peer == SocketType::Router;
    if zeroring {
        let s = socket(ctx, kind);
        s.set_linger(0).unwrap();
        if router_pair {
            s.set_routing_id(name).unwrap();
            s.set_probe_router(true).unwrap();
        }
        Box::new(s)
    } else {
        let s = zmq_socket(zctx, zmq_kind(kind));
        if router_pair {
            s.set_identity(name).unwrap();
            s.set_probe_router(true).unwrap();
        }
        Box::new(s)
    }
}

/// An endpoint to bind: an ephemeral tcp port, or a fresh ipc path (ZMTP
/// over a unix socket, as libzmq peers use it).
fn any_endpoint(ipc: bool) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    if !ipc {
        return "tcp://127.0.0.1:0".into();
    }
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir();
    format!(
        "ipc://{}/zr-interop-{}-{n}",
        dir.display(),
        std::process::id()
    )
}

/// Runs `scenario(a, b)` with an `a`-type and a `b`-type socket in the
/// four arrangements (each library on each side, each side binding), over
/// tcp and over ipc.
fn run_pair(a: SocketType, b: SocketType, scenario: fn(&dyn Side, &dyn Side)) {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    for ((a_zeroring, a_binds), ipc) in [(true, true), (false, true), (true, false), (false, false)]
        .into_iter()
        .flat_map(|arrangement| [(arrangement, false), (arrangement, true)])
    {
        let sa = make_side(&ctx, &zctx, a_zeroring, a, b, b"side-a");
        let sb = make_side(&ctx, &zctx, !a_zeroring, b, a, b"side-b");
        let (binder, connecter) = if a_binds { (&sa, &sb) } else { (&sb, &sa) };
        connecter.connect_to(&binder.bind_any(&any_endpoint(ipc)));
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| scenario(&*sa, &*sb))) {
            let lib = |zr| if zr { "zeroring" } else { "libzmq" };
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!(
                "{a:?} ({}, {}) with {b:?} ({}) over {}: {why}",
                lib(a_zeroring),
                if a_binds { "binds" } else { "connects" },
                lib(!a_zeroring),
                if ipc { "ipc" } else { "tcp" }
            );
        }
    }
}

fn req_rep(req: &dyn Side, rep: &dyn Side) {
    req.send_msg(&[b"hello", b"world"]);
    assert_eq!(rep.recv_msg(), msg(&[b"hello", b"world"]));
    rep.send_msg(&[b"re", b"", b"ply"]);
    assert_eq!(req.recv_msg(), msg(&[b"re", b"", b"ply"]));
}

fn req_router(req: &dyn Side, router: &dyn Side) {
    req.send_msg(&[b"q1", b"q2"]);
    let m = router.recv_msg();
    assert_eq!(m.len(), 4, "{m:?}");
    assert_eq!(m[1..], msg(&[b"", b"q1", b"q2"]));
    router.send_msg(&[&m[0], b"", b"r1", b"r2"]);
    assert_eq!(req.recv_msg(), msg(&[b"r1", b"r2"]));
}

fn dealer_rep(dealer: &dyn Side, rep: &dyn Side) {
    dealer.send_msg(&[b"", b"x", b"y"]);
    assert_eq!(rep.recv_msg(), msg(&[b"x", b"y"]));
    rep.send_msg(&[b"z"]);
    assert_eq!(dealer.recv_msg(), msg(&[b"", b"z"]));
}

fn dealer_router(dealer: &dyn Side, router: &dyn Side) {
    dealer.send_msg(&[b"d1", b"d2"]);
    let m = router.recv_msg();
    assert_eq!(m[1..], msg(&[b"d1", b"d2"]));
    router.send_msg(&[&m[0], b"back", b"again"]);
    assert_eq!(dealer.recv_msg(), msg(&[b"back", b"again"]));
}

fn both_ways(a: &dyn Side, b: &dyn Side) {
    let big = vec![7u8; 70_000];
    a.send_msg(&[b"from a", b"", &big]);
    assert_eq!(b.recv_msg(), msg(&[b"from a", b"", &big]));
    b.send_msg(&[b"from b", &[1u8; 300]]);
    assert_eq!(a.recv_msg(), msg(&[b"from b", &[1u8; 300]]));
}

fn router_router(a: &dyn Side, b: &dyn Side) {
    // The probes tell each side the other's routing id.
    assert_eq!(recv_poking(a, b), msg(&[b"side-b", b""]));
    assert_eq!(recv_poking(b, a), msg(&[b"side-a", b""]));
    a.send_msg(&[b"side-b", b"m1", b"m2"]);
    assert_eq!(b.recv_msg(), msg(&[b"side-a", b"m1", b"m2"]));
    b.send_msg(&[b"side-a", b"back"]);
    assert_eq!(a.recv_msg(), msg(&[b"side-b", b"back"]));
}

fn push_pull(push: &dyn Side, pull: &dyn Side) {
    let big = vec![9u8; 70_000];
    push.send_msg(&[b"", &[3u8; 300], &big]);
    assert_eq!(pull.recv_msg(), msg(&[b"", &[3u8; 300], &big]));
}

/// A PUB cannot tell when a subscription arrived: publish until the
/// subscriber has one, checking the filter drops the other topic.
fn publish_until_received(publisher: &dyn Side, subscriber: &dyn Side) {
    let deadline = Instant::now() + BOUND;
    loop {
        publisher.send_msg(&[b"other topic"]);
        publisher.send_msg(&[b"t-msg", b"part"]);
        if let Some(got) = subscriber.recv_within(50) {
            assert_eq!(got, msg(&[b"t-msg", b"part"]));
            return;
        }
        assert!(Instant::now() < deadline, "the subscription never arrived");
    }
}

fn pub_sub(publisher: &dyn Side, sub: &dyn Side) {
    sub.subscribe(b"t");
    publish_until_received(publisher, sub);
}

fn pub_xsub(publisher: &dyn Side, xsub: &dyn Side) {
    xsub.send_msg(&[b"\x01t"]);
    publish_until_received(publisher, xsub);
}

fn xpub_sub(xpub: &dyn Side, sub: &dyn Side) {
    sub.subscribe(b"t");
    assert_eq!(recv_poking(xpub, sub), msg(&[b"\x01t"]));
    xpub.send_msg(&[b"other topic"]);
    xpub.send_msg(&[b"t-msg", b"part"]);
    assert_eq!(sub.recv_msg(), msg(&[b"t-msg", b"part"]));
}

fn xpub_xsub(xpub: &dyn Side, xsub: &dyn Side) {
    xsub.send_msg(&[b"\x01t"]);
    assert_eq!(recv_poking(xpub, xsub), msg(&[b"\x01t"]));
    xpub.send_msg(&[b"other topic"]);
    xpub.send_msg(&[b"t-msg", b"part"]);
    assert_eq!(xsub.recv_msg(), msg(&[b"t-msg", b"part"]));
    xsub.send_msg(&[b"\x00t"]);
    assert_eq!(xpub.recv_msg(), msg(&[b"\x00t"]));
}

macro_rules! pairs {
    ($($name:ident: $a:ident - $b:ident => $scenario:ident;)*) => {$(
        #[test]
        fn $name() {
            run_pair(SocketType::$a, SocketType::$b, $scenario);
        }
    )*};
}

pairs! {
    pair_req_rep: Req - Rep => req_rep;
    pair_req_router: Req - Router => req_router;
    pair_dealer_rep: Dealer - Rep => dealer_rep;
    pair_dealer_router: Dealer - Router => dealer_router;
    pair_dealer_dealer: Dealer - Dealer => both_ways;
    pair_router_router: Router - Router => router_router;
    pair_push_pull: Push - Pull => push_pull;
    pair_pub_sub: Pub - Sub => pub_sub;
    pair_pub_xsub: Pub - XSub => pub_xsub;
    pair_xpub_sub: XPub - Sub => xpub_sub;
    pair_xpub_xsub: XPub - XSub => xpub_xsub;
    pair_pair_pair: Pair - Pair => both_ways;
}

/// A libzmq XPUB sees a zeroring SUB's and XSUB's subscriptions and
/// cancels; a zeroring XPUB sees a libzmq XSUB's.
#[test]
fn subscriptions_and_cancels_cross_both_ways() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let zxpub = zmq_socket(&zctx, zmq::XPUB);
    let ep = zmq_bind(&zxpub);
    let sub = socket(&ctx, SocketType::Sub);
    sub.connect(&ep).unwrap();
    sub.set_subscribe(b"A").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01A");
    sub.set_subscribe(b"B").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01B");
    sub.set_unsubscribe(b"A").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x00A");
    zxpub.send("A-gone", 0).unwrap();
    zxpub.send("B-here", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"B-here");

    let xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&ep).unwrap();
    xsub.send(b"\x01C", 0).unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01C");
    xsub.send(b"\x00C", 0).unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x00C");

    let xpub = socket(&ctx, SocketType::XPub);
    xpub.bind("tcp://127.0.0.1:0").unwrap();
    let zxsub = zmq_socket(&zctx, zmq::XSUB);
    zxsub
        .connect(&xpub.get_last_endpoint().unwrap().unwrap())
        .unwrap();
    zxsub.send(&b"\x01D"[..], 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01D");
    xpub.send("D1", 0).unwrap();
    assert_eq!(zxsub.recv_bytes(0).unwrap(), b"D1");
    zxsub.send(&b"\x00D"[..], 0).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00D");
}

/// A zeroring DEALER's or REQ's ROUTING_ID is the id a libzmq ROUTER knows
/// it by, and a libzmq DEALER's is the one a zeroring ROUTER knows it by,
/// whichever side binds.
#[test]
fn routing_ids_cross_both_ways() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    for zeroring_binds in [false, true] {
        let zrouter = zmq_socket(&zctx, zmq::ROUTER);
        let dealer = socket(&ctx, SocketType::Dealer);
        dealer.set_routing_id(b"zr-dealer").unwrap();
        let req = socket(&ctx, SocketType::Req);
        req.set_routing_id(b"zr-req").unwrap();
        if zeroring_binds {
            dealer.bind("tcp://127.0.0.1:0").unwrap();
            req.bind("tcp://127.0.0.1:0").unwrap();
            zrouter
                .connect(&dealer.get_last_endpoint().unwrap().unwrap())
                .unwrap();
            zrouter
                .connect(&req.get_last_endpoint().unwrap().unwrap())
                .unwrap();
        } else {
            let ep = zmq_bind(&zrouter);
            dealer.connect(&ep).unwrap();
            req.connect(&ep).unwrap();
        }
        dealer.send("from dealer", 0).unwrap();
        assert_eq!(
            zrouter.recv_multipart(0).unwrap(),
            msg(&[b"zr-dealer", b"from dealer"])
        );
        zrouter
            .send_multipart([&b"zr-dealer"[..], b"to dealer"], 0)
            .unwrap();
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"to dealer");
        req.send("from req", 0).unwrap();
        assert_eq!(
            zrouter.recv_multipart(0).unwrap(),
            msg(&[b"zr-req", b"", b"from req"])
        );
        zrouter
            .send_multipart([&b"zr-req"[..], b"", b"to req"], 0)
            .unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), b"to req");

        let zdealer = zmq_socket(&zctx, zmq::DEALER);
        zdealer.set_identity(b"zmq-dealer").unwrap();
        let router = socket(&ctx, SocketType::Router);
        if zeroring_binds {
            router.bind("tcp://127.0.0.1:0").unwrap();
            zdealer
                .connect(&router.get_last_endpoint().unwrap().unwrap())
                .unwrap();
        } else {
            router.connect(&zmq_bind(&zdealer)).unwrap();
        }
        zdealer.send("from zmq", 0).unwrap();
        assert_eq!(
            router.recv_multipart(0).unwrap(),
            msg(&[b"zmq-dealer", b"from zmq"])
        );
        router
            .send_multipart([&b"zmq-dealer"[..], b"back"], 0)
            .unwrap();
        assert_eq!(zdealer.recv_bytes(0).unwrap(), b"back");
    }
}

// --- PLAIN ---------------------------------------------------------------

/// What a zeroring authenticator was shown.
type Shown = (String, Vec<u8>, Option<SocketAddr>, String);

/// A zeroring PLAIN server (PULL) that admits admin/password and reports
/// every client it is asked about.
fn zeroring_plain_server(ctx: &Context) -> (zeroring::Socket, String, mpsc::Receiver<Shown>) {
    let pull = socket(ctx, SocketType::Pull);
    pull.set_plain_server(true).unwrap();
    pull.set_zap_domain("test-domain").unwrap();
    let (tx, rx) = mpsc::channel();
    pull.set_plain_authenticator(move |c| {
        let _ = tx.send((
            c.username.to_owned(),
            c.password.to_vec(),
            c.peer_address,
            c.zap_domain.to_owned(),
        ));
        c.username == "admin" && c.password == b"password"
    })
    .unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();
    (pull, ep, rx)
}

fn libzmq_plain_client(zctx: &zmq::Context, password: &str) -> zmq::Socket {
    let push = zmq_socket(zctx, zmq::PUSH);
    push.set_plain_username(Some("admin")).unwrap();
    push.set_plain_password(Some(password)).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push
}

#[test]
fn zeroring_plain_server_admits_and_refuses_libzmq_clients() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let (pull, ep, shown) = zeroring_plain_server(&ctx);

    let good = libzmq_plain_client(&zctx, "password");
    good.connect(&ep).unwrap();
    good.send("let me in", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"let me in");
    let (user, password, peer, domain) = shown.recv_timeout(BOUND).unwrap();
    assert_eq!((user.as_str(), &password[..]), ("admin", &b"password"[..]));
    assert_eq!(peer.map(|p| p.ip()), Some([127, 0, 0, 1].into()));
    assert_eq!(domain, "test-domain");

    let bad = Monitored::new(&zctx, libzmq_plain_client(&zctx, "wrong"));
    bad.connect(&ep).unwrap();
    bad.send("intruder", 0).unwrap();
    let (_, password, _, _) = shown.recv_timeout(BOUND).unwrap();
    assert_eq!(password, b"wrong");
    // libzmq 4.3.4 only recognises its own malformed ERROR ("\x5eRROR"), so
    // our RFC 24 ERROR "400" is an unexpected command to it.
    assert_eq!(
        bad.wait_for(zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL),
        ZMTP_UNEXPECTED_COMMAND
    );
    assert!(matches!(
        pull.recv_bytes(zeroring::DONTWAIT),
        Err(zeroring::Error::WouldBlock)
    ));
}

/// libzmq's `ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND`.
const ZMTP_UNEXPECTED_COMMAND: u32 = 0x1000_0001;

/// Without an authenticator a zeroring PLAIN server refuses everyone the
/// way a libzmq PLAIN server without a ZAP handler does: it closes the
/// connection, and the libzmq client, seeing a handshake cut short, tries
/// again and again.
#[test]
fn plain_server_without_authenticator_refuses_like_libzmq_without_zap() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_plain_server(true).unwrap();
    pull.bind("tcp://127.0.0.1:0").unwrap();
    let zpull = zmq_socket(&zctx, zmq::PULL);
    zpull.set_plain_server(true).unwrap();
    for ep in [pull.get_last_endpoint().unwrap().unwrap(), zmq_bind(&zpull)] {
        let client = Monitored::new(&zctx, libzmq_plain_client(&zctx, "password"));
        client.connect(&ep).unwrap();
        for _ in 0..2 {
            client.wait_for(zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL);
        }
    }
}

/// libzmq 4.3.4's PLAIN server with no ZAP handler fails every handshake
/// (`plain_server_t::process_hello` gets no ZAP pipe): the behaviour the
/// zeroring server copies when it has no authenticator.
#[test]
fn libzmq_plain_server_without_zap_handler_refuses_a_zeroring_client() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let zpull = zmq_socket(&zctx, zmq::PULL);
    zpull.set_plain_server(true).unwrap();
    let zpull = Monitored::new(&zctx, zpull);
    let ep = zmq_bind(&zpull);
    let push = socket(&ctx, SocketType::Push);
    push.set_plain_username(Some("admin")).unwrap();
    push.set_plain_password(Some("password")).unwrap();
    push.connect(&ep).unwrap();
    let errno = zpull.wait_for(zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL);
    assert_eq!(errno, libc::EFAULT as u32);
}

/// libzmq's ZAP handler (RFC 27) on a thread: admits admin/password and
/// reports each request's frames.
struct ZapHandler {
    stop: zmq::Socket,
    thread: Option<std::thread::JoinHandle<()>>,
    requests: mpsc::Receiver<Vec<Vec<u8>>>,
}

impl ZapHandler {
    fn start(zctx: &zmq::Context) -> ZapHandler {
        let handler = zctx.socket(zmq::REP).unwrap();
        handler.set_linger(0).unwrap();
        handler.bind("inproc://zeromq.zap.01").unwrap();
        let stop_rx = zctx.socket(zmq::PAIR).unwrap();
        stop_rx.bind("inproc://zap-stop").unwrap();
        let stop = zctx.socket(zmq::PAIR).unwrap();
        stop.connect("inproc://zap-stop").unwrap();
        let (tx, requests) = mpsc::channel();
        let thread = std::thread::spawn(move || loop {
            let mut items = [
                handler.as_poll_item(zmq::POLLIN),
                stop_rx.as_poll_item(zmq::POLLIN),
            ];
            zmq::poll(&mut items, -1).unwrap();
            if items[1].is_readable() {
                return;
            }
            // version, request id, domain, address, identity, mechanism,
            // then PLAIN's username and password.
            let req = handler.recv_multipart(0).unwrap();
            let ok = req[6] == b"admin" && req[7] == b"password";
            let (status, user): (&[u8], &[u8]) = if ok {
                (b"200", b"admin")
            } else {
                (b"400", b"")
            };
            handler
                .send_multipart([&b"1.0"[..], &req[1], status, b"", user, b""], 0)
                .unwrap();
            let _ = tx.send(req);
        });
        ZapHandler {
            stop,
            thread: Some(thread),
            requests,
        }
    }
}

impl Drop for ZapHandler {
    fn drop(&mut self) {
        let _ = self.stop.send("stop", 0);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[test]
fn zeroring_plain_client_to_libzmq_server_with_zap_handler() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    let zap = ZapHandler::start(&zctx);
    let zpull = zmq_socket(&zctx, zmq::PULL);
    zpull.set_plain_server(true).unwrap();
    zpull.set_zap_domain("zap-test").unwrap();
    let zpull = Monitored::new(&zctx, zpull);
    let ep = zmq_bind(&zpull);

    let good = socket(&ctx, SocketType::Push);
    good.set_plain_username(Some("admin")).unwrap();
    good.set_plain_password(Some("password")).unwrap();
    good.connect(&ep).unwrap();
    good.send("authenticated", 0).unwrap();
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"authenticated");
    let req = zap.requests.recv_timeout(BOUND).unwrap();
    assert_eq!(req[2], b"zap-test");
    assert_eq!(req[3], b"127.0.0.1");
    assert_eq!(req[5], b"PLAIN");

    let bad = socket(&ctx, SocketType::Push);
    bad.set_plain_username(Some("admin")).unwrap();
    bad.set_plain_password(Some("wrong")).unwrap();
    bad.set_reconnect_ivl(20).unwrap();
    bad.set_sndhwm(0).unwrap();
    bad.connect(&ep).unwrap();
    assert_eq!(zpull.wait_for(zmq::SocketEvent::HANDSHAKE_FAILED_AUTH), 400);
    let req = zap.requests.recv_timeout(BOUND).unwrap();
    assert_eq!(req[7], b"wrong");
    // The refused client gives up (its ERROR is a protocol error), as
    // libzmq's own client does.
    gives_up(&bad);
    assert!(zap.requests.try_recv().is_err(), "asked again");
}

/// `push`'s only connecter gives up: its pipe goes, so a send has nowhere
/// to go (with SNDHWM 0 a live pipe would take it).
fn gives_up(push: &zeroring::Socket) {
    let started = std::time::Instant::now();
    while push.send("x", zeroring::DONTWAIT).is_ok() {
        assert!(started.elapsed() < BOUND, "the connecter kept its pipe");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn zeroring_plain_client_and_server() {
    let ctx = Context::new();
    let (pull, ep, shown) = zeroring_plain_server(&ctx);
    let good = socket(&ctx, SocketType::Push);
    good.set_plain_username(Some("admin")).unwrap();
    good.set_plain_password(Some("password")).unwrap();
    good.connect(&ep).unwrap();
    good.send("both zeroring", 0).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"both zeroring");
    assert_eq!(shown.recv_timeout(BOUND).unwrap().0, "admin");

    let bad = socket(&ctx, SocketType::Push);
    bad.set_linger(0).unwrap();
    bad.set_plain_username(Some("admin")).unwrap();
    bad.set_plain_password(Some("nope")).unwrap();
    bad.set_reconnect_ivl(20).unwrap();
    bad.set_sndhwm(0).unwrap();
    bad.connect(&ep).unwrap();
    // Queued, unless the refusal came first and took the pipe with it.
    let _ = bad.send("refused", zeroring::DONTWAIT);
    assert_eq!(shown.recv_timeout(BOUND).unwrap().1, b"nope");
    gives_up(&bad);
    assert!(shown.try_recv().is_err(), "asked again");
    assert!(matches!(
        pull.recv_bytes(zeroring::DONTWAIT),
        Err(zeroring::Error::WouldBlock)
    ));
}

// --- heartbeats ----------------------------------------------------------

/// Heartbeats both ways with libzmq keep a silent connection up for twenty
/// intervals: if either side missed the other's PINGs or PONGs it would
/// close the connection, which libzmq's monitor would report.
#[test]
fn heartbeats_keep_a_quiet_libzmq_connection_alive() {
    let ctx = Context::new();
    let zctx = zmq::Context::new();
    for zeroring_binds in [true, false] {
        let (zkind, kind) = if zeroring_binds {
            (zmq::PUSH, SocketType::Pull)
        } else {
            (zmq::PULL, SocketType::Push)
        };
        let z = zmq_socket(&zctx, zkind);
        z.set_heartbeat_ivl(50).unwrap();
        z.set_heartbeat_timeout(150).unwrap();
        let z = Monitored::new(&zctx, z);
        let zr = socket(&ctx, kind);
        zr.set_heartbeat_ivl(50).unwrap();
        zr.set_heartbeat_timeout(150).unwrap();
        if zeroring_binds {
            zr.bind("tcp://127.0.0.1:0").unwrap();
            z.connect(&zr.get_last_endpoint().unwrap().unwrap())
                .unwrap();
        } else {
            zr.connect(&zmq_bind(&z)).unwrap();
        }
        z.wait_for(zmq::SocketEvent::HANDSHAKE_SUCCEEDED);
        assert_eq!(
            z.next(Duration::from_millis(1000)),
            None,
            "the quiet connection was dropped or redone"
        );
        if zeroring_binds {
            z.send("still up", 0).unwrap();
            assert_eq!(zr.recv_bytes(0).unwrap(), b"still up");
        } else {
            zr.send("still up", 0).unwrap();
            assert_eq!(z.recv_bytes(0).unwrap(), b"still up");
        }
    }
}

/// A zeroring connecter PINGs a quiet peer every interval and takes its
/// PONGs as life: the connection outlives several timeouts.
#[test]
fn zeroring_pings_a_quiet_peer_and_takes_pongs_as_life() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let push = socket(&ctx, SocketType::Push);
    push.set_heartbeat_ivl(50).unwrap();
    push.set_heartbeat_timeout(100).unwrap();
    push.set_heartbeat_ttl(2000).unwrap();
    push.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
        .unwrap();
    let mut peer = Peer::new(listener.accept().unwrap().0, BOUND);
    peer.handshake("PULL");
    let start = Instant::now();
    let mut pings = 0;
    while pings < 8 {
        match peer.read_frame().unwrap() {
            Some(Frame::Command(name, data)) if name == "PING" => {
                assert_eq!(data[..2], 20u16.to_be_bytes(), "TTL in deciseconds");
                pings += 1;
                peer.send(&command("PONG", &data[2..]));
            }
            other => panic!("expected a PING, got {other:?}"),
        }
    }
    assert!(start.elapsed() > Duration::from_millis(300), "3 timeouts");
    push.send("still connected", 0).unwrap();
    loop {
        match peer.read_frame().unwrap() {
            Some(Frame::Command(name, data)) if name == "PING" => {
                peer.send(&command("PONG", &data[2..]))
            }
            Some(Frame::Message(body, false)) => {
                assert_eq!(body, b"still connected");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
}

/// A peer that completes the handshake and then never answers is dropped
/// once HEARTBEAT_TIMEOUT passes after a PING, whichever side connected.
#[test]
fn a_silent_peer_is_dropped_after_the_heartbeat_timeout() {
    let ctx = Context::new();
    for zeroring_binds in [false, true] {
        let zr = socket(&ctx, SocketType::Pull);
        zr.set_heartbeat_ivl(50).unwrap();
        zr.set_heartbeat_timeout(200).unwrap();
        let stream = if zeroring_binds {
            zr.bind("tcp://127.0.0.1:0").unwrap();
            let ep = zr.get_last_endpoint().unwrap().unwrap();
            std::net::TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap()
        } else {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            zr.connect(&format!("tcp://{}", listener.local_addr().unwrap()))
                .unwrap();
            listener.accept().unwrap().0
        };
        let mut peer = Peer::new(stream, BOUND);
        peer.handshake("PUSH");
        let start = Instant::now();
        let mut pings = 0;
        // A read timeout here (an error) means zeroring never hung up.
        while let Some(frame) = peer.read_frame().unwrap() {
            match frame {
                Frame::Command(name, _) if name == "PING" => pings += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(pings >= 1, "no PING before the drop");
        assert!(
            start.elapsed() >= Duration::from_millis(200),
            "dropped before the timeout: {:?}",
            start.elapsed()
        );
    }
}

// --- reconnecting --------------------------------------------------------

/// A libzmq peer on a context of its own, so closing it closes its
/// listener before the next one binds the port (zmq_ctx_term waits).
fn restartable(kind: zmq::SocketType) -> (zmq::Context, zmq::Socket) {
    let zctx = zmq::Context::new();
    let s = zmq_socket(&zctx, kind);
    (zctx, s)
}

#[test]
fn zeroring_connecter_delivers_to_a_restarted_libzmq_peer() {
    let ctx = Context::new();
    let (zctx, zpull) = restartable(zmq::PULL);
    let ep = zmq_bind(&zpull);
    let push = socket(&ctx, SocketType::Push);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("to the first", 0).unwrap();
    assert_eq!(zpull.recv_bytes(0).unwrap(), b"to the first");
    drop(zpull);
    drop(zctx);

    let (zctx, zpull) = restartable(zmq::PULL);
    let zpull = Monitored::new(&zctx, zpull);
    zpull.bind(&ep).unwrap();
    // Once the new connection is up the old one is surely gone, so nothing
    // sent from now on can be lost in it.
    zpull.wait_for(zmq::SocketEvent::HANDSHAKE_SUCCEEDED);
    push.send_multipart(["to the", "second"], 0).unwrap();
    assert_eq!(
        zpull.recv_multipart(0).unwrap(),
        msg(&[b"to the", b"second"])
    );
}

#[test]
fn zeroring_sub_resubscribes_to_a_restarted_libzmq_publisher() {
    let ctx = Context::new();
    let (zctx, zxpub) = restartable(zmq::XPUB);
    let ep = zmq_bind(&zxpub);
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_reconnect_ivl(20).unwrap();
    sub.set_subscribe(b"A").unwrap();
    sub.connect(&ep).unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01A");
    sub.set_subscribe(b"B").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01B");
    sub.set_subscribe(b"C").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x01C");
    sub.set_unsubscribe(b"C").unwrap();
    assert_eq!(zxpub.recv_bytes(0).unwrap(), b"\x00C");
    zxpub.send("A1", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"A1");
    drop(zxpub);
    drop(zctx);

    let (_zctx, zxpub) = restartable(zmq::XPUB);
    zxpub.bind(&ep).unwrap();
    let mut resent = [zxpub.recv_bytes(0).unwrap(), zxpub.recv_bytes(0).unwrap()];
    resent.sort();
    assert_eq!(resent, [b"\x01A".to_vec(), b"\x01B".to_vec()]);
    // C was cancelled: not resent, so the publisher filters it out.
    zxpub.send("C-dropped", 0).unwrap();
    zxpub.send("B2", 0).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"B2");
}
