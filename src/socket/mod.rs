//! The socket API, shaped like the `zmq` crate's so porting is mechanical.

mod core;
pub(crate) mod options;
#[cfg(not(loom))]
mod readiness;
mod routing_options;
mod security;
#[cfg(all(not(loom), feature = "async"))]
mod task;

#[cfg_attr(loom, allow(unused_imports))]
pub(crate) use options::NetOptions;
pub use options::{WaitStrategy, DEFAULT_RING_CAPACITY};

#[cfg(not(loom))]
pub(crate) use self::core::tcp_desc;
use self::core::Core;
use crate::error::{Error, Result};
use crate::monitor;
use crate::pattern::{In, Pattern, Slot};
use crate::pipe::{Doorbell, PipeEnd};
use crate::transport::{self, Endpoint};
use crate::{Context, SocketType};
use crossbeam_utils::CachePadded;
use std::cell::{RefCell, RefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Don't block: fail with [`Error::WouldBlock`] instead (`ZMQ_DONTWAIT`).
pub const DONTWAIT: i32 = 1;
/// More frames of this message follow (`ZMQ_SNDMORE`).
pub const SNDMORE: i32 = 2;

/// A pipe on its way to a socket, from another thread (a connect to its bind).
pub(crate) struct NewPipe {
    pub end: PipeEnd,
    pub endpoint: Arc<str>,
    /// The I/O thread's end of the pipe this one carries on for (an ipc
    /// connection that came up in shared memory): everything the socket
    /// queued there has moved into `end`.
    pub replaces: Option<PipeEnd>,
    /// A thread-safe socket's half of the ring the connection's engine
    /// sends from (see `threadsafe::remote`).
    #[cfg(not(loom))]
    pub sending: Option<Box<crate::threadsafe::Sending>>,
}

/// The part of a socket other threads reach: its doorbell and its mailbox.
pub(crate) struct SocketShared {
    pub bell: Arc<Doorbell>,
    /// The segment `bell` lives in, for ipc peers in other processes to
    /// map; `None` where there is none (the bell is then process-local).
    #[cfg(not(loom))]
    pub bell_fd: Option<std::os::fd::OwnedFd>,
    /// Where the socket's events go, from its thread and the I/O thread.
    pub monitor: crate::monitor::MonitorSlot,
    /// The pool large frames go in: to ipc peers, and in-process those too
    /// large for a ring. Made on first use.
    #[cfg(not(loom))]
    chunk_pool: crate::transport::ipc::pool::PoolSlot,
    /// Pipes handed to the socket, until it takes them; `None` once the
    /// socket is closed (a pipe then goes at once, telling its I/O thread).
    mail: Mutex<Option<Vec<NewPipe>>>,
    /// A thread-safe socket's peers that came up in shared memory (ipc),
    /// until it takes them; announced by `has_mail` too.
    #[cfg(not(loom))]
    shared_mail: Mutex<Vec<crate::threadsafe::SharedPeer>>,
    has_mail: AtomicBool,
}

impl SocketShared {
    pub(crate) fn new() -> Self {
        // Every socket's doorbell is in shared memory of its own, so any
        // ipc peer can be handed it; this costs a descriptor, as libzmq's
        // per-socket mailbox does.
        #[cfg(not(loom))]
        let (bell, bell_fd) = match crate::transport::ipc::shm::socket_bell() {
            Some((bell, fd)) => (bell, Some(fd)),
            None => (Doorbell::new(), None),
        };
        #[cfg(loom)]
        let bell = Doorbell::new();
        Self {
            bell: Arc::new(bell),
            #[cfg(not(loom))]
            bell_fd,
            monitor: Default::default(),
            #[cfg(not(loom))]
            chunk_pool: Default::default(),
            mail: Mutex::new(Some(Vec::new())),
            #[cfg(not(loom))]
            shared_mail: Mutex::default(),
            has_mail: AtomicBool::new(false),
        }
    }

    /// The socket's chunk pool, made now if it is the first call.
    #[cfg(not(loom))]
    pub fn chunk_pool(&self) -> Option<&Arc<crate::transport::ipc::pool::ChunkPool>> {
        self.chunk_pool.get_or_make()
    }

    /// The socket's chunk pool, if it has made one.
    #[cfg(not(loom))]
    pub fn existing_chunk_pool(&self) -> Option<&Arc<crate::transport::ipc::pool::ChunkPool>> {
        self.chunk_pool.existing()
    }

    /// Where the socket's pipes find its chunk pool.
    #[cfg(not(loom))]
    pub fn pool_slot(&self) -> crate::transport::ipc::pool::PoolSlot {
        self.chunk_pool.clone()
    }

    /// Hands a pipe to the socket and wakes it.
    pub fn deliver(&self, np: NewPipe) {
        let mut mail = self.mail.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mail) = mail.as_mut() else {
            // Closed: dropping the pipe tells the I/O thread that it may
            // close the connection (its socket holds our Arc no more).
            return;
        };
        mail.push(np);
        self.nudge();
    }

    /// The socket is closing: pipes still in the mail go now, and any that
    /// come later at once. (Engines hold this struct: a pipe left here
    /// would keep its connection open for ever.)
    fn close_mail(&self) {
        let mail = self.mail.lock().unwrap_or_else(|e| e.into_inner()).take();
        drop(mail);
    }

    /// Has the socket look at its mail and pipes at its next call (a pipe
    /// of it is being handed over), as new mail does.
    pub fn nudge(&self) {
        self.has_mail.store(true, Ordering::Release);
        // Strong: the socket may sleep knowing only strong writers, and a
        // new pipe's may not be.
        self.bell.ring_from(true);
    }

    #[inline]
    pub(crate) fn has_mail(&self) -> bool {
        self.has_mail.load(Ordering::Relaxed)
    }

    /// Hands a thread-safe socket a peer that came up in shared memory,
    /// and wakes it.
    #[cfg(not(loom))]
    pub fn deliver_shared(&self, peer: crate::threadsafe::SharedPeer) {
        self.shared_mail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(peer);
        self.nudge();
    }

    /// The peers [`deliver_shared`](Self::deliver_shared) handed over
    /// since the last call. Take after [`take_mail`](Self::take_mail),
    /// whose swap of `has_mail` covers these too.
    #[cfg(not(loom))]
    pub(crate) fn take_shared_mail(&self) -> Vec<crate::threadsafe::SharedPeer> {
        std::mem::take(&mut *self.shared_mail.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn take_mail(&self) -> Vec<NewPipe> {
        let mut mail = self.mail.lock().unwrap_or_else(|e| e.into_inner());
        // A swap: a nudge it takes in (see `nudge`) must show what came
        // before it.
        self.has_mail.swap(false, Ordering::Acquire);
        mail.as_mut().map(std::mem::take).unwrap_or_default()
    }
}

/// A ZeroMQ socket.
///
/// Like libzmq's, a socket is `Send` but not `Sync`: move it to the thread
/// that uses it. Sharing one between threads does not compile:
///
/// ```compile_fail
/// fn shared<T: Sync>(_: &T) {}
/// let ctx = zeroring::Context::new();
/// shared(&ctx.socket(zeroring::SocketType::Push).unwrap());
/// ```
/// Methods take `&self`, as in the `zmq` crate; a
/// [`Frame`] or [`Loan`] borrows the socket until it is dropped or sent, and
/// any call made meanwhile fails with [`Error::WrongState`].
///
/// ```
/// use zeroring::{Context, SocketType, SNDMORE};
/// let ctx = Context::new();
/// let a = ctx.socket(SocketType::Pair).unwrap();
/// let b = ctx.socket(SocketType::Pair).unwrap();
/// a.bind("inproc://doc-socket").unwrap();
/// b.connect("inproc://doc-socket").unwrap();
/// b.send("key", SNDMORE).unwrap();
/// b.send("value", 0).unwrap();
/// assert_eq!(a.recv_multipart(0).unwrap(), vec![b"key".to_vec(), b"value".to_vec()]);
/// ```
pub struct Socket {
    shared: Arc<SocketShared>,
    /// Padded: its borrow flag and cursors change on every call.
    core: CachePadded<RefCell<Core>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.core.try_borrow() {
            Ok(c) => f
                .debug_struct("Socket")
                .field("type", &c.kind)
                .field("pipes", &c.io.pipes.len())
                .finish(),
            Err(_) => f.write_str("Socket { <in use> }"),
        }
    }
}

macro_rules! int_option {
    ($(#[$doc:meta])* $field:ident, $set:ident, $get:ident, $min:expr) => {
        $(#[$doc])*
        ///
        /// # Errors
        ///
        #[doc = concat!("[`Error::InvalidArgument`] for a value below ", stringify!($min), ";")]
        /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
        /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
        pub fn $set(&self, value: i32) -> Result<()> {
            if value < $min {
                return Err(Error::InvalidArgument(concat!(stringify!($field), " out of range")));
            }
            self.core()?.opts.$field = value;
            Ok(())
        }
        #[doc = concat!("The current `", stringify!($field), "` option.")]
        ///
        /// # Errors
        ///
        /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
        /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
        pub fn $get(&self) -> Result<i32> {
            Ok(self.core()?.opts.$field)
        }
    };
}

macro_rules! bool_option {
    ($(#[$doc:meta])* $field:ident, $set:ident, $get:ident) => {
        $(#[$doc])*
        ///
        /// # Errors
        ///
        /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
        /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
        pub fn $set(&self, on: bool) -> Result<()> {
            self.core()?.io.opts.$field = on;
            Ok(())
        }
        #[doc = concat!("The current `", stringify!($field), "` option.")]
        ///
        /// # Errors
        ///
        /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
        /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
        pub fn $get(&self) -> Result<bool> {
            Ok(self.core()?.io.opts.$field)
        }
    };
}

#[cfg(not(loom))]
mod connection_options;
mod net_options;
mod tcp_options;

impl Socket {
    pub(crate) fn new(ctx: Context, kind: SocketType, id: u64) -> Result<Self> {
        let pattern = Pattern::of(kind).ok_or(Error::NotSupported)?;
        let core = Core::new(ctx, kind, pattern, id);
        Ok(Self {
            shared: core.shared.clone(),
            core: CachePadded::new(RefCell::new(core)),
        })
    }

    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    /// Why the socket's context no longer works, if it does not.
    #[cfg(not(loom))]
    pub(crate) fn context_stopped(&self) -> Option<Error> {
        let c = self.core.try_borrow().ok()?;
        c.ctx.is_terminated().then(|| c.ctx.stopped().into_error(0))
    }

    #[inline]
    pub(crate) fn core(&self) -> Result<RefMut<'_, Core>> {
        self.core.try_borrow_mut().map_err(|_| Error::WrongState)
    }

    /// The core, for operations that fail once the context is shut down
    /// (send and receive check on their own, in their blocking loop).
    fn live_core(&self) -> Result<RefMut<'_, Core>> {
        let core = self.core()?;
        if core.ctx.is_terminated() {
            return Err(core.ctx.stopped().into_error(0));
        }
        Ok(core)
    }

    /// This socket's type.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_socket_type(&self) -> Result<SocketType> {
        Ok(self.core()?.kind)
    }

    /// Accepts connections on `endpoint`: `inproc://name`,
    /// `ipc:///path` or `ipc://@abstract-name`, or `tcp://host:port` where
    /// host is `*` (every interface: IPv4 only unless
    /// [`set_ipv6`](Self::set_ipv6)), an IP address (`[...]` for IPv6) or a
    /// name resolved now, and port is a number or `*`/`0` for an ephemeral
    /// one ([`get_last_endpoint`](Self::get_last_endpoint) tells which).
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidEndpoint`]: `endpoint` is malformed (no
    ///   `transport://`, an unknown transport, a bad address or port, an IPv6
    ///   address without [`set_ipv6`](Self::set_ipv6), a host name that does
    ///   not resolve).
    /// - [`Error::TransportNotSupported`]: a transport zeroring does not carry
    ///   (`pgm://`, `ws://` ...), or `inproc://` for a STREAM socket.
    /// - [`Error::AddrInUse`]: the endpoint is bound already (an inproc name by
    ///   a socket of this context, a tcp port or ipc path by anyone).
    /// - [`Error::Io`]: the OS refused (an address not on this host, a
    ///   directory we may not write), or the I/O thread could not start.
    /// - [`Error::Terminated`] once the context is shut down, or
    ///   [`Error::IoThreadDied`] once its I/O thread died.
    /// - [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    ///   alive (it holds the socket).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let parsed = transport::parse(endpoint)?;
        let mut c = self.live_core()?;
        match parsed {
            Endpoint::Inproc(_) if c.kind == SocketType::Stream => {
                return Err(Error::TransportNotSupported(endpoint.to_owned()))
            }
            Endpoint::Inproc(name) => {
                let parked = c.ctx.inner.clone().inproc.bind(&name, &c.peer_desc())?;
                let endpoint: Arc<str> = endpoint.into();
                for end in parked {
                    c.attach(NewPipe {
                        end,
                        endpoint: endpoint.clone(),
                        replaces: None,
                        #[cfg(not(loom))]
                        sending: None,
                    });
                }
                c.last_endpoint = endpoint.to_string();
                // Parked pipes may hold messages already.
                c.refresh_fd();
            }
            #[cfg(not(loom))]
            Endpoint::Tcp(address) => {
                let addr = transport::tcp::bind_address(endpoint, &address, c.opts.ipv6)?;
                let io = c.io_thread()?;
                let use_fd = (c.opts.use_fd >= 0).then_some(c.opts.use_fd);
                let filters = c.opts.tcp_accept_filters.clone();
                let (local, fd) =
                    transport::tcp::bind(&io, endpoint, addr, c.tcp_desc(), use_fd, filters)?;
                c.last_endpoint = format!("tcp://{local}");
                c.tcp_bound.push((endpoint.to_owned(), local, fd));
            }
            #[cfg(not(loom))]
            Endpoint::Ipc(address) => {
                let addr = transport::ipc::IpcAddr::parse(endpoint, &address)?;
                if c.ipc_bound.iter().any(|(e, _, _)| e == endpoint) {
                    return Err(Error::AddrInUse(endpoint.to_owned()));
                }
                let io = c.io_thread()?;
                let use_fd = (c.opts.use_fd >= 0).then_some(c.opts.use_fd);
                let (file, fd) = transport::ipc::bind(
                    &io,
                    endpoint,
                    &addr,
                    c.tcp_desc(),
                    &c.opts.ipc_filters,
                    use_fd,
                )?;
                c.last_endpoint = endpoint.to_owned();
                c.ipc_bound.push((endpoint.to_owned(), file, fd));
            }
            #[cfg(loom)]
            Endpoint::Tcp(_) | Endpoint::Ipc(_) => {
                return Err(Error::TransportNotSupported(endpoint.to_owned()))
            }
        }
        Ok(())
    }

    /// Connects to `endpoint`. The peer need not be bound yet: the connection
    /// completes when it binds (inproc) or comes up (tcp, retried every
    /// RECONNECT_IVL), and messages sent meanwhile wait in the pipe.
    ///
    /// tcp endpoints are `tcp://[source;]host:port`: host is an IP address
    /// (`[...]` for IPv6, with [`set_ipv6`](Self::set_ipv6)) or a name,
    /// resolved at each connection attempt off the caller's thread; source,
    /// an interface name or an IP with a port (`*`/`0` for any), is where
    /// connections come from. As in libzmq, only the address's form is
    /// checked here: one that cannot work (an unknown name, an IPv6
    /// address without [`set_ipv6`](Self::set_ipv6), a source that is no
    /// interface or IP) fails each attempt, retried every RECONNECT_IVL.
    ///
    /// As in libzmq, an inproc connection does not check that the two socket
    /// types go together (a PAIR may connect to a PULL); over tcp and ipc the
    /// ZMTP handshake does, and the [monitor](Self::monitor) reports a
    /// mismatch.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidEndpoint`]: `endpoint` is malformed (no
    ///   `transport://`, an unknown transport, a tcp address with other
    ///   characters than letters, digits and `.-:%;[]_*`, or whose port
    ///   does not start with a digit).
    /// - [`Error::TransportNotSupported`]: a transport zeroring does not carry
    ///   (`pgm://`, `ws://` ...), or `inproc://` for a STREAM socket.
    /// - [`Error::Io`]: the I/O thread could not start.
    /// - [`Error::Terminated`] once the context is shut down, or
    ///   [`Error::IoThreadDied`] once its I/O thread died.
    /// - [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    ///   alive (it holds the socket).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let parsed = transport::parse(endpoint)?;
        let mut c = self.live_core()?;
        match parsed {
            Endpoint::Inproc(_) if c.kind == SocketType::Stream => {
                return Err(Error::TransportNotSupported(endpoint.to_owned()))
            }
            Endpoint::Inproc(name) => {
                let end = c.ctx.inner.clone().inproc.connect(&name, &c.peer_desc())?;
                let given_id = c.take_connect_routing_id();
                let np = NewPipe {
                    end,
                    endpoint: endpoint.into(),
                    replaces: None,
                    #[cfg(not(loom))]
                    sending: None,
                };
                c.attach_as(np, given_id);
                c.refresh_fd();
            }
            #[cfg(not(loom))]
            Endpoint::Tcp(address) => {
                // Only checked here: names are resolved by the connecter.
                let mut addr = transport::tcp::connect_address(endpoint, &address, c.opts.ipv6)?;
                if !c.opts.socks_proxy.is_empty() {
                    // Through the proxy, which resolves the destination.
                    let dest = transport::tcp::SocksDest::parse(&address).ok_or_else(|| {
                        Error::InvalidEndpoint {
                            endpoint: endpoint.to_owned(),
                            reason: "no destination a SOCKS proxy can be asked for",
                        }
                    })?;
                    let proxy = c.opts.socks_proxy.clone();
                    addr = transport::tcp::connect_address(endpoint, &proxy, c.opts.ipv6)?;
                    addr.socks = Some(dest);
                }
                let io = c.io_thread()?;
                let given_id = c.take_connect_routing_id();
                let theirs = c.io_thread_pipe(endpoint, given_id);
                transport::tcp::connect(&io, addr, theirs, None, c.tcp_desc(), endpoint.to_owned());
            }
            #[cfg(not(loom))]
            Endpoint::Ipc(address) => {
                let addr = transport::ipc::IpcAddr::parse(endpoint, &address)?;
                let io = c.io_thread()?;
                // A pipe to the I/O thread at once, as for tcp, so that
                // messages queue before the connection is up (as libzmq's
                // do); when the peer is zeroring, a pipe in shared memory
                // takes over from it and carries what was queued.
                let given_id = c.take_connect_routing_id();
                let theirs = c.io_thread_pipe(endpoint, given_id);
                io.connect(
                    transport::stream::Target::Ipc(addr),
                    Some(theirs),
                    None,
                    c.tcp_desc(),
                    endpoint.to_owned(),
                );
                c.ipc_connected.push(endpoint.to_owned());
            }
            #[cfg(loom)]
            Endpoint::Tcp(_) | Endpoint::Ipc(_) => {
                return Err(Error::TransportNotSupported(endpoint.to_owned()))
            }
        }
        c.last_endpoint = endpoint.to_owned();
        Ok(())
    }

    /// Stops accepting on `endpoint` and closes the connections it accepted.
    /// On return the port (tcp) or path (ipc) is free for another bind: the
    /// listener is closed, where libzmq's closes a moment later.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidEndpoint`]: `endpoint` is malformed.
    /// - [`Error::EndpointNotFound`]: this socket is not bound to `endpoint`
    ///   (tcp: as given to `bind`, or as
    ///   [`get_last_endpoint`](Self::get_last_endpoint) reported it).
    /// - [`Error::Terminated`] once the context is shut down, or
    ///   [`Error::IoThreadDied`] once its I/O thread died.
    /// - [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    ///   alive (it holds the socket).
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        let parsed = transport::parse(endpoint)?;
        let mut c = self.live_core()?;
        match parsed {
            Endpoint::Inproc(name) => {
                c.ctx.inner.clone().inproc.unbind(&name, c.id)?;
                c.close_endpoint(endpoint);
            }
            #[cfg(not(loom))]
            Endpoint::Tcp(_) => {
                let Some(i) = c.tcp_bound.iter().position(|(e, local, _)| {
                    e == endpoint || format!("tcp://{local}") == endpoint
                }) else {
                    return Err(Error::EndpointNotFound(endpoint.to_owned()));
                };
                let (bound_as, local, fd) = c.tcp_bound.remove(i);
                let local = format!("tcp://{local}");
                c.io_thread()?.unbind_and_wait(c.id, local.clone());
                self.shared
                    .monitor
                    .emit(monitor::EVENT_CLOSED, fd as u32, &local);
                c.close_endpoint(&local);
                c.close_endpoint(&bound_as);
            }
            #[cfg(not(loom))]
            Endpoint::Ipc(_) => {
                let Some(i) = c.ipc_bound.iter().position(|(e, _, _)| e == endpoint) else {
                    return Err(Error::EndpointNotFound(endpoint.to_owned()));
                };
                let (bound_as, file, fd) = c.ipc_bound.remove(i);
                c.io_thread()?.unbind_and_wait(c.id, bound_as.clone());
                if let Some(file) = file {
                    file.remove();
                }
                self.shared
                    .monitor
                    .emit(monitor::EVENT_CLOSED, fd as u32, &bound_as);
                c.close_endpoint(&bound_as);
            }
            #[cfg(loom)]
            Endpoint::Tcp(_) | Endpoint::Ipc(_) => {
                return Err(Error::EndpointNotFound(endpoint.to_owned()))
            }
        }
        Ok(())
    }

    /// Closes the connection made by `connect(endpoint)`.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidEndpoint`]: `endpoint` is malformed.
    /// - [`Error::EndpointNotFound`]: this socket has no connection made by
    ///   `connect(endpoint)`.
    /// - [`Error::Terminated`] once the context is shut down, or
    ///   [`Error::IoThreadDied`] once its I/O thread died.
    /// - [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    ///   alive (it holds the socket).
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        let parsed = transport::parse(endpoint)?;
        let mut c = self.live_core()?;
        let parked = match parsed {
            Endpoint::Inproc(name) => c.ctx.inner.clone().inproc.unpark(&name, c.id),
            Endpoint::Tcp(_) => false,
            #[cfg(not(loom))]
            Endpoint::Ipc(_) => match c.ipc_connected.iter().position(|e| e == endpoint) {
                Some(i) => {
                    c.ipc_connected.remove(i);
                    c.io_thread()?.forget(c.id, Some(endpoint.to_owned()));
                    true
                }
                None => false,
            },
            #[cfg(loom)]
            Endpoint::Ipc(_) => false,
        };
        if c.close_endpoint(endpoint) || parked {
            c.refresh_fd();
            Ok(())
        } else {
            Err(Error::EndpointNotFound(endpoint.to_owned()))
        }
    }

    /// Starts a socket monitor, as `zmq_socket_monitor`: binds an internal
    /// PAIR socket on `endpoint` (`inproc://` only) that sends a two-frame
    /// message for each event in the `events` mask (`EVENT_*` values of
    /// [`monitor`](crate::monitor), [`monitor::EVENT_ALL`](crate::monitor::EVENT_ALL) for all). Connect a PAIR socket to
    /// `endpoint` to read them, raw or with [`MonitorEvent`](crate::MonitorEvent).
    /// A monitor already running is stopped first (it sends MONITOR_STOPPED).
    ///
    /// Events never block the socket or the I/O thread: one that finds the
    /// monitor's pipe full, or nobody connected to `endpoint`, is dropped.
    /// See the [`monitor`](crate::monitor) module for an example.
    ///
    /// # Errors
    ///
    /// - [`Error::InvalidArgument`]: `events` is not a 16-bit mask of
    ///   `EVENT_*` values.
    /// - [`Error::TransportNotSupported`]: `endpoint` is not `inproc://`;
    ///   [`Error::InvalidEndpoint`]: it is malformed.
    /// - [`Error::AddrInUse`]: another socket of the context is bound to
    ///   `endpoint`.
    /// - [`Error::Terminated`] once the context is shut down, or
    ///   [`Error::IoThreadDied`] once its I/O thread died.
    /// - [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    ///   alive (it holds the socket).
    pub fn monitor(&self, endpoint: &str, events: i32) -> Result<()> {
        monitor::check_args(endpoint, events)?;
        let ctx = self.live_core()?.ctx.clone();
        self.shared.monitor.stop();
        let pair = ctx.socket(SocketType::Pair)?;
        // As libzmq's: unread events never hold up closing.
        pair.set_linger(0)?;
        pair.bind(endpoint)?;
        self.shared.monitor.start(pair, events);
        Ok(())
    }

    /// Stops the socket monitor (`zmq_socket_monitor` with a null
    /// endpoint): it sends MONITOR_STOPPED, if asked for, and unbinds its
    /// endpoint. Without a monitor, does nothing.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn monitor_stop(&self) -> Result<()> {
        self.core()?;
        self.shared.monitor.stop();
        Ok(())
    }

    /// Sends one frame; with [`SNDMORE`] in `flags`, more frames of the same
    /// message follow. The message becomes visible to the peer whole, when
    /// its last frame is sent.
    ///
    /// A frame over 64 MiB (the largest chunk of the socket's pool) is
    /// [`Error::MessageTooLarge`] on every socket type and transport, with
    /// or without [`DONTWAIT`]: no peer sees any of its message, and the
    /// frames still to come of that message are dropped.
    ///
    /// # Errors
    ///
    /// - [`Error::WouldBlock`]: no peer can take the frame now, and `flags`
    ///   has [`DONTWAIT`] or SNDTIMEO is 0; [`Error::TimedOut`]: SNDTIMEO ran
    ///   out first.
    /// - [`Error::MessageTooLarge`]: the frame is over 64 MiB, or over what the
    ///   pipe it goes into can carry.
    /// - [`Error::NotSupported`]: the socket type does not send (PULL, SUB).
    /// - [`Error::WrongState`]: out of turn (a REQ's second request before the
    ///   reply, a REP's reply before a request), or a [`Frame`] or [`Loan`] of
    ///   this socket is alive.
    /// - [`Error::HostUnreachable`]: a ROUTER with ROUTER_MANDATORY, or a
    ///   STREAM, given a routing id no peer has.
    /// - [`Error::Interrupted`]: a signal handler ran while the call blocked.
    /// - [`Error::Terminated`] or [`Error::IoThreadDied`]: the context is shut
    ///   down or its I/O thread died.
    #[inline(always)]
    pub fn send<T: AsRef<[u8]>>(&self, data: T, flags: i32) -> Result<()> {
        let data = data.as_ref();
        let mut c = self.core()?;
        let sent = c.send_frame(data, flags & SNDMORE != 0, flags);
        c.refresh_fd();
        sent.map_err(|f| f.into_error(data.len()))
    }

    /// Sends a whole message, atomically: either every frame is queued, or
    /// (on would-block, timeout or error) none is and the error is returned.
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send), for the frame that failed; none of the
    /// message is sent then. Also [`Error::WrongState`] while a message begun
    /// with [`SNDMORE`] is unfinished.
    pub fn send_multipart<I, T>(&self, frames: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut c = self.core()?;
        if c.sending {
            return Err(Error::WrongState);
        }
        let mut frames = frames.into_iter().peekable();
        while let Some(frame) = frames.next() {
            let more = frames.peek().is_some();
            let frame = frame.as_ref();
            if let Err(f) = c.send_frame(frame, more, flags) {
                c.abort_message();
                c.refresh_fd();
                return Err(f.into_error(frame.len()));
            }
        }
        c.refresh_fd();
        Ok(())
    }

    /// Lends `len` bytes of room inside the pipe for the next frame, to be
    /// written in place and sent with [`Loan::send`] without a copy. `flags`
    /// are the frame's, as for [`send`](Self::send) ([`SNDMORE`], [`DONTWAIT`]);
    /// it blocks like `send` until there is a peer with room. A `len` over
    /// the largest frame a socket sends (64 MiB) is
    /// [`Error::MessageTooLarge`] at once, as `send` of such a frame is,
    /// and abandons the message it was part of.
    ///
    /// ```
    /// # use zeroring::{Context, SocketType};
    /// # let ctx = Context::new();
    /// # let pull = ctx.socket(SocketType::Pull).unwrap();
    /// # let push = ctx.socket(SocketType::Push).unwrap();
    /// # pull.bind("inproc://doc-loan").unwrap();
    /// # push.connect("inproc://doc-loan").unwrap();
    /// let mut buf = push.loan(4, 0).unwrap();
    /// buf.copy_from_slice(&7u32.to_le_bytes());
    /// buf.send().unwrap();
    /// let frame = pull.recv_frame(0).unwrap();
    /// assert_eq!(&*frame, &7u32.to_le_bytes());
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`send`](Self::send), here rather than at [`Loan::send`]: no
    /// room in time ([`Error::WouldBlock`], [`Error::TimedOut`]), `len` over
    /// 64 MiB ([`Error::MessageTooLarge`]), a socket type that does not send,
    /// out of turn, a signal, a stopped context.
    pub fn loan(&self, len: usize, flags: i32) -> Result<Loan<'_>> {
        let mut core = self.core()?;
        let more = flags & SNDMORE != 0;
        let slot = core
            .reserve(len, more, flags)
            .map_err(|f| f.into_error(len))?;
        let ptr = match slot {
            Slot::Pipe(key) => core.io.reserved(key as usize).as_mut_ptr(),
            Slot::Scratch | Slot::Discard => std::ptr::null_mut(),
        };
        // A fan-out (PUB) to ipc peers: the frame goes into a chunk that
        // every subscriber's pipe then shares.
        #[cfg(not(loom))]
        let chunk = match slot {
            Slot::Scratch if len > crate::transport::ipc::pool::CHUNK_MIN => self
                .shared
                .existing_chunk_pool()
                .and_then(|p| p.alloc(len).ok().flatten()),
            _ => None,
        };
        #[cfg(not(loom))]
        let ptr = match &chunk {
            Some(c) => c.bytes().as_ptr().cast_mut(),
            None => ptr,
        };
        let scratch = if ptr.is_null() {
            vec![0; len]
        } else {
            Vec::new()
        };
        Ok(Loan {
            core,
            slot,
            ptr,
            len,
            scratch,
            more,
            flags,
            #[cfg(not(loom))]
            chunk,
        })
    }

    /// Receives one frame as a new `Vec`.
    ///
    /// # Errors
    ///
    /// - [`Error::WouldBlock`]: nothing to receive now, and `flags` has
    ///   [`DONTWAIT`] or RCVTIMEO is 0; [`Error::TimedOut`]: RCVTIMEO ran out
    ///   first.
    /// - [`Error::NotSupported`]: the socket type does not receive (PUSH, PUB).
    /// - [`Error::WrongState`]: out of turn (a REQ before it sent its request,
    ///   a REP before it sent its reply), or a [`Frame`] or [`Loan`] of this
    ///   socket is alive.
    /// - [`Error::Interrupted`]: a signal handler ran while the call blocked.
    /// - [`Error::Terminated`] or [`Error::IoThreadDied`]: the context is shut
    ///   down or its I/O thread died.
    #[inline]
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        let mut c = self.core()?;
        let got = c.recv_with(flags, |data: &[u8]| data.to_vec());
        c.refresh_fd();
        got.map_err(|f| f.into_error(0))
    }

    /// Receives one frame into `buf` and returns the frame's full size; as
    /// with `zmq_recv`, a frame longer than `buf` is truncated.
    ///
    /// # Errors
    ///
    /// - [`Error::WouldBlock`]: nothing to receive now, and `flags` has
    ///   [`DONTWAIT`] or RCVTIMEO is 0; [`Error::TimedOut`]: RCVTIMEO ran out
    ///   first.
    /// - [`Error::NotSupported`]: the socket type does not receive (PUSH, PUB).
    /// - [`Error::WrongState`]: out of turn (a REQ before it sent its request,
    ///   a REP before it sent its reply), or a [`Frame`] or [`Loan`] of this
    ///   socket is alive.
    /// - [`Error::Interrupted`]: a signal handler ran while the call blocked.
    /// - [`Error::Terminated`] or [`Error::IoThreadDied`]: the context is shut
    ///   down or its I/O thread died.
    #[inline(always)]
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        let mut c = self.core()?;
        let got = c.recv_with(
            flags,
            #[inline(always)]
            |data: &[u8]| {
                let n = data.len().min(buf.len());
                crate::copy::copy(&mut buf[..n], &data[..n]);
                data.len()
            },
        );
        c.refresh_fd();
        got.map_err(|f| f.into_error(0))
    }

    /// Receives the rest of a message (all of it, unless frames of it were
    /// already received one by one).
    ///
    /// # Errors
    ///
    /// - [`Error::WouldBlock`]: nothing to receive now, and `flags` has
    ///   [`DONTWAIT`] or RCVTIMEO is 0; [`Error::TimedOut`]: RCVTIMEO ran out
    ///   first.
    /// - [`Error::NotSupported`]: the socket type does not receive (PUSH, PUB).
    /// - [`Error::WrongState`]: out of turn (a REQ before it sent its request,
    ///   a REP before it sent its reply), or a [`Frame`] or [`Loan`] of this
    ///   socket is alive.
    /// - [`Error::Interrupted`]: a signal handler ran while the call blocked.
    /// - [`Error::Terminated`] or [`Error::IoThreadDied`]: the context is shut
    ///   down or its I/O thread died.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut c = self.core()?;
        let mut frames = Vec::new();
        loop {
            let frame = match c.next_frame(flags) {
                Ok(frame) => frame,
                Err(f) => {
                    c.refresh_fd();
                    return Err(f.into_error(0));
                }
            };
            frames.push(c.payload(&frame).to_vec());
            c.consume(frame);
            if !frame.more() {
                c.refresh_fd();
                return Ok(frames);
            }
        }
    }

    /// Receives one frame without copying it: the [`Frame`] borrows its bytes
    /// in the pipe and gives them back when dropped.
    ///
    /// # Errors
    ///
    /// - [`Error::WouldBlock`]: nothing to receive now, and `flags` has
    ///   [`DONTWAIT`] or RCVTIMEO is 0; [`Error::TimedOut`]: RCVTIMEO ran out
    ///   first.
    /// - [`Error::NotSupported`]: the socket type does not receive (PUSH, PUB).
    /// - [`Error::WrongState`]: out of turn (a REQ before it sent its request,
    ///   a REP before it sent its reply), or a [`Frame`] or [`Loan`] of this
    ///   socket is alive.
    /// - [`Error::Interrupted`]: a signal handler ran while the call blocked.
    /// - [`Error::Terminated`] or [`Error::IoThreadDied`]: the context is shut
    ///   down or its I/O thread died.
    #[inline]
    pub fn recv_frame(&self, flags: i32) -> Result<Frame<'_>> {
        let mut core = self.core()?;
        match core.next_frame(flags) {
            Ok(frame) => Ok(Frame { core, frame }),
            Err(f) => {
                core.refresh_fd();
                Err(f.into_error(0))
            }
        }
    }

    /// Receives one frame, hands its bytes in place to `read`, and sets
    /// `props` to the properties of the connection it came on (see
    /// [`Frame::properties_into`]: untouched when it already holds them).
    /// Returns what `read` returned and whether more frames of the message
    /// follow. The way [`recv_into`](Self::recv_into) receives, for a
    /// caller that keeps frames in a type of its own (a binding's message)
    /// and wants their properties too, as libzmq's `zmq_msg_recv` gives
    /// them.
    ///
    /// ```
    /// # fn main() -> Result<(), zeroring::Error> {
    /// let ctx = zeroring::Context::new();
    /// let pull = ctx.socket(zeroring::SocketType::Pull)?;
    /// pull.bind("inproc://recv-with-properties")?;
    /// let push = ctx.socket(zeroring::SocketType::Push)?;
    /// push.connect("inproc://recv-with-properties")?;
    /// push.send(b"hello", 0)?;
    /// let mut props = None;
    /// let (bytes, more) = pull.recv_with_properties(0, &mut props, |data| data.to_vec())?;
    /// assert_eq!((&bytes[..], more), (&b"hello"[..], false));
    /// assert!(props.is_none(), "inproc peers have none");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`recv_frame`](Self::recv_frame).
    #[cfg(not(loom))]
    #[inline(always)]
    pub fn recv_with_properties<R>(
        &self,
        flags: i32,
        props: &mut Option<Properties>,
        read: impl FnMut(&[u8]) -> R,
    ) -> Result<(R, bool)> {
        /// `read`, and the frame's properties into `props`, taken while
        /// the pattern has the frame's pipe in hand.
        struct WithProperties<'a, F> {
            read: F,
            props: &'a mut Option<Properties>,
        }
        impl<R, F: FnMut(&[u8]) -> R> crate::pattern::ReadFrame<R> for WithProperties<'_, F> {
            const PROPERTIES: bool = true;
            #[inline(always)]
            fn read(&mut self, data: &[u8]) -> R {
                (self.read)(data)
            }
            #[inline(always)]
            fn properties(&mut self, end: Option<&mut crate::pipe::PipeEnd>) {
                Properties::set(self.props, end.and_then(|end| end.metadata()));
            }
        }
        let mut c = self.core()?;
        let got = c.recv_with(flags, WithProperties { read, props });
        c.refresh_fd();
        let more = c.rcvmore;
        got.map(|r| (r, more)).map_err(|f| f.into_error(0))
    }

    /// Whether the last frame received has more frames after it (`ZMQ_RCVMORE`).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_rcvmore(&self) -> Result<bool> {
        Ok(self.core()?.rcvmore)
    }

    /// The last endpoint bound or connected (`ZMQ_LAST_ENDPOINT`). The
    /// inner `Result` is the `zmq` crate's (`Err` for bytes that are not
    /// UTF-8); zeroring's endpoints always are, so it is always `Ok`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_last_endpoint(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        Ok(Ok(self.core()?.last_endpoint.clone()))
    }

    /// Outbound high-water mark in messages (`ZMQ_SNDHWM`, default 1000,
    /// 0 for none). For inproc the two sockets' marks add up, as in libzmq.
    /// As in libzmq it applies to the socket's pipes at once, not only to
    /// those made after (over ipc between zeroring processes a change of
    /// RCVHWM reaches the peer process's writer too, the next time it
    /// reaches the mark it knew).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a value below 0;
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn set_sndhwm(&self, value: i32) -> Result<()> {
        if value < 0 {
            return Err(Error::InvalidArgument("sndhwm out of range"));
        }
        let mut c = self.core()?;
        c.opts.sndhwm = value;
        c.update_hwm();
        Ok(())
    }

    /// The current `sndhwm` option.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_sndhwm(&self) -> Result<i32> {
        Ok(self.core()?.opts.sndhwm)
    }

    /// Inbound high-water mark in messages (`ZMQ_RCVHWM`, default 1000, 0
    /// for none); applies to existing pipes too, as
    /// [`set_sndhwm`](Self::set_sndhwm).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a value below 0;
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn set_rcvhwm(&self, value: i32) -> Result<()> {
        if value < 0 {
            return Err(Error::InvalidArgument("rcvhwm out of range"));
        }
        let mut c = self.core()?;
        c.opts.rcvhwm = value;
        c.update_hwm();
        Ok(())
    }

    /// The current `rcvhwm` option.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_rcvhwm(&self) -> Result<i32> {
        Ok(self.core()?.opts.rcvhwm)
    }
    int_option!(
        /// Send timeout in milliseconds (`ZMQ_SNDTIMEO`): -1 blocks forever,
        /// 0 never blocks; on expiry a send fails with [`Error::TimedOut`].
        sndtimeo, set_sndtimeo, get_sndtimeo, -1
    );
    int_option!(
        /// Receive timeout in milliseconds (`ZMQ_RCVTIMEO`), as for sending.
        rcvtimeo, set_rcvtimeo, get_rcvtimeo, -1
    );
    int_option!(
        /// How long unsent messages may delay closing, in milliseconds
        /// (`ZMQ_LINGER`, default -1: forever). Messages a tcp or ipc
        /// socket sent but no peer took yet (a connecter's queue fills
        /// before its peer is there, as libzmq's does) are delivered for
        /// this long after the socket closes; when the last handle of the
        /// context goes, dropping it waits for that, connecting again to a
        /// peer not yet there, as `zmq_ctx_term` does — with -1, until the
        /// peer comes (a peer that was connected and went is not waited
        /// for: what was queued for it is dropped). Over inproc what was
        /// sent is already in the peer's
        /// pipe; 0 also discards messages queued to a name nobody has bound
        /// yet.
        linger, set_linger, get_linger, -1
    );

    int_option!(
        /// `ZMQ_RECONNECT_IVL` in milliseconds (default 100): how long a tcp
        /// or ipc connecter waits before connecting again, plus a random
        /// jitter below this interval, as libzmq's; -1 never reconnects (the
        /// connection's pipe goes with it), 0 arms no retry either, as in
        /// libzmq (the pipe stays, and its queue).
        reconnect_ivl, set_reconnect_ivl, get_reconnect_ivl, -1
    );
    int_option!(
        /// `ZMQ_RECONNECT_IVL_MAX` in milliseconds (default 0): when above
        /// RECONNECT_IVL, the reconnect interval doubles after each failure
        /// up to this.
        reconnect_ivl_max, set_reconnect_ivl_max, get_reconnect_ivl_max, 0
    );
    int_option!(
        /// `ZMQ_HEARTBEAT_IVL` in milliseconds (default 0, off): send a ZMTP
        /// PING this often on tcp connections.
        heartbeat_ivl, set_heartbeat_ivl, get_heartbeat_ivl, 0
    );
    int_option!(
        /// `ZMQ_HEARTBEAT_TIMEOUT` in milliseconds (default -1: the interval):
        /// close a connection silent this long after a PING.
        heartbeat_timeout, set_heartbeat_timeout, get_heartbeat_timeout, -1
    );

    /// `ZMQ_HEARTBEAT_TTL` in milliseconds (default 0): the TTL our PINGs
    /// announce to the peer. ZMTP carries it in deciseconds, 16 bits: as
    /// libzmq, the value kept is rounded down to a multiple of 100 ms.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] below 0 or above 6,553,599 (65,535.9 s);
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn set_heartbeat_ttl(&self, ms: i32) -> Result<()> {
        let deciseconds = u16::try_from(ms / 100)
            .ok()
            .filter(|_| ms >= 0)
            .ok_or(Error::InvalidArgument("heartbeat_ttl out of range"))?;
        self.core()?.opts.heartbeat_ttl = i32::from(deciseconds) * 100;
        Ok(())
    }

    /// The current `heartbeat_ttl` option (a multiple of 100 ms).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`](crate::Frame) or
    /// [`Loan`](crate::Loan) of this socket is alive (it holds the socket).
    pub fn get_heartbeat_ttl(&self) -> Result<i32> {
        Ok(self.core()?.opts.heartbeat_ttl)
    }

    /// `ZMQ_MAXMSGSIZE`: the largest frame accepted from a tcp peer, in bytes
    /// (-1, the default: no limit); a larger one closes that connection.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a value below -1; [`Error::WrongState`]
    /// while a [`Frame`] or [`Loan`] of this socket is alive (it holds the
    /// socket).
    pub fn set_maxmsgsize(&self, bytes: i64) -> Result<()> {
        if bytes < -1 {
            return Err(Error::InvalidArgument("maxmsgsize must be -1 or more"));
        }
        self.core()?.opts.maxmsgsize = bytes;
        Ok(())
    }

    /// `ZMQ_IPC_FILTER_UID`: ipc listeners bound from now on admit
    /// processes of user `uid` (and those any other filter admits). With
    /// no filter set, one bound on a path admits whoever its socket file's
    /// mode lets in, one on an abstract name only our own user. A peer of
    /// another user talks ZMTP, never shared memory.
    ///
    /// ```
    /// # use zeroring::{Context, SocketType};
    /// let ctx = Context::new();
    /// let rep = ctx.socket(SocketType::Rep)?;
    /// rep.add_ipc_filter_uid(nix::unistd::geteuid().as_raw())?;
    /// rep.bind("ipc://@zeroring-doc-filter")?;
    /// # Ok::<(), zeroring::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[cfg(not(loom))]
    pub fn add_ipc_filter_uid(&self, uid: u32) -> Result<()> {
        self.core()?.opts.ipc_filters.uids.push(uid);
        Ok(())
    }

    /// `ZMQ_IPC_FILTER_GID`: ipc listeners bound from now on admit
    /// processes whose user has group `gid` (as its primary group or a
    /// supplementary one), as [`add_ipc_filter_uid`](Self::add_ipc_filter_uid).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[cfg(not(loom))]
    pub fn add_ipc_filter_gid(&self, gid: u32) -> Result<()> {
        self.core()?.opts.ipc_filters.gids.push(gid);
        Ok(())
    }

    /// `ZMQ_IPC_FILTER_PID`: ipc listeners bound from now on admit process
    /// `pid`, as [`add_ipc_filter_uid`](Self::add_ipc_filter_uid).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[cfg(not(loom))]
    pub fn add_ipc_filter_pid(&self, pid: i32) -> Result<()> {
        self.core()?.opts.ipc_filters.pids.push(pid);
        Ok(())
    }

    /// Clears every ipc filter (libzmq: setting one with an empty value),
    /// for listeners bound from now on.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[cfg(not(loom))]
    pub fn clear_ipc_filters(&self) -> Result<()> {
        self.core()?.opts.ipc_filters = Default::default();
        Ok(())
    }

    /// `ZMQ_TCP_ACCEPT_FILTER` (deprecated in libzmq 4.3, kept as there):
    /// tcp listeners bound from now on admit only peers of the networks
    /// given, `address[/bits]` each (`127.0.0.1`, `10.0.0.0/8`; IPv6 with
    /// [`set_ipv6`](Self::set_ipv6)); others are disconnected at once and
    /// the monitor says `ACCEPT_FAILED` (EACCES). None set: any peer.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a filter that is not a numeric
    /// address with an optional mask of at most its bits (libzmq's EINVAL);
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[cfg(not(loom))]
    pub fn add_tcp_accept_filter(&self, filter: &str) -> Result<()> {
        let mut c = self.core()?;
        let f = crate::transport::tcp::AcceptFilter::parse(filter, c.opts.ipv6)?;
        c.opts.tcp_accept_filters.push(f);
        Ok(())
    }

    /// Clears the tcp accept filters (libzmq: setting an empty one), for
    /// listeners bound from now on.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[cfg(not(loom))]
    pub fn clear_tcp_accept_filters(&self) -> Result<()> {
        self.core()?.opts.tcp_accept_filters.clear();
        Ok(())
    }

    /// The current `ZMQ_MAXMSGSIZE`.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_maxmsgsize(&self) -> Result<i64> {
        Ok(self.core()?.opts.maxmsgsize)
    }

    /// How this socket waits when it must block.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn set_wait_strategy(&self, wait: WaitStrategy) -> Result<()> {
        self.core()?.opts.wait = wait;
        Ok(())
    }

    /// The current wait strategy.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_wait_strategy(&self) -> Result<WaitStrategy> {
        Ok(self.core()?.opts.wait)
    }

    /// Bytes in each ring of pipes made from now on: a power of two, at least
    /// 4 KiB. Frames above 32 KiB, or above half the ring, travel in chunks
    /// of the socket's pool (up to 64 MiB); only a descriptor enters the ring.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a size that is not a power of two in
    /// 4 KiB..=2 GiB; [`Error::WrongState`] while a [`Frame`] or [`Loan`] of
    /// this socket is alive (it holds the socket).
    pub fn set_ring_capacity(&self, bytes: usize) -> Result<()> {
        if !bytes.is_power_of_two() || !(4096..=1 << 31).contains(&bytes) {
            return Err(Error::InvalidArgument(
                "ring capacity must be a power of two in 4 KiB..=2 GiB",
            ));
        }
        self.core()?.opts.ring_capacity = bytes;
        Ok(())
    }

    /// Bytes in each ring of pipes made from now on.
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn get_ring_capacity(&self) -> Result<usize> {
        Ok(self.core()?.opts.ring_capacity)
    }

    /// Whether a message can be received now without blocking (`ZMQ_POLLIN`).
    ///
    /// # Errors
    ///
    /// [`Error::Terminated`] once the context is shut down, or
    /// [`Error::IoThreadDied`] once its I/O thread died.
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn readable(&self) -> Result<bool> {
        let mut c = self.live_core()?;
        let readable = c.readable();
        c.refresh_fd();
        Ok(readable)
    }

    /// Whether a message can be sent now without blocking (`ZMQ_POLLOUT`).
    ///
    /// # Errors
    ///
    /// [`Error::Terminated`] once the context is shut down, or
    /// [`Error::IoThreadDied`] once its I/O thread died.
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn writable(&self) -> Result<bool> {
        let mut c = self.live_core()?;
        let writable = c.writable();
        c.refresh_fd();
        Ok(writable)
    }

    /// The routing id a ROUTER peer will know this socket by (`ZMQ_ROUTING_ID`,
    /// the `zmq` crate's `set_identity`): 1 to 255 bytes. Applies to
    /// connections made after. One starting with a zero byte is taken, as
    /// libzmq 4.3 takes it, although ROUTER's automatic ids start so: a
    /// ROUTER that already has a peer of that id refuses the newcomer (or
    /// hands the id over, with `ROUTER_HANDOVER`), as for any duplicate.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty id or one over 255 bytes.
    #[doc(alias = "set_identity")]
    pub fn set_routing_id(&self, id: &[u8]) -> Result<()> {
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidArgument("routing id must be 1..=255 bytes"));
        }
        self.core()?.io.opts.routing_id = Some(id.to_vec());
        Ok(())
    }

    /// The routing id set with [`set_routing_id`](Self::set_routing_id) (empty if none).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    #[doc(alias = "get_identity")]
    pub fn get_routing_id(&self) -> Result<Vec<u8>> {
        Ok(self.core()?.io.opts.routing_id.clone().unwrap_or_default())
    }

    /// Subscribes to messages whose first frame starts with `topic` (SUB,
    /// XSUB; the empty topic matches everything). Counted: subscribing twice
    /// needs two unsubscribes. On an XPUB with XPUB_MANUAL, subscribes the
    /// peer whose subscription was received last.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] on a socket type that does not subscribe
    /// (any but SUB and XSUB, and an XPUB before a subscription came to it);
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn set_subscribe(&self, topic: &[u8]) -> Result<()> {
        let mut c = self.core()?;
        let c = &mut *c;
        c.pattern
            .subscribe(&mut c.io, topic, true)
            .map_err(|_| Error::InvalidArgument("SUBSCRIBE on a socket that does not subscribe"))
    }

    /// Cancels one [`set_subscribe`](Self::set_subscribe) of `topic`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] on a socket type that does not subscribe,
    /// as for [`set_subscribe`](Self::set_subscribe); [`Error::WrongState`]
    /// while a [`Frame`] or [`Loan`] of this socket is alive (it holds the
    /// socket).
    pub fn set_unsubscribe(&self, topic: &[u8]) -> Result<()> {
        let mut c = self.core()?;
        let c = &mut *c;
        c.pattern
            .subscribe(&mut c.io, topic, false)
            .map_err(|_| Error::InvalidArgument("UNSUBSCRIBE on a socket that does not subscribe"))
    }

    /// `ZMQ_XPUB_WELCOME_MSG`: a message an XPUB sends to every new
    /// subscriber; text or bytes (`None::<&str>` for none).
    ///
    /// # Errors
    ///
    /// [`Error::WrongState`] while a [`Frame`] or [`Loan`] of this socket is
    /// alive (it holds the socket).
    pub fn set_xpub_welcome_msg<T: AsRef<[u8]>>(&self, msg: Option<T>) -> Result<()> {
        self.core()?.io.opts.xpub_welcome_msg = msg.map(|m| m.as_ref().to_vec());
        Ok(())
    }

    bool_option!(
        /// `ZMQ_XPUB_VERBOSE`: an XPUB passes every subscription to the
        /// application, not only new topics.
        xpub_verbose, set_xpub_verbose, get_xpub_verbose
    );
    bool_option!(
        /// `ZMQ_XPUB_VERBOSER`: as XPUB_VERBOSE, and every unsubscription too.
        xpub_verboser, set_xpub_verboser, get_xpub_verboser
    );
    bool_option!(
        /// `ZMQ_XPUB_NODROP`: an XPUB would-blocks (or blocks) when a matching
        /// subscriber is at its high-water mark, instead of dropping for it.
        xpub_nodrop, set_xpub_nodrop, get_xpub_nodrop
    );
    bool_option!(
        /// `ZMQ_XPUB_MANUAL`: an XPUB applies no subscription itself; the
        /// application does, with `set_subscribe`, for the last subscriber.
        xpub_manual, set_xpub_manual, get_xpub_manual
    );
    bool_option!(
        /// `ZMQ_INVERT_MATCHING`: PUB/XPUB send to, and SUB receives, the
        /// messages that match no subscription.
        invert_matching, set_invert_matching, get_invert_matching
    );
    bool_option!(
        /// `ZMQ_CONFLATE`: keep only the newest message. Receiving takes the
        /// newest waiting message and drops older ones (single-frame
        /// messages, as in libzmq); sending ignores the high-water mark. The
        /// ring still bounds what a sender can queue for a reader that never
        /// reads; then the sender waits (or would-blocks), where libzmq would
        /// overwrite.
        conflate, set_conflate, get_conflate
    );
    bool_option!(
        /// `ZMQ_IMMEDIATE`: queue messages only to peers whose connection is
        /// complete (over inproc: only once the other side has bound).
        immediate, set_immediate, get_immediate
    );
    bool_option!(
        /// `ZMQ_PROBE_ROUTER`: a ROUTER, DEALER or REQ sends an empty message
        /// on every new connection, so a ROUTER peer learns its routing id.
        probe_router, set_probe_router, get_probe_router
    );
    bool_option!(
        /// `ZMQ_ROUTER_MANDATORY`: a ROUTER fails with
        /// [`Error::HostUnreachable`] for an unknown routing id, and blocks
        /// (or would-blocks) at a peer's high-water mark, instead of dropping.
        router_mandatory, set_router_mandatory, get_router_mandatory
    );
    bool_option!(
        /// `ZMQ_ROUTER_HANDOVER`: a new peer with a routing id in use takes it
        /// over (the old connection is closed) instead of being refused.
        router_handover, set_router_handover, get_router_handover
    );
    bool_option!(
        /// `ZMQ_REQ_RELAXED`: a REQ may send a new request before the reply
        /// to the last one came; the old reply is then dropped.
        req_relaxed, set_req_relaxed, get_req_relaxed
    );
    bool_option!(
        /// `ZMQ_REQ_CORRELATE`: a REQ tags each request with an id and drops
        /// replies that do not carry the current one.
        req_correlate, set_req_correlate, get_req_correlate
    );
}

