//! pyzmq from PyPI on zeroring: the zguide's hello world (REQ/REP), weather
//! (PUB/SUB with a topic filter), divide and conquer (ventilator, two
//! workers, sink) and a PAIR of processes over ipc (shared memory between
//! zeroring processes), each role a process of its own
//! (tests/py/run_all.py). Run once on the libzmq pyzmq's wheel bundles and
//! once with this package's libzmq.so.5 preloaded (the wheel links its
//! libzmq dynamically, so LD_PRELOAD puts ours in front), the outputs must
//! be the same.
//!
//! Ignored by default (it installs pyzmq into a venv under target/ with
//! pip, and takes a minute): CI runs it with
//! `cargo test -p zeroring-capi --test pyzmq -- --ignored`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// The pyzmq release the test installs.
const PYZMQ: &str = "pyzmq==27.3.0";

fn python_with_pyzmq() -> std::path::PathBuf {
    let venv = common::scratch("pyzmq").join("venv");
    let python = venv.join("bin/python3");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("python3 is needed for this test");
        assert!(made.success(), "python3 -m venv failed");
    }
    let has = Command::new(&python)
        .args(["-c", "import zmq"])
        .output()
        .expect("venv python");
    if !has.status.success() {
        let out = common::run_bounded(
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--only-binary",
                ":all:",
                PYZMQ,
            ]),
            Duration::from_secs(300),
        )
        .expect("pip install ran over 300 s");
        assert!(
            out.status.success(),
            "pip install {PYZMQ} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    python
}

fn run_all(python: &Path, preload: Option<&Path>, workdir: &Path) -> String {
    let script = common::capi_dir().join("tests/py/run_all.py");
    std::fs::create_dir_all(workdir).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(&script).arg(workdir);
    if let Some(lib) = preload {
        cmd.env("LD_PRELOAD", lib);
    }
    let out =
        common::run_bounded(&mut cmd, Duration::from_secs(300)).expect("run_all.py ran over 300 s");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "run_all.py failed ({}):\n{stdout}\n{}",
        preload.map_or("libzmq", |_| "zeroring"),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
#[ignore = "installs pyzmq from PyPI; CI runs it with --ignored"]
fn pyzmq_programs_print_the_same_on_zeroring_as_on_libzmq() {
    let python = python_with_pyzmq();
    let ours = common::lib_dir().join("libzmq.so.5");
    let dir = common::scratch("pyzmq");
    let on_libzmq = run_all(&python, None, &dir.join("libzmq"));
    let on_zeroring = run_all(&python, Some(&ours), &dir.join("zeroring"));

    // The first line names the library: proof the preload took.
    let (first_libzmq, rest_libzmq) = on_libzmq.split_once('\n').unwrap();
    let (first_ours, rest_ours) = on_zeroring.split_once('\n').unwrap();
    assert_eq!(
        first_ours, "libzmq 4.3.4, curve True",
        "pyzmq did not run on zeroring"
    );
    assert_ne!(first_libzmq, first_ours, "both runs used the same library");

    assert_eq!(rest_libzmq, rest_ours, "outputs differ");
    for expected in [
        "Received reply 9 [ World ]",
        "Received request: Hello",
        "Zipcodes seen: ['10001']",
        "Average temperature for zipcode '10001' was 42F",
        "Results: 100, total cost 5481 msec",
        "echo 5000000 bytes in 3 frames",
        "bye: bye",
    ] {
        assert!(
            rest_ours.contains(expected),
            "missing {expected:?} in:\n{rest_ours}"
        );
    }
    assert!(!rest_ours.contains("same: False"), "{rest_ours}");
}
