//! The C smoke test (tests/c/smoke.c), compiled against include/zmq.h and
//! this package's libzmq.so.5: REQ/REP over inproc and tcp, messages,
//! poll, errno for bad handles and calls out of turn, zmq_ctx_term.

mod common;

use std::time::Duration;

#[test]
fn c_smoke_test_passes() {
    let dir = common::scratch("smoke");
    let exe = dir.join("smoke");
    let src = common::capi_dir().join("tests/c/smoke.c");
    common::compile("cc", &[src], &exe, &["-Wall", "-Werror", "-O1"])
        .unwrap_or_else(|e| panic!("{e}"));
    let out = common::run_bounded(&mut common::command(&exe), Duration::from_secs(60))
        .expect("the smoke test ran over 60 s");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "smoke test failed: {stdout}{stderr}");
    assert_eq!(stdout.trim(), "smoke: ok");
}
