//! The context's I/O thread: one `mio::Poll` over every tcp and ipc
//! listener and connection, plus a doorbell that sockets ring when they publish into (or
//! release room in) a pipe whose far end an engine holds.
//!
//! Sleeping follows the doorbell protocol with epoll in place of the futex:
//! arm the doorbell, full barrier, re-check every engine, and only if none
//! has work, poll; a ring then writes the poll's eventfd.

use super::engine::Engine;
use super::SocketDesc;
use crate::monitor;
use crate::pipe::doorbell::Doorbell;
use crate::pipe::PipeEnd;
use crate::threadsafe::Outbound;
use crate::transport::stream::{Listener as Listening, Target};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;
use std::os::fd::AsRawFd;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

const WAKER: Token = Token(0);
/// Listener tokens start here; engine tokens are `1 + key` below it.
const LISTENERS: usize = 1 << 40;

pub(crate) enum Command {
    Listen {
        listener: Listening,
        /// The endpoint as bound (`tcp://` with the port chosen).
        endpoint: String,
        desc: Box<SocketDesc>,
    },
    Connect {
        target: Target,
        /// The connecter's pipe; an ipc connecter has none until connected.
        end: Option<Box<PipeEnd>>,
        /// A thread-safe socket's ring the engine sends from, with `end`.
        outbound: Option<Box<Outbound>>,
        desc: Box<SocketDesc>,
        endpoint: String,
    },
    /// Stop listening: one endpoint of a socket, or (None) all of them;
    /// `done` hears once the listeners are closed.
    Unbind {
        socket_id: u64,
        endpoint: Option<String>,
        done: Option<std::sync::mpsc::SyncSender<()>>,
    },
    /// The socket disconnected an endpoint (or, None, is gone): its
    /// connecters that hold no pipe of it stop (the others learn it from
    /// the pipe, and flush within LINGER first).
    Forget {
        socket_id: u64,
        endpoint: Option<String>,
    },
    /// The socket is closing with this LINGER (libzmq reads LINGER at
    /// close, so a value set after a connection was made applies).
    Linger {
        socket_id: u64,
        linger: Option<std::time::Duration>,
    },
    /// Tests: the thread panics, as a bug in it would make it.
    #[cfg(test)]
    Die,
}

struct Shared {
    waker: Arc<Waker>,
    bell: Arc<Doorbell>,
    commands: Mutex<Vec<Command>>,
    stop: AtomicBool,
}

/// Handle to the I/O thread; dropping it stops the thread.
pub(crate) struct IoThread {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl IoThread {
    /// Starts the thread, named, pinned and scheduled as `opts` say;
    /// `died` is called on it if it panics.
    ///
    /// # Errors
    ///
    /// The thread could not be made, or the OS refused its scheduling or
    /// CPU set (the thread then ends before it serves anything).
    pub fn start(
        died: impl FnOnce() + Send + 'static,
        opts: &super::sched::ThreadOptions,
    ) -> std::io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let shared = Arc::new(Shared {
            bell: Arc::new(Doorbell::with_waker(waker.clone())),
            waker,
            commands: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let mut lp = Loop {
            poll,
            shared: shared.clone(),
            listeners: Slab::new(),
            engines: Slab::new(),
        };
        let (set_up_tx, set_up) = std::sync::mpsc::sync_channel(1);
        let sched = opts.clone();
        let thread = std::thread::Builder::new()
            .name(opts.name())
            .spawn(move || {
                let applied = sched.apply_to_current_thread();
                let failed = applied.is_err();
                let _ = set_up_tx.send(applied);
                if failed {
                    return;
                }
                // A panic here is a bug of ours (user code it calls
                // catches its own): the context must then say it is
                // broken, not go on answering `Ok` to calls nobody serves.
                // Unwind-safe: after a panic, `lp` is only dropped, which
                // closes every pipe it holds and so wakes their sockets.
                if std::panic::catch_unwind(AssertUnwindSafe(|| lp.run())).is_err() {
                    died();
                }
            })?;
        let applied = set_up
            .recv()
            .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()));
        if let Err(e) = applied {
            let _ = thread.join();
            return Err(e);
        }
        Ok(IoThread {
            shared,
            thread: Some(thread),
        })
    }

