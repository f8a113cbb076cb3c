//! Shared-memory segments: anonymous memfds, sealed at their size, mapped
//! by both processes.
//!
//! A segment never has a name in the file system (no `/dev/shm` leftovers
//! after a crash): it lives as long as a descriptor or a mapping of it
//! does. Its mode is 0600. The creator seals it against growing and
//! shrinking before passing it on, and the receiver checks the seals, so
//! neither side can truncate it under the other's mapping (a SIGBUS).

use memmap2::{MmapOptions, MmapRaw};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::stat::{fchmod, fstat, Mode};
use nix::sys::statfs::{fstatfs, TMPFS_MAGIC};
use std::ffi::CStr;
use std::io;
use std::os::fd::OwnedFd;
use std::ptr::NonNull;

/// The seals every segment carries: its size is fixed, and so are the seals.
fn required_seals() -> SealFlag {
    SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL
}

/// A mapped segment. Kept alive (behind an `Arc`) by whatever points into it.
pub(crate) struct Segment {
    /// A raw mapping: memmap2's type for memory others change under us.
    map: MmapRaw,
}

impl Segment {
    /// A new zero-filled segment of `len` bytes named `name` (the name only
    /// shows in /proc), and its descriptor, to pass to a peer.
    pub fn create(name: &CStr, len: usize) -> io::Result<(Segment, OwnedFd)> {
        let fd = new_memfd(name, len)?;
        fcntl(&fd, FcntlArg::F_ADD_SEALS(required_seals()))?;
        let map = map(&fd, len)?;
        Ok((Segment { map }, fd))
    }

    /// A segment for one writer, not yet sealed for peers: its size is
    /// fixed, but until [`seal_writer_only`](Self::seal_writer_only) its
    /// writer may still punch holes in it (give pages back), which the
    /// write seals forbid.
    pub fn create_unshared(name: &CStr, len: usize) -> io::Result<(Segment, OwnedFd)> {
        let fd = new_memfd(name, len)?;
        fcntl(
            &fd,
            FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW),
        )?;
        let map = map(&fd, len)?;
        Ok((Segment { map }, fd))
    }

    /// Seals a segment from [`create_unshared`](Self::create_unshared)
    /// against every writable mapping but the existing one
    /// (`F_SEAL_FUTURE_WRITE`), and its seals against change: peers can
    /// only read it, and [`open`](Self::open)'s checks pass.
    pub fn seal_writer_only(fd: &OwnedFd) -> io::Result<()> {
        fcntl(
            fd,
            FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_SEAL | SealFlag::F_SEAL_FUTURE_WRITE),
        )?;
        Ok(())
    }

    /// Maps a segment a peer passed us, which must be a memfd sealed as
    /// [`create`](Self::create) seals, of exactly `len` bytes. The
    /// descriptor is closed after (the mapping keeps the memory).
    pub fn open(fd: OwnedFd, len: usize) -> io::Result<Segment> {
        check(&fd, len)?;
        let map = map(&fd, len)?;
        Ok(Segment { map })
    }

    /// As [`open`](Self::open), mapped read-only (a peer's chunk pool).
    pub fn open_read_only(fd: OwnedFd, len: usize) -> io::Result<Segment> {
        check(&fd, len)?;
        let map = MmapOptions::new().len(len).map_raw_read_only(&fd)?;
        Ok(Segment { map })
    }

    /// Maps a segment of ours read-only, unchecked (an in-process reader
    /// of our own chunk pool, which may not be sealed yet).
    pub fn open_own_read_only(fd: &OwnedFd, len: usize) -> io::Result<Segment> {
        let map = MmapOptions::new().len(len).map_raw_read_only(fd)?;
        Ok(Segment { map })
    }

    /// The first byte (page-aligned).
    pub fn base(&self) -> NonNull<u8> {
        // A successful mapping is never at address 0.
        NonNull::new(self.map.as_mut_ptr()).unwrap_or(NonNull::dangling())
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.map.len()
    }
}

