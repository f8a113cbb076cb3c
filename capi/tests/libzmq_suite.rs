//! libzmq 4.3.4's own test suite (tests/test_*.cpp, with its testutil and
//! the Unity harness), compiled unmodified against include/zmq.h and run
//! against this package's libzmq.so.5.
//!
//! The sources are read from the zeromq-src crate in cargo's registry (the
//! `zmq` dev-dependency of the workspace root unpacks it; `cargo fetch`
//! does too). The tests include `../include/zmq.h` and `../src/*.hpp`
//! relative to themselves, so they are copied into a tree where those
//! names are ours: our zmq.h, and a platform.hpp describing Linux.
//!
//! Ignored by default (a few minutes on two cores): CI runs it with
//! `cargo test -p zeroring-capi --test libzmq_suite -- --ignored`. It
//! writes the results to target/<profile>/capi-tests/libzmq-suite/
//! LIBZMQ_TESTS.md and fails if fewer than 90 % of the in-scope tests
//! pass, or if a test fails that `KNOWN_FAILURES` does not list with its
//! cause (capi/LIBZMQ_TESTS.md is that table, committed).

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// libzmq's tests that CMake builds on Linux and that zeroring's scope
/// leaves out, with why.
const OUT_OF_SCOPE: &[(&str, &str)] = &[
    (
        "test_security_curve",
        "CURVE: zeroring has it, but this test compiles libzmq's internals into itself (src/tweetnacl.h, curve_client_tools.hpp, random.hpp) to forge handshakes; the C ABI's CURVE options and key functions are checked by capi's smoke test, CURVE itself by tests/curve*.rs and tests/hostile_zmtp.rs",
    ),
    ("test_security_gssapi", "GSSAPI (Kerberos)"),
    (
        "test_connect_null_fuzzer",
        "fuzzer: needs the libzmq-fuzz-corpora seed corpus (exits 77 without)",
    ),
    (
        "test_bind_null_fuzzer",
        "fuzzer: needs the libzmq-fuzz-corpora seed corpus",
    ),
    (
        "test_connect_fuzzer",
        "fuzzer: needs the libzmq-fuzz-corpora seed corpus",
    ),
    (
        "test_bind_fuzzer",
        "fuzzer: needs the libzmq-fuzz-corpora seed corpus",
    ),
    ("test_connect_curve_fuzzer", "fuzzer, CURVE"),
    ("test_bind_curve_fuzzer", "fuzzer, CURVE"),
    (
        "test_z85_decode_fuzzer",
        "fuzzer (libFuzzer entry point, CURVE builds only)",
    ),
    (
        "test_bind_stream_fuzzer",
        "fuzzer (libFuzzer entry point only)",
    ),
    (
        "test_socket_options_fuzzer",
        "fuzzer: needs the libzmq-fuzz-corpora seed corpus (exits 77 without)",
    ),
    (
        "test_connect_stream_fuzzer",
        "fuzzer (libFuzzer entry point only)",
    ),
    ("test_bind_ws_fuzzer", "fuzzer, WebSocket transport"),
    ("test_connect_ws_fuzzer", "fuzzer, WebSocket transport"),
    (
        "test_pair_tcp_cap_net_admin",
        "needs CAP_NET_ADMIN through capsh (CMake's ENABLE_CAPSH)",
    ),
    ("test_ws_transport", "WebSocket transport (draft)"),
    ("test_wss_transport", "WebSocket over TLS (draft)"),
    ("test_address_tipc", "TIPC"),
    ("test_pair_tipc", "TIPC"),
    ("test_reqrep_device_tipc", "TIPC"),
    ("test_reqrep_tipc", "TIPC"),
    ("test_router_mandatory_tipc", "TIPC"),
    ("test_sub_forward_tipc", "TIPC"),
    ("test_connect_delay_tipc", "TIPC"),
    ("test_shutdown_stress_tipc", "TIPC"),
    ("test_term_endpoint_tipc", "TIPC"),
    ("test_pair_vmci", "VMCI"),
    ("test_reqrep_vmci", "VMCI"),
    ("test_poller", "draft API (zmq_poller_*)"),
    ("test_thread_safe", "draft API (thread-safe socket types)"),
    ("test_client_server", "draft API (CLIENT/SERVER)"),
    ("test_timers", "built by libzmq only with the draft API"),
    ("test_radio_dish", "draft API (RADIO/DISH, UDP)"),
    ("test_scatter_gather", "draft API (SCATTER/GATHER)"),
    ("test_dgram", "draft API (DGRAM, UDP)"),
    (
        "test_app_meta",
        "draft API (ZMQ_METADATA through zmq_setsockopt)",
    ),
    ("test_router_notify", "draft API (ZMQ_ROUTER_NOTIFY)"),
    (
        "test_xpub_manual_last_value",
        "draft API (ZMQ_XPUB_MANUAL_LAST_VALUE)",
    ),
    ("test_peer", "draft API (PEER)"),
    ("test_msg_init", "draft API (zmq_msg_init_buffer)"),
    ("test_channel", "draft API (CHANNEL)"),
    ("test_hello_msg", "draft API (ZMQ_HELLO_MSG)"),
    ("test_disconnect_msg", "draft API (ZMQ_DISCONNECT_MSG)"),
];

