//! The ZeroMQ socket types and which of them may talk to each other.

/// A ZeroMQ socket type, as `zmq::SocketType` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair: one peer, both directions.
    Pair,
    /// Publisher: fan-out to subscribers.
    Pub,
    /// Subscriber: receives what it subscribed to.
    Sub,
    /// Requester: strict send/receive alternation.
    Req,
    /// Replier: answers each request.
    Rep,
    /// Asynchronous requester: load-balanced out, fair-queued in.
    Dealer,
    /// Asynchronous replier: addresses peers by routing id.
    Router,
    /// Pipeline sink: fair-queued in.
    Pull,
    /// Pipeline source: load-balanced out.
    Push,
    /// Publisher that sees subscriptions.
    XPub,
    /// Subscriber that sends subscriptions as messages.
    XSub,
    /// Raw tcp peers, no ZMTP (libzmq's `ZMQ_STREAM`): each message is a
    /// peer's routing id and bytes it sent; sending an id and bytes writes
    /// them to that peer, an id and nothing closes its connection.
    Stream,
    /// Thread-safe requester (libzmq's draft CLIENT): single-frame
    /// messages, load-balanced out, fair-queued in. Made by
    /// [`Context::client`](crate::Context::client), not `Context::socket`.
    Client,
    /// Thread-safe replier (libzmq's draft SERVER): replies by routing id.
    /// Made by [`Context::server`](crate::Context::server).
    Server,
    /// Thread-safe PUSH (libzmq's draft SCATTER): single frames,
    /// round-robin. Made by [`Context::scatter`](crate::Context::scatter).
    Scatter,
    /// Thread-safe PULL (libzmq's draft GATHER): fair-queued. Made by
    /// [`Context::gather`](crate::Context::gather).
    Gather,
    /// Thread-safe publisher by group (libzmq's draft RADIO). Made by
    /// [`Context::radio`](crate::Context::radio).
    Radio,
    /// Thread-safe subscriber to groups (libzmq's draft DISH). Made by
    /// [`Context::dish`](crate::Context::dish).
    Dish,
}

impl SocketType {
    /// The name ZMTP's `Socket-Type` property carries (RFC 37).
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
            SocketType::XPub => "XPUB",
            SocketType::XSub => "XSUB",
            SocketType::Stream => "STREAM",
            SocketType::Client => "CLIENT",
            SocketType::Server => "SERVER",
            SocketType::Scatter => "SCATTER",
            SocketType::Gather => "GATHER",
            SocketType::Radio => "RADIO",
            SocketType::Dish => "DISH",
        }
    }

    /// Whether a socket of this type may be connected to one of `peer`'s
    /// type, as RFC 37 lists the legal pairs.
    ///
    /// ```
    /// use zeroring::SocketType::*;
    /// assert!(Push.is_compatible(Pull));
    /// assert!(Req.is_compatible(Router));
    /// assert!(!Push.is_compatible(Push));
    /// ```
    pub fn is_compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub | XPub, Sub | XSub)
                | (Sub | XSub, Pub | XPub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
                | (Client, Server)
                | (Server, Client)
                | (Scatter, Gather)
                | (Gather, Scatter)
                | (Radio, Dish)
                | (Dish, Radio)
        )
    }

    /// One of libzmq's draft thread-safe types (made by
    /// [`Context::client`](crate::Context::client) and its kin).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn is_thread_safe(self) -> bool {
        use SocketType::*;
        matches!(self, Client | Server | Scatter | Gather | Radio | Dish)
    }
}

impl std::fmt::Display for SocketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
