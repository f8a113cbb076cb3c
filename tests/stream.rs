//! STREAM sockets (libzmq's `ZMQ_STREAM`): raw tcp peers, no ZMTP. Against
//! plain `std::net` peers (an HTTP-like exchange, zguide's logserver
//! shape) and against libzmq's own STREAM socket (the `zmq` crate).

mod common;

use common::{bounded, socket, TIMEO_MS};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use zeroring::{Context, Error, Socket, SocketType, DONTWAIT, SNDMORE};

/// A STREAM bound to an ephemeral tcp port, and that port's address.
fn bound_stream(ctx: &Context) -> (Socket, String) {
    let s = socket(ctx, SocketType::Stream);
    s.bind("tcp://127.0.0.1:0").unwrap();
    let endpoint = s.get_last_endpoint().unwrap().unwrap();
    let addr = endpoint.trim_start_matches("tcp://").to_owned();
    (s, addr)
}

/// The next message, which must have two frames: (routing id, data).
fn recv_pair(s: &Socket) -> (Vec<u8>, Vec<u8>) {
    let mut m = s.recv_multipart(0).unwrap();
    assert_eq!(m.len(), 2, "a STREAM message is [id, data]: {m:?}");
    let data = m.pop().unwrap();
    (m.pop().unwrap(), data)
}

/// Receives from `id` until `want` bytes in all came (tcp may split them).
fn recv_bytes_from(s: &Socket, id: &[u8], want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        let (from, data) = recv_pair(s);
        assert_eq!(from, id);
        assert!(!data.is_empty(), "the peer went before sending all");
        got.extend_from_slice(&data);
    }
    got
}

/// Waits (bounded) until `id` is no longer routable: a peer's id goes
/// with its pipe, which the socket drops once it has read all of it.
fn gone(s: &Socket, id: &[u8]) {
    let deadline = std::time::Instant::now() + common::BOUND;
    loop {
        match s.send_multipart([id, b"late"], 0) {
            Err(Error::HostUnreachable) => return,
            Ok(()) => assert!(std::time::Instant::now() < deadline, "never went"),
            Err(e) => panic!("{e}"),
        }
        std::thread::yield_now();
    }
}

fn timeouts(t: &TcpStream) {
    let d = Some(std::time::Duration::from_millis(TIMEO_MS as u64));
    t.set_read_timeout(d).unwrap();
    t.set_write_timeout(d).unwrap();
}

#[test]
fn http_like_exchange_with_a_plain_tcp_client() {
    bounded(|| {
        let ctx = Context::new();
        let (server, addr) = bound_stream(&ctx);
        let mut client = TcpStream::connect(&addr).unwrap();
        timeouts(&client);
        // STREAM_NOTIFY (on by default): the connection says it came.
        let (id, hello) = recv_pair(&server);
        assert!(hello.is_empty());
        assert_eq!((id.len(), id[0]), (5, 0), "an automatic id, as libzmq's");

        let request = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n";
        client.write_all(request).unwrap();
        assert_eq!(recv_bytes_from(&server, &id, request.len()), request);

        let response = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        server.send(&id, SNDMORE).unwrap();
        server.send(&response[..], SNDMORE).unwrap(); // MORE is ignored
                                                      // [id, ""]: close the connection, after what was sent.
        server.send_multipart([&id[..], b""], 0).unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, response);
        // That peer is gone: sending to it fails loudly.
        gone(&server, &id);
    });
}

#[test]
fn logserver_shape_many_clients_and_their_disconnects() {
    bounded(|| {
        let ctx = Context::new();
        let (server, addr) = bound_stream(&ctx);
        let mut a = TcpStream::connect(&addr).unwrap();
        let (id_a, e) = recv_pair(&server);
        assert!(e.is_empty());
        let mut b = TcpStream::connect(&addr).unwrap();
        let (id_b, e) = recv_pair(&server);
        assert!(e.is_empty());
        assert_ne!(id_a, id_b);
        a.write_all(b"from a\n").unwrap();
        assert_eq!(recv_bytes_from(&server, &id_a, 7), b"from a\n");
        b.write_all(b"from b\n").unwrap();
        assert_eq!(recv_bytes_from(&server, &id_b, 7), b"from b\n");
        // Each peer hears only what is sent to it.
        server.send_multipart([&id_b[..], b"to b"], 0).unwrap();
        let mut buf = [0u8; 4];
        timeouts(&b);
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"to b");
        drop(a);
        // The disconnect comes as [id, ""]; the id goes with the pipe,
        // just after.
        assert_eq!(recv_pair(&server), (id_a.clone(), Vec::new()));
        gone(&server, &id_a);
        drop(b);
        assert_eq!(recv_pair(&server), (id_b, Vec::new()));
    });
}