impl Drop for Socket {
    fn drop(&mut self) {
        let c = self.core.get_mut();
        c.abort_message();
        #[cfg(not(loom))]
        if c.bridged {
            crate::bridge::forget(&self.shared.bell);
        }
        // LINGER as it is now, for the connections made before it was set
        // (libzmq reads it at close).
        #[cfg(not(loom))]
        if let Some(io) = &c.io_thread {
            let linger = u64::try_from(c.opts.linger)
                .ok()
                .map(std::time::Duration::from_millis);
            io.set_linger(c.id, linger);
        }
        c.ctx.inner.inproc.remove_socket(c.id, c.opts.linger == 0);
        #[cfg(not(loom))]
        if !c.ipc_connected.is_empty() {
            if let Some(io) = &c.io_thread {
                io.forget(c.id, None);
            }
        }
        #[cfg(not(loom))]
        if !c.tcp_bound.is_empty() || !c.ipc_bound.is_empty() {
            if let Some(io) = &c.io_thread {
                io.unbind_all(c.id);
            }
            for (bound_as, file, fd) in &c.ipc_bound {
                if let Some(file) = file {
                    file.remove();
                }
                self.shared
                    .monitor
                    .emit(monitor::EVENT_CLOSED, *fd as u32, bound_as);
            }
            for (_, local, fd) in &c.tcp_bound {
                let local = format!("tcp://{local}");
                self.shared
                    .monitor
                    .emit(monitor::EVENT_CLOSED, *fd as u32, &local);
            }
        }
        self.shared.close_mail();
        // As libzmq: the monitor's last word is MONITOR_STOPPED, after the
        // listeners' CLOSED.
        self.shared.monitor.stop();
        c.ctx.inner.socket_closed();
        // Dropping the pipes tells every peer, which drains what we sent.
    }
}

