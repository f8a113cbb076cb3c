//! Thread-safe sockets (libzmq 4.3's draft CLIENT, SERVER, SCATTER,
//! GATHER, RADIO and DISH): the public handles. How they work is told in
//! [`Client`]'s docs, which users see; `core` holds what they share.

#[cfg(feature = "async")]
mod async_methods;
mod chunks;
mod core;
mod peers;
pub mod pipe;
mod poll;
mod registry;
mod remote;
mod shared;
pub mod spin;
#[cfg(feature = "async")]
mod tasks;
mod tcp;
mod wakers;

pub(crate) use self::core::{receives, sends, writes};
pub(crate) use self::poll::Watching;
pub(crate) use registry::Registry;
pub(crate) use remote::{outbound, Outbound, Sending};
pub(crate) use shared::SharedPeer;

use self::core::multipart_error;
pub(crate) use self::core::Core;
use crate::error::{Error, Result};
use crate::transport::{parse, Endpoint};
use crate::{Context, SocketType, SNDMORE};
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The largest message a thread-safe socket sends (as the others: 64 MiB).
const MAX_MESSAGE: usize = 64 << 20;

/// Which peer of a [`Server`] a message came from, and where a reply goes:
/// libzmq's `zmq_msg_routing_id`, a number other than 0, given by the
/// server to each peer when it connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoutingId(NonZeroU32);

impl RoutingId {
    /// The routing id `id`, if it is not 0.
    ///
    /// ```
    /// use zeroring::RoutingId;
    /// assert_eq!(RoutingId::new(7).unwrap().get(), 7);
    /// assert!(RoutingId::new(0).is_none());
    /// ```
    pub fn new(id: u32) -> Option<Self> {
        NonZeroU32::new(id).map(Self)
    }

    /// The number, as libzmq's `zmq_msg_routing_id` gives it.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl std::fmt::Display for RoutingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<RoutingId> for u32 {
    fn from(id: RoutingId) -> u32 {
        id.get()
    }
}

fn routing_id(id: u32) -> RoutingId {
    RoutingId::new(id).expect("routing ids are never 0")
}

/// What every socket type is: the core, its tcp side, and the context's
/// bookkeeping.
struct Handle {
    core: Arc<Core>,
    tcp: tcp::Tcp,
    /// The endpoints connected (as given), for `disconnect`.
    connected: Mutex<Vec<String>>,
}

/// Where a socket may bind or connect.
enum Where {
    Inproc(String),
    Tcp(String),
    Ipc(String),
}

impl Handle {
    fn new(ctx: &Context, kind: SocketType) -> Result<Self> {
        ctx.reserve_socket()?;
        let core = Arc::new(Core::new(ctx.clone(), kind));
        ctx.inner.threadsafe.add(&core);
        Ok(Self {
            core,
            tcp: tcp::Tcp::new(ctx.new_socket_id()),
            connected: Mutex::default(),
        })
    }

    fn endpoint(&self, endpoint: &str) -> Result<Where> {
        if self.core.ctx.is_terminated() {
            return Err(self.core.ctx.stopped().into_error(0));
        }
        match parse(endpoint)? {
            Endpoint::Inproc(name) => Ok(Where::Inproc(name)),
            Endpoint::Tcp(address) => Ok(Where::Tcp(address)),
            Endpoint::Ipc(address) => Ok(Where::Ipc(address)),
        }
    }

    fn bind(&self, endpoint: &str) -> Result<()> {
        match self.endpoint(endpoint)? {
            Where::Inproc(name) => {
                self.core.ctx.inner.threadsafe.bind(&name, &self.core)?;
                self.tcp.set_last_endpoint(endpoint.to_owned());
                Ok(())
            }
            Where::Tcp(address) => self.tcp.bind(&self.core, endpoint, &address),
            Where::Ipc(address) => self.tcp.bind_ipc(&self.core, endpoint, &address),
        }
    }

