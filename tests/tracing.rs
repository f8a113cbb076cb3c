//! The `tracing` feature: connections coming and going, failed handshakes,
//! peers dropped for breaking the protocol, and messages dropped without an
//! error to the sender each become a `tracing` event with the endpoint and
//! the reason. A subscriber installed for the whole test binary collects
//! them; each test waits (bounded) for the events its own endpoints cause.
#![cfg(feature = "tracing")]

mod common;
use common::*;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, Once};
use std::time::Instant;
use tracing::field::{Field, Visit};
use tracing::{span, Level, Metadata, Subscriber};
use zeroring::{Context, Error, SocketType::*, DONTWAIT};

/// One event as the subscriber saw it.
#[derive(Debug, Clone)]
struct Captured {
    level: Level,
    target: String,
    fields: BTreeMap<&'static str, String>,
}

impl Captured {
    fn field(&self, name: &str) -> &str {
        self.fields.get(name).map_or("", String::as_str)
    }
}

struct Fields(BTreeMap<&'static str, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

static EVENTS: Mutex<Vec<Captured>> = Mutex::new(Vec::new());
static ARRIVED: Condvar = Condvar::new();

/// The events so far (a test that failed holding the lock spoils nothing:
/// the list is only ever pushed to).
fn events() -> MutexGuard<'static, Vec<Captured>> {
    EVENTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps every event; spans are not used by zeroring.
struct Collector;

impl Subscriber for Collector {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        let captured = Captured {
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            fields: fields.0,
        };
        events().push(captured);
        ARRIVED.notify_all();
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// The collector, for every thread (the events come from I/O threads).
fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| tracing::subscriber::set_global_default(Collector).unwrap());
}