/// In-scope tests that fail, and why (kept in step with
/// capi/LIBZMQ_TESTS.md).
const KNOWN_FAILURES: &[(&str, &str)] = &[
    ("test_hwm_pubsub", "ipc cases pass; test_blocking_tcp (XPUB_NODROP, SNDHWM 2000, 6000 messages with DONTWAIT) fails about 1 run in 3: it needs the publisher to outrun its tcp connection by 2000 messages, which libzmq's does as its writer learns of the reader's progress only when it processes commands (about every millisecond), while zeroring's I/O thread keeps up and the writer sees its progress at once"),
];

/// How many in-scope tests pass at least (the suite fails below): all but
/// the known failures (98.9 %; the target is 90 %).
const MIN_PASSING: usize = 86;

/// How long one test may run (libzmq's CMake gives each 10 s; those that
/// pass here take a few seconds at most, alone).
const TEST_LIMIT: Duration = Duration::from_secs(30);

/// The tests libzmq's CMake gives longer (tests/CMakeLists.txt: 60 s):
/// their cases wait out fixed timeouts (test_security_zap's 30 cases
/// about 1.2 s each, on libzmq too).
const LONG_TESTS: &[&str] = &["test_security_zap", "test_heartbeats"];
const LONG_LIMIT: Duration = Duration::from_secs(60);

/// How long `name` may run.
fn limit(name: &str) -> Duration {
    if LONG_TESTS.contains(&name) {
        LONG_LIMIT
    } else {
        TEST_LIMIT
    }
}