    fn connect(&self, endpoint: &str) -> Result<()> {
        let mut connected = self.connected();
        match self.endpoint(endpoint)? {
            Where::Inproc(name) => {
                self.core.ctx.inner.threadsafe.connect(&name, &self.core)?;
                self.tcp.set_last_endpoint(endpoint.to_owned());
                Ok(())
            }
            Where::Tcp(address) => self.tcp.connect(&self.core, endpoint, &address),
            Where::Ipc(address) => self.tcp.connect_ipc(&self.core, endpoint, &address),
        }?;
        connected.push(endpoint.to_owned());
        Ok(())
    }

    fn connected(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.connected.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn unbind(&self, endpoint: &str) -> Result<()> {
        match self.endpoint(endpoint)? {
            Where::Inproc(name) => {
                self.core.ctx.inner.threadsafe.unbind(&name, &self.core)?;
                self.core.close_endpoint(&format!("inproc://{name}"));
                Ok(())
            }
            Where::Tcp(_) | Where::Ipc(_) => self.tcp.unbind(&self.core, endpoint),
        }
    }

    fn disconnect(&self, endpoint: &str) -> Result<()> {
        let place = self.endpoint(endpoint)?;
        // Held to the end: a connect to the same endpoint meanwhile is
        // either undone here or made after.
        let mut connected = self.connected();
        let before = connected.len();
        connected.retain(|e| e != endpoint);
        if connected.len() == before {
            return Err(Error::EndpointNotFound(endpoint.to_owned()));
        }
        match place {
            Where::Inproc(name) => {
                self.core.ctx.inner.threadsafe.unpark(&name, &self.core);
                self.core.close_endpoint(&format!("inproc://{name}"));
            }
            // The engine sees its pipe closed: it sends what is queued
            // and ends, without reconnecting.
            Where::Tcp(_) | Where::Ipc(_) => {
                self.core.close_endpoint(endpoint);
            }
        }
        Ok(())
    }

    fn check_send(&self, len: usize, flags: i32) -> Result<()> {
        if flags & SNDMORE != 0 {
            return Err(multipart_error());
        }
        if len > MAX_MESSAGE {
            return Err(Error::MessageTooLarge {
                size: len,
                max: MAX_MESSAGE,
            });
        }
        Ok(())
    }

    /// The next message, from any peer (CLIENT, GATHER).
    fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.core
            .recv(flags, |_, data| data.to_vec())
            .map_err(|f| f.into_error(0))
    }

    /// The next message into `buf`, truncated (CLIENT, GATHER).
    fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        self.core
            .recv(flags, |_, data| copy_into(buf, data))
            .map_err(|f| f.into_error(0))
    }

    /// A send to one of the peers, in turn (CLIENT, SCATTER).
    fn send_lb(&self, data: &[u8], flags: i32) -> Result<()> {
        self.check_send(data.len(), flags)?;
        let core = &self.core;
        core.send_loop(
            flags,
            #[inline(always)]
            || core.try_send_lb(data),
        )
        .map_err(|f| f.into_error(data.len()))
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        let inner = &self.core.ctx.inner;
        inner.threadsafe.remove(&self.core);
        self.tcp.close();
        self.core.close_all();
        inner.socket_closed();
    }
}

