//! The C twins of the Rust perf examples (capi/perf/twins.c, which
//! capi/perf/compare.sh times) compile against include/zmq.h with every
//! warning an error, and each mode moves all its messages and reports in
//! libzmq's tools' format: inproc, and between two processes over ipc and
//! tcp. No figure is judged here: speed is compare.sh's business.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// The twins, compiled once for every test of this file.
fn twins() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let exe = common::scratch("perf_twins").join("twins");
        let src = common::capi_dir().join("perf/twins.c");
        common::compile("cc", &[src], &exe, &["-Wall", "-Werror", "-O1"])
            .unwrap_or_else(|e| panic!("{e}"));
        exe
    })
}

fn run(args: &[&str]) -> Output {
    let out = common::run_bounded(common::command(twins()).args(args), LIMIT)
        .unwrap_or_else(|| panic!("twins {args:?} ran over {LIMIT:?}"));
    assert!(
        out.status.success(),
        "twins {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The number a report line `<label>: <number> ...` gives.
fn figure(out: &Output, label: &str) -> f64 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} line in {stdout:?}"))
}

#[test]
fn inproc_throughput_reports_every_message() {
    let out = run(&["inproc_thr", "32", "20000"]);
    assert_eq!(figure(&out, "message count:"), 20000.0);
    assert!(figure(&out, "mean throughput:") > 0.0);
}

#[test]
fn inproc_latency_reports_its_round_trips() {
    let out = run(&["inproc_lat", "64", "2000"]);
    assert_eq!(figure(&out, "roundtrip count:"), 2000.0);
    assert!(figure(&out, "average latency:") > 0.0);
}

/// `local` binds, `remote` connects, each in a process of its own; both
/// must succeed. Their outputs, the binder's first.
fn pair(local: &str, remote: &str, endpoint: &str, size: &str, count: &str) -> (Output, Output) {
    let exe = twins();
    let mut binder = common::command(exe);
    binder.args([local, endpoint, size, count]);
    let binder = std::thread::spawn(move || common::run_bounded(&mut binder, LIMIT));
    // A connecter before the bind retries until it is there.
    let connecter = run(&[remote, endpoint, size, count]);
    let out = binder
        .join()
        .expect("binder thread")
        .unwrap_or_else(|| panic!("{local} ran over {LIMIT:?}"));
    assert!(
        out.status.success(),
        "{local} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out, connecter)
}

/// A fresh endpoint: tests run at once, each with its own.
fn endpoint(transport: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    match transport {
        "ipc" => format!(
            "ipc://{}",
            common::scratch("perf_twins")
                .join(format!(
                    "ep-{}-{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ))
                .display()
        ),
        _ => {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            format!("tcp://127.0.0.1:{port}")
        }
    }
}

#[test]
fn throughput_between_processes_counts_every_message() {
    for transport in ["ipc", "tcp"] {
        let (out, _) = pair(
            "local_thr",
            "remote_thr",
            &endpoint(transport),
            "32",
            "20000",
        );
        assert_eq!(figure(&out, "message count:"), 20000.0, "{transport}");
    }
}

#[test]
fn latency_between_processes_reports_from_the_requester() {
    for transport in ["ipc", "tcp"] {
        let (_, out) = pair("local_lat", "remote_lat", &endpoint(transport), "64", "500");
        assert_eq!(figure(&out, "roundtrip count:"), 500.0, "{transport}");
    }
}

/// Called by a link named after its mode, as compare.sh calls it.
#[test]
fn a_link_named_after_a_mode_runs_that_mode() {
    let link = common::scratch("perf_twins").join("inproc_thr_twin");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(twins(), &link).expect("symlink");
    let out = common::run_bounded(common::command(&link).args(["32", "1000"]), LIMIT)
        .expect("the link ran over time");
    assert!(out.status.success());
    assert_eq!(figure(&out, "message count:"), 1000.0);
}