#[test]
fn connecting_stream_talks_to_a_plain_tcp_server() {
    bounded(|| {
        let ctx = Context::new();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let client = socket(&ctx, SocketType::Stream);
        client.set_connect_routing_id(b"srv").unwrap();
        client.connect(&format!("tcp://{addr}")).unwrap();
        // Known by the given id from the connect on: sent once it is up.
        client.send_multipart([&b"srv"[..], b"ping"], 0).unwrap();
        let (mut conn, _) = listener.accept().unwrap();
        timeouts(&conn);
        assert_eq!(recv_pair(&client), (b"srv".to_vec(), Vec::new()));
        let mut buf = [0u8; 4];
        conn.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        conn.write_all(b"pong").unwrap();
        assert_eq!(recv_bytes_from(&client, b"srv", 4), b"pong");
        drop(conn);
        assert_eq!(recv_pair(&client), (b"srv".to_vec(), Vec::new()));
    });
}

#[test]
fn without_stream_notify_only_data_comes() {
    bounded(|| {
        let ctx = Context::new();
        let server = socket(&ctx, SocketType::Stream);
        server.set_stream_notify(false).unwrap();
        assert!(!server.get_stream_notify().unwrap());
        server.bind("tcp://127.0.0.1:0").unwrap();
        let addr = server.get_last_endpoint().unwrap().unwrap();
        let mut c = TcpStream::connect(addr.trim_start_matches("tcp://")).unwrap();
        c.write_all(b"data").unwrap();
        let (id, data) = recv_pair(&server);
        let mut data = data;
        if data.len() < 4 {
            data.extend(recv_bytes_from(&server, &id, 4 - data.len()));
        }
        assert_eq!(data, b"data");
        drop(c);
        // No disconnect message either; the id goes with the connection.
        gone(&server, &id);
        assert!(matches!(
            server.recv_bytes(DONTWAIT),
            Err(Error::WouldBlock)
        ));
    });
}

#[test]
fn stream_talks_to_libzmqs_stream_both_ways() {
    bounded(|| {
        let ctx = Context::new();
        let (ours, addr) = bound_stream(&ctx);
        let zctx = zmq::Context::new();
        let theirs = zctx.socket(zmq::STREAM).unwrap();
        theirs.set_rcvtimeo(TIMEO_MS).unwrap();
        theirs.connect(&format!("tcp://{addr}")).unwrap();
        // libzmq announces the connection to its own side too.
        let m = theirs.recv_multipart(0).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m[1].is_empty());
        let their_id_of_us = m[0].clone();
        let (our_id_of_them, e) = recv_pair(&ours);
        assert!(e.is_empty());

        theirs
            .send_multipart([&their_id_of_us[..], b"from libzmq"], 0)
            .unwrap();
        assert_eq!(recv_bytes_from(&ours, &our_id_of_them, 11), b"from libzmq");
        ours.send_multipart([&our_id_of_them[..], b"from zeroring"], 0)
            .unwrap();
        let mut got = Vec::new();
        while got.len() < 13 {
            let m = theirs.recv_multipart(0).unwrap();
            assert_eq!(m[0], their_id_of_us);
            got.extend_from_slice(&m[1]);
        }
        assert_eq!(got, b"from zeroring");
        // We close; libzmq's STREAM sees the peer go.
        ours.send_multipart([&our_id_of_them[..], b""], 0).unwrap();
        let m = theirs.recv_multipart(0).unwrap();
        assert_eq!((m[0].clone(), m[1].clone()), (their_id_of_us, Vec::new()));
    });
}

#[test]
fn libzmq_stream_binds_and_ours_connects() {
    bounded(|| {
        let zctx = zmq::Context::new();
        let theirs = zctx.socket(zmq::STREAM).unwrap();
        theirs.set_rcvtimeo(TIMEO_MS).unwrap();
        theirs.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = theirs.get_last_endpoint().unwrap().unwrap();
        let ctx = Context::new();
        let ours = socket(&ctx, SocketType::Stream);
        ours.connect(&endpoint).unwrap();
        let (id, e) = recv_pair(&ours);
        assert!(e.is_empty());
        let m = theirs.recv_multipart(0).unwrap();
        assert!(m[1].is_empty());
        let their_id = m[0].clone();
        ours.send_multipart([&id[..], b"hi"], 0).unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            let m = theirs.recv_multipart(0).unwrap();
            assert_eq!(m[0], their_id);
            got.extend_from_slice(&m[1]);
        }
        assert_eq!(got, b"hi");
        theirs.send_multipart([&their_id[..], b"yo"], 0).unwrap();
        assert_eq!(recv_bytes_from(&ours, &id, 2), b"yo");
    });
}