/// The options and endpoint calls every thread-safe socket type shares.
macro_rules! common {
    () => {
        /// Accepts connections on `endpoint`: `inproc://name`,
        /// `tcp://host:port` or `ipc://path`.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidEndpoint`] for a malformed endpoint,
        /// [`Error::TransportNotSupported`] for transports zeroring does
        /// not carry (`udp://` ...), [`Error::AddrInUse`] if the name, port
        /// or path is bound, [`Error::Io`] if the OS refuses,
        /// [`Error::IncompatibleSocketType`] if sockets waiting on the name
        /// cannot talk to this one, [`Error::Terminated`] after the
        /// context's shutdown.
        pub fn bind(&self, endpoint: &str) -> Result<()> {
            self.h.bind(endpoint)
        }

        /// Connects to `endpoint` (`inproc://name`, `tcp://host:port` or
        /// `ipc://path`); a name not bound yet
        /// is connected when it is, a tcp or ipc peer not there yet when it
        /// comes (messages queue meanwhile, as libzmq's do).
        ///
        /// # Errors
        ///
        /// As [`bind`](Self::bind), less `AddrInUse`.
        pub fn connect(&self, endpoint: &str) -> Result<()> {
            self.h.connect(endpoint)
        }

        /// Stops accepting connections on `endpoint` and closes those it
        /// accepted (their messages not received yet are dropped, as
        /// libzmq's `zmq_unbind` drops them; what this socket sent them
        /// still goes). A tcp endpoint is named as given to
        /// [`bind`](Self::bind) or as
        /// [`get_last_endpoint`](Self::get_last_endpoint) tells it (the
        /// port chosen for `tcp://host:0`); an ipc socket file is removed.
        /// On return the name, port or path is free for another bind.
        ///
        /// ```
        /// let ctx = zeroring::Context::new();
        /// let server = ctx.server()?;
        /// server.bind("tcp://127.0.0.1:0")?;
        /// let endpoint = server.get_last_endpoint().unwrap();
        /// server.unbind(&endpoint)?;
        /// assert!(std::net::TcpStream::connect(&endpoint["tcp://".len()..]).is_err());
        /// assert!(matches!(
        ///     server.unbind(&endpoint),
        ///     Err(zeroring::Error::EndpointNotFound(_))
        /// ));
        /// # Ok::<(), zeroring::Error>(())
        /// ```
        ///
        /// # Errors
        ///
        /// [`Error::EndpointNotFound`] if this socket is not bound to
        /// `endpoint` (libzmq's ENOENT); [`Error::InvalidEndpoint`] and
        /// [`Error::TransportNotSupported`] as for `bind`;
        /// [`Error::Terminated`] after the context's shutdown.
        pub fn unbind(&self, endpoint: &str) -> Result<()> {
            self.h.unbind(endpoint)
        }

        /// Closes the connection made by [`connect`](Self::connect) to
        /// `endpoint` (every one, if connected more than once), which is
        /// not made again: the peer gets nothing more from this socket,
        /// and what it sent that this socket has not received is dropped,
        /// as libzmq's `zmq_disconnect` does. What this socket sent still
        /// goes, as from a closed socket. A connect still waiting for its
        /// peer is taken back.
        ///
        /// ```
        /// let ctx = zeroring::Context::new();
        /// let gather = ctx.gather()?;
        /// gather.bind("inproc://disconnect-doc")?;
        /// let scatter = ctx.scatter()?;
        /// scatter.connect("inproc://disconnect-doc")?;
        /// scatter.disconnect("inproc://disconnect-doc")?;
        /// // No peer left to send to.
        /// assert!(matches!(
        ///     scatter.send("x", zeroring::DONTWAIT),
        ///     Err(zeroring::Error::WouldBlock)
        /// ));
        /// # Ok::<(), zeroring::Error>(())
        /// ```
        ///
        /// # Errors
        ///
        /// [`Error::EndpointNotFound`] if this socket has no connect to
        /// `endpoint` (as given to `connect`; libzmq's ENOENT);
        /// [`Error::InvalidEndpoint`] and [`Error::TransportNotSupported`]
        /// as for `bind`; [`Error::Terminated`] after the context's
        /// shutdown.
        pub fn disconnect(&self, endpoint: &str) -> Result<()> {
            self.h.disconnect(endpoint)
        }

        /// The endpoint last bound or connected, with the port chosen for
        /// `tcp://host:0` or `tcp://host:*` (`None` before any), as
        /// libzmq's `ZMQ_LAST_ENDPOINT`.
        pub fn get_last_endpoint(&self) -> Option<String> {
            self.h.tcp.last_endpoint()
        }

        /// How many peers this socket has had over shared memory (ipc
        /// connections between zeroring thread-safe sockets): the tests'
        /// proof that the upgrade happened. Not public API.
        #[doc(hidden)]
        pub fn shared_memory_peers(&self) -> usize {
            self.h.core.shared_peers()
        }

        /// How many chunks of this socket's pool (its messages too large
        /// for a shared ring) peers in other processes still hold: the
        /// tests' leak check. Not public API.
        #[doc(hidden)]
        pub fn shared_memory_chunks_in_use(&self) -> usize {
            self.h
                .core
                .shared
                .existing_chunk_pool()
                .map_or(0, |p| p.held())
        }

        /// This socket's type.
        pub fn socket_type(&self) -> SocketType {
            self.h.core.kind
        }

        /// Sets SNDHWM: the messages a pipe to a peer holds (plus the
        /// peer's RCVHWM over inproc), 0 for no limit; default 1000. For
        /// peers connected afterwards.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidArgument`] for a negative value.
        pub fn set_sndhwm(&self, value: i32) -> Result<()> {
            set_nonneg(&self.h.core.opts.sndhwm, value, "SNDHWM")
        }

        /// Sets RCVHWM (see [`set_sndhwm`](Self::set_sndhwm)); default 1000.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidArgument`] for a negative value.
        pub fn set_rcvhwm(&self, value: i32) -> Result<()> {
            set_nonneg(&self.h.core.opts.rcvhwm, value, "RCVHWM")
        }

        /// Sets SNDTIMEO in milliseconds: -1 (the default) blocks until
        /// the message goes, 0 never blocks, otherwise a send that waits
        /// that long fails with [`Error::TimedOut`].
        ///
        /// # Errors
        ///
        /// [`Error::InvalidArgument`] below -1.
        pub fn set_sndtimeo(&self, ms: i32) -> Result<()> {
            set_timeout(&self.h.core.opts.sndtimeo, ms)
        }

        /// Sets RCVTIMEO in milliseconds, as [`set_sndtimeo`](Self::set_sndtimeo).
        ///
        /// # Errors
        ///
        /// [`Error::InvalidArgument`] below -1.
        pub fn set_rcvtimeo(&self, ms: i32) -> Result<()> {
            set_timeout(&self.h.core.opts.rcvtimeo, ms)
        }

        /// The SNDHWM option.
        pub fn get_sndhwm(&self) -> i32 {
            self.h.core.opts.sndhwm.load(Ordering::Relaxed)
        }

        /// The RCVHWM option.
        pub fn get_rcvhwm(&self) -> i32 {
            self.h.core.opts.rcvhwm.load(Ordering::Relaxed)
        }

        /// The SNDTIMEO option.
        pub fn get_sndtimeo(&self) -> i32 {
            self.h.core.opts.sndtimeo.load(Ordering::Relaxed)
        }

        /// The RCVTIMEO option.
        pub fn get_rcvtimeo(&self) -> i32 {
            self.h.core.opts.rcvtimeo.load(Ordering::Relaxed)
        }

        /// Sets the bytes of the ring of each pipe this socket writes (a
        /// power of two, 4 KiB to 1 GiB; default 256 KiB), for peers
        /// connected afterwards. Messages above 16 KiB travel outside it.
        ///
        /// # Errors
        ///
        /// [`Error::InvalidArgument`] for another size.
        pub fn set_ring_capacity(&self, bytes: usize) -> Result<()> {
            if !bytes.is_power_of_two() || !(4096..=1 << 30).contains(&bytes) {
                return Err(Error::InvalidArgument(
                    "ring capacity must be a power of two from 4 KiB to 1 GiB",
                ));
            }
            self.h
                .core
                .opts
                .ring_capacity
                .store(bytes, Ordering::Relaxed);
            Ok(())
        }
    };
}

