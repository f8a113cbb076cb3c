//! The context options of libzmq's `zmq_ctx_set`/`zmq_ctx_get` beside
//! `IO_THREADS`: MAX_SOCKETS, SOCKET_LIMIT, IPV6, BLOCKY, and the I/O
//! threads' names, CPUs and scheduling (THREAD_NAME_PREFIX,
//! THREAD_AFFINITY_CPU_ADD/REMOVE, THREAD_PRIORITY, THREAD_SCHED_POLICY).
//!
//! The thread options, as libzmq documents, apply only before the I/O
//! threads start (zeroring starts them with the context's first tcp or ipc
//! endpoint); after that setting one is [`Error::WrongState`] (EFSM).

use crate::context::SOCKET_LIMIT;
use crate::error::{Error, Result};
use crate::transport::tcp::sched::ThreadOptions;
use crate::Context;
use std::sync::atomic::Ordering;

/// libzmq's thread name prefixes are at most 16 bytes.
const PREFIX_MAX: usize = 16;

impl Context {
    /// Sets `ZMQ_MAX_SOCKETS` (default 1023): once the context has that
    /// many sockets open, [`socket`](Self::socket) fails with
    /// [`Error::TooManySockets`] (EMFILE) until one is dropped. It may be
    /// set at any time; sockets already open stay.
    ///
    /// ```
    /// let ctx = zeroring::Context::new();
    /// ctx.set_max_sockets(1).unwrap();
    /// let _one = ctx.socket(zeroring::SocketType::Pair).unwrap();
    /// let err = ctx.socket(zeroring::SocketType::Pair).unwrap_err();
    /// assert_eq!(err.to_raw(), libc::EMFILE);
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] (EINVAL) unless 1 ≤ `max` ≤
    /// [`get_socket_limit`](Self::get_socket_limit).
    pub fn set_max_sockets(&self, max: i32) -> Result<()> {
        let max = usize::try_from(max)
            .ok()
            .filter(|m| (1..=SOCKET_LIMIT).contains(m))
            .ok_or(Error::InvalidArgument("max sockets must be 1..=65535"))?;
        self.inner.max_sockets.store(max, Ordering::Relaxed);
        Ok(())
    }

    /// `ZMQ_MAX_SOCKETS`.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_max_sockets(&self) -> Result<i32> {
        Ok(self.inner.max_sockets.load(Ordering::Relaxed) as i32)
    }

    /// `ZMQ_SOCKET_LIMIT`: the largest MAX_SOCKETS may be (65535, as
    /// libzmq's on epoll).
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_socket_limit(&self) -> Result<i32> {
        Ok(SOCKET_LIMIT as i32)
    }

    /// `ZMQ_IPV6` (default off): the IPV6 option of sockets made from now
    /// on (see [`Socket::set_ipv6`](crate::Socket::set_ipv6)).
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other setters.
    pub fn set_ipv6(&self, on: bool) -> Result<()> {
        self.inner.ipv6.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// `ZMQ_IPV6`.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_ipv6(&self) -> Result<bool> {
        Ok(self.inner.ipv6.load(Ordering::Relaxed))
    }

    /// `ZMQ_BLOCKY` (default on): off gives sockets made from now on a
    /// LINGER of 0, so dropping the context never waits for unsent
    /// messages.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other setters.
    pub fn set_blocky(&self, on: bool) -> Result<()> {
        self.inner.blocky.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// `ZMQ_BLOCKY`.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_blocky(&self) -> Result<bool> {
        Ok(self.inner.blocky.load(Ordering::Relaxed))
    }

    /// `ZMQ_THREAD_AFFINITY_CPU_ADD`: the I/O threads may run on `cpu`
    /// (with the others added); none added (the default) leaves them
    /// wherever the OS puts them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a negative CPU or one beyond what a
    /// CPU set holds; [`Error::WrongState`] once the I/O threads run.
    pub fn add_thread_affinity_cpu(&self, cpu: i32) -> Result<()> {
        let cpu = usize::try_from(cpu)
            .ok()
            .filter(|&c| c < nix::sched::CpuSet::count())
            .ok_or(Error::InvalidArgument("no such CPU"))?;
        self.thread_option(|t| {
            t.cpus.insert(cpu);
            Ok(())
        })
    }

    /// `ZMQ_THREAD_AFFINITY_CPU_REMOVE`: takes back an
    /// [`add_thread_affinity_cpu`](Self::add_thread_affinity_cpu).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for a CPU not added (as libzmq);
    /// [`Error::WrongState`] once the I/O threads run.
    pub fn remove_thread_affinity_cpu(&self, cpu: i32) -> Result<()> {
        let cpu = usize::try_from(cpu).map_err(|_| Error::InvalidArgument("no such CPU"))?;
        self.thread_option(|t| {
            t.cpus
                .remove(&cpu)
                .then_some(())
                .ok_or(Error::InvalidArgument("that CPU was not added"))
        })
    }

    /// The CPUs added with
    /// [`add_thread_affinity_cpu`](Self::add_thread_affinity_cpu), lowest
    /// first.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_thread_affinity_cpus(&self) -> Result<Vec<i32>> {
        Ok(self.read_thread_options(|t| t.cpus.iter().map(|&c| c as i32).collect()))
    }

    /// `ZMQ_THREAD_PRIORITY` (default -1: the OS's). Under `SCHED_FIFO` or
    /// `SCHED_RR` (see
    /// [`set_thread_sched_policy`](Self::set_thread_sched_policy)) the I/O
    /// threads' static priority (1–99 on Linux); under the other policies,
    /// as in libzmq, any value sets their nice value to -20.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] below 0, as libzmq;
    /// [`Error::WrongState`] once the I/O threads run. A value the OS
    /// refuses fails the first tcp or ipc `bind`/`connect`, which starts
    /// the threads, with the OS's error (EPERM, EINVAL), where libzmq
    /// aborts the process.
    pub fn set_thread_priority(&self, priority: i32) -> Result<()> {
        if priority < 0 {
            return Err(Error::InvalidArgument("thread priority must be 0 or more"));
        }
        self.thread_option(|t| {
            t.priority = priority;
            Ok(())
        })
    }

    /// `ZMQ_THREAD_PRIORITY`.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_thread_priority(&self) -> Result<i32> {
        Ok(self.read_thread_options(|t| t.priority))
    }

    /// `ZMQ_THREAD_SCHED_POLICY` (default -1: the OS's): a `SCHED_*` policy
    /// of sched.h (`libc::SCHED_FIFO` ...) for the I/O threads.
    ///
    /// # Errors
    ///
    /// As [`set_thread_priority`](Self::set_thread_priority).
    pub fn set_thread_sched_policy(&self, policy: i32) -> Result<()> {
        if policy < 0 {
            return Err(Error::InvalidArgument("sched policy must be 0 or more"));
        }
        self.thread_option(|t| {
            t.policy = policy;
            Ok(())
        })
    }

    /// `ZMQ_THREAD_SCHED_POLICY`.
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_thread_sched_policy(&self) -> Result<i32> {
        Ok(self.read_thread_options(|t| t.policy))
    }

    /// `ZMQ_THREAD_NAME_PREFIX`: the I/O threads are named
    /// `prefix/zeroring-io` (cut to the 15 bytes Linux keeps) instead of
    /// `zeroring-io`, so `top -H` tells programs apart. libzmq takes a
    /// number or up to 16 bytes; so does this (`"7"` for libzmq's 7).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] for an empty prefix, one over 16 bytes or
    /// one holding a NUL; [`Error::WrongState`] once the I/O threads run.
    pub fn set_thread_name_prefix(&self, prefix: &str) -> Result<()> {
        if prefix.is_empty() || prefix.len() > PREFIX_MAX || prefix.contains('\0') {
            return Err(Error::InvalidArgument(
                "a thread name prefix is 1 to 16 bytes, without NUL",
            ));
        }
        self.thread_option(|t| {
            t.name_prefix = prefix.to_owned();
            Ok(())
        })
    }

    /// `ZMQ_THREAD_NAME_PREFIX` (empty if none was set).
    ///
    /// # Errors
    ///
    /// None; a `Result` as the other getters.
    pub fn get_thread_name_prefix(&self) -> Result<String> {
        Ok(self.read_thread_options(|t| t.name_prefix.clone()))
    }

    /// Changes the I/O threads' options, unless they run already.
    fn thread_option(&self, change: impl FnOnce(&mut ThreadOptions) -> Result<()>) -> Result<()> {
        let mut pool = self.inner.io.lock().unwrap_or_else(|e| e.into_inner());
        if !pool.threads.is_empty() {
            return Err(Error::WrongState);
        }
        change(&mut pool.thread_opts)
    }

    fn read_thread_options<T>(&self, read: impl FnOnce(&ThreadOptions) -> T) -> T {
        let pool = self.inner.io.lock().unwrap_or_else(|e| e.into_inner());
        read(&pool.thread_opts)
    }
}
