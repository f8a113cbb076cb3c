//! How a context's I/O threads are named, pinned and scheduled: libzmq's
//! `ZMQ_THREAD_NAME_PREFIX`, `_AFFINITY_CPU_ADD`/`_REMOVE`, `_PRIORITY`
//! and `_SCHED_POLICY` context options, applied as its `thread.cpp` does,
//! on the new thread before it serves anything.

use std::collections::BTreeSet;
use std::io;

/// The name of an I/O thread without a prefix.
const BASE_NAME: &str = "zeroring-io";
/// Linux keeps this many bytes of a thread's name.
const NAME_MAX: usize = 15;

/// The I/O threads' settings, fixed once they start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ThreadOptions {
    /// CPUs the threads may run on; empty: wherever the OS likes.
    pub cpus: BTreeSet<usize>,
    /// `ZMQ_THREAD_PRIORITY`; -1 leaves the OS's.
    pub priority: i32,
    /// `ZMQ_THREAD_SCHED_POLICY` (`SCHED_*` of sched.h); -1 leaves the OS's.
    pub policy: i32,
    /// `ZMQ_THREAD_NAME_PREFIX`; empty for none.
    pub name_prefix: String,
}

impl Default for ThreadOptions {
    fn default() -> Self {
        ThreadOptions {
            cpus: BTreeSet::new(),
            priority: -1,
            policy: -1,
            name_prefix: String::new(),
        }
    }
}

impl ThreadOptions {
    /// The threads' name: `zeroring-io`, or `prefix/zeroring-io` cut to
    /// the 15 bytes Linux keeps (libzmq's are `prefix/ZMQbg/IO/n`, cut so).
    pub fn name(&self) -> String {
        if self.name_prefix.is_empty() {
            return BASE_NAME.to_owned();
        }
        let mut name = format!("{}/{BASE_NAME}", self.name_prefix);
        let mut end = NAME_MAX.min(name.len());
        while !name.is_char_boundary(end) {
            end -= 1;
        }
        name.truncate(end);
        name
    }

    /// Applies the CPU set and scheduling to the calling thread, as
    /// libzmq's `applySchedulingParameters`: the policy and (for
    /// `SCHED_FIFO`/`SCHED_RR`) the priority through
    /// `pthread_setschedparam`; for other policies a priority means "as
    /// favoured as can be", so the nice value goes to -20.
    ///
    /// # Errors
    ///
    /// What the OS refuses (EPERM without the privilege, EINVAL for a
    /// priority out of the policy's range, a CPU this machine lacks), where
    /// libzmq would abort the process.
    pub fn apply_to_current_thread(&self) -> io::Result<()> {
        if self.policy != -1 || self.priority != -1 {
            set_scheduling(self.policy, self.priority)?;
        }
        if !self.cpus.is_empty() {
            let mut set = nix::sched::CpuSet::new();
            for &cpu in &self.cpus {
                set.set(cpu).map_err(io::Error::from)?;
            }
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
                .map_err(io::Error::from)?;
        }
        Ok(())
    }
}

/// The calling thread's policy and priority, each kept when -1.
fn set_scheduling(policy: i32, priority: i32) -> io::Result<()> {
    let mut current = 0;
    // SAFETY: sched_param is plain integers, for which all zeroes is valid.
    let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
    // SAFETY: pthread_self() names the calling thread, alive throughout;
    // both out-pointers are valid for writes.
    let rc = unsafe { libc::pthread_getschedparam(libc::pthread_self(), &mut current, &mut param) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    let policy = if policy == -1 { current } else { policy };
    let nice_instead = policy != libc::SCHED_FIFO && policy != libc::SCHED_RR;
    if priority != -1 {
        // Other policies take priority 0 only.
        param.sched_priority = if nice_instead { 0 } else { priority };
    }
    // SAFETY: as above; `param` is initialised.
    let rc = unsafe { libc::pthread_setschedparam(libc::pthread_self(), policy, &param) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    if nice_instead && priority != -1 {
        // On Linux a thread's nice value is its own: this one's only.
        nix::errno::Errno::clear();
        // SAFETY: nice has no memory effects; -1 with errno set is failure.
        let rc = unsafe { libc::nice(-20) };
        if rc == -1 && nix::errno::Errno::last_raw() != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_to_what_linux_keeps() {
        let mut t = ThreadOptions::default();
        assert_eq!(t.name(), "zeroring-io");
        t.name_prefix = "7".into();
        assert_eq!(t.name(), "7/zeroring-io");
        t.name_prefix = "long-prefix".into();
        assert_eq!(t.name(), "long-prefix/zer");
        t.name_prefix = "ééééééé".into();
        assert!(t.name().len() <= NAME_MAX);
    }
}