/// A new memfd of `len` bytes, mode 0600, not yet sealed.
fn new_memfd(name: &CStr, len: usize) -> io::Result<OwnedFd> {
    let fd = memfd_create(name, MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING)?;
    fchmod(&fd, Mode::from_bits_truncate(0o600))?;
    let size = libc::off_t::try_from(len).map_err(|_| io::ErrorKind::InvalidInput)?;
    nix::unistd::ftruncate(&fd, size)?;
    Ok(fd)
}

/// Whether a peer's descriptor is a memfd (of plain shared memory) sealed
/// against resizing, of exactly `len` bytes.
fn check(fd: &OwnedFd, len: usize) -> io::Result<()> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    // Only a memfd (or other shmem) answers F_GET_SEALS.
    let seals = fcntl(fd, FcntlArg::F_GET_SEALS)
        .map_err(|_| invalid("the segment is not a sealable memfd"))?;
    if !SealFlag::from_bits_truncate(seals).contains(required_seals()) {
        return Err(invalid("the segment is not sealed against resizing"));
    }
    // Only plain shared memory: a hugetlb memfd also takes seals, but its
    // pages may run out when first touched (a SIGBUS).
    if fstatfs(fd).map(|f| f.filesystem_type()) != Ok(TMPFS_MAGIC) {
        return Err(invalid("the segment is not plain shared memory"));
    }
    let st = fstat(fd)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || u64::try_from(st.st_size) != Ok(len as u64) {
        return Err(invalid("the segment has the wrong size"));
    }
    Ok(())
}

/// Maps `len` bytes shared. The segment is sealed against shrinking
/// (checked by our caller, or set by it), so no access within `len` can
/// fault; its contents may change at any time (a peer writes it), which is
/// why it is reached only through raw pointers that the ring and doorbell
/// read with validation.
fn map(fd: &OwnedFd, len: usize) -> io::Result<MmapRaw> {
    MmapOptions::new().len(len).map_raw(fd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn created_segments_open_and_share_memory() {
        let (a, fd) = Segment::create(c"zeroring-test", 8192).unwrap();
        let dup = fd.as_fd().try_clone_to_owned().unwrap();
        let b = Segment::open(dup, 8192).unwrap();
        // SAFETY: both mappings are 8192 bytes; nobody else uses them.
        unsafe {
            a.base().as_ptr().add(100).write(7);
            assert_eq!(b.base().as_ptr().add(100).read(), 7);
        }
        assert_eq!(a.len(), 8192);
        // The wrong size, or a file that is not a sealed memfd, is refused.
        let dup = fd.as_fd().try_clone_to_owned().unwrap();
        assert!(Segment::open(dup, 4096).is_err());
        let unsealed = memfd_create(c"zeroring-test", MFdFlags::MFD_CLOEXEC).unwrap();
        nix::unistd::ftruncate(&unsealed, 4096).unwrap();
        assert!(Segment::open(unsealed, 4096).is_err());
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(Segment::open(file.into(), 4096).is_err());
        // Sealed: nobody can shrink it under our mapping.
        assert!(nix::unistd::ftruncate(&fd, 0).is_err());
    }

    #[test]
    fn hugetlb_memfds_are_refused() {
        let len = 2 << 20;
        let huge = memfd_create(
            c"zeroring-test",
            MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING | MFdFlags::MFD_HUGETLB,
        );
        let Ok(huge) = huge else {
            println!("skipped: no hugetlb memfds here");
            return;
        };
        let sealed = nix::unistd::ftruncate(&huge, len as libc::off_t)
            .and_then(|()| fcntl(&huge, FcntlArg::F_ADD_SEALS(required_seals())));
        if sealed.is_err() {
            println!("skipped: hugetlb memfds cannot be sized and sealed here");
            return;
        }
        // Sized and sealed as asked, but its pages may run out when touched
        // (a hugetlb cgroup's limit): refused before it is mapped.
        let err = Segment::open(huge, len).err().expect("refused");
        assert_eq!(err.to_string(), "the segment is not plain shared memory");
    }
}