/// What every thread-safe socket type has: `Debug`, its constructor and
/// the calls of `common!`.
macro_rules! socket_type {
    ($t:ident) => {
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }

        impl $t {
            pub(crate) fn new(ctx: &Context) -> Result<Self> {
                Ok(Self {
                    h: Handle::new(ctx, SocketType::$t)?,
                })
            }

            /// A [`PollItem`](crate::PollItem) for this socket, to
            /// [`poll`](crate::poll()) beside others, classic sockets and
            /// plain descriptors. `POLLIN`: a message can be received now;
            /// `POLLOUT`: a send would not block (a SERVER, RADIO or DISH
            /// always, as libzmq's; a GATHER never). A type that does not
            /// receive is never `POLLIN`. Any number of threads may poll
            /// the socket at once: each is woken, and the first to
            /// receive gets the message.
            ///
            /// ```
            /// use zeroring::{poll, POLLIN};
            /// let ctx = zeroring::Context::new();
            /// let server = ctx.server()?;
            /// server.bind("inproc://poll-item-doc")?;
            /// let client = ctx.client()?;
            /// client.connect("inproc://poll-item-doc")?;
            /// let mut items = [server.as_poll_item(POLLIN)];
            /// assert_eq!(poll(&mut items, 0)?, 0);
            /// client.send("hi", 0)?;
            /// assert_eq!(poll(&mut items, -1)?, 1);
            /// assert!(items[0].is_readable() && server.owns(&items[0]));
            /// # Ok::<(), zeroring::Error>(())
            /// ```
            pub fn as_poll_item(&self, events: crate::PollEvents) -> crate::PollItem<'_> {
                crate::PollItem::threadsafe(&self.h.core, events)
            }

            /// Whether `item` is this socket's (made by
            /// [`as_poll_item`](Self::as_poll_item)): the `zmq` crate's
            /// `PollItem::has_socket`, for a thread-safe socket.
            pub fn owns(&self, item: &crate::PollItem<'_>) -> bool {
                item.has_core(&self.h.core)
            }

            common!();
        }
    };
}

