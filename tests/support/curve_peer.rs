//! The libzmq 4.3.4 CURVE peer (`interop/libzmq-curve-peer`, a program of
//! its own: the `zmq` crate's libzmq has no CURVE, and a second static
//! libzmq cannot be linked beside it): finding or building it, and running
//! its perf modes. Shared by tests/curve_interop.rs, benches/curve.rs and
//! examples/curve_compare.rs.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long building the peer (libsodium and libzmq from source) may take.
pub const BUILD_BOUND: Duration = Duration::from_secs(30 * 60);
/// How long one perf run of the peer may take before it is killed.
pub const PERF_BOUND: Duration = Duration::from_secs(120);

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
