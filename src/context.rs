//! The context: owner of the inproc endpoint registry and of every socket's
//! liveness, as `zmq::Context` is.

use crate::error::Result;
use crate::socket::{Socket, SocketShared};
use crate::transport::inproc::Registry;
use crate::SocketType;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// libzmq's `ZMQ_MAX_SOCKETS_DFLT`.
const MAX_SOCKETS_DEFAULT: usize = 1023;
/// libzmq's `ZMQ_SOCKET_LIMIT` where its poller has no descriptor limit
/// (epoll): the most MAX_SOCKETS may be.
#[cfg_attr(loom, allow(dead_code))]
pub(crate) const SOCKET_LIMIT: usize = 65535;

/// A zeroring context. Cheap to clone; sockets keep it alive.
///
/// ```
/// use zeroring::{Context, SocketType};
/// let ctx = Context::new();
/// let mut pull = ctx.socket(SocketType::Pull).unwrap();
/// let mut push = ctx.socket(SocketType::Push).unwrap();
/// pull.bind("inproc://doc-context").unwrap();
/// push.connect("inproc://doc-context").unwrap();
/// push.send("hello", 0).unwrap();
/// assert_eq!(pull.recv_bytes(0).unwrap(), b"hello");
/// ```
#[derive(Clone, Default)]
pub struct Context {
    pub(crate) inner: Arc<ContextInner>,
}

pub(crate) struct ContextInner {
    pub(crate) inproc: Registry,
    /// The thread-safe sockets' inproc names.
    #[cfg(not(loom))]
    pub(crate) threadsafe: crate::threadsafe::Registry,
    terminated: AtomicBool,
    next_socket_id: AtomicU64,
    sockets: Mutex<Vec<Weak<SocketShared>>>,
    /// Sockets open now (made and not yet dropped).
    pub(crate) open_sockets: AtomicUsize,
    /// `ZMQ_MAX_SOCKETS`.
    pub(crate) max_sockets: AtomicUsize,
    /// `ZMQ_IPV6`: new sockets' IPV6 option.
    pub(crate) ipv6: AtomicBool,
    /// `ZMQ_BLOCKY`: false gives new sockets LINGER 0.
    pub(crate) blocky: AtomicBool,
    /// The I/O threads, started by the first tcp or ipc endpoint.
    #[cfg(not(loom))]
    pub(crate) io: Mutex<IoPool>,
    /// An I/O thread died: `terminated` is set too, and errors say this.
    io_died: AtomicBool,
}

impl Default for ContextInner {
    fn default() -> Self {
        ContextInner {
            inproc: Registry::default(),
            #[cfg(not(loom))]
            threadsafe: Default::default(),
            terminated: AtomicBool::new(false),
            next_socket_id: AtomicU64::new(0),
            sockets: Mutex::default(),
            open_sockets: AtomicUsize::new(0),
            max_sockets: AtomicUsize::new(MAX_SOCKETS_DEFAULT),
            ipv6: AtomicBool::new(false),
            blocky: AtomicBool::new(true),
            #[cfg(not(loom))]
            io: Mutex::default(),
            io_died: AtomicBool::new(false),
        }
    }
}

/// How many I/O threads to start, how, and those started.
#[cfg(not(loom))]
#[derive(Default)]
pub(crate) struct IoPool {
    /// 0 until set: one.
    wanted: usize,
    /// Names, CPUs and scheduling of the threads.
    pub(crate) thread_opts: crate::transport::tcp::sched::ThreadOptions,
    pub(crate) threads: Vec<Arc<crate::transport::tcp::IoThread>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("terminated", &self.is_terminated())
            .finish()
    }
}