fn set_nonneg(opt: &std::sync::atomic::AtomicI32, value: i32, name: &'static str) -> Result<()> {
    if value < 0 {
        return Err(Error::InvalidArgument(name));
    }
    opt.store(value, Ordering::Relaxed);
    Ok(())
}

fn set_timeout(opt: &std::sync::atomic::AtomicI32, ms: i32) -> Result<()> {
    if ms < -1 {
        return Err(Error::InvalidArgument("timeout below -1"));
    }
    opt.store(ms, Ordering::Relaxed);
    Ok(())
}

fn copy_into(buf: &mut [u8], data: &[u8]) -> usize {
    let n = data.len().min(buf.len());
    crate::copy::copy(&mut buf[..n], &data[..n]);
    data.len()
}

/// A CLIENT socket (libzmq's draft `ZMQ_CLIENT`), shareable by every
/// thread; made by [`Context::client`](crate::Context::client).
///
/// # Thread-safe sockets
///
/// One handle that any number of threads send and receive on at once, as
/// libzmq 4.3's draft sockets: [`Client`] and [`Server`], [`Scatter`] and
/// [`Gather`] (a thread-safe PUSH and PULL), [`Radio`] and [`Dish`]
/// (publishing by group).
///
/// All are `Send + Sync`: share one by reference (an `Arc`, scoped
/// threads) instead of giving each thread a socket of its own. Their
/// messages are single frames (no `SNDMORE`: it is an error, libzmq's
/// EINVAL).
///
/// - **Sending** costs no lock: each peer has a multi-producer ring that
///   every sending thread claims its record in with one atomic add, and
///   publishes in place; the table of peers is read through a per-thread
///   cache checked by one load (it changes only when a peer comes or
///   goes), and a thread counts its messages toward the high-water mark
///   with credits it takes in batches (an eighth of the mark, 16 at most:
///   with several sending threads a pipe may refuse a few messages below
///   its mark). A thread's messages to one peer arrive in the order it
///   sent them.
/// - **Receiving** is serialised, as libzmq serialises it with a mutex:
///   a ring has one reader, so concurrent receivers take turns on a lock
///   held for one message's copy; while nothing has arrived one of them
///   sleeps on the socket's doorbell and the others wait their turn (each
///   within its own RCVTIMEO).
/// - CLIENT load-balances its sends over its peers (skipping those at
///   their high-water mark) and fair-queues what it receives; SERVER
///   fair-queues, tells each message's sender by a [`RoutingId`], and
///   sends to a routing id (an unknown one is
///   [`Error::HostUnreachable`](crate::Error::HostUnreachable)). Both block
///   at the high-water mark (SNDHWM + the peer's RCVHWM messages per pipe
///   over inproc, as libzmq sums them), within SNDTIMEO or `DONTWAIT`.
///
/// Transports: `inproc://` (the rings above), and `tcp://` and `ipc://`
/// through the ZMTP engine of the other sockets (ipc stays ZMTP over the
/// unix socket: no rings in shared memory between processes yet;
/// Socket-Type `CLIENT` ... as libzmq's draft sockets announce; a DISH
/// sends JOIN and LEAVE commands, a RADIO a group frame then the body,
/// as libzmq 4.3's sessions do; a tcp or ipc peer has a multi-producer
/// ring too, which the engine reads on the I/O thread, SNDHWM messages
/// deep). The options the thread-safe
/// sockets do not have yet (security, heartbeats, reconnect intervals)
/// keep their defaults. [`poll`](crate::poll()) takes them beside classic
/// sockets and descriptors (each type's `as_poll_item`).
///
/// With the feature `async`, each blocking send and receive has an awaited
/// twin named after it (`send_async`, `recv_bytes_async`,
/// `recv_from_async`, `send_to_async`, `recv_group_async` ...), taking
/// `&self` as the blocking calls do: any number of tasks, on any executor,
/// send and receive on one socket at once (`Client::send_async` has an
/// example).
///
/// ```
/// use std::sync::Arc;
/// use zeroring::Context;
///
/// let ctx = Context::new();
/// let server = ctx.server()?;
/// server.bind("inproc://ts-doc")?;
/// let client = Arc::new(ctx.client()?);
/// client.connect("inproc://ts-doc")?;
///
/// // Four threads share the one CLIENT.
/// let threads: Vec<_> = (0..4u8)
///     .map(|t| {
///         let client = client.clone();
///         std::thread::spawn(move || client.send([t], 0))
///     })
///     .collect();
/// for t in threads {
///     t.join().unwrap()?;
/// }
/// let mut seen = Vec::new();
/// for _ in 0..4 {
///     let (peer, msg) = server.recv_from(0)?;
///     seen.push(msg[0]);
///     server.send_to(peer, b"ack", 0)?; // back to that client
/// }
/// seen.sort();
/// assert_eq!(seen, [0, 1, 2, 3]);
/// assert_eq!(client.recv_bytes(0)?, b"ack");
/// # Ok::<(), zeroring::Error>(())
/// ```
pub struct Client {
    h: Handle,
}