/// A received frame, borrowed in place from the pipe; released on drop.
pub struct Frame<'a> {
    core: RefMut<'a, Core>,
    frame: In,
}

impl Frame<'_> {
    /// Whether more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.frame.more()
    }

    /// The properties of the connection the frame came on, as libzmq's
    /// `zmq_msg_gets` gives them (see [`Message::gets`](crate::Message::gets)):
    /// `None` for a frame from an inproc peer, or from a connection that
    /// has none yet. Kept after the frame is dropped, for as long as the
    /// caller holds them (one reference count).
    #[cfg(not(loom))]
    pub fn properties(&mut self) -> Option<Properties> {
        let mut props = None;
        self.properties_into(&mut props);
        props
    }

    /// Sets `slot` to [`properties`](Self::properties), without touching
    /// a reference count when it already holds them: a loop that receives
    /// into one place frames of one connection pays nothing per frame (an
    /// atomic read-modify-write, which waits for the thread's pending
    /// stores, is a large part of a small frame's cost).
    #[cfg(not(loom))]
    pub fn properties_into(&mut self, slot: &mut Option<Properties>) {
        let frame = self.frame;
        Properties::set(slot, self.core.frame_metadata(&frame));
    }
}

/// The properties of a connection (Socket-Type, Identity, Peer-Address,
/// User-Id, the peer's `X-` properties), shared by the frames received on
/// it: [`Frame::properties`]. Cheap to clone (a reference count).
#[cfg(not(loom))]
#[derive(Clone, Debug)]
pub struct Properties(Arc<crate::pipe::metadata::PeerMetadata>);