impl Context {
    /// A new, independent context: inproc endpoints are visible only within it.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a socket of `kind`.
    ///
    /// # Errors
    ///
    /// [`Error::TooManySockets`](crate::Error::TooManySockets) (EMFILE)
    /// when the context already has MAX_SOCKETS open,
    /// [`Error::Terminated`](crate::Error::Terminated) once the context is
    /// shut down, or [`Error::IoThreadDied`](crate::Error::IoThreadDied)
    /// once its I/O thread died; [`Error::NotSupported`](crate::Error::NotSupported)
    /// for the thread-safe types (`Client`, `Server`, `Scatter`, `Gather`,
    /// `Radio`, `Dish`), which [`client`](Self::client),
    /// [`server`](Self::server) and their siblings make.
    pub fn socket(&self, kind: SocketType) -> Result<Socket> {
        self.reserve_socket()?;
        let id = self.inner.next_socket_id.fetch_add(1, Ordering::Relaxed);
        let socket = match Socket::new(self.clone(), kind, id) {
            Ok(socket) => socket,
            Err(e) => {
                self.inner.socket_closed();
                return Err(e);
            }
        };
        if self.inner.ipv6.load(Ordering::Relaxed) {
            socket.set_ipv6(true)?;
        }
        if !self.inner.blocky.load(Ordering::Relaxed) {
            socket.set_linger(0)?;
        }
        let mut all = self.inner.sockets.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(socket.shared()));
        Ok(socket)
    }

    /// A new socket's id (the I/O threads know sockets by it).
    #[cfg_attr(loom, allow(dead_code))]
    pub(crate) fn new_socket_id(&self) -> u64 {
        self.inner.next_socket_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a new socket in, if the context is alive and MAX_SOCKETS
    /// allows.
    pub(crate) fn reserve_socket(&self) -> Result<()> {
        if self.is_terminated() {
            return Err(self.stopped().into_error(0));
        }
        let max = self.inner.max_sockets.load(Ordering::Relaxed);
        self.inner
            .open_sockets
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| crate::Error::TooManySockets { max })?;
        Ok(())
    }

    /// Creates a thread-safe CLIENT socket (libzmq's draft `ZMQ_CLIENT`):
    /// one handle for every thread to send and receive on. See
    /// [`Client`](crate::Client).
    ///
    /// ```
    /// let ctx = zeroring::Context::new();
    /// let server = ctx.server()?;
    /// server.bind("inproc://ctx-client")?;
    /// let client = ctx.client()?;
    /// client.connect("inproc://ctx-client")?;
    /// client.send("hello", 0)?;
    /// let (peer, msg) = server.recv_from(0)?;
    /// assert_eq!(msg, b"hello");
    /// server.send_to(peer, "world", 0)?;
    /// assert_eq!(client.recv_bytes(0)?, b"world");
    /// # Ok::<(), zeroring::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`socket`](Self::socket).
    #[cfg(not(loom))]
    pub fn client(&self) -> Result<crate::Client> {
        crate::Client::new(self)
    }

    /// Creates a thread-safe SERVER socket (libzmq's draft `ZMQ_SERVER`).
    /// See [`Server`](crate::Server) and [`client`](Self::client).
    ///
    /// # Errors
    ///
    /// As [`socket`](Self::socket).
    #[cfg(not(loom))]
    pub fn server(&self) -> Result<crate::Server> {
        crate::Server::new(self)
    }

    /// Creates a thread-safe SCATTER socket (libzmq's draft
    /// `ZMQ_SCATTER`): see [`Scatter`](crate::Scatter).
    ///
    /// # Errors
    ///
    /// As [`socket`](Self::socket).
    #[cfg(not(loom))]
    pub fn scatter(&self) -> Result<crate::Scatter> {
        crate::Scatter::new(self)
    }

    /// Creates a thread-safe GATHER socket (libzmq's draft `ZMQ_GATHER`):
    /// see [`Gather`](crate::Gather).
    ///
    /// # Errors
    ///
    /// As [`socket`](Self::socket).
    #[cfg(not(loom))]
    pub fn gather(&self) -> Result<crate::Gather> {
        crate::Gather::new(self)
    }

    /// Creates a thread-safe RADIO socket (libzmq's draft `ZMQ_RADIO`):
    /// see [`Radio`](crate::Radio).
    ///
    /// # Errors
    ///
    /// As [`socket`](Self::socket).
    #[cfg(not(loom))]
    pub fn radio(&self) -> Result<crate::Radio> {
        crate::Radio::new(self)
    }

    /// Creates a thread-safe DISH socket (libzmq's draft `ZMQ_DISH`): see
    /// [`Dish`](crate::Dish).
    ///
    /// # Errors
    ///
    /// As [`socket`](Self::socket).
    #[cfg(not(loom))]
    pub fn dish(&self) -> Result<crate::Dish> {
        crate::Dish::new(self)
    }

    /// Shuts the context down, as `zmq_ctx_shutdown`: every blocking call on
    /// its sockets returns [`Error::Terminated`](crate::Error::Terminated) at
    /// once, and so does every later call.
    pub fn shutdown(&self) {
        self.inner.stop();
    }

    /// Why calls fail once [`is_terminated`](Self::is_terminated) says so.
    #[cold]
    #[inline(never)]
    pub(crate) fn stopped(&self) -> crate::error::Fail {
        if self.inner.io_died.load(Ordering::Acquire) {
            crate::error::Fail::IoThreadDied
        } else {
            crate::error::Fail::Terminated
        }
    }

    /// Sets how many I/O threads carry this context's tcp and ipc
    /// connections (`ZMQ_IO_THREADS`, default 1). As in libzmq it applies
    /// only before the first tcp or ipc endpoint; after that it is an error.
    /// Each socket's connections all live on one thread (the socket's id
    /// modulo the count, among those its AFFINITY allows), so more threads
    /// help when many sockets are busy at once, not one socket.
    ///
    /// ```
    /// let ctx = zeroring::Context::new();
    /// ctx.set_io_threads(2).unwrap();
    /// assert_eq!(ctx.get_io_threads().unwrap(), 2);
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for `n`
    /// outside 1..=64; [`Error::WrongState`](crate::Error::WrongState) once
    /// the I/O threads have started (at the first tcp or ipc bind or
    /// connect).
    #[cfg(not(loom))]
    pub fn set_io_threads(&self, n: i32) -> Result<()> {
        let n = usize::try_from(n)
            .ok()
            .filter(|&n| (1..=64).contains(&n))
            .ok_or(crate::Error::InvalidArgument("io threads must be 1..=64"))?;
        let mut pool = self.inner.io.lock().unwrap_or_else(|e| e.into_inner());
        if !pool.threads.is_empty() {
            return Err(crate::Error::WrongState);
        }
        pool.wanted = n;
        Ok(())
    }

    /// The number of I/O threads (`ZMQ_IO_THREADS`). A `Result`, as the
    /// `zmq` crate's, though it never fails.
    ///
    /// # Errors
    ///
    /// None.
    #[cfg(not(loom))]
    pub fn get_io_threads(&self) -> Result<i32> {
        let pool = self.inner.io.lock().unwrap_or_else(|e| e.into_inner());
        Ok(pool.wanted.max(1) as i32)
    }

    /// The I/O thread that carries socket `socket_id`'s connections; the
    /// threads start on first use. `affinity` (the socket's AFFINITY) is a
    /// bitmask of the threads it may be (bit i: thread i; 0: any); of
    /// those, the socket's id picks one.
    ///
    /// # Errors
    ///
    /// The threads could not start (see [`IoThread::start`]), or
    /// `affinity` names none of them ([`Error::NoIoThread`], EMTHREAD).
    ///
    /// [`IoThread::start`]: crate::transport::tcp::IoThread::start
    /// [`Error::NoIoThread`]: crate::Error::NoIoThread
    #[cfg(not(loom))]
    pub(crate) fn io_for(
        &self,
        socket_id: u64,
        affinity: u64,
    ) -> Result<Arc<crate::transport::tcp::IoThread>> {
        let mut pool = self.inner.io.lock().unwrap_or_else(|e| e.into_inner());
        if pool.threads.is_empty() {
            let mut started = Vec::new();
            for _ in 0..pool.wanted.max(1) {
                // Weak: the context's last handle may go while the thread
                // runs.
                let ctx = Arc::downgrade(&self.inner);
                let died = move || {
                    if let Some(inner) = ctx.upgrade() {
                        inner.io_died.store(true, Ordering::Release);
                        inner.stop();
                    }
                };
                let thread = crate::transport::tcp::IoThread::start(died, &pool.thread_opts)?;
                started.push(Arc::new(thread));
            }
            pool.threads = started;
        }
        let threads = pool.threads.len();
        let allowed: Vec<usize> = (0..threads)
            .filter(|&i| affinity == 0 || (i < 64 && affinity & (1 << i) != 0))
            .collect();
        if allowed.is_empty() {
            return Err(crate::Error::NoIoThread { affinity, threads });
        }
        let i = allowed[(socket_id % allowed.len() as u64) as usize];
        Ok(pool.threads[i].clone())
    }

    /// [`io_for`](Self::io_for) without an AFFINITY: the thread the
    /// socket's id picks.
    #[cfg(all(test, not(loom)))]
    pub(crate) fn io(&self, socket_id: u64) -> Result<Arc<crate::transport::tcp::IoThread>> {
        self.io_for(socket_id, 0)
    }

    /// Whether [`shutdown`](Self::shutdown) was called, or an I/O thread
    /// died (calls then fail with
    /// [`Error::IoThreadDied`](crate::Error::IoThreadDied)).
    #[inline]
    pub fn is_terminated(&self) -> bool {
        self.inner.terminated.load(Ordering::Relaxed)
    }
}