socket_type!(Client);

impl Client {
    /// Sends `data` as one message to one of the peers, in turn (blocking
    /// while none can take it: no peer yet, or all at their high-water
    /// mark). `flags`: [`DONTWAIT`](crate::DONTWAIT) or 0.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] with [`SNDMORE`](crate::SNDMORE);
    /// [`Error::MessageTooLarge`] above 64 MiB; [`Error::WouldBlock`] with
    /// `DONTWAIT` or SNDTIMEO 0, [`Error::TimedOut`] when SNDTIMEO ran out;
    /// [`Error::Terminated`] after the context's shutdown.
    pub fn send<T: AsRef<[u8]>>(&self, data: T, flags: i32) -> Result<()> {
        self.h.send_lb(data.as_ref(), flags)
    }

    /// Receives the next message, from any peer.
    ///
    /// # Errors
    ///
    /// [`Error::WouldBlock`] with `DONTWAIT` or RCVTIMEO 0,
    /// [`Error::TimedOut`] when RCVTIMEO ran out, [`Error::Terminated`]
    /// after the context's shutdown.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.h.recv_bytes(flags)
    }

    /// Receives the next message into `buf`, truncating it if `buf` is
    /// shorter (as `zmq_recv`); returns the message's full length.
    ///
    /// # Errors
    ///
    /// As [`recv_bytes`](Self::recv_bytes).
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        self.h.recv_into(buf, flags)
    }
}

/// A SERVER socket (libzmq's draft `ZMQ_SERVER`), shareable by every
/// thread: see [`Client`] for how thread-safe sockets work, and
/// [`Context::server`](crate::Context::server).
pub struct Server {
    h: Handle,
}

socket_type!(Server);

impl Server {
    /// Sends `data` as one message to the peer `to` (a routing id from
    /// [`recv_from`](Self::recv_from)), blocking while its pipe is at its
    /// high-water mark. `flags`: [`DONTWAIT`](crate::DONTWAIT) or 0.
    ///
    /// # Errors
    ///
    /// [`Error::HostUnreachable`] when no connected peer has that routing
    /// id (never had, or has gone); the others as
    /// [`Client::send`].
    pub fn send_to<T: AsRef<[u8]>>(&self, to: RoutingId, data: T, flags: i32) -> Result<()> {
        let data = data.as_ref();
        self.h.check_send(data.len(), flags)?;
        let core = &self.h.core;
        core.send_loop(flags, || core.try_send_to(to.get(), data))
            .map_err(|f| f.into_error(data.len()))
    }

