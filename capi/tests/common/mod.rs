//! What the C-ABI tests share: where this package's libzmq.so.5 is, how to
//! compile C against it, and running a program with a bounded time.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The package's directory (capi/).
pub fn capi_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put the libzmq.so built with these tests (beside them, in
/// target/<profile>/deps: `cargo test` does not copy it up to
/// target/<profile>); makes the libzmq.so.5 link beside it that programs
/// linked against it look for.
pub fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .expect("target/<profile>/deps/<test>")
        .to_path_buf();
    let so = dir.join("libzmq.so");
    assert!(
        so.exists(),
        "{} is missing: build the package first (cargo build -p zeroring-capi)",
        so.display()
    );
    let so5 = dir.join("libzmq.so.5");
    if std::fs::read_link(&so5).is_err() {
        let _ = std::fs::remove_file(&so5);
        // Another test may make it at the same moment.
        if let Err(e) = std::os::unix::fs::symlink("libzmq.so", &so5) {
            assert!(so5.exists(), "cannot make {}: {e}", so5.display());
        }
    }
    dir
}

/// A scratch directory for this test's builds (under target/).
pub fn scratch(name: &str) -> PathBuf {
    let dir = lib_dir().join("..").join("capi-tests").join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Compiles C or C++ `sources` into `out`, against our zmq.h and
/// libzmq.so.5 (found at run time through the rpath).
pub fn compile(
    compiler: &str,
    sources: &[PathBuf],
    out: &Path,
    extra: &[&str],
) -> Result<(), String> {
    let lib = lib_dir();
    let output = Command::new(compiler)
        .args(sources)
        .arg("-o")
        .arg(out)
        .arg(format!("-I{}", capi_dir().join("include").display()))
        .args(extra)
        .arg(format!("-L{}", lib.display()))
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-lzmq")
        .arg("-lpthread")
        .output()
        .map_err(|e| format!("cannot run {compiler}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// A command for `program`, finding this package's libzmq.so.5 first
/// (cargo's LD_LIBRARY_PATH, which comes before a program's rpath, may
/// name other directories holding one).
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    let mut path = lib_dir().into_os_string();
    if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
        path.push(":");
        path.push(old);
    }
    cmd.env("LD_LIBRARY_PATH", path);
    cmd
}

/// Runs `cmd` to its end or until `limit` passes (then kills it: `None`).
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read the pipes on threads so a chatty program never blocks on them.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    status.map(|status| Output {
        status,
        stdout,
        stderr,
    })
}