/// Where zeromq-src 0.2.6+4.3.4's libzmq source is: `LIBZMQ_SRC` if set,
/// else cargo's registry.
fn libzmq_source() -> PathBuf {
    if let Some(dir) = std::env::var_os("LIBZMQ_SRC") {
        return PathBuf::from(dir);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .expect("CARGO_HOME or HOME");
    let registry = cargo_home.join("registry/src");
    let found = std::fs::read_dir(&registry)
        .into_iter()
        .flatten()
        .flatten()
        .map(|index| index.path().join("zeromq-src-0.2.6+4.3.4/vendor"))
        .find(|p| p.join("tests/testutil.cpp").exists());
    found.unwrap_or_else(|| {
        panic!(
            "libzmq's source (zeromq-src-0.2.6+4.3.4) is not under {}: run `cargo fetch` \
             (the workspace's zmq dev-dependency brings it) or set LIBZMQ_SRC",
            registry.display()
        )
    })
}

/// Linux's answers to what libzmq's tests ask platform.hpp.
const PLATFORM_HPP: &str = "\
/* zeroring's stand-in for libzmq's generated platform.hpp: Linux. */
#ifndef __ZMQ_PLATFORM_HPP_INCLUDED__
#define __ZMQ_PLATFORM_HPP_INCLUDED__
#define ZMQ_HAVE_LINUX
#define ZMQ_HAVE_IPC
#define ZMQ_HAVE_CURVE
#define HAVE_FORK
#define HAVE_CLOCK_GETTIME
#define HAVE_MKDTEMP
#define HAVE_ACCEPT4
#define HAVE_STRNLEN
#define HAVE_IF_NAMETOINDEX
#define ZMQ_HAVE_UIO
#define ZMQ_HAVE_EVENTFD
#define ZMQ_HAVE_IFADDRS
#define ZMQ_HAVE_SO_BINDTODEVICE
#define ZMQ_HAVE_SO_PEERCRED
#define ZMQ_HAVE_SO_KEEPALIVE
#define ZMQ_HAVE_TCP_KEEPCNT
#define ZMQ_HAVE_TCP_KEEPIDLE
#define ZMQ_HAVE_TCP_KEEPINTVL
#define ZMQ_HAVE_O_CLOEXEC
#define ZMQ_HAVE_SOCK_CLOEXEC
#define ZMQ_CACHELINE_SIZE 64
#endif
";

/// The in-scope tests: every tests/test_*.cpp not out of scope.
fn in_scope(src: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(src.join("tests"))
        .expect("libzmq tests dir")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".cpp")?;
            stem.starts_with("test_").then(|| stem.to_owned())
        })
        .filter(|n| !OUT_OF_SCOPE.iter().any(|(o, _)| o == n))
        .collect();
    names.sort();
    names
}

/// Copies the test sources into `tree`/tests beside our include/zmq.h and
/// src/platform.hpp.
fn prepare_tree(src: &Path, tree: &Path) {
    for sub in ["tests", "include", "src", "unity"] {
        std::fs::create_dir_all(tree.join(sub)).expect("mkdir");
    }
    for entry in std::fs::read_dir(src.join("tests"))
        .expect("tests")
        .flatten()
    {
        let name = entry.file_name();
        let keep = name
            .to_str()
            .is_some_and(|n| n.ends_with(".cpp") || n.ends_with(".hpp"));
        if keep {
            std::fs::copy(entry.path(), tree.join("tests").join(&name)).expect("copy test");
        }
    }
    for f in ["unity.c", "unity.h", "unity_internals.h"] {
        std::fs::copy(
            src.join("external/unity").join(f),
            tree.join("unity").join(f),
        )
        .expect("copy unity");
    }
    std::fs::copy(
        common::capi_dir().join("include/zmq.h"),
        tree.join("include/zmq.h"),
    )
    .expect("copy zmq.h");
    std::fs::write(tree.join("src/platform.hpp"), PLATFORM_HPP).expect("platform.hpp");
    std::fs::write(
        tree.join("src/stdint.hpp"),
        "#ifndef __ZMQ_STDINT_HPP_INCLUDED__\n#define __ZMQ_STDINT_HPP_INCLUDED__\n#include <stdint.h>\n#endif\n",
    )
    .expect("stdint.hpp");
}

/// Runs `jobs` closures over `items` on a few threads.
fn parallel<T: Sync, R: Send>(items: &[T], workers: usize, job: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = Mutex::new(0usize);
    let results = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..workers.max(1) {
            s.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap();
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(item) = items.get(i) else { break };
                let r = job(item);
                results.lock().unwrap().insert(i, r);
            });
        }
    });
    results.into_inner().unwrap().into_values().collect()
}

fn cc(args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Pass,
    /// Passed when run again alone, after failing beside other tests.
    PassOnRetry(String),
    Fail(String),
    Timeout,
    BuildFailed(String),
}

/// The last lines of a test's output: where Unity says what failed.
fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("FAIL") || l.contains("Assert") || l.contains("error"))
        .collect();
    let pick = if lines.is_empty() {
        text.lines().rev().take(3).collect::<Vec<_>>().join(" / ")
    } else {
        lines
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" / ")
    };
    pick.chars().take(300).collect()
}