    /// Receives the next message from any peer, with the peer's routing id.
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes`].
    pub fn recv_from(&self, flags: i32) -> Result<(RoutingId, Vec<u8>)> {
        self.h
            .core
            .recv(flags, |id, data| (routing_id(id), data.to_vec()))
            .map_err(|f| f.into_error(0))
    }

    /// Receives the next message into `buf` (truncated if `buf` is
    /// shorter); returns the sender's routing id and the message's full
    /// length.
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes`].
    pub fn recv_from_into(&self, buf: &mut [u8], flags: i32) -> Result<(RoutingId, usize)> {
        self.h
            .core
            .recv(flags, |id, data| (routing_id(id), copy_into(buf, data)))
            .map_err(|f| f.into_error(0))
    }
}

/// A SCATTER socket (libzmq's draft `ZMQ_SCATTER`): a thread-safe PUSH.
/// Single-frame messages go round-robin to its GATHER peers, blocking at
/// their high-water marks. See [`Client`] for how thread-safe sockets work.
///
/// ```
/// let ctx = zeroring::Context::new();
/// let gather = ctx.gather()?;
/// gather.bind("inproc://scatter-doc")?;
/// let scatter = ctx.scatter()?;
/// scatter.connect("inproc://scatter-doc")?;
/// std::thread::scope(|s| {
///     for t in 0..3u8 {
///         let scatter = &scatter;
///         s.spawn(move || scatter.send([t], 0).unwrap());
///     }
/// });
/// let mut got: Vec<u8> = (0..3).map(|_| gather.recv_bytes(0).unwrap()[0]).collect();
/// got.sort();
/// assert_eq!(got, [0, 1, 2]);
/// # Ok::<(), zeroring::Error>(())
/// ```
pub struct Scatter {
    h: Handle,
}

socket_type!(Scatter);

impl Scatter {
    /// Sends `data` as one message to one of the peers, in turn; as
    /// [`Client::send`].
    ///
    /// # Errors
    ///
    /// As [`Client::send`].
    pub fn send<T: AsRef<[u8]>>(&self, data: T, flags: i32) -> Result<()> {
        self.h.send_lb(data.as_ref(), flags)
    }
}

/// A GATHER socket (libzmq's draft `ZMQ_GATHER`): a thread-safe PULL,
/// fair-queuing its SCATTER peers. See [`Scatter`].
pub struct Gather {
    h: Handle,
}

socket_type!(Gather);

impl Gather {
    /// Receives the next message, from any peer.
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes`].
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.h.recv_bytes(flags)
    }

    /// Receives the next message into `buf`, as [`Client::recv_into`].
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes`].
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        self.h.recv_into(buf, flags)
    }
}

/// The longest group name: RFC 48's, libzmq's `ZMQ_GROUP_MAX_LENGTH`
/// since 4.3.3 (15 before; a libzmq 4.3.4 DISH joins and receives longer
/// groups).
pub const GROUP_MAX_LENGTH: usize = 255;

// A group travels behind its length in one byte, in process and to the
// engine.
const _: () = assert!(GROUP_MAX_LENGTH <= u8::MAX as usize);

fn check_group(group: &[u8]) -> Result<()> {
    if group.len() > GROUP_MAX_LENGTH {
        return Err(Error::InvalidArgument("a group is at most 255 bytes"));
    }
    Ok(())
}