impl ContextInner {
    /// A socket of the context was dropped: room for another.
    pub(crate) fn socket_closed(&self) {
        self.open_sockets.fetch_sub(1, Ordering::AcqRel);
    }

    /// Every blocking call on the context's sockets returns at once, and
    /// every later call fails.
    fn stop(&self) {
        self.terminated.store(true, Ordering::Release);
        let all = self.sockets.lock().unwrap_or_else(|e| e.into_inner());
        for socket in all.iter().filter_map(Weak::upgrade) {
            socket.bell.ring_from(true);
        }
        drop(all);
        #[cfg(not(loom))]
        self.threadsafe.stop();
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use crate::{Context, Error, SocketType};

    /// An I/O thread that dies (a bug: here, told to) leaves the context
    /// broken, and every call says so instead of answering `Ok`: a call
    /// blocked on a socket wakes to say it, later ones fail at once.
    #[test]
    fn a_dead_io_thread_fails_every_later_call() {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_rcvtimeo(20_000).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.connect(&pull.get_last_endpoint().unwrap().unwrap())
            .unwrap();
        push.send("up", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"up");

        let waiter = std::thread::spawn(move || pull.recv_bytes(0));
        ctx.io(0).unwrap().die();
        let woke = waiter.join().unwrap();
        assert!(matches!(woke, Err(Error::IoThreadDied)), "{woke:?}");

        assert!(matches!(push.send("x", 0), Err(Error::IoThreadDied)));
        assert!(matches!(
            push.connect("tcp://127.0.0.1:9"),
            Err(Error::IoThreadDied)
        ));
        assert!(matches!(
            push.bind("tcp://127.0.0.1:0"),
            Err(Error::IoThreadDied)
        ));
        assert!(matches!(
            ctx.socket(SocketType::Pull),
            Err(Error::IoThreadDied)
        ));
        assert!(ctx.is_terminated());
    }

    /// AFFINITY chooses among the threads its bits name, and one naming
    /// none is EMTHREAD, as libzmq's `choose_io_thread`.
    #[test]
    fn affinity_picks_among_the_threads_it_names() {
        let ctx = Context::new();
        ctx.set_io_threads(3).unwrap();
        let thread = |i: u64| ctx.io_for(i, 0).unwrap();
        for id in 0..6 {
            let only_2 = ctx.io_for(id, 0b100).unwrap();
            assert!(std::sync::Arc::ptr_eq(&only_2, &thread(2)));
            let one_or_2 = ctx.io_for(id, 0b110).unwrap();
            let want = if id % 2 == 0 { 1 } else { 2 };
            assert!(std::sync::Arc::ptr_eq(&one_or_2, &thread(want)));
        }
        let Err(none) = ctx.io_for(0, 0b1000) else {
            panic!("AFFINITY 0b1000 of 3 threads picked one")
        };
        assert!(matches!(
            none,
            Error::NoIoThread {
                affinity: 8,
                threads: 3
            }
        ));
        assert_eq!(none.to_raw(), Error::EMTHREAD.to_raw());

        // A socket keeps the thread its first endpoint picked.
        let pull = ctx.socket(SocketType::Pull).unwrap();
        pull.set_affinity(0b10).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        pull.set_affinity(0b1).unwrap();
        pull.bind("tcp://127.0.0.1:0").unwrap();
        let chosen = pull.core().unwrap().io_thread.clone().unwrap();
        assert!(std::sync::Arc::ptr_eq(&chosen, &thread(1)));
        let stray = ctx.socket(SocketType::Push).unwrap();
        stray.set_affinity(1 << 40).unwrap();
        assert!(matches!(
            stray.connect("tcp://127.0.0.1:9"),
            Err(Error::NoIoThread { .. })
        ));
    }
}
