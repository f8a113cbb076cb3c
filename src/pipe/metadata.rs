//! What a pipe knows of the connection behind it: the properties
//! `zmq_msg_gets` gives of a message received through it.
//!
//! The I/O thread sets them once a connection's handshake is done (again
//! at each reconnect of a connecter, whose pipe outlives its connections);
//! a reader asks only when the application asks (`Socket::recv` into a
//! `Message`), and pays one atomic load and a reference count while they
//! stay the same. Pipes of inproc peers never have any.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A connection's properties, shared by every message received on it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PeerMetadata {
    /// Name and value, in the order the peer sent them, then ours. Each
    /// value ends with a NUL that [`get`](Self::get) leaves out, so that
    /// [`get_c`](Self::get_c) hands C callers (`zmq_msg_gets`) a string.
    properties: Vec<(String, Vec<u8>)>,
    /// The descriptor of the connection's socket (libzmq's `ZMQ_SRCFD`).
    src_fd: Option<i32>,
}

impl PeerMetadata {
    /// Records the descriptor of the connection's socket.
    pub(crate) fn set_src_fd(&mut self, fd: i32) {
        self.src_fd = Some(fd);
    }

    /// The descriptor of the connection's socket (tcp, or ipc's unix
    /// socket, kept open beside shared memory), while it is open.
    pub fn src_fd(&self) -> Option<i32> {
        self.src_fd
    }

    /// Adds a property, unless one of the name is there (as libzmq's map
    /// keeps the first).
    pub(crate) fn insert(&mut self, name: &str, value: impl Into<Vec<u8>>) {
        if self.properties.iter().all(|(n, _)| n != name) {
            let mut value = value.into();
            value.push(0);
            self.properties.push((name.to_owned(), value));
        }
    }

    /// The value of `name`, matched exactly as libzmq's `zmq_msg_gets`
    /// does (case and all); `Identity` falls back to `Routing-Id`, as there.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.get_with_nul(name).map(|v| &v[..v.len() - 1])
    }

    /// As [`get`](Self::get), as a C string: it ends at the value's first
    /// NUL (a value may hold one; C cannot see past it).
    pub fn get_c(&self, name: &str) -> Option<&std::ffi::CStr> {
        self.get_with_nul(name)
            .and_then(|v| std::ffi::CStr::from_bytes_until_nul(v).ok())
    }

    /// The value of `name` with its trailing NUL.
    fn get_with_nul(&self, name: &str) -> Option<&[u8]> {
        let found = self
            .properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice());
        match found {
            None if name == "Identity" => self.get_with_nul("Routing-Id"),
            found => found,
        }
    }
}

/// The slot in a pipe's control block; both ends see one.
#[derive(Debug, Default)]
pub(crate) struct MetadataSlot {
    /// Bumped at every change: 0 while nothing was ever set.
    generation: AtomicU64,
    current: Mutex<Option<Arc<PeerMetadata>>>,
}

impl MetadataSlot {
    /// Sets the connection's properties (`None`: none).
    pub fn set(&self, md: Option<Arc<PeerMetadata>>) {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *current = md;
        // Under the lock, so that a reader holding it reads the generation
        // of the value it takes.
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The properties, through a reader's cache: `seen` is the generation
    /// `cached` came from.
    #[inline(always)]
    pub fn read(&self, seen: &mut u64, cached: &mut Option<Arc<PeerMetadata>>) {
        if self.generation.load(Ordering::Acquire) != *seen {
            self.read_changed(seen, cached);
        }
    }

    #[cold]
    #[inline(never)]
    fn read_changed(&self, seen: &mut u64, cached: &mut Option<Arc<PeerMetadata>>) {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        // Changed only under the lock: this generation is the value's.
        *seen = self.generation.load(Ordering::Relaxed);
        *cached = current.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_are_libzmqs() {
        let mut md = PeerMetadata::default();
        md.insert("Socket-Type", "DEALER");
        md.insert("X-hello", "world");
        md.insert("X-hello", "again");
        assert_eq!(md.get("X-hello"), Some(&b"world"[..]));
        assert_eq!(md.get_c("X-hello").unwrap().to_bytes(), b"world");
        assert_eq!(md.get("x-hello"), None, "exact names, as libzmq");
        assert_eq!(md.get("Identity"), None);
        md.insert("Routing-Id", "id");
        assert_eq!(md.get("Identity"), Some(&b"id"[..]));
        assert_eq!(md.properties.len(), 3);
    }

    #[test]
    fn readers_follow_changes() {
        let slot = MetadataSlot::default();
        let (mut seen, mut cached) = (0, None);
        slot.read(&mut seen, &mut cached);
        assert!(cached.is_none());
        let md = Arc::new(PeerMetadata::default());
        slot.set(Some(md.clone()));
        slot.read(&mut seen, &mut cached);
        assert!(Arc::ptr_eq(cached.as_ref().unwrap(), &md));
        slot.set(None);
        slot.read(&mut seen, &mut cached);
        assert!(cached.is_none());
    }
}