/// A RADIO socket (libzmq's draft `ZMQ_RADIO`): thread-safe publishing by
/// group. Each message goes to the DISH peers that joined its group
/// (filtered here, at the sender); a peer at its high-water mark misses
/// it, as a PUB's subscriber does. Never blocks.
///
/// ```
/// let ctx = zeroring::Context::new();
/// let dish = ctx.dish()?;
/// dish.bind("inproc://radio-doc")?;
/// dish.join(b"weather")?;
/// let radio = ctx.radio()?;
/// radio.connect("inproc://radio-doc")?;
/// radio.send(b"sport", "2-1", 0)?; // nobody joined: dropped
/// radio.send(b"weather", "sunny", 0)?;
/// let (group, msg) = dish.recv_group(0)?;
/// assert_eq!((&group[..], &msg[..]), (&b"weather"[..], &b"sunny"[..]));
/// # Ok::<(), zeroring::Error>(())
/// ```
pub struct Radio {
    h: Handle,
}

socket_type!(Radio);

impl Radio {
    /// Sends `data` to every peer that joined `group`. `flags`: 0 or
    /// [`DONTWAIT`](crate::DONTWAIT), the same here (a RADIO never waits).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a group over 255 bytes or with
    /// [`SNDMORE`](crate::SNDMORE); [`Error::MessageTooLarge`] when
    /// `data`, the group and a byte exceed 64 MiB (they travel together);
    /// [`Error::Terminated`] after the context's shutdown.
    pub fn send<G: AsRef<[u8]>, T: AsRef<[u8]>>(
        &self,
        group: G,
        data: T,
        flags: i32,
    ) -> Result<()> {
        let (group, data) = (group.as_ref(), data.as_ref());
        check_group(group)?;
        // The record that carries it to a peer holds the group behind its
        // length too: a tcp or ipc peer's pipe would refuse it, unseen.
        self.h.check_send(1 + group.len() + data.len(), flags)?;
        if self.h.core.ctx.is_terminated() {
            return Err(self.h.core.ctx.stopped().into_error(0));
        }
        let mut prefix = [0u8; GROUP_MAX_LENGTH + 1];
        prefix[0] = group.len() as u8;
        prefix[1..=group.len()].copy_from_slice(group);
        self.h.core.send_radio(group, &prefix[..=group.len()], data);
        Ok(())
    }
}

/// A DISH socket (libzmq's draft `ZMQ_DISH`): receives the messages of
/// the groups it joined from its RADIO peers, fair-queued. See [`Radio`].
pub struct Dish {
    h: Handle,
}

socket_type!(Dish);

impl Dish {
    /// Joins `group`: messages sent to it from now on reach this socket
    /// (from a RADIO over tcp or ipc, once the JOIN command this sends it
    /// has arrived: it filters before the wire).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a group over 255 bytes or one already
    /// joined (libzmq's EINVAL).
    pub fn join<G: AsRef<[u8]>>(&self, group: G) -> Result<()> {
        self.update(group.as_ref(), true)
    }

    /// Leaves `group`: its messages not yet received are dropped too.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a group not joined (libzmq's EINVAL).
    pub fn leave<G: AsRef<[u8]>>(&self, group: G) -> Result<()> {
        self.update(group.as_ref(), false)
    }

    fn update(&self, group: &[u8], join: bool) -> Result<()> {
        check_group(group)?;
        let core = &self.h.core;
        let _g = core.groups_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut groups = (**core.groups.load()).clone();
        let changed = if join {
            groups.insert(group.into())
        } else {
            groups.remove(group)
        };
        if !changed {
            return Err(Error::InvalidArgument(if join {
                "group already joined"
            } else {
                "group not joined"
            }));
        }
        core.groups.store(Arc::new(groups));
        core.send_join(join, group);
        Ok(())
    }

    /// Receives the next message of a joined group: `(group, data)`.
    ///
    /// # Errors
    ///
    /// As [`Client::recv_bytes`].
    pub fn recv_group(&self, flags: i32) -> Result<(Vec<u8>, Vec<u8>)> {
        let core = &self.h.core;
        loop {
            let got = core
                .recv(flags, |_, m| of_joined_group(core, m))
                .map_err(|f| f.into_error(0))?;
            if let Some(got) = got {
                return Ok(got);
            }
        }
    }
}

/// A DISH's message as `(group, data)`; `None` for one of a group left
/// while it travelled.
fn of_joined_group(core: &Core, m: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let len = m[0] as usize;
    let group = &m[1..=len];
    core.groups
        .load()
        .contains(group)
        .then(|| (group.to_vec(), m[1 + len..].to_vec()))
}