#[cfg(not(loom))]
impl Properties {
    /// Makes `slot` hold `now`, leaving it (and the reference count)
    /// alone when it already does.
    #[inline]
    fn set(slot: &mut Option<Properties>, now: Option<&Arc<crate::pipe::metadata::PeerMetadata>>) {
        match (now, &*slot) {
            (Some(now), Some(Properties(held))) if Arc::ptr_eq(now, held) => {}
            (None, None) => {}
            (now, _) => *slot = now.map(|md| Properties(md.clone())),
        }
    }

    /// The value of property `name`, matched exactly as libzmq's
    /// `zmq_msg_gets` does; `None` if the connection lacks it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name)
    }

    /// As [`get`](Self::get), as a C string (for `zmq_msg_gets`), valid
    /// while these properties are held; it ends at the value's first NUL.
    pub fn get_c(&self, name: &str) -> Option<&std::ffi::CStr> {
        self.0.get_c(name)
    }

    /// The descriptor of the connection's socket, as libzmq's deprecated
    /// `ZMQ_SRCFD` gives it: tcp's, or for ipc the unix socket's (kept
    /// beside shared memory to see the peer go). Only good while the
    /// connection lasts: the number is reused once it is closed.
    pub fn src_fd(&self) -> Option<std::os::fd::RawFd> {
        self.0.src_fd()
    }
}

