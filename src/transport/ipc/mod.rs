//! `ipc://`: processes on one host, over a unix stream socket.
//!
//! A connection starts as ZMTP 3.1 over the unix socket (so libzmq's ipc
//! peers interoperate), run by the same engine and I/O thread as tcp. The
//! binder listens at a path (`ipc:///abs/path`, `ipc://relative/path`) or at
//! a Linux abstract name (`ipc://@name`).
//!
//! A socket file is created with mode 0600 (only its user may connect): it
//! is bound inside a fresh private directory, given its mode, then linked
//! into place, so nobody can reach it before the mode is set, and of two
//! binders of one path only one can succeed. A file left by a crashed
//! binder (a connect is refused) is replaced, on any path length; one that
//! a live process listens on is not (`AddrInUse`). Unbinding, or dropping
//! the socket, removes the file if it is still ours. An abstract name
//! (`@name`) admits only processes of our user.

pub(crate) mod mpsc_segment;
pub(crate) mod pool;
pub(crate) mod segment;
pub(crate) mod shm;

use crate::error::{Error, Result};
use crate::monitor;
use crate::transport::stream::{IpcFilters, Listener, PeerFilter};
use crate::transport::tcp::{IoThread, SocketDesc};
use nix::fcntl::{Flock, FlockArg};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of the socket files we create: the user only.
const FILE_MODE: u32 = 0o600;
/// The longest a bind waits for its turn in a directory.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// `sun_path`'s size, terminating NUL included.
const SUN_PATH: usize = 108;

/// The address of an `ipc://` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IpcAddr {
    /// A socket file (relative paths are taken from the working directory
    /// when used).
    Path(PathBuf),
    /// A Linux abstract socket name (without the leading NUL).
    Abstract(Vec<u8>),
}

impl IpcAddr {
    /// Parses the part after `ipc://`.
    pub fn parse(endpoint: &str, address: &str) -> Result<IpcAddr> {
        let invalid = |reason| Error::InvalidEndpoint {
            endpoint: endpoint.to_owned(),
            reason,
        };
        if address.contains('\0') {
            return Err(invalid("the path contains a NUL byte"));
        }
        if let Some(name) = address.strip_prefix('@') {
            if name.is_empty() || name.len() >= SUN_PATH {
                return Err(invalid("an abstract name takes 1 to 106 bytes"));
            }
            return Ok(IpcAddr::Abstract(name.as_bytes().to_vec()));
        }
        if address == "*" {
            return Err(invalid("wildcard ipc endpoints are not supported"));
        }
        if address.len() >= SUN_PATH {
            return Err(invalid("the path is longer than a unix socket allows"));
        }
        Ok(IpcAddr::Path(PathBuf::from(address)))
    }

    /// As std's socket address.
    pub fn to_std(&self) -> io::Result<std::os::unix::net::SocketAddr> {
        match self {
            IpcAddr::Path(p) => std::os::unix::net::SocketAddr::from_pathname(p),
            IpcAddr::Abstract(name) => std::os::unix::net::SocketAddr::from_abstract_name(name),
        }
    }
}

