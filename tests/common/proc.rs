//! Child processes for multi-process tests: the test binary re-executes
//! itself, running only its `child_entry` test with a role in the
//! environment; the child talks back through its stdout, one line a fact,
//! and hears the parent on its stdin.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The variable that holds a child's role (absent in the parent).
pub const ROLE: &str = "ZR_TEST_CHILD_ROLE";

/// What precedes a child's fact on its stdout.
const MARK: &str = "<zr-fact>";

/// The role this process was started with, if it is a child.
pub fn role() -> Option<Vec<String>> {
    std::env::var(ROLE)
        .ok()
        .map(|r| r.split('\u{1f}').map(str::to_owned).collect())
}

/// A running child and the lines it prints.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
}

/// Starts this test binary as a child with `role` (words).
pub fn spawn(role: &[&str]) -> Proc {
    spawn_with(role, |_| {})
}

/// As [`spawn`], running as user `uid` (the parent must be root).
pub fn spawn_as(role: &[&str], uid: u32) -> Proc {
    use std::os::unix::process::CommandExt;
    spawn_with(role, |c| {
        c.uid(uid).gid(uid);
    })
}

fn spawn_with(role: &[&str], configure: impl FnOnce(&mut Command)) -> Proc {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, role.join("\u{1f}"))
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .stderr(Stdio::inherit());
    configure(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stdout: ChildStdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            // The harness prints its own words too, maybe on the same line
            // (the test's name before it runs): ours follow a marker.
            if let Some((_, fact)) = line.split_once(MARK) {
                if tx.send(fact.to_owned()).is_err() {
                    return;
                }
            }
        }
    });
    Proc { child, lines }
}

/// In a child: tells the parent `fact`.
pub fn tell(fact: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARK}{fact}");
    let _ = out.flush();
}

/// In a child: waits for the parent to say something (see [`Proc::say`]);
/// panics if the parent goes first.
pub fn hear() -> String {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    assert!(!line.is_empty(), "the parent is gone");
    line.trim_end().to_owned()
}

impl Proc {
    /// Tells the child `word` (it waits with [`hear`]).
    pub fn say(&mut self, word: &str) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{word}").unwrap();
        stdin.flush().unwrap();
    }

    /// The child's next fact; panics if none comes within `within`.
    pub fn next(&self, within: Duration) -> String {
        self.lines
            .recv_timeout(within)
            .unwrap_or_else(|e| panic!("child said nothing within {within:?}: {e}"))
    }

    /// The child's next fact, if one comes within `within`.
    pub fn try_next(&self, within: Duration) -> Result<String, mpsc::RecvTimeoutError> {
        self.lines.recv_timeout(within)
    }

    /// Waits for the fact `want`, skipping others; panics on a timeout.
    pub fn expect(&self, want: &str, within: Duration) {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if self.next(left) == want {
                return;
            }
        }
    }

    /// Every fact told so far, once the child has exited (its stdout closed).
    pub fn rest(&self, within: Duration) -> Vec<String> {
        let deadline = std::time::Instant::now() + within;
        let mut all = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => all.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => return all,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("child's output never ended"),
            }
        }
    }

    /// SIGKILL, and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the child to exit on its own; kills it and panics after
    /// `within`.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        if !exits_within(self.child.id(), within) {
            self.kill();
            panic!("child did not exit within {within:?}");
        }
        self.child.wait().unwrap()
    }

    /// Waits for a successful exit.
    pub fn success(&mut self, within: Duration) {
        let status = self.wait(within);
        assert!(status.success(), "child failed: {status}");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Mappings of this process whose name contains `name` (memfds show as
/// `/memfd:NAME (deleted)`), and descriptors pointing at such files.
pub fn memfds(name: &str) -> (usize, usize) {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mapped = maps.lines().filter(|l| l.contains(name)).count();
    let fds = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|p| p.to_string_lossy().contains(name))
        .count();
    (mapped, fds)
}

/// Whether process `pid` (our unreaped child) exits within `within`: a
/// pidfd becomes readable when it does, so this sleeps in `poll(2)` on the
/// event itself.
fn exits_within(pid: u32, within: Duration) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; nothing is borrowed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    assert!(fd >= 0, "pidfd_open: {}", std::io::Error::last_os_error());
    let fd = fd as libc::c_int;
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(within.as_millis()).unwrap_or(libc::c_int::MAX);
    let ready = loop {
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n >= 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break n > 0;
        }
    };
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    ready
}

/// Address ranges of this process's mappings whose name contains `name`
/// (a shared segment's memfd name, e.g. `zeroring-pipe`).
pub fn mappings(name: &str) -> Vec<(usize, usize)> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines()
        .filter(|l| l.contains(name))
        .map(|l| {
            let (range, _) = l.split_once(' ').unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            (
                usize::from_str_radix(lo, 16).unwrap(),
                usize::from_str_radix(hi, 16).unwrap(),
            )
        })
        .collect()
}

/// Writes a garbage word over every word of this process's mappings named
/// like `name` (shared segments): impossible cursors, lengths and records,
/// to break the peer's trust in them.
pub fn scribble(name: &str) {
    let segments = mappings(name);
    assert!(!segments.is_empty(), "no {name} segment was mapped");
    for (lo, hi) in segments {
        for addr in (lo..hi).step_by(8) {
            // SAFETY: a mapping of ours, writable (shared rw); the point is
            // to break the peer's trust in it.
            unsafe { (addr as *mut u64).write_volatile(0xdead_beef_dead_beef) };
        }
    }
}