    fn send(&self, cmd: Command) {
        self.shared
            .commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cmd);
        let _ = self.shared.waker.wake();
    }

    pub fn listen(&self, listener: Listening, endpoint: String, desc: SocketDesc) {
        self.send(Command::Listen {
            listener,
            endpoint,
            desc: Box::new(desc),
        });
    }

    pub fn connect(
        &self,
        target: Target,
        end: Option<PipeEnd>,
        outbound: Option<Outbound>,
        desc: SocketDesc,
        endpoint: String,
    ) {
        self.send(Command::Connect {
            target,
            end: end.map(Box::new),
            outbound: outbound.map(Box::new),
            desc: Box::new(desc),
            endpoint,
        });
    }

    /// The doorbell the thread sleeps on: the reader's, of the rings its
    /// engines read.
    pub fn bell(&self) -> Arc<Doorbell> {
        self.shared.bell.clone()
    }

    /// Tests: makes the thread panic.
    #[cfg(test)]
    pub fn die(&self) {
        self.send(Command::Die);
    }

    /// Stops every listener of the socket `socket_id` (it is closing),
    /// without waiting.
    pub fn unbind_all(&self, socket_id: u64) {
        self.send(Command::Unbind {
            socket_id,
            endpoint: None,
            done: None,
        });
    }

    /// Stops listening on `endpoint` of the socket `socket_id` and returns
    /// once the listener is closed, so that its port or path is free for
    /// the next bind (or once this thread has ended: nothing listens then).
    pub fn unbind_and_wait(&self, socket_id: u64, endpoint: String) {
        let (done, closed) = std::sync::mpsc::sync_channel(1);
        self.send(Command::Unbind {
            socket_id,
            endpoint: Some(endpoint),
            done: Some(done),
        });
        // A thread that has ended (the context's shutdown, a panic) takes
        // no more commands, and does not drop the ones left either.
        let ended = || self.thread.as_ref().map_or(true, |t| t.is_finished());
        while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            closed.recv_timeout(std::time::Duration::from_millis(20))
        {
            if ended() {
                return;
            }
        }
    }

    /// The socket `socket_id` closes with LINGER `linger` (None: no
    /// limit): its connections deliver within that, whatever it was when
    /// they were made.
    pub fn set_linger(&self, socket_id: u64, linger: Option<std::time::Duration>) {
        self.send(Command::Linger { socket_id, linger });
    }

    pub fn forget(&self, socket_id: u64, endpoint: Option<String>) {
        self.send(Command::Forget {
            socket_id,
            endpoint,
        });
    }
}

impl Drop for IoThread {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
        if let Some(t) = self.thread.take() {
            // The last handle of a context may go on its I/O thread (in
            // `died`): that thread is ending anyway.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

struct Listener {
    listener: Listening,
    desc: SocketDesc,
    endpoint: String,
}

/// How long after connections end the I/O thread gives freed heap back:
/// long enough for a wave of closes to finish (and their sockets to let go
/// of the pipes), short enough that a server's memory follows its peers.
const TRIM_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

struct Loop {
    poll: Poll,
    shared: Arc<Shared>,
    listeners: Slab<Listener>,
    engines: Slab<Engine>,
}

impl Loop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        let mut stopping: Option<Instant> = None;
        // When to hand freed heap back to the system, after connections end.
        let mut trim_at: Option<Instant> = None;
        loop {
            if stopping.is_none() && self.shared.stop.load(Ordering::Acquire) {
                // The context is going: no more listening; connections,
                // and connecters whose peer has yet to come, deliver what
                // their sockets sent within LINGER (as `zmq_ctx_term`
                // waits; but not for a peer that was there and went);
                // commands just sent count too.
                stopping = Some(Instant::now());
                self.take_commands();
                self.listeners.clear();
                self.engines.retain(|_, e| e.may_deliver());
            }
            if let Some(since) = stopping {
                let now = Instant::now();
                // Messages still to go have LINGER to reach a peer.
                self.engines.retain(|_, e| {
                    !e.flushed() && e.may_deliver() && e.linger().map_or(true, |l| now < since + l)
                });
                if self.engines.is_empty() {
                    return;
                }
            }
            self.take_commands();
            let now = Instant::now();
            let mut busy = false;
            for (_, e) in self.engines.iter_mut() {
                busy |= e.pump(self.poll.registry(), now);
            }
            let before = self.engines.len();
            self.engines.retain(|_, e| !e.is_done());
            if self.engines.len() < before && trim_at.is_none() {
                trim_at = Some(now + TRIM_AFTER);
            }
            if trim_at.is_some_and(|t| now >= t) {
                trim_at = None;
                // Slabs keep their peak; a vacant tail can go.
                self.engines.shrink_to_fit();
                crate::transport::give_back_heap();
            }

            let bell = &self.shared.bell;
            let _ = bell.arm();
            bell.sleeper_barrier(true);
            busy |= self.engines.iter_mut().any(|(_, e)| e.has_work());
            busy |= !self
                .shared
                .commands
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_empty();
            let timeout = if busy {
                Some(std::time::Duration::ZERO)
            } else if stopping.is_some() {
                // Check the LINGER deadlines while flushing.
                Some(std::time::Duration::from_millis(10))
            } else {
                self.engines
                    .iter()
                    .filter_map(|(_, e)| e.next_timeout())
                    .chain(trim_at)
                    .min()
                    .map(|t| t.saturating_duration_since(Instant::now()))
            };
            let polled = self.poll.poll(&mut events, timeout);
            bell.disarm();
            if polled.is_err() {
                continue; // EINTR
            }
            for ev in events.iter() {
                let t = ev.token().0;
                if t == WAKER.0 {
                    continue;
                }
                if t >= LISTENERS {
                    self.accept(t - LISTENERS);
                } else if let Some(e) = self.engines.get_mut(t - 1) {
                    // Errors and hang-ups count as both: a refused connect reports
                    // only those, and the engine must look at it to retry.
                    let failed = ev.is_error() || ev.is_write_closed();
                    e.on_event(
                        ev.is_readable() || ev.is_read_closed() || failed,
                        ev.is_writable() || failed,
                        ev.is_read_closed() || failed,
                    );
                }
            }
        }
    }