/// A socket file we created, identified by its inode so that we never
/// remove a file someone else has bound since.
#[derive(Debug)]
pub(crate) struct BoundFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl BoundFile {
    /// Removes the file if it is still the one we bound.
    pub fn remove(&self) {
        if let Ok(md) = std::fs::symlink_metadata(&self.path) {
            if md.dev() == self.dev && md.ino() == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Binds a listener for `desc`'s socket at `addr` and hands it to the I/O
/// thread. Returns the file to remove on unbind (none for abstract names)
/// and the listener's descriptor. Reports LISTENING or BIND_FAILED.
///
/// With `use_fd` (ZMQ_USE_FD) it listens on a duplicate of that
/// descriptor instead, and leaves any file at `addr` alone, as libzmq.
/// A listener it makes queues BACKLOG connections.
pub(crate) fn bind(
    io: &IoThread,
    endpoint: &str,
    addr: &IpcAddr,
    desc: SocketDesc,
    filters: &IpcFilters,
    use_fd: Option<RawFd>,
) -> Result<(Option<BoundFile>, RawFd)> {
    let bound = match (use_fd, addr) {
        (Some(fd), _) => {
            crate::transport::use_fd::adopt(fd, crate::transport::use_fd::Family::Unix).map(|s| {
                (
                    std::os::unix::net::UnixListener::from(std::os::fd::OwnedFd::from(s)),
                    None,
                )
            })
        }
        (None, IpcAddr::Abstract(_)) => addr
            .to_std()
            .and_then(|a| std::os::unix::net::UnixListener::bind_addr(&a))
            .map(|l| (l, None)),
        (None, IpcAddr::Path(path)) => bind_path(path),
    };
    // std listens with its own backlog; listening again sets ours.
    let bound = bound.and_then(|(l, file)| {
        if use_fd.is_none() {
            socket2::SockRef::from(&l).listen(desc.net.backlog)?;
        }
        Ok((l, file))
    });
    // Any user may connect to an abstract name (there is no file mode to
    // stop them), and peers write our doorbell: only our user's may stay,
    // unless the socket's filters say who may.
    let filter = match addr {
        _ if !filters.is_empty() => PeerFilter::Listed(filters.clone()),
        IpcAddr::Abstract(_) => PeerFilter::SameUser,
        IpcAddr::Path(_) => PeerFilter::Any,
    };
    let (listener, file) = bound.map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(0) as u32;
        desc.shared
            .monitor
            .emit(monitor::EVENT_BIND_FAILED, errno, endpoint);
        match e.kind() {
            io::ErrorKind::AddrInUse => Error::AddrInUse(endpoint.to_owned()),
            _ => Error::Io(e),
        }
    })?;
    listener.set_nonblocking(true)?;
    let fd = listener.as_raw_fd();
    desc.shared
        .monitor
        .emit(monitor::EVENT_LISTENING, fd as u32, endpoint);
    io.listen(
        Listener::Unix(mio::net::UnixListener::from_std(listener), filter),
        endpoint.to_owned(),
        desc,
    );
    Ok((file, fd))
}

/// Binds a socket file at `path` with mode 0600, replacing a stale one.
/// Binders of one directory take turns (an exclusive `flock` on it), so
/// that a stale file's check, removal and replacement are one step; the
/// socket then appears with `link(2)`, which never replaces a file, so of
/// any number of simultaneous binders exactly one wins.
fn bind_path(path: &Path) -> io::Result<(std::os::unix::net::UnixListener, Option<BoundFile>)> {
    let path = std::env::current_dir()?.join(path);
    let parent = path.parent().ok_or(io::ErrorKind::InvalidInput)?;
    let _turn = lock_dir(parent)?;
    if let Ok(md) = std::fs::symlink_metadata(&path) {
        if !md.file_type().is_socket() {
            // Not ours to replace, whatever it is.
            return Err(io::ErrorKind::AddrInUse.into());
        }
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_) => return Err(io::ErrorKind::AddrInUse.into()),
            // Nobody listens: a crashed binder's leftover.
            Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                std::fs::remove_file(&path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let dir = private_dir(parent)?;
    let bound = bind_then_link(&dir, &path);
    let _ = std::fs::remove_file(dir.path.join("s"));
    let _ = std::fs::remove_dir(&dir.path);
    let listener = bound?;
    let md = std::fs::symlink_metadata(&path)?;
    Ok((
        listener,
        Some(BoundFile {
            path,
            dev: md.dev(),
            ino: md.ino(),
        }),
    ))
}

/// Takes `dir`'s exclusive `flock`, waiting at most [`LOCK_WAIT`]: anyone
/// who can read the directory can hold it, and a bind must not hang on
/// them.
fn lock_dir(dir: &Path) -> io::Result<Flock<std::fs::File>> {
    let mut file = std::fs::File::open(dir)?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    let mut pause = std::time::Duration::from_micros(100);
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if std::time::Instant::now() < deadline => {
                file = f;
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(10));
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "another process holds the directory's lock for binding",
                ))
            }
            Err((_, e)) => return Err(e.into()),
        }
    }
}

/// Binds at `dir/s` (a directory only we can enter), sets the mode, and
/// links the socket at `path`, which must not exist.
fn bind_then_link(dir: &PrivateDir, path: &Path) -> io::Result<std::os::unix::net::UnixListener> {
    // The directory's descriptor names it in few bytes, whatever the
    // length of its path: a socket address holds only 107.
    let short = format!("/proc/self/fd/{}/s", dir.fd.as_raw_fd());
    let l = std::os::unix::net::UnixListener::bind(short)?;
    let tmp = dir.path.join("s");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(FILE_MODE))?;
    std::fs::hard_link(&tmp, path).map_err(|e| match e.kind() {
        // Another binder's file appeared since the check.
        io::ErrorKind::AlreadyExists => io::ErrorKind::AddrInUse.into(),
        _ => e,
    })?;
    Ok(l)
}

/// A new directory, mode 0700, and its open descriptor.
struct PrivateDir {
    path: PathBuf,
    fd: std::fs::File,
}

/// A new private directory in `parent` (beside the socket file, so that
/// a link from it stays on one file system).
fn private_dir(parent: &Path) -> io::Result<PrivateDir> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // Names are guessable: give up on a directory strewn with them.
    for _ in 0..1000 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!(".zr{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            // Left by a crashed process that had our pid: take the next.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            made => made?,
        }
        let fd = std::fs::File::open(&path)?;
        return Ok(PrivateDir { path, fd });
    }
    Err(io::ErrorKind::AlreadyExists.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_abstract_names() {
        let p = |a: &str| IpcAddr::parse("ipc://x", a);
        assert_eq!(p("/tmp/a").unwrap(), IpcAddr::Path("/tmp/a".into()));
        assert_eq!(p("rel/a").unwrap(), IpcAddr::Path("rel/a".into()));
        assert_eq!(p("@name").unwrap(), IpcAddr::Abstract(b"name".to_vec()));
        assert!(p("@").is_err());
        assert!(p("*").is_err());
        assert!(p(&"x".repeat(200)).is_err());
        assert!(p("a\0b").is_err());
    }
}