impl std::ops::Deref for Frame<'_> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.core.payload(&self.frame)
    }
}

impl std::fmt::Debug for Frame<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Frame")
            .field("len", &self.len())
            .field("more", &self.more())
            .finish()
    }
}

impl Drop for Frame<'_> {
    #[inline]
    fn drop(&mut self) {
        self.core.consume(self.frame);
        self.core.refresh_fd();
    }
}

/// Room for one outbound frame inside the pipe; write it, then [`send`](Loan::send).
/// Dropped unsent, it sends nothing.
pub struct Loan<'a> {
    core: RefMut<'a, Core>,
    slot: Slot,
    ptr: *mut u8,
    len: usize,
    /// Where the bytes go when the pattern must see them before choosing a
    /// pipe (a ROUTER's routing id), or when the message is being dropped.
    scratch: Vec<u8>,
    more: bool,
    flags: i32,
    /// In place of `scratch` for a large frame fanned out to ipc peers:
    /// `ptr` points into it.
    #[cfg(not(loom))]
    chunk: Option<crate::transport::ipc::pool::Chunk>,
}

impl Loan<'_> {
    /// Sends the frame.
    ///
    /// # Errors
    ///
    /// Only for a frame the socket must see before it picks a pipe (a
    /// ROUTER's or STREAM's routing id, any frame of a PUB or XPUB), which
    /// goes on as [`Socket::send`] of it would, with its errors
    /// ([`Error::HostUnreachable`], [`Error::WouldBlock`] ...). A frame
    /// written into a pipe's room is sent without fail.
    #[inline]
    pub fn send(mut self) -> Result<()> {
        #[cfg(not(loom))]
        if let Some(chunk) = self.chunk.take() {
            return self.send_chunk(chunk);
        }
        let scratch = std::mem::take(&mut self.scratch);
        let data = if self.ptr.is_null() {
            &scratch[..]
        } else {
            &[][..]
        };
        if self.slot == Slot::Scratch {
            let sent = self
                .core
                .finish_send(Slot::Scratch, data, self.more, self.flags);
            self.core.refresh_fd();
            return sent.map_err(|f| f.into_error(data.len()));
        }
        self.core.commit(self.slot, self.len, self.more);
        self.core.refresh_fd();
        Ok(())
    }
}

impl Loan<'_> {
    /// Sends a frame written into a chunk through the pattern, which
    /// finds the chunk in `io.loaned` and shares it.
    #[cfg(not(loom))]
    fn send_chunk(mut self, chunk: crate::transport::ipc::pool::Chunk) -> Result<()> {
        let chunk = Arc::new(chunk);
        let data = &chunk.bytes()[..self.len];
        self.core.io.loaned = Some(chunk.clone());
        let sent = self
            .core
            .finish_send(Slot::Scratch, data, self.more, self.flags)
            .map_err(|f| f.into_error(data.len()));
        self.core.io.loaned = None;
        sent
    }
}

impl std::ops::Deref for Loan<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        if self.ptr.is_null() {
            return &self.scratch;
        }
        // SAFETY: `ptr..ptr+len` is the room `claim` reserved in the pipe's
        // ring: producer-owned, unpublished, and untouched by anyone else
        // while `core` (a unique borrow of the socket) is held.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl std::ops::DerefMut for Loan<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        if self.ptr.is_null() {
            return &mut self.scratch;
        }
        // SAFETY: as in `deref`; `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl std::fmt::Debug for Loan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loan").field("len", &self.len).finish()
    }
}