    fn take_commands(&mut self) {
        let cmds = std::mem::take(
            &mut *self
                .shared
                .commands
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for cmd in cmds {
            match cmd {
                Command::Listen {
                    mut listener,
                    endpoint,
                    desc,
                } => {
                    let entry = self.listeners.vacant_entry();
                    let token = Token(LISTENERS + entry.key());
                    if self
                        .poll
                        .registry()
                        .register(&mut listener, token, Interest::READABLE)
                        .is_ok()
                    {
                        entry.insert(Listener {
                            listener,
                            desc: *desc,
                            endpoint,
                        });
                        self.accept(token.0 - LISTENERS);
                    }
                }
                Command::Connect {
                    target,
                    end,
                    outbound,
                    desc,
                    endpoint,
                } => {
                    let entry = self.engines.vacant_entry();
                    let token = Token(1 + entry.key());
                    let bell = self.shared.bell.clone();
                    let pipes = (end.map(|e| *e), outbound.map(|o| *o));
                    entry.insert(Engine::connecter(
                        token, target, pipes, *desc, endpoint, bell,
                    ));
                }
                Command::Forget {
                    socket_id,
                    endpoint,
                } => {
                    for (_, e) in self.engines.iter_mut() {
                        e.forget(socket_id, endpoint.as_deref());
                    }
                }
                Command::Linger { socket_id, linger } => {
                    for (_, e) in self.engines.iter_mut() {
                        e.set_linger(socket_id, linger);
                    }
                }
                #[cfg(test)]
                Command::Die => panic!("zeroring-io: told to die (a test)"),
                Command::Unbind {
                    socket_id,
                    endpoint,
                    done,
                } => {
                    let doomed: Vec<usize> = self
                        .listeners
                        .iter()
                        .filter(|(_, l)| {
                            l.desc.socket_id == socket_id
                                && endpoint.as_ref().map_or(true, |e| *e == l.endpoint)
                        })
                        .map(|(k, _)| k)
                        .collect();
                    for k in doomed {
                        let mut l = self.listeners.remove(k);
                        let _ = self.poll.registry().deregister(&mut l.listener);
                    }
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
            }
        }
    }

    fn accept(&mut self, key: usize) {
        let Some(l) = self.listeners.get_mut(key) else {
            return;
        };
        loop {
            match l.listener.accept() {
                Ok((stream, peer)) => {
                    l.desc.shared.monitor.emit(
                        monitor::EVENT_ACCEPTED,
                        stream.as_raw_fd() as u32,
                        &l.endpoint,
                    );
                    let entry = self.engines.vacant_entry();
                    let token = Token(1 + entry.key());
                    let bell = self.shared.bell.clone();
                    let e = Engine::accepted(
                        token,
                        stream,
                        peer,
                        l.desc.clone(),
                        l.endpoint.clone(),
                        bell,
                        self.poll.registry(),
                    );
                    entry.insert(e);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // A peer the listener does not admit: gone already.
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                    l.desc.shared.monitor.emit(
                        monitor::EVENT_ACCEPT_FAILED,
                        libc::EACCES as u32,
                        &l.endpoint,
                    );
                    continue;
                }
                // EMFILE and friends: try again on the next readiness.
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0) as u32;
                    l.desc
                        .shared
                        .monitor
                        .emit(monitor::EVENT_ACCEPT_FAILED, errno, &l.endpoint);
                    return;
                }
            }
        }
    }
}