#[test]
fn bad_sends_fail_loudly_and_lose_nothing() {
    bounded(|| {
        let ctx = Context::new();
        let (server, addr) = bound_stream(&ctx);
        let mut c = TcpStream::connect(&addr).unwrap();
        timeouts(&c);
        let (id, _) = recv_pair(&server);
        assert!(matches!(
            server.send_multipart([&b"nobody"[..], b"x"], 0),
            Err(Error::HostUnreachable)
        ));
        // A lone id frame routes nothing, and breaks nothing.
        server.send(&id, 0).unwrap();
        server.send_multipart([&id[..], b"ok"], 0).unwrap();
        let mut buf = [0u8; 2];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ok");
    });
}

#[test]
fn stream_has_no_inproc() {
    let ctx = Context::new();
    let s = socket(&ctx, SocketType::Stream);
    assert!(matches!(
        s.bind("inproc://stream"),
        Err(Error::TransportNotSupported(_))
    ));
    assert!(matches!(
        s.connect("inproc://stream"),
        Err(Error::TransportNotSupported(_))
    ));
    let router = socket(&ctx, SocketType::Router);
    assert!(router.set_stream_notify(false).is_err());
}

#[test]
fn stream_over_ipc_with_a_plain_unix_client() {
    bounded(|| {
        let ctx = Context::new();
        let dir = std::env::temp_dir().join(format!("zeroring-stream-{}", std::process::id()));
        let path = dir.with_extension("sock");
        let server = socket(&ctx, SocketType::Stream);
        server.bind(&format!("ipc://{}", path.display())).unwrap();
        let mut c = std::os::unix::net::UnixStream::connect(&path).unwrap();
        let (id, e) = recv_pair(&server);
        assert!(e.is_empty());
        c.write_all(b"over ipc").unwrap();
        assert_eq!(recv_bytes_from(&server, &id, 8), b"over ipc");
        server.send_multipart([&id[..], b"back"], 0).unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"back");
        drop(c);
        assert_eq!(recv_pair(&server), (id, Vec::new()));
    });
}

#[test]
fn router_raw_is_a_stream_that_drops_what_it_cannot_route() {
    bounded(|| {
        let ctx = Context::new();
        let router = socket(&ctx, SocketType::Router);
        router.set_router_raw(true).unwrap();
        assert!(router.get_router_raw().unwrap());
        router.bind("tcp://127.0.0.1:0").unwrap();
        assert!(matches!(
            router.set_router_raw(false),
            Err(Error::WrongState)
        ));
        let addr = router.get_last_endpoint().unwrap().unwrap();
        let mut c = TcpStream::connect(addr.trim_start_matches("tcp://")).unwrap();
        timeouts(&c);
        let (id, e) = recv_pair(&router);
        assert!(e.is_empty());
        c.write_all(b"raw").unwrap();
        assert_eq!(recv_bytes_from(&router, &id, 3), b"raw");
        // Unknown peer: dropped, as a ROUTER does without MANDATORY.
        router.send_multipart([&b"nobody"[..], b"x"], 0).unwrap();
        router.set_router_mandatory(true).unwrap();
        assert!(matches!(
            router.send_multipart([&b"nobody"[..], b"x"], 0),
            Err(Error::HostUnreachable)
        ));
        router.send_multipart([&id[..], b"out"], 0).unwrap();
        router.send_multipart([&id[..], b""], 0).unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"out");
        let dealer = socket(&ctx, SocketType::Dealer);
        assert!(matches!(
            dealer.set_router_raw(true),
            Err(Error::InvalidArgument(_))
        ));
    });
}

/// libzmq's STREAM keeps the id it made up for its latest peer as its own
/// ROUTING_ID (test_stream_to_stream reads its server's id that way).
#[test]
fn a_streams_routing_id_names_its_latest_peer() {
    let ctx = Context::new();
    let (server, addr) = bound_stream(&ctx);
    server.set_stream_notify(true).unwrap();
    let client = socket(&ctx, SocketType::Stream);
    client.set_stream_notify(true).unwrap();
    client.connect(&format!("tcp://{addr}")).unwrap();
    let (_, notify) = recv_pair(&server);
    assert!(notify.is_empty());
    let (server_id, notify) = recv_pair(&client);
    assert!(notify.is_empty());
    assert_eq!(client.get_routing_id().unwrap(), server_id);
    client
        .send_multipart([&client.get_routing_id().unwrap()[..], b"GET /\n\n"], 0)
        .unwrap();
    let (_, request) = recv_pair(&server);
    assert_eq!(request, b"GET /\n\n");
}