/// The first event on `target` that `matches`, waiting for it at most
/// [`BOUND`]; panics with what did come otherwise.
fn expect(target: &str, what: &str, matches: impl Fn(&Captured) -> bool) -> Captured {
    let deadline = Instant::now() + BOUND;
    let mut seen = events();
    loop {
        if let Some(found) = seen.iter().find(|e| e.target == target && matches(e)) {
            return found.clone();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let came: Vec<_> = seen
                .iter()
                .filter(|e| e.target == target)
                .cloned()
                .collect();
            drop(seen);
            panic!("no {what} on {target} within {BOUND:?}; there came: {came:#?}");
        }
        seen = ARRIVED
            .wait_timeout(seen, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
}

fn connection(event: &str, endpoint: &str) -> Captured {
    expect("zeroring::connection", event, |e| {
        e.field("event") == event && e.field("endpoint") == endpoint
    })
}

fn tcp_endpoint(s: &zeroring::Socket) -> String {
    s.bind("tcp://127.0.0.1:0").unwrap();
    s.get_last_endpoint().unwrap().unwrap()
}

/// Connecting, accepting and a peer's leaving are `DEBUG` events with the
/// endpoint; the disconnect says why.
#[test]
fn connect_accept_and_disconnect() {
    install();
    bounded(|| {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        let endpoint = tcp_endpoint(&pull);
        let push = socket(&ctx, Push);
        push.connect(&endpoint).unwrap();
        push.send("hi", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"hi");

        for event in ["LISTENING", "CONNECTED", "ACCEPTED", "HANDSHAKE_SUCCEEDED"] {
            assert_eq!(connection(event, &endpoint).level, Level::DEBUG, "{event}");
        }
        drop(push);
        let gone = connection("DISCONNECTED", &endpoint);
        assert_eq!(gone.level, Level::DEBUG, "{gone:?}");
        assert_eq!(gone.field("reason"), "the peer closed the connection");
    });
}

/// A failed handshake is a warning whose reason is the protocol's.
#[test]
fn handshake_failure_is_a_warning_with_its_reason() {
    install();
    bounded(|| {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        rep.set_plain_server(true).unwrap();
        rep.set_plain_authenticator(|_| true).unwrap();
        let endpoint = tcp_endpoint(&rep);
        let req = socket(&ctx, Req);
        req.connect(&endpoint).unwrap();

        let failed = connection("HANDSHAKE_FAILED_PROTOCOL", &endpoint);
        assert_eq!(failed.level, Level::WARN, "{failed:?}");
        let reason = failed.field("reason");
        assert!(reason.contains("mechanism mismatch"), "{failed:?}");
        assert!(
            reason.contains("PLAIN") && reason.contains("NULL"),
            "{failed:?}"
        );
    });
}

/// A peer that sends a frame over MAXMSGSIZE is disconnected, with a
/// warning that says so; the frame never reaches the socket.
#[test]
fn oversized_frame_disconnects_its_peer_with_a_warning() {
    install();
    bounded(|| {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.set_maxmsgsize(64).unwrap();
        let endpoint = tcp_endpoint(&pull);
        let push = socket(&ctx, Push);
        push.connect(&endpoint).unwrap();
        push.send(vec![7u8; 100], 0).unwrap();

        let gone = expect("zeroring::connection", "DISCONNECTED for the frame", |e| {
            e.field("event") == "DISCONNECTED"
                && e.field("endpoint") == endpoint
                && e.level == Level::WARN
        });
        let reason = gone.field("reason");
        assert!(
            reason.contains("frame of 100 octets exceeds the maximum of 64"),
            "{gone:?}"
        );
        assert!(matches!(pull.recv_bytes(DONTWAIT), Err(Error::WouldBlock)));
    });
}

/// A PUB whose subscriber is at its high-water mark drops for it, and
/// says so with the subscriber's endpoint.
#[test]
fn pub_drop_at_the_high_water_mark() {
    install();
    bounded(|| {
        let endpoint = "inproc://tracing-pub-hwm";
        let ctx = Context::new();
        let sub = socket(&ctx, Sub);
        sub.set_rcvhwm(1).unwrap();
        sub.bind(endpoint).unwrap();
        sub.set_subscribe(b"").unwrap();
        let publisher = socket(&ctx, Pub);
        publisher.set_sndhwm(1).unwrap();
        publisher.connect(endpoint).unwrap();
        // Until the subscription has reached the publisher, what it sends
        // matches nobody (filtered, not dropped).
        let start = Instant::now();
        loop {
            publisher.send("probe", 0).unwrap();
            if sub.recv_bytes(DONTWAIT).is_ok() {
                break;
            }
            assert!(start.elapsed() < BOUND, "the subscription never came");
            std::thread::yield_now();
        }
        for _ in 0..10 {
            publisher.send("flood", 0).unwrap();
        }

        let dropped = expect("zeroring::drop", "a PUB's drop", |e| {
            e.field("endpoint") == endpoint
        });
        assert_eq!(dropped.level, Level::DEBUG);
        assert!(
            dropped.field("reason").contains("high-water mark"),
            "{dropped:?}"
        );
        assert_eq!(dropped.field("message"), "message dropped");
    });
}

/// A ROUTER without ROUTER_MANDATORY drops a message to an unknown peer,
/// and says which routing id it was for.
#[test]
fn router_drops_an_unroutable_message() {
    install();
    bounded(|| {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        router
            .send_multipart([&b"tracing-nobody"[..], b"hello"], 0)
            .unwrap();
        let dropped = expect("zeroring::drop", "the ROUTER's drop", |e| {
            e.field("routing_id") == "tracing-nobody"
        });
        assert!(
            dropped.field("reason").contains("routing id"),
            "{dropped:?}"
        );
    });
}

/// A frame over 64 MiB abandons its message: an error for the sender, and
/// an event for the frames of it that are dropped after.
#[test]
fn oversized_outbound_frame_abandons_its_message() {
    install();
    bounded(|| {
        let ctx = Context::new();
        let (_pull, push) = pair_of(&ctx, Pull, Push, "inproc://tracing-oversize");
        let huge = vec![0u8; (64 << 20) + 1];
        assert!(matches!(
            push.send(&huge, zeroring::SNDMORE),
            Err(Error::MessageTooLarge { .. })
        ));
        expect("zeroring::drop", "the oversized frame's drop", |e| {
            e.field("reason").contains("over 64 MiB")
        });
    });
}
