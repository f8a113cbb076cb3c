//! The libzmq 4.3.4 CURVE peer (`interop/libzmq-curve-peer`, a program of
//! its own: the `zmq` crate's libzmq has no CURVE, and a second static
//! libzmq cannot be linked beside it): finding or building it, and running
//! its perf modes, and driving it line by line as a socket (`Peer`). Shared
//! by tests/curve_interop.rs, tests/threadsafe_interop.rs, benches/curve.rs
//! and examples/curve_compare.rs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// How long building the peer (libsodium and libzmq from source) may take.
pub const BUILD_BOUND: Duration = Duration::from_secs(30 * 60);
/// How long one perf run of the peer may take before it is killed.
pub const PERF_BOUND: Duration = Duration::from_secs(120);
/// How long a [`Peer`] may take to answer one command, or to end.
pub const ANSWER_BOUND: Duration = Duration::from_secs(30);

/// The peer program: `ZERORING_CURVE_PEER` if set (CI builds it in a step
/// of its own), else built once per process with
/// `cargo build --release` in interop/libzmq-curve-peer (which does
/// nothing if it is up to date); if that build fails but an earlier build
/// is there, that one, with a warning. `Err` says why there is none.
pub fn curve_peer() -> Result<PathBuf, String> {
    static PROGRAM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PROGRAM.get_or_init(locate_or_build).clone()
}

fn locate_or_build() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ZERORING_CURVE_PEER") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("ZERORING_CURVE_PEER={} is no file", p.display()))
        };
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/libzmq-curve-peer");
    let program = dir.join("target/release/libzmq-curve-peer");
    let built = build(&dir);
    match built {
        Ok(()) => Ok(program),
        Err(why) if program.is_file() => {
            eprintln!(
                "warning: building the libzmq CURVE peer failed ({why}); using the earlier build {}",
                program.display()
            );
            Ok(program)
        }
        Err(why) => Err(format!("building the libzmq CURVE peer failed: {why}")),
    }
}

fn build(dir: &Path) -> Result<(), String> {
    let mut build = Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .spawn()
        .map_err(|e| format!("cargo does not run: {e}"))?;
    let status = wait_bounded(&mut build, BUILD_BOUND, "cargo build")?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build: {status}"))
    }
}

/// The peer's perf modes: libzmq's CURVE, measured inside the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Perf {
    /// PUSH to PULL, `count` messages, timed from the first received to
    /// the last (as libzmq's local_thr).
    Thr,
    /// REQ/REP, `count` round trips after an untimed one.
    Lat,
}

/// Runs `program`'s perf mode once: two contexts, the binding socket the
/// CURVE server; the application threads pinned to `cpus` (receiver or
/// REQ first) if given. The elapsed time it reports.
pub fn libzmq_perf(
    program: &Path,
    perf: Perf,
    count: u64,
    size: usize,
    cpus: Option<(usize, usize)>,
) -> Result<Duration, String> {
    let mut cmd = Command::new(program);
    cmd.arg(match perf {
        Perf::Thr => "perf-thr",
        Perf::Lat => "perf-lat",
    })
    .arg(count.to_string())
    .arg(size.to_string());
    if let Some((a, b)) = cpus {
        cmd.arg(a.to_string()).arg(b.to_string());
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{} does not start: {e}", program.display()))?;
    let status = wait_bounded(&mut child, PERF_BOUND, "the libzmq CURVE peer")?;
    // Its output is a line or two: the pipes cannot have filled.
    let mut out = String::new();
    let mut err = String::new();
    let _ = child.stdout.take().unwrap().read_to_string(&mut out);
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    if !status.success() {
        return Err(format!(
            "the libzmq CURVE peer failed ({status}): {}",
            err.trim()
        ));
    }
    out.lines()
        .find_map(|l| l.strip_prefix("elapsed_ns "))
        .and_then(|n| n.trim().parse().ok())
        .map(Duration::from_nanos)
        .ok_or_else(|| format!("the libzmq CURVE peer said {:?}", out.trim()))
}

/// Waits for `child` (`what`, for the error) to end, at most `bound`;
/// past it the child is killed and reaped.
fn wait_bounded(
    child: &mut std::process::Child,
    bound: Duration,
    what: &str,
) -> Result<std::process::ExitStatus, String> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} ran over {bound:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The peer as a socket (`TYPE bind|connect ENDPOINT ROLE...`), driven by
/// lines: a command on its stdin, its answer on its stdout.
pub struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    /// The endpoint it bound (or connects to).
    pub endpoint: String,
}

impl Peer {
    /// Starts a `kind` socket (libzmq's name) that binds or connects to
    /// `endpoint`; `role` is its mechanism's arguments (`none`, or
    /// `server`/`client` and keys). Returns once it says it is ready.
    pub fn start(kind: &str, bind: bool, endpoint: &str, role: &[&str]) -> Peer {
        let program = curve_peer().unwrap_or_else(|why| panic!("{why}"));
        let mut child = Command::new(program)
            .arg(kind)
            .arg(if bind { "bind" } else { "connect" })
            .arg(endpoint)
            .args(role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the peer starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut peer = Peer {
            child,
            stdin,
            lines,
            endpoint: String::new(),
        };
        let ready = peer.line();
        peer.endpoint = ready
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the peer said {ready:?}"))
            .to_owned();
        peer
    }

    /// Its next line, within [`ANSWER_BOUND`].
    pub fn line(&mut self) -> String {
        self.lines
            .recv_timeout(ANSWER_BOUND)
            .unwrap_or_else(|_| panic!("the libzmq peer said nothing within {ANSWER_BOUND:?}"))
    }

    /// Sends a command; its answer.
    pub fn cmd(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        self.stdin.flush().unwrap();
        self.line()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        // Past the bound it is killed: nothing more to do either way.
        let _ = wait_bounded(&mut self.child, ANSWER_BOUND, "the libzmq peer");
    }
}

/// Bytes as the peer's commands spell them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of the peer's hex.
pub fn unhex(text: &str) -> Vec<u8> {
    (0..text.len() / 2)
        .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}