fn run_one(exe: &Path, dir: &Path, tree: &Path, limit: Duration) -> Outcome {
    let mut cmd = common::command(exe);
    cmd.current_dir(dir);
    match common::run_bounded(&mut cmd, limit) {
        None => Outcome::Timeout,
        Some(out) if out.status.success() => Outcome::Pass,
        Some(out) => {
            let mut why = tail(&out.stdout);
            let stderr = tail(&out.stderr);
            if !stderr.is_empty() {
                why = format!("{why} / {stderr}");
            }
            // Unity names files by their path in the tree: shorten it.
            let why = why.replace(&format!("{}/", tree.display()), "");
            Outcome::Fail(format!("{}: {why}", out.status))
        }
    }
}

#[test]
#[ignore = "libzmq's test suite: minutes; CI runs it with --ignored"]
fn libzmq_test_suite() {
    let src = libzmq_source();
    let root = common::scratch("libzmq-suite");
    let tree = root.join("tree");
    prepare_tree(&src, &tree);
    let tests_dir = tree.join("tests");
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(4);
    // Running, the tests mostly wait (on sockets, timeouts): more at once.
    let runners = 2 * workers;

    // Unity and testutil, once.
    let unity_o = bin.join("unity.o");
    let unity_c = tree.join("unity/unity.c");
    let defs = ["-DUNITY_USE_COMMAND_LINE_ARGS", "-DUNITY_EXCLUDE_FLOAT"];
    let mut args = vec![
        "cc",
        "-c",
        "-O1",
        unity_c.to_str().unwrap(),
        "-o",
        unity_o.to_str().unwrap(),
    ];
    args.extend(defs);
    cc(&args).unwrap_or_else(|e| panic!("unity.c: {e}"));
    let unity_inc = format!("-I{}", tree.join("unity").display());
    let utils = [
        "testutil",
        "testutil_monitoring",
        "testutil_security",
        "testutil_unity",
    ];
    let util_objs: Vec<PathBuf> = utils.iter().map(|u| bin.join(format!("{u}.o"))).collect();
    let built = parallel(&utils, workers, |u| {
        let source = tests_dir.join(format!("{u}.cpp"));
        let obj = bin.join(format!("{u}.o"));
        let mut args = vec![
            "c++",
            "-c",
            "-O1",
            "-w",
            &unity_inc,
            source.to_str().unwrap(),
            "-o",
            obj.to_str().unwrap(),
        ];
        args.extend(defs);
        cc(&args)
    });
    for (u, b) in utils.iter().zip(built) {
        b.unwrap_or_else(|e| panic!("{u}.cpp: {e}"));
    }

    let names = in_scope(&src);
    let lib = common::lib_dir();
    let lib_l = format!("-L{}", lib.display());
    let rpath = format!("-Wl,-rpath,{}", lib.display());
    let started = Instant::now();
    let builds = parallel(&names, workers, |name| {
        let source = tests_dir.join(format!("{name}.cpp"));
        let exe = bin.join(name);
        let mut args = vec!["c++", "-O1", "-w", &unity_inc, source.to_str().unwrap()];
        args.extend(util_objs.iter().map(|p| p.to_str().unwrap()));
        args.extend([unity_o.to_str().unwrap(), "-o", exe.to_str().unwrap()]);
        args.extend(defs);
        args.extend([lib_l.as_str(), rpath.as_str(), "-lzmq", "-lpthread"]);
        cc(&args).map(|()| exe)
    });
    eprintln!("built {} tests in {:?}", names.len(), started.elapsed());

    // Run: a few at once, each in a directory of its own (ipc paths);
    // a failure is run again alone, in case it met another test's port.
    let work = root.join("run");
    let started = Instant::now();
    let mut outcomes: Vec<Outcome> = parallel(
        &names.iter().zip(&builds).collect::<Vec<_>>(),
        runners,
        |(name, built)| match built {
            Err(e) => Outcome::BuildFailed(
                e.lines()
                    .find(|l| l.contains("error"))
                    .unwrap_or("")
                    .to_owned(),
            ),
            Ok(exe) => {
                let dir = work.join(name.as_str());
                std::fs::create_dir_all(&dir).unwrap();
                run_one(exe, &dir, &tree, limit(name))
            }
        },
    );
    for ((name, built), outcome) in names.iter().zip(&builds).zip(outcomes.iter_mut()) {
        // A test that timed out would only time out again.
        if let (Ok(exe), Outcome::Fail(_)) = (built, &*outcome) {
            let first = format!("{outcome:?}");
            if run_one(exe, &work.join(name.as_str()), &tree, limit(name)) == Outcome::Pass {
                *outcome = Outcome::PassOnRetry(first);
            }
        }
    }
    eprintln!("ran them in {:?}", started.elapsed());

    // The table.
    let passed = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Pass | Outcome::PassOnRetry(_)))
        .count();
    let total = names.len();
    let mut md = String::new();
    writeln!(
        md,
        "# libzmq 4.3.4's test suite on zeroring's libzmq.so.5\n"
    )
    .unwrap();
    writeln!(
        md,
        "libzmq's tests/test_*.cpp, unmodified, compiled against capi/include/zmq.h \
         and run against capi's libzmq.so.5 by capi/tests/libzmq_suite.rs \
         (`cargo test -p zeroring-capi --test libzmq_suite -- --ignored`), \
         each with {} s at most ({} s for {}, as libzmq's CMake allows). \
         In scope: what libzmq's CMake builds on Linux, \
         without the draft API and the transports and mechanisms zeroring lacks \
         (listed at the end).\n",
        TEST_LIMIT.as_secs(),
        LONG_LIMIT.as_secs(),
        LONG_TESTS.join(" and "),
    )
    .unwrap();
    writeln!(
        md,
        "{passed} of {total} in-scope tests pass ({:.1} %).\n",
        100.0 * passed as f64 / total as f64
    )
    .unwrap();
    writeln!(md, "| test | result | cause |\n|---|---|---|").unwrap();
    let mut unexpected = Vec::new();
    for (name, outcome) in names.iter().zip(&outcomes) {
        let known = KNOWN_FAILURES
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| *c);
        let (result, detail) = match outcome {
            Outcome::Pass => ("pass", String::new()),
            Outcome::PassOnRetry(first) => ("pass (on a lone retry)", first.clone()),
            Outcome::Fail(why) => ("FAIL", why.clone()),
            Outcome::Timeout => (
                "FAIL (timeout)",
                format!("over {} s", limit(name).as_secs()),
            ),
            Outcome::BuildFailed(why) => ("FAIL (build)", why.clone()),
        };
        let failed = result.starts_with("FAIL");
        if failed && known.is_none() {
            unexpected.push(format!("{name}: {detail}"));
        }
        let cause = match (failed, known) {
            (true, Some(c)) => c.to_owned(),
            _ => detail.replace('|', "/"),
        };
        writeln!(md, "| {name} | {result} | {cause} |").unwrap();
    }
    writeln!(md, "\n## Out of scope\n\n| test | why |\n|---|---|").unwrap();
    for (name, why) in OUT_OF_SCOPE {
        writeln!(md, "| {name} | {why} |").unwrap();
    }
    let report = root.join("LIBZMQ_TESTS.md");
    std::fs::write(&report, &md).unwrap();
    eprintln!("{md}\nwritten to {}", report.display());

    assert!(
        passed >= MIN_PASSING,
        "only {passed} of {total} libzmq tests pass (at least {MIN_PASSING} did)"
    );
    if passed * 10 < total * 9 {
        eprintln!("NOTE: {passed} of {total} pass, short of the 90 % target");
    }
    assert!(
        unexpected.is_empty(),
        "failures not in KNOWN_FAILURES:\n{}",
        unexpected.join("\n")
    );
}
